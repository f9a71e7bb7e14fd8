#include "core/safetensors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"

static size_t dtype_size(const char *dtype) {
    if (strcmp(dtype, "F32") == 0) return 4;
    if (strcmp(dtype, "I64") == 0 || strcmp(dtype, "F64") == 0) return 8;
    if (strcmp(dtype, "U8") == 0) return 1;
    return 0;
}

WmStatus safetensors_write(const char *path, const WmTensorRef *tensors, int count, const WmMetaEntry *meta,
                           int meta_count, WmError *err) {
    cJSON *header = cJSON_CreateObject();
    if (header == NULL) return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", path);
    if (meta_count > 0) {
        cJSON *m = cJSON_AddObjectToObject(header, "__metadata__");
        for (int i = 0; i < meta_count; i++) cJSON_AddStringToObject(m, meta[i].key, meta[i].value);
    }
    size_t offset = 0;
    for (int i = 0; i < count; i++) {
        cJSON *t = cJSON_AddObjectToObject(header, tensors[i].name);
        cJSON_AddStringToObject(t, "dtype", tensors[i].dtype);
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        for (int d = 0; d < tensors[i].rank; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)tensors[i].shape[d]));
        cJSON *range = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(range, cJSON_CreateNumber((double)offset));
        cJSON_AddItemToArray(range, cJSON_CreateNumber((double)(offset + tensors[i].bytes)));
        offset += tensors[i].bytes;
    }
    char *json = cJSON_PrintUnformatted(header);
    cJSON_Delete(header);
    if (json == NULL) return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", path);
    /* The header is padded with spaces to a multiple of 8 so the data that follows stays aligned. */
    size_t json_size = strlen(json), padded = (json_size + 7) / 8 * 8;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "wb");
    WmStatus status = WM_OK;
    if (out == NULL) {
        free(json);
        return wm_error_set(err, WM_ERR_IO, "%s: cannot create", tmp);
    }
    unsigned char size_bytes[8];
    for (int i = 0; i < 8; i++) size_bytes[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(size_bytes, 1, 8, out) == 8 && fwrite(json, 1, json_size, out) == json_size;
    for (size_t i = json_size; i < padded && ok; i++) ok = fputc(' ', out) != EOF;
    for (int i = 0; i < count && ok; i++) ok = fwrite(tensors[i].data, 1, tensors[i].bytes, out) == tensors[i].bytes;
    free(json);
    if (fclose(out) != 0) ok = 0;
    if (!ok) status = wm_error_set(err, WM_ERR_IO, "%s: write failed (disk full?)", tmp);
    if (status == WM_OK) status = fs_commit(tmp, path, err);
    if (status != WM_OK) remove(tmp);
    return status;
}

static WmStatus check_tensor(const WmSafetensors *f, const cJSON *t, WmError *err) {
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(range) || cJSON_GetArraySize(range) != 2)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s': needs dtype, shape and data_offsets", f->path,
                            t->string);
    double elements = 1;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) elements *= d->valuedouble;
    const double begin = cJSON_GetArrayItem(range, 0)->valuedouble, end = cJSON_GetArrayItem(range, 1)->valuedouble;
    const size_t unit = dtype_size(dtype->valuestring);
    if (unit == 0)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s': dtype %s is not one wm reads", f->path, t->string,
                            dtype->valuestring);
    if (begin < 0 || end < begin || f->data_start + end > f->size || end - begin != elements * unit)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s': byte range [%.0f, %.0f) does not fit the file or "
                            "the shape", f->path, t->string, begin, end);
    return WM_OK;
}

WmStatus safetensors_open(WmSafetensors *f, const char *path, WmError *err) {
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    char *bytes = NULL;
    if (fs_read_all(path, &bytes, &f->size, err)) goto fail;
    f->bytes = (unsigned char *)bytes;
    if (f->size < 8) {
        wm_error_set(err, WM_ERR_FORMAT, "%s: %zu bytes, too short for a safetensors file", path, f->size);
        goto fail;
    }
    uint64_t header_size = 0;
    for (int i = 0; i < 8; i++) header_size |= (uint64_t)f->bytes[i] << (8 * i);
    if (header_size > f->size - 8) {
        wm_error_set(err, WM_ERR_FORMAT, "%s: header of %llu bytes in a file of %zu (truncated?)", path,
                     (unsigned long long)header_size, f->size);
        goto fail;
    }
    f->data_start = 8 + header_size;
    cJSON *header = cJSON_ParseWithLength((const char *)f->bytes + 8, header_size);
    f->header = header;
    if (!cJSON_IsObject(header)) {
        wm_error_set(err, WM_ERR_FORMAT, "%s: the header is not a JSON object", path);
        goto fail;
    }
    const cJSON *t;
    cJSON_ArrayForEach(t, header) {
        if (strcmp(t->string, "__metadata__") == 0) continue;
        if (check_tensor(f, t, err)) goto fail;
    }
    return WM_OK;
fail:
    safetensors_close(f);
    return err->status;
}

void safetensors_close(WmSafetensors *f) {
    cJSON_Delete(f->header);
    free(f->bytes);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const char *safetensors_meta(const WmSafetensors *f, const char *key) {
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(f->header, "__metadata__");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(meta, key);
    return cJSON_IsString(value) ? value->valuestring : NULL;
}

static const void *tensor_data(const WmSafetensors *f, const cJSON *t) {
    return f->bytes + f->data_start + (size_t)cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(t, "data_offsets"), 0)->valuedouble;
}

WmStatus safetensors_find(const WmSafetensors *f, const char *name, const char *dtype, size_t expected_count,
                          const void **data, WmError *err) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(f->header, name);
    if (t == NULL) return wm_error_set(err, WM_ERR_FORMAT, "%s: no tensor '%s'", f->path, name);
    const char *found = cJSON_GetObjectItemCaseSensitive(t, "dtype")->valuestring;
    if (strcmp(found, dtype) != 0)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s' is %s, expected %s", f->path, name, found, dtype);
    size_t count = 1;
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(t, "shape")) count *= (size_t)d->valuedouble;
    if (expected_count > 0 && count != expected_count)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s' has %zu elements, the model expects %zu", f->path,
                            name, count, expected_count);
    *data = tensor_data(f, t);
    return WM_OK;
}

void safetensors_each(const WmSafetensors *f,
                      void (*visit)(void *ctx, const char *name, const char *dtype, int rank, const int64_t *shape,
                                    const void *data),
                      void *ctx) {
    const cJSON *t;
    cJSON_ArrayForEach(t, (cJSON *)f->header) {
        if (strcmp(t->string, "__metadata__") == 0) continue;
        int64_t shape[WM_TENSOR_RANK_MAX] = {0};
        int rank = 0;
        const cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(t, "shape")) if (rank < WM_TENSOR_RANK_MAX) shape[rank++] = (int64_t)d->valuedouble;
        visit(ctx, t->string, cJSON_GetObjectItemCaseSensitive(t, "dtype")->valuestring, rank, shape, tensor_data(f, t));
    }
}
