/* `wm bench env`: the environments' own cost, which collection and evaluation pay on every step: ms per
 * environment step without drawing (the physics and the reward) and ms per 64x64 frame drawn, per task. Each is
 * the median over `repeats` runs of `steps` agent steps with random actions (the task's action repeat, so an agent
 * step is several environment steps). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/machine.h"
#include "cli.h"
#include "core/clock.h"
#include "data/env.h"

int bench_env_usage(FILE *out, int code) {
    fprintf(out, "usage: wm bench env [--env NAME] [--steps N] [--repeats N]\n"
                 "  --env NAME    one task (default: every task this build has)\n"
                 "  --steps N     agent steps per timed run (default 250)\n"
                 "  --repeats N   timed runs; the median is reported (default 3)\n"
                 "example: wm bench env --env dmc-cheetah-run\n");
    return code;
}

/* Seconds for `steps` agent steps, drawing each frame into rgb or not; environment steps taken into *env_steps. */
static double timed_steps(WmEnv *env, int steps, uint8_t *rgb, WmRng *rng, long *env_steps) {
    float action[WM_ENV_ACTION_MAX];
    const int A = env_action_dim(env);
    WmError err = {0}; /* a built-in task's reset and step cannot fail */
    env_reset(env, rgb, &err);
    const double start = wm_clock_seconds();
    for (int t = 0; t < steps; t++) {
        WmEnvStep step;
        rng_fill_uniform(rng, action, (size_t)A);
        for (int a = 0; a < A; a++) action[a] = 2.0f * action[a] - 1.0f;
        const int before = env->env_steps;
        env_step(env, action, rgb, &step, &err);
        *env_steps += env->env_steps - before;
        if (step.last) env_reset(env, rgb, &err);
    }
    return wm_clock_seconds() - start;
}

static WmStatus bench_one(const char *name, int steps, int repeats, WmError *err) {
    WmEnv env;
    if (env_create(&env, name, 0, 0, err)) {
        env_free(&env);
        return err->status;
    }
    uint8_t *rgb = malloc((size_t)WM_ENV_SIZE * WM_ENV_SIZE * 3);
    double *bare = calloc((size_t)repeats, sizeof *bare), *drawn = calloc((size_t)repeats, sizeof *drawn);
    if (!rgb || !bare || !drawn) {
        free(rgb), free(bare), free(drawn), env_free(&env);
        return wm_error_set(err, WM_ERR_NOMEM, "bench env: out of memory");
    }
    WmRng rng = rng_stream(0, WM_STREAM_BENCH);
    long env_steps = 0;
    for (int r = 0; r < repeats; r++) {
        env_steps = 0;
        bare[r] = timed_steps(&env, steps, NULL, &rng, &env_steps);
        long ignored = 0;
        drawn[r] = timed_steps(&env, steps, rgb, &rng, &ignored);
    }
    const double b = bench_median(bare, repeats), d = bench_median(drawn, repeats);
    printf("| %-22s | %2d | %8.4f | %7.3f | %7.2f |\n", name, env.action_repeat, 1e3 * b / (double)env_steps,
           1e3 * (d - b) / steps, 1e3 * d / steps);
    free(rgb), free(bare), free(drawn);
    env_free(&env);
    return WM_OK;
}

int bench_env(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return bench_env_usage(stdout, 0);
    const char *only = NULL;
    long steps = 250, repeats = 3;
    WmError err = {0};
    const CliOption options[] = {
        {"--env", CLI_TEXT, &only, 0, 0},
        {"--steps", CLI_LONG, &steps, 1, 1000000},
        {"--repeats", CLI_LONG, &repeats, 1, 1000},
    };
    if (cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err) == WM_OK && only)
        cli_check_env("--env", only, &err);
    if (err.status) {
        fprintf(stderr, "wm bench env: %s\n", err.message);
        return bench_env_usage(stderr, 2);
    }
    char cpu[128];
    machine_cpu_model(cpu, sizeof cpu);
    printf("wm bench env: %s, median of %ld runs of %ld agent steps with random actions\n\n", cpu, repeats, steps);
    printf("| task | repeat | ms per env step (physics + reward) | ms per frame drawn | ms per agent step |\n");
    printf("|---|---|---|---|---|\n");
    for (int i = 0; env_task_name(i); i++) {
        const char *name = env_task_name(i);
        if (only && strcmp(only, name) != 0) continue;
        WmError one = {0};
        if (bench_one(name, (int)steps, (int)repeats, &one)) {
            if (only) {
                fprintf(stderr, "wm bench env: %s\n", one.message);
                return 1;
            }
            printf("| %-22s | | %s | | |\n", name, one.message);
        }
    }
    return 0;
}
