/* A run directory: config.yaml (the fully resolved config), metrics.jsonl (one JSON object per logged step),
 * checkpoints/step_N.safetensors, latest.safetensors (a second name of the newest step file), for online
 * runs episodes/, and plan_metrics.jsonl once wm plan has acted from it. This module owns its names and its writes: the config and checkpoint
 * rotation; run/metrics.h the metrics lines. */
#ifndef WM_RUN_RUN_DIR_H
#define WM_RUN_RUN_DIR_H

#include <stdio.h>

#include "config/config.h"
#include "core/safetensors.h"
#include "train/model_eval.h"
#include "train/trainer.h"

#define WM_RUN_PATH_MAX 4200

typedef struct {
    char dir[WM_RUN_PATH_MAX], config[WM_RUN_PATH_MAX], latest[WM_RUN_PATH_MAX], metrics[WM_RUN_PATH_MAX],
        checkpoints[WM_RUN_PATH_MAX], episodes[WM_RUN_PATH_MAX];
    char plan_metrics[WM_RUN_PATH_MAX]; /* wm plan's latency per frame */
    char lock[WM_RUN_PATH_MAX];         /* .lock: flocked by the one process that trains the run */
} WmRunPaths;

void run_paths(WmRunPaths *paths, const char *run);
/* The file of a checkpoint named "latest" (or NULL) or "step_N"; one that is not there is an error naming it. */
WmStatus run_checkpoint_path(const WmRunPaths *paths, const char *name, char *out, size_t size, WmError *err);

/* One writer per run directory: makes the directory if needed and takes its lock for as long as *fd stays open
 * (run_unlock). Another live holder is an error: "R is in use by wm train (pid N)". Readers (wm eval, wm plan,
 * wm-viz) never take it: every file they read is renamed into place whole, and metrics lines are appended whole. */
WmStatus run_lock(const WmRunPaths *paths, int *fd, WmError *err);
void run_unlock(int *fd);

/* What a command asks of the config: `config_path` over configs/default.yaml (may be NULL), then the `set_count`
 * "section.key=value" assignments, then run.steps when `steps` > 0, then data.env when `env` is not NULL. */
typedef struct {
    const char *config_path;
    const char *const *sets;
    int set_count;
    long steps;
    const char *env;
} WmConfigRequest;

/* The config a training command runs with. A new run: the request over the defaults. A resume: the run's
 * config.yaml with the request's assignments, --steps and --env over it; when the request names a config file,
 * the file with the same assignments must resolve to the run's config key by key (run.steps aside, which --steps
 * sets), so that the command that started a run resumes it, and a real difference is refused naming each key. */
WmStatus run_resolve_config(const WmRunPaths *paths, int resuming, const WmConfigRequest *request, WmConfig *config,
                            WmError *err);
/* The run's config.yaml with the assignments over it, for commands that read a finished run. */
WmStatus run_read_config(const WmRunPaths *paths, const char *const *sets, int set_count, WmConfig *config,
                         WmError *err);
/* Makes the directory and checkpoints/, and writes config.yaml: a new run's, or a resumed one's with what --set
 * and --steps changed, so the next plain resume continues with them. */
WmStatus run_prepare(const WmRunPaths *paths, const WmConfig *config, WmError *err);
/* A first start that failed before its first checkpoint leaves nothing behind: config.yaml, metrics and an empty
 * checkpoints/ go, and, when this start created the directory, the episodes it collected, the lock file (the
 * caller still holds the lock) and the directory. */
void run_discard(const WmRunPaths *paths, int directory_was_new);
/* checkpoints/step_N with `shared` metadata (the same on every rank) and each rank's `own` entries (its streams,
 * its episode count), then latest swapped to it atomically; with keep > 0, only the newest `keep` step files stay.
 * In a data-parallel job every rank calls it: rank 0 gathers the others' streams and own entries (as
 * "rank<r>.<key>") and alone writes. */
WmStatus run_save_checkpoint(const WmRunPaths *paths, const WmTrainer *trainer, long keep, const WmMetaEntry *shared,
                             int shared_count, const WmMetaEntry *own, int own_count, WmError *err);

#endif
