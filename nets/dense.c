#include "nets/dense.h"

#include <stdio.h>

#include "ops/linear.h"
#include "ops/norm.h"

WmLayerStyle dense_style(WmActivationChoice activation, WmNormChoice norm) {
    const WmActivation act = activation == WM_ACTIVATION_SILU ? WM_ACT_SILU
                             : activation == WM_ACTIVATION_ELU ? WM_ACT_ELU
                                                               : WM_ACT_RELU;
    return (WmLayerStyle){act, norm == WM_NORM_LAYER};
}

WmStatus dense_declare(WmDense *dense, WmParams *params, const char *name, int in, int out,
                       WmActivation activation, WmError *err) {
    return dense_declare_styled(dense, params, name, in, out, (WmLayerStyle){activation, 0}, err);
}

WmStatus dense_declare_styled(WmDense *dense, WmParams *params, const char *name, int in, int out,
                              WmLayerStyle style, WmError *err) {
    char path[WM_PARAM_NAME_MAX];
    const int weight_shape[2] = {out, in}, bias_shape[1] = {out};
    snprintf(path, sizeof path, "%s.weight", name);
    dense->weight = params_declare(params, path, 2, weight_shape, err);
    snprintf(path, sizeof path, "%s.bias", name);
    dense->bias = params_declare(params, path, 1, bias_shape, err);
    dense->in = in, dense->out = out, dense->activation = style.activation, dense->norm = style.norm;
    dense->norm_scale = dense->norm_offset = -1;
    if (style.norm) {
        snprintf(path, sizeof path, "%s.norm.scale", name);
        dense->norm_scale = params_declare(params, path, 1, bias_shape, err);
        snprintf(path, sizeof path, "%s.norm.offset", name);
        dense->norm_offset = params_declare(params, path, 1, bias_shape, err);
    }
    return err->status;
}

/* The cache: [xhat (B, O), rstd (B)] with a norm, then [the activation's input (B, O)] when its slope needs it. */
size_t dense_cache_floats(const WmDense *dense, int batch) {
    const size_t values = (size_t)batch * dense->out;
    return (dense->norm ? values + (size_t)batch : 0) + (act_needs_input(dense->activation) ? values : 0);
}

void dense_finish(const WmDense *dense, const WmParams *params, float *y, float *cache, int batch) {
    const size_t values = (size_t)batch * dense->out;
    if (dense->norm)
        layer_norm_forward(y, cache, cache ? cache + values : NULL, y, params_value(params, dense->norm_scale),
                           params_value(params, dense->norm_offset), (size_t)batch, dense->out);
    if (cache && act_needs_input(dense->activation)) {
        float *input = cache + (dense->norm ? values + (size_t)batch : 0);
        for (size_t i = 0; i < values; i++) input[i] = y[i];
    }
    act_forward(dense->activation, y, y, values);
}

WmStatus dense_forward_cached(const WmDense *dense, const WmParams *params, float *y, float *cache, const float *x,
                              int batch, WmError *err) {
    if (linear_forward(y, x, params_value(params, dense->weight), params_value(params, dense->bias), batch,
                       dense->in, dense->out, err))
        return err->status;
    dense_finish(dense, params, y, cache, batch);
    return WM_OK;
}

WmStatus dense_forward(const WmDense *dense, const WmParams *params, float *y, const float *x, int batch,
                       WmError *err) {
    return dense_forward_cached(dense, params, y, NULL, x, batch, err);
}

WmStatus dense_backward(const WmDense *dense, WmParams *params, float *dx, float *dy, const float *x,
                        const float *y, const float *cache, int batch, WmError *err) {
    const size_t values = (size_t)batch * dense->out;
    if (act_needs_input(dense->activation)) {
        if (cache == NULL) return wm_error_set(err, WM_ERR_ARG, "dense backward: no cache for its activation's input");
        act_backward_from_input(dense->activation, dy, cache + (dense->norm ? values + (size_t)batch : 0), values);
    } else if (act_backward_from_output(dense->activation, dy, y, values, err)) {
        return err->status;
    }
    if (dense->norm) {
        if (cache == NULL) return wm_error_set(err, WM_ERR_ARG, "dense backward: no cache for its norm");
        layer_norm_backward(dy, params_grad(params, dense->norm_scale), params_grad(params, dense->norm_offset), dy,
                            cache, cache + values, params_value(params, dense->norm_scale), (size_t)batch, dense->out);
    }
    return linear_backward(dx, params_grad(params, dense->weight), params_grad(params, dense->bias), dy, x,
                           params_value(params, dense->weight), batch, dense->in, dense->out, err);
}
