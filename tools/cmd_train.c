/* wm train --config C --run R --data DIR: offline training on recorded episodes, resumable. The run directory
 * holds config.yaml (resolved), metrics.jsonl, checkpoints/step_N.safetensors and latest.safetensors. Running the
 * same command again continues from latest; --steps is the total. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "core/clock.h"
#include "core/fs.h"
#include "data/dataset.h"
#include "progress.h"
#include "train/trainer.h"
#include "train_online.h"

typedef struct {
    const char *config_path, *run, *data, *env;
    CliList sets;
    int skip_bad;
    long steps, threads;
} TrainOptions;

static int train_usage(FILE *out, int code) {
    fprintf(out, "usage: wm train --run R (--data DIR | --env NAME) [--config C] [--steps N] [--set k=v ...]\n"
                 "                [--threads N] [--skip-bad]\n"
                 "  --run R       run directory; an existing one is resumed from R/latest.safetensors\n"
                 "  --data DIR    recorded episodes (never written to): offline training\n"
                 "  --env NAME    a built-in environment: the online loop (seed episodes, then train / collect with\n"
                 "                the planner and exploration noise / evaluate), episodes kept in R/episodes\n"
                 "  --config C    YAML overriding configs/default.yaml's keys (a new run only)\n"
                 "  --steps N     total gradient steps (run.steps)\n"
                 "  --set k=v     any config key, applied last\n"
                 "  --threads N   OpenMP/oneDNN threads; results are bit-identical for the same count\n");
    return code;
}

static WmStatus parse(int argc, char **argv, TrainOptions *o, WmError *err) {
    const CliOption options[] = {
        {"--config", CLI_TEXT, &o->config_path, 0, 0}, {"--run", CLI_TEXT, &o->run, 0, 0},
        {"--data", CLI_TEXT, &o->data, 0, 0},          {"--env", CLI_TEXT, &o->env, 0, 0},
        {"--steps", CLI_LONG, &o->steps, 1, 1000000000}, {"--threads", CLI_LONG, &o->threads, 1, 1024},
        {"--set", CLI_LIST, &o->sets, 0, 0},           {"--skip-bad", CLI_FLAG, &o->skip_bad, 0, 0},
    };
    if (cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), err)) return err->status;
    if (o->run == NULL || (o->data == NULL) == (o->env == NULL))
        wm_error_set(err, WM_ERR_ARG, "--run and one of --data DIR (offline) or --env NAME (online) are required");
    return err->status;
}

/* defaults <- the run's config.yaml when resuming, else --config <- --set <- --steps. */
static WmStatus resolve_config(const TrainOptions *o, int resuming, const char *run_config, WmConfig *config,
                               WmError *err) {
    config_defaults(config);
    if (resuming ? config_load_yaml(config, run_config, err)
                 : (o->config_path && config_load_yaml(config, o->config_path, err)))
        return err->status;
    for (int i = 0; i < o->sets.count; i++)
        if (config_set_assignment(config, o->sets.items[i], err)) return err->status;
    if (o->steps > 0) config->run.steps = o->steps;
    return config_validate(config, err);
}

static WmStatus write_config(const WmConfig *config, const char *path, WmError *err) {
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (out == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot create", tmp);
    fprintf(out, "# The resolved configuration of this run, written by wm train; a resume reads it back.\n");
    config_write_yaml(config, out);
    if (fclose(out) != 0) return wm_error_set(err, WM_ERR_IO, "%s: write failed", tmp);
    return fs_commit(tmp, path, err);
}

/* A resumed run forgets the metrics lines written after its checkpoint, so the file reads as one run. */
static WmStatus trim_metrics(const char *path, long step, WmError *err) {
    if (!fs_exists(path)) return WM_OK;
    char *text = NULL;
    size_t size = 0;
    if (fs_read_all(path, &text, &size, err)) return err->status;
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (out == NULL) {
        free(text);
        return wm_error_set(err, WM_ERR_IO, "%s: cannot create", tmp);
    }
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        long line_step = -1;
        const char *at = strstr(line, "\"step\":");
        if (at && sscanf(at + 7, "%ld", &line_step) == 1 && line_step <= step) fprintf(out, "%s\n", line);
    }
    free(text);
    if (fclose(out) != 0) return wm_error_set(err, WM_ERR_IO, "%s: write failed", tmp);
    return fs_commit(tmp, path, err);
}

static WmStatus save_checkpoint(const WmTrainer *t, const char *run, long keep, const WmOnline *online,
                                const WmAgent *agent, WmError *err) {
    char path[4200], latest[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/checkpoints/step_%ld.safetensors", run, t->step);
    snprintf(latest, sizeof latest, "%s/latest.safetensors", run);
    snprintf(tmp, sizeof tmp, "%s.tmp", latest);
    if (online ? online_save(online, t, agent, path, err) : trainer_save(t, path, err)) return err->status;
    /* latest is a second name for the same file: a hard link, swapped in atomically. */
    remove(tmp);
    if (link(path, tmp) != 0) return wm_error_set(err, WM_ERR_IO, "%s: cannot link to %s", tmp, path);
    if (fs_commit(tmp, latest, err)) return err->status;
    if (keep > 0) { /* the newest `keep` step files stay; checkpoints need not come at a regular interval */
        char dir[4200], **names = NULL;
        int count = 0;
        snprintf(dir, sizeof dir, "%s/checkpoints", run);
        if (fs_list_dir(dir, &names, &count, err)) return err->status;
        long *steps = calloc((size_t)count + 1, sizeof *steps);
        int found = 0;
        for (int i = 0; i < count && steps; i++) {
            long step;
            char tail[32];
            if (sscanf(names[i], "step_%ld.safetensor%31s", &step, tail) == 2 && strcmp(tail, "s") == 0)
                steps[found++] = step;
        }
        for (int i = 0; i < found && steps; i++) {
            int newer = 0;
            for (int j = 0; j < found; j++) newer += steps[j] > steps[i];
            if (newer >= keep) {
                char old[4300];
                snprintf(old, sizeof old, "%.4200s/step_%ld.safetensors", dir, steps[i]);
                remove(old);
            }
        }
        free(steps);
        fs_free_list(names, count);
    }
    return WM_OK;
}

static void write_metrics(FILE *out, const WmTrainer *t, const WmLosses *l, double wall, double frames_per_second,
                          const WmHeldOut *held_out) {
    fprintf(out,
            "{\"step\":%ld,\"wall_s\":%.3f,\"loss\":%.9g,\"image_nll\":%.9g,\"reward_nll\":%.9g,\"kl\":%.9g,"
            "\"overshoot_kl\":%.9g,\"ensemble_kl\":%.9g,\"image_mse\":%.9g,\"grad_norm\":%.9g,\"frames_per_s\":%.1f",
            t->step, wall, l->loss, l->image_nll, l->reward_nll, l->kl, l->overshoot_kl, l->ensemble_kl, l->image_mse,
            t->grad_norm, frames_per_second);
    if (held_out)
        fprintf(out, ",\"heldout_image_mse\":%.9g,\"heldout_mean_image_mse\":%.9g,\"heldout_reward_r2\":%.6f",
                held_out->image_mse, held_out->baseline_mse, held_out->reward_r2);
    fprintf(out, "}\n");
    fflush(out);
}

static void format_eta(char *out, size_t size, double seconds) {
    if (seconds >= 3600) snprintf(out, size, "%dh%02dm", (int)(seconds / 3600), (int)(seconds / 60) % 60);
    else snprintf(out, size, "%dm%02ds", (int)(seconds / 60), (int)seconds % 60);
}

/* The online loop; the config is resolved and written. */
static int train_online(const TrainOptions *o, const WmConfig *config, const char *latest, const char *metrics_path) {
    WmError err = {0};
    WmOnline online;
    WmTrainer trainer;
    WmAgent agent;
    int made_trainer = 0, made_agent = 0, code = 1;
    FILE *metrics = NULL;
    if (online_init(&online, o->run, o->env, config, &err) ||
        trainer_create(&trainer, config, env_action_dim(&online.env), &err))
        goto done;
    made_trainer = 1;
    const WmPlanSettings settings = plan_settings_from_config(config, env_action_dim(&online.env));
    if (agent_init(&agent, &trainer.model, &settings, (uint64_t)config->run.seed, &err)) goto done;
    made_agent = 1;
    const int resuming = fs_exists(latest);
    if (resuming && (trainer_load(&trainer, latest, &err) || trim_metrics(metrics_path, trainer.step, &err))) goto done;
    if (online_start(&online, &trainer, &agent, latest, &err)) goto done;
    if (resuming) fprintf(stderr, "wm train: resuming %s from step %ld, %ld episodes\n", o->run, trainer.step,
                          online.episodes);
    metrics = fopen(metrics_path, "a");
    if (metrics == NULL) {
        wm_error_set(&err, WM_ERR_IO, "%s: cannot open for appending", metrics_path);
        goto done;
    }
    fprintf(stderr, "wm train: online on %s, %ld episodes so far, %ld steps, an episode every %ld steps\n", o->env,
            online.episodes, config->run.steps, config->online.steps_per_episode);
    const double start = wm_clock_seconds();
    const long first_step = trainer.step;
    const double frames_per_step = (double)config->data.batch * config->data.length;
    while (trainer.step < config->run.steps) {
        WmLosses losses;
        if (trainer_step(&trainer, &losses, &err)) goto done;
        const double elapsed = wm_clock_seconds() - start, per_step = elapsed / (trainer.step - first_step);
        char eta[32]; /* from the time per step so far, collection included */
        format_eta(eta, sizeof eta, per_step * (config->run.steps - trainer.step));
        progress_line("step %ld/%ld  %.2f steps/s  ETA %s  episodes %ld  loss %.1f  kl %.2f", trainer.step,
                      config->run.steps, 1.0 / per_step, eta, online.episodes, losses.loss, losses.kl);
        if (trainer.step % config->run.log_every == 0 || trainer.step == config->run.steps)
            write_metrics(metrics, &trainer, &losses, elapsed, frames_per_step / per_step, NULL);
        int saved_point = trainer.step % config->run.checkpoint_every == 0 || trainer.step == config->run.steps;
        if (trainer.step % config->online.steps_per_episode == 0) {
            double train_return = 0.0, eval_return = 0.0;
            if (online_collect(&online, &trainer, &agent, &train_return, &err)) goto done;
            const int evaluate = online.episodes % config->online.eval_every == 0;
            if (evaluate && online_evaluate(&online, &agent, &eval_return, &err)) goto done;
            fprintf(metrics, "{\"step\":%ld,\"wall_s\":%.3f,\"episodes\":%ld,\"train_return\":%.4f", trainer.step,
                    wm_clock_seconds() - start, online.episodes, train_return);
            if (evaluate) fprintf(metrics, ",\"eval_return\":%.4f", eval_return);
            fprintf(metrics, "}\n");
            fflush(metrics);
            saved_point = 1;
        }
        if (saved_point && save_checkpoint(&trainer, o->run, config->run.keep_checkpoints, &online, &agent, &err))
            goto done;
    }
    progress_done();
    fprintf(stderr, "wm train: %s at step %ld, %ld episodes (%.1f s)\n", o->run, trainer.step, online.episodes,
            wm_clock_seconds() - start);
    code = 0;
done:
    progress_done();
    if (code) fprintf(stderr, "wm train: %s\n", err.message);
    if (err.status == WM_ERR_NUMERIC) fprintf(stderr, "wm train: the last good checkpoint is %s\n", latest);
    if (metrics) fclose(metrics);
    if (made_agent) agent_free(&agent);
    if (made_trainer) trainer_free(&trainer);
    online_free(&online);
    return code ? (err.status == WM_ERR_ARG ? 2 : 1) : 0;
}

int command_train(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return train_usage(stdout, 0);
    TrainOptions o = {0};
    WmError err = {0};
    if (parse(argc, argv, &o, &err)) {
        fprintf(stderr, "wm train: %s\n", err.message);
        return train_usage(stderr, 2);
    }
    if (o.threads > 0) omp_set_num_threads((int)o.threads);
    char run_config[4200], latest[4200], metrics_path[4200], checkpoints[4200];
    snprintf(run_config, sizeof run_config, "%s/config.yaml", o.run);
    snprintf(latest, sizeof latest, "%s/latest.safetensors", o.run);
    snprintf(metrics_path, sizeof metrics_path, "%s/metrics.jsonl", o.run);
    snprintf(checkpoints, sizeof checkpoints, "%s/checkpoints", o.run);
    const int resuming = fs_exists(run_config);
    WmConfig config;
    WmDataset dataset = {0};
    WmTrainer trainer;
    int trainer_made = 0;
    FILE *metrics = NULL;
    float *mean_image = NULL;
    if (resolve_config(&o, resuming, run_config, &config, &err)) goto fail;
    if (o.env) {
        if (fs_make_dirs(checkpoints, &err) || (!resuming && write_config(&config, run_config, &err))) goto fail;
        return train_online(&o, &config, latest, metrics_path);
    }
    WmFrameSize size = {(int)config.data.height, (int)config.data.width, 0};
    if (dataset_read(o.data, &size, o.skip_bad, &dataset, &err)) goto fail;
    if (size.resized) fprintf(stderr, "wm train: frames were resized to %dx%d\n", size.width, size.height);
    if (dataset.skipped) fprintf(stderr, "wm train: skipped %d bad episodes\n", dataset.skipped);
    const int held = (int)config.data.holdout_episodes;
    if (held >= dataset.count) {
        wm_error_set(&err, WM_ERR_ARG, "data.holdout_episodes: %d of %d episodes leaves none to train on", held,
                     dataset.count);
        goto fail;
    }
    if (fs_make_dirs(checkpoints, &err) || (!resuming && write_config(&config, run_config, &err))) goto fail;
    if (trainer_create(&trainer, &config, dataset.episodes[0].action_dim, &err)) goto fail;
    trainer_made = 1;
    for (int i = 0; i < dataset.count - held; i++)
        if (replay_add(&trainer.replay, &dataset.episodes[i], &err)) goto fail;
    if (replay_chunk_count(&trainer.replay, (int)config.data.length) == 0) {
        wm_error_set(&err, WM_ERR_ARG, "%s: no training episode has data.length = %ld frames", o.data,
                     config.data.length);
        goto fail;
    }
    if (fs_exists(latest)) {
        if (trainer_load(&trainer, latest, &err) || trim_metrics(metrics_path, trainer.step, &err)) goto fail;
        fprintf(stderr, "wm train: resuming %s from step %ld\n", o.run, trainer.step);
    }
    if (held > 0) {
        mean_image = malloc((size_t)3 * config.data.height * config.data.width * sizeof(float));
        if (mean_image == NULL) goto fail;
        trainer_mean_image(&trainer, mean_image);
    }
    metrics = fopen(metrics_path, "a");
    if (metrics == NULL) {
        wm_error_set(&err, WM_ERR_IO, "%s: cannot open for appending", metrics_path);
        goto fail;
    }
    fprintf(stderr, "wm train: %s, %d episodes (%ld frames, %.0f MiB in replay), %d held out, %d threads, %ld steps\n",
            o.data, trainer.replay.count, trainer.replay.frames, replay_memory_bytes(&trainer.replay) / 1048576.0,
            held, omp_get_max_threads(), config.run.steps);
    const double start = wm_clock_seconds();
    const long first_step = trainer.step;
    const double frames_per_step = (double)config.data.batch * config.data.length;
    while (trainer.step < config.run.steps) {
        WmLosses losses;
        if (trainer_step(&trainer, &losses, &err)) goto fail;
        const double elapsed = wm_clock_seconds() - start, per_step = elapsed / (trainer.step - first_step);
        char eta[32];
        format_eta(eta, sizeof eta, per_step * (config.run.steps - trainer.step));
        progress_line("step %ld/%ld  %.2f steps/s  ETA %s  loss %.1f  image %.1f  reward %.3f  kl %.2f",
                      trainer.step, config.run.steps, 1.0 / per_step, eta, losses.loss, losses.image_nll,
                      losses.reward_nll, losses.kl);
        if (trainer.step % config.run.log_every == 0 || trainer.step == config.run.steps) {
            WmHeldOut held_out;
            if (held > 0 && trainer_evaluate(&trainer, dataset.episodes + dataset.count - held, held, mean_image,
                                             &held_out, &err))
                goto fail;
            write_metrics(metrics, &trainer, &losses, elapsed, frames_per_step / per_step, held > 0 ? &held_out : NULL);
        }
        if (trainer.step % config.run.checkpoint_every == 0 || trainer.step == config.run.steps)
            if (save_checkpoint(&trainer, o.run, config.run.keep_checkpoints, NULL, NULL, &err)) goto fail;
    }
    progress_done();
    fprintf(stderr, "wm train: %s at step %ld (%.1f s)\n", o.run, trainer.step, wm_clock_seconds() - start);
    fclose(metrics);
    free(mean_image);
    trainer_free(&trainer);
    dataset_free(&dataset);
    return 0;
fail:
    progress_done();
    if (err.status == WM_OK) wm_error_set(&err, WM_ERR_NOMEM, "out of memory");
    fprintf(stderr, "wm train: %s\n", err.message);
    if (err.status == WM_ERR_NUMERIC) fprintf(stderr, "wm train: the last good checkpoint is %s\n", latest);
    if (metrics) fclose(metrics);
    free(mean_image);
    if (trainer_made) trainer_free(&trainer);
    dataset_free(&dataset);
    return err.status == WM_ERR_ARG ? 2 : 1;
}
