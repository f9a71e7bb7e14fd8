#include "run/run_dir.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "run/checkpoint.h"

void run_paths(WmRunPaths *p, const char *run) {
    snprintf(p->dir, sizeof p->dir, "%s", run);
    snprintf(p->config, sizeof p->config, "%.4096s/config.yaml", run);
    snprintf(p->latest, sizeof p->latest, "%.4096s/latest.safetensors", run);
    snprintf(p->metrics, sizeof p->metrics, "%.4096s/metrics.jsonl", run);
    snprintf(p->checkpoints, sizeof p->checkpoints, "%.4096s/checkpoints", run);
    snprintf(p->episodes, sizeof p->episodes, "%.4096s/episodes", run);
    snprintf(p->plan_metrics, sizeof p->plan_metrics, "%.4096s/plan_metrics.jsonl", run);
    snprintf(p->lock, sizeof p->lock, "%.4096s/.lock", run);
}

WmStatus run_lock(const WmRunPaths *p, int *fd, WmError *err) {
    char holder[128];
    if (fs_make_dirs(p->dir, err) || fs_lock_try(p->lock, "wm train", fd, holder, sizeof holder, err))
        return err->status;
    if (*fd >= 0) return WM_OK;
    long pid = 0;
    int name_at = 0;
    if (sscanf(holder, "%ld %n", &pid, &name_at) == 1 && holder[name_at])
        return wm_error_set(err, WM_ERR_ARG, "%s is in use by %s (pid %ld)", p->dir, holder + name_at, pid);
    return wm_error_set(err, WM_ERR_ARG, "%s is in use by another process that is starting", p->dir);
}

void run_unlock(int *fd) { fs_unlock(fd); }

WmStatus run_checkpoint_path(const WmRunPaths *p, const char *name, char *out, size_t size, WmError *err) {
    long step;
    char extra;
    if (name == NULL || strcmp(name, "latest") == 0) {
        snprintf(out, size, "%s", p->latest);
        if (!fs_exists(out)) return wm_error_set(err, WM_ERR_ARG, "%s: no checkpoint yet (latest.safetensors)", p->dir);
        return WM_OK;
    }
    if (sscanf(name, "step_%ld%c", &step, &extra) != 1 || step < 0)
        return wm_error_set(err, WM_ERR_ARG, "--checkpoint %s: not latest or step_N", name);
    snprintf(out, size, "%s/step_%ld.safetensors", p->checkpoints, step);
    if (!fs_exists(out)) return wm_error_set(err, WM_ERR_ARG, "%s: no checkpoint %s (%s)", p->dir, name, out);
    return WM_OK;
}

static WmStatus apply_sets(WmConfig *config, const char *const *sets, int set_count, WmError *err) {
    for (int i = 0; i < set_count; i++)
        if (config_set_assignment(config, sets[i], err)) return err->status;
    return WM_OK;
}

/* The defaults, then the YAML file `base` (may be NULL), then the request's assignments, --steps and --env. */
static WmStatus resolve_over(const char *base, const WmConfigRequest *r, WmConfig *config, WmError *err) {
    config_defaults(config);
    if ((base && config_load_yaml(config, base, err)) || apply_sets(config, r->sets, r->set_count, err))
        return err->status;
    if (r->steps > 0) config->run.steps = r->steps;
    if (r->env && config_set(config, "data.env", r->env, "--env", err)) return err->status;
    return config_validate(config, err);
}

WmStatus run_resolve_config(const WmRunPaths *p, int resuming, const WmConfigRequest *r, WmConfig *config,
                            WmError *err) {
    if (!resuming) return resolve_over(r->config_path, r, config, err);
    WmConfig written, asked;
    config_defaults(&written);
    if (config_load_yaml(&written, p->config, err) || resolve_over(p->config, r, config, err)) return err->status;
    if (r->config_path == NULL) return WM_OK;
    if (resolve_over(r->config_path, r, &asked, err)) return err->status;
    asked.run.steps = written.run.steps;
    static const char *const EVERY[] = {"", NULL};
    char differences[1024];
    if (config_differences(&asked, &written, EVERY, differences, sizeof differences) == 0) return WM_OK;
    return wm_error_set(err, WM_ERR_ARG, "%s is a run made with another config; %s with the --set given differs "
                        "from it in %s (a new --run; or, without --config, --set changes a resumed run)", p->dir,
                        r->config_path, differences);
}

WmStatus run_read_config(const WmRunPaths *p, const char *const *sets, int set_count, WmConfig *config,
                         WmError *err) {
    if (!fs_is_dir(p->dir)) return wm_error_set(err, WM_ERR_ARG, "%s: no such run directory", p->dir);
    if (!fs_exists(p->config)) return wm_error_set(err, WM_ERR_ARG, "%s: not a run (no config.yaml)", p->dir);
    config_defaults(config);
    if (config_load_yaml(config, p->config, err) || apply_sets(config, sets, set_count, err)) return err->status;
    return config_validate(config, err);
}

static WmStatus write_config(const WmConfig *config, const char *path, WmError *err) {
    char tmp[WM_RUN_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (out == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot create", tmp);
    fprintf(out, "# The resolved configuration of this run, written by wm train; a resume reads it back.\n");
    config_write_yaml(config, out);
    return fs_commit_stream(out, tmp, path, err);
}

WmStatus run_prepare(const WmRunPaths *p, const WmConfig *config, WmError *err) {
    if (fs_make_dirs(p->checkpoints, err)) return err->status;
    if (fs_exists(p->config)) {
        WmConfig written;
        config_defaults(&written);
        static const char *const EVERY[] = {"", NULL};
        char differences[16];
        if (config_load_yaml(&written, p->config, err)) return err->status;
        if (config_differences(&written, config, EVERY, differences, sizeof differences) == 0) return WM_OK;
    }
    return write_config(config, p->config, err);
}

void run_discard(const WmRunPaths *p, int directory_was_new) {
    if (fs_exists(p->latest)) return; /* a checkpoint exists: the run is real */
    char **names = NULL;
    int count = 0;
    WmError err = {0};
    /* Episodes go only from a directory this start made: anything else in it is somebody's. */
    if (directory_was_new && fs_list_dir(p->episodes, &names, &count, &err) == WM_OK) {
        for (int i = 0; i < count; i++) {
            char path[WM_RUN_PATH_MAX + 300];
            snprintf(path, sizeof path, "%s/%s", p->episodes, names[i]);
            fs_remove_shallow(path);
        }
        fs_free_list(names, count);
    }
    rmdir(p->episodes);
    rmdir(p->checkpoints);
    remove(p->config);
    remove(p->metrics);
    if (directory_was_new) {
        remove(p->lock);
        rmdir(p->dir);
    }
}

/* Removes all but the newest `keep` step files; checkpoints need not come at a regular interval. */
static WmStatus rotate(const WmRunPaths *p, long keep, WmError *err) {
    char **names = NULL;
    int count = 0;
    if (fs_list_dir(p->checkpoints, &names, &count, err)) return err->status;
    long *steps = calloc((size_t)count + 1, sizeof *steps);
    int found = 0;
    for (int i = 0; i < count && steps; i++) {
        long step;
        char tail[32];
        if (sscanf(names[i], "step_%ld.safetensor%31s", &step, tail) == 2 && strcmp(tail, "s") == 0)
            steps[found++] = step;
    }
    for (int i = 0; i < found && steps; i++) {
        int newer = 0;
        for (int j = 0; j < found; j++) newer += steps[j] > steps[i];
        if (newer >= keep) {
            char old[WM_RUN_PATH_MAX + 64];
            snprintf(old, sizeof old, "%s/step_%ld.safetensors", p->checkpoints, steps[i]);
            remove(old);
        }
    }
    free(steps);
    fs_free_list(names, count);
    return WM_OK;
}

/* What rank 0 writes for every rank r >= 1: the trainer's streams and the loop's own entries, keyed by rank. */
typedef struct {
    WmMetaEntry *entries;
    char *keys, *texts;
    int count;
} RankEntries;

static WmStatus gather_rank_entries(const WmTrainer *t, const WmMetaEntry *own, int own_count, RankEntries *out,
                                    WmError *err) {
    memset(out, 0, sizeof *out);
    WmMetaEntry mine[WM_TRAINER_STREAMS_MAX + 16];
    char stream_texts[WM_TRAINER_STREAMS_MAX][WM_META_TEXT_MAX];
    const int streams = checkpoint_trainer_streams(t, mine, stream_texts);
    if (own_count > 16) return wm_error_set(err, WM_ERR_ARG, "checkpoint: %d entries per rank are too many", own_count);
    for (int i = 0; i < own_count; i++) mine[streams + i] = own[i];
    const int count = streams + own_count, ranks = t->comm.size;
    char block[(WM_TRAINER_STREAMS_MAX + 16) * WM_META_TEXT_MAX] = {0};
    for (int i = 0; i < count; i++) {
        if (strlen(mine[i].value) >= WM_META_TEXT_MAX)
            return wm_error_set(err, WM_ERR_ARG, "checkpoint: metadata '%s' is too long to gather", mine[i].key);
        memcpy(block + (size_t)i * WM_META_TEXT_MAX, mine[i].value, strlen(mine[i].value) + 1);
    }
    const size_t bytes = (size_t)count * WM_META_TEXT_MAX;
    if (t->comm.rank == 0) {
        out->texts = calloc((size_t)ranks, bytes);
        out->keys = calloc((size_t)ranks * count, WM_META_TEXT_MAX);
        out->entries = calloc((size_t)ranks * count, sizeof *out->entries);
        if (!out->texts || !out->keys || !out->entries) return wm_error_set(err, WM_ERR_NOMEM, "checkpoint: out of memory");
    }
    if (comm_gather(&t->comm, block, bytes, out->texts, err) || t->comm.rank != 0) return err->status;
    for (int r = 1; r < ranks; r++)
        for (int i = 0; i < count; i++, out->count++) {
            char *key = out->keys + (size_t)out->count * WM_META_TEXT_MAX;
            checkpoint_rank_key(key, WM_META_TEXT_MAX, mine[i].key, r);
            out->entries[out->count] = (WmMetaEntry){key, out->texts + ((size_t)r * count + i) * WM_META_TEXT_MAX};
        }
    return WM_OK;
}

static void rank_entries_free(RankEntries *e) {
    free(e->entries), free(e->keys), free(e->texts);
    memset(e, 0, sizeof *e);
}

WmStatus run_save_checkpoint(const WmRunPaths *p, const WmTrainer *t, long keep, const WmMetaEntry *shared,
                             int shared_count, const WmMetaEntry *own, int own_count, WmError *err) {
    RankEntries others = {0};
    WmMetaEntry *extra = NULL;
    if (t->comm.size > 1 && gather_rank_entries(t, own, own_count, &others, err)) goto done;
    if (t->comm.rank != 0) goto done; /* rank 0 writes */
    const int extra_count = shared_count + own_count + others.count;
    if ((extra = calloc((size_t)extra_count + 1, sizeof *extra)) == NULL) {
        wm_error_set(err, WM_ERR_NOMEM, "checkpoint: out of memory");
        goto done;
    }
    for (int i = 0; i < shared_count; i++) extra[i] = shared[i];
    for (int i = 0; i < own_count; i++) extra[shared_count + i] = own[i];
    for (int i = 0; i < others.count; i++) extra[shared_count + own_count + i] = others.entries[i];
    char path[WM_RUN_PATH_MAX + 64], tmp[WM_RUN_PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/step_%ld.safetensors", p->checkpoints, t->step);
    snprintf(tmp, sizeof tmp, "%s.tmp", p->latest);
    if (checkpoint_save(t, path, extra, extra_count, err)) goto done;
    /* latest is a second name for the same file: a hard link, swapped in atomically. */
    remove(tmp);
    if (link(path, tmp) != 0) {
        wm_error_set(err, WM_ERR_IO, "%s: cannot link to %s", tmp, path);
        goto done;
    }
    if (fs_commit(tmp, p->latest, err) == WM_OK && keep > 0) rotate(p, keep, err);
done:
    rank_entries_free(&others);
    free(extra);
    return err->status;
}
