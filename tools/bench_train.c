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
#include "cli.h"
#include "core/clock.h"
#include "nets/world_model.h"
#include "optim/adam.h"
#include "train/imagine.h"

enum { BENCH_ACTIONS = 6, BENCH_LENGTH = 50 };

int bench_train_usage(FILE *out, int code) {
    fprintf(out, "usage: wm bench train [--threads N] [--repeats N] [--batch B] [--precision P] [--imagination] [--json]\n"
                 "       wm bench train --round C [--threads N] [--json]\n"
                 "  --threads N   OpenMP/oneDNN threads (default: OMP_NUM_THREADS or all cores)\n"
                 "  --repeats N   timed steps per batch size; the median is reported (default 5)\n"
                 "  --batch B     only this batch size (default: 50, then 16)\n"
                 "  --json        one JSON object per batch size instead of the table\n"
                 "  --precision P fp32 (default) or bf16 (train.precision: the convolutions in bf16 mixed precision)\n"
                 "  --imagination also time the imagination update of the actor and value at each batch size\n"
                 "  --round C     time one round of the online loop as config C sets it (after its seed episodes):\n"
                 "                training, imagination, collection, evaluation\n"
                 "example: wm bench train --batch 16 --threads 2\n");
    return code;
}

static double dense_flops(const WmDense *d, double rows) { return 2.0 * rows * d->in * d->out; }

/* Multiply-adds x 2 of forward and backward: every layer's backward costs twice its forward, except the first
 * encoder convolution, whose input (the image) needs no gradient. */
static double step_flops(const WmWorldModel *m) {
    const double N = (double)m->batch * m->length, B = m->batch, L = m->length;
    const WmRssm *r = &m->rssm;
    double total = 0.0;
    for (int i = 0; i < m->encoder.layers; i++) total += conv_stack_layer_flops(&m->encoder, i) * (i ? 3 : 2);
    for (int i = 0; i < m->decoder.layers; i++) total += 3 * conv_stack_layer_flops(&m->decoder, i);
    total += 3 * dense_flops(&m->decoder_dense, N);
    for (int i = 0; i < m->reward.count; i++) total += 3 * dense_flops(&m->reward.layers[i], N);
    const WmDense *rssm_dense[] = {&r->input, &r->prior_hidden, &r->prior_mean, &r->prior_std,
                                   &r->post_hidden, &r->post_mean, &r->post_std};
    for (size_t i = 0; i < sizeof rssm_dense / sizeof rssm_dense[0]; i++) total += 3 * dense_flops(rssm_dense[i], B) * L;
    total += 3 * 2.0 * B * 3 * r->deter * (r->hidden + r->deter) * L; /* GRU: both projections */
    return total;
}

typedef struct {
    int repeats, json, imagination;
    const WmConfig *config; /* the defaults with --precision as train.precision */
    double sgemm_gflops;
} BenchTrain;

static double mib(size_t bytes) { return bytes / 1048576.0; }

static WmStatus bench_batch(const BenchTrain *b, int batch, WmError *err) {
    const int repeats = b->repeats, json = b->json;
    const double sgemm_gflops = b->sgemm_gflops;
    WmConfig config = *b->config;
    const WmModelConfig model_config = model_config_from(&config);
    WmWorldModel m;
    WmStatus made = world_model_create(&m, &model_config, BENCH_ACTIONS, err);
    m.train_bf16 = config_trains_in_bf16(&config);
    if (made || world_model_build(&m, batch, BENCH_LENGTH, err)) {
        world_model_free(&m);
        return err->status;
    }
    world_model_init_params(&m, 0);
    const size_t N = (size_t)batch * BENCH_LENGTH;
    WmRng rng = rng_stream(0, WM_STREAM_BENCH);
    rng_fill_uniform(&rng, m.input.images, world_model_image_floats(&m));
    for (size_t i = 0; i < world_model_image_floats(&m); i++) m.input.images[i] -= 0.5f;
    rng_fill_normal(&rng, m.input.actions, N * BENCH_ACTIONS, 0.0f, 0.5f);
    rng_fill_uniform(&rng, m.input.rewards, N);
    rng_fill_normal(&rng, m.input.noise, N * m.rssm.stoch, 0.0f, 1.0f);
    WmAdam adam = adam_defaults();
    double *times = calloc((size_t)repeats, sizeof *times);
    WmStatus status = times ? WM_OK : wm_error_set(err, WM_ERR_NOMEM, "bench: out of memory");
    for (int r = -2; r < repeats && status == WM_OK; r++) {
        WmLosses losses;
        const double start = wm_clock_seconds();
        params_zero_grad(&m.params);
        status = elbo_forward(&m, &losses, err) ? err->status : elbo_backward(&m, err);
        adam_step(&adam, &m.params);
        if (r >= 0) times[r] = wm_clock_seconds() - start;
    }
    if (status == WM_OK) {
        const double seconds = bench_median(times, repeats), flops = step_flops(&m), gflops = flops / seconds * 1e-9;
        struct rusage usage;
        getrusage(RUSAGE_SELF, &usage);
        /* The working set by owner: parameters with gradients and both Adam moments; the step's activations and,
         * on top of them at the peak, its gradients (one arena); oneDNN's scratchpad (one, shared by every pass);
         * the blocked copies views make at the plain edges (one workspace); the fixed input buffers. */
        const double params_mib = mib(4 * m.params.total * sizeof(float)), activations_mib = mib(m.activation_bytes),
                     gradients_mib = mib(m.arena.peak - m.activation_bytes),
                     encoder_scratchpad = conv_stack_scratchpad_bytes(&m.encoder),
                     decoder_scratchpad = conv_stack_scratchpad_bytes(&m.decoder),
                     scratchpad_mib = mib(encoder_scratchpad > decoder_scratchpad ? encoder_scratchpad : decoder_scratchpad),
                     workspace_mib = mib(m.dnnl.workspace_bytes), inputs_mib = mib(world_model_image_floats(&m) * sizeof(float)),
                     rss_mib = usage.ru_maxrss / 1024.0;
        const char *precision = config_choice_word("train.precision", config.train.precision);
        if (json)
            printf("{\"bench\":\"train\",\"precision\":\"%s\",\"batch\":%d,\"length\":%d,\"threads\":%d,\"s_per_step\":%.4f,"
                   "\"frames_per_s\":%.1f,\"gflop_per_step\":%.1f,\"gflops\":%.1f,\"sgemm_gflops\":%.1f,"
                   "\"params_mib\":%.0f,\"activations_mib\":%.0f,\"gradients_mib\":%.0f,\"scratchpad_mib\":%.0f,"
                   "\"workspace_mib\":%.0f,\"inputs_mib\":%.0f,\"peak_rss_mib\":%.0f}\n",
                   precision, batch, BENCH_LENGTH, omp_get_max_threads(), seconds, N / seconds, flops * 1e-9, gflops,
                   sgemm_gflops, params_mib, activations_mib, gradients_mib, scratchpad_mib, workspace_mib, inputs_mib,
                   rss_mib);
        else
            printf("| %2d x %d, %s | %6.2f s (%.2f-%.2f) | %6.1f | %6.1f | %5.1f | %3.0f%% | %.0f / %.0f / %.0f / %.0f / %.0f / %.0f "
                   "| %5.0f MiB |\n",
                   batch, BENCH_LENGTH, precision, seconds, times[0], times[repeats - 1], N / seconds, flops * 1e-9,
                   gflops, 100.0 * gflops / sgemm_gflops, params_mib, activations_mib, gradients_mib, scratchpad_mib,
                   workspace_mib, inputs_mib, rss_mib);
    }
    if (!b->imagination || status != WM_OK) {
        free(times);
        world_model_free(&m);
        return status;
    }
    /* Dreamer's imagination update (actor.* defaults: 4 x 400 actor, 3 x 400 value, horizon 15) from the last
     * step's B x L posterior states, as the trainer runs it after each world-model step. */
    WmImagination im;
    config.actor.enabled = 1;
    int made_imagination = 0;
    if (status == WM_OK && (status = imagine_create(&im, &config, &m, (int)N, err)) == WM_OK) made_imagination = 1;
    for (int r = -2; r < repeats && status == WM_OK; r++) {
        WmImagineLosses losses;
        const double start = wm_clock_seconds();
        status = imagine_update(&im, &m, m.trace.h, m.trace.z, &losses, err);
        if (r >= 0) times[r] = wm_clock_seconds() - start;
    }
    if (status == WM_OK) {
        const double seconds = bench_median(times, repeats), arena_mib = im.arena.peak / 1048576.0;
        if (json)
            printf("{\"bench\":\"train\",\"what\":\"imagination\",\"batch\":%d,\"length\":%d,\"threads\":%d,"
                   "\"horizon\":%d,\"s_per_update\":%.4f,\"arena_mib\":%.0f}\n",
                   batch, BENCH_LENGTH, omp_get_max_threads(), im.horizon, seconds, arena_mib);
        else
            printf("| %2d x %d, imagination (%d starts x %d steps) | %6.2f s (%.2f-%.2f) | | | | | %5.0f | |\n", batch,
                   BENCH_LENGTH, im.starts, im.horizon, seconds, times[0], times[repeats - 1], arena_mib);
    }
    if (made_imagination) imagine_free(&im);
    free(times);
    world_model_free(&m);
    return status;
}

int bench_train(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return bench_train_usage(stdout, 0);
    long threads = omp_get_max_threads(), repeats = 5, only_batch = 0;
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
    bench_cpu_model(cpu, sizeof cpu);
    if (bench_sgemm_rate(3, &sgemm, &err)) goto fail;
    if (!json) {
        printf("wm bench train: %s, %ld thread%s, median of %ld steps; dnnl_sgemm 1024^3 %.1f GFLOP/s\n\n", cpu,
               threads, threads == 1 ? "" : "s", repeats, sgemm);
        printf("| B x L | s/step (min-max) | frames/s | GFLOP/step | GFLOP/s | of sgemm | MiB: params / activations / "
               "gradients / scratchpad / workspace / inputs | peak RSS |\n");
        printf("|---|---|---|---|---|---|---|---|\n");
    }
    const int batches[] = {50, 16};
    for (int i = 0; i < 2; i++) {
        const int batch = only_batch ? (int)only_batch : batches[i];
        const BenchTrain b = {(int)repeats, json, imagination, &config, sgemm};
        if (bench_batch(&b, batch, &err)) goto fail;
        if (only_batch) break;
    }
    return 0;
fail:
    fprintf(stderr, "wm bench train: %s\n", err.message);
    return 1;
}
