#include "core/safetensors.h"

#include <cjson/cJSON.h>
#include <stdint.h>
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

/* A JSON number that is a whole number in [0, limit]. */
static int whole(const cJSON *v, double limit) {
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= limit && v->valuedouble == (double)(uint64_t)v->valuedouble;
}

/* One tensor's entry, checked before anything is read: its dtype, a rank of at most WM_TENSOR_RANK_MAX, dims that
 * are whole numbers whose product does not overflow, and a byte range that is whole, aligned to the dtype and as
 * long as the shape says. Its range goes to *begin and *end. */
static WmStatus check_tensor(const WmSafetensors *f, const cJSON *t, uint64_t *begin, uint64_t *end, WmError *err) {
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    if (!cJSON_IsObject(t) || !cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(range) ||
        cJSON_GetArraySize(range) != 2)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s': needs dtype, shape and data_offsets", f->path,
                            t->string);
    const size_t unit = dtype_size(dtype->valuestring);
    if (unit == 0)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s': dtype %s is not one wm reads", f->path, t->string,
                            dtype->valuestring);
    if (cJSON_GetArraySize(shape) > WM_TENSOR_RANK_MAX)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s': rank %d, at most %d", f->path, t->string,
                            cJSON_GetArraySize(shape), WM_TENSOR_RANK_MAX);
    uint64_t elements = 1;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) {
        if (!whole(d, 1099511627776.0))
            return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s': a dimension is not a whole number in [0, 2^40]",
                                f->path, t->string);
        const uint64_t n = (uint64_t)d->valuedouble;
        if (n != 0 && elements > UINT64_MAX / n / unit)
            return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s': its shape overflows", f->path, t->string);
        elements *= n;
    }
    const cJSON *b = cJSON_GetArrayItem(range, 0), *e = cJSON_GetArrayItem(range, 1);
    if (!whole(b, (double)f->size) || !whole(e, (double)f->size))
        return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s': data_offsets are not whole numbers inside the file",
                            f->path, t->string);
    *begin = (uint64_t)b->valuedouble, *end = (uint64_t)e->valuedouble;
    if (*end < *begin || *end - *begin != elements * unit)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s': byte range [%llu, %llu) does not fit the shape",
                            f->path, t->string, (unsigned long long)*begin, (unsigned long long)*end);
    /* F32 data is read in place, so it must sit on 4-byte boundaries; other dtypes are read with memcpy. */
    if (strcmp(dtype->valuestring, "F32") == 0 && (f->data_start + *begin) % 4 != 0)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s': its F32 data is not aligned to 4 bytes", f->path,
                            t->string);
    return WM_OK;
}

typedef struct {
    uint64_t begin, end;
    const char *name;
} Span;

static int by_begin(const void *a, const void *b) {
    const Span *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

/* Every tensor checked, and together their ranges tile the data exactly: no gap, no overlap, no byte after the
 * last (a header whose length is off shifts every range, and is caught here). */
static WmStatus check_tensors(WmSafetensors *f, WmError *err) {
    const cJSON *header = f->header;
    const int count = cJSON_GetArraySize(header);
    Span *spans = calloc((size_t)count + 1, sizeof *spans);
    if (spans == NULL) return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", f->path);
    int n = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, header) {
        if (strcmp(t->string, "__metadata__") == 0) {
            const cJSON *m;
            if (!cJSON_IsObject(t)) wm_error_set(err, WM_ERR_FORMAT, "%s: __metadata__ is not an object", f->path);
            cJSON_ArrayForEach(m, t) if (!cJSON_IsString(m) && err->status == WM_OK)
                wm_error_set(err, WM_ERR_FORMAT, "%s: metadata '%s' is not a string", f->path, m->string);
            if (err->status) break;
            continue;
        }
        if (check_tensor(f, t, &spans[n].begin, &spans[n].end, err)) break;
        spans[n++].name = t->string;
    }
    if (err->status == WM_OK) {
        qsort(spans, (size_t)n, sizeof *spans, by_begin);
        uint64_t at = 0;
        for (int i = 0; i < n && err->status == WM_OK; i++) {
            if (spans[i].begin != at)
                wm_error_set(err, WM_ERR_FORMAT, "%s: tensor '%s' starts at byte %llu of the data, not %llu (a gap, an "
                             "overlap, or a header of the wrong length)", f->path, spans[i].name,
                             (unsigned long long)spans[i].begin, (unsigned long long)at);
            at = spans[i].end;
        }
        if (err->status == WM_OK && f->data_start + at != f->size)
            wm_error_set(err, WM_ERR_FORMAT, "%s: the tensors cover %llu bytes of data, the file holds %llu", f->path,
                         (unsigned long long)at, (unsigned long long)(f->size - f->data_start));
    }
    free(spans);
    return err->status;
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
    if (header_size > f->size - 8 || header_size == 0) {
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
    if (check_tensors(f, err)) goto fail;
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
