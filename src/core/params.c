#include "core/params.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/hash.h"
#include "core/rng.h"

enum { FLOATS_PER_LINE = WM_ALIGN / sizeof(float) };

void params_init(WmParams *params) { memset(params, 0, sizeof *params); }

void params_free(WmParams *params) {
    free(params->infos);
    free(params->value);
    free(params->grad);
    free(params->adam_m);
    free(params->adam_v);
    memset(params, 0, sizeof *params);
}

int params_declare(WmParams *params, const char *name, int rank, const int *shape, WmError *err) {
    if (params->value != NULL) {
        wm_error_set(err, WM_ERR_ARG, "parameter '%s' declared after allocation", name);
        return -1;
    }
    if (rank < 1 || rank > WM_PARAM_RANK_MAX || strlen(name) >= WM_PARAM_NAME_MAX) {
        wm_error_set(err, WM_ERR_ARG, "parameter '%s': rank %d or name length out of range", name, rank);
        return -1;
    }
    if (params_find(params, name) >= 0) {
        wm_error_set(err, WM_ERR_ARG, "parameter '%s' declared twice", name);
        return -1;
    }
    if (params->count == params->capacity) {
        int capacity = params->capacity ? 2 * params->capacity : 32;
        WmParamInfo *grown = realloc(params->infos, (size_t)capacity * sizeof *grown);
        if (grown == NULL) {
            wm_error_set(err, WM_ERR_NOMEM, "parameter table: out of memory");
            return -1;
        }
        params->infos = grown;
        params->capacity = capacity;
    }
    WmParamInfo *info = &params->infos[params->count];
    memset(info, 0, sizeof *info);
    strcpy(info->name, name);
    info->rank = rank;
    info->count = 1;
    for (int d = 0; d < rank; d++) {
        if (shape[d] <= 0) {
            wm_error_set(err, WM_ERR_ARG, "parameter '%s': dimension %d is %d", name, d, shape[d]);
            return -1;
        }
        info->shape[d] = shape[d];
        info->count *= (size_t)shape[d];
    }
    info->offset = params->total;
    params->total += (info->count + FLOATS_PER_LINE - 1) / FLOATS_PER_LINE * FLOATS_PER_LINE;
    return params->count++;
}

static WmStatus allocate_blocks(WmParams *params, int count, WmError *err) {
    size_t bytes = params->total * sizeof(float);
    float **blocks[4] = {&params->value, &params->grad, &params->adam_m, &params->adam_v};
    for (int b = 0; b < count; b++) {
        if (*blocks[b] != NULL) continue;
        *blocks[b] = wm_aligned_alloc(bytes);
        if (*blocks[b] == NULL) return wm_error_set(err, WM_ERR_NOMEM, "parameters: cannot allocate %zu bytes", bytes);
        memset(*blocks[b], 0, bytes);
    }
    return WM_OK;
}

WmStatus params_allocate(WmParams *params, WmError *err) { return allocate_blocks(params, 4, err); }

WmStatus params_allocate_values(WmParams *params, WmError *err) { return allocate_blocks(params, 1, err); }

float *params_value(const WmParams *params, int index) { return params->value + params->infos[index].offset; }
float *params_grad(const WmParams *params, int index) {
    return params->grad ? params->grad + params->infos[index].offset : NULL;
}

int params_find(const WmParams *params, const char *name) {
    for (int i = 0; i < params->count; i++)
        if (strcmp(params->infos[i].name, name) == 0) return i;
    return -1;
}

void params_zero_grad(WmParams *params) { memset(params->grad, 0, params->total * sizeof(float)); }

/* FNV-1a: a tensor's random stream follows from its name, so adding a module (an ensemble member, an actor) leaves every
 * other tensor's initial values as they were. */
static uint64_t name_stream(const char *name) { return hash_fnv1a(WM_FNV1A_START, name, strlen(name)); }

void params_init_glorot(WmParams *p, uint64_t seed) {
    for (int i = 0; i < p->count; i++) {
        const WmParamInfo *info = &p->infos[i];
        float *value = params_value(p, i);
        if (info->rank == 1) { /* biases at 0; a norm's gain (a name ending in ".scale") at 1 */
            const size_t length = strlen(info->name);
            const int gain = length > 6 && strcmp(info->name + length - 6, ".scale") == 0;
            for (size_t j = 0; j < info->count; j++) value[j] = gain ? 1.0f : 0.0f;
            continue;
        }
        WmRng rng = rng_stream(seed, name_stream(info->name));
        const double receptive = info->rank == 4 ? (double)info->shape[2] * info->shape[3] : 1.0;
        const double fan_out = info->shape[0] * receptive, fan_in = info->shape[1] * receptive;
        const float limit = (float)sqrt(6.0 / (fan_in + fan_out));
        rng_fill_uniform(&rng, value, info->count);
        for (size_t j = 0; j < info->count; j++) value[j] = (2.0f * value[j] - 1.0f) * limit;
    }
}
