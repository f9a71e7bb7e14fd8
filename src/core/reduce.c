#include "core/reduce.h"

#include <math.h>
#include <stdlib.h>

/* b may be NULL: then the sum is of x^2. */
static double sum_squared_diff(const float *a, const float *b, size_t n) {
    double partial[WM_REDUCE_CHUNKS];
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int c = 0; c < WM_REDUCE_CHUNKS; c++) {
        size_t begin, end;
        reduce_chunk(n, c, &begin, &end);
        double sum = 0.0;
        for (size_t i = begin; i < end; i++) {
            double diff = (double)a[i] - (b != NULL ? b[i] : 0.0f);
            sum += diff * diff;
        }
        partial[c] = sum;
    }
    return reduce_finish(partial);
}

double reduce_sum_squares(const float *x, size_t n) { return sum_squared_diff(x, NULL, n); }

double reduce_sum_squared_diff(const float *a, const float *b, size_t n) { return sum_squared_diff(a, b, n); }

static int ascending(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

void reduce_sort(float *x, size_t n) { qsort(x, n, sizeof *x, ascending); }

double reduce_quantile_sorted(const float *sorted, size_t n, double q) {
    const double at = q * (double)(n - 1);
    const size_t below = (size_t)at;
    if (below + 1 >= n) return sorted[n - 1];
    return sorted[below] + (at - (double)below) * ((double)sorted[below + 1] - sorted[below]);
}
