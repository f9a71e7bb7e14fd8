/* A GRU cell with PyTorch's equations and layout (so weights compare one to one with torch.nn.GRUCell):
 *   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   u = sigmoid(W_iu x + b_iu + W_hu h + b_hu)          (PyTorch calls it z; here z is the stochastic state)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - u) * n + u * h
 * with U the cell's units (the world model's D): weight_ih (3U, I) and weight_hh (3U, U) stack the r, u, n blocks
 * in that order; biases (3U).
 * With a norm (norm_scale and norm_offset, 3U each), the cell is DreamerV3's normalised GRU instead: the two
 * projections are summed and layer-normalised over all 3U, g = LN(W_i x + b_i + W_h h + b_h), then
 *   r = sigmoid(g_r),  u = sigmoid(g_u - 1),  c = tanh(r * g_c),  h' = u * c + (1 - u) * h. */
#ifndef WM_OPS_GRU_H
#define WM_OPS_GRU_H

#include <stddef.h>

#include "core/arena.h"
#include "core/error.h"

typedef struct {
    const float *weight_ih, *weight_hh, *bias_ih, *bias_hh;
    const float *norm_scale, *norm_offset; /* NULL: PyTorch's cell */
} WmGruWeights;

typedef struct {
    float *weight_ih, *weight_hh, *bias_ih, *bias_hh, *norm_scale, *norm_offset;
} WmGruGrads;

/* What one step keeps for backward: (B, 3 units) each of the input and hidden projections (with a norm: the
 * normalised sum, and nothing) and the gates r, u, n (or c), then (B) of 1/std. */
size_t gru_cache_floats(int batch, int units);

/* The cache's parts, for a caller that computes the projections itself (bf16 planning). */
typedef struct {
    float *proj_x, *proj_h, *gates; /* (B, 3 units) each */
    float *rstd;                    /* (B) */
} WmGruCacheParts;

WmGruCacheParts gru_cache_parts(float *cache, int batch, int units);

/* h_next (B, U) from x (B, I) and h (B, U); fills cache (gru_cache_floats). */
WmStatus gru_forward(float *h_next, float *cache, const float *x, const float *h, const WmGruWeights *w,
                     int batch, int in, int hidden, WmError *err);
/* The gates alone, for a caller that computed the two projections itself (B, 3U each, biases included, in the
 * cache's parts): gates and h_next (B, U); with w's norm, proj_x becomes the normalised sum and rstd is filled. */
void gru_gates_forward(float *h_next, const WmGruCacheParts *cache, const float *h, const WmGruWeights *w, int batch,
                       int hidden);
/* Accumulates dx, dh (either may be NULL) and the weight gradients from dh_next. Scratch comes from `scratch`
 * and is handed back before returning. */
WmStatus gru_backward(float *dx, float *dh, const WmGruGrads *grads, const float *dh_next, const float *cache,
                      const float *x, const float *h, const WmGruWeights *w, int batch, int in, int hidden,
                      WmArena *scratch, WmError *err);

#endif
