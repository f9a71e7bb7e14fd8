/* Inside run_train (run/train_run.c): the two loops, given the resolved config and a prepared run directory. */
#ifndef WM_RUN_LOOPS_H
#define WM_RUN_LOOPS_H

#include "config/config.h"
#include "run/run_dir.h"
#include "run/train_run.h"

WmStatus train_offline(const WmTrainOptions *options, const WmConfig *config, const WmRunPaths *paths,
                       const WmTrainObserver *observer, WmError *err);
WmStatus train_online(const WmTrainOptions *options, const WmConfig *config, const WmRunPaths *paths,
                      const WmTrainObserver *observer, WmError *err);

/* The tail both loops run after every gradient step: a checkpoint when one is due (every run.checkpoint_every, at
 * run.steps, or when the loop says so) or when the observer asked any rank to stop, then on a stop the note. */
typedef struct {
    const WmTrainObserver *observer;
    const WmComm *comm;
    const WmConfig *config;
    WmStatus (*save)(void *ctx, WmError *err); /* writes a checkpoint; every rank calls it */
    void *save_ctx;
} WmLoopTail;

/* Whether `step` writes a metrics line (run.log_every, and the last step). */
int loop_logs_at(const WmConfig *config, long step);
/* `also_due`: the loop's own reason to checkpoint at this step. *stopped = 1 when the loop must end here. */
WmStatus loop_after_step(const WmLoopTail *tail, long step, int also_due, int *stopped, WmError *err);

/* printf into observer->note. */
void train_note(const WmTrainObserver *observer, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* Whether the observer asks the loop to stop. */
int train_stop_requested(const WmTrainObserver *observer);
/* What the observer is told after each step; `progress` is filled by the loop. */
void train_report(const WmTrainObserver *observer, const WmTrainProgress *progress);

#endif
