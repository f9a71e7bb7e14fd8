#include "ops/reference.h"

#include <math.h>
#include <stdlib.h>

void linear_reference_forward(float *y, const float *x, const float *weight, const float *bias, int batch, int in,
                              int out) {
    for (int b = 0; b < batch; b++)
        for (int o = 0; o < out; o++) {
            double sum = bias != NULL ? bias[o] : 0.0;
            for (int i = 0; i < in; i++) sum += (double)x[b * in + i] * weight[o * in + i];
            y[b * out + o] = (float)sum;
        }
}

float bf16_reference_round(float x) {
    if (!isfinite(x) || x == 0.0f) return x;
    int exponent;
    const double mantissa = frexp(x, &exponent); /* x = mantissa 2^exponent, 0.5 <= |mantissa| < 1 */
    return (float)ldexp(rint(ldexp(mantissa, 8)), exponent - 8);
}

void matmul_bf16_reference_forward(float *y, const float *x, const float *weight, const float *bias, int batch,
                                   int in, int out) {
    const size_t nx = (size_t)batch * in, nw = (size_t)out * in;
    float *x_rounded = malloc(nx * sizeof *x_rounded), *weight_rounded = malloc(nw * sizeof *weight_rounded);
    if (x_rounded == NULL || weight_rounded == NULL) abort(); /* a test twin: no way to report it */
    for (size_t i = 0; i < nx; i++) x_rounded[i] = bf16_reference_round(x[i]);
    for (size_t i = 0; i < nw; i++) weight_rounded[i] = bf16_reference_round(weight[i]);
    linear_reference_forward(y, x_rounded, weight_rounded, bias, batch, in, out);
    free(x_rounded);
    free(weight_rounded);
}

void linear_reference_backward(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                               const float *weight, int batch, int in, int out) {
    for (int i = 0; i < in; i++)
        for (int b = 0; b < batch; b++) {
            double sum = 0.0;
            for (int o = 0; o < out; o++) sum += (double)dy[b * out + o] * weight[o * in + i];
            dx[b * in + i] += (float)sum;
        }
    for (int o = 0; o < out; o++) {
        double bias_sum = 0.0;
        for (int b = 0; b < batch; b++) bias_sum += dy[b * out + o];
        dbias[o] += (float)bias_sum;
        for (int i = 0; i < in; i++) {
            double sum = 0.0;
            for (int b = 0; b < batch; b++) sum += (double)dy[b * out + o] * x[b * in + i];
            dweight[o * in + i] += (float)sum;
        }
    }
}

/* Every multiply of a (transposed) convolution joins a low-resolution position q and a high-resolution position
 * q * stride - padding + k. For a convolution the output is the low-resolution side; for a transposed one the
 * input is. One loop nest over those joins gives forward and all three gradients. */
void conv_reference(const WmConvShape *s, float *y, const float *x, const float *weight, const float *bias,
                    float *dx, float *dweight, float *dbias, const float *dy) {
    int oh, ow;
    conv_output_size(s, &oh, &ow);
    int low_h = s->transposed ? s->in_height : oh, low_w = s->transposed ? s->in_width : ow;
    int high_h = s->transposed ? oh : s->in_height, high_w = s->transposed ? ow : s->in_width;
    size_t x_count = (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
    size_t y_count = (size_t)s->batch * s->out_channels * oh * ow;
    size_t w_count = (size_t)s->out_channels * s->in_channels * s->kernel * s->kernel;
    double *y_sum = calloc(y_count, sizeof *y_sum), *dx_sum = calloc(x_count, sizeof *dx_sum);
    double *dw_sum = calloc(w_count, sizeof *dw_sum);

    for (int n = 0; n < s->batch; n++)
        for (int o = 0; o < s->out_channels; o++)
            for (int i = 0; i < s->in_channels; i++)
                for (int ky = 0; ky < s->kernel; ky++)
                    for (int kx = 0; kx < s->kernel; kx++)
                        for (int qy = 0; qy < low_h; qy++)
                            for (int qx = 0; qx < low_w; qx++) {
                                int hy = qy * s->stride - s->padding + ky, hx = qx * s->stride - s->padding + kx;
                                if (hy < 0 || hy >= high_h || hx < 0 || hx >= high_w) continue;
                                int xy = s->transposed ? qy : hy, xx = s->transposed ? qx : hx;
                                int yy = s->transposed ? hy : qy, yx = s->transposed ? hx : qx;
                                size_t xi = (((size_t)n * s->in_channels + i) * s->in_height + xy) * s->in_width + xx;
                                size_t yi = (((size_t)n * s->out_channels + o) * oh + yy) * ow + yx;
                                size_t wi = (((size_t)o * s->in_channels + i) * s->kernel + ky) * s->kernel + kx;
                                if (y != NULL) y_sum[yi] += (double)x[xi] * weight[wi];
                                if (dy != NULL) {
                                    dx_sum[xi] += (double)dy[yi] * weight[wi];
                                    dw_sum[wi] += (double)dy[yi] * x[xi];
                                }
                            }
    int plane = oh * ow;
    for (size_t yi = 0; y != NULL && yi < y_count; yi++)
        y[yi] = (float)(y_sum[yi] + bias[(yi / plane) % s->out_channels]);
    if (dy != NULL) {
        for (size_t xi = 0; dx != NULL && xi < x_count; xi++) dx[xi] += (float)dx_sum[xi];
        for (size_t wi = 0; wi < w_count; wi++) dweight[wi] += (float)dw_sum[wi];
        for (int o = 0; o < s->out_channels; o++) {
            double sum = 0.0;
            for (int n = 0; n < s->batch; n++)
                for (int p = 0; p < plane; p++) sum += dy[((size_t)n * s->out_channels + o) * plane + p];
            dbias[o] += (float)sum;
        }
    }
    free(y_sum);
    free(dx_sum);
    free(dw_sum);
}

static double sigmoid(double v) { return 1.0 / (1.0 + exp(-v)); }

void gru_reference_forward(float *h_next, const float *x, const float *h, const WmGruWeights *w, int batch, int in,
                           int hidden) {
    for (int b = 0; b < batch; b++)
        for (int j = 0; j < hidden; j++) {
            double gx[3], gh[3];
            for (int gate = 0; gate < 3; gate++) {
                int row = gate * hidden + j;
                gx[gate] = w->bias_ih[row];
                gh[gate] = w->bias_hh[row];
                for (int i = 0; i < in; i++) gx[gate] += (double)w->weight_ih[row * in + i] * x[b * in + i];
                for (int i = 0; i < hidden; i++)
                    gh[gate] += (double)w->weight_hh[row * hidden + i] * h[b * hidden + i];
            }
            double r = sigmoid(gx[0] + gh[0]), u = sigmoid(gx[1] + gh[1]);
            double n = tanh(gx[2] + r * gh[2]);
            h_next[b * hidden + j] = (float)((1.0 - u) * n + u * h[b * hidden + j]);
        }
}

/* Where channel c of pixel p (h W + w) of image n is. */
static size_t channel_at(const WmChannelLayout *l, int n, int c, int p) {
    const int h = p / l->width, w = p % l->width;
    return (size_t)(n * l->stride_image + (c / l->block) * l->stride_channel + h * l->stride_height +
                    w * l->stride_width + c % l->block);
}

void channel_norm_reference_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma, const float *beta,
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

void channel_norm_reference_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
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
