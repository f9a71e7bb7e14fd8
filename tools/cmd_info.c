/* wm info PATH: what an episode, a dataset, a checkpoint or a run holds, and whether it is valid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "core/fs.h"
#include "core/safetensors.h"
#include "run/checkpoint.h"
#include "data/dataset.h"

/* Bytes on disk: the file, or the files directly inside the directory. */
static long long disk_bytes(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) return st.st_size;
    char **names = NULL;
    int count = 0;
    WmError err = {0};
    long long total = 0;
    if (fs_list_dir(path, &names, &count, &err) != WM_OK) return 0;
    for (int i = 0; i < count; i++) {
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, names[i]);
        if (stat(child, &st) == 0) total += S_ISDIR(st.st_mode) ? disk_bytes(child) : st.st_size;
    }
    fs_free_list(names, count);
    return total;
}

static void reward_range(const WmEpisode *e, float *lo, float *hi) {
    for (int t = 1; t < e->length; t++) {
        if (e->rewards[t] < *lo) *lo = e->rewards[t];
        if (e->rewards[t] > *hi) *hi = e->rewards[t];
    }
}

static int info_episode(const char *path) {
    WmEpisode e;
    WmFrameSize size = {0};
    WmError err = {0};
    if (episode_read(path, &size, &e, &err)) {
        printf("episode %s: INVALID\n", path);
        fprintf(stderr, "wm info: %s\n", err.message);
        return 1;
    }
    float lo = e.length > 1 ? e.rewards[1] : 0.0f, hi = lo;
    reward_range(&e, &lo, &hi);
    printf("episode %s: valid\n", path);
    printf("  format      %s\n", episode_path_is_npz(path) ? "npz" : "png directory + steps.csv");
    printf("  frames      %d (%d steps after the first)\n", e.length, e.length - 1);
    printf("  image       %dx%d RGB\n", e.width, e.height);
    printf("  action dim  %d\n", e.action_dim);
    if (e.state_dim) printf("  state dim   %d\n", e.state_dim);
    printf("  reward      [%g, %g], return %.3f\n", lo, hi, episode_return(&e));
    printf("  bytes       %lld on disk, %zu in memory (frames as uint8)\n", disk_bytes(path), episode_bytes(&e));
    episode_free(&e);
    return 0;
}

static int info_dataset(const char *path, int skip_bad) {
    WmDataset d;
    WmFrameSize size = {0};
    WmError err = {0};
    if (dataset_read(path, &size, skip_bad, &d, &err)) {
        printf("dataset %s: INVALID\n", path);
        fprintf(stderr, "wm info: %s\n", err.message);
        return 1;
    }
    long long frames = 0;
    int shortest = d.episodes[0].length, longest = shortest;
    float lo = 1e30f, hi = -1e30f;
    double mean_return = 0.0;
    size_t memory = 0;
    for (int i = 0; i < d.count; i++) {
        const WmEpisode *e = &d.episodes[i];
        frames += e->length;
        if (e->length < shortest) shortest = e->length;
        if (e->length > longest) longest = e->length;
        reward_range(e, &lo, &hi);
        mean_return += episode_return(e) / d.count;
        memory += episode_bytes(e);
    }
    printf("dataset %s: valid%s\n", path, d.skipped ? " (bad episodes skipped)" : "");
    printf("  episodes    %d\n", d.count);
    if (d.skipped) printf("  skipped     %d bad episodes\n", d.skipped);
    printf("  frames      %lld (episode lengths %d to %d)\n", frames, shortest, longest);
    printf("  image       %dx%d RGB\n", size.width, size.height);
    printf("  action dim  %d\n", d.episodes[0].action_dim);
    if (d.episodes[0].state_dim) printf("  state dim   %d\n", d.episodes[0].state_dim);
    printf("  reward      [%g, %g], mean return %.3f\n", lo, hi, mean_return);
    printf("  bytes       %lld on disk, %zu in memory (frames as uint8)\n", disk_bytes(path), memory);
    if (size.resized) printf("  note        frames of another size were resized to %dx%d\n", size.width, size.height);
    dataset_free(&d);
    return 0;
}

typedef struct {
    long tensors;
    long long elements;
} TensorTally;

/* One line per tensor: dtype, shape, and for F32 the sum (in double, in file order) and the first value, so
 * another reader can check the bytes. */
static void print_tensor(void *ctx, const char *name, const char *dtype, int rank, const int64_t *shape,
                         const void *data) {
    TensorTally *tally = ctx;
    char dims[96] = "";
    size_t used = 0;
    long long count = 1;
    for (int d = 0; d < rank; d++) {
        used += (size_t)snprintf(dims + used, sizeof dims - used, "%s%lld", d ? ", " : "", (long long)shape[d]);
        count *= shape[d];
    }
    printf("  %-40s %-3s [%s]", name, dtype, dims);
    if (strcmp(dtype, "F32") == 0 && count > 0) {
        const float *values = data;
        double sum = 0.0;
        for (long long i = 0; i < count; i++) sum += values[i];
        printf("  sum %.17g  first %.9g", sum, values[0]);
    } else if (strcmp(dtype, "I64") == 0 && count > 0) {
        long long first;
        memcpy(&first, data, sizeof first);
        printf("  value %lld", first);
    }
    printf("\n");
    tally->tensors++, tally->elements += count;
}

static int info_checkpoint(const char *path) {
    WmSafetensors file;
    WmError err = {0};
    if (safetensors_open(&file, path, &err)) {
        printf("checkpoint %s: INVALID\n", path);
        fprintf(stderr, "wm info: %s\n", err.message);
        return 1;
    }
    const char *format = safetensors_meta(&file, WM_META_FORMAT);
    printf("checkpoint %s: %s\n", path, format ? format : "safetensors without wm metadata");
    static const char *const KEYS[] = {WM_META_STEP, WM_META_ACTION_DIM, WM_META_RNG_SAMPLE, WM_META_RNG_DEQUANTIZE,
                                       WM_META_RNG_LATENT};
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        const char *value = safetensors_meta(&file, KEYS[i]);
        if (value) printf("  %-14s %s\n", KEYS[i], value);
    }
    printf("tensors:\n");
    TensorTally tally = {0};
    safetensors_each(&file, print_tensor, &tally);
    printf("  %ld tensors, %lld values, %lld bytes on disk\n", tally.tensors, tally.elements, disk_bytes(path));
    const char *config = safetensors_meta(&file, WM_META_CONFIG);
    if (config) printf("config:\n%s", config);
    safetensors_close(&file);
    return 0;
}

int command_info(int argc, char **argv) {
    if (cli_wants_help(argc, argv) || argc < 2) {
        fprintf(argc < 2 ? stderr : stdout, "usage: wm info PATH [--skip-bad]\n"
                "  PATH: an episode (a PNG directory with steps.csv, or a .npz), a dataset (a directory of them),\n"
                "        a checkpoint (.safetensors: its metadata, tensors and resolved config), or a run directory\n"
                "        (its step, data, last losses, returns, changed config keys and checkpoints)\n"
                "example: wm info runs/cp-actor\n");
        return argc < 2 ? 2 : 0;
    }
    const char *path = NULL;
    int skip_bad = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--skip-bad") == 0) skip_bad = 1;
        else if (path == NULL) path = argv[i];
        else {
            fprintf(stderr, "wm info: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "wm info: no PATH given\n");
        return 2;
    }
    char steps[4200];
    snprintf(steps, sizeof steps, "%s/steps.csv", path);
    if (!fs_exists(path)) {
        fprintf(stderr, "wm info: %s: no such file or directory\n", path);
        return 1;
    }
    if (cli_ends_with(path, ".safetensors")) return info_checkpoint(path);
    char config[4200];
    snprintf(config, sizeof config, "%s/config.yaml", path);
    if (fs_is_dir(path) && fs_exists(config)) return info_run(path, stdout);
    if (episode_path_is_npz(path) || fs_exists(steps)) return info_episode(path);
    if (fs_is_dir(path)) return info_dataset(path, skip_bad);
    fprintf(stderr, "wm info: %s: not an episode (.npz, or a directory with steps.csv) nor a dataset\n", path);
    return 1;
}
