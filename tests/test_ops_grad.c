/* A central-difference gradient check for every differentiable op in src/ops: linear, conv2d, transposed conv2d, the
 * activations (from their output, and from their input: silu), layer norm, the GRU cell, concat/split, the Gaussian
 * log-likelihoods, the diagonal-Gaussian KL, free nats, MSE and reparameterised sampling; DreamerV3's categorical
 * latents (softmax with unimix, their KL) and twohot heads (the cross-entropy, symlog, symexp). */
#include <check.h>

#include "check_run.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/dnnl_ctx.h"
#include "gradcheck.h"
#include "ops/act.h"
#include "ops/categorical.h"
#include "ops/concat.h"
#include "ops/conv.h"
#include "ops/grid.h"
#include "ops/gru.h"
#include "ops/linear.h"
#include "ops/loss.h"
#include "ops/norm.h"
#include "ops/sample.h"
#include "ops/twohot.h"

/* ---- buffers that live for one test ---- */
enum { MAX_BUFFERS = 64 };
static float *buffers[MAX_BUFFERS];
static int buffer_count;

static float *buffer(size_t n) {
    ck_assert_int_lt(buffer_count, MAX_BUFFERS);
    float *b = calloc(n ? n : 1, sizeof(float));
    ck_assert_ptr_nonnull(b);
    return buffers[buffer_count++] = b;
}

static void free_buffers(void) {
    for (int i = 0; i < buffer_count; i++) free(buffers[i]);
    buffer_count = 0;
}

static void add_input(GcProblem *p, const char *name, float *value, size_t count) {
    p->inputs[p->input_count++] = (GcInput){name, value, buffer(count), count};
}

static void add_output(GcProblem *p, float *value, size_t count) {
    p->outputs[p->output_count++] = (GcOutput){value, buffer(count), count};
}

static void expect_gradients(GcProblem *p, const char *what) {
    char report[256];
    int failed = gradcheck_run(p, report, sizeof report);
    ck_assert_msg(!failed, "%s: gradient check failed, %s", what, report);
}

static GcProblem problem(void *ctx, void (*forward)(void *), void (*backward)(void *)) {
    GcProblem p;
    memset(&p, 0, sizeof p);
    p.ctx = ctx, p.forward = forward, p.backward = backward;
    p.eps = 1e-2, p.atol = 2e-3, p.rtol = 1e-2, p.max_checks = 60;
    return p;
}

/* Keeps values away from kinks (ReLU at 0, free nats at the allowance), where central differences lie. */
static void push_away_from(float *x, size_t n, float kink, float gap) {
    for (size_t i = 0; i < n; i++)
        if (fabsf(x[i] - kink) < gap) x[i] = kink + (x[i] >= kink ? gap : -gap);
}

/* ---- linear ---- */
typedef struct {
    int batch, in, out;
    float *x, *w, *b, *y, *dx, *dw, *db, *dy;
} LinearCase;

static void linear_fwd(void *c) {
    LinearCase *k = c;
    ck_assert_int_eq(linear_forward(k->y, k->x, k->w, k->b, k->batch, k->in, k->out, NULL), WM_OK);
}
static void linear_bwd(void *c) {
    LinearCase *k = c;
    ck_assert_int_eq(linear_backward(k->dx, k->dw, k->db, k->dy, k->x, k->w, k->batch, k->in, k->out, NULL), WM_OK);
}

START_TEST(grad_linear) {
    LinearCase k = {.batch = 4, .in = 6, .out = 5};
    GcProblem p = problem(&k, linear_fwd, linear_bwd);
    k.x = buffer(24), k.w = buffer(30), k.b = buffer(5), k.y = buffer(20);
    fill_normal(k.x, 24, 1.0f, 1), fill_normal(k.w, 30, 0.5f, 2), fill_normal(k.b, 5, 0.5f, 3);
    add_input(&p, "x", k.x, 24), add_input(&p, "weight", k.w, 30), add_input(&p, "bias", k.b, 5);
    add_output(&p, k.y, 20);
    k.dx = p.inputs[0].grad, k.dw = p.inputs[1].grad, k.db = p.inputs[2].grad, k.dy = p.outputs[0].grad;
    expect_gradients(&p, "linear");
    free_buffers();
}
END_TEST

/* ---- conv2d and transposed conv2d ---- */
typedef struct {
    WmDnnl dnnl;
    WmConv conv;
    float *x, *w, *b, *y, *dx, *dw, *db, *dy;
} ConvCase;

static void conv_fwd(void *c) {
    ConvCase *k = c;
    WmError err = {0};
    ck_assert_msg(conv_forward(&k->conv, &k->dnnl, k->y, k->x, k->w, k->b, &err) == WM_OK, "%s", err.message);
}
static void conv_bwd(void *c) {
    ConvCase *k = c;
    WmError err = {0};
    ck_assert_msg(conv_backward(&k->conv, &k->dnnl, k->dx, k->dw, k->db, k->dy, k->x, k->w, &err) == WM_OK, "%s",
                  err.message);
}

static const WmConvShape CONV_GRAD_SHAPES[] = {
    {.batch = 2, .in_channels = 3, .in_height = 9, .in_width = 7, .out_channels = 4, .kernel = 3, .stride = 2,
     .padding = 1},
    {.batch = 2, .in_channels = 2, .in_height = 10, .in_width = 10, .out_channels = 3, .kernel = 4, .stride = 2},
    {.batch = 2, .in_channels = 3, .in_height = 1, .in_width = 1, .out_channels = 2, .kernel = 5, .stride = 2,
     .transposed = 1},
    {.batch = 2, .in_channels = 2, .in_height = 4, .in_width = 3, .out_channels = 3, .kernel = 6, .stride = 2,
     .transposed = 1},
};

START_TEST(grad_conv) {
    const WmConvShape *s = &CONV_GRAD_SHAPES[_i];
    ConvCase k;
    WmError err = {0};
    ck_assert_int_eq(dnnl_ctx_init(&k.dnnl, &err), WM_OK);
    ck_assert_msg(conv_init(&k.conv, &k.dnnl, s, &err) == WM_OK, "%s", err.message);
    size_t nx = (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
    size_t nw = (size_t)s->out_channels * s->in_channels * s->kernel * s->kernel;
    size_t ny = (size_t)s->batch * s->out_channels * k.conv.out_height * k.conv.out_width;
    GcProblem p = problem(&k, conv_fwd, conv_bwd);
    k.x = buffer(nx), k.w = buffer(nw), k.b = buffer(s->out_channels), k.y = buffer(ny);
    fill_normal(k.x, nx, 1.0f, 4), fill_normal(k.w, nw, 0.3f, 5), fill_normal(k.b, s->out_channels, 0.3f, 6);
    add_input(&p, "x", k.x, nx), add_input(&p, "weight", k.w, nw), add_input(&p, "bias", k.b, s->out_channels);
    add_output(&p, k.y, ny);
    k.dx = p.inputs[0].grad, k.dw = p.inputs[1].grad, k.db = p.inputs[2].grad, k.dy = p.outputs[0].grad;
    p.atol = 5e-3;
    expect_gradients(&p, s->transposed ? "transposed conv2d" : "conv2d");
    conv_free(&k.conv);
    dnnl_ctx_free(&k.dnnl);
    free_buffers();
}
END_TEST

/* ---- a dense map onto a grid (the decoder's first layer) ---- */
typedef struct {
    WmGridShape shape;
    float *x, *w, *b, *y, *dx, *dw, *db, *dy, *scratch;
} GridCase;

static void grid_fwd(void *c) {
    GridCase *k = c;
    ck_assert_int_eq(grid_forward(&k->shape, k->y, k->x, k->w, k->b, k->scratch, NULL), WM_OK);
}
static void grid_bwd(void *c) {
    GridCase *k = c;
    ck_assert_int_eq(grid_backward(&k->shape, k->dx, k->dw, k->db, k->dy, k->x, k->w, k->scratch, NULL), WM_OK);
}

START_TEST(grad_grid) {
    GridCase k = {.shape = {3, 6, 4, 3}};
    const size_t nx = 18, nw = 4 * 6 * 9, ny = 3 * 4 * 9;
    GcProblem p = problem(&k, grid_fwd, grid_bwd);
    k.x = buffer(nx), k.w = buffer(nw), k.b = buffer(4), k.y = buffer(ny), k.scratch = buffer(nw);
    fill_normal(k.x, nx, 1.0f, 60), fill_normal(k.w, nw, 0.3f, 61), fill_normal(k.b, 4, 0.3f, 62);
    add_input(&p, "x", k.x, nx), add_input(&p, "weight", k.w, nw), add_input(&p, "bias", k.b, 4);
    add_output(&p, k.y, ny);
    k.dx = p.inputs[0].grad, k.dw = p.inputs[1].grad, k.db = p.inputs[2].grad, k.dy = p.outputs[0].grad;
    expect_gradients(&p, "grid");
    free_buffers();
}
END_TEST

/* ---- activations ---- */
typedef struct {
    WmActivation kind;
    size_t n;
    float *x, *y, *dx, *dy;
} ActCase;

static void act_fwd(void *c) {
    ActCase *k = c;
    act_forward(k->kind, k->y, k->x, k->n);
}

/* One activation through the harness with a backward. */
static void check_activation(WmActivation kind, void (*backward)(void *), unsigned stream) {
    ActCase k = {.kind = kind, .n = 40};
    GcProblem p = problem(&k, act_fwd, backward);
    k.x = buffer(k.n), k.y = buffer(k.n);
    fill_normal(k.x, k.n, 2.0f, stream);
    push_away_from(k.x, k.n, 0.0f, 0.05f);
    add_input(&p, "x", k.x, k.n);
    add_output(&p, k.y, k.n);
    k.dx = p.inputs[0].grad, k.dy = p.outputs[0].grad;
    p.eps = 1e-3;
    expect_gradients(&p, act_name(k.kind));
    free_buffers();
}

/* The in-place backward that reads the slope from the output: dx += (dy * f'(y)), through a copy of dy. */
static void act_from_output_bwd(void *c) {
    ActCase *k = c;
    float *scaled = malloc(k->n * sizeof *scaled);
    memcpy(scaled, k->dy, k->n * sizeof *scaled);
    WmError err = {0};
    ck_assert_int_eq(act_backward_from_output(k->kind, scaled, k->y, k->n, &err), WM_OK);
    for (size_t i = 0; i < k->n; i++) k->dx[i] += scaled[i];
    free(scaled);
}

START_TEST(grad_activation_from_output) {
    static const WmActivation kinds[] = {WM_ACT_RELU, WM_ACT_ELU, WM_ACT_TANH, WM_ACT_SIGMOID};
    check_activation(kinds[_i], act_from_output_bwd, 8);
    float dy = 1.0f, y = 0.5f;
    WmError err = {0};
    ck_assert_int_ne(act_backward_from_output(WM_ACT_SOFTPLUS, &dy, &y, 1, &err), WM_OK);
    ck_assert_ptr_nonnull(strstr(err.message, "softplus"));
}
END_TEST

/* The backward that reads the slope from the input: silu and softplus need it; the others agree with their
 * from-output form. */
static void act_from_input_bwd(void *c) {
    ActCase *k = c;
    float *scaled = malloc(k->n * sizeof *scaled);
    memcpy(scaled, k->dy, k->n * sizeof *scaled);
    act_backward_from_input(k->kind, scaled, k->x, k->n);
    for (size_t i = 0; i < k->n; i++) k->dx[i] += scaled[i];
    free(scaled);
}

START_TEST(grad_activation_from_input) {
    static const WmActivation kinds[] = {WM_ACT_SILU, WM_ACT_SOFTPLUS, WM_ACT_RELU, WM_ACT_ELU, WM_ACT_TANH,
                                         WM_ACT_SIGMOID};
    check_activation(kinds[_i], act_from_input_bwd, 8);
    ck_assert_int_eq(act_needs_input(kinds[_i]), kinds[_i] == WM_ACT_SILU || kinds[_i] == WM_ACT_SOFTPLUS);
}
END_TEST

/* ---- layer norm ---- */
typedef struct {
    size_t rows;
    int width;
    float *x, *gamma, *beta, *y, *xhat, *rstd, *dx, *dgamma, *dbeta, *dy;
} NormCase;

static void norm_fwd(void *c) {
    NormCase *k = c;
    layer_norm_forward(k->y, k->xhat, k->rstd, k->x, k->gamma, k->beta, k->rows, k->width);
}
static void norm_bwd(void *c) { /* the op writes dx; the harness wants it added */
    NormCase *k = c;
    float *dx = malloc(k->rows * k->width * sizeof *dx);
    layer_norm_backward(dx, k->dgamma, k->dbeta, k->dy, k->xhat, k->rstd, k->gamma, k->rows, k->width);
    for (size_t i = 0; i < k->rows * k->width; i++) k->dx[i] += dx[i];
    free(dx);
}

START_TEST(grad_layer_norm) {
    NormCase k = {.rows = 4, .width = 7};
    GcProblem p = problem(&k, norm_fwd, norm_bwd);
    k.x = buffer(28), k.gamma = buffer(7), k.beta = buffer(7), k.y = buffer(28), k.xhat = buffer(28),
    k.rstd = buffer(4);
    fill_normal(k.x, 28, 1.5f, 67), fill_uniform(k.gamma, 7, 0.5f, 1.5f, 68), fill_normal(k.beta, 7, 0.3f, 69);
    add_input(&p, "x", k.x, 28), add_input(&p, "gamma", k.gamma, 7), add_input(&p, "beta", k.beta, 7);
    add_output(&p, k.y, 28);
    k.dx = p.inputs[0].grad, k.dgamma = p.inputs[1].grad, k.dbeta = p.inputs[2].grad, k.dy = p.outputs[0].grad;
    p.eps = 1e-3;
    expect_gradients(&p, "layer norm");
    /* Each row's xhat has mean 0 and variance var / (var + eps) < 1. */
    norm_fwd(&k);
    for (int r = 0; r < 4; r++) {
        double mean = 0.0;
        for (int i = 0; i < 7; i++) mean += k.xhat[r * 7 + i];
        ck_assert_double_eq_tol(mean / 7, 0.0, 1e-6);
    }
    free_buffers();
}
END_TEST

/* ---- GRU cell ---- */
typedef struct {
    int batch, in, hidden;
    WmArena scratch;
    float *x, *h, *wih, *whh, *bih, *bhh, *h_next, *cache, *scale, *offset; /* scale, offset: the normalised cell */
    float *dx, *dh, *dwih, *dwhh, *dbih, *dbhh, *dh_next, *dscale, *doffset;
} GruCase;

static WmGruWeights gru_weights(const GruCase *k) {
    return (WmGruWeights){k->wih, k->whh, k->bih, k->bhh, k->scale, k->offset};
}

static void gru_fwd(void *c) {
    GruCase *k = c;
    WmGruWeights w = gru_weights(k);
    ck_assert_int_eq(gru_forward(k->h_next, k->cache, k->x, k->h, &w, k->batch, k->in, k->hidden, NULL), WM_OK);
}
static void gru_bwd(void *c) {
    GruCase *k = c;
    WmGruWeights w = gru_weights(k);
    WmGruGrads g = {k->dwih, k->dwhh, k->dbih, k->dbhh, k->dscale, k->doffset};
    WmError err = {0};
    ck_assert_msg(gru_backward(k->dx, k->dh, &g, k->dh_next, k->cache, k->x, k->h, &w, k->batch, k->in, k->hidden,
                               &k->scratch, &err) == WM_OK,
                  "%s", err.message);
}

/* _i: 0 PyTorch's cell, 1 DreamerV3's normalised one (with its gain and offset). */
START_TEST(grad_gru) {
    GruCase k = {.batch = 3, .in = 4, .hidden = 5};
    arena_init(&k.scratch, "gru scratch");
    GcProblem p = problem(&k, gru_fwd, gru_bwd);
    int g = 3 * k.hidden;
    k.x = buffer(12), k.h = buffer(15), k.wih = buffer(g * 4), k.whh = buffer(g * 5), k.bih = buffer(g);
    k.bhh = buffer(g), k.h_next = buffer(15), k.cache = buffer(gru_cache_floats(3, 5));
    fill_normal(k.x, 12, 1.0f, 8), fill_normal(k.h, 15, 0.5f, 9), fill_normal(k.wih, g * 4, 0.5f, 10);
    fill_normal(k.whh, g * 5, 0.5f, 11), fill_normal(k.bih, g, 0.3f, 12), fill_normal(k.bhh, g, 0.3f, 13);
    add_input(&p, "x", k.x, 12), add_input(&p, "h", k.h, 15), add_input(&p, "weight_ih", k.wih, g * 4);
    add_input(&p, "weight_hh", k.whh, g * 5), add_input(&p, "bias_ih", k.bih, g), add_input(&p, "bias_hh", k.bhh, g);
    add_output(&p, k.h_next, 15);
    k.dx = p.inputs[0].grad, k.dh = p.inputs[1].grad, k.dwih = p.inputs[2].grad, k.dwhh = p.inputs[3].grad;
    k.dbih = p.inputs[4].grad, k.dbhh = p.inputs[5].grad, k.dh_next = p.outputs[0].grad;
    if (_i) {
        k.scale = buffer(g), k.offset = buffer(g);
        fill_uniform(k.scale, g, 0.5f, 1.5f, 14), fill_normal(k.offset, g, 0.3f, 15);
        add_input(&p, "norm_scale", k.scale, g), add_input(&p, "norm_offset", k.offset, g);
        k.dscale = p.inputs[6].grad, k.doffset = p.inputs[7].grad;
    }
    p.eps = 1e-3;
    expect_gradients(&p, _i ? "normalised gru" : "gru");
    ck_assert_int_eq(k.scratch.used, 0); /* backward handed its scratch back */
    arena_free(&k.scratch);
    free_buffers();
}
END_TEST

/* ---- concat ---- */
enum { JOIN_BATCH = 3, JOIN_PARTS = 3, JOIN_TOTAL = 9 };
static const int JOIN_WIDTHS[JOIN_PARTS] = {2, 3, 4};

typedef struct {
    float *parts[JOIN_PARTS], *dparts[JOIN_PARTS], *joined, *djoined;
} JoinCase;

static void concat_fwd(void *c) {
    JoinCase *k = c;
    concat_forward(k->joined, (const float *const *)k->parts, JOIN_WIDTHS, JOIN_PARTS, JOIN_BATCH);
}
static void concat_bwd(void *c) {
    JoinCase *k = c;
    concat_backward(k->dparts, k->djoined, JOIN_WIDTHS, JOIN_PARTS, JOIN_BATCH);
}

START_TEST(grad_concat) {
    JoinCase k;
    GcProblem p = problem(&k, concat_fwd, concat_bwd);
    for (int j = 0; j < JOIN_PARTS; j++) {
        size_t n = (size_t)JOIN_BATCH * JOIN_WIDTHS[j];
        k.parts[j] = buffer(n);
        fill_normal(k.parts[j], n, 1.0f, 20 + j);
        add_input(&p, "part", k.parts[j], n);
        k.dparts[j] = p.inputs[j].grad;
    }
    k.joined = buffer(JOIN_BATCH * JOIN_TOTAL);
    add_output(&p, k.joined, JOIN_BATCH * JOIN_TOTAL);
    k.djoined = p.outputs[0].grad;
    expect_gradients(&p, "concat");
    free_buffers();
}
END_TEST

/* ---- losses ---- */
typedef struct {
    size_t n;
    int batch, dim;
    float std_fixed, free_nats;
    double loss;
    float dloss;
    float *a, *b, *c, *d, *da, *db, *dc, *dd, *out, *dout;
} LossCase;

static void ll_fixed_fwd(void *c) {
    LossCase *k = c;
    k->loss = gauss_ll_fixed_forward(k->a, k->b, k->n, k->std_fixed);
}
static void ll_fixed_bwd(void *c) {
    LossCase *k = c;
    gauss_ll_fixed_backward(k->da, k->a, k->b, k->n, k->std_fixed, k->dloss);
}

START_TEST(grad_gauss_ll_fixed) {
    LossCase k = {.n = 30, .std_fixed = 0.7f};
    GcProblem p = problem(&k, ll_fixed_fwd, ll_fixed_bwd);
    k.a = buffer(30), k.b = buffer(30);
    fill_normal(k.a, 30, 1.0f, 30), fill_normal(k.b, 30, 1.0f, 31);
    add_input(&p, "mean", k.a, 30);
    k.da = p.inputs[0].grad;
    p.scalar = &k.loss, p.scalar_grad = &k.dloss;
    expect_gradients(&p, "gaussian log-likelihood, fixed std");
    /* The in-place form writes over the mean exactly what the accumulating one adds to zero. */
    float *in_place = buffer(30), *accumulated = buffer(30);
    memcpy(in_place, k.a, 30 * sizeof(float));
    memset(accumulated, 0, 30 * sizeof(float));
    gauss_ll_fixed_backward(accumulated, k.a, k.b, 30, 0.7f, -0.3f);
    gauss_ll_fixed_gradient_in_place(in_place, k.b, 30, 0.7f, -0.3f);
    ck_assert_mem_eq(in_place, accumulated, 30 * sizeof(float));
    free_buffers();
}
END_TEST

static void kl_fwd(void *c) {
    LossCase *k = c;
    kl_diag_gauss_forward(k->out, k->a, k->b, k->c, k->d, k->batch, k->dim);
}
static void kl_bwd(void *c) {
    LossCase *k = c;
    kl_diag_gauss_backward(k->da, k->db, k->dc, k->dd, k->dout, k->a, k->b, k->c, k->d, k->batch, k->dim);
}

START_TEST(grad_kl) {
    LossCase k = {.batch = 3, .dim = 4};
    GcProblem p = problem(&k, kl_fwd, kl_bwd);
    k.a = buffer(12), k.b = buffer(12), k.c = buffer(12), k.d = buffer(12), k.out = buffer(3);
    fill_normal(k.a, 12, 1.0f, 35), fill_uniform(k.b, 12, 0.4f, 1.5f, 36);
    fill_normal(k.c, 12, 1.0f, 37), fill_uniform(k.d, 12, 0.4f, 1.5f, 38);
    add_input(&p, "mean_q", k.a, 12), add_input(&p, "std_q", k.b, 12);
    add_input(&p, "mean_p", k.c, 12), add_input(&p, "std_p", k.d, 12);
    add_output(&p, k.out, 3);
    k.da = p.inputs[0].grad, k.db = p.inputs[1].grad, k.dc = p.inputs[2].grad, k.dd = p.inputs[3].grad;
    k.dout = p.outputs[0].grad;
    p.eps = 1e-3;
    expect_gradients(&p, "kl divergence");
    /* KL of a distribution with itself is zero, and KL is never negative. */
    kl_diag_gauss_forward(k.out, k.a, k.b, k.a, k.b, 3, 4);
    for (int b = 0; b < 3; b++) ck_assert_float_eq_tol(k.out[b], 0.0f, 1e-6f);
    kl_fwd(&k);
    for (int b = 0; b < 3; b++) ck_assert_float_gt(k.out[b], 0.0f);
    free_buffers();
}
END_TEST

static void free_nats_fwd(void *c) {
    LossCase *k = c;
    free_nats_forward(k->out, k->a, k->n, k->free_nats);
}
static void free_nats_bwd(void *c) {
    LossCase *k = c;
    free_nats_backward(k->da, k->dout, k->a, k->n, k->free_nats);
}

START_TEST(grad_free_nats) {
    LossCase k = {.n = 40, .free_nats = 3.0f};
    GcProblem p = problem(&k, free_nats_fwd, free_nats_bwd);
    k.a = buffer(40), k.out = buffer(40);
    fill_uniform(k.a, 40, 1.0f, 5.0f, 39);
    push_away_from(k.a, 40, 3.0f, 0.05f);
    add_input(&p, "kl", k.a, 40);
    add_output(&p, k.out, 40);
    k.da = p.inputs[0].grad, k.dout = p.outputs[0].grad;
    p.eps = 1e-3;
    expect_gradients(&p, "free nats");
    free_buffers();
}
END_TEST


/* ---- reparameterised sampling ---- */
typedef struct {
    size_t n;
    float min_std;
    float *mean, *raw, *noise, *z, *std, *dmean, *draw, *dz, *dstd;
} SampleCase;

static void sample_fwd(void *c) {
    SampleCase *k = c;
    gauss_sample_forward(k->z, k->std, k->mean, k->raw, k->noise, k->n, k->min_std);
}
static void sample_bwd(void *c) {
    SampleCase *k = c;
    gauss_sample_backward(k->dmean, k->draw, k->dz, k->dstd, k->raw, k->noise, k->n);
}

START_TEST(grad_sample) {
    SampleCase k = {.n = 30, .min_std = 0.1f};
    GcProblem p = problem(&k, sample_fwd, sample_bwd);
    k.mean = buffer(30), k.raw = buffer(30), k.noise = buffer(30), k.z = buffer(30), k.std = buffer(30);
    fill_normal(k.mean, 30, 1.0f, 42), fill_normal(k.raw, 30, 2.0f, 43), fill_normal(k.noise, 30, 1.0f, 44);
    add_input(&p, "mean", k.mean, 30), add_input(&p, "raw_std", k.raw, 30);
    add_output(&p, k.z, 30), add_output(&p, k.std, 30);
    k.dmean = p.inputs[0].grad, k.draw = p.inputs[1].grad, k.dz = p.outputs[0].grad, k.dstd = p.outputs[1].grad;
    p.eps = 1e-3;
    expect_gradients(&p, "gaussian sample");
    sample_fwd(&k);
    for (int i = 0; i < 30; i++) ck_assert_float_gt(k.std[i], k.min_std);
    free_buffers();
}
END_TEST

/* A prior needs only the std: z and noise NULL. */
static void std_only_fwd(void *c) {
    SampleCase *k = c;
    gauss_sample_forward(NULL, k->std, k->mean, k->raw, NULL, k->n, k->min_std);
}
static void std_only_bwd(void *c) {
    SampleCase *k = c;
    gauss_sample_backward(NULL, k->draw, NULL, k->dstd, k->raw, NULL, k->n);
}

START_TEST(grad_std_only) {
    SampleCase k = {.n = 30, .min_std = 0.1f};
    GcProblem p = problem(&k, std_only_fwd, std_only_bwd);
    k.mean = buffer(30), k.raw = buffer(30), k.std = buffer(30);
    fill_normal(k.raw, 30, 2.0f, 45);
    add_input(&p, "raw_std", k.raw, 30);
    add_output(&p, k.std, 30);
    k.draw = p.inputs[0].grad, k.dstd = p.outputs[0].grad;
    p.eps = 1e-3;
    expect_gradients(&p, "std from raw");
    free_buffers();
}
END_TEST

/* ---- categorical latents and twohot heads (DreamerV3) ---- */
enum { CAT_ROWS = 3, CAT_GROUPS = 2, CAT_CLASSES = 5, CAT_DIM = CAT_GROUPS * CAT_CLASSES, CAT_N = CAT_ROWS * CAT_DIM };

typedef struct {
    float unimix;
    int grad_q, grad_p; /* which side the KL's backward reaches (0: a stop-gradient there) */
    float *logits_q, *logits_p, *probs_q, *probs_p, *kl;
    float *dlogits_q, *dlogits_p, *dkl;
} CategoricalCase;

static void categorical_probs_fwd(void *c) {
    CategoricalCase *k = c;
    categorical_probs_forward(k->probs_q, k->logits_q, CAT_ROWS * CAT_GROUPS, CAT_CLASSES, k->unimix);
}
static void categorical_probs_bwd(void *c) {
    CategoricalCase *k = c;
    categorical_probs_backward(k->dlogits_q, k->dkl, k->probs_q, CAT_ROWS * CAT_GROUPS, CAT_CLASSES, k->unimix);
}

START_TEST(grad_categorical_probs) {
    CategoricalCase k = {.unimix = 0.01f};
    GcProblem p = problem(&k, categorical_probs_fwd, categorical_probs_bwd);
    k.logits_q = buffer(CAT_N), k.probs_q = buffer(CAT_N);
    fill_normal(k.logits_q, CAT_N, 2.0f, 60);
    add_input(&p, "logits", k.logits_q, CAT_N);
    add_output(&p, k.probs_q, CAT_N);
    k.dlogits_q = p.inputs[0].grad, k.dkl = p.outputs[0].grad;
    p.eps = 1e-3;
    expect_gradients(&p, "softmax with unimix");
    categorical_probs_fwd(&k);
    for (int g = 0; g < CAT_ROWS * CAT_GROUPS; g++) {
        float sum = 0.0f;
        for (int c = 0; c < CAT_CLASSES; c++) {
            ck_assert_float_ge(k.probs_q[g * CAT_CLASSES + c], k.unimix / CAT_CLASSES);
            sum += k.probs_q[g * CAT_CLASSES + c];
        }
        ck_assert_float_eq_tol(sum, 1.0f, 1e-6f);
    }
    free_buffers();
}
END_TEST

/* logits -> probs (with unimix) -> KL(q || p), each side reached only when asked: the dynamics loss is
 * KL(sg(q) || p), the representation loss KL(q || sg(p)). */
static void categorical_kl_fwd(void *c) {
    CategoricalCase *k = c;
    categorical_probs_forward(k->probs_q, k->logits_q, CAT_ROWS * CAT_GROUPS, CAT_CLASSES, k->unimix);
    categorical_probs_forward(k->probs_p, k->logits_p, CAT_ROWS * CAT_GROUPS, CAT_CLASSES, k->unimix);
    kl_categorical_forward(k->kl, k->probs_q, k->probs_p, CAT_ROWS, CAT_DIM);
}
static void categorical_kl_bwd(void *c) {
    CategoricalCase *k = c;
    float dprobs_q[CAT_N] = {0}, dprobs_p[CAT_N] = {0};
    kl_categorical_backward(k->grad_q ? dprobs_q : NULL, k->grad_p ? dprobs_p : NULL, k->dkl, k->probs_q, k->probs_p,
                            CAT_ROWS, CAT_DIM);
    if (k->grad_q)
        categorical_probs_backward(k->dlogits_q, dprobs_q, k->probs_q, CAT_ROWS * CAT_GROUPS, CAT_CLASSES, k->unimix);
    if (k->grad_p)
        categorical_probs_backward(k->dlogits_p, dprobs_p, k->probs_p, CAT_ROWS * CAT_GROUPS, CAT_CLASSES, k->unimix);
}

/* _i: 0 both sides, 1 the posterior only (representation), 2 the prior only (dynamics); unimix 0.01 and 0. */
START_TEST(grad_categorical_kl) {
    CategoricalCase k = {.unimix = _i % 2 ? 0.0f : 0.01f, .grad_q = _i / 2 != 2, .grad_p = _i / 2 != 1};
    GcProblem p = problem(&k, categorical_kl_fwd, categorical_kl_bwd);
    k.logits_q = buffer(CAT_N), k.logits_p = buffer(CAT_N), k.probs_q = buffer(CAT_N), k.probs_p = buffer(CAT_N);
    k.kl = buffer(CAT_ROWS);
    fill_normal(k.logits_q, CAT_N, 1.5f, 61), fill_normal(k.logits_p, CAT_N, 1.5f, 62);
    if (k.grad_q) add_input(&p, "logits_q", k.logits_q, CAT_N), k.dlogits_q = p.inputs[p.input_count - 1].grad;
    if (k.grad_p) add_input(&p, "logits_p", k.logits_p, CAT_N), k.dlogits_p = p.inputs[p.input_count - 1].grad;
    add_output(&p, k.kl, CAT_ROWS);
    k.dkl = p.outputs[0].grad;
    p.eps = 1e-3;
    expect_gradients(&p, "categorical kl");
    /* Against itself zero, else positive. */
    kl_categorical_forward(k.kl, k.probs_q, k.probs_q, CAT_ROWS, CAT_DIM);
    for (int b = 0; b < CAT_ROWS; b++) ck_assert_float_eq_tol(k.kl[b], 0.0f, 1e-6f);
    categorical_kl_fwd(&k);
    for (int b = 0; b < CAT_ROWS; b++) ck_assert_float_gt(k.kl[b], 0.0f);
    free_buffers();
}
END_TEST

/* The one-hot draw: one class per group, picked by inverse CDF at Phi(noise), so over many normal draws each class
 * comes up as often as its probability says. */
START_TEST(categorical_sample_draws_each_class_at_its_probability) {
    enum { DRAWS = 20000 };
    const float probs[CAT_CLASSES] = {0.05f, 0.4f, 0.1f, 0.3f, 0.15f};
    float *noise = buffer((size_t)DRAWS * CAT_CLASSES), z[CAT_CLASSES];
    fill_normal(noise, (size_t)DRAWS * CAT_CLASSES, 1.0f, 63);
    int counts[CAT_CLASSES] = {0};
    for (int d = 0; d < DRAWS; d++) {
        categorical_sample_forward(z, probs, noise + (size_t)d * CAT_CLASSES, 1, CAT_CLASSES);
        float ones = 0.0f;
        for (int c = 0; c < CAT_CLASSES; c++) ones += z[c], counts[c] += z[c] == 1.0f;
        ck_assert_float_eq(ones, 1.0f);
    }
    for (int c = 0; c < CAT_CLASSES; c++) /* 4 standard errors at most */
        ck_assert_float_eq_tol((float)counts[c] / DRAWS, probs[c],
                               4.0f * sqrtf(probs[c] * (1.0f - probs[c]) / DRAWS));
    categorical_mode(z, probs, 1, CAT_CLASSES);
    ck_assert_float_eq(z[1], 1.0f);
    free_buffers();
}
END_TEST

typedef struct {
    WmTwohot t;
    int batch;
    float *logits, *targets, *loss, *dlogits, *dloss, *x, *y, *dx, *dy;
} TwohotCase;

static void twohot_fwd(void *c) {
    TwohotCase *k = c;
    twohot_loss_forward(&k->t, k->loss, k->logits, k->targets, k->batch);
}
static void twohot_bwd(void *c) {
    TwohotCase *k = c;
    twohot_loss_backward(&k->t, k->dlogits, k->dloss, k->logits, k->targets, k->batch);
}

START_TEST(grad_twohot_cross_entropy) {
    TwohotCase k = {.t = {41, -20.0f, 20.0f}, .batch = 5};
    GcProblem p = problem(&k, twohot_fwd, twohot_bwd);
    k.logits = buffer(5 * 41), k.targets = buffer(5), k.loss = buffer(5);
    fill_normal(k.logits, 5 * 41, 1.0f, 64);
    const float targets[5] = {0.0f, 1.3f, -7.5f, 250.0f,
                              1e12f}; /* a bin, between bins, negative, large, past the end */
    memcpy(k.targets, targets, sizeof targets);
    add_input(&p, "logits", k.logits, 5 * 41);
    add_output(&p, k.loss, 5);
    k.dlogits = p.inputs[0].grad, k.dloss = p.outputs[0].grad;
    p.eps = 1e-3, p.max_checks = 205;
    expect_gradients(&p, "twohot cross-entropy");
    /* The encoding puts weight 1 on two neighbouring bins and decodes back to the value. */
    float target[41];
    for (int i = 0; i < 4; i++) {
        twohot_encode(&k.t, target, targets[i]);
        float sum = 0.0f, mean = 0.0f;
        for (int b = 0; b < 41; b++) sum += target[b], mean += target[b] * twohot_bin(&k.t, b);
        ck_assert_float_eq_tol(sum, 1.0f, 1e-6f);
        ck_assert_float_eq_tol(symexp(mean), targets[i], 1e-4f * (1.0f + fabsf(targets[i])));
    }
    free_buffers();
}
END_TEST

static void twohot_predict_fwd(void *c) {
    TwohotCase *k = c;
    twohot_predict(&k->t, k->y, k->logits, k->batch);
}
static void twohot_predict_bwd(void *c) {
    TwohotCase *k = c;
    twohot_predict_backward(&k->t, k->dlogits, k->dy, k->logits, k->batch);
}

/* The prediction symexp(E[bin]), as imagination backpropagates a reward through it. */
START_TEST(grad_twohot_prediction) {
    TwohotCase k = {.t = {21, -5.0f, 5.0f}, .batch = 4};
    GcProblem p = problem(&k, twohot_predict_fwd, twohot_predict_bwd);
    k.logits = buffer(4 * 21), k.y = buffer(4);
    fill_normal(k.logits, 4 * 21, 1.0f, 66);
    add_input(&p, "logits", k.logits, 4 * 21);
    add_output(&p, k.y, 4);
    k.dlogits = p.inputs[0].grad, k.dy = p.outputs[0].grad;
    p.eps = 1e-3, p.max_checks = 84;
    expect_gradients(&p, "twohot prediction");
    free_buffers();
}
END_TEST

static void symlog_fwd(void *c) {
    TwohotCase *k = c;
    symlog_forward(k->y, k->x, (size_t)k->batch);
}
static void symlog_bwd(void *c) {
    TwohotCase *k = c;
    symlog_backward(k->dx, k->dy, k->x, (size_t)k->batch);
}
static void symexp_fwd(void *c) {
    TwohotCase *k = c;
    symexp_forward(k->y, k->x, (size_t)k->batch);
}
static void symexp_bwd(void *c) {
    TwohotCase *k = c;
    symexp_backward(k->dx, k->dy, k->x, (size_t)k->batch);
}

/* _i: 0 symlog, 1 symexp. */
START_TEST(grad_symlog_symexp) {
    TwohotCase k = {.batch = 30};
    GcProblem p = _i ? problem(&k, symexp_fwd, symexp_bwd) : problem(&k, symlog_fwd, symlog_bwd);
    k.x = buffer(30), k.y = buffer(30);
    fill_normal(k.x, 30, _i ? 1.5f : 20.0f, 65);
    push_away_from(k.x, 30, 0.0f, 0.05f); /* |x| has a kink at 0 */
    add_input(&p, "x", k.x, 30);
    add_output(&p, k.y, 30);
    k.dx = p.inputs[0].grad, k.dy = p.outputs[0].grad;
    p.eps = 1e-3;
    expect_gradients(&p, _i ? "symexp" : "symlog");
    for (int i = 0; i < 30; i++) ck_assert_float_eq_tol(symexp(symlog(k.x[i])), k.x[i], 1e-5f * (1.0f + fabsf(k.x[i])));
    free_buffers();
}
END_TEST

/* The harness itself must be able to fail: a backward that drops a factor is caught. */
static void broken_linear_bwd(void *c) {
    LinearCase *k = c;
    linear_bwd(c);
    k->db[0] += 0.5f;
}

START_TEST(gradcheck_catches_a_wrong_gradient) {
    LinearCase k = {.batch = 2, .in = 3, .out = 2};
    GcProblem p = problem(&k, linear_fwd, broken_linear_bwd);
    k.x = buffer(6), k.w = buffer(6), k.b = buffer(2), k.y = buffer(4);
    fill_normal(k.x, 6, 1.0f, 50), fill_normal(k.w, 6, 1.0f, 51);
    add_input(&p, "x", k.x, 6), add_input(&p, "weight", k.w, 6), add_input(&p, "bias", k.b, 2);
    add_output(&p, k.y, 4);
    k.dx = p.inputs[0].grad, k.dw = p.inputs[1].grad, k.db = p.inputs[2].grad, k.dy = p.outputs[0].grad;
    char report[256];
    ck_assert_int_ne(gradcheck_run(&p, report, sizeof report), 0);
    ck_assert_ptr_nonnull(strstr(report, "'bias' index 0"));
    free_buffers();
}
END_TEST

static Suite *grad_suite(void) {
    Suite *suite = suite_create("ops gradients");
    TCase *tc = tcase_create("central differences");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, grad_linear);
    tcase_add_loop_test(tc, grad_conv, 0, (int)(sizeof CONV_GRAD_SHAPES / sizeof CONV_GRAD_SHAPES[0]));
    tcase_add_test(tc, grad_grid);
    tcase_add_loop_test(tc, grad_activation_from_output, 0, 4);
    tcase_add_loop_test(tc, grad_activation_from_input, 0, 6);
    tcase_add_test(tc, grad_layer_norm);
    tcase_add_loop_test(tc, grad_gru, 0, 2);
    tcase_add_test(tc, grad_concat);
    tcase_add_test(tc, grad_gauss_ll_fixed);
    tcase_add_test(tc, grad_kl);
    tcase_add_test(tc, grad_free_nats);
    tcase_add_test(tc, grad_sample);
    tcase_add_test(tc, grad_std_only);
    tcase_add_test(tc, grad_categorical_probs);
    tcase_add_loop_test(tc, grad_categorical_kl, 0, 6);
    tcase_add_test(tc, categorical_sample_draws_each_class_at_its_probability);
    tcase_add_test(tc, grad_twohot_cross_entropy);
    tcase_add_test(tc, grad_twohot_prediction);
    tcase_add_loop_test(tc, grad_symlog_symexp, 0, 2);
    tcase_add_test(tc, gradcheck_catches_a_wrong_gradient);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return check_run(grad_suite()); }
