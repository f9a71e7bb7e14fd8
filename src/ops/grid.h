/* A transposed convolution of a 1x1 input (the decoder's first layer: 1024 channels to 128 x 5 x 5) writes each
 * kernel tap to its own output pixel, so it is a dense layer onto a K x K grid:
 *   y[n, o, k] = bias[o] + sum_i x[n, i] weight[o, i, k]          k = ky K + kx
 * One sgemm against the weights permuted to (I, O K K) does it, where oneDNN's deconvolution ran at a fifth of the
 * sgemm rate on this shape. Weights are (O, I, K, K), the deconvolution's layout, so checkpoints do not care which
 * path ran. `scratch` holds I O K K floats (the permuted weights or their gradient). */
#ifndef WM_OPS_GRID_H
#define WM_OPS_GRID_H

#include "core/error.h"

typedef struct {
    int batch, in, out_channels, kernel;
} WmGridShape;

/* y (N, O, K, K) is overwritten. */
WmStatus grid_forward(const WmGridShape *shape, float *y, const float *x, const float *weight, const float *bias,
                      float *scratch, WmError *err);
/* dx (may be NULL) +=, dweight +=, dbias += from dy (N, O, K, K). */
WmStatus grid_backward(const WmGridShape *shape, float *dx, float *dweight, float *dbias, const float *dy,
                       const float *x, const float *weight, float *scratch, WmError *err);

#endif
