/* A dense layer as parameter indices: y (B, O) = act(norm(x (B, I) W^T + b)), norm DreamerV3's LayerNorm over the
 * O outputs (or none). Without a norm and with an activation whose slope its output tells (relu, elu, tanh,
 * sigmoid), only the output is kept for backward. Otherwise backward reads a cache the forward filled,
 * dense_cache_floats of it: the normalised values and each row's 1/std, and the activation's input when its slope
 * needs it (silu). Backward turns dy into the pre-activation gradient in place, so the caller's dy is consumed. */
#ifndef WM_NETS_DENSE_H
#define WM_NETS_DENSE_H

#include "config/config.h"
#include "core/params.h"
#include "ops/act.h"

typedef struct {
    int weight, bias; /* indices into the model's WmParams */
    int in, out;
    WmActivation activation;
    int norm;                    /* a LayerNorm between the product and the activation */
    int norm_scale, norm_offset; /* its gamma (starts at 1: a tensor named *.scale) and beta */
} WmDense;

/* How a hidden layer is made: its activation, and whether it is normalised. */
typedef struct {
    WmActivation activation;
    int norm;
} WmLayerStyle;

/* The config's words as a style. */
WmLayerStyle dense_style(WmActivationChoice activation, WmNormChoice norm);

WmStatus dense_declare(WmDense *dense, WmParams *params, const char *name, int in, int out,
                       WmActivation activation, WmError *err);
/* A hidden layer in `style`: with a norm, also `name.norm.scale` and `name.norm.offset`. */
WmStatus dense_declare_styled(WmDense *dense, WmParams *params, const char *name, int in, int out,
                              WmLayerStyle style, WmError *err);
/* Floats of the cache backward needs for `batch` rows (0 for a plain layer). */
size_t dense_cache_floats(const WmDense *dense, int batch);
/* Forward only: nothing kept beyond y. */
WmStatus dense_forward(const WmDense *dense, const WmParams *params, float *y, const float *x, int batch,
                       WmError *err);
/* Forward for backward: fills cache (dense_cache_floats; NULL when that is 0). */
WmStatus dense_forward_cached(const WmDense *dense, const WmParams *params, float *y, float *cache, const float *x,
                              int batch, WmError *err);
/* The norm and the activation on y, which holds x W^T + b (a caller computing the product itself: bf16
 * planning); cache as above, or NULL for forward only. */
void dense_finish(const WmDense *dense, const WmParams *params, float *y, float *cache, int batch);
/* dy (B, O) is turned in place into the product's gradient; dx (may be NULL) += ..., parameter grads += ....
 * cache: the forward's (NULL for a plain layer). */
WmStatus dense_backward(const WmDense *dense, WmParams *params, float *dx, float *dy, const float *x,
                        const float *y, const float *cache, int batch, WmError *err);

#endif
