/* An inference-only dense product in bf16, for planning: y (B, O) f32 = x (B, I) W^T + bias, with x and W rounded
 * to bf16 and the products summed in f32. On CPUs with AVX-512 BF16 oneDNN's matmul runs it 2-3x faster than the
 * fp32 sgemm (STYLE.md); the cost is 8 mantissa bits per operand, which ranking candidate plans tolerates and
 * training would not, so nothing here has a backward. The batch is fixed at init, as are the primitive and the
 * weights' blocked layout; matmul_bf16_load brings in new weights after an update. */
#ifndef WM_OPS_MATMUL_BF16_H
#define WM_OPS_MATMUL_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "core/dnnl_ctx.h"

typedef struct {
    int batch, in, out;
    dnnl_primitive_t matmul, weight_reorder;
    dnnl_memory_t x, weight_user, weight, bias, y; /* x, weight_user, bias, y point at the caller's data per call */
} WmMatmulBf16;

/* bf16 as stored: the high half of the f32, rounded to nearest even (NaN kept a NaN). */
void bf16_from_f32(uint16_t *dst, const float *src, size_t n);
float bf16_to_f32(uint16_t value);

WmStatus matmul_bf16_init(WmMatmulBf16 *mm, const WmDnnl *ctx, int batch, int in, int out, WmError *err);
void matmul_bf16_free(WmMatmulBf16 *mm);
/* Converts weight (O, I), f32 row-major, into the primitive's bf16 layout. */
WmStatus matmul_bf16_load(WmMatmulBf16 *mm, const WmDnnl *ctx, const float *weight, WmError *err);
/* y (B, O) = x (B, I, bf16) W^T + bias (O, f32). */
WmStatus matmul_bf16_forward(WmMatmulBf16 *mm, const WmDnnl *ctx, float *y, const uint16_t *x, const float *bias,
                             WmError *err);

#endif
