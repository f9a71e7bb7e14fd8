/* wm train's two loops, offline on recorded episodes and PlaNet's online loop in a built-in environment, over one
 * run directory (run/run_dir.h). A new run directory is created with its resolved config; an existing one is
 * resumed from latest.safetensors, bit for bit. The loops tell their caller what happens through an observer
 * and print nothing themselves. */
#ifndef WM_RUN_TRAIN_RUN_H
#define WM_RUN_TRAIN_RUN_H

#include "core/comm.h"
#include "nets/world_model.h"

typedef struct {
    const char *run;         /* the run directory */
    const char *data;        /* recorded episodes (offline), or NULL */
    const char *env;         /* a built-in environment (online), or NULL */
    const char *config_path; /* YAML over the defaults, for a new run (may be NULL) */
    const char *const *sets; /* "section.key=value", applied last */
    int set_count;
    long steps;   /* run.steps when > 0 */
    int skip_bad; /* offline: pass over malformed episodes */
    const WmComm *comm; /* a data-parallel job (mpirun), or NULL: one process */
} WmTrainOptions;

/* What a loop reports after each gradient step. */
typedef struct {
    int online;
    int logged; /* a metrics line was written at this step (run.log_every) */
    long step, total, episodes;
    double steps_per_second;
    double eta_seconds; /* the steps left at the training time per step so far, plus (online) the episodes left at
                           the collection and evaluation time per episode so far */
    double train_return, eval_return; /* online: the last ones, NaN before the first */
    const WmLosses *losses;
} WmTrainProgress;

typedef struct {
    void *ctx;
    void (*note)(void *ctx, const char *line);                      /* a line worth telling the user */
    void (*progress)(void *ctx, const WmTrainProgress *progress); /* after every step (may be NULL) */
    /* Polled after every step (may be NULL): nonzero asks the loop to write a checkpoint and stop there. */
    int (*stop_requested)(void *ctx);
} WmTrainObserver;

/* Runs the loop the options name to run.steps, or until the observer asks it to stop (a checkpoint is written at
 * that step first, and the result is WM_OK). A non-finite loss stops with WM_ERR_NUMERIC; the run's latest
 * checkpoint is then the last good one. */
WmStatus run_train(const WmTrainOptions *options, const WmTrainObserver *observer, WmError *err);

#endif
