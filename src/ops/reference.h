/* Plain-C twins of the optimised ops: the slowest, most obvious loops, accumulated in double. Tests hold the
 * oneDNN and sgemm paths to them; nothing on a hot path calls them. Gradient outputs accumulate, like the ops. */
#ifndef WM_OPS_REFERENCE_H
#define WM_OPS_REFERENCE_H

#include "ops/conv.h"
#include "ops/gru.h"
#include "ops/norm.h"

void linear_reference_forward(float *y, const float *x, const float *weight, const float *bias, int batch, int in,
                              int out);
void linear_reference_backward(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                               const float *weight, int batch, int in, int out);

/* x rounded to bf16 (8 significant bits, nearest even), by frexp and rint rather than bit tricks. */
float bf16_reference_round(float x);
/* The bf16 product: x and weight rounded to bf16, products summed in double. */
void matmul_bf16_reference_forward(float *y, const float *x, const float *weight, const float *bias, int batch,
                                   int in, int out);

/* Forward when y is not NULL (overwritten); backward when dy is not NULL (dx may be NULL). */
void conv_reference(const WmConvShape *shape, float *y, const float *x, const float *weight, const float *bias,
                    float *dx, float *dweight, float *dbias, const float *dy);

void gru_reference_forward(float *h_next, const float *x, const float *h, const WmGruWeights *w, int batch, int in,
                           int hidden);

/* Channel LayerNorm pixel by pixel through the layout's index arithmetic: the fast path's twin, and its path for a
 * layout whose rows are not contiguous lanes. */
void channel_norm_reference_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma,
                                    const float *beta, const WmChannelLayout *layout);
void channel_norm_reference_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                                     const float *rstd, const float *gamma, const WmChannelLayout *layout);

#endif
