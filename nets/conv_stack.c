#include "nets/conv_stack.h"

#include <stdio.h>
#include <string.h>

#include "ops/grid.h"
#include "ops/norm.h"

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

static int has_activation(const WmConvStack *stack, int i) { return !(stack->last_linear && i == stack->layers - 1); }

WmStatus conv_stack_declare_norms(WmConvStack *stack, WmParams *params, const char *name, WmError *err) {
    stack->norm = 1;
    for (int i = 0; i < stack->layers; i++) {
        if (!has_activation(stack, i)) continue;
        char path[WM_PARAM_NAME_MAX];
        const int shape[1] = {stack->channels[i]};
        const char *kind = stack->transposed ? "deconv" : "conv";
        snprintf(path, sizeof path, "%s.%s%d.norm.scale", name, kind, i + 1);
        stack->norm_scale[i] = params_declare(params, path, 1, shape, err);
        snprintf(path, sizeof path, "%s.%s%d.norm.offset", name, kind, i + 1);
        stack->norm_offset[i] = params_declare(params, path, 1, shape, err);
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
        .bf16 = stack->bf16,
    };
}

int conv_stack_holds_natively(const WmConvStack *stack, int i) {
    if (i + 1 >= stack->layers || stack->is_grid[i] || stack->is_grid[i + 1]) return 0;
    const WmConvShape here = layer_shape(stack, i, 1);
    return !conv_wants_plain(&here);
}

/* A thin layer (conv_wants_plain) after one that holds its output natively reads a plain copy of its input. The
 * copy lives at the arena's top for the forward call instead of in oneDNN's workspace: those pages are the ones
 * the backward pass's gradients take later, so the copy costs no memory of its own (290 MiB at B = L = 50). */
static int copies_input_to_arena(const WmConvStack *stack, int i) {
    if (i == 0 || stack->is_grid[i] || !conv_stack_holds_natively(stack, i - 1)) return 0;
    const WmConvShape here = layer_shape(stack, i, 1);
    return conv_wants_plain(&here);
}

enum { NATIVE_BLOCK = 16 }; /* the channel block of oneDNN's f32 layouts on AVX-512 (aBcd16b) */

static WmGridShape grid_shape(const WmConvStack *stack, int i) {
    return (WmGridShape){stack->batch, i ? stack->channels[i - 1] : stack->in_channels, stack->channels[i],
                         stack->kernels[i]};
}

/* What layer i takes from the arena's top for one call: the grid path's permuted weights, or the plain copy of
 * the input (no larger than the input as held, whose channels are padded to the block). */
static size_t layer_scratch_floats(const WmConvStack *stack, int i) {
    const WmGridShape g = grid_shape(stack, i);
    if (stack->is_grid[i]) return (size_t)g.in * g.out_channels * g.kernel * g.kernel;
    return copies_input_to_arena(stack, i) ? conv_stack_out_floats(stack, i - 1) : 0;
}

static WmStatus build_layer(WmConvStack *stack, int i, WmDnnl *dnnl, WmError *err) {
    const WmConvShape shape = layer_shape(stack, i, stack->batch);
    const WmConvHolding holding = {
        .x = i && conv_stack_holds_natively(stack, i - 1) ? &stack->convs[i - 1].y_held : NULL,
        .y_native = conv_stack_holds_natively(stack, i),
        .x_copy_placed = copies_input_to_arena(stack, i),
    };
    if (conv_init_held(&stack->convs[i], dnnl, &shape, &holding, err)) return err->status;
    /* Outputs and copies are allocated at conv_stack_out_floats and layer_scratch_floats: hold oneDNN to them. */
    if (conv_y_bytes(&stack->convs[i]) > conv_stack_out_floats(stack, i) * sizeof(float)) {
        conv_free(&stack->convs[i]);
        return wm_error_set(err, WM_ERR_DNNL,
                            "layer %d: oneDNN holds its output in %zu bytes, more than the %zu planned", i + 1,
                            conv_y_bytes(&stack->convs[i]), conv_stack_out_floats(stack, i) * sizeof(float));
    }
    if (holding.x_copy_placed && stack->convs[i].x.bytes > layer_scratch_floats(stack, i) * sizeof(float)) {
        const size_t bytes = stack->convs[i].x.bytes;
        conv_free(&stack->convs[i]);
        return wm_error_set(err, WM_ERR_DNNL, "layer %d: oneDNN's plain copy of its input takes %zu bytes, more than "
                            "the %zu planned", i + 1, bytes, layer_scratch_floats(stack, i) * sizeof(float));
    }
    return WM_OK;
}

WmStatus conv_stack_build(WmConvStack *stack, WmDnnl *dnnl, int batch, WmError *err) {
    stack->batch = batch;
    for (int i = 0; i < stack->layers; i++) {
        if (!stack->is_grid[i] && build_layer(stack, i, dnnl, err)) {
            for (int j = 0; j < i; j++)
                if (!stack->is_grid[j]) conv_free(&stack->convs[j]);
            stack->batch = 0;
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

size_t conv_stack_scratchpad_bytes(const WmConvStack *stack) {
    size_t most = 0;
    for (int i = 0; i < stack->layers; i++)
        if (!stack->is_grid[i] && stack->convs[i].scratchpad_bytes > most) most = stack->convs[i].scratchpad_bytes;
    return most;
}

double conv_stack_layer_flops(const WmConvStack *stack, int layer) {
    const WmConvShape shape = layer_shape(stack, layer, stack->batch);
    return conv_forward_flops(&shape);
}

/* One layer forward: the grid path, or the oneDNN convolution (a thin one with its input's plain copy at the arena's
 * top). */
static WmStatus layer_forward(WmConvStack *stack, int i, const WmDnnl *dnnl, const WmParams *params, WmArena *arena,
                              float *y, const float *x, WmError *err) {
    const float *weight = params_value(params, stack->weight[i]), *bias = params_value(params, stack->bias[i]);
    if (!stack->is_grid[i] && !copies_input_to_arena(stack, i))
        return conv_forward(&stack->convs[i], dnnl, y, x, weight, bias, err);
    const size_t mark = arena_mark(arena), floats = layer_scratch_floats(stack, i);
    float *scratch = arena_floats(arena, floats);
    if (scratch == NULL) return arena_check(arena, err);
    if (stack->is_grid[i]) {
        const WmGridShape g = grid_shape(stack, i);
        grid_forward(&g, y, x, weight, bias, scratch, err);
    } else {
        conv_forward_in(&stack->convs[i], dnnl, y, x, weight, bias, scratch, err);
    }
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
    float *scratch = arena_floats(arena, layer_scratch_floats(stack, i));
    if (scratch == NULL) return arena_check(arena, err);
    grid_backward(&g, dx, dweight, dbias, dy, x, weight, scratch, err);
    arena_rewind(arena, mark);
    return err->status;
}

size_t conv_stack_out_floats(const WmConvStack *stack, int layer) {
    size_t channels = (size_t)stack->channels[layer];
    if (conv_stack_holds_natively(stack, layer)) channels = (channels + NATIVE_BLOCK - 1) / NATIVE_BLOCK * NATIVE_BLOCK;
    return (size_t)stack->batch * channels * stack->heights[layer] * stack->widths[layer];
}

static WmActivation layer_activation(const WmConvStack *stack, int i) {
    return has_activation(stack, i) ? stack->activation : WM_ACT_NONE;
}

static int layer_norms(const WmConvStack *stack, int i) { return stack->norm && has_activation(stack, i); }

/* Layer i's output as held: oneDNN's layout when held natively, else plain. */
static WmStatus channel_layout(const WmConvStack *stack, int i, WmChannelLayout *layout, WmError *err) {
    if (conv_stack_holds_natively(stack, i)) return conv_held_layout(&stack->convs[i], layout, err);
    *layout = channel_layout_plain(stack->batch, stack->channels[i], stack->heights[i], stack->widths[i]);
    return WM_OK;
}

/* What layer i keeps after its output (outs[i] + n): [xhat (n), rstd (N x pixels)] with a norm, then [silu's
 * input (n)], which starts activation_input_at floats into outs[i]. */
static size_t activation_input_at(const WmConvStack *stack, int i) {
    const size_t n = conv_stack_out_floats(stack, i);
    return n + (layer_norms(stack, i) ? n + (size_t)stack->batch * stack->heights[i] * stack->widths[i] : 0);
}

static size_t layer_cache_floats(const WmConvStack *stack, int i) {
    const size_t n = conv_stack_out_floats(stack, i);
    return activation_input_at(stack, i) - n + (act_needs_input(layer_activation(stack, i)) ? n : 0);
}

WmStatus conv_stack_forward(WmConvStack *stack, const WmDnnl *dnnl, const WmParams *params, WmArena *arena,
                            float **outs, const float *x, WmError *err) {
    for (int i = 0; i < stack->layers; i++) {
        const size_t n = conv_stack_out_floats(stack, i), cache = layer_cache_floats(stack, i);
        const WmActivation act = layer_activation(stack, i);
        outs[i] = arena_floats(arena, n + cache);
        if (outs[i] == NULL) return arena_check(arena, err);
        if (layer_forward(stack, i, dnnl, params, arena, outs[i], i ? outs[i - 1] : x, err)) return err->status;
        WmChannelLayout layout;
        if (layer_norms(stack, i)) {
            if (channel_layout(stack, i, &layout, err)) return err->status;
            channel_norm_forward(outs[i], outs[i] + n, outs[i] + 2 * n, outs[i],
                                 params_value(params, stack->norm_scale[i]),
                                 params_value(params, stack->norm_offset[i]), &layout);
        }
        if (act_needs_input(act)) memcpy(outs[i] + activation_input_at(stack, i), outs[i], n * sizeof(float));
        act_forward(act, outs[i], outs[i], n);
    }
    return WM_OK;
}

WmStatus conv_stack_backward(WmConvStack *stack, const WmDnnl *dnnl, WmParams *params, WmArena *arena, float *dx,
                             float *dtop, const float *x, float *const *outs, WmError *err) {
    /* Layer i's input gradient lives until layer i - 1 has used it: consecutive ones sit at the two ends of one
     * block as large as the largest neighbouring pair, so they never overlap and the block is all the memory the
     * gradients between layers take. */
    const size_t mark = arena_mark(arena);
    size_t block = 0;
    for (int i = 1; i < stack->layers; i++) {
        const size_t pair = conv_stack_out_floats(stack, i - 1) + (i > 1 ? conv_stack_out_floats(stack, i - 2) : 0);
        if (pair > block) block = pair;
    }
    if (block) block += 16; /* room for the end one's alignment */
    float *between = block ? arena_floats(arena, block) : NULL;
    if (block && between == NULL) return arena_check(arena, err);
    float *dy = dtop;
    WmStatus status = WM_OK;
    for (int i = stack->layers - 1; i >= 0; i--) {
        const WmActivation act = layer_activation(stack, i);
        const size_t n = conv_stack_out_floats(stack, i);
        if (act_needs_input(act)) act_backward_from_input(act, dy, outs[i] + activation_input_at(stack, i), n);
        else if ((status = act_backward_from_output(act, dy, outs[i], n, err))) break;
        WmChannelLayout layout;
        if (layer_norms(stack, i)) {
            if ((status = channel_layout(stack, i, &layout, err))) break;
            channel_norm_backward(dy, params_grad(params, stack->norm_scale[i]),
                                  params_grad(params, stack->norm_offset[i]), dy, outs[i] + n, outs[i] + 2 * n,
                                  params_value(params, stack->norm_scale[i]), &layout);
        }
        const size_t in_floats = i ? conv_stack_out_floats(stack, i - 1) : 0;
        /* Alternate ends, 64-byte aligned: the end one starts at a multiple of 16 floats below the block's end. */
        float *dinput = !i ? dx : (stack->layers - 1 - i) % 2 ? between : between + ((block - in_floats) & ~(size_t)15);
        /* A plain input gradient is added to; a natively held one is written whole (conv_init_held). */
        if (i && !conv_stack_holds_natively(stack, i - 1)) memset(dinput, 0, in_floats * sizeof(float));
        if ((status = layer_backward(stack, i, dnnl, params, arena, dinput, dy, i ? outs[i - 1] : x, err))) break;
        dy = dinput;
    }
    arena_rewind(arena, mark);
    return status;
}
