/* `wm bench train`: one training step (forward, backward through time, Adam) of the PlaNet-sized model on random
 * inputs at B = 50 and B = 16, L = 50, 64x64, action size 6: the shapes of ../shared/bench/torch_reference.py.
 * Reported as s/step, frames/s (B x L / step time), GFLOP/s and its share of the sgemm rate measured in the same
 * run, and memory (the step's arena peak, the parameter blocks, the process's peak RSS); then the imagination
 * update of Dreamer's actor and value from that step's posterior states. Each figure is the median of `repeats`
 * steps after two warm-up steps. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "core/machine.h"
#include "cli.h"
#include "core/clock.h"
#include "nets/world_model.h"
#include "optim/adam.h"
#include "train/imagine.h"
#include "train/train_precision.h"

enum { BENCH_ACTIONS = 6, BENCH_LENGTH = 50 };

int bench_train_usage(FILE *out, int code) {
    fprintf(out, "usage: wm bench train [--threads N] [--repeats N] [--batch B] [--length L] [--precision P]\n"
                 "                      [--imagination] [--json]\n"
                 "       wm bench train --round C [--threads N] [--json]\n"
                 "  --threads N   OpenMP/oneDNN threads (default: OMP_NUM_THREADS or all cores)\n"
                 "  --repeats N   timed steps per batch size; the median is reported (default 5)\n"
                 "  --batch B     only this batch size (default: 50, then 16)\n"
                 "  --length L    sequence length (default 50; DreamerV3's is 64)\n"
                 "  --json        one JSON object per figure instead of the table\n"
                 "  --precision P fp32 (default) or bf16 (train.precision: the convolutions in bf16 mixed precision)\n"
                 "  --imagination also time the imagination update of the actor and value from every posterior state,\n"
                 "                and the whole update (world model + imagination) as one figure\n"
                 "  --round C     time one round of the online loop as config C sets it (after its seed episodes):\n"
                 "                training, imagination, collection, evaluation\n"
                 "example: wm bench train --imagination --batch 16 --length 64 --threads 2\n");
    return code;
}

static double dense_flops(const WmDense *d, double rows) { return 2.0 * rows * d->in * d->out; }

static double mlp_flops(const WmMlp *mlp, double rows) {
    double total = 0.0;
    for (int i = 0; i < mlp->count; i++) total += dense_flops(&mlp->layers[i], rows);
    return total;
}

/* A latent head's layers (a categorical has no mean layer: 0 x 0). */
static double head_flops(const WmLatentHead *head, double rows) {
    return dense_flops(&head->hidden, rows) + dense_flops(&head->mean, rows) + dense_flops(&head->raw, rows);
}

/* One transition of the RSSM's prior for `rows` states: the input layer, the GRU's two projections, the prior. */
static double transition_flops(const WmRssm *r, double rows) {
    return dense_flops(&r->input, rows) + 2.0 * rows * 3 * r->deter * (r->hidden + r->deter) +
           head_flops(&r->prior, rows);
}

/* Multiply-adds x 2 of forward and backward: every layer's backward costs twice its forward, except the first
 * encoder convolution, whose input (the image) needs no gradient. */
static double step_flops(const WmWorldModel *m) {
    const double N = (double)m->batch * m->length, B = m->batch, L = m->length;
    const WmRssm *r = &m->rssm;
    double total = 0.0;
    for (int i = 0; i < m->encoder.layers; i++) total += conv_stack_layer_flops(&m->encoder, i) * (i ? 3 : 2);
    for (int i = 0; i < m->decoder.layers; i++) total += 3 * conv_stack_layer_flops(&m->decoder, i);
    total += 3 * dense_flops(&m->decoder_dense, N);
    total += 3 * mlp_flops(&m->reward, N);
    total += 3 * (dense_flops(&r->input, B) + head_flops(&r->prior, B) + head_flops(&r->posterior, B)) * L;
    total += 3 * 2.0 * B * 3 * r->deter * (r->hidden + r->deter) * L; /* GRU: both projections */
    return total;
}

/* The matrix work one imagination update needs, each product counted once: the forward of H transitions, the
 * actor at H states, the reward (and continue) heads at H, the value (and its slow target) at H + 1; backward,
 * the data gradient through the frozen transitions, heads and bootstrap value for the actor's loss, both gradients
 * of the actor, and the weight gradient of the value's regression. */
static double imagine_flops(const WmImagination *im, const WmWorldModel *m) {
    const double N = im->starts, H = im->horizon;
    const double dynamics = transition_flops(&m->rssm, N) * H, actor = mlp_flops(&im->actor.net, N) * H,
                 heads = (mlp_flops(&m->reward, N) + (m->has_continue ? mlp_flops(&m->continuation, N) : 0.0)) * H,
                 value = mlp_flops(&im->value.net, N) * (H + 1);
    const double bootstrap = im->slow_target ? 2.0 * value : value; /* the target's forward, or the value's */
    return 2.0 * dynamics + 3.0 * actor + 2.0 * heads + 2.0 * value + bootstrap;
}

typedef struct {
    int repeats, json, imagination, length;
    const WmConfig *config; /* the defaults with --precision as train.precision */
    double sgemm_gflops;
    double *times; /* (repeats) */
} BenchTrain;

static double mib(size_t bytes) { return bytes / 1048576.0; }

/* The defaults' world model at B x L with weights from seed 0 and random inputs. */
static WmStatus make_model(WmWorldModel *m, const BenchTrain *b, int batch, WmError *err) {
    const WmModelConfig model_config = model_config_from(b->config);
    if (world_model_create(m, &model_config, BENCH_ACTIONS, err)) return err->status;
    if (train_precision_resolve(m, b->config->train.precision, batch * b->length, NULL, err)) return err->status;
    if (world_model_build(m, batch, b->length, err)) return err->status;
    world_model_init_params(m, 0);
    const size_t N = (size_t)batch * b->length;
    WmRng rng = rng_stream(0, WM_STREAM_BENCH);
    rng_fill_uniform(&rng, m->input.images, world_model_image_floats(m));
    for (size_t i = 0; i < world_model_image_floats(m); i++) m->input.images[i] -= 0.5f;
    rng_fill_normal(&rng, m->input.actions, N * BENCH_ACTIONS, 0.0f, 0.5f);
    rng_fill_uniform(&rng, m->input.rewards, N);
    rng_fill_normal(&rng, m->input.noise, N * m->rssm.stoch, 0.0f, 1.0f);
    return WM_OK;
}

/* The median of `repeats` world-model steps (ELBO forward, backward, Adam) after two warm-up steps. */
static WmStatus time_world_model(const BenchTrain *b, WmWorldModel *m, double *seconds, WmError *err) {
    WmAdam adam = adam_defaults();
    for (int r = -2; r < b->repeats; r++) {
        WmLosses losses;
        const double start = wm_clock_seconds();
        params_zero_grad(&m->params);
        if (elbo_forward(m, &losses, err) || elbo_backward(m, err)) return err->status;
        adam_step(&adam, &m->params);
        if (r >= 0) b->times[r] = wm_clock_seconds() - start;
    }
    *seconds = bench_median(b->times, b->repeats);
    return WM_OK;
}

static void print_world_model(const BenchTrain *b, const WmWorldModel *m, double seconds) {
    const double N = (double)m->batch * m->length, flops = step_flops(m), gflops = flops / seconds * 1e-9;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    /* The working set by owner: parameters with gradients and both Adam moments; the step's activations and, on
     * top of them at the peak, its gradients (one arena); oneDNN's scratchpad (one, shared by every pass); the
     * blocked copies views make at the plain edges (one workspace); the fixed input buffers. */
    const size_t encoder_scratchpad = conv_stack_scratchpad_bytes(&m->encoder),
                 decoder_scratchpad = conv_stack_scratchpad_bytes(&m->decoder);
    const double params_mib = mib(4 * m->params.total * sizeof(float)), activations_mib = mib(m->activation_bytes),
                 gradients_mib = mib(m->arena.peak - m->activation_bytes),
                 scratchpad_mib =
                     mib(encoder_scratchpad > decoder_scratchpad ? encoder_scratchpad : decoder_scratchpad),
                 workspace_mib = mib(m->dnnl.workspace_bytes),
                 inputs_mib = mib(world_model_image_floats(m) * sizeof(float)), rss_mib = usage.ru_maxrss / 1024.0;
    const char *precision = config_choice_word("train.precision", b->config->train.precision);
    if (b->json)
        printf("{\"bench\":\"train\",\"what\":\"world_model\",\"precision\":\"%s\",\"batch\":%d,\"length\":%d,"
               "\"threads\":%d,\"s_per_step\":%.4f,\"frames_per_s\":%.1f,\"gflop_per_step\":%.1f,\"gflops\":%.1f,"
               "\"sgemm_gflops\":%.1f,\"params_mib\":%.0f,\"activations_mib\":%.0f,\"gradients_mib\":%.0f,"
               "\"scratchpad_mib\":%.0f,\"workspace_mib\":%.0f,\"inputs_mib\":%.0f,\"peak_rss_mib\":%.0f}\n",
               precision, m->batch, m->length, omp_get_max_threads(), seconds, N / seconds, flops * 1e-9, gflops,
               b->sgemm_gflops, params_mib, activations_mib, gradients_mib, scratchpad_mib, workspace_mib, inputs_mib,
               rss_mib);
    else
        printf("| %2d x %d, %s | %6.2f s (%.2f-%.2f) | %6.1f | %6.1f | %5.1f | %3.0f%% | %.0f / %.0f / %.0f / %.0f / "
               "%.0f / %.0f | %5.0f MiB |\n",
               m->batch, m->length, precision, seconds, b->times[0], b->times[b->repeats - 1], N / seconds,
               flops * 1e-9, gflops, 100.0 * gflops / b->sgemm_gflops, params_mib, activations_mib, gradients_mib,
               scratchpad_mib, workspace_mib, inputs_mib, rss_mib);
}

/* Dreamer's imagination update (actor.* defaults: 4 x 400 actor, 3 x 400 value, horizon 15) from the last step's
 * B x L posterior states, as the trainer runs it after each world-model step; then the whole update's line. */
static WmStatus time_imagination(const BenchTrain *b, const WmWorldModel *m, double model_seconds, WmError *err) {
    WmConfig config = *b->config;
    config.actor.enabled = 1;
    WmImagination im;
    imagine_create(&im, &config, m, imagine_starts(&config, m->batch, m->length), err);
    for (int r = -2; err->status == WM_OK && r < b->repeats; r++) {
        WmImagineLosses losses;
        const double start = wm_clock_seconds();
        if (imagine_update_from_trace(&im, m, &losses, err)) break;
        if (r >= 0) b->times[r] = wm_clock_seconds() - start;
    }
    if (err->status == WM_OK) {
        const double seconds = bench_median(b->times, b->repeats), flops = imagine_flops(&im, m);
        const double update = model_seconds + seconds, update_flops = step_flops(m) + flops;
        const double of_sgemm = update_flops / update * 1e-9 / b->sgemm_gflops;
        const char *precision = config_choice_word("train.precision", b->config->train.precision);
        if (b->json) {
            printf("{\"bench\":\"train\",\"what\":\"imagination\",\"batch\":%d,\"length\":%d,\"threads\":%d,"
                   "\"horizon\":%d,\"s_per_update\":%.4f,\"gflop_per_update\":%.1f,\"of_sgemm\":%.3f,"
                   "\"arena_mib\":%.0f}\n", m->batch, m->length, omp_get_max_threads(), im.horizon, seconds,
                   flops * 1e-9, flops / seconds * 1e-9 / b->sgemm_gflops, mib(im.arena.peak));
            printf("{\"bench\":\"train\",\"what\":\"update\",\"precision\":\"%s\",\"batch\":%d,\"length\":%d,"
                   "\"threads\":%d,\"horizon\":%d,\"s_per_update\":%.4f,\"gflop_per_update\":%.1f,"
                   "\"of_sgemm\":%.3f,\"sgemm_gflops\":%.1f}\n", precision, m->batch, m->length,
                   omp_get_max_threads(), im.horizon, update, update_flops * 1e-9, of_sgemm, b->sgemm_gflops);
        } else {
            printf("| %2d x %d, imagination (%d starts x %d steps) | %6.2f s (%.2f-%.2f) | | %6.1f | %5.1f | %3.0f%% "
                   "| arena %.0f | |\n", m->batch, m->length, im.starts, im.horizon, seconds, b->times[0],
                   b->times[b->repeats - 1], flops * 1e-9, flops / seconds * 1e-9,
                   100.0 * flops / seconds * 1e-9 / b->sgemm_gflops, mib(im.arena.peak));
            printf("| %2d x %d, %s, **the update** (world model + imagination) | %6.2f s | | %6.1f | %5.1f | %3.0f%% "
                   "| | |\n", m->batch, m->length, precision, update, update_flops * 1e-9,
                   update_flops / update * 1e-9, 100.0 * of_sgemm);
        }
    }
    imagine_free(&im);
    return err->status;
}

static WmStatus bench_batch(const BenchTrain *b, int batch, WmError *err) {
    WmWorldModel m;
    double seconds = 0.0;
    if (make_model(&m, b, batch, err) == WM_OK && time_world_model(b, &m, &seconds, err) == WM_OK) {
        print_world_model(b, &m, seconds);
        if (b->imagination) time_imagination(b, &m, seconds, err);
    }
    world_model_free(&m);
    return err->status;
}

int bench_train(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return bench_train_usage(stdout, 0);
    long threads = omp_get_max_threads(), repeats = 5, only_batch = 0, length = BENCH_LENGTH;
    int json = 0, imagination = 0;
    const char *precision = "fp32", *round = NULL;
    WmError err = {0};
    const CliOption options[] = {
        {"--json", CLI_FLAG, &json, 0, 0},
        {"--imagination", CLI_FLAG, &imagination, 0, 0},
        {"--precision", CLI_TEXT, &precision, 0, 0},
        {"--threads", CLI_LONG, &threads, 1, 1024},
        {"--repeats", CLI_LONG, &repeats, 1, 1000},
        {"--batch", CLI_LONG, &only_batch, 1, 4096},
        {"--length", CLI_LONG, &length, 2, 4096},
        {"--round", CLI_TEXT, &round, 0, 0},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    WmConfig config; /* the key table checks --precision as it checks train.precision */
    config_defaults(&config);
    if (!err.status) config_set(&config, "train.precision", precision, "--precision", &err);
    if (err.status) {
        fprintf(stderr, "wm bench train: %s\n", err.message);
        return bench_train_usage(stderr, 2);
    }
    omp_set_num_threads((int)threads);
    if (round) {
        if (bench_round(round, json, &err)) goto fail;
        return 0;
    }
    double sgemm = 0.0;
    char cpu[128];
    machine_cpu_model(cpu, sizeof cpu);
    if (bench_sgemm_rate(3, &sgemm, &err)) goto fail;
    if (!json) {
        printf("wm bench train: %s, %ld thread%s, median of %ld steps; dnnl_sgemm 1024^3 %.1f GFLOP/s\n\n", cpu,
               threads, threads == 1 ? "" : "s", repeats, sgemm);
        printf("| B x L | s/step (min-max) | frames/s | GFLOP/step | GFLOP/s | of sgemm | MiB: params / activations / "
               "gradients / scratchpad / workspace / inputs | peak RSS |\n");
        printf("|---|---|---|---|---|---|---|---|\n");
    }
    const int batches[] = {50, 16};
    double *times = calloc((size_t)repeats, sizeof *times);
    if (times == NULL) wm_error_set(&err, WM_ERR_NOMEM, "bench: out of memory");
    for (int i = 0; i < 2 && err.status == WM_OK; i++) {
        const int batch = only_batch ? (int)only_batch : batches[i];
        const BenchTrain b = {(int)repeats, json, imagination, (int)length, &config, sgemm, times};
        if (bench_batch(&b, batch, &err) || only_batch) break;
    }
    free(times);
    if (err.status == WM_OK) return 0;
fail:
    fprintf(stderr, "wm bench train: %s\n", err.message);
    return 1;
}
