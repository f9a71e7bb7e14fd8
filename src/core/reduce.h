/* Deterministic sums. A long sum is split into a fixed number of chunks that depends on n only, each chunk is
 * summed in double in order, and the chunk sums are added in order: the result is the same bit for bit whatever
 * the thread count, unlike an OpenMP reduction whose combining order is unspecified. */
#ifndef WM_CORE_REDUCE_H
#define WM_CORE_REDUCE_H

#include <stddef.h>

#define WM_REDUCE_CHUNKS 256

static inline void reduce_chunk(size_t n, int chunk, size_t *begin, size_t *end) {
    size_t per = (n + WM_REDUCE_CHUNKS - 1) / WM_REDUCE_CHUNKS;
    size_t lo = (size_t)chunk * per, hi = lo + per;
    *begin = lo < n ? lo : n;
    *end = hi < n ? hi : n;
}

static inline double reduce_finish(const double partial[WM_REDUCE_CHUNKS]) {
    double total = 0.0;
    for (int c = 0; c < WM_REDUCE_CHUNKS; c++) total += partial[c];
    return total;
}

/* sum_i x_i^2 over n floats. */
double reduce_sum_squares(const float *x, size_t n);
/* sum_i (a_i - b_i)^2 over n floats. */
double reduce_sum_squared_diff(const float *a, const float *b, size_t n);

/* Sorts n floats ascending in place (NaN last). */
void reduce_sort(float *x, size_t n);
/* The q-quantile (0 <= q <= 1) of n >= 1 sorted floats, interpolated linearly between the neighbours at
 * q (n - 1), as numpy's and torch's default quantile does. */
double reduce_quantile_sorted(const float *sorted, size_t n, double q);

#endif
