#include "ops/matmul_bf16.h"

#include <string.h>

/* Built for AVX-512, AVX2 and plain x86-64, picked at load time: the conversion was an eighth of a bf16 planning
 * decision while it ran 4 floats at a time. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
bf16_from_f32_range(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &src[i], sizeof bits);
        const int is_nan = (bits & 0x7fffffffu) > 0x7f800000u;
        /* Round to nearest even on the 16 bits dropped; a NaN keeps a set mantissa bit so it stays a NaN. */
        const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
        dst[i] = is_nan ? (uint16_t)((bits >> 16) | 0x40u) : (uint16_t)(rounded >> 16);
    }
}

void bf16_from_f32(uint16_t *dst, const float *src, size_t n) {
    enum { CHUNK = 16384 };
    const long chunks = (long)((n + CHUNK - 1) / CHUNK);
    /* Each value is converted on its own, so threading changes no bit. */
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (long c = 0; c < chunks; c++) {
        const size_t start = (size_t)c * CHUNK, count = n - start < CHUNK ? n - start : CHUNK;
        bf16_from_f32_range(dst + start, src + start, count);
    }
}

float bf16_to_f32(uint16_t value) {
    const uint32_t bits = (uint32_t)value << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

WmStatus matmul_bf16_init(WmMatmulBf16 *mm, const WmDnnl *ctx, int batch, int in, int out, WmError *err) {
    memset(mm, 0, sizeof *mm);
    mm->batch = batch, mm->in = in, mm->out = out;
    dnnl_memory_desc_t x_md, weight_any, weight_user_md, bias_md, y_md;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd = NULL, reorder_pd = NULL;
    /* The weight is (O, I) row-major, which is the (I, O) matrix the matmul wants, read transposed ("ba"). */
    const dnnl_dims_t x_dims = {batch, in}, weight_dims = {in, out}, bias_dims = {1, out}, y_dims = {batch, out};
    WM_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&x_md, 2, x_dims, dnnl_bf16, dnnl_ab), err);
    WM_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&weight_any, 2, weight_dims, dnnl_bf16, dnnl_format_tag_any), err);
    WM_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&weight_user_md, 2, weight_dims, dnnl_f32, dnnl_ba), err);
    WM_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab), err);
    WM_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&y_md, 2, y_dims, dnnl_f32, dnnl_ab), err);
    WM_DNNL_CHECK(dnnl_matmul_desc_init(&desc, &x_md, &weight_any, &bias_md, &y_md), err);
    const dnnl_status_t made = dnnl_primitive_desc_create(&pd, &desc, NULL, ctx->engine, NULL);
    if (made != dnnl_success) {
        wm_error_set(err, WM_ERR_DNNL, "bf16 matmul %d x %d -> %d: %s", batch, in, out, dnnl_status2str(made));
        goto fail;
    }
    const dnnl_memory_desc_t *weight_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    WM_DNNL_CHECK(dnnl_primitive_create(&mm->matmul, pd), err);
    WM_DNNL_CHECK(dnnl_reorder_primitive_desc_create(&reorder_pd, &weight_user_md, ctx->engine, weight_md,
                                                     ctx->engine, NULL), err);
    WM_DNNL_CHECK(dnnl_primitive_create(&mm->weight_reorder, reorder_pd), err);
    WM_DNNL_CHECK(dnnl_memory_create(&mm->weight, weight_md, ctx->engine, DNNL_MEMORY_ALLOCATE), err);
    WM_DNNL_CHECK(dnnl_memory_create(&mm->weight_user, &weight_user_md, ctx->engine, DNNL_MEMORY_NONE), err);
    WM_DNNL_CHECK(dnnl_memory_create(&mm->x, &x_md, ctx->engine, DNNL_MEMORY_NONE), err);
    WM_DNNL_CHECK(dnnl_memory_create(&mm->bias, &bias_md, ctx->engine, DNNL_MEMORY_NONE), err);
    WM_DNNL_CHECK(dnnl_memory_create(&mm->y, &y_md, ctx->engine, DNNL_MEMORY_NONE), err);
    dnnl_primitive_desc_destroy(reorder_pd);
    dnnl_primitive_desc_destroy(pd);
    return WM_OK;
fail:
    if (reorder_pd) dnnl_primitive_desc_destroy(reorder_pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    matmul_bf16_free(mm);
    return err->status;
}

void matmul_bf16_free(WmMatmulBf16 *mm) {
    if (mm->matmul) dnnl_primitive_destroy(mm->matmul);
    if (mm->weight_reorder) dnnl_primitive_destroy(mm->weight_reorder);
    dnnl_memory_t memories[] = {mm->x, mm->weight_user, mm->weight, mm->bias, mm->y};
    for (size_t i = 0; i < sizeof memories / sizeof memories[0]; i++)
        if (memories[i]) dnnl_memory_destroy(memories[i]);
    memset(mm, 0, sizeof *mm);
}

WmStatus matmul_bf16_load(WmMatmulBf16 *mm, const WmDnnl *ctx, const float *weight, WmError *err) {
    WM_DNNL_CHECK(dnnl_memory_set_data_handle(mm->weight_user, (void *)weight), err);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, mm->weight_user}, {DNNL_ARG_TO, mm->weight}};
    WM_DNNL_CHECK(dnnl_primitive_execute(mm->weight_reorder, ctx->stream, 2, args), err);
    WM_DNNL_CHECK(dnnl_stream_wait(ctx->stream), err);
    return WM_OK;
fail:
    return err->status;
}

WmStatus matmul_bf16_forward(WmMatmulBf16 *mm, const WmDnnl *ctx, float *y, const uint16_t *x, const float *bias,
                             WmError *err) {
    WM_DNNL_CHECK(dnnl_memory_set_data_handle(mm->x, (void *)x), err);
    WM_DNNL_CHECK(dnnl_memory_set_data_handle(mm->y, y), err);
    WM_DNNL_CHECK(dnnl_memory_set_data_handle(mm->bias, (void *)bias), err);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, mm->x}, {DNNL_ARG_WEIGHTS, mm->weight}, {DNNL_ARG_BIAS, mm->bias},
                               {DNNL_ARG_DST, mm->y}};
    WM_DNNL_CHECK(dnnl_primitive_execute(mm->matmul, ctx->stream, 4, args), err);
    WM_DNNL_CHECK(dnnl_stream_wait(ctx->stream), err);
    return WM_OK;
fail:
    return err->status;
}
