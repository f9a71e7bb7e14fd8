#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/hash.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

WmStatus dataset_list(const char *dir, char ***paths, int *count, WmError *err) {
    char **names = NULL;
    int n = 0;
    *paths = NULL, *count = 0;
    if (fs_list_dir(dir, &names, &n, err)) return err->status;
    char **out = calloc(n ? n : 1, sizeof *out);
    if (out == NULL) {
        fs_free_list(names, n);
        return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", dir);
    }
    for (int i = 0; i < n; i++) {
        char path[4096], steps[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(steps, sizeof steps, "%s/steps.csv", path);
        if (ends_with(names[i], ".tmp") || names[i][0] == '.') continue;
        if ((ends_with(names[i], ".npz") && !fs_is_dir(path)) || (fs_is_dir(path) && fs_exists(steps)))
            out[(*count)++] = strdup(path);
    }
    fs_free_list(names, n);
    *paths = out;
    return WM_OK;
}

WmStatus dataset_read(const char *dir, WmFrameSize *size, int skip_bad, WmDataset *dataset, WmError *err) {
    const WmDatasetShare all = {0, 1, 0};
    return dataset_read_share(dir, size, skip_bad, &all, dataset, err);
}

static int in_share(const WmDatasetShare *share, int index, int listed) {
    const int training = listed - share->holdout;
    return index < training ? index % share->ranks == share->rank : share->rank == 0;
}

WmStatus dataset_read_share(const char *dir, WmFrameSize *size, int skip_bad, const WmDatasetShare *share,
                            WmDataset *dataset, WmError *err) {
    memset(dataset, 0, sizeof *dataset);
    char **paths = NULL;
    int listed = 0;
    if (dataset_list(dir, &paths, &listed, err)) return err->status;
    if (listed == 0) {
        free(paths);
        return wm_error_set(err, WM_ERR_FORMAT, "%s: no episodes (PNG directories with steps.csv, or .npz files)", dir);
    }
    int count = 0;
    for (int i = 0; i < listed; i++) count += in_share(share, i, listed);
    if (share->ranks > 1 && (listed - share->holdout <= share->rank)) {
        fs_free_list(paths, listed);
        return wm_error_set(err, WM_ERR_ARG, "%s: %d training episode%s leave none for rank %d of %d", dir,
                            listed - share->holdout, wm_plural(listed - share->holdout), share->rank, share->ranks);
    }
    dataset->episodes = calloc(count ? count : 1, sizeof *dataset->episodes);
    char bad[400] = "";
    int bad_count = 0;
    WmStatus status = dataset->episodes ? WM_OK : wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", dir);
    for (int i = 0; i < listed && status == WM_OK; i++) {
        if (!in_share(share, i, listed)) continue;
        WmError episode_err = {0};
        WmEpisode *read = &dataset->episodes[dataset->count];
        if (episode_read(paths[i], size, read, &episode_err) == WM_OK && dataset->count > 0 &&
            (read->action_dim != dataset->episodes[0].action_dim || read->state_dim != dataset->episodes[0].state_dim)) {
            wm_error_set(&episode_err, WM_ERR_FORMAT, "%s: %d actions and %d state numbers per step, the first episode "
                         "has %d and %d", paths[i], read->action_dim, read->state_dim, dataset->episodes[0].action_dim,
                         dataset->episodes[0].state_dim);
            episode_free(read);
        }
        if (episode_err.status == WM_OK) {
            /* Size is fixed by the first episode unless the caller asked for one. */
            if (size->height == 0) size->height = dataset->episodes[0].height, size->width = dataset->episodes[0].width;
            dataset->count++;
            continue;
        }
        if (episode_err.status == WM_ERR_NOMEM) status = wm_error_set(err, WM_ERR_NOMEM, "%s", episode_err.message);
        if (bad_count++ == 0) snprintf(bad, sizeof bad, "%.390s", episode_err.message);
    }
    fs_free_list(paths, listed);
    if (status == WM_OK && bad_count > 0 && !skip_bad)
        status = wm_error_set(err, WM_ERR_FORMAT, "%s: %d of %d episodes are bad (--skip-bad passes them over); first: %s",
                              dir, bad_count, count, bad);
    if (status == WM_OK && dataset->count == 0)
        status = wm_error_set(err, WM_ERR_FORMAT, "%s: every episode is bad; first: %s", dir, bad);
    dataset->skipped = bad_count;
    if (status != WM_OK) dataset_free(dataset);
    else dataset->listed = listed;
    return status;
}

void dataset_free(WmDataset *dataset) {
    for (int i = 0; i < dataset->count; i++) episode_free(&dataset->episodes[i]);
    free(dataset->episodes);
    memset(dataset, 0, sizeof *dataset);
}

uint64_t dataset_fingerprint(const WmDataset *d) {
    uint64_t hash = WM_FNV1A_START;
    for (int e = 0; e < d->count; e++) {
        const WmEpisode *x = &d->episodes[e];
        hash = hash_fnv1a(hash, x->frames, episode_frame_bytes(x) * x->length);
        hash = hash_fnv1a(hash, x->actions, (size_t)x->length * x->action_dim * sizeof(float));
        hash = hash_fnv1a(hash, x->rewards, (size_t)x->length * sizeof(float));
        if (x->state_dim) hash = hash_fnv1a(hash, x->states, (size_t)x->length * x->state_dim * sizeof(float));
    }
    return hash;
}

enum { SEEDS_MAX = 256 };

typedef struct {
    uint64_t seed, env, policy;
} SeedStreams;

/* The file's environment and seed lines; *count of them. */
static void read_record(const char *dir, char *env, size_t size, SeedStreams *seeds, int *count) {
    char path[4200], line[256];
    snprintf(path, sizeof path, "%s/%s", dir, WM_DATASET_ENV_FILE);
    env[0] = '\0', *count = 0;
    FILE *in = fopen(path, "r");
    if (in == NULL) return;
    if (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\r\n")] = '\0';
        snprintf(env, size, "%s", line);
    }
    while (fgets(line, sizeof line, in) && *count < SEEDS_MAX) {
        unsigned long long seed, e, p;
        if (sscanf(line, "seed %llu env %llu policy %llu", &seed, &e, &p) == 3)
            seeds[(*count)++] = (SeedStreams){seed, e, p};
    }
    fclose(in);
}

void dataset_read_env(const char *dir, char *env, size_t size) {
    SeedStreams seeds[SEEDS_MAX];
    int count;
    read_record(dir, env, size, seeds, &count);
}

void dataset_read_streams(const char *dir, uint64_t seed, uint64_t *env_counter, uint64_t *policy_counter) {
    char env[128];
    SeedStreams seeds[SEEDS_MAX];
    int count;
    read_record(dir, env, sizeof env, seeds, &count);
    *env_counter = *policy_counter = 0;
    for (int i = 0; i < count; i++)
        if (seeds[i].seed == seed) *env_counter = seeds[i].env, *policy_counter = seeds[i].policy;
}

WmStatus dataset_write_env(const char *dir, const char *env, uint64_t seed, uint64_t env_counter,
                           uint64_t policy_counter, WmError *err) {
    char known[128], path[4200], tmp[4300];
    SeedStreams seeds[SEEDS_MAX + 1];
    int count;
    read_record(dir, known, sizeof known, seeds, &count);
    if (known[0] && strcmp(known, env) != 0)
        return wm_error_set(err, WM_ERR_ARG, "%s: holds episodes of %s (%s); put %s's in another directory", dir, known,
                            WM_DATASET_ENV_FILE, env);
    int found = 0;
    for (int i = 0; i < count; i++)
        if (seeds[i].seed == seed) seeds[i].env = env_counter, seeds[i].policy = policy_counter, found = 1;
    if (!found) seeds[count++] = (SeedStreams){seed, env_counter, policy_counter};
    snprintf(path, sizeof path, "%s/%s", dir, WM_DATASET_ENV_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (out == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot create", tmp);
    fprintf(out, "%s\n", env);
    for (int i = 0; i < count; i++)
        fprintf(out, "seed %llu env %llu policy %llu\n", (unsigned long long)seeds[i].seed,
                (unsigned long long)seeds[i].env, (unsigned long long)seeds[i].policy);
    return fs_commit_stream(out, tmp, path, err);
}
