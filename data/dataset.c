#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"

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
    memset(dataset, 0, sizeof *dataset);
    char **paths = NULL;
    int count = 0;
    if (dataset_list(dir, &paths, &count, err)) return err->status;
    if (count == 0) {
        free(paths);
        return wm_error_set(err, WM_ERR_FORMAT, "%s: no episodes (PNG directories with steps.csv, or .npz files)", dir);
    }
    dataset->episodes = calloc(count, sizeof *dataset->episodes);
    char bad[400] = "";
    int bad_count = 0;
    WmStatus status = dataset->episodes ? WM_OK : wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", dir);
    for (int i = 0; i < count && status == WM_OK; i++) {
        WmError episode_err = {0};
        if (episode_read(paths[i], size, &dataset->episodes[dataset->count], &episode_err) == WM_OK) {
            /* Size is fixed by the first episode unless the caller asked for one. */
            if (size->height == 0) size->height = dataset->episodes[0].height, size->width = dataset->episodes[0].width;
            dataset->count++;
            continue;
        }
        if (episode_err.status == WM_ERR_NOMEM) status = wm_error_set(err, WM_ERR_NOMEM, "%s", episode_err.message);
        if (bad_count++ == 0) snprintf(bad, sizeof bad, "%.390s", episode_err.message);
    }
    fs_free_list(paths, count);
    if (status == WM_OK && bad_count > 0 && !skip_bad)
        status = wm_error_set(err, WM_ERR_FORMAT, "%s: %d of %d episodes are bad (--skip-bad passes them over); first: %s",
                              dir, bad_count, count, bad);
    if (status == WM_OK && dataset->count == 0)
        status = wm_error_set(err, WM_ERR_FORMAT, "%s: every episode is bad; first: %s", dir, bad);
    dataset->skipped = bad_count;
    if (status != WM_OK) dataset_free(dataset);
    return status;
}

void dataset_free(WmDataset *dataset) {
    for (int i = 0; i < dataset->count; i++) episode_free(&dataset->episodes[i]);
    free(dataset->episodes);
    memset(dataset, 0, sizeof *dataset);
}

uint64_t dataset_fingerprint(const WmDataset *d) {
    uint64_t hash = 1469598103934665603ull;
    for (int e = 0; e < d->count; e++) {
        const WmEpisode *x = &d->episodes[e];
        const struct {
            const void *data;
            size_t bytes;
        } parts[] = {{x->frames, episode_frame_bytes(x) * x->length},
                     {x->actions, (size_t)x->length * x->action_dim * sizeof(float)},
                     {x->rewards, (size_t)x->length * sizeof(float)}};
        for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++)
            for (const unsigned char *c = parts[p].data, *end = c + parts[p].bytes; c < end; c++)
                hash = (hash ^ *c) * 1099511628211ull;
    }
    return hash;
}

void dataset_read_env(const char *dir, char *env, size_t size) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, WM_DATASET_ENV_FILE);
    env[0] = '\0';
    FILE *in = fopen(path, "r");
    if (in == NULL) return;
    if (fgets(env, (int)size, in) == NULL) env[0] = '\0';
    env[strcspn(env, "\r\n")] = '\0';
    fclose(in);
}

WmStatus dataset_write_env(const char *dir, const char *env, WmError *err) {
    char known[128], path[4200], tmp[4300];
    dataset_read_env(dir, known, sizeof known);
    if (known[0] && strcmp(known, env) != 0)
        return wm_error_set(err, WM_ERR_ARG, "%s: holds episodes of %s (%s); put %s's in another directory", dir, known,
                            WM_DATASET_ENV_FILE, env);
    if (known[0]) return WM_OK;
    snprintf(path, sizeof path, "%s/%s", dir, WM_DATASET_ENV_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (out == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot create", tmp);
    fprintf(out, "%s\n", env);
    if (fclose(out) != 0) return wm_error_set(err, WM_ERR_IO, "%s: write failed", tmp);
    return fs_commit(tmp, path, err);
}
