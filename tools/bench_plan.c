/* `wm bench plan`: milliseconds per decision of CEM (1000 candidates x horizon 12 x 10 iterations, PlaNet's) and
 * of MPPI with the same budget, on the PlaNet-sized world model with action size 6 (the shapes of
 * ../shared/bench/torch_reference.py), in fp32 and in bf16 (plan.precision), as GFLOP/s and a share of the fp32
 * sgemm rate measured in the same run. A decision's time includes refreshing the bf16 weight copies. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/machine.h"
#include "cli.h"
#include "core/clock.h"
#include "nets/actor.h"
#include "plan/agent.h"
#include "plan/plan_model.h"
#include "plan/plan_precision.h"

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
            if ((ROWS[row].observes && agent_observe(&agent, frame, NULL, err)) || agent_act(&agent, action, err)) break;
            if (r >= 0 && r % every == 0) times[r / every] = wm_clock_seconds() - start;
        }
        const int bf16 = agent.settings.bf16;
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
                   planning && bf16 ? "bf16" : "fp32", budget, seconds * 1e3, times[0] * 1e3, times[repeats - 1] * 1e3);
        }
    }
done:
    if (made_actor) actor_free(&actor);
    free(frame), free(action);
    return err->status;
}

enum { BENCH_PLAN_ACTIONS = 6 };

/* What every planner row shares: the defaults' model from seed 0, started at h = z = 0. */
typedef struct {
    WmConfig config;
    WmWorldModel model;
    float *h, *z;
    double sgemm, *times;
    long repeats, threads;
    int json, made_model;
} BenchPlan;

/* One row: a planner at its default budget in one precision (auto: measured now, as a run would), the median of
 * `repeats` decisions after one. */
static WmStatus time_planner(BenchPlan *b, WmPlanKind kind, WmPrecisionChoice choice, WmError *err) {
    WmPlanModel objective;
    WmPlanner planner;
    b->config.plan.planner = kind, b->config.plan.precision = choice;
    WmPlanSettings settings = plan_settings_from_config(&b->config, BENCH_PLAN_ACTIONS);
    WmMeasuredPrecision measured = {0};
    if (choice == WM_PRECISION_AUTO && plan_precision_measure(&settings, &b->model, &measured, err)) return err->status;
    const int bf16 = choice == WM_PRECISION_AUTO ? measured.bf16 : choice == WM_PRECISION_BF16;
    if (plan_model_init(&objective, &b->model, settings.candidates, settings.horizon, 0, bf16, 0, err)) {
        plan_model_free(&objective);
        return err->status;
    }
    plan_model_start(&objective, b->h, b->z);
    if (planner_init(&planner, &settings, err) == WM_OK) {
        WmRng rng = rng_stream(0, WM_STREAM_BENCH);
        float action[BENCH_PLAN_ACTIONS];
        for (long r = -1; r < b->repeats && err->status == WM_OK; r++) {
            planner_reset(&planner);
            const double start = wm_clock_seconds();
            if (plan_model_load(&objective, err) == WM_OK)
                planner_act(&planner, plan_model_returns, &objective, &rng, action, err);
            if (r >= 0) b->times[r] = wm_clock_seconds() - start;
        }
    }
    const double flops = plan_model_flops(&objective, settings.candidates) * settings.iterations;
    planner_free(&planner);
    plan_model_free(&objective);
    if (err->status) return err->status;
    const double seconds = bench_median(b->times, (int)b->repeats);
    const char *name = config_choice_word("plan.planner", kind), *chosen = bf16 ? "bf16" : "fp32",
               *precision = config_choice_word("plan.precision", choice);
    char shown[64];
    snprintf(shown, sizeof shown, choice == WM_PRECISION_AUTO ? "auto: %s" : "%s", chosen);
    if (b->json && choice == WM_PRECISION_AUTO)
        printf("{\"bench\":\"plan\",\"planner\":\"%s\",\"precision\":\"auto\",\"chosen\":\"%s\",\"threads\":%ld,"
               "\"candidates\":%d,\"horizon\":%d,\"iterations\":%d,\"ms_per_decision\":%.2f,"
               "\"measured_fp32_ms\":%.2f,\"measured_bf16_ms\":%.2f}\n", name, chosen, b->threads,
               settings.candidates, settings.horizon, settings.iterations, seconds * 1e3,
               measured.fp32_seconds * 1e3, measured.bf16_seconds * 1e3);
    else if (b->json)
        printf("{\"bench\":\"plan\",\"planner\":\"%s\",\"precision\":\"%s\",\"threads\":%ld,\"candidates\":%d,"
               "\"horizon\":%d,\"iterations\":%d,\"ms_per_decision\":%.2f,\"gflops\":%.1f,\"sgemm_gflops\":%.1f}\n",
               name, precision, b->threads, settings.candidates, settings.horizon, settings.iterations, seconds * 1e3,
               flops / seconds * 1e-9, b->sgemm);
    else
        printf("| %s | %s | %d x %d x %d | %.1f (%.1f-%.1f) | %.1f | %.1f | %.0f%% |\n", name, shown,
               settings.candidates, settings.horizon, settings.iterations, seconds * 1e3, b->times[0] * 1e3,
               b->times[b->repeats - 1] * 1e3, flops * 1e-9, flops / seconds * 1e-9,
               100.0 * flops / seconds * 1e-9 / b->sgemm);
    return WM_OK;
}

static WmStatus run_rows(BenchPlan *b, WmError *err) {
    config_defaults(&b->config);
    const WmModelConfig model_config = model_config_from(&b->config);
    if (bench_sgemm_rate(3, &b->sgemm, err) ||
        world_model_create(&b->model, &model_config, BENCH_PLAN_ACTIONS, err))
        return err->status;
    b->made_model = 1;
    world_model_init_params(&b->model, 0);
    b->h = calloc((size_t)b->model.rssm.deter, sizeof *b->h), b->z = calloc((size_t)b->model.rssm.stoch, sizeof *b->z);
    if (!b->h || !b->z) return wm_error_set(err, WM_ERR_NOMEM, "bench: out of memory");
    char cpu[128];
    machine_cpu_model(cpu, sizeof cpu);
    if (!b->json)
        printf("wm bench plan: %s, %ld thread%s, median of %ld decisions; dnnl_sgemm 1024^3 %.1f GFLOP/s\n\n"
               "| planner | precision | budget | ms/decision (min-max) | GFLOP/decision | GFLOP/s | of fp32 sgemm |\n"
               "|---|---|---|---|---|---|---|\n",
               cpu, b->threads, wm_plural(b->threads), b->repeats, b->sgemm);
    const WmPlanKind kinds[] = {WM_PLAN_CEM, WM_PLAN_MPPI};
    const WmPrecisionChoice precisions[] = {WM_PRECISION_FP32, WM_PRECISION_BF16, WM_PRECISION_AUTO};
    for (int k = 0; k < 2; k++)
        for (int p = 0; p < (kinds[k] == WM_PLAN_CEM ? 3 : 2); p++)
            if (time_planner(b, kinds[k], precisions[p], err)) return err->status;
    return bench_actor(&b->config, &b->model, (int)b->repeats, b->json, b->threads, b->times, err);
}

int bench_plan(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return bench_plan_usage(stdout, 0);
    BenchPlan *b = calloc(1, sizeof *b);
    if (b == NULL) return 1;
    b->threads = omp_get_max_threads(), b->repeats = 5;
    WmError err = {0};
    const CliOption options[] = {
        {"--json", CLI_FLAG, &b->json, 0, 0},
        {"--threads", CLI_LONG, &b->threads, 1, 1024},
        {"--repeats", CLI_LONG, &b->repeats, 1, 1000},
    };
    if (cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err)) {
        fprintf(stderr, "wm bench plan: %s\n", err.message);
        free(b);
        return bench_plan_usage(stderr, 2);
    }
    omp_set_num_threads((int)b->threads);
    b->times = calloc((size_t)b->repeats, sizeof *b->times);
    if (b->times == NULL) wm_error_set(&err, WM_ERR_NOMEM, "bench: out of memory");
    else run_rows(b, &err);
    if (err.status) fprintf(stderr, "wm bench plan: %s\n", err.message);
    if (b->made_model) world_model_free(&b->model);
    free(b->h), free(b->z), free(b->times), free(b);
    return err.status ? 1 : 0;
}
