#include "core/reduce.h"

double reduce_sum_squares(const float *x, size_t n) {
    double partial[WM_REDUCE_CHUNKS];
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int c = 0; c < WM_REDUCE_CHUNKS; c++) {
        size_t begin, end;
        reduce_chunk(n, c, &begin, &end);
        double sum = 0.0;
        for (size_t i = begin; i < end; i++) sum += (double)x[i] * x[i];
        partial[c] = sum;
    }
    return reduce_finish(partial);
}
