/* A dense layer as a pair of parameter indices: y (B, O) = act(x (B, I) W^T + b). Only the output is kept for
 * backward (relu and elu read their slope from it), and backward turns dy into the pre-activation gradient in
 * place, so the caller's dy buffer is consumed. */
#ifndef WM_NETS_DENSE_H
#define WM_NETS_DENSE_H

#include "core/params.h"
#include "ops/act.h"

typedef struct {
    int weight, bias; /* indices into the model's WmParams */
    int in, out;
    WmActivation activation;
} WmDense;

WmStatus dense_declare(WmDense *dense, WmParams *params, const char *name, int in, int out,
                       WmActivation activation, WmError *err);
WmStatus dense_forward(const WmDense *dense, const WmParams *params, float *y, const float *x, int batch,
                       WmError *err);
/* dy (B, O) is scaled in place by the activation's slope; dx (may be NULL) += ..., parameter grads += .... */
WmStatus dense_backward(const WmDense *dense, WmParams *params, float *dx, float *dy, const float *x,
                        const float *y, int batch, WmError *err);

#endif
