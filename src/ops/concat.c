#include "ops/concat.h"

#include <stddef.h>

static int total_width(const int *widths, int count) {
    int total = 0;
    for (int k = 0; k < count; k++) total += widths[k];
    return total;
}

/* Moves columns between the joined array and its parts. to_joined picks the direction; accumulate adds. The
 * side that is read is never written, which is why the public wrappers may pass const data through. */
static void move_columns(float *joined, float *const *parts, const int *widths, int count, int batch,
                         int to_joined, int accumulate) {
    int total = total_width(widths, count);
    for (int b = 0; b < batch; b++) {
        int column = 0;
        for (int k = 0; k < count; k++) {
            float *wide = joined + (size_t)b * total + column, *part = parts[k];
            column += widths[k];
            if (part == NULL) continue;
            part += (size_t)b * widths[k];
            float *dst = to_joined ? wide : part;
            const float *src = to_joined ? part : wide;
            for (int j = 0; j < widths[k]; j++) dst[j] = accumulate ? dst[j] + src[j] : src[j];
        }
    }
}

void concat_forward(float *out, const float *const *parts, const int *widths, int count, int batch) {
    move_columns(out, (float *const *)parts, widths, count, batch, 1, 0);
}

void concat_backward(float *const *dparts, const float *dout, const int *widths, int count, int batch) {
    move_columns((float *)dout, dparts, widths, count, batch, 0, 1);
}
