/* wm collect: episodes from a built-in or remote environment, written atomically, one at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/clock.h"
#include "core/fs.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "data/env.h"
#include "data/episode_npz.h"
#include "data/episode_png.h"
#include "data/rollout.h"
#include "progress.h"

static int collect_usage(FILE *out, int code) {
    fprintf(out, "usage: wm collect --env NAME --episodes N --out DIR [--policy random|zero] [--seed S]\n"
                 "                  [--format png|npz] [--action-repeat K] [--env-timeout S]\n"
                 "  --env NAME         %s\n"
                 "                     (dmc-: DeepMind Control's physics on MuJoCo, when the build has it)\n"
                 "  --episodes N       how many episodes to add to DIR\n"
                 "  --out DIR          the dataset directory (created; existing episodes are never overwritten)\n"
                 "  --policy P         random: uniform actions in [-1, 1] (default); zero: do nothing\n"
                 "  --seed S           seeds the environment and the policy (default 0)\n"
                 "  --format F         png: frame_NNNNNN.png + steps.csv (default); npz: PlaNet/Dreamer .npz\n"
                 "  --action-repeat K  environment steps per agent step (default: the task's, PlaNet's: cartpole 8,\n"
                 "                     reacher, cheetah and cup 4, others 2)\n"
                 "  --env-timeout S    seconds to wait for an exec: or tcp: environment's answer (default 60)\n"
                 "example: wm collect --env cartpole-swingup --episodes 5 --out runs/episodes/cp\n",
            env_names());
    return code;
}

typedef struct {
    const char *env, *out, *policy, *format;
    long episodes, seed, action_repeat, env_timeout;
} CollectOptions;

static WmStatus parse(int argc, char **argv, CollectOptions *wanted, WmError *err) {
    const CliOption options[] = {
        {"--env", CLI_TEXT, &wanted->env, 0, 0},          {"--out", CLI_TEXT, &wanted->out, 0, 0},
        {"--policy", CLI_TEXT, &wanted->policy, 0, 0},    {"--format", CLI_TEXT, &wanted->format, 0, 0},
        {"--episodes", CLI_LONG, &wanted->episodes, 1, 1000000}, {"--seed", CLI_LONG, &wanted->seed, 0, 2147483647L},
        {"--action-repeat", CLI_LONG, &wanted->action_repeat, 1, 1000},
        {"--env-timeout", CLI_LONG, &wanted->env_timeout, 1, 1000000},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), err);
    if (err->status) return err->status;
    if (wanted->env == NULL || wanted->out == NULL || wanted->episodes == 0)
        return wm_error_set(err, WM_ERR_ARG, "--env, --episodes and --out are required");
    if (strcmp(wanted->policy, "random") != 0 && strcmp(wanted->policy, "zero") != 0)
        return wm_error_set(err, WM_ERR_ARG, "--policy: '%s' is not random or zero", wanted->policy);
    if (strcmp(wanted->format, "png") != 0 && strcmp(wanted->format, "npz") != 0)
        return wm_error_set(err, WM_ERR_ARG, "--format: '%s' is not png or npz", wanted->format);
    return cli_check_env("--env", wanted->env, err);
}

int command_collect(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return collect_usage(stdout, 0);
    CollectOptions wanted = {.policy = "random", .format = "png"};
    WmError err = {0};
    if (parse(argc, argv, &wanted, &err)) {
        fprintf(stderr, "wm collect: %s\n", err.message);
        return collect_usage(stderr, 2);
    }
    WmEnv env;
    WmRng policy_rng = rng_stream((uint64_t)wanted.seed, WM_STREAM_POLICY);
    /* Collecting into a dataset again with the same seed continues its streams where they left off, so no episode
     * repeats one it holds. */
    uint64_t env_counter = 0, policy_counter = 0;
    dataset_read_streams(wanted.out, (uint64_t)wanted.seed, &env_counter, &policy_counter);
    if (env_create(&env, wanted.env, (uint64_t)wanted.seed, (int)wanted.action_repeat, &err) ||
        fs_make_dirs(wanted.out, &err) ||
        dataset_write_env(wanted.out, env_name(&env), (uint64_t)wanted.seed, env_counter, policy_counter, &err)) {
        fprintf(stderr, "wm collect: %s\n", err.message);
        env_free(&env);
        return 1;
    }
    env_set_timeout(&env, (double)wanted.env_timeout);
    env.rng.counter = env_counter, policy_rng.counter = policy_counter;
    WmRandomPolicy policy_state = {strcmp(wanted.policy, "random") == 0 ? &policy_rng : NULL, env_action_dim(&env)};
    const WmPolicy policy = policy_random(&policy_state);
    int npz = strcmp(wanted.format, "npz") == 0, written = 0;
    double start = wm_clock_seconds(), total_return = 0.0;
    long frames = 0;
    /* Episode names continue after what DIR holds, so collecting twice adds instead of failing. */
    int index = 0;
    for (long e = 0; e < wanted.episodes && err.status == WM_OK; e++) {
        char path[4096];
        do {
            snprintf(path, sizeof path, "%s/episode_%06d%s", wanted.out, index++, npz ? ".npz" : "");
        } while (fs_exists(path));
        WmEpisode episode = {0};
        if (env_rollout(&env, &policy, &episode, NULL, &err) == WM_OK) {
            WmStatus status = npz ? episode_write_npz(path, &episode, 1, &err) : episode_write_png_dir(path, &episode, &err);
            if (status == WM_OK)
                status = dataset_write_env(wanted.out, env_name(&env), (uint64_t)wanted.seed, env.rng.counter,
                                           policy_rng.counter,
                                           &err);
            if (status == WM_OK) {
                written++;
                frames += episode.length;
                total_return += episode_return(&episode);
                double elapsed = wm_clock_seconds() - start;
                progress_line("collect %s: episode %d/%ld, return %.1f, %.0f frames/s, ETA %.0f s", wanted.env, written,
                              wanted.episodes, episode_return(&episode), frames / elapsed,
                              elapsed / written * (wanted.episodes - written));
            }
        }
        episode_free(&episode);
    }
    progress_done();
    int action_repeat = env.action_repeat;
    env_free(&env);
    if (err.status) {
        fprintf(stderr, "wm collect: %s\n", err.message);
        return 1;
    }
    printf("collected %d episode%s of %s (%ld frames, action repeat %d) into %s: mean return %.2f, %.1f s\n", written,
           wm_plural(written),
           wanted.env, frames, action_repeat, wanted.out, total_return / written,
           wm_clock_seconds() - start);
    return 0;
}
