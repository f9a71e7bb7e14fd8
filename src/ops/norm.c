#include "ops/norm.h"

#include <math.h>

void layer_norm_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma, const float *beta,
                        size_t rows, int width) {
#pragma omp parallel for schedule(static) if (rows * width > 65536)
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * width;
        float *out = y + r * width;
        double sum = 0.0, squares = 0.0;
        for (int i = 0; i < width; i++) sum += in[i];
        const float mean = (float)(sum / width);
        for (int i = 0; i < width; i++) squares += (double)(in[i] - mean) * (in[i] - mean);
        const float inv = 1.0f / sqrtf((float)(squares / width) + WM_NORM_EPS);
        if (rstd) rstd[r] = inv;
        for (int i = 0; i < width; i++) {
            const float hat = (in[i] - mean) * inv;
            if (xhat) xhat[r * width + i] = hat;
            out[i] = gamma[i] * hat + beta[i];
        }
    }
}

void layer_norm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                         const float *rstd, const float *gamma, size_t rows, int width) {
    /* The parameters' gradients sum over rows: one thread, in row order, so they are the same on any count. */
    for (size_t r = 0; r < rows && (dgamma || dbeta); r++)
        for (int i = 0; i < width; i++) {
            const float g = dy[r * width + i];
            if (dgamma) dgamma[i] += g * xhat[r * width + i];
            if (dbeta) dbeta[i] += g;
        }
#pragma omp parallel for schedule(static) if (rows * width > 65536)
    for (size_t r = 0; r < rows; r++) {
        const float *g = dy + r * width, *hat = xhat + r * width;
        double mean_dhat = 0.0, mean_dhat_hat = 0.0;
        for (int i = 0; i < width; i++) mean_dhat += g[i] * gamma[i], mean_dhat_hat += g[i] * gamma[i] * hat[i];
        const float m1 = (float)(mean_dhat / width), m2 = (float)(mean_dhat_hat / width);
        /* Each element reads only its own dy after the means: dx may be dy. */
        for (int i = 0; i < width; i++) dx[r * width + i] = rstd[r] * (g[i] * gamma[i] - m1 - hat[i] * m2);
    }
}
