/* The subcommands of `wm`. Each takes argc/argv after the subcommand name and returns the process exit code:
 * 0 done, 1 failed, 2 bad usage. Only these functions print errors and choose exit codes. */
#ifndef WM_TOOLS_COMMANDS_H
#define WM_TOOLS_COMMANDS_H

#include <stdio.h>

int command_bench(int argc, char **argv);
int command_collect(int argc, char **argv);
int command_config(int argc, char **argv);
int command_eval(int argc, char **argv);
int command_info(int argc, char **argv);
int command_plan(int argc, char **argv);
int command_train(int argc, char **argv);
/* wm info on a run directory (tools/info_run.c), written to `out`. */
int info_run(const char *dir, FILE *out);

#endif
