/* safetensors files (https://huggingface.co/docs/safetensors): 8 bytes little-endian header size, a JSON header
 * naming each tensor's dtype, shape and byte range, an optional "__metadata__" map of strings, then the bytes.
 * Any safetensors reader opens what we write. Writing goes to a temporary name, is fsynced and renamed. */
#ifndef WM_CORE_SAFETENSORS_H
#define WM_CORE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define WM_TENSOR_RANK_MAX 4

typedef struct {
    const char *name;
    const char *dtype; /* "F32", "I64", "U8" */
    int rank;
    int64_t shape[WM_TENSOR_RANK_MAX];
    const void *data;
    size_t bytes;
} WmTensorRef;

typedef struct {
    const char *key, *value;
} WmMetaEntry;

WmStatus safetensors_write(const char *path, const WmTensorRef *tensors, int count, const WmMetaEntry *meta,
                           int meta_count, WmError *err);

/* A file read whole and its header parsed and checked (offsets inside the file, sizes matching dtype x shape). */
typedef struct {
    char *path;
    unsigned char *bytes;
    size_t size;
    void *header; /* cJSON */
    size_t data_start;
} WmSafetensors;

WmStatus safetensors_open(WmSafetensors *file, const char *path, WmError *err);
void safetensors_close(WmSafetensors *file);
/* NULL when absent. */
const char *safetensors_meta(const WmSafetensors *file, const char *key);
/* Finds a tensor, which must have the dtype and (when expected_count > 0) that many elements. */
WmStatus safetensors_find(const WmSafetensors *file, const char *name, const char *dtype, size_t expected_count,
                          const void **data, WmError *err);
/* Tensor names in file order (header order), for listing. Calls visit for each. */
void safetensors_each(const WmSafetensors *file,
                      void (*visit)(void *ctx, const char *name, const char *dtype, int rank, const int64_t *shape,
                                    const void *data),
                      void *ctx);

#endif
