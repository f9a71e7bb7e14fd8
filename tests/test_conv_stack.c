/* The convolution stacks as the world model runs them (inner outputs and their gradients held in oneDNN's blocked
 * layout, a grid first layer, a thin plain last layer, gradients between layers sharing one block) against the
 * same layers computed one by one with the plain-C twins of src/ops/reference.c, in fp32 and in bf16; and with
 * DreamerV3's channel LayerNorm and SiLU, the norm run on the blocked layout against the plain one. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "gradcheck.h"
#include "nets/conv_stack.h"
#include "ops/norm.h"
#include "ops/reference.h"

typedef struct {
    const char *name;
    int transposed, in_channels, in_height, in_width, layers;
    int channels[4], kernels[4];
    int last_linear;
} StackCase;

static const StackCase CASES[] = {
    /* the encoder's shape, smaller: 24 channels pad to 32 in the blocked layout, 40 to 48 */
    {"encoder", 0, 3, 48, 48, 4, {8, 24, 40, 64}, {4, 4, 4, 4}, 0},
    /* the decoder's shape: a grid layer on the 1x1 input, blocked layers, then 3 plain channels */
    {"decoder", 1, 48, 1, 1, 4, {40, 24, 16, 3}, {5, 5, 6, 6}, 1},
};

enum { BATCH = 3 };

static double worst_relative(const float *got, const float *want, size_t n) {
    double scale = 1e-6, worst = 0.0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)got[i] - want[i]) / scale);
    return worst;
}

/* y = relu(x) where the layer has an activation; dy *= relu'(y). */
static void relu(float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}
static void relu_backward(float *dy, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* What a bf16 pass reads: a copy rounded to bf16, or the tensor itself in fp32. Free with release(). */
static const float *as_read(const float *x, size_t n, int bf16) {
    if (!bf16) return x;
    float *copy = malloc(n * sizeof *copy);
    for (size_t i = 0; i < n; i++) copy[i] = bf16_reference_round(x[i]);
    return copy;
}
static void release(const float *copy, const float *x) {
    if (copy != x) free((void *)copy);
}

/* The reference layer: its inputs rounded as the pass reads them. */
static void reference_layer(const WmConvShape *s, float *y, const float *x, const float *w, const float *b, float *dx,
                            float *dw, float *db, const float *dy, int bf16) {
    const size_t nx = (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
    const size_t nw = (size_t)s->out_channels * s->in_channels * s->kernel * s->kernel;
    int oh, ow;
    conv_output_size(s, &oh, &ow);
    const size_t ny = (size_t)s->batch * s->out_channels * oh * ow;
    const float *xr = as_read(x, nx, bf16), *wr = as_read(w, nw, bf16), *dyr = dy ? as_read(dy, ny, bf16) : NULL;
    conv_reference(s, y, xr, wr, b, dx, dw, db, dyr);
    release(xr, x), release(wr, w);
    if (dy) release(dyr, dy);
}

/* The layer's activation and norm in the twin: relu, or (v3) the channel norm on the plain layout, then SiLU. */
typedef struct {
    float *pre, *xhat, *rstd; /* v3: SiLU's input, the norm's normalised values and 1/std */
} TwinCache;

static void twin_activate(float *y, size_t n, int v3, const WmChannelLayout *layout, const float *scale,
                          const float *offset, TwinCache *cache) {
    if (!v3) {
        relu(y, n);
        return;
    }
    cache->xhat = malloc(n * sizeof(float)), cache->pre = malloc(n * sizeof(float));
    cache->rstd = malloc((size_t)layout->images * layout->height * layout->width * sizeof(float));
    channel_norm_forward(y, cache->xhat, cache->rstd, y, scale, offset, layout);
    memcpy(cache->pre, y, n * sizeof(float));
    act_forward(WM_ACT_SILU, y, y, n);
}

static void twin_activate_backward(float *dy, const float *y, size_t n, int v3, const WmChannelLayout *layout,
                                   const float *scale, float *dscale, float *doffset, TwinCache *cache) {
    if (!v3) {
        relu_backward(dy, y, n);
        return;
    }
    act_backward_from_input(WM_ACT_SILU, dy, cache->pre, n);
    channel_norm_backward(dy, dscale, doffset, dy, cache->xhat, cache->rstd, scale, layout);
    free(cache->pre), free(cache->xhat), free(cache->rstd);
}

static void check_stack(const StackCase *c, int bf16, int v3) {
    WmError err = {0};
    WmParams params;
    params_init(&params);
    WmConvStack stack;
    ck_assert_msg(conv_stack_declare(&stack, &params, c->name, c->transposed, c->in_channels, c->in_height,
                                     c->in_width, c->layers, c->channels, c->kernels, v3 ? WM_ACT_SILU : WM_ACT_RELU,
                                     c->last_linear, &err) == WM_OK, "%s", err.message);
    if (v3) ck_assert(conv_stack_declare_norms(&stack, &params, c->name, &err) == WM_OK);
    ck_assert_int_eq(params_allocate(&params, &err), WM_OK);
    params_init_glorot(&params, 5);
    for (int i = 0; i < c->layers; i++) fill_normal(params_value(&params, stack.bias[i]), c->channels[i], 0.1f, 40 + i);
    const int normed = c->last_linear ? c->layers - 1 : c->layers;
    float *dscale[4] = {0}, *doffset[4] = {0};
    TwinCache twin[4] = {{0}};
    for (int i = 0; v3 && i < normed; i++) {
        fill_uniform(params_value(&params, stack.norm_scale[i]), c->channels[i], 0.5f, 1.5f, 50 + i);
        fill_normal(params_value(&params, stack.norm_offset[i]), c->channels[i], 0.2f, 60 + i);
        dscale[i] = calloc(c->channels[i], sizeof(float)), doffset[i] = calloc(c->channels[i], sizeof(float));
    }
    params_zero_grad(&params);
    WmDnnl dnnl;
    ck_assert_int_eq(dnnl_ctx_init(&dnnl, &err), WM_OK);
    stack.bf16 = bf16;
    ck_assert_msg(conv_stack_build(&stack, &dnnl, BATCH, &err) == WM_OK, "%s", err.message);
    int held = 0;
    for (int i = 0; i < c->layers; i++) held += conv_stack_holds_natively(&stack, i);
    ck_assert_msg(held >= 2, "%s: only %d layers hold their output natively", c->name, held);

    /* The twin: every layer plain, forward and backward by the reference loops. */
    float *ref_outs[4], *ref_dw[4], *ref_db[4];
    size_t out_n[4];
    const size_t in_n = (size_t)BATCH * c->in_channels * c->in_height * c->in_width;
    float *x = malloc(in_n * sizeof *x);
    fill_normal(x, in_n, 1.0f, 1);
    WmConvShape shapes[4];
    for (int i = 0; i < c->layers; i++) {
        shapes[i] = (WmConvShape){.batch = BATCH,
                                  .in_channels = i ? c->channels[i - 1] : c->in_channels,
                                  .in_height = i ? stack.heights[i - 1] : c->in_height,
                                  .in_width = i ? stack.widths[i - 1] : c->in_width,
                                  .out_channels = c->channels[i],
                                  .kernel = c->kernels[i],
                                  .stride = 2,
                                  .transposed = c->transposed};
        out_n[i] = (size_t)BATCH * c->channels[i] * stack.heights[i] * stack.widths[i];
        ref_outs[i] = malloc(out_n[i] * sizeof(float));
        const size_t nw = (size_t)params.infos[stack.weight[i]].count;
        ref_dw[i] = calloc(nw, sizeof(float)), ref_db[i] = calloc(c->channels[i], sizeof(float));
        reference_layer(&shapes[i], ref_outs[i], i ? ref_outs[i - 1] : x, params_value(&params, stack.weight[i]),
                        params_value(&params, stack.bias[i]), NULL, NULL, NULL, NULL, bf16 && !stack.is_grid[i]);
        const WmChannelLayout plain = channel_layout_plain(BATCH, c->channels[i], stack.heights[i], stack.widths[i]);
        if (i < normed)
            twin_activate(ref_outs[i], out_n[i], v3, &plain, v3 ? params_value(&params, stack.norm_scale[i]) : NULL,
                          v3 ? params_value(&params, stack.norm_offset[i]) : NULL, &twin[i]);
    }
    const int top = c->layers - 1;
    float *dtop = malloc(out_n[top] * sizeof(float)), *ref_dtop = malloc(out_n[top] * sizeof(float));
    fill_normal(dtop, out_n[top], 1.0f, 2);
    memcpy(ref_dtop, dtop, out_n[top] * sizeof(float));
    float *ref_dx = calloc(in_n, sizeof(float)), *dx = calloc(in_n, sizeof(float));
    float *dy = ref_dtop;
    for (int i = top; i >= 0; i--) {
        const WmChannelLayout plain = channel_layout_plain(BATCH, c->channels[i], stack.heights[i], stack.widths[i]);
        if (i < normed)
            twin_activate_backward(dy, ref_outs[i], out_n[i], v3, &plain,
                                   v3 ? params_value(&params, stack.norm_scale[i]) : NULL, dscale[i], doffset[i],
                                   &twin[i]);
        const size_t din_n = i ? out_n[i - 1] : in_n;
        float *din = i ? calloc(din_n, sizeof(float)) : ref_dx;
        reference_layer(&shapes[i], NULL, i ? ref_outs[i - 1] : x, params_value(&params, stack.weight[i]), NULL, din,
                        ref_dw[i], ref_db[i], dy, bf16 && !stack.is_grid[i]);
        if (dy != ref_dtop) free(dy);
        dy = din;
    }

    WmArena arena;
    arena_init(&arena, "stack test");
    float *outs[WM_STACK_MAX];
    ck_assert_msg(conv_stack_forward(&stack, &dnnl, &params, &arena, outs, x, &err) == WM_OK, "%s", err.message);
    ck_assert_msg(conv_stack_backward(&stack, &dnnl, &params, &arena, dx, dtop, x, outs, &err) == WM_OK, "%s",
                  err.message);

    /* Sums in another order. In bf16 the twin reads the same rounded inputs, so only an activation that rounds the
     * other way can differ; an f32 pass where bf16 was asked for misses by about 1e-3. */
    const double tolerance = bf16 ? 2e-4 : 2e-5;
    char what[96];
    snprintf(what, sizeof what, "%s (%s%s)", c->name, bf16 ? "bf16" : "fp32", v3 ? ", norm and SiLU" : "");
    double e = worst_relative(outs[top], ref_outs[top], out_n[top]);
    ck_assert_msg(e <= tolerance, "%s output: relative error %.3g", what, e);
    e = worst_relative(dx, ref_dx, in_n);
    ck_assert_msg(e <= tolerance, "%s input gradient: relative error %.3g", what, e);
    for (int i = 0; i < c->layers; i++) {
        e = worst_relative(params_grad(&params, stack.weight[i]), ref_dw[i], params.infos[stack.weight[i]].count);
        ck_assert_msg(e <= tolerance, "%s layer %d weight gradient: relative error %.3g", what, i + 1, e);
        e = worst_relative(params_grad(&params, stack.bias[i]), ref_db[i], c->channels[i]);
        ck_assert_msg(e <= tolerance, "%s layer %d bias gradient: relative error %.3g", what, i + 1, e);
        if (v3 && i < normed) {
            e = worst_relative(params_grad(&params, stack.norm_scale[i]), dscale[i], c->channels[i]);
            ck_assert_msg(e <= tolerance, "%s layer %d norm gain gradient: relative error %.3g", what, i + 1, e);
            e = worst_relative(params_grad(&params, stack.norm_offset[i]), doffset[i], c->channels[i]);
            ck_assert_msg(e <= tolerance, "%s layer %d norm offset gradient: relative error %.3g", what, i + 1, e);
        }
        free(ref_outs[i]), free(ref_dw[i]), free(ref_db[i]), free(dscale[i]), free(doffset[i]);
    }
    free(x), free(dtop), free(ref_dtop), free(ref_dx), free(dx); /* dy ends as ref_dx */
    arena_free(&arena);
    conv_stack_free(&stack);
    dnnl_ctx_free(&dnnl);
    params_free(&params);
}

START_TEST(stack_matches_layer_by_layer_reference) { check_stack(&CASES[_i], 0, 0); }
END_TEST

START_TEST(bf16_stack_matches_layer_by_layer_reference) { check_stack(&CASES[_i], 1, 0); }
END_TEST

START_TEST(normed_silu_stack_matches_layer_by_layer_reference) { check_stack(&CASES[_i], 0, 1); }
END_TEST

static Suite *conv_stack_suite(void) {
    Suite *suite = suite_create("conv stack");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, stack_matches_layer_by_layer_reference, 0, sizeof CASES / sizeof CASES[0]);
    tcase_add_loop_test(tc, bf16_stack_matches_layer_by_layer_reference, 0, sizeof CASES / sizeof CASES[0]);
    tcase_add_loop_test(tc, normed_silu_stack_matches_layer_by_layer_reference, 0, sizeof CASES / sizeof CASES[0]);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return check_run(conv_stack_suite()); }
