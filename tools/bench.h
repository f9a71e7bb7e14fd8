/* The benchmarks behind `wm bench WHAT`. Each takes argc/argv starting at WHAT and returns an exit code. */
#ifndef WM_TOOLS_BENCH_H
#define WM_TOOLS_BENCH_H

#include <stdio.h>

#include "core/error.h"

/* dnnl_sgemm at 1024^3, best of `repeats`: the machine's fp32 matrix rate every figure is held to. */
WmStatus bench_sgemm_rate(int repeats, double *gflops, WmError *err);
/* Sorts the times in place and returns the median (times[0] and times[count - 1] are then the extremes). */
double bench_median(double *times, int count);

int bench_ops(int argc, char **argv);
int bench_ops_usage(FILE *out, int code);
int bench_data(int argc, char **argv);
int bench_data_usage(FILE *out, int code);
int bench_train(int argc, char **argv);
int bench_train_usage(FILE *out, int code);
/* wm bench train --round C: one timed round of the online loop as the config file C sets it. */
WmStatus bench_round(const char *config_path, int json, WmError *err);
int bench_plan(int argc, char **argv);
int bench_env(int argc, char **argv);
int bench_env_usage(FILE *out, int code);
int bench_plan_usage(FILE *out, int code);

#endif
