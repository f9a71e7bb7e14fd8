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

/* printf into observer->note. */
void train_note(const WmTrainObserver *observer, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* Whether the observer asks the loop to stop. */
int train_stop_requested(const WmTrainObserver *observer);
/* What the observer is told after each step; `progress` is filled by the loop. */
void train_report(const WmTrainObserver *observer, const WmTrainProgress *progress);

#endif
