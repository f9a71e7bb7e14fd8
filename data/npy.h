/* The .npy array format (numpy's NEP 1): magic, version, a header that is a Python dict literal with descr,
 * fortran_order and shape, then the raw data. Only what episodes need: little-endian u1, b1, f4, f8 arrays. */
#ifndef WM_DATA_NPY_H
#define WM_DATA_NPY_H

#include <stddef.h>

#include "core/error.h"

#define NPY_RANK_MAX 6

typedef enum { NPY_U1, NPY_B1, NPY_F4, NPY_F8 } NpyType;

typedef struct {
    NpyType type;
    int rank;
    long shape[NPY_RANK_MAX];
    const unsigned char *data; /* into the buffer that was parsed */
    size_t count;              /* elements */
} NpyArray;

/* Parses bytes (an entire .npy). where names the file and key in errors. */
WmStatus npy_parse(const unsigned char *bytes, size_t size, const char *where, NpyArray *array, WmError *err);
size_t npy_item_size(NpyType type);
/* Element i as a float (any of the four types). */
float npy_get_float(const NpyArray *array, size_t i);

/* Writes the v1.0 header for an array into out (at least 128 + 24 * rank bytes); returns its length, a multiple of
 * 64 as numpy writes it. */
size_t npy_write_header(char *out, size_t size, NpyType type, int rank, const long *shape);

#endif
