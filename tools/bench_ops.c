/* `wm bench ops`: how close each layer of the PlaNet model runs to the machine's limit. Every op is timed at the
 * size a training step (B x L = 2500 frames) or a CEM decision (1000 candidates) gives it, beside dnnl_sgemm at
 * 1024^3, the best this CPU does with fp32 here. Each figure is the best of `repeats` runs after one warm-up: the
 * op at its best, as the PyTorch reference reports it. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "bench.h"
#include "core/machine.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/dnnl_ctx.h"
#include "core/rng.h"
#include "ops/conv.h"
#include "ops/gru.h"
#include "ops/linear.h"

typedef struct {
    int threads, repeats, frames, json;
    double sgemm_gflops;
    int rows;
    FILE *out;
} BenchOps;

typedef WmStatus (*BenchPass)(void *ctx, WmError *err);

static float *random_floats(size_t n, uint64_t stream) {
    float *x = wm_aligned_alloc(n * sizeof *x);
    if (x == NULL) return NULL;
    WmRng rng = rng_stream(2024, stream);
    rng_fill_normal(&rng, x, n, 0.0f, 0.1f);
    return x;
}

static WmStatus time_best(BenchPass pass, void *ctx, int repeats, double *seconds, WmError *err) {
    if (pass(ctx, err)) return err->status; /* warm-up: first touches, JIT, caches */
    double best = 1e30;
    for (int r = 0; r < repeats; r++) {
        double start = wm_clock_seconds();
        if (pass(ctx, err)) return err->status;
        double took = wm_clock_seconds() - start;
        if (took < best) best = took;
    }
    *seconds = best;
    return WM_OK;
}

static void report(BenchOps *b, const char *op, const char *shape, const char *pass, double flops, double seconds) {
    double gflops = flops / seconds * 1e-9;
    if (b->json) {
        fprintf(b->out,
                "%s{\"op\":\"%s\",\"shape\":\"%s\",\"pass\":\"%s\",\"ms\":%.3f,\"gflops\":%.1f,\"of_sgemm\":%.3f}",
                b->rows ? "," : "", op, shape, pass, seconds * 1e3, gflops, gflops / b->sgemm_gflops);
    } else {
        fprintf(b->out, "| %-15s | %-28s | %-16s | %9.2f | %8.1f | %5.0f%% |\n", op, shape, pass, seconds * 1e3, gflops,
                100.0 * gflops / b->sgemm_gflops);
        fflush(b->out);
    }
    b->rows++;
}

/* ---- sgemm ---- */
typedef struct {
    float *a, *b, *c;
    int n;
} SgemmCase;

static WmStatus sgemm_pass(void *ctx, WmError *err) {
    SgemmCase *k = ctx;
    dnnl_status_t status = dnnl_sgemm('N', 'N', k->n, k->n, k->n, 1.0f, k->a, k->n, k->b, k->n, 0.0f, k->c, k->n);
    if (status != dnnl_success) return wm_error_set(err, WM_ERR_DNNL, "dnnl_sgemm: %s", dnnl_status2str(status));
    return WM_OK;
}

WmStatus bench_sgemm_rate(int repeats, double *gflops, WmError *err) {
    SgemmCase k = {.n = 1024};
    size_t n = (size_t)k.n * k.n;
    k.a = random_floats(n, 1), k.b = random_floats(n, 2), k.c = random_floats(n, 3);
    double seconds = 0.0;
    WmStatus status = (k.a && k.b && k.c) ? time_best(sgemm_pass, &k, repeats, &seconds, err)
                                          : wm_error_set(err, WM_ERR_NOMEM, "bench: out of memory");
    if (status == WM_OK) *gflops = 2.0 * k.n * k.n * k.n / seconds * 1e-9;
    free(k.a), free(k.b), free(k.c);
    return status;
}

/* ---- convolutions ---- */
typedef struct {
    const WmDnnl *dnnl;
    WmConv conv;
    float *x, *w, *bias, *y, *dy, *dx, *dw, *dbias;
} ConvCase;

static WmStatus conv_forward_pass(void *ctx, WmError *err) {
    ConvCase *k = ctx;
    return conv_forward(&k->conv, k->dnnl, k->y, k->x, k->w, k->bias, err);
}
static WmStatus conv_data_pass(void *ctx, WmError *err) {
    ConvCase *k = ctx;
    return conv_backward_data(&k->conv, k->dnnl, k->dx, k->dy, k->w, err);
}
static WmStatus conv_weights_pass(void *ctx, WmError *err) {
    ConvCase *k = ctx;
    return conv_backward_weights(&k->conv, k->dnnl, k->dw, k->dbias, k->dy, k->x, err);
}

static WmStatus bench_conv(BenchOps *b, WmDnnl *dnnl, const char *name, WmConvShape shape, WmError *err) {
    ConvCase k;
    memset(&k, 0, sizeof k);
    k.dnnl = dnnl;
    shape.batch = b->frames;
    if (conv_init(&k.conv, dnnl, &shape, err)) return err->status;
    size_t nx = (size_t)shape.batch * shape.in_channels * shape.in_height * shape.in_width;
    size_t nw = (size_t)shape.out_channels * shape.in_channels * shape.kernel * shape.kernel;
    size_t ny = (size_t)shape.batch * shape.out_channels * k.conv.out_height * k.conv.out_width;
    k.x = random_floats(nx, 4), k.w = random_floats(nw, 5), k.bias = random_floats(shape.out_channels, 6);
    k.y = random_floats(ny, 7), k.dy = random_floats(ny, 8), k.dx = random_floats(nx, 9);
    k.dw = random_floats(nw, 10), k.dbias = random_floats(shape.out_channels, 11);
    char label[64];
    snprintf(label, sizeof label, "%dx%dx%dx%d -> %d k%d s%d", shape.batch, shape.in_channels, shape.in_height,
             shape.in_width, shape.out_channels, shape.kernel, shape.stride);
    double flops = conv_forward_flops(&shape), seconds = 0.0;
    WmStatus status = WM_OK;
    if (!(k.x && k.w && k.bias && k.y && k.dy && k.dx && k.dw && k.dbias))
        status = wm_error_set(err, WM_ERR_NOMEM, "bench %s: out of memory", name);
    const struct {
        const char *pass;
        BenchPass run;
    } passes[] = {{"forward", conv_forward_pass}, {"backward data", conv_data_pass},
                  {"backward weights", conv_weights_pass}};
    for (int p = 0; p < 3 && status == WM_OK; p++) {
        status = time_best(passes[p].run, &k, b->repeats, &seconds, err);
        if (status == WM_OK) report(b, name, label, passes[p].pass, flops, seconds);
    }
    float *all[] = {k.x, k.w, k.bias, k.y, k.dy, k.dx, k.dw, k.dbias};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    conv_free(&k.conv);
    return status;
}

/* ---- linear and GRU ---- */
typedef struct {
    int batch, in, out;
    float *x, *w, *bias, *y, *dy, *dx, *dw, *dbias, *cache;
    WmArena scratch;
} DenseCase;

static WmStatus linear_forward_pass(void *ctx, WmError *err) {
    DenseCase *k = ctx;
    return linear_forward(k->y, k->x, k->w, k->bias, k->batch, k->in, k->out, err);
}
static WmStatus linear_backward_pass(void *ctx, WmError *err) {
    DenseCase *k = ctx;
    return linear_backward(k->dx, k->dw, k->dbias, k->dy, k->x, k->w, k->batch, k->in, k->out, err);
}

/* The GRU keeps its input and hidden state in x (B, in + H): weight_ih then weight_hh sit in w. */
static WmGruWeights gru_weights_of(const DenseCase *k) {
    int hidden = k->out;
    return (WmGruWeights){k->w, k->w + (size_t)3 * hidden * k->in, k->bias, k->bias + 3 * hidden, NULL, NULL};
}
static WmStatus gru_forward_pass(void *ctx, WmError *err) {
    DenseCase *k = ctx;
    WmGruWeights w = gru_weights_of(k);
    return gru_forward(k->y, k->cache, k->x, k->x + (size_t)k->batch * k->in, &w, k->batch, k->in, k->out, err);
}
static WmStatus gru_backward_pass(void *ctx, WmError *err) {
    DenseCase *k = ctx;
    WmGruWeights w = gru_weights_of(k);
    int hidden = k->out;
    WmGruGrads g = {k->dw, k->dw + (size_t)3 * hidden * k->in, k->dbias, k->dbias + 3 * hidden, NULL, NULL};
    arena_reset(&k->scratch); /* the first pass measures the scratch; the later ones run in its block */
    return gru_backward(k->dx, k->dx + (size_t)k->batch * k->in, &g, k->dy, k->cache, k->x,
                        k->x + (size_t)k->batch * k->in, &w, k->batch, k->in, hidden, &k->scratch, err);
}

static WmStatus bench_dense(BenchOps *b, const char *name, int is_gru, int batch, int in, int out, WmError *err) {
    DenseCase k = {.batch = batch, .in = in, .out = out};
    int rows = is_gru ? 3 * out : out, cols = is_gru ? in + out : in;
    size_t nx = (size_t)batch * cols, nw = (size_t)rows * cols, ny = (size_t)batch * out;
    k.x = random_floats(nx, 12), k.w = random_floats(nw, 13), k.bias = random_floats(2 * rows, 14);
    k.y = random_floats(ny, 15), k.dy = random_floats(ny, 16), k.dx = random_floats(nx, 17);
    k.dw = random_floats(nw, 18), k.dbias = random_floats(2 * rows, 19);
    k.cache = random_floats(gru_cache_floats(batch, out), 20);
    arena_init(&k.scratch, "bench scratch");
    WmStatus status = WM_OK;
    if (!(k.x && k.w && k.bias && k.y && k.dy && k.dx && k.dw && k.dbias && k.cache))
        status = wm_error_set(err, WM_ERR_NOMEM, "bench %s: out of memory", name);
    char label[64];
    snprintf(label, sizeof label, "%d x %d -> %d", batch, in, out);
    double flops = 2.0 * batch * (double)rows * cols, seconds = 0.0;
    if (status == WM_OK) status = time_best(is_gru ? gru_forward_pass : linear_forward_pass, &k, b->repeats,
                                            &seconds, err);
    if (status == WM_OK) report(b, name, label, "forward", flops, seconds);
    if (status == WM_OK) status = time_best(is_gru ? gru_backward_pass : linear_backward_pass, &k, b->repeats,
                                            &seconds, err);
    if (status == WM_OK) report(b, name, label, "backward", 2.0 * flops, seconds);
    float *all[] = {k.x, k.w, k.bias, k.y, k.dy, k.dx, k.dw, k.dbias, k.cache};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    arena_free(&k.scratch);
    return status;
}

static int compare_doubles(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *times, int count) {
    qsort(times, (size_t)count, sizeof *times, compare_doubles);
    return times[count / 2];
}


/* PlaNet's encoder (64x64 -> 1024) and decoder (1024 -> 64x64), configs/default.yaml's sizes. */
static const struct {
    const char *name;
    WmConvShape shape;
} MODEL_CONVS[] = {
    {"encoder.conv1", {.in_channels = 3, .in_height = 64, .in_width = 64, .out_channels = 32, .kernel = 4, .stride = 2}},
    {"encoder.conv2", {.in_channels = 32, .in_height = 31, .in_width = 31, .out_channels = 64, .kernel = 4, .stride = 2}},
    {"encoder.conv3", {.in_channels = 64, .in_height = 14, .in_width = 14, .out_channels = 128, .kernel = 4, .stride = 2}},
    {"encoder.conv4", {.in_channels = 128, .in_height = 6, .in_width = 6, .out_channels = 256, .kernel = 4, .stride = 2}},
    {"decoder.deconv1",
     {.in_channels = 1024, .in_height = 1, .in_width = 1, .out_channels = 128, .kernel = 5, .stride = 2, .transposed = 1}},
    {"decoder.deconv2",
     {.in_channels = 128, .in_height = 5, .in_width = 5, .out_channels = 64, .kernel = 5, .stride = 2, .transposed = 1}},
    {"decoder.deconv3",
     {.in_channels = 64, .in_height = 13, .in_width = 13, .out_channels = 32, .kernel = 6, .stride = 2, .transposed = 1}},
    {"decoder.deconv4",
     {.in_channels = 32, .in_height = 30, .in_width = 30, .out_channels = 3, .kernel = 6, .stride = 2, .transposed = 1}},
};

int bench_ops_usage(FILE *out, int code) {
    fprintf(out, "usage: wm bench ops [--threads N] [--frames N] [--repeats N] [--json]\n"
                 "  --threads N   OpenMP/oneDNN threads (default: OMP_NUM_THREADS or all cores)\n"
                 "  --frames N    batch of the convolutions (default 2500 = B x L at PlaNet sizes)\n"
                 "  --repeats N   timed runs per op after one warm-up; the best is reported (default 3)\n"
                 "  --json        one JSON object instead of the table\n"
                 "example: wm bench ops --threads 2\n");
    return code;
}

int bench_ops(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return bench_ops_usage(stdout, 0);
    BenchOps b = {.threads = omp_get_max_threads(), .repeats = 3, .frames = 2500, .out = stdout};
    WmError err = {0};
    long threads = b.threads, frames = b.frames, repeats = b.repeats;
    const CliOption options[] = {
        {"--json", CLI_FLAG, &b.json, 0, 0},           {"--threads", CLI_LONG, &threads, 1, 1024},
        {"--frames", CLI_LONG, &frames, 1, 100000}, {"--repeats", CLI_LONG, &repeats, 1, 1000},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    b.threads = (int)threads, b.frames = (int)frames, b.repeats = (int)repeats;
    if (err.status) {
        fprintf(stderr, "wm bench ops: %s\n", err.message);
        return bench_ops_usage(stderr, 2);
    }
    omp_set_num_threads(b.threads);
    char cpu[128];
    machine_cpu_model(cpu, sizeof cpu);
    WmDnnl dnnl;
    if (dnnl_ctx_init(&dnnl, &err) || bench_sgemm_rate(b.repeats, &b.sgemm_gflops, &err)) goto fail;
    if (b.json) {
        fprintf(b.out, "{\"bench\":\"ops\",\"cpu\":\"%s\",\"threads\":%d,\"sgemm_gflops\":%.1f,\"ops\":[", cpu,
                b.threads, b.sgemm_gflops);
    } else {
        fprintf(b.out, "wm bench ops: %s, %d thread%s, best of %d\n", cpu, b.threads, b.threads == 1 ? "" : "s",
                b.repeats);
        fprintf(b.out, "dnnl_sgemm 1024^3: %.1f GFLOP/s (the column 'of sgemm' divides by this)\n\n", b.sgemm_gflops);
        fprintf(b.out, "| %-15s | %-28s | %-16s | %9s | %8s | %6s |\n", "op", "shape", "pass", "ms", "GFLOP/s",
                "sgemm");
        fprintf(
            b.out,
            "|-----------------|------------------------------|------------------|-----------|----------|--------|\n");
    }
    for (size_t i = 0; i < sizeof MODEL_CONVS / sizeof MODEL_CONVS[0]; i++)
        if (bench_conv(&b, &dnnl, MODEL_CONVS[i].name, MODEL_CONVS[i].shape, &err)) goto fail;
    /* The RSSM at training batch (B = 50) and at CEM's 1000 candidates: the decoder's dense input layer
     * (deter 200 + stoch 30 -> 1024) and the GRU cell (200 -> 200). */
    static const int DENSE_BATCHES[] = {50, 1000};
    for (int i = 0; i < 2; i++) {
        if (bench_dense(&b, "decoder.dense", 0, DENSE_BATCHES[i], 230, 1024, &err) ||
            bench_dense(&b, "rssm.gru", 1, DENSE_BATCHES[i], 200, 200, &err))
            goto fail;
    }
    if (b.json) fprintf(b.out, "]}\n");
    dnnl_ctx_free(&dnnl);
    return 0;
fail:
    fprintf(stderr, "wm bench ops: %s\n", err.message);
    dnnl_ctx_free(&dnnl);
    return 1;
}
