/* Choices made by timing the alternatives (which precision is faster here) are kept per machine, so a machine makes
 * the same choice run after run, and the timing is paid once: one "key<TAB>value" line each in
 * $XDG_CACHE_HOME/wm/measured_choices.tsv (~/.cache/wm/... without it). The key names the CPU model, the build, the
 * thread count and what was timed at which shapes. A cache that cannot be read or written costs a new measurement,
 * never an error. */
#ifndef WM_CORE_MEASURED_CHOICE_H
#define WM_CORE_MEASURED_CHOICE_H

#include <stddef.h>

#include "core/error.h"

/* "cpu model|build|threads T|what". */
void measured_choice_key(char *key, size_t size, const char *what);
/* 1 and the value when the cache holds the key, else 0. */
int measured_choice_get(const char *key, char *value, size_t size);
/* Adds or replaces the key's line (the file is rewritten under a temporary name and renamed). */
void measured_choice_put(const char *key, const char *value);

/* A precision chosen by timing both: bf16 is taken only when it ran faster. */
typedef struct {
    int bf16;
    double fp32_seconds, bf16_seconds; /* the fastest of the timed runs of each (bf16: 0 when it could not run) */
    int cached;                        /* read from the machine's cache, not timed now */
} WmMeasuredPrecision;

/* Runs `run(ctx, 0)` and `run(ctx, 1)` alternately `rounds` times, keeping each one's fastest. A bf16 run that
 * fails (no bf16 path on this CPU) leaves fp32 chosen; an fp32 failure is an error. */
typedef WmStatus (*WmPrecisionRun)(void *ctx, int bf16, WmError *err);
WmStatus measured_precision_time(WmPrecisionRun run, void *ctx, int rounds, WmMeasuredPrecision *out, WmError *err);
/* The cached choice for `what` (this CPU, build and thread count), else `run` timed and the choice cached. */
WmStatus measured_precision_choose(const char *what, WmPrecisionRun run, void *ctx, int rounds,
                                   WmMeasuredPrecision *out, WmError *err);
/* "bf16 (12.3 ms against 20.1 ms in fp32, measured)" or "..., cached". */
void measured_precision_describe(const WmMeasuredPrecision *m, char *out, size_t size);

#endif
