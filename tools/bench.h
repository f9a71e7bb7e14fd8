/* The benchmarks behind `wm bench WHAT`. Each takes argc/argv starting at WHAT and returns an exit code. */
#ifndef WM_TOOLS_BENCH_H
#define WM_TOOLS_BENCH_H

#include <stdio.h>

int bench_ops(int argc, char **argv);
int bench_ops_usage(FILE *out, int code);
int bench_data(int argc, char **argv);
int bench_data_usage(FILE *out, int code);

#endif
