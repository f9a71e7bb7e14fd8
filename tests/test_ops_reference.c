/* Every optimised op against its plain-C twin (src/ops/reference.c) on random inputs of odd sizes: the oneDNN
 * convolution and transposed convolution (forward, backward data, backward weights, bias), the sgemm linear layer
 * and the GRU cell built on it, and the bf16 matmul planning runs on. Gradients are pre-filled so that accumulation
 * is checked too. */
#include <check.h>

#include "check_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dnnl_ctx.h"
#include "gradcheck.h"
#include "ops/act.h"
#include "ops/conv.h"
#include "ops/fast_math.h"
#include "ops/grid.h"
#include "ops/gru.h"
#include "ops/linear.h"
#include "ops/matmul_bf16.h"
#include "ops/norm.h"
#include "ops/reference.h"

static const double TOLERANCE = 2e-5; /* relative to the largest reference value; fp32 sums of a few hundred terms */

static float *filled(size_t n, float scale, unsigned stream) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    ck_assert_ptr_nonnull(x);
    fill_normal(x, n, scale, stream);
    return x;
}

static float *copy_of(const float *x, size_t n) {
    float *y = malloc((n ? n : 1) * sizeof *y);
    ck_assert_ptr_nonnull(y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

static void expect_close(const float *got, const float *want, size_t n, const char *what, const char *shape) {
    double error = max_relative_error(got, want, n);
    ck_assert_msg(error <= TOLERANCE, "%s (%s): relative error %.3g > %.3g", what, shape, error, TOLERANCE);
}

static const WmConvShape CONV_SHAPES[] = {
    /* odd everything */
    {.batch = 3, .in_channels = 5, .in_height = 13, .in_width = 11, .out_channels = 7, .kernel = 3, .stride = 2,
     .padding = 1},
    {.batch = 1, .in_channels = 3, .in_height = 9, .in_width = 17, .out_channels = 17, .kernel = 5, .stride = 1,
     .padding = 2},
    /* the encoder's first and last layers, PlaNet sizes, small batch */
    {.batch = 2, .in_channels = 3, .in_height = 64, .in_width = 64, .out_channels = 32, .kernel = 4, .stride = 2},
    {.batch = 3, .in_channels = 128, .in_height = 6, .in_width = 6, .out_channels = 256, .kernel = 4, .stride = 2},
    /* the decoder's layers */
    {.batch = 3, .in_channels = 40, .in_height = 1, .in_width = 1, .out_channels = 24, .kernel = 5, .stride = 2,
     .transposed = 1},
    {.batch = 2, .in_channels = 24, .in_height = 5, .in_width = 5, .out_channels = 13, .kernel = 5, .stride = 2,
     .transposed = 1},
    {.batch = 2, .in_channels = 32, .in_height = 30, .in_width = 30, .out_channels = 3, .kernel = 6, .stride = 2,
     .transposed = 1},
    {.batch = 3, .in_channels = 7, .in_height = 7, .in_width = 5, .out_channels = 5, .kernel = 3, .stride = 2,
     .padding = 1, .transposed = 1},
};

/* The call-free exp and expm1 against libm's, in units in the last place of libm's result, over the ranges they
 * serve (the GRU gates' exp everywhere, ELU's expm1 below 0), and act_forward's ELU against expm1f. */
static double ulps(float got, float want) {
    const float step = nextafterf(fabsf(want), INFINITY) - fabsf(want);
    return fabs((double)got - (double)want) / step;
}

START_TEST(fast_exp_and_expm1_match_libm) {
    double worst_exp = 0.0, worst_expm1 = 0.0, worst_elu = 0.0;
    enum { COUNT = 200001 };
    float *x = malloc(COUNT * sizeof *x), *y = malloc(COUNT * sizeof *y);
    for (int i = 0; i < COUNT; i++) x[i] = -40.0f + 40.0f * i / (COUNT - 1);
    for (int i = 0; i < COUNT; i++) {
        const float e = x[i] * 2.0f + 40.0f; /* [-40, 40] */
        worst_exp = fmax(worst_exp, ulps(fast_exp(e), expf(e)));
        worst_expm1 = fmax(worst_expm1, ulps(fast_expm1_nonpositive(x[i]), expm1f(x[i])));
    }
    const float tiny[] = {-1e-7f, -1e-5f, -1e-3f, -0.1f, -0.34f, -0.35f, 0.0f};
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++)
        worst_expm1 = fmax(worst_expm1, ulps(fast_expm1_nonpositive(tiny[i]), expm1f(tiny[i])));
    act_forward(WM_ACT_ELU, y, x, COUNT);
    for (int i = 0; i < COUNT; i++) worst_elu = fmax(worst_elu, ulps(y[i], x[i] > 0 ? x[i] : expm1f(x[i])));
    free(x), free(y);
    ck_assert_msg(worst_exp <= 2.0, "fast_exp: %.2f ulp", worst_exp);
    ck_assert_msg(worst_expm1 <= 2.0 && worst_elu <= 2.0, "fast_expm1_nonpositive: %.2f ulp, ELU %.2f ulp",
                  worst_expm1, worst_elu);
}
END_TEST

START_TEST(conv_matches_reference) {
    const WmConvShape *s = &CONV_SHAPES[_i];
    char shape[128];
    snprintf(shape, sizeof shape, "%s n%d c%d %dx%d -> o%d k%d s%d p%d", s->transposed ? "deconv" : "conv",
             s->batch, s->in_channels, s->in_height, s->in_width, s->out_channels, s->kernel, s->stride, s->padding);
    WmDnnl dnnl;
    WmConv conv;
    WmError err = {0};
    ck_assert_int_eq(dnnl_ctx_init(&dnnl, &err), WM_OK);
    ck_assert_msg(conv_init(&conv, &dnnl, s, &err) == WM_OK, "%s: %s", shape, err.message);
    size_t nx = (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
    size_t nw = (size_t)s->out_channels * s->in_channels * s->kernel * s->kernel;
    size_t ny = (size_t)s->batch * s->out_channels * conv.out_height * conv.out_width;
    float *x = filled(nx, 1.0f, 1), *w = filled(nw, 0.2f, 2), *b = filled(s->out_channels, 0.5f, 3);
    float *dy = filled(ny, 1.0f, 4);
    float *y = filled(ny, 9.0f, 5), *y_ref = filled(ny, 9.0f, 6); /* garbage: forward must overwrite */
    float *dx = filled(nx, 0.5f, 7), *dw = filled(nw, 0.5f, 8), *db = filled(s->out_channels, 0.5f, 9);
    float *dx_ref = copy_of(dx, nx), *dw_ref = copy_of(dw, nw), *db_ref = copy_of(db, s->out_channels);

    ck_assert_msg(conv_forward(&conv, &dnnl, y, x, w, b, &err) == WM_OK, "%s", err.message);
    ck_assert_msg(conv_backward(&conv, &dnnl, dx, dw, db, dy, x, w, &err) == WM_OK, "%s", err.message);
    conv_reference(s, y_ref, x, w, b, dx_ref, dw_ref, db_ref, dy);
    expect_close(y, y_ref, ny, "forward", shape);
    expect_close(dx, dx_ref, nx, "backward data", shape);
    expect_close(dw, dw_ref, nw, "backward weights", shape);
    expect_close(db, db_ref, s->out_channels, "backward bias", shape);

    /* Reusing the primitives: a second backward without dx adds the same weight gradient again. */
    float *dw_once = copy_of(dw, nw);
    ck_assert_msg(conv_backward(&conv, &dnnl, NULL, dw, db, dy, x, w, &err) == WM_OK, "%s", err.message);
    conv_reference(s, NULL, x, w, b, NULL, dw_once, db_ref, dy);
    expect_close(dw, dw_once, nw, "second backward weights", shape);

    float *all[] = {x, w, b, dy, y, y_ref, dx, dw, db, dx_ref, dw_ref, db_ref, dw_once};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    conv_free(&conv);
    dnnl_ctx_free(&dnnl);
}
END_TEST

/* The decoder's first layer as a dense map onto a grid, against the transposed-convolution twin. */
static const WmGridShape GRID_SHAPES[] = {{3, 40, 24, 5}, {5, 1024, 128, 5}, {1, 7, 3, 6}};

START_TEST(grid_matches_transposed_conv_reference) {
    const WmGridShape *g = &GRID_SHAPES[_i];
    const WmConvShape s = {.batch = g->batch, .in_channels = g->in, .in_height = 1, .in_width = 1,
                           .out_channels = g->out_channels, .kernel = g->kernel, .stride = 2, .transposed = 1};
    char shape[64];
    snprintf(shape, sizeof shape, "grid n%d i%d -> o%d k%d", g->batch, g->in, g->out_channels, g->kernel);
    const size_t nx = (size_t)g->batch * g->in, nw = (size_t)g->out_channels * g->in * g->kernel * g->kernel;
    const size_t ny = (size_t)g->batch * g->out_channels * g->kernel * g->kernel;
    float *x = filled(nx, 1.0f, 1), *w = filled(nw, 0.2f, 2), *b = filled(g->out_channels, 0.5f, 3);
    float *dy = filled(ny, 1.0f, 4), *y = filled(ny, 9.0f, 5), *y_ref = filled(ny, 9.0f, 6);
    float *dx = filled(nx, 0.5f, 7), *dw = filled(nw, 0.5f, 8), *db = filled(g->out_channels, 0.5f, 9);
    float *dx_ref = copy_of(dx, nx), *dw_ref = copy_of(dw, nw), *db_ref = copy_of(db, g->out_channels);
    float *scratch = filled(nw, 3.0f, 10);
    WmError err = {0};
    ck_assert_msg(grid_forward(g, y, x, w, b, scratch, &err) == WM_OK, "%s", err.message);
    ck_assert_msg(grid_backward(g, dx, dw, db, dy, x, w, scratch, &err) == WM_OK, "%s", err.message);
    conv_reference(&s, y_ref, x, w, b, dx_ref, dw_ref, db_ref, dy);
    expect_close(y, y_ref, ny, "forward", shape);
    expect_close(dx, dx_ref, nx, "backward data", shape);
    expect_close(dw, dw_ref, nw, "backward weights", shape);
    expect_close(db, db_ref, g->out_channels, "backward bias", shape);
    float *all[] = {x, w, b, dy, y, y_ref, dx, dw, db, dx_ref, dw_ref, db_ref, scratch};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}
END_TEST

static const int LINEAR_SHAPES[][3] = {{7, 13, 11}, {1, 5, 3}, {50, 230, 200}, {33, 1024, 17}};

START_TEST(linear_matches_reference) {
    int batch = LINEAR_SHAPES[_i][0], in = LINEAR_SHAPES[_i][1], out = LINEAR_SHAPES[_i][2];
    char shape[64];
    snprintf(shape, sizeof shape, "%d x %d -> %d", batch, in, out);
    size_t nx = (size_t)batch * in, nw = (size_t)out * in, ny = (size_t)batch * out;
    float *x = filled(nx, 1.0f, 10), *w = filled(nw, 0.1f, 11), *b = filled(out, 0.5f, 12), *dy = filled(ny, 1.f, 13);
    float *y = filled(ny, 9.0f, 14), *y_ref = filled(ny, 9.0f, 15);
    float *dx = filled(nx, 0.5f, 16), *dw = filled(nw, 0.5f, 17), *db = filled(out, 0.5f, 18);
    float *dx_ref = copy_of(dx, nx), *dw_ref = copy_of(dw, nw), *db_ref = copy_of(db, out);
    WmError err = {0};
    ck_assert_int_eq(linear_forward(y, x, w, b, batch, in, out, &err), WM_OK);
    ck_assert_int_eq(linear_backward(dx, dw, db, dy, x, w, batch, in, out, &err), WM_OK);
    linear_reference_forward(y_ref, x, w, b, batch, in, out);
    linear_reference_backward(dx_ref, dw_ref, db_ref, dy, x, w, batch, in, out);
    expect_close(y, y_ref, ny, "linear forward", shape);
    expect_close(dx, dx_ref, nx, "linear backward data", shape);
    expect_close(dw, dw_ref, nw, "linear backward weights", shape);
    expect_close(db, db_ref, out, "linear backward bias", shape);
    /* Without a bias the output is the plain product. */
    ck_assert_int_eq(linear_forward(y, x, w, NULL, batch, in, out, &err), WM_OK);
    float *zero = calloc(out, sizeof *zero);
    linear_reference_forward(y_ref, x, w, zero, batch, in, out);
    expect_close(y, y_ref, ny, "linear forward without bias", shape);
    float *all[] = {x, w, b, dy, y, y_ref, dx, dw, db, dx_ref, dw_ref, db_ref, zero};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}
END_TEST

START_TEST(gru_matches_reference) {
    int batch = 5, in = 9, hidden = 7, g = 3 * hidden;
    float *x = filled(batch * in, 1.0f, 20), *h = filled(batch * hidden, 0.5f, 21);
    float *wih = filled(g * in, 0.4f, 22), *whh = filled(g * hidden, 0.4f, 23);
    float *bih = filled(g, 0.3f, 24), *bhh = filled(g, 0.3f, 25);
    float *out = filled(batch * hidden, 1.0f, 26), *out_ref = filled(batch * hidden, 1.0f, 27);
    float *cache = filled(gru_cache_floats(batch, hidden), 1.0f, 28);
    WmGruWeights w = {wih, whh, bih, bhh, NULL, NULL};
    WmError err = {0};
    ck_assert_int_eq(gru_forward(out, cache, x, h, &w, batch, in, hidden, &err), WM_OK);
    gru_reference_forward(out_ref, x, h, &w, batch, in, hidden);
    expect_close(out, out_ref, batch * hidden, "gru forward", "5 x 9 -> 7");
    float *all[] = {x, h, wih, whh, bih, bhh, out, out_ref, cache};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}
END_TEST

/* Plain, blocked by 16 and by 8 (oneDNN's AVX-512 and AVX2 layouts): images, channels, height, width, block. */
static const int CHANNEL_NORM_SHAPES[][5] = {{3, 32, 7, 9, 1}, {2, 32, 5, 6, 16}, {4, 64, 3, 31, 8}, {2, 5, 4, 4, 1}};

static WmChannelLayout blocked_layout(const int *s) {
    const int images = s[0], channels = s[1], height = s[2], width = s[3], block = s[4];
    if (block == 1) return channel_layout_plain(images, channels, height, width);
    const long pixels = (long)height * width;
    return (WmChannelLayout){images, channels, height, width, block, (channels / block) * pixels * block,
                             pixels * block, (long)width * block, block};
}

START_TEST(channel_norm_matches_reference) {
    const WmChannelLayout l = blocked_layout(CHANNEL_NORM_SHAPES[_i]);
    const size_t n = (size_t)l.images * l.channels * l.height * l.width, pixels = n / l.channels;
    float *x = filled(n, 2.0f, 40), *dy = filled(n, 1.0f, 41), *gamma = filled(l.channels, 1.0f, 42);
    float *beta = filled(l.channels, 1.0f, 43), *y = filled(n, 1.0f, 44), *y_ref = filled(n, 1.0f, 44);
    float *xhat = filled(n, 1.0f, 45), *xhat_ref = filled(n, 1.0f, 45), *rstd = filled(pixels, 1.0f, 46);
    float *rstd_ref = filled(pixels, 1.0f, 46), *dx = filled(n, 1.0f, 47), *dx_ref = filled(n, 1.0f, 47);
    float *dgamma = filled(l.channels, 1.0f, 48), *dgamma_ref = copy_of(dgamma, l.channels);
    float *dbeta = filled(l.channels, 1.0f, 49), *dbeta_ref = copy_of(dbeta, l.channels);
    char shape[64];
    snprintf(shape, sizeof shape, "%d x %d x %d x %d, block %d", l.images, l.channels, l.height, l.width, l.block);
    channel_norm_forward(y, xhat, rstd, x, gamma, beta, &l);
    channel_norm_reference_forward(y_ref, xhat_ref, rstd_ref, x, gamma, beta, &l);
    expect_close(y, y_ref, n, "channel norm forward", shape);
    expect_close(rstd, rstd_ref, pixels, "channel norm rstd", shape);
    channel_norm_backward(dx, dgamma, dbeta, dy, xhat_ref, rstd_ref, gamma, &l);
    channel_norm_reference_backward(dx_ref, dgamma_ref, dbeta_ref, dy, xhat_ref, rstd_ref, gamma, &l);
    expect_close(dx, dx_ref, n, "channel norm backward", shape);
    /* the parameters' sums run in the same order as the reference's, on any thread count */
    ck_assert_mem_eq(dgamma, dgamma_ref, l.channels * sizeof *dgamma);
    ck_assert_mem_eq(dbeta, dbeta_ref, l.channels * sizeof *dbeta);
    float *all[] = {x, dy, gamma, beta, y, y_ref, xhat, xhat_ref, rstd, rstd_ref, dx, dx_ref, dgamma, dgamma_ref,
                    dbeta, dbeta_ref};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}
END_TEST

START_TEST(bf16_rounds_to_nearest_even) {
    /* 1, a tie that stays (even), a tie that rounds up (odd), just above a tie, the largest float (to infinity),
     * a negative, a tiny subnormal, infinity and NaN. */
    const uint32_t bits[] = {0x3f800000u, 0x3f808000u, 0x3f818000u, 0x3f808001u, 0x7f7fffffu, 0xc0490fdbu,
                             0x00000001u, 0x7f800000u, 0x7fc00001u};
    const uint16_t want[] = {0x3f80, 0x3f80, 0x3f82, 0x3f81, 0x7f80, 0xc049, 0x0000, 0x7f80, 0x7fc0};
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        float x;
        uint16_t got;
        memcpy(&x, &bits[i], sizeof x);
        bf16_from_f32(&got, &x, 1);
        ck_assert_msg(got == want[i], "bf16 of 0x%08x: 0x%04x, want 0x%04x", bits[i], got, want[i]);
        if (isfinite(x) && fabsf(x) > 1e-30f)
            ck_assert_msg(bf16_to_f32(got) == bf16_reference_round(x), "0x%08x: differs from frexp/rint rounding",
                          bits[i]);
    }
    float nan_value;
    memcpy(&nan_value, &bits[8], sizeof nan_value);
    uint16_t nan_bf16;
    bf16_from_f32(&nan_bf16, &nan_value, 1);
    ck_assert(isnan(bf16_to_f32(nan_bf16)));
}
END_TEST

/* Batch x in -> out: odd sizes, and the planning shapes (1000 candidates; the GRU and reward layers). */
static const int MATMUL_SHAPES[][3] = {{400, 6, 8},      {7, 13, 11},      {1, 5, 3},
                                       {1000, 200, 600}, {1000, 230, 300}, {33, 31, 200}};

START_TEST(matmul_bf16_matches_reference) {
    int batch = MATMUL_SHAPES[_i][0], in = MATMUL_SHAPES[_i][1], out = MATMUL_SHAPES[_i][2];
    char shape[64];
    snprintf(shape, sizeof shape, "%d x %d -> %d", batch, in, out);
    size_t nx = (size_t)batch * in, nw = (size_t)out * in, ny = (size_t)batch * out;
    float *x = filled(nx, 1.0f, 30), *w = filled(nw, 0.1f, 31), *b = filled(out, 0.5f, 32);
    float *y = filled(ny, 9.0f, 33), *y_ref = filled(ny, 9.0f, 34), *y_fp32 = filled(ny, 9.0f, 35);
    uint16_t *x_bf16 = malloc(nx * sizeof *x_bf16);
    WmDnnl ctx;
    WmMatmulBf16 mm;
    WmError err = {0};
    ck_assert_int_eq(dnnl_ctx_init(&ctx, &err), WM_OK);
    ck_assert_msg(matmul_bf16_init(&mm, &ctx, batch, in, out, &err) == WM_OK, "%s", err.message);
    ck_assert_int_eq(matmul_bf16_load(&mm, &ctx, w, &err), WM_OK);
    bf16_from_f32(x_bf16, x, nx);
    ck_assert_msg(matmul_bf16_forward(&mm, &ctx, y, x_bf16, b, &err) == WM_OK, "%s", err.message);
    matmul_bf16_reference_forward(y_ref, x, w, b, batch, in, out);
    expect_close(y, y_ref, ny, "bf16 matmul", shape);
    /* And it is the layer's product, to bf16's precision: within 1% of the fp32 one, but not equal to it. */
    linear_reference_forward(y_fp32, x, w, b, batch, in, out);
    const double from_fp32 = max_relative_error(y, y_fp32, ny);
    ck_assert_msg(from_fp32 < 1e-2 && (in < 8 || from_fp32 > 1e-6), "bf16 vs fp32 (%s): relative error %.3g", shape,
                  from_fp32);
    /* New weights take effect after a load. */
    for (size_t i = 0; i < nw; i++) w[i] = -w[i];
    ck_assert_int_eq(matmul_bf16_load(&mm, &ctx, w, &err), WM_OK);
    ck_assert_int_eq(matmul_bf16_forward(&mm, &ctx, y, x_bf16, b, &err), WM_OK);
    matmul_bf16_reference_forward(y_ref, x, w, b, batch, in, out);
    expect_close(y, y_ref, ny, "bf16 matmul after a reload", shape);
    matmul_bf16_free(&mm);
    dnnl_ctx_free(&ctx);
    free(x_bf16);
    float *all[] = {x, w, b, y, y_ref, y_fp32};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}
END_TEST

static Suite *reference_suite(void) {
    Suite *suite = suite_create("ops against reference");
    TCase *tc = tcase_create("reference twins");
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, conv_matches_reference, 0, (int)(sizeof CONV_SHAPES / sizeof CONV_SHAPES[0]));
    tcase_add_loop_test(tc, linear_matches_reference, 0, (int)(sizeof LINEAR_SHAPES / sizeof LINEAR_SHAPES[0]));
    tcase_add_test(tc, gru_matches_reference);
    tcase_add_loop_test(tc, channel_norm_matches_reference, 0,
                        (int)(sizeof CHANNEL_NORM_SHAPES / sizeof CHANNEL_NORM_SHAPES[0]));
    tcase_add_test(tc, fast_exp_and_expm1_match_libm);
    tcase_add_test(tc, bf16_rounds_to_nearest_even);
    tcase_add_loop_test(tc, matmul_bf16_matches_reference, 0, (int)(sizeof MATMUL_SHAPES / sizeof MATMUL_SHAPES[0]));
    tcase_add_loop_test(tc, grid_matches_transposed_conv_reference, 0,
                        (int)(sizeof GRID_SHAPES / sizeof GRID_SHAPES[0]));
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return check_run(reference_suite()); }
