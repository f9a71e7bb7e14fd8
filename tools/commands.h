/* The subcommands of `wm`. Each takes argc/argv after the subcommand name and returns the process exit code:
 * 0 done, 1 failed, 2 bad usage. Only these functions print errors and choose exit codes. */
#ifndef WM_TOOLS_COMMANDS_H
#define WM_TOOLS_COMMANDS_H

#include <stdio.h>

#include "core/error.h"

int command_bench(int argc, char **argv);
int command_collect(int argc, char **argv);
int command_config(int argc, char **argv);
int command_eval(int argc, char **argv);
/* wm eval without its command line: episodes of a run's agent in an environment, printed as they end. */
typedef struct {
    const char *run, *env, *planner, *gif, *checkpoint; /* planner, gif, checkpoint: NULL for the run's own */
    const char *values; /* a CSV of the value and the imagined rewards against the real episodes, or NULL */
    long episodes, seed;
    long env_timeout; /* seconds for an exec: or tcp: environment's answers; 0: the default */
    const char *const *sets; /* --set k=v over the run's config */
    int set_count;
} EvalRequest;
WmStatus eval_run(const EvalRequest *request, WmError *err);
int command_info(int argc, char **argv);
int command_plan(int argc, char **argv);
int command_train(int argc, char **argv);
/* wm info on a run directory (tools/info_run.c), written to `out`. */
int info_run(const char *dir, FILE *out);

#endif
