/* Every trainable tensor of a model, declared first and allocated once: values, gradients and the two Adam
 * moments each live in one aligned block, so the optimiser and gradient clipping are single flat loops and a
 * checkpoint is four memcpys. Tensors are named by module path ("encoder.conv1.weight"). */
#ifndef WM_CORE_PARAMS_H
#define WM_CORE_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define WM_PARAM_NAME_MAX 96
#define WM_PARAM_RANK_MAX 4

typedef struct {
    char name[WM_PARAM_NAME_MAX];
    int rank;
    int shape[WM_PARAM_RANK_MAX];
    size_t offset; /* floats from the block start; a multiple of 16 so every tensor is cache-line aligned */
    size_t count;
} WmParamInfo;

typedef struct {
    WmParamInfo *infos;
    int count, capacity;
    size_t total; /* floats per block, padding included */
    float *value, *grad, *adam_m, *adam_v; /* NULL until params_allocate */
} WmParams;

void params_init(WmParams *params);
void params_free(WmParams *params);

/* Declares a tensor and returns its index (or -1 with err set). Only before params_allocate. */
int params_declare(WmParams *params, const char *name, int rank, const int *shape, WmError *err);
/* Allocates the four blocks, zero-filled (those not yet allocated). */
WmStatus params_allocate(WmParams *params, WmError *err);
/* The values alone, for a model that only acts: no gradients, no optimiser moments. */
WmStatus params_allocate_values(WmParams *params, WmError *err);

float *params_value(const WmParams *params, int index);
/* NULL when the block has no gradients (a frozen view): backward then computes only the input's gradient. */
float *params_grad(const WmParams *params, int index);
int params_find(const WmParams *params, const char *name);
void params_zero_grad(WmParams *params);
/* Glorot-uniform weights (rank >= 2, fans from shape[0] and shape[1] times a 4-d kernel's area), zero biases, and
 * ones for a norm's gain (a rank-1 tensor whose name ends in ".scale");
 * each tensor draws from a stream named after it (seed, FNV-1a of the name). */
void params_init_glorot(WmParams *params, uint64_t seed);

#endif
