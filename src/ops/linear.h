/* Fully connected layer on oneDNN's sgemm (row-major): y (B, O) = x (B, I) weight^T + bias, weight (O, I).
 * sgemm beat the inner-product primitive at the small batches the RSSM runs (STYLE.md), and its beta = 1 gives
 * accumulating gradients for free. */
#ifndef WM_OPS_LINEAR_H
#define WM_OPS_LINEAR_H

#include "core/error.h"

/* bias may be NULL. y is overwritten. */
WmStatus linear_forward(float *y, const float *x, const float *weight, const float *bias, int batch, int in,
                        int out, WmError *err);
/* Accumulates dx += dy weight, dweight += dy^T x, dbias += sum_b dy; any of the three may be NULL. */
WmStatus linear_backward(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                         const float *weight, int batch, int in, int out, WmError *err);

#endif
