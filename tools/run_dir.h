/* A run directory as the tools read it: R/config.yaml (the resolved config) and R/latest.safetensors. */
#ifndef WM_TOOLS_RUN_DIR_H
#define WM_TOOLS_RUN_DIR_H

#include "cli.h"
#include "train/trainer.h"

/* Builds the run's model for `action_dim` actions, batches of `batch` x `length` (0: the config's), and loads its
 * latest checkpoint. `sets` (may be NULL) are --set k=v assignments applied over the run's config. A missing run,
 * config or checkpoint, or a checkpoint that does not fit the config, is an error naming the file. */
WmStatus run_open(const char *run, int action_dim, int batch, int length, const CliList *sets, WmTrainer *trainer,
                  WmError *err);

#endif
