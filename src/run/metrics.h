/* A run's metrics files (metrics.jsonl, plan_metrics.jsonl): one JSON object of numbers (and a few words) per line, written whole with
 * cJSON and flushed, read back with cJSON. A last line without its newline (still being written, or cut by a kill)
 * is not a line yet. A number that is not finite is written as null, so every line stays JSON. */
#ifndef WM_RUN_METRICS_H
#define WM_RUN_METRICS_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "run/run_dir.h"

/* A line to fill with metrics_add and hand to metrics_write (NULL when out of memory; both accept it). */
cJSON *metrics_line(void);
void metrics_add(cJSON *line, const char *key, double value);
/* A word among the numbers (the precision a run chose); readers of numbers pass over it. */
void metrics_add_word(cJSON *line, const char *key, const char *word);
/* A time or a rate kept to `digits` decimals, so the file stays readable. */
double round_to(double value, int digits);
/* Writes the line, a newline, flushes, and frees the line. */
void metrics_write(FILE *out, cJSON *line);

/* Calls `visit` on every whole line of `path` in order, 1-based `number`; `object` is NULL where the line is not
 * JSON. A visit that returns an error stops the reading with it. */
typedef WmStatus (*WmMetricsVisit)(void *ctx, const cJSON *object, const char *text, int number, WmError *err);
WmStatus metrics_read(const char *path, WmMetricsVisit visit, void *ctx, WmError *err);

/* A resumed run forgets the metrics lines written after its checkpoint's step, so the file reads as one run. */
WmStatus run_trim_metrics(const WmRunPaths *paths, long step, WmError *err);
WmStatus run_open_metrics(const WmRunPaths *paths, FILE **metrics, WmError *err);
/* One metrics line of a training step; `held_out` may be NULL. */
void run_write_step_metrics(FILE *metrics, const WmTrainer *trainer, const WmLosses *losses, double wall_seconds,
                            double frames_per_second, const WmHeldOut *held_out);

#endif
