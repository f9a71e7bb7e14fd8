#include "ops/norm.h"

#include <math.h>

#include "ops/reference.h"

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

/* The fast path reads one image row at a time: for a channel block, the row's W pixels x block lanes are W x block
 * contiguous floats (plain NCHW: block 1, W floats), so every pass is a flat loop over "lanes" that vectorises. Sums
 * over the channels go into one double per lane first and are folded over the block after. */
#define WM_NORM_ROW_LANES 1024

static int channel_layout_is_rowwise(const WmChannelLayout *l) {
    return l->stride_width == l->block && l->channels % l->block == 0 && (long)l->width * l->block <= WM_NORM_ROW_LANES;
}

/* Per pixel of a row: the mean of a(i) over channels, with a's lanes summed per block then over the block. */
static void row_pixel_means(float *mean, const double *lane_sum, int width, int block, int channels) {
    for (int w = 0; w < width; w++) {
        double s = 0.0;
        for (int k = 0; k < block; k++) s += lane_sum[w * block + k];
        mean[w] = (float)(s / channels);
    }
}

/* lane[i] = v[i / block]: a per-pixel value spread over its lanes. */
static void row_spread(float *lane, const float *v, int width, int block) {
    for (int w = 0; w < width; w++)
        for (int k = 0; k < block; k++) lane[w * block + k] = v[w];
}

/* lane[i] = v[c0 + i % block]: a per-channel value of one block along the row. */
static void row_channel_lanes(float *lane, const float *v, int width, int block) {
    for (int w = 0; w < width; w++)
        for (int k = 0; k < block; k++) lane[w * block + k] = v[k];
}

static void channel_norm_row_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma,
                                     const float *beta, const WmChannelLayout *l, int n, int h) {
    const int W = l->width, block = l->block, blocks = l->channels / block, lanes = W * block;
    double acc[WM_NORM_ROW_LANES];
    float mean[WM_NORM_ROW_LANES], inv[WM_NORM_ROW_LANES], mean_lane[WM_NORM_ROW_LANES],
        inv_lane[WM_NORM_ROW_LANES], g_lane[WM_NORM_ROW_LANES], b_lane[WM_NORM_ROW_LANES];
    const size_t row = (size_t)n * l->stride_image + (size_t)h * l->stride_height;
    for (int i = 0; i < lanes; i++) acc[i] = 0.0;
    for (int cb = 0; cb < blocks; cb++) {
        const float *in = x + row + (size_t)cb * l->stride_channel;
        for (int i = 0; i < lanes; i++) acc[i] += in[i];
    }
    row_pixel_means(mean, acc, W, block, l->channels);
    row_spread(mean_lane, mean, W, block);
    for (int i = 0; i < lanes; i++) acc[i] = 0.0;
    for (int cb = 0; cb < blocks; cb++) {
        const float *in = x + row + (size_t)cb * l->stride_channel;
        for (int i = 0; i < lanes; i++) {
            const float d = in[i] - mean_lane[i];
            acc[i] += (double)d * d;
        }
    }
    row_pixel_means(inv, acc, W, block, l->channels); /* the variance, then its inverse root */
    for (int w = 0; w < W; w++) {
        inv[w] = 1.0f / sqrtf(inv[w] + WM_NORM_EPS);
        if (rstd) rstd[((size_t)n * l->height + h) * W + w] = inv[w];
    }
    row_spread(inv_lane, inv, W, block);
    for (int cb = 0; cb < blocks; cb++) {
        const size_t at = row + (size_t)cb * l->stride_channel;
        const float *in = x + at;
        float *out = y + at, *hat_out = xhat ? xhat + at : NULL;
        row_channel_lanes(g_lane, gamma + cb * block, W, block);
        row_channel_lanes(b_lane, beta + cb * block, W, block);
        for (int i = 0; i < lanes; i++) {
            const float hat = (in[i] - mean_lane[i]) * inv_lane[i];
            if (hat_out) hat_out[i] = hat;
            out[i] = g_lane[i] * hat + b_lane[i];
        }
    }
}

void channel_norm_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma, const float *beta,
                          const WmChannelLayout *l) {
    if (!channel_layout_is_rowwise(l)) {
        channel_norm_reference_forward(y, xhat, rstd, x, gamma, beta, l);
        return;
    }
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)l->images * l->channels * l->height * l->width > 65536)
    for (int n = 0; n < l->images; n++)
        for (int h = 0; h < l->height; h++) channel_norm_row_forward(y, xhat, rstd, x, gamma, beta, l, n, h);
}

static void channel_norm_row_backward(float *dx, const float *dy, const float *xhat, const float *rstd,
                                      const float *gamma, const WmChannelLayout *l, int n, int h) {
    const int W = l->width, block = l->block, blocks = l->channels / block, lanes = W * block;
    double acc1[WM_NORM_ROW_LANES], acc2[WM_NORM_ROW_LANES];
    float m1[WM_NORM_ROW_LANES], m2[WM_NORM_ROW_LANES], m1_lane[WM_NORM_ROW_LANES], m2_lane[WM_NORM_ROW_LANES],
        inv_lane[WM_NORM_ROW_LANES], g_lane[WM_NORM_ROW_LANES];
    const size_t row = (size_t)n * l->stride_image + (size_t)h * l->stride_height;
    for (int i = 0; i < lanes; i++) acc1[i] = acc2[i] = 0.0;
    for (int cb = 0; cb < blocks; cb++) {
        const size_t at = row + (size_t)cb * l->stride_channel;
        row_channel_lanes(g_lane, gamma + cb * block, W, block);
        for (int i = 0; i < lanes; i++) {
            const float dg = dy[at + i] * g_lane[i];
            acc1[i] += dg, acc2[i] += dg * xhat[at + i];
        }
    }
    row_pixel_means(m1, acc1, W, block, l->channels);
    row_pixel_means(m2, acc2, W, block, l->channels);
    row_spread(m1_lane, m1, W, block);
    row_spread(m2_lane, m2, W, block);
    row_spread(inv_lane, rstd + ((size_t)n * l->height + h) * W, W, block);
    for (int cb = 0; cb < blocks; cb++) {
        const size_t at = row + (size_t)cb * l->stride_channel;
        row_channel_lanes(g_lane, gamma + cb * block, W, block);
        for (int i = 0; i < lanes; i++)
            dx[at + i] = inv_lane[i] * (dy[at + i] * g_lane[i] - m1_lane[i] - xhat[at + i] * m2_lane[i]);
    }
}

/* dgamma and dbeta: each channel block by one thread, summed over images and pixels in order, so the sums are the
 * same on any thread count (and the reference's, which sums each channel in the same order). */
static void channel_norm_parameter_grads(float *dgamma, float *dbeta, const float *dy, const float *xhat,
                                         const WmChannelLayout *l) {
    const int block = l->block, blocks = l->channels / block, lanes = l->width * block;
#pragma omp parallel for schedule(static) if ((size_t)l->images * l->channels * l->height * l->width > 65536)
    for (int cb = 0; cb < blocks; cb++) {
        float *dg = dgamma ? dgamma + cb * block : NULL, *db = dbeta ? dbeta + cb * block : NULL;
        for (int n = 0; n < l->images; n++)
            for (int h = 0; h < l->height; h++) {
                const size_t at = (size_t)n * l->stride_image + (size_t)cb * l->stride_channel +
                                  (size_t)h * l->stride_height;
                for (int i = 0; i < lanes; i += block)
                    for (int k = 0; k < block; k++) {
                        if (dg) dg[k] += dy[at + i + k] * xhat[at + i + k];
                        if (db) db[k] += dy[at + i + k];
                    }
            }
    }
}

void channel_norm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                           const float *rstd, const float *gamma, const WmChannelLayout *l) {
    if (!channel_layout_is_rowwise(l)) {
        channel_norm_reference_backward(dx, dgamma, dbeta, dy, xhat, rstd, gamma, l);
        return;
    }
    if (dgamma || dbeta) channel_norm_parameter_grads(dgamma, dbeta, dy, xhat, l);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)l->images * l->channels * l->height * l->width > 65536)
    for (int n = 0; n < l->images; n++)
        for (int h = 0; h < l->height; h++) channel_norm_row_backward(dx, dy, xhat, rstd, gamma, l, n, h);
}
