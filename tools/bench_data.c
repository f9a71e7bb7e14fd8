/* `wm bench data --data DIR`: how long reading a dataset into the replay store takes, how much memory it holds,
 * and how fast B x L batches come out of it. The read is what a user waits for before training starts. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "core/clock.h"
#include "data/dataset.h"
#include "data/replay.h"

int bench_data_usage(FILE *out, int code) {
    fprintf(out, "usage: wm bench data --data DIR [--threads N] [--batch B] [--length L]\n"
                 "  --data DIR    a dataset (PNG directories or .npz episodes)\n"
                 "  --threads N   threads decoding frames (default: OMP_NUM_THREADS or all cores)\n"
                 "  --batch B, --length L   the sampled batch (default 50 x 50)\n"
                 "example: wm bench data --data runs/episodes/cp --threads 2\n");
    return code;
}

int bench_data(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return bench_data_usage(stdout, 0);
    const char *dir = NULL;
    long threads = omp_get_max_threads(), batch_size = 50, length = 50;
    WmError err = {0};
    const CliOption options[] = {
        {"--data", CLI_TEXT, &dir, 0, 0},
        {"--threads", CLI_LONG, &threads, 1, 1024},
        {"--batch", CLI_LONG, &batch_size, 1, 100000},
        {"--length", CLI_LONG, &length, 1, 100000},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    if (err.status == WM_OK && dir == NULL) wm_error_set(&err, WM_ERR_ARG, "--data DIR is required");
    if (err.status) {
        fprintf(stderr, "wm bench data: %s\n", err.message);
        return bench_data_usage(stderr, 2);
    }
    omp_set_num_threads((int)threads);

    const double start = wm_clock_seconds();
    WmDataset dataset;
    WmFrameSize size = {0};
    if (dataset_read(dir, &size, 0, &dataset, &err)) {
        fprintf(stderr, "wm bench data: %s\n", err.message);
        return 1;
    }
    const double read_seconds = wm_clock_seconds() - start;
    WmReplay replay;
    long frames = 0;
    for (int i = 0; i < dataset.count; i++) frames += dataset.episodes[i].length;
    replay_init(&replay, frames);
    for (int i = 0; i < dataset.count && err.status == WM_OK; i++) replay_add(&replay, &dataset.episodes[i], &err);
    dataset_free(&dataset);

    WmReplayBatch batch = {.batch = (int)batch_size, .length = (int)length};
    const size_t rows = (size_t)batch_size * length;
    batch.frames = malloc(rows * size.height * size.width * 3);
    batch.actions = malloc(rows * replay.action_dim * sizeof(float));
    batch.rewards = malloc(rows * sizeof(float));
    batch.is_first = malloc(rows);
    WmRng rng = rng_stream(0, 0);
    const int rounds = 20;
    double sample_seconds = 0.0;
    if (err.status == WM_OK && !(batch.frames && batch.actions && batch.rewards && batch.is_first))
        wm_error_set(&err, WM_ERR_NOMEM, "out of memory for a %ld x %ld batch", batch_size, length);
    if (err.status == WM_OK) {
        const double t0 = wm_clock_seconds();
        for (int r = 0; r < rounds && err.status == WM_OK; r++) replay_sample(&replay, &rng, &batch, &err);
        sample_seconds = (wm_clock_seconds() - t0) / rounds;
    }
    int code = 0;
    if (err.status) {
        fprintf(stderr, "wm bench data: %s\n", err.message);
        code = 1;
    } else {
        printf("wm bench data: %s, %ld thread%s\n", dir, threads, threads == 1 ? "" : "s");
        printf("  read        %d episodes, %ld frames of %dx%d in %.2f s (%.0f frames/s)\n", replay.count, frames,
               size.width, size.height, read_seconds, frames / read_seconds);
        printf("  replay      %.1f MiB held (%.1f KiB per frame)\n", replay_memory_bytes(&replay) / 1048576.0,
               replay_memory_bytes(&replay) / 1024.0 / frames);
        printf("  sample      %ld x %ld batch in %.2f ms\n", batch_size, length, sample_seconds * 1e3);
    }
    free(batch.frames), free(batch.actions), free(batch.rewards), free(batch.is_first);
    replay_free(&replay);
    return code;
}
