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
#include "run/metrics.h"
#include "run/precision.h"

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

/* An offline run: its data, where it came from, its trainer and its metrics file. */
typedef struct {
    const WmTrainOptions *options;
    const WmConfig *config;
    const WmRunPaths *paths;
    const WmTrainObserver *observer;
    const WmComm *comm;
    WmDataset dataset;
    int held, held_here; /* episodes held out; on this rank (rank 0 holds them) */
    char fingerprint[32], env[64];
    WmMetaEntry source[3]; /* in every checkpoint: the directory, its fingerprint, its environment if known */
    int source_count;
    WmTrainer trainer;
    int trainer_made;
    WmRunPrecision precision;
    FILE *metrics; /* rank 0's */
    float *mean_image; /* the held-out figures' baseline */
} Offline;

static WmStatus save(void *ctx, WmError *err) {
    const Offline *o = ctx;
    return run_save_checkpoint(o->paths, &o->trainer, o->config->run.keep_checkpoints, o->source, o->source_count,
                               NULL, 0, err);
}

/* A metrics line (rank 0's) with the held-out figures, when episodes are held out. */
static WmStatus log_step(Offline *o, const WmLosses *losses, double elapsed, double frames_per_second,
                         WmHeldOut *held_out, WmError *err) {
    WmTrainer *t = &o->trainer;
    if (o->held > 0 && model_eval_heldout(&t->model, &t->batch, o->dataset.episodes + o->dataset.count - o->held,
                                          o->held, o->mean_image, held_out, err))
        return err->status;
    run_write_step_metrics(o->metrics, t, losses, elapsed, frames_per_second, o->held > 0 ? held_out : NULL);
    return WM_OK;
}

/* Reads this rank's share of the episodes and names their source. */
static WmStatus read_data(Offline *o, WmError *err) {
    const WmConfig *config = o->config;
    const char *data = o->options->data;
    WmFrameSize size = {(int)config->data.height, (int)config->data.width, 0};
    /* In a data-parallel job each rank reads its own share; the held-out episodes are rank 0's. */
    const WmDatasetShare share = {o->comm->rank, o->comm->size, o->held};
    dataset_read_share(data, &size, o->options->skip_bad, &share, &o->dataset, err);
    if (agree(o->comm, data, err)) return err->status;
    if (size.resized) train_note(o->observer, "frames were resized to %dx%d", size.width, size.height);
    if (o->dataset.skipped)
        train_note(o->observer, "skipped %d bad episode%s", o->dataset.skipped, wm_plural(o->dataset.skipped));
    if (source_fingerprint(o->comm, &o->dataset, o->fingerprint, sizeof o->fingerprint, err)) return err->status;
    dataset_read_env(data, o->env, sizeof o->env);
    o->source[0] = (WmMetaEntry){WM_META_DATA, data};
    o->source[1] = (WmMetaEntry){WM_META_DATA_FINGERPRINT, o->fingerprint};
    o->source[2] = (WmMetaEntry){WM_META_ENV, o->env};
    o->source_count = o->env[0] ? 3 : 2;
    if (o->held >= o->dataset.listed)
        return wm_error_set(err, WM_ERR_ARG, "data.holdout_episodes: %d of %d episodes leaves none to train on",
                            o->held, o->dataset.listed);
    return WM_OK;
}

/* The trainer with the training episodes in its replay; every rank agrees before the run directory is written. */
static WmStatus make_trainer(Offline *o, WmError *err) {
    const WmConfig *config = o->config;
    o->held_here = o->comm->rank == 0 ? o->held : 0;
    const int action_dim = o->dataset.episodes[0].action_dim;
    WmConfig resolved;
    if (run_resolve_precision(o->paths, o->comm, config, action_dim, 0, &resolved, &o->precision, err) == WM_OK &&
        trainer_create(&o->trainer, &resolved, action_dim, o->dataset.episodes[0].state_dim, err) == WM_OK) {
        o->trainer_made = 1;
        o->trainer.config = *config; /* the words as written: the checkpoints record what auto chose */
        trainer_join(&o->trainer, o->comm);
        for (int i = 0; i < o->dataset.count - o->held_here && err->status == WM_OK; i++)
            replay_add(&o->trainer.replay, &o->dataset.episodes[i], err);
        if (err->status == WM_OK && replay_chunk_count(&o->trainer.replay, (int)config->data.length) == 0)
            wm_error_set(err, WM_ERR_ARG, "%s: no training episode has data.length = %ld frames", o->options->data,
                         config->data.length);
    }
    return agree(o->comm, o->options->data, err);
}

/* The run directory, a checkpoint to resume from, the held-out baseline and the metrics file. */
static WmStatus prepare_run(Offline *o, WmError *err) {
    const WmConfig *config = o->config;
    if (o->comm->rank == 0 && run_prepare(o->paths, config, err)) return err->status;
    if (fs_exists(o->paths->latest)) {
        if (checkpoint_load_trainer(&o->trainer, o->paths->latest, err) ||
            (o->comm->rank == 0 && run_trim_metrics(o->paths, o->trainer.step, err)))
            return err->status;
        train_note(o->observer, "resuming %s from step %ld", o->options->run, o->trainer.step);
    }
    if (o->held > 0) {
        o->mean_image = malloc((size_t)3 * config->data.height * config->data.width * sizeof(float));
        if (o->mean_image == NULL) return wm_error_set(err, WM_ERR_NOMEM, "out of memory for the mean image");
        if (model_eval_mean_image(&o->trainer.model, &o->trainer.replay, o->comm, o->mean_image, err))
            return err->status;
    }
    if (o->comm->rank == 0 && run_open_metrics(o->paths, &o->metrics, err)) return err->status;
    char precision[400];
    run_precision_describe(&o->precision, precision, sizeof precision);
    train_note(o->observer, "%s", precision);
    const int threads = omp_get_max_threads();
    const WmReplay *replay = &o->trainer.replay;
    train_note(o->observer, "%s, %d episode%s (%ld frames, %.0f MiB in replay)%s, %d held out, %d thread%s, %ld step%s",
               o->options->data, replay->count, wm_plural(replay->count), replay->frames,
               replay_memory_bytes(replay) / 1048576.0, o->comm->size > 1 ? " on rank 0" : "", o->held, threads,
               wm_plural(threads), config->run.steps, wm_plural(config->run.steps));
    if (o->comm->size > 1)
        train_note(o->observer, "%d ranks, each %ld sequences a step: a global batch of %ld", o->comm->size,
                   config->data.batch, config->data.batch * o->comm->size);
    return WM_OK;
}

/* Steps to run.steps, or to a stop signal; then the summary of the last logged losses and held-out figures. */
static WmStatus train_steps(Offline *o, WmError *err) {
    const WmConfig *config = o->config;
    WmTrainer *trainer = &o->trainer;
    const double start = wm_clock_seconds();
    const long first_step = trainer->step;
    WmLosses last = {0};
    WmHeldOut last_held_out = {0};
    const double frames_per_step = (double)config->data.batch * config->data.length;
    const WmLoopTail tail = {o->observer, o->comm, config, save, o};
    int stopped = 0;
    while (trainer->step < config->run.steps && !stopped) {
        WmLosses losses;
        if (trainer_step(trainer, &losses, err)) return err->status;
        const double elapsed = wm_clock_seconds() - start, per_step = elapsed / (trainer->step - first_step);
        const int logged = loop_logs_at(config, trainer->step);
        const WmTrainProgress progress = {.step = trainer->step, .total = config->run.steps, .logged = logged,
                                          .steps_per_second = 1.0 / per_step,
                                          .eta_seconds = per_step * (config->run.steps - trainer->step),
                                          .train_return = NAN, .eval_return = NAN, .losses = &losses};
        train_report(o->observer, &progress);
        if (logged && o->metrics) {
            if (log_step(o, &losses, elapsed, frames_per_step * (trainer->step - first_step) / elapsed,
                         &last_held_out, err))
                return err->status;
            last = losses;
        }
        if (loop_after_step(&tail, trainer->step, 0, &stopped, err)) return err->status;
    }
    if (stopped) return WM_OK;
    char held_text[160] = "";
    if (o->held > 0)
        snprintf(held_text, sizeof held_text, "; held out: image mse %.6f (mean image %.6f), reward R^2 %.3f",
                 last_held_out.image_mse, last_held_out.baseline_mse, last_held_out.reward_r2);
    train_note(o->observer, "%s at step %ld (%.1f s): loss %.2f, image mse %.6f, reward nll %.4f, kl %.3f%s",
               o->options->run, trainer->step, wm_clock_seconds() - start, last.loss, last.image_mse,
               last.reward_nll, last.kl, held_text);
    return WM_OK;
}

WmStatus train_offline(const WmTrainOptions *options, const WmConfig *config, const WmRunPaths *paths,
                       const WmTrainObserver *observer, WmError *err) {
    const WmComm single = comm_single();
    Offline *o = calloc(1, sizeof *o);
    if (o == NULL) return wm_error_set(err, WM_ERR_NOMEM, "out of memory");
    *o = (Offline){.options = options, .config = config, .paths = paths, .observer = observer,
                   .comm = options->comm ? options->comm : &single, .held = (int)config->data.holdout_episodes};
    if (read_data(o, err) == WM_OK && make_trainer(o, err) == WM_OK && prepare_run(o, err) == WM_OK)
        train_steps(o, err);
    if (o->metrics) fclose(o->metrics);
    free(o->mean_image);
    if (o->trainer_made) trainer_free(&o->trainer);
    dataset_free(&o->dataset);
    free(o);
    return err->status;
}
