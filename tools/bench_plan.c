/* `wm bench plan`: milliseconds per decision of CEM (1000 candidates x horizon 12 x 10 iterations, PlaNet's) and
 * of MPPI with the same budget, on the PlaNet-sized world model with action size 6 (the shapes of
 * ../shared/bench/torch_reference.py), in fp32 and in bf16 (plan.precision), as GFLOP/s and a share of the fp32
 * sgemm rate measured in the same run. A decision's time includes refreshing the bf16 weight copies. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "core/clock.h"
#include "nets/actor.h"
#include "plan/agent.h"
#include "plan/plan_model.h"

int bench_plan_usage(FILE *out, int code) {
    fprintf(out, "usage: wm bench plan [--threads N] [--repeats N] [--json]\n"
                 "  --threads N   OpenMP/oneDNN threads (default: OMP_NUM_THREADS or all cores)\n"
                 "  --repeats N   timed decisions per planner; the median is reported (default 5)\n"
                 "  --json        one JSON object per row instead of the table\n"
                 "  also times the amortized actor (the policy alone, frame to action) and CEM guided by it\n"
                 "example: wm bench plan --threads 1\n");
    return code;
}

/* The amortized actor (actor.* defaults, Dreamer V1's 4 x 400) as an agent runs it: the policy alone on [h, z],
 * frame to action (the batch-1 encoder, one filter step, the policy), and frame to action of CEM with a tenth of
 * its candidates from the actor's rollouts (plan.actor_candidates). The actor's rows time every 20th of
 * 20 x repeats decisions, guided CEM's every one of repeats. */
static WmStatus bench_actor(const WmConfig *defaults, const WmWorldModel *model, int repeats, int json, long threads,
                            double *times, WmError *err) {
    WmConfig config = *defaults;
    config.actor.enabled = 1;
    WmActor actor;
    int made_actor = 0;
    const size_t frame_bytes = (size_t)model->config.height * model->config.width * 3;
    uint8_t *frame = calloc(frame_bytes, 1);
    float *action = calloc((size_t)model->action_dim, sizeof *action); /* (A) */
    if (frame == NULL || action == NULL) {
        free(frame), free(action);
        return wm_error_set(err, WM_ERR_NOMEM, "bench: out of memory");
    }
    if (actor_create(&actor, &config.actor, model->rssm.deter + model->rssm.stoch, model->action_dim, err)) goto done;
    made_actor = 1;
    params_init_glorot(&actor.params, 0);
    for (int i = 0; i < (int)frame_bytes; i++) frame[i] = (uint8_t)(i * 7);
    static const struct {
        WmPlanKind planner;
        const char *what;
        int observes, every;
    } ROWS[] = {{WM_PLAN_ACTOR, "actor, policy", 0, 20},
                {WM_PLAN_ACTOR, "actor, frame to action", 1, 20},
                {WM_PLAN_CEM, "cem guided by the actor, frame to action", 1, 1}};
    for (int row = 0; row < 3; row++) {
        const int planning = ROWS[row].planner != WM_PLAN_ACTOR;
        config.plan.planner = ROWS[row].planner;
        config.plan.actor_candidates = planning ? config.plan.candidates / 10 : 0;
        const WmPlanSettings settings = plan_settings_from_config(&config, model->action_dim);
        WmAgent agent;
        if (agent_init(&agent, model, &settings, &actor, NULL, 0, err)) goto done;
        const int every = ROWS[row].every;
        for (int r = -every; r < repeats * every; r++) {
            const double start = wm_clock_seconds();
            if ((ROWS[row].observes && agent_observe(&agent, frame, err)) || agent_act(&agent, action, err)) break;
            if (r >= 0 && r % every == 0) times[r / every] = wm_clock_seconds() - start;
        }
        agent_free(&agent);
        if (err->status) goto done;
        const double seconds = bench_median(times, repeats);
        if (json)
            printf("{\"bench\":\"plan\",\"planner\":\"%s\",\"what\":\"%s\",\"threads\":%ld,\"ms_per_decision\":%.4f}\n",
                   config_choice_word("plan.planner", ROWS[row].planner), ROWS[row].what, threads, seconds * 1e3);
        else
        {
            char budget[96];
            if (planning)
                snprintf(budget, sizeof budget, "%d x %d x %d, %d of them the actor's", settings.candidates,
                         settings.horizon, settings.iterations, settings.actor_candidates);
            else
                snprintf(budget, sizeof budget, "%ld x %ld", config.actor.layers, config.actor.units);
            printf("| %s | %s | %s | %.3f (%.3f-%.3f) | | | |\n", ROWS[row].what,
                   planning && settings.bf16 ? "bf16" : "fp32", budget, seconds * 1e3, times[0] * 1e3, times[repeats - 1] * 1e3);
        }
    }
done:
    if (made_actor) actor_free(&actor);
    free(frame), free(action);
    return err->status;
}

int bench_plan(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return bench_plan_usage(stdout, 0);
    long threads = omp_get_max_threads(), repeats = 5;
    int json = 0;
    WmError err = {0};
    const CliOption options[] = {
        {"--json", CLI_FLAG, &json, 0, 0},
        {"--threads", CLI_LONG, &threads, 1, 1024},
        {"--repeats", CLI_LONG, &repeats, 1, 1000},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    if (err.status) {
        fprintf(stderr, "wm bench plan: %s\n", err.message);
        return bench_plan_usage(stderr, 2);
    }
    omp_set_num_threads((int)threads);
    enum { ACTIONS = 6 };
    WmConfig config;
    config_defaults(&config);
    const WmModelConfig model_config = model_config_from(&config);
    WmWorldModel model;
    WmPlanModel objective;
    WmPlanner planner;
    int made_model = 0, made_objective = 0, made_planner = 0;
    double sgemm = 0.0, *times = calloc((size_t)repeats, sizeof *times);
    char cpu[128];
    bench_cpu_model(cpu, sizeof cpu);
    if (times == NULL || bench_sgemm_rate(3, &sgemm, &err) || world_model_create(&model, &model_config, ACTIONS, &err))
        goto fail;
    made_model = 1;
    world_model_init_params(&model, 0);
    float *h = calloc((size_t)model.rssm.deter, sizeof *h), *z = calloc((size_t)model.rssm.stoch, sizeof *z);
    if (!h || !z) goto fail;
    if (!json)
        printf("wm bench plan: %s, %ld thread%s, median of %ld decisions; dnnl_sgemm 1024^3 %.1f GFLOP/s\n\n"
               "| planner | precision | budget | ms/decision (min-max) | GFLOP/decision | GFLOP/s | of fp32 sgemm |\n"
               "|---|---|---|---|---|---|---|\n",
               cpu, threads, threads == 1 ? "" : "s", repeats, sgemm);
    static const char *const KINDS[] = {"cem", "mppi"}, *const PRECISIONS[] = {"fp32", "bf16"};
    for (int run = 0; run < 4; run++) {
        const int k = run / 2, bf16 = run % 2;
        if (plan_model_init(&objective, &model, (int)config.plan.candidates, (int)config.plan.horizon, 0, bf16, 0,
                            &err))
            goto fail;
        made_objective = 1;
        plan_model_start(&objective, h, z);
        config.plan.planner = k == 0 ? WM_PLAN_CEM : WM_PLAN_MPPI;
        const WmPlanSettings settings = plan_settings_from_config(&config, ACTIONS);
        if (planner_init(&planner, &settings, &err)) goto fail;
        made_planner = 1;
        WmRng rng = rng_stream(0, WM_STREAM_BENCH);
        float action[ACTIONS];
        for (long r = -1; r < repeats; r++) {
            planner_reset(&planner);
            const double start = wm_clock_seconds();
            if (plan_model_load(&objective, &err) ||
                planner_act(&planner, plan_model_returns, &objective, &rng, action, &err))
                goto fail;
            if (r >= 0) times[r] = wm_clock_seconds() - start;
        }
        const double seconds = bench_median(times, (int)repeats);
        const double flops = plan_model_flops(&objective, settings.candidates) * settings.iterations;
        if (json)
            printf("{\"bench\":\"plan\",\"planner\":\"%s\",\"precision\":\"%s\",\"threads\":%ld,\"candidates\":%d,\"horizon\":%d,"
                   "\"iterations\":%d,\"ms_per_decision\":%.2f,\"gflops\":%.1f,\"sgemm_gflops\":%.1f}\n",
                   KINDS[k], PRECISIONS[bf16], threads, settings.candidates, settings.horizon, settings.iterations, seconds * 1e3,
                   flops / seconds * 1e-9, sgemm);
        else
            printf("| %s | %s | %d x %d x %d | %.1f (%.1f-%.1f) | %.1f | %.1f | %.0f%% |\n", KINDS[k], PRECISIONS[bf16],
                   settings.candidates,
                   settings.horizon, settings.iterations, seconds * 1e3, times[0] * 1e3, times[repeats - 1] * 1e3,
                   flops * 1e-9, flops / seconds * 1e-9, 100.0 * flops / seconds * 1e-9 / sgemm);
        planner_free(&planner);
        made_planner = 0;
        plan_model_free(&objective);
        made_objective = 0;
    }
    if (bench_actor(&config, &model, (int)repeats, json, threads, times, &err)) goto fail;
    free(h), free(z), free(times);
    world_model_free(&model);
    return 0;
fail:
    fprintf(stderr, "wm bench plan: %s\n", err.status ? err.message : "out of memory");
    if (made_planner) planner_free(&planner);
    if (made_objective) plan_model_free(&objective);
    if (made_model) world_model_free(&model);
    free(times);
    return 1;
}
