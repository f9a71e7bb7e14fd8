#include "run/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void checkpoint_rng_format(char *out, size_t size, const WmRng *rng) {
    snprintf(out, size, "%" PRIu64 " %" PRIu64 " %" PRIu64, rng->seed, rng->stream, rng->counter);
}

void checkpoint_rank_key(char *out, size_t size, const char *key, int rank) {
    if (rank == 0) snprintf(out, size, "%s", key);
    else snprintf(out, size, "rank%d.%s", rank, key);
}

/* The trainer's random streams by metadata key, in one order for writing and reading. */
static int trainer_streams(const WmTrainer *t, const char **keys, WmRng **rngs) {
    WmTrainer *w = (WmTrainer *)t; /* the streams are only read when writing */
    int count = 0;
    keys[count] = WM_META_RNG_SAMPLE, rngs[count++] = &w->sample_rng;
    keys[count] = WM_META_RNG_DEQUANTIZE, rngs[count++] = &w->dequantize_rng;
    keys[count] = WM_META_RNG_LATENT, rngs[count++] = &w->latent_rng;
    if (w->imagination) keys[count] = WM_META_RNG_IMAGINE, rngs[count++] = &w->imagination->rng;
    return count;
}

int checkpoint_trainer_streams(const WmTrainer *t, WmMetaEntry *entries, char texts[][WM_META_TEXT_MAX]) {
    const char *keys[WM_TRAINER_STREAMS_MAX];
    WmRng *rngs[WM_TRAINER_STREAMS_MAX];
    const int count = trainer_streams(t, keys, rngs);
    for (int i = 0; i < count; i++) {
        checkpoint_rng_format(texts[i], WM_META_TEXT_MAX, rngs[i]);
        entries[i] = (WmMetaEntry){keys[i], texts[i]};
    }
    return count;
}

WmStatus checkpoint_rng_read(const WmSafetensors *f, const char *key, WmRng *rng, WmError *err) {
    const char *text = safetensors_meta(f, key);
    uint64_t seed, stream, counter;
    char extra;
    if (text == NULL || sscanf(text, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %c", &seed, &stream, &counter, &extra) != 3)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: metadata '%s' is missing or malformed", f->path, key);
    *rng = (WmRng){seed, stream, counter};
    return WM_OK;
}

WmStatus checkpoint_meta_long(const WmSafetensors *f, const char *key, long lo, long hi, long *value, WmError *err) {
    const char *text = safetensors_meta(f, key);
    char *end = NULL;
    errno = 0;
    const long parsed = text ? strtol(text, &end, 10) : 0;
    if (text == NULL || end == text || *end != '\0' || errno == ERANGE || text[0] == ' ' || text[0] == '+')
        return wm_error_set(err, WM_ERR_FORMAT, "%s: metadata '%s' is missing or not a whole number", f->path, key);
    if (parsed < lo || parsed > hi)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: metadata '%s' = %ld is outside [%ld, %ld]", f->path, key, parsed,
                            lo, hi);
    *value = parsed;
    return WM_OK;
}

WmStatus checkpoint_read_info(const WmSafetensors *f, WmCheckpointInfo *info, WmError *err) {
    const char *format = safetensors_meta(f, WM_META_FORMAT), *config = safetensors_meta(f, WM_META_CONFIG);
    if (format == NULL || strcmp(format, WM_CHECKPOINT_FORMAT) != 0)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: not a wm checkpoint (metadata format is '%s')", f->path,
                            format ? format : "missing");
    long step, action_dim, state_dim = 0;
    if (checkpoint_meta_long(f, WM_META_STEP, 0, 1000000000000L, &step, err) ||
        checkpoint_meta_long(f, WM_META_ACTION_DIM, 1, WM_EPISODE_ACTION_MAX, &action_dim, err) ||
        (safetensors_meta(f, WM_META_STATE_DIM) &&
         checkpoint_meta_long(f, WM_META_STATE_DIM, 1, WM_EPISODE_STATE_MAX, &state_dim, err)))
        return err->status;
    if (config == NULL) return wm_error_set(err, WM_ERR_FORMAT, "%s: metadata 'config' is missing", f->path);
    char where[4200];
    snprintf(where, sizeof where, "%s: metadata 'config'", f->path);
    info->step = step, info->action_dim = (int)action_dim, info->state_dim = (int)state_dim;
    const char *env = safetensors_meta(f, WM_META_ENV);
    snprintf(info->env, sizeof info->env, "%s", env ? env : "");
    config_defaults(&info->config);
    if (config_load_yaml_text(&info->config, config, where, err)) return err->status;
    return config_validate(&info->config, err);
}

/* ---- the tensors: parameter blocks, and the Adam moments beside them ---- */

/* One parameter block in a checkpoint: its values by name (after `prefix`, for a copy such as the slow value),
 * and, with an optimiser, its moments as optim.m.<name> and optim.v.<name> and its step count as `step_name`. */
typedef struct {
    WmParams *params;
    const char *prefix;
    WmAdam *adam;
    const char *step_name;
} Block;

enum { BLOCKS_MAX = 4, NAME_MAX_BYTES = WM_PARAM_NAME_MAX + 16 };

/* The trainer's blocks: the world model, and with imagination the actor, the value and the slow value. */
static int trainer_blocks(WmTrainer *t, Block *blocks) {
    int count = 0;
    blocks[count++] = (Block){&t->model.params, "", &t->adam, "optim.step"};
    WmImagination *im = t->imagination;
    if (im) {
        blocks[count++] = (Block){&im->actor.params, "", &im->actor_adam, "optim.actor_step"};
        blocks[count++] = (Block){&im->value.params, "", &im->value_adam, "optim.value_step"};
        if (im->has_slow) blocks[count++] = (Block){&im->value_target, "target.", NULL, NULL};
    }
    return count;
}

static float *block_array(const WmParams *p, int k) { return k == 0 ? p->value : k == 1 ? p->adam_m : p->adam_v; }

static void tensor_name(char *out, const Block *b, int k, int i) {
    static const char *const MOMENTS[3] = {"", "optim.m.", "optim.v."};
    snprintf(out, NAME_MAX_BYTES, "%s%s%s", MOMENTS[k], b->prefix, b->params->infos[i].name);
}

static WmStatus read_blocks(const WmSafetensors *f, const Block *blocks, int block_count, WmError *err) {
    char name[NAME_MAX_BYTES];
    for (int b = 0; b < block_count; b++) {
        const WmParams *p = blocks[b].params;
        for (int k = 0; k < (blocks[b].adam ? 3 : 1); k++)
            for (int i = 0; i < p->count; i++) {
                const void *data;
                tensor_name(name, &blocks[b], k, i);
                if (safetensors_find(f, name, "F32", p->infos[i].count, &data, err)) return err->status;
                memcpy(block_array(p, k) + p->infos[i].offset, data, p->infos[i].count * sizeof(float));
            }
        if (blocks[b].adam) {
            const void *step;
            int64_t value;
            if (safetensors_find(f, blocks[b].step_name, "I64", 1, &step, err)) return err->status;
            memcpy(&value, step, sizeof value);
            blocks[b].adam->step = (long)value;
        }
    }
    return WM_OK;
}

WmStatus checkpoint_save(const WmTrainer *trainer, const char *path, const WmMetaEntry *extra, int extra_count,
                         WmError *err) {
    WmTrainer *t = (WmTrainer *)trainer; /* the blocks are only read */
    Block blocks[BLOCKS_MAX];
    const int block_count = trainer_blocks(t, blocks);
    int tensor_count = 0;
    for (int b = 0; b < block_count; b++)
        tensor_count += blocks[b].params->count * (blocks[b].adam ? 3 : 1) + !!blocks[b].adam;
    WmTensorRef *tensors = calloc((size_t)tensor_count, sizeof *tensors);
    char *names = malloc((size_t)tensor_count * NAME_MAX_BYTES);
    int64_t steps[BLOCKS_MAX];
    char *config = config_to_yaml_string(&t->config);
    if (tensors == NULL || names == NULL || config == NULL) {
        free(tensors), free(names), free(config);
        return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", path);
    }
    int n = 0;
    for (int b = 0; b < block_count; b++) {
        const WmParams *p = blocks[b].params;
        for (int k = 0; k < (blocks[b].adam ? 3 : 1); k++)
            for (int i = 0; i < p->count; i++, n++) {
                const WmParamInfo *info = &p->infos[i];
                char *name = names + (size_t)n * NAME_MAX_BYTES;
                tensor_name(name, &blocks[b], k, i);
                tensors[n] = (WmTensorRef){.name = name, .dtype = "F32", .rank = info->rank,
                                           .data = block_array(p, k) + info->offset,
                                           .bytes = info->count * sizeof(float)};
                for (int d = 0; d < info->rank; d++) tensors[n].shape[d] = info->shape[d];
            }
        if (blocks[b].adam) {
            steps[b] = blocks[b].adam->step;
            tensors[n++] = (WmTensorRef){blocks[b].step_name, "I64", 1, {1}, &steps[b], sizeof steps[b]};
        }
    }
    char step[32], action_dim[32], state_dim[32], updates[32], percentiles[80], ranks[32];
    char streams[WM_TRAINER_STREAMS_MAX][WM_META_TEXT_MAX];
    snprintf(step, sizeof step, "%ld", t->step);
    snprintf(action_dim, sizeof action_dim, "%d", t->model.action_dim);
    snprintf(state_dim, sizeof state_dim, "%ld", t->model.config.state_dim);
    WmMetaEntry *meta = calloc((size_t)WM_TRAINER_STREAMS_MAX + 10 + (size_t)extra_count, sizeof *meta);
    if (meta == NULL) {
        free(tensors), free(names), free(config);
        return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", path);
    }
    meta[0] = (WmMetaEntry){WM_META_FORMAT, WM_CHECKPOINT_FORMAT}, meta[1] = (WmMetaEntry){WM_META_CONFIG, config};
    meta[2] = (WmMetaEntry){WM_META_STEP, step}, meta[3] = (WmMetaEntry){WM_META_ACTION_DIM, action_dim};
    meta[4] = (WmMetaEntry){WM_META_VERSION, WM_VERSION};
    meta[5] = (WmMetaEntry){WM_META_TRAIN_PRECISION, t->model.train_bf16 ? "bf16" : "fp32"};
    int meta_count = 6;
    if (t->model.config.state_dim > 0) meta[meta_count++] = (WmMetaEntry){WM_META_STATE_DIM, state_dim};
    meta_count += checkpoint_trainer_streams(t, meta + meta_count, streams);
    if (t->imagination) {
        snprintf(updates, sizeof updates, "%ld", t->imagination->updates);
        meta[meta_count++] = (WmMetaEntry){WM_META_ACTOR_UPDATES, updates};
        if (t->imagination->normalize_returns) { /* hexadecimal: read back to the same bits */
            snprintf(percentiles, sizeof percentiles, "%a %a", t->imagination->return_low,
                     t->imagination->return_high);
            meta[meta_count++] = (WmMetaEntry){WM_META_ACTOR_RETURN_PERCENTILES, percentiles};
        }
    }
    if (t->comm.size > 1) { /* a single process's checkpoints stay as they were */
        snprintf(ranks, sizeof ranks, "%d", t->comm.size);
        meta[meta_count++] = (WmMetaEntry){WM_META_RANKS, ranks};
    }
    for (int i = 0; i < extra_count; i++) meta[meta_count++] = extra[i];
    WmStatus status = safetensors_write(path, tensors, n, meta, meta_count, err);
    free(tensors), free(names), free(config), free(meta);
    return status;
}

/* The running return percentiles of actor.return_normalization: two finite numbers. */
static WmStatus read_return_percentiles(const WmSafetensors *f, const char *path, WmImagination *im, WmError *err) {
    const char *text = safetensors_meta(f, WM_META_ACTOR_RETURN_PERCENTILES);
    char *end = NULL;
    const double low = text ? strtod(text, &end) : NAN, high = end ? strtod(end, &end) : NAN;
    if (!isfinite(low) || !isfinite(high) || (end && *end != '\0'))
        return wm_error_set(err, WM_ERR_FORMAT, "%s: metadata '%s' is missing or not two finite numbers (the run "
                            "has actor.return_normalization)", path, WM_META_ACTOR_RETURN_PERCENTILES);
    im->return_low = low, im->return_high = high;
    return WM_OK;
}

WmStatus checkpoint_load_trainer(WmTrainer *t, const char *path, WmError *err) {
    WmSafetensors f;
    if (safetensors_open(&f, path, err)) return err->status;
    WmCheckpointInfo info;
    Block blocks[BLOCKS_MAX];
    const int block_count = trainer_blocks(t, blocks);
    if (checkpoint_read_info(&f, &info, err)) goto done;
    if (info.action_dim != t->model.action_dim || info.state_dim != t->model.config.state_dim) {
        wm_error_set(err, WM_ERR_FORMAT, "%s: a model of %d action%s and %d state number%s; this run has %d and %ld",
                     path, info.action_dim, wm_plural(info.action_dim), info.state_dim, wm_plural(info.state_dim),
                     t->model.action_dim, t->model.config.state_dim);
        goto done;
    }
    long ranks = 1;
    if (safetensors_meta(&f, WM_META_RANKS) && checkpoint_meta_long(&f, WM_META_RANKS, 2, 1L << 20, &ranks, err))
        goto done;
    if (ranks != t->comm.size) {
        wm_error_set(err, WM_ERR_ARG, "%s: the run was trained on %ld rank%s and this start has %d; resume it with "
                     "mpirun -np %ld", path, ranks, wm_plural(ranks), t->comm.size, ranks);
        goto done;
    }
    if (read_blocks(&f, blocks, block_count, err)) goto done;
    const char *keys[WM_TRAINER_STREAMS_MAX];
    WmRng *rngs[WM_TRAINER_STREAMS_MAX];
    char key[WM_META_TEXT_MAX];
    const int stream_count = trainer_streams(t, keys, rngs);
    for (int i = 0; i < stream_count; i++) {
        checkpoint_rank_key(key, sizeof key, keys[i], t->comm.rank);
        if (checkpoint_rng_read(&f, key, rngs[i], err)) goto done;
    }
    if (t->imagination && checkpoint_meta_long(&f, WM_META_ACTOR_UPDATES, 0, 1L << 50, &t->imagination->updates, err))
        goto done;
    if (t->imagination && t->imagination->normalize_returns &&
        read_return_percentiles(&f, path, t->imagination, err))
        goto done;
    t->step = info.step;
done:
    safetensors_close(&f);
    return err->status;
}

WmStatus checkpoint_load_policy(const char *path, WmActor *actor, WmValue *value, WmError *err) {
    if (actor) memset(actor, 0, sizeof *actor);
    if (value) memset(value, 0, sizeof *value);
    WmSafetensors f;
    if (safetensors_open(&f, path, err)) return err->status;
    WmCheckpointInfo info;
    if (checkpoint_read_info(&f, &info, err) == WM_OK) {
        const WmModelConfig model = model_config_from(&info.config);
        const int features = (int)model.net.deter + latent_from_config(&model.net).width;
        if (!info.config.actor.enabled) {
            wm_error_set(err, WM_ERR_ARG, "%s: this run was trained without the actor (actor.enabled false); "
                         "plan with cem, mppi or shooting", path);
        } else if (actor && actor_create(actor, &info.config.actor, features, info.action_dim, err) == WM_OK) {
            const Block block = {&actor->params, "", NULL, NULL};
            read_blocks(&f, &block, 1, err);
        }
        if (err->status == WM_OK && value && value_create(value, &info.config.actor, features, err) == WM_OK) {
            const Block block = {&value->params, "", NULL, NULL};
            read_blocks(&f, &block, 1, err);
        }
    }
    safetensors_close(&f);
    if (err->status && actor) actor_free(actor);
    if (err->status && value) value_free(value);
    return err->status;
}

WmStatus checkpoint_load_model(WmWorldModel *model, const char *path, WmCheckpointInfo *info, WmError *err) {
    memset(model, 0, sizeof *model);
    WmSafetensors f;
    if (safetensors_open(&f, path, err)) return err->status;
    WmCheckpointInfo own;
    WmCheckpointInfo *read = info ? info : &own;
    if (checkpoint_read_info(&f, read, err) == WM_OK) {
        WmModelConfig model_config = model_config_from(&read->config);
        model_config.state_dim = read->state_dim;
        if (world_model_declare(model, &model_config, read->action_dim, err) == WM_OK &&
            params_allocate_values(&model->params, err) == WM_OK) {
            const Block block = {&model->params, "", NULL, NULL};
            read_blocks(&f, &block, 1, err);
        }
    }
    safetensors_close(&f);
    if (err->status) world_model_free(model);
    return err->status;
}
