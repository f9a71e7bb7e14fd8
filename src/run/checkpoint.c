#include "run/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void checkpoint_rng_format(char *out, size_t size, const WmRng *rng) {
    snprintf(out, size, "%" PRIu64 " %" PRIu64 " %" PRIu64, rng->seed, rng->stream, rng->counter);
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
    long step, action_dim;
    if (checkpoint_meta_long(f, WM_META_STEP, 0, 1000000000000L, &step, err) ||
        checkpoint_meta_long(f, WM_META_ACTION_DIM, 1, 4096, &action_dim, err))
        return err->status;
    if (config == NULL) return wm_error_set(err, WM_ERR_FORMAT, "%s: metadata 'config' is missing", f->path);
    char where[4200];
    snprintf(where, sizeof where, "%s: metadata 'config'", f->path);
    info->step = step, info->action_dim = (int)action_dim;
    config_defaults(&info->config);
    if (config_load_yaml_text(&info->config, config, where, err)) return err->status;
    return config_validate(&info->config, err);
}

/* ---- the tensors: parameters, and the Adam moments beside them ---- */

static const char *const BLOCK_PREFIXES[3] = {"", "optim.m.", "optim.v."};

static WmStatus read_blocks(const WmSafetensors *f, WmParams *p, float *const *blocks, int block_count, WmError *err) {
    char name[WM_PARAM_NAME_MAX + 16];
    for (int k = 0; k < block_count; k++)
        for (int i = 0; i < p->count; i++) {
            const void *data;
            snprintf(name, sizeof name, "%s%s", BLOCK_PREFIXES[k], p->infos[i].name);
            if (safetensors_find(f, name, "F32", p->infos[i].count, &data, err)) return err->status;
            memcpy(blocks[k] + p->infos[i].offset, data, p->infos[i].count * sizeof(float));
        }
    return WM_OK;
}

WmStatus checkpoint_save(const WmTrainer *t, const char *path, const WmMetaEntry *extra, int extra_count,
                         WmError *err) {
    const WmParams *p = &t->model.params;
    const int count = p->count;
    WmTensorRef *tensors = calloc((size_t)3 * count + 1, sizeof *tensors);
    char *names = malloc((size_t)2 * count * (WM_PARAM_NAME_MAX + 16));
    char *config = config_to_yaml_string(&t->config);
    if (tensors == NULL || names == NULL || config == NULL) {
        free(tensors), free(names), free(config);
        return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", path);
    }
    const float *blocks[3] = {p->value, p->adam_m, p->adam_v};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < count; i++) {
            const WmParamInfo *info = &p->infos[i];
            WmTensorRef *ref = &tensors[k * count + i];
            if (k == 0) {
                ref->name = info->name;
            } else {
                char *name = names + ((size_t)(k - 1) * count + i) * (WM_PARAM_NAME_MAX + 16);
                snprintf(name, WM_PARAM_NAME_MAX + 16, "%s%s", BLOCK_PREFIXES[k], info->name);
                ref->name = name;
            }
            ref->dtype = "F32", ref->rank = info->rank;
            for (int d = 0; d < info->rank; d++) ref->shape[d] = info->shape[d];
            ref->data = blocks[k] + info->offset, ref->bytes = info->count * sizeof(float);
        }
    const int64_t adam_step = t->adam.step;
    tensors[3 * count] = (WmTensorRef){"optim.step", "I64", 1, {1}, &adam_step, sizeof adam_step};
    char step[32], action_dim[32], sample[96], dequantize[96], latent[96];
    snprintf(step, sizeof step, "%ld", t->step);
    snprintf(action_dim, sizeof action_dim, "%d", t->model.action_dim);
    checkpoint_rng_format(sample, sizeof sample, &t->sample_rng);
    checkpoint_rng_format(dequantize, sizeof dequantize, &t->dequantize_rng);
    checkpoint_rng_format(latent, sizeof latent, &t->latent_rng);
    WmMetaEntry meta[16 + 16] = {
        {WM_META_FORMAT, WM_CHECKPOINT_FORMAT}, {WM_META_CONFIG, config},         {WM_META_STEP, step},
        {WM_META_ACTION_DIM, action_dim},       {WM_META_RNG_SAMPLE, sample},     {WM_META_RNG_DEQUANTIZE, dequantize},
        {WM_META_RNG_LATENT, latent},
    };
    int meta_count = 7;
    for (int i = 0; i < extra_count && meta_count < 32; i++) meta[meta_count++] = extra[i];
    WmStatus status = safetensors_write(path, tensors, 3 * count + 1, meta, meta_count, err);
    free(tensors), free(names), free(config);
    return status;
}

WmStatus checkpoint_load_trainer(WmTrainer *t, const char *path, WmError *err) {
    WmSafetensors f;
    if (safetensors_open(&f, path, err)) return err->status;
    WmParams *p = &t->model.params;
    WmCheckpointInfo info;
    const void *adam_step;
    int64_t adam_value;
    if (checkpoint_read_info(&f, &info, err)) goto done;
    if (info.action_dim != t->model.action_dim) {
        wm_error_set(err, WM_ERR_FORMAT, "%s: a model of %d actions; this run has %d", path, info.action_dim,
                     t->model.action_dim);
        goto done;
    }
    float *blocks[3] = {p->value, p->adam_m, p->adam_v};
    if (read_blocks(&f, p, blocks, 3, err) || safetensors_find(&f, "optim.step", "I64", 1, &adam_step, err))
        goto done;
    memcpy(&adam_value, adam_step, sizeof adam_value);
    if (checkpoint_rng_read(&f, WM_META_RNG_SAMPLE, &t->sample_rng, err) ||
        checkpoint_rng_read(&f, WM_META_RNG_DEQUANTIZE, &t->dequantize_rng, err) ||
        checkpoint_rng_read(&f, WM_META_RNG_LATENT, &t->latent_rng, err))
        goto done;
    t->adam.step = (long)adam_value;
    t->step = info.step;
done:
    safetensors_close(&f);
    return err->status;
}

WmStatus checkpoint_load_model(WmWorldModel *model, const char *path, WmCheckpointInfo *info, WmError *err) {
    memset(model, 0, sizeof *model);
    WmSafetensors f;
    if (safetensors_open(&f, path, err)) return err->status;
    WmCheckpointInfo own;
    WmCheckpointInfo *read = info ? info : &own;
    if (checkpoint_read_info(&f, read, err) == WM_OK) {
        const WmModelConfig model_config = model_config_from(&read->config);
        float *blocks[1] = {NULL};
        if (world_model_declare(model, &model_config, read->action_dim, err) == WM_OK &&
            params_allocate_values(&model->params, err) == WM_OK) {
            blocks[0] = model->params.value;
            read_blocks(&f, &model->params, blocks, 1, err);
        }
    }
    safetensors_close(&f);
    if (err->status) world_model_free(model);
    return err->status;
}
