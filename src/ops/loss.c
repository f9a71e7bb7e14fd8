#include "ops/loss.h"

#include <math.h>

#include "core/reduce.h"

static const double HALF_LOG_TWO_PI = 0.91893853320467274178;

double gauss_ll_fixed_forward(const float *mean, const float *target, size_t n, float std) {
    double inv_var = 1.0 / ((double)std * std);
    return -0.5 * inv_var * reduce_sum_squared_diff(target, mean, n) - (double)n * (log((double)std) + HALF_LOG_TWO_PI);
}

void gauss_ll_fixed_backward(float *dmean, const float *mean, const float *target, size_t n, float std,
                             float dloss) {
    float scale = dloss / (std * std);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) dmean[i] += scale * (target[i] - mean[i]);
}

void gauss_ll_fixed_gradient_in_place(float *mean, const float *target, size_t n, float std, float dloss) {
    float scale = dloss / (std * std);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) mean[i] = 0.0f + scale * (target[i] - mean[i]);
}

/* KL per dimension: log(sp / sq) + (sq^2 + (mq - mp)^2) / (2 sp^2) - 1/2. */
void kl_diag_gauss_forward(float *kl, const float *mean_q, const float *std_q, const float *mean_p,
                           const float *std_p, int batch, int dim) {
    for (int b = 0; b < batch; b++) {
        double sum = 0.0;
        for (int d = 0; d < dim; d++) {
            size_t i = (size_t)b * dim + d;
            double sq = std_q[i], sp = std_p[i], diff = (double)mean_q[i] - mean_p[i];
            sum += log(sp / sq) + (sq * sq + diff * diff) / (2.0 * sp * sp) - 0.5;
        }
        kl[b] = (float)sum;
    }
}

void kl_diag_gauss_backward(float *dmean_q, float *dstd_q, float *dmean_p, float *dstd_p, const float *dkl,
                            const float *mean_q, const float *std_q, const float *mean_p, const float *std_p,
                            int batch, int dim) {
    for (int b = 0; b < batch; b++) {
        for (int d = 0; d < dim; d++) {
            size_t i = (size_t)b * dim + d;
            float sq = std_q[i], sp = std_p[i], diff = mean_q[i] - mean_p[i], inv_var_p = 1.0f / (sp * sp);
            float g = dkl[b];
            if (dmean_q != NULL) dmean_q[i] += g * diff * inv_var_p;
            if (dmean_p != NULL) dmean_p[i] -= g * diff * inv_var_p;
            if (dstd_q != NULL) dstd_q[i] += g * (sq * inv_var_p - 1.0f / sq);
            if (dstd_p != NULL) dstd_p[i] += g * (1.0f / sp - (sq * sq + diff * diff) * inv_var_p / sp);
        }
    }
}

void free_nats_forward(float *y, const float *x, size_t n, float free_nats) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > free_nats ? x[i] : free_nats;
}

void free_nats_backward(float *dx, const float *dy, const float *x, size_t n, float free_nats) {
    for (size_t i = 0; i < n; i++)
        if (x[i] > free_nats) dx[i] += dy[i];
}

