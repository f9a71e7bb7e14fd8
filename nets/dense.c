#include "nets/dense.h"

#include <stdio.h>

#include "ops/linear.h"

WmStatus dense_declare(WmDense *dense, WmParams *params, const char *name, int in, int out,
                       WmActivation activation, WmError *err) {
    char path[WM_PARAM_NAME_MAX];
    const int weight_shape[2] = {out, in}, bias_shape[1] = {out};
    snprintf(path, sizeof path, "%s.weight", name);
    dense->weight = params_declare(params, path, 2, weight_shape, err);
    snprintf(path, sizeof path, "%s.bias", name);
    dense->bias = params_declare(params, path, 1, bias_shape, err);
    dense->in = in, dense->out = out, dense->activation = activation;
    return err->status;
}

WmStatus dense_forward(const WmDense *dense, const WmParams *params, float *y, const float *x, int batch,
                       WmError *err) {
    if (linear_forward(y, x, params_value(params, dense->weight), params_value(params, dense->bias), batch,
                       dense->in, dense->out, err))
        return err->status;
    act_forward(dense->activation, y, y, (size_t)batch * dense->out);
    return WM_OK;
}

WmStatus dense_backward(const WmDense *dense, WmParams *params, float *dx, float *dy, const float *x,
                        const float *y, int batch, WmError *err) {
    if (act_backward_from_output(dense->activation, dy, y, (size_t)batch * dense->out, err)) return err->status;
    return linear_backward(dx, params_grad(params, dense->weight), params_grad(params, dense->bias), dy, x,
                           params_value(params, dense->weight), batch, dense->in, dense->out, err);
}
