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
#include "eval_values.h"
#include "data/env.h"
#include "data/rollout.h"
#include "progress.h"
#include "run/acting.h"
#include "stop_signal.h"
#include "viz.h"

static int eval_usage(FILE *out, int code) {
    fprintf(out, "usage: wm eval --run R --env NAME [--planner shooting|cem|mppi|actor] [--episodes N] [--seed S]\n"
                 "               [--gif out.gif] [--checkpoint latest|step_N] [--threads N] [--set k=v ...]\n"
                 "               [--env-timeout S] [--values values.csv]\n"
                 "  the run's plan.* config keys set the planner's budget; --planner overrides plan.planner and\n"
                 "  --set any key (plan.candidates=500, plan.precision=fp32, ...); defaults: 5 episodes, seed 1,\n"
                 "  the latest checkpoint, all cores; --env-timeout: seconds to wait for an exec: or tcp:\n"
                 "  environment's answer (default 60); --values: per decision, the value and the model's imagined\n"
                 "  rewards over the imagination's horizon beside the real episode's, and a summary (eval_values.h)\n"
                 "example: wm eval --run runs/cp-actor --env cartpole-swingup --planner actor --episodes 10\n");
    return code;
}

/* The line an episode shows while it runs (a terminal only). */
typedef struct {
    const WmAgent *agent;
    long episode, episodes;
    int length;
} EvalProgress;

static void show_progress(void *ctx, int steps, double return_so_far) {
    const EvalProgress *p = ctx;
    char of_length[24] = ""; /* a remote environment's episodes end when it says */
    if (p->length > 0) snprintf(of_length, sizeof of_length, "/%d", p->length);
    progress_line("episode %ld/%ld: step %d%s, return %.1f, %.0f ms per decision", p->episode, p->episodes, steps,
                  of_length, return_so_far, 1e3 * p->agent->plan_seconds / p->agent->decisions);
}

/* The planner's policy, which stops the episode at the next decision once a stop signal came, and keeps each
 * decision's state when the values are asked for. */
typedef struct {
    WmPolicy inner;
    EvalValues *values; /* or NULL */
} EvalPolicy;

static WmStatus act_unless_stopped(void *ctx, const uint8_t *frame, const float *state, float *action,
                                   WmError *err) {
    const EvalPolicy *p = ctx;
    if (stop_signal_received()) return wm_error_set(err, WM_ERR_STOPPED, "stopped on a signal");
    if (p->inner.act(p->inner.ctx, frame, state, action, err)) return err->status;
    return p->values ? eval_values_record(p->values, err) : WM_OK;
}

static void stepped(void *ctx, int steps, double return_so_far) {
    const EvalPolicy *p = ctx;
    if (p->inner.stepped) p->inner.stepped(p->inner.ctx, steps, return_so_far);
}

/* The episode's frames as an animated GIF, each upscaled as a contact sheet's cell under a caption: the step,
 * the reward received on arriving there, the return so far and the action that led there. */
static WmStatus write_gif(const char *path, const WmEpisode *episode, WmError *err) {
    VizSheet sheet;
    if (viz_sheet_init(&sheet, 1, 1, episode->height, episode->width, (VizMargins){.top = 30}, err))
        return err->status;
    const size_t bytes = (size_t)sheet.sheet_height * sheet.sheet_width * 3;
    uint8_t *big = malloc(bytes * (size_t)episode->length);
    double so_far = 0.0;
    for (int k = 0; big && k < episode->length; k++) {
        char line[96], action[48] = "";
        so_far += episode->rewards[k];
        for (int a = 0; a < episode->action_dim && a < 3; a++)
            snprintf(action + strlen(action), sizeof action - strlen(action), "%s%+.2f", a ? " " : "",
                     episode->actions[(size_t)k * episode->action_dim + a]);
        viz_sheet_fill(&sheet, 0, 0, sheet.sheet_width, sheet.margins.top, (const uint8_t[3]){255, 255, 255});
        snprintf(line, sizeof line, "t %d  r %.2f  sum %.0f", k, episode->rewards[k], so_far);
        viz_sheet_text(&sheet, 3, 12, line, 10, VIZ_INK);
        snprintf(line, sizeof line, "a %s", action);
        viz_sheet_text(&sheet, 3, 25, line, 10, VIZ_INK);
        viz_sheet_put(&sheet, 0, 0, episode->frames + (size_t)k * episode_frame_bytes(episode));
        memcpy(big + bytes * k, sheet.rgb, bytes);
    }
    if (big) viz_gif_write(path, big, episode->length, sheet.sheet_height, sheet.sheet_width, 8, err);
    else wm_error_set(err, WM_ERR_NOMEM, "out of memory for the GIF");
    viz_sheet_free(&sheet);
    free(big);
    return err->status;
}

static void print_setting(const char *run, const WmEnv *env, const WmAgent *agent, long episodes) {
    const WmPlanSettings *settings = &agent->settings;
    if (agent->actor)
        printf("wm eval: %s on %s, the actor (%s), action repeat %d, %ld episode%s\n", run, env_name(env),
               settings->actor_sample ? "its samples" : settings->actor_density_mode ? "its density's mode" : "its mode",
               env->action_repeat, episodes, wm_plural(episodes));
    else {
        char precision[160];
        if (settings->precision == WM_PRECISION_AUTO) measured_precision_describe(&agent->precision, precision, sizeof precision);
        else snprintf(precision, sizeof precision, "%s", settings->bf16 ? "bf16" : "fp32");
        printf("wm eval: %s on %s, %s (%d candidates x %d steps x %d iterations, %s), action repeat %d, %ld episode%s\n",
               run, env_name(env), config_choice_word("plan.planner", settings->kind), settings->candidates,
               settings->horizon, settings->iterations, precision, env->action_repeat, episodes, wm_plural(episodes));
    }
}

/* The run's agent, checked against the environment it is to act in. */
static WmStatus open_agent(WmRunAgent *acting, const EvalRequest *r, WmEnv *env, WmError *err) {
    if (run_agent_open(acting, r->run, r->checkpoint, r->sets, r->set_count, r->planner, env_action_dim(env),
                       r->seed, err))
        return err->status;
    if (acting->info.env[0] && strcmp(acting->info.env, r->env) != 0)
        return wm_error_set(err, WM_ERR_ARG, "%s learned in %s; --env %s is another task", r->run, acting->info.env,
                            r->env);
    const WmModelConfig *seen = &acting->model.config;
    if (seen->height != WM_ENV_SIZE || seen->width != WM_ENV_SIZE)
        return wm_error_set(err, WM_ERR_ARG, "%s: the model sees %ldx%ld frames; environments give %dx%d", r->run,
                            seen->width, seen->height, WM_ENV_SIZE, WM_ENV_SIZE);
    /* The run's action repeat, as it was trained (a remote environment repeats inside its own step). */
    if (acting->config.data.action_repeat > 0 && env->remote == NULL) env->action_repeat = (int)acting->config.data.action_repeat;
    return WM_OK;
}

static void print_summary(const double *returns, long whole, const WmAgent *agent) {
    double mean = 0.0, var = 0.0;
    for (long e = 0; e < whole; e++) mean += returns[e] / whole;
    for (long e = 0; e < whole; e++) var += (returns[e] - mean) * (returns[e] - mean) / whole;
    printf("return %.2f +- %.2f over %ld episode%s; %.3f ms per decision (%ld decisions)\n", whole ? mean : NAN,
           whole ? sqrt(var) : NAN, whole, wm_plural(whole),
           agent->decisions ? 1e3 * agent->plan_seconds / agent->decisions : 0.0, agent->decisions);
}

/* Plays the episodes, printing each return and the summary; a stop signal ends them at the next decision. */
static WmStatus play(const EvalRequest *r, WmEnv *env, WmAgent *agent, EvalValues *values, double *returns,
                     WmError *err) {
    EvalProgress progress = {agent, 0, r->episodes, env_episode_length(env)};
    WmAgentPolicy planner = {agent, NULL, 0.0f, show_progress, &progress};
    EvalPolicy eval_policy = {agent_policy(&planner), values};
    const WmPolicy policy = {act_unless_stopped, stepped, &eval_policy};
    WmEpisode episode = {0};
    long whole = 0; /* episodes played to their end */
    for (long e = 0; e < r->episodes; e++, whole++) {
        agent_reset(agent);
        progress.episode = e + 1;
        if (env_rollout(env, &policy, &episode, &returns[e], err) == WM_ERR_STOPPED) {
            *err = (WmError){0};
            progress_done();
            printf("  episode %ld: stopped on a signal; the summary is over the %ld whole episode%s\n", e + 1, whole,
                   wm_plural(whole));
            break;
        }
        if (err->status) break;
        progress_done();
        printf("  episode %ld: return %.2f\n", e + 1, returns[e]);
        if (values && eval_values_episode(values, &episode, (int)e, err)) break;
        if (e == 0 && r->gif) {
            if (write_gif(r->gif, &episode, err)) break;
            printf("  wrote %s (%d frames)\n", r->gif, episode.length);
        }
        episode_free(&episode);
    }
    episode_free(&episode);
    if (err->status == WM_OK) print_summary(returns, whole, agent);
    if (err->status == WM_OK && values) eval_values_finish(values, err);
    return err->status;
}

WmStatus eval_run(const EvalRequest *r, WmError *err) {
    WmEnv env = {0};
    WmRunAgent acting;
    memset(&acting, 0, sizeof acting);
    double *returns = calloc((size_t)r->episodes, sizeof *returns);
    if (returns == NULL) return wm_error_set(err, WM_ERR_NOMEM, "out of memory");
    if (env_create(&env, r->env, (uint64_t)r->seed, 0, err) == WM_OK) {
        env_set_timeout(&env, (double)r->env_timeout);
        EvalValues values = {0};
        if (open_agent(&acting, r, &env, err) == WM_OK &&
            (!r->values || eval_values_open(&values, &acting, r->run, r->checkpoint, r->values, err) == WM_OK)) {
            print_setting(r->run, &env, &acting.agent, r->episodes);
            play(r, &env, &acting.agent, r->values ? &values : NULL, returns, err);
        }
        eval_values_free(&values);
        run_agent_close(&acting);
        env_free(&env);
    }
    progress_done();
    free(returns);
    return err->status;
}

int command_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return eval_usage(stdout, 0);
    EvalRequest r = {.episodes = 5, .seed = 1};
    long threads = omp_get_max_threads();
    CliList sets = {0};
    WmError err = {0};
    const CliOption options[] = {
        {"--run", CLI_TEXT, &r.run, 0, 0},             {"--env", CLI_TEXT, &r.env, 0, 0},
        {"--planner", CLI_TEXT, &r.planner, 0, 0},     {"--gif", CLI_TEXT, &r.gif, 0, 0},
        {"--episodes", CLI_LONG, &r.episodes, 1, 100000}, {"--seed", CLI_LONG, &r.seed, 0, 4294967295L},
        {"--threads", CLI_LONG, &threads, 1, 1024},     {"--set", CLI_LIST, &sets, 0, 0},
        {"--checkpoint", CLI_TEXT, &r.checkpoint, 0, 0}, {"--env-timeout", CLI_LONG, &r.env_timeout, 1, 1000000},
        {"--values", CLI_TEXT, &r.values, 0, 0},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    if (err.status == WM_OK && (!r.run || !r.env)) wm_error_set(&err, WM_ERR_ARG, "--run and --env are required");
    if (err.status == WM_OK && cli_check_env("--env", r.env, &err) == WM_OK) cli_check_sets(&sets, &err);
    if (err.status == WM_OK && r.planner && config_choice_value("plan.planner", r.planner) < 0)
        wm_error_set(&err, WM_ERR_ARG, "--planner: '%s' is not shooting, cem, mppi or actor", r.planner);
    if (err.status) {
        fprintf(stderr, "wm eval: %s\n", err.message);
        return eval_usage(stderr, 2);
    }
    r.sets = sets.items, r.set_count = sets.count;
    omp_set_num_threads((int)threads);
    stop_signal_install(); /* the episode in hand ends at its next decision; the summary covers the whole ones */
    if (eval_run(&r, &err) == WM_OK) return 0;
    fprintf(stderr, "wm eval: %s\n", err.message);
    return 1;
}
