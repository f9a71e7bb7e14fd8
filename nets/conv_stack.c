#include "nets/conv_stack.h"

#include <stdio.h>
#include <string.h>

#include "ops/grid.h"

WmStatus conv_stack_declare(WmConvStack *stack, WmParams *params, const char *name, int transposed, int in_channels,
                            int in_height, int in_width, int layers, const int *channels, const int *kernels,
                            WmActivation activation, int last_linear, WmError *err) {
    memset(stack, 0, sizeof *stack);
    if (layers < 1 || layers > WM_STACK_MAX)
        return wm_error_set(err, WM_ERR_ARG, "%s: %d layers (1 to %d)", name, layers, WM_STACK_MAX);
    stack->layers = layers, stack->transposed = transposed, stack->activation = activation;
    stack->last_linear = last_linear;
    stack->in_channels = in_channels, stack->in_height = in_height, stack->in_width = in_width;
    int c = in_channels, h = in_height, w = in_width;
    for (int i = 0; i < layers; i++) {
        const int k = kernels[i], o = channels[i];
        stack->channels[i] = o, stack->kernels[i] = k;
        h = transposed ? (h - 1) * 2 + k : (h - k) / 2 + 1;
        w = transposed ? (w - 1) * 2 + k : (w - k) / 2 + 1;
        if (h < 1 || w < 1) return wm_error_set(err, WM_ERR_ARG, "%s: layer %d has no output", name, i + 1);
        stack->is_grid[i] = transposed && (i ? stack->heights[i - 1] : in_height) == 1 &&
                            (i ? stack->widths[i - 1] : in_width) == 1;
        stack->heights[i] = h, stack->widths[i] = w;
        char path[WM_PARAM_NAME_MAX];
        const int weight_shape[4] = {o, c, k, k}, bias_shape[1] = {o};
        snprintf(path, sizeof path, "%s.%s%d.weight", name, transposed ? "deconv" : "conv", i + 1);
        stack->weight[i] = params_declare(params, path, 4, weight_shape, err);
        snprintf(path, sizeof path, "%s.%s%d.bias", name, transposed ? "deconv" : "conv", i + 1);
        stack->bias[i] = params_declare(params, path, 1, bias_shape, err);
        c = o;
    }
    return err->status;
}

static WmConvShape layer_shape(const WmConvStack *stack, int i, int batch) {
    return (WmConvShape){
        .batch = batch,
        .in_channels = i ? stack->channels[i - 1] : stack->in_channels,
        .in_height = i ? stack->heights[i - 1] : stack->in_height,
        .in_width = i ? stack->widths[i - 1] : stack->in_width,
        .out_channels = stack->channels[i],
        .kernel = stack->kernels[i],
        .stride = 2,
        .padding = 0,
        .transposed = stack->transposed,
    };
}

WmStatus conv_stack_build(WmConvStack *stack, WmDnnl *dnnl, int batch, WmError *err) {
    stack->batch = batch;
    for (int i = 0; i < stack->layers; i++) {
        const WmConvShape shape = layer_shape(stack, i, batch);
        if (!stack->is_grid[i] && conv_init(&stack->convs[i], dnnl, &shape, err)) {
            for (int j = 0; j < i; j++)
                if (!stack->is_grid[j]) conv_free(&stack->convs[j]);
            return err->status;
        }
    }
    return WM_OK;
}

WmStatus conv_stack_build_copy(WmConvStack *copy, const WmConvStack *declared, WmDnnl *dnnl, int batch,
                               WmError *err) {
    *copy = *declared; /* the layer description and parameter indices are shared; no primitive is */
    copy->batch = 0;
    memset(copy->convs, 0, sizeof copy->convs);
    return conv_stack_build(copy, dnnl, batch, err);
}

void conv_stack_free(WmConvStack *stack) {
    if (stack->batch == 0) return;
    for (int i = 0; i < stack->layers; i++)
        if (!stack->is_grid[i]) conv_free(&stack->convs[i]);
    stack->batch = 0;
}

static WmGridShape grid_shape(const WmConvStack *stack, int i) {
    return (WmGridShape){stack->batch, i ? stack->channels[i - 1] : stack->in_channels, stack->channels[i],
                         stack->kernels[i]};
}

size_t conv_stack_scratch_floats(const WmConvStack *stack) {
    size_t most = 0;
    for (int i = 0; i < stack->layers; i++) {
        const WmGridShape g = grid_shape(stack, i);
        const size_t weights = (size_t)g.in * g.out_channels * g.kernel * g.kernel;
        if (stack->is_grid[i] && weights > most) most = weights;
    }
    return most;
}

double conv_stack_layer_flops(const WmConvStack *stack, int layer) {
    const WmConvShape shape = layer_shape(stack, layer, stack->batch);
    return conv_forward_flops(&shape);
}

/* One layer forward: the grid path or the oneDNN convolution. */
static WmStatus layer_forward(WmConvStack *stack, int i, const WmDnnl *dnnl, const WmParams *params, WmArena *arena,
                              float *y, const float *x, WmError *err) {
    const float *weight = params_value(params, stack->weight[i]), *bias = params_value(params, stack->bias[i]);
    if (!stack->is_grid[i]) return conv_forward(&stack->convs[i], dnnl, y, x, weight, bias, err);
    const WmGridShape g = grid_shape(stack, i);
    const size_t mark = arena_mark(arena);
    float *scratch = arena_floats(arena, conv_stack_scratch_floats(stack));
    if (scratch == NULL) return arena_check(arena, err);
    grid_forward(&g, y, x, weight, bias, scratch, err);
    arena_rewind(arena, mark);
    return err->status;
}

static WmStatus layer_backward(WmConvStack *stack, int i, const WmDnnl *dnnl, WmParams *params, WmArena *arena,
                               float *dx, const float *dy, const float *x, WmError *err) {
    const float *weight = params_value(params, stack->weight[i]);
    float *dweight = params_grad(params, stack->weight[i]), *dbias = params_grad(params, stack->bias[i]);
    if (!stack->is_grid[i]) return conv_backward(&stack->convs[i], dnnl, dx, dweight, dbias, dy, x, weight, err);
    const WmGridShape g = grid_shape(stack, i);
    const size_t mark = arena_mark(arena);
    float *scratch = arena_floats(arena, conv_stack_scratch_floats(stack));
    if (scratch == NULL) return arena_check(arena, err);
    grid_backward(&g, dx, dweight, dbias, dy, x, weight, scratch, err);
    arena_rewind(arena, mark);
    return err->status;
}

size_t conv_stack_out_floats(const WmConvStack *stack, int layer) {
    return (size_t)stack->batch * stack->channels[layer] * stack->heights[layer] * stack->widths[layer];
}

static WmActivation layer_activation(const WmConvStack *stack, int i) {
    return stack->last_linear && i == stack->layers - 1 ? WM_ACT_NONE : stack->activation;
}

WmStatus conv_stack_forward(WmConvStack *stack, const WmDnnl *dnnl, const WmParams *params, WmArena *arena,
                            float **outs, const float *x, WmError *err) {
    for (int i = 0; i < stack->layers; i++) {
        const size_t n = conv_stack_out_floats(stack, i);
        outs[i] = arena_floats(arena, n);
        if (outs[i] == NULL) return arena_check(arena, err);
        if (layer_forward(stack, i, dnnl, params, arena, outs[i], i ? outs[i - 1] : x, err)) return err->status;
        act_forward(layer_activation(stack, i), outs[i], outs[i], n);
    }
    return WM_OK;
}

WmStatus conv_stack_backward(WmConvStack *stack, const WmDnnl *dnnl, WmParams *params, WmArena *arena, float *dx,
                             float *dtop, const float *x, float *const *outs, WmError *err) {
    float *dy = dtop;
    for (int i = stack->layers - 1; i >= 0; i--) {
        if (act_backward_from_output(layer_activation(stack, i), dy, outs[i], conv_stack_out_floats(stack, i), err))
            return err->status;
        float *dinput = i ? arena_floats(arena, conv_stack_out_floats(stack, i - 1)) : dx;
        if (i && dinput == NULL) return arena_check(arena, err);
        if (i) memset(dinput, 0, conv_stack_out_floats(stack, i - 1) * sizeof(float));
        if (layer_backward(stack, i, dnnl, params, arena, dinput, dy, i ? outs[i - 1] : x, err)) return err->status;
        dy = dinput;
    }
    return WM_OK;
}
