/* wm eval --run R --env NAME: closed-loop episodes in a built-in environment, the filter updated with every frame
 * and executed action, actions from the planner; the mean and std of the return and the planning time per
 * decision. With --gif, the first episode as an animated GIF. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "data/env.h"
#include "plan/agent.h"
#include "progress.h"
#include "run_dir.h"
#include "viz.h"

static int eval_usage(FILE *out, int code) {
    fprintf(out, "usage: wm eval --run R --env NAME [--planner shooting|cem|mppi] [--episodes N] [--seed S]\n"
                 "               [--gif out.gif] [--threads N] [--set k=v ...]\n"
                 "  the run's plan.* config keys set the planner's budget; --planner overrides plan.planner and\n"
                 "  --set any key (plan.candidates=500, plan.precision=fp32, ...)\n");
    return code;
}

int command_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return eval_usage(stdout, 0);
    const char *run = NULL, *env_name = NULL, *planner_name = NULL, *gif = NULL;
    long episodes = 5, seed = 1, threads = omp_get_max_threads();
    CliList sets = {0};
    WmError err = {0};
    const CliOption options[] = {
        {"--run", CLI_TEXT, &run, 0, 0},           {"--env", CLI_TEXT, &env_name, 0, 0},
        {"--planner", CLI_TEXT, &planner_name, 0, 0}, {"--gif", CLI_TEXT, &gif, 0, 0},
        {"--episodes", CLI_LONG, &episodes, 1, 100000}, {"--seed", CLI_LONG, &seed, 0, 4294967295L},
        {"--threads", CLI_LONG, &threads, 1, 1024},     {"--set", CLI_LIST, &sets, 0, 0},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    if (err.status == WM_OK && (!run || !env_name)) wm_error_set(&err, WM_ERR_ARG, "--run and --env are required");
    if (err.status == WM_OK && planner_name && plan_kind_from_name(planner_name) < 0)
        wm_error_set(&err, WM_ERR_ARG, "--planner: '%s' is not shooting, cem or mppi", planner_name);
    if (err.status) {
        fprintf(stderr, "wm eval: %s\n", err.message);
        return eval_usage(stderr, 2);
    }
    omp_set_num_threads((int)threads);
    WmEnv env = {0};
    WmTrainer trainer;
    WmAgent agent;
    int made_env = 0, opened = 0, made_agent = 0, code = 1;
    uint8_t *frames = NULL;
    double *returns = calloc((size_t)episodes, sizeof *returns);
    if (env_create(&env, env_name, (uint64_t)seed, 0, &err)) goto done;
    made_env = 1;
    if (run_open(run, env_action_dim(&env), 1, 2, &sets, &trainer, &err)) goto done;
    opened = 1;
    const WmConfig *c = &trainer.model.config;
    if (c->data.height != WM_ENV_SIZE || c->data.width != WM_ENV_SIZE) {
        wm_error_set(&err, WM_ERR_ARG, "%s: the model sees %ldx%ld frames; the built-in environments render %dx%d", run,
                     c->data.width, c->data.height, WM_ENV_SIZE, WM_ENV_SIZE);
        goto done;
    }
    /* The run's action repeat, as it was trained. */
    if (c->data.action_repeat > 0) env.action_repeat = (int)c->data.action_repeat;
    WmConfig planning = *c;
    if (planner_name) snprintf(planning.plan.planner, sizeof planning.plan.planner, "%s", planner_name);
    const WmPlanSettings settings = plan_settings_from_config(&planning, env_action_dim(&env));
    if (agent_init(&agent, &trainer.model, &settings, (uint64_t)seed, &err)) goto done;
    made_agent = 1;
    const int length = env_episode_length(&env), frame_bytes = WM_ENV_SIZE * WM_ENV_SIZE * 3;
    frames = malloc((size_t)(length + 1) * frame_bytes);
    if (returns == NULL || frames == NULL) {
        wm_error_set(&err, WM_ERR_NOMEM, "out of memory");
        goto done;
    }
    printf("wm eval: %s on %s, %s (%d candidates x %d steps x %d iterations, %s), action repeat %d, %ld episodes\n",
           run, env_name, plan_kind_name(settings.kind), settings.candidates, settings.horizon, settings.iterations,
           agent.objective.bf16 ? "bf16" : "fp32", env.action_repeat, episodes);
    float action[WM_ENV_ACTION_MAX];
    for (long e = 0; e < episodes; e++) {
        int done = 0, t = 0;
        env_reset(&env, frames);
        agent_reset(&agent);
        while (!done) {
            if (agent_observe(&agent, frames + (size_t)(e == 0 ? t : 0) * frame_bytes, &err) ||
                agent_act(&agent, action, &err))
                goto done;
            t++;
            returns[e] += env_step(&env, action, frames + (size_t)(e == 0 ? t : 0) * frame_bytes, &done);
            progress_line("episode %ld/%ld: step %d/%d, return %.1f, %.0f ms per decision", e + 1, episodes, t, length,
                          returns[e], 1e3 * agent.plan_seconds / agent.decisions);
        }
        progress_done();
        printf("  episode %ld: return %.2f\n", e + 1, returns[e]);
        if (e == 0 && gif) {
            VizSheet sheet;
            uint8_t *big = NULL;
            if (viz_sheet_init(&sheet, 1, 1, WM_ENV_SIZE, WM_ENV_SIZE, &err) == WM_OK) {
                const size_t bytes = (size_t)sheet.sheet_height * sheet.sheet_width * 3;
                big = malloc(bytes * (size_t)(t + 1));
                for (int k = 0; big && k <= t; k++) {
                    viz_sheet_put(&sheet, 0, 0, frames + (size_t)k * frame_bytes);
                    memcpy(big + bytes * k, sheet.rgb, bytes);
                }
                if (big) viz_gif_write(gif, big, t + 1, sheet.sheet_height, sheet.sheet_width, 8, &err);
                else wm_error_set(&err, WM_ERR_NOMEM, "out of memory for the GIF");
                viz_sheet_free(&sheet);
            }
            free(big);
            if (err.status) goto done;
            printf("  wrote %s (%d frames)\n", gif, t + 1);
        }
    }
    double mean = 0.0, var = 0.0;
    for (long e = 0; e < episodes; e++) mean += returns[e] / episodes;
    for (long e = 0; e < episodes; e++) var += (returns[e] - mean) * (returns[e] - mean) / episodes;
    printf("return %.2f +- %.2f over %ld episodes; %.1f ms per decision (%ld decisions)\n", mean, sqrt(var), episodes,
           1e3 * agent.plan_seconds / agent.decisions, agent.decisions);
    code = 0;
done:
    progress_done();
    if (code) fprintf(stderr, "wm eval: %s\n", err.message);
    if (made_agent) agent_free(&agent);
    if (opened) trainer_free(&trainer);
    if (made_env) env_free(&env);
    free(frames), free(returns);
    return code;
}
