/* Joining and splitting along the last axis of row-major (B, width) arrays, e.g. features [h, z] or the GRU input
 * [z, a]. Concat's backward is split with accumulation and split's backward is concat with accumulation, so both
 * directions share one strided copy. */
#ifndef WM_OPS_CONCAT_H
#define WM_OPS_CONCAT_H

/* out (B, sum widths) = [parts_0 | parts_1 | ...]. */
void concat_forward(float *out, const float *const *parts, const int *widths, int count, int batch);
/* dparts_k += the matching columns of dout; a NULL dparts_k is skipped. */
void concat_backward(float *const *dparts, const float *dout, const int *widths, int count, int batch);

#endif
