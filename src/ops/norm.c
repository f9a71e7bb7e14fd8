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

WmChannelLayout channel_layout_plain(int images, int channels, int height, int width) {
    const long plane = (long)height * width;
    return (WmChannelLayout){images, channels, height, width, 1, channels * plane, plane, width, 1};
}

/* Where channel c of pixel p (h W + w) of image n is. */
static size_t channel_at(const WmChannelLayout *l, int n, int c, int p) {
    const int h = p / l->width, w = p % l->width;
    return (size_t)(n * l->stride_image + (c / l->block) * l->stride_channel + h * l->stride_height +
                    w * l->stride_width + c % l->block);
}

void channel_norm_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma, const float *beta,
                          const WmChannelLayout *l) {
    const int C = l->channels, pixels = l->height * l->width;
#pragma omp parallel for schedule(static) if ((size_t)l->images * C * pixels > 65536)
    for (int n = 0; n < l->images; n++)
        for (int p = 0; p < pixels; p++) {
            double sum = 0.0, squares = 0.0;
            for (int c = 0; c < C; c++) sum += x[channel_at(l, n, c, p)];
            const float mean = (float)(sum / C);
            for (int c = 0; c < C; c++) {
                const float d = x[channel_at(l, n, c, p)] - mean;
                squares += (double)d * d;
            }
            const float inv = 1.0f / sqrtf((float)(squares / C) + WM_NORM_EPS);
            if (rstd) rstd[(size_t)n * pixels + p] = inv;
            for (int c = 0; c < C; c++) {
                const size_t i = channel_at(l, n, c, p);
                const float hat = (x[i] - mean) * inv;
                if (xhat) xhat[i] = hat;
                y[i] = gamma[c] * hat + beta[c];
            }
        }
}

void channel_norm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                           const float *rstd, const float *gamma, const WmChannelLayout *l) {
    const int C = l->channels, pixels = l->height * l->width;
    for (int n = 0; n < l->images && (dgamma || dbeta); n++) /* in order: the same sums on any thread count */
        for (int p = 0; p < pixels; p++)
            for (int c = 0; c < C; c++) {
                const size_t i = channel_at(l, n, c, p);
                if (dgamma) dgamma[c] += dy[i] * xhat[i];
                if (dbeta) dbeta[c] += dy[i];
            }
#pragma omp parallel for schedule(static) if ((size_t)l->images * C * pixels > 65536)
    for (int n = 0; n < l->images; n++)
        for (int p = 0; p < pixels; p++) {
            double mean_dhat = 0.0, mean_dhat_hat = 0.0;
            for (int c = 0; c < C; c++) {
                const size_t i = channel_at(l, n, c, p);
                mean_dhat += dy[i] * gamma[c], mean_dhat_hat += dy[i] * gamma[c] * xhat[i];
            }
            const float m1 = (float)(mean_dhat / C), m2 = (float)(mean_dhat_hat / C),
                        inv = rstd[(size_t)n * pixels + p];
            for (int c = 0; c < C; c++) {
                const size_t i = channel_at(l, n, c, p);
                dx[i] = inv * (dy[i] * gamma[c] - m1 - xhat[i] * m2);
            }
        }
}
