#include "data/npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char NPY_MAGIC[] = "\x93NUMPY";
static const char *const NPY_DESCR[] = {"|u1", "|b1", "<f4", "<f8"};

size_t npy_item_size(NpyType type) { return type == NPY_F8 ? 8 : type == NPY_F4 ? 4 : 1; }

/* Finds 'key': in the header dict and returns what follows the colon, spaces skipped. */
static const char *dict_value(const char *header, const char *key) {
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *at = strstr(header, quoted);
    if (at == NULL) return NULL;
    at += strlen(quoted);
    while (isspace((unsigned char)*at)) at++;
    if (*at != ':') return NULL;
    at++;
    while (isspace((unsigned char)*at)) at++;
    return at;
}

WmStatus npy_parse(const unsigned char *bytes, size_t size, const char *where, NpyArray *array, WmError *err) {
    memset(array, 0, sizeof *array);
    if (size < 10 || memcmp(bytes, NPY_MAGIC, 6) != 0)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: not a .npy array (bad magic)", where);
    int major = bytes[6];
    size_t header_len, offset;
    if (major == 1) {
        header_len = bytes[8] | (size_t)bytes[9] << 8, offset = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return wm_error_set(err, WM_ERR_FORMAT, "%s: truncated .npy header", where);
        header_len = bytes[8] | (size_t)bytes[9] << 8 | (size_t)bytes[10] << 16 | (size_t)bytes[11] << 24;
        offset = 12;
    } else {
        return wm_error_set(err, WM_ERR_FORMAT, "%s: .npy version %d is not supported", where, major);
    }
    if (offset + header_len > size) return wm_error_set(err, WM_ERR_FORMAT, "%s: truncated .npy header", where);
    char header[4096];
    if (header_len >= sizeof header) return wm_error_set(err, WM_ERR_FORMAT, "%s: .npy header too long", where);
    memcpy(header, bytes + offset, header_len);
    header[header_len] = '\0';

    const char *descr = dict_value(header, "descr");
    if (descr == NULL || (*descr != '\'' && *descr != '"'))
        return wm_error_set(err, WM_ERR_FORMAT, "%s: .npy header has no descr", where);
    char dtype[16] = "";
    sscanf(descr + 1, "%15[^'\"]", dtype);
    /* Byte order: '<' little, '=' native (little on every machine wm runs on), '|' or any for one-byte types. */
    static const char *const KINDS[] = {"u1", "b1", "f4", "f8"};
    int found = -1;
    for (int t = 0; t < 4 && dtype[0] != '\0'; t++)
        if (strcmp(dtype + 1, KINDS[t]) == 0 && (dtype[0] == '<' || dtype[0] == '=' || dtype[0] == '|' || t < 2))
            found = t;
    if (found < 0)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: dtype '%s' is not taken (uint8, bool, float32, float64)", where,
                            dtype);
    array->type = (NpyType)found;

    const char *order = dict_value(header, "fortran_order");
    if (order == NULL) return wm_error_set(err, WM_ERR_FORMAT, "%s: .npy header has no fortran_order", where);
    int fortran = strncmp(order, "True", 4) == 0;

    const char *shape = dict_value(header, "shape");
    if (shape == NULL || *shape != '(') return wm_error_set(err, WM_ERR_FORMAT, "%s: .npy header has no shape", where);
    const char *p = shape + 1;
    array->count = 1;
    while (1) {
        while (isspace((unsigned char)*p) || *p == ',') p++;
        if (*p == ')') break;
        char *end = NULL;
        errno = 0;
        long dim = strtol(p, &end, 10);
        if (end == p || dim < 0 || errno == ERANGE || array->rank == NPY_RANK_MAX)
            return wm_error_set(err, WM_ERR_FORMAT, "%s: bad shape in .npy header", where);
        /* The element count, and its bytes, must not overflow: a shape whose product wraps would pass the size
         * check below with a small or zero count. */
        if (dim != 0 && array->count > SIZE_MAX / 16 / (size_t)dim)
            return wm_error_set(err, WM_ERR_FORMAT, "%s: the .npy shape's element count overflows", where);
        array->shape[array->rank++] = dim;
        array->count *= (size_t)dim;
        p = end;
    }
    if (fortran && array->rank > 1)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: fortran_order arrays are not taken; save with C order", where);
    size_t data_bytes = array->count * npy_item_size(array->type), start = offset + header_len;
    if (size - start != data_bytes)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: %zu data bytes, the shape needs %zu", where, size - start,
                            data_bytes);
    array->data = bytes + start;
    return WM_OK;
}

float npy_get_float(const NpyArray *a, size_t i) {
    switch (a->type) {
    case NPY_U1:
    case NPY_B1: return (float)a->data[i];
    case NPY_F4: {
        float v;
        memcpy(&v, a->data + 4 * i, 4);
        return v;
    }
    case NPY_F8: {
        double v;
        memcpy(&v, a->data + 8 * i, 8);
        return (float)v;
    }
    }
    return 0.0f;
}

size_t npy_write_header(char *out, size_t size, NpyType type, int rank, const long *shape) {
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", NPY_DESCR[type]);
    for (int d = 0; d < rank; d++) n += snprintf(dict + n, sizeof dict - n, "%ld%s", shape[d],
                                                 rank == 1 ? "," : d + 1 < rank ? ", " : "");
    n += snprintf(dict + n, sizeof dict - n, "), }");
    size_t total = (10 + (size_t)n + 1 + 63) / 64 * 64; /* magic+version+len, dict, '\n', padded to 64 */
    if (total > size) return 0;
    size_t header_len = total - 10;
    memcpy(out, NPY_MAGIC, 6);
    out[6] = 1, out[7] = 0;
    out[8] = (char)(header_len & 0xff), out[9] = (char)(header_len >> 8);
    memcpy(out + 10, dict, n);
    memset(out + 10 + n, ' ', header_len - n - 1);
    out[total - 1] = '\n';
    return total;
}
