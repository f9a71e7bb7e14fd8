/* Offline training on recorded episodes: the dataset is read once (the last data.holdout_episodes kept out and
 * evaluated at every log line), the rest fill the replay store, and the trainer steps to run.steps with metrics
 * and checkpoints as the config says. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/fs.h"
#include "core/hash.h"
#include "data/dataset.h"
#include "run/checkpoint.h"
#include "run/loops.h"

/* The data's fingerprint for the checkpoint: the dataset's; in a data-parallel job, FNV-1a over the ranks' share
 * fingerprints in rank order. */
static WmStatus source_fingerprint(const WmComm *comm, const WmDataset *dataset, char *out, size_t size,
                                   WmError *err) {
    uint64_t mine = dataset_fingerprint(dataset), hash = mine;
    if (comm->size > 1) {
        uint64_t *all = calloc((size_t)comm->size, sizeof *all);
        if (all == NULL) return wm_error_set(err, WM_ERR_NOMEM, "out of memory");
        if (comm_gather(comm, &mine, sizeof mine, all, err) == WM_OK)
            hash = hash_fnv1a(WM_FNV1A_START, all, (size_t)comm->size * sizeof *all);
        free(all);
        if (err->status) return err->status;
    }
    snprintf(out, size, "%016llx", (unsigned long long)hash);
    return WM_OK;
}

/* A rank that cannot read its share, or use it, stops every rank at the same point, before the run directory is
 * written: the others leave with WM_ERR_PEER, and the failing one says why. */
static WmStatus agree(const WmComm *comm, const char *data, WmError *err) {
    if (comm_any(comm, err->status != WM_OK) && err->status == WM_OK)
        wm_error_set(err, WM_ERR_PEER, "stopped: another rank could not use its share of %s", data);
    return err->status;
}

/* What an offline checkpoint carries besides the trainer: where the data came from. */
typedef struct {
    const WmRunPaths *paths;
    const WmTrainer *trainer;
    const WmMetaEntry *source;
    int source_count;
} OfflineSave;

static WmStatus save(void *ctx, WmError *err) {
    const OfflineSave *s = ctx;
    return run_save_checkpoint(s->paths, s->trainer, s->trainer->config.run.keep_checkpoints, s->source,
                               s->source_count, NULL, 0, err);
}

/* A metrics line (rank 0's) with the held-out figures, when episodes are held out. */
static WmStatus log_step(FILE *metrics, WmTrainer *t, const WmDataset *dataset, int held, const float *mean_image,
                         const WmLosses *losses, double elapsed, double frames_per_second, WmHeldOut *held_out,
                         WmError *err) {
    if (held > 0 && model_eval_heldout(&t->model, &t->batch, dataset->episodes + dataset->count - held, held,
                                       mean_image, held_out, err))
        return err->status;
    run_write_step_metrics(metrics, t, losses, elapsed, frames_per_second, held > 0 ? held_out : NULL);
    return WM_OK;
}

WmStatus train_offline(const WmTrainOptions *options, const WmConfig *config, const WmRunPaths *paths,
                       const WmTrainObserver *observer, WmError *err) {
    WmDataset dataset = {0};
    WmTrainer trainer;
    int trainer_made = 0;
    FILE *metrics = NULL;
    float *mean_image = NULL;
    WmFrameSize size = {(int)config->data.height, (int)config->data.width, 0};
    const WmComm single = comm_single(), *comm = options->comm ? options->comm : &single;
    const int held = (int)config->data.holdout_episodes;
    /* In a data-parallel job each rank reads its own share; the held-out episodes are rank 0's. */
    const WmDatasetShare share = {comm->rank, comm->size, held};
    dataset_read_share(options->data, &size, options->skip_bad, &share, &dataset, err);
    if (agree(comm, options->data, err)) goto done;
    if (size.resized) train_note(observer, "frames were resized to %dx%d", size.width, size.height);
    if (dataset.skipped) train_note(observer, "skipped %d bad episode%s", dataset.skipped, wm_plural(dataset.skipped));
    /* Where the data came from, in every checkpoint: the directory, its fingerprint, its environment if known. */
    char fingerprint[32], env[64];
    if (source_fingerprint(comm, &dataset, fingerprint, sizeof fingerprint, err)) goto done;
    dataset_read_env(options->data, env, sizeof env);
    const WmMetaEntry source[] = {{WM_META_DATA, options->data}, {WM_META_DATA_FINGERPRINT, fingerprint},
        {WM_META_ENV, env}};
    const int source_count = env[0] ? 3 : 2;
    if (held >= dataset.listed) {
        wm_error_set(err, WM_ERR_ARG, "data.holdout_episodes: %d of %d episodes leaves none to train on", held,
                     dataset.listed);
        goto done;
    }
    const int held_here = comm->rank == 0 ? held : 0;
    if (trainer_create(&trainer, config, dataset.episodes[0].action_dim, err) == WM_OK) {
        trainer_made = 1;
        trainer_join(&trainer, comm);
        for (int i = 0; i < dataset.count - held_here && err->status == WM_OK; i++)
            replay_add(&trainer.replay, &dataset.episodes[i], err);
        if (err->status == WM_OK && replay_chunk_count(&trainer.replay, (int)config->data.length) == 0)
            wm_error_set(err, WM_ERR_ARG, "%s: no training episode has data.length = %ld frames", options->data,
                         config->data.length);
    }
    if (agree(comm, options->data, err) || (comm->rank == 0 && run_prepare(paths, config, err))) goto done;
    if (fs_exists(paths->latest)) {
        if (checkpoint_load_trainer(&trainer, paths->latest, err) ||
            (comm->rank == 0 && run_trim_metrics(paths, trainer.step, err)))
            goto done;
        train_note(observer, "resuming %s from step %ld", options->run, trainer.step);
    }
    if (held > 0) {
        mean_image = malloc((size_t)3 * config->data.height * config->data.width * sizeof(float));
        if (mean_image == NULL) {
            wm_error_set(err, WM_ERR_NOMEM, "out of memory for the mean image");
            goto done;
        }
        if (model_eval_mean_image(&trainer.model, &trainer.replay, comm, mean_image, err)) goto done;
    }
    if (comm->rank == 0 && run_open_metrics(paths, &metrics, err)) goto done;
    const int threads = omp_get_max_threads();
    train_note(observer, "%s, %d episode%s (%ld frames, %.0f MiB in replay)%s, %d held out, %d thread%s, %ld step%s",
               options->data, trainer.replay.count, wm_plural(trainer.replay.count), trainer.replay.frames,
               replay_memory_bytes(&trainer.replay) / 1048576.0, comm->size > 1 ? " on rank 0" : "", held, threads,
               wm_plural(threads), config->run.steps, wm_plural(config->run.steps));
    if (comm->size > 1)
        train_note(observer, "%d ranks, each %ld sequences a step: a global batch of %ld", comm->size,
                   config->data.batch, config->data.batch * comm->size);
    const double start = wm_clock_seconds();
    const long first_step = trainer.step;
    WmLosses last = {0};
    WmHeldOut last_held_out = {0};
    const double frames_per_step = (double)config->data.batch * config->data.length;
    OfflineSave saving = {paths, &trainer, source, source_count};
    const WmLoopTail tail = {observer, comm, config, save, &saving};
    int stopped = 0;
    while (trainer.step < config->run.steps && !stopped) {
        WmLosses losses;
        if (trainer_step(&trainer, &losses, err)) goto done;
        const double elapsed = wm_clock_seconds() - start, per_step = elapsed / (trainer.step - first_step);
        const int logged = loop_logs_at(config, trainer.step);
        const WmTrainProgress progress = {.step = trainer.step, .total = config->run.steps, .logged = logged,
                                          .steps_per_second = 1.0 / per_step,
                                          .eta_seconds = per_step * (config->run.steps - trainer.step),
                                          .train_return = NAN, .eval_return = NAN, .losses = &losses};
        train_report(observer, &progress);
        if (logged && metrics) { /* rank 0's */
            if (log_step(metrics, &trainer, &dataset, held, mean_image, &losses, elapsed,
                         frames_per_step * (trainer.step - first_step) / elapsed, &last_held_out, err))
                goto done;
            last = losses;
        }
        if (loop_after_step(&tail, trainer.step, 0, &stopped, err)) goto done;
    }
    if (stopped) goto done;
    /* The summary: the last logged losses and held-out figures. */
    char held_text[160] = "";
    if (held > 0)
        snprintf(held_text, sizeof held_text, "; held out: image mse %.6f (mean image %.6f), reward R^2 %.3f",
                 last_held_out.image_mse, last_held_out.baseline_mse, last_held_out.reward_r2);
    train_note(observer, "%s at step %ld (%.1f s): loss %.2f, image mse %.6f, reward nll %.4f, kl %.3f%s", options->run,
               trainer.step, wm_clock_seconds() - start, last.loss, last.image_mse, last.reward_nll, last.kl, held_text);
done:
    if (metrics) fclose(metrics);
    free(mean_image);
    if (trainer_made) trainer_free(&trainer);
    dataset_free(&dataset);
    return err->status;
}
