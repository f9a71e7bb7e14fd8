#include "core/dnnl_ctx.h"

#include "core/memory.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

WmStatus dnnl_ctx_init(WmDnnl *ctx, WmError *err) {
    memset(ctx, 0, sizeof *ctx);
    WM_DNNL_CHECK(dnnl_engine_create(&ctx->engine, dnnl_cpu, 0), err);
    WM_DNNL_CHECK(dnnl_stream_create(&ctx->stream, ctx->engine, dnnl_stream_default_flags), err);
    return WM_OK;
fail:
    dnnl_ctx_free(ctx);
    return err->status;
}

void dnnl_ctx_free(WmDnnl *ctx) {
    free(ctx->workspace);
    if (ctx->stream) dnnl_stream_destroy(ctx->stream);
    if (ctx->engine) dnnl_engine_destroy(ctx->engine);
    memset(ctx, 0, sizeof *ctx);
}

WmStatus dnnl_ctx_reserve(WmDnnl *ctx, size_t bytes, WmError *err) {
    if (bytes <= ctx->workspace_bytes) return WM_OK;
    if (memory_check("oneDNN's workspace for the convolutions' layouts", bytes - ctx->workspace_bytes, err))
        return err->status;
    free(ctx->workspace);
    ctx->workspace = wm_aligned_alloc(bytes);
    ctx->workspace_bytes = ctx->workspace ? bytes : 0;
    if (ctx->workspace == NULL)
        return wm_error_set(err, WM_ERR_NOMEM, "oneDNN workspace: out of memory for %zu MiB", bytes >> 20);
    return WM_OK;
}

WmStatus dnnl_plain_md(dnnl_memory_desc_t *md, int rank, const dnnl_dims_t dims, WmError *err) {
    static const dnnl_format_tag_t plain_tags[] = {dnnl_format_tag_undef, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd};
    if (rank < 1 || rank > 4) return wm_error_set(err, WM_ERR_ARG, "plain memory of rank %d", rank);
    WM_DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, rank, dims, dnnl_f32, plain_tags[rank]), err);
    return WM_OK;
fail:
    return err->status;
}

static WmStatus create_reorder(dnnl_primitive_t *out, const WmDnnl *ctx, const dnnl_memory_desc_t *from,
                               const dnnl_memory_desc_t *to, int accumulate, WmError *err) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    WM_DNNL_CHECK(dnnl_primitive_attr_create(&attr), err);
    if (accumulate) {
        WM_DNNL_CHECK(dnnl_post_ops_create(&post_ops), err);
        WM_DNNL_CHECK(dnnl_post_ops_append_sum(post_ops, 1.0f), err);
        WM_DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, post_ops), err);
    }
    WM_DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, from, ctx->engine, to, ctx->engine, attr), err);
    WM_DNNL_CHECK(dnnl_primitive_create(out, pd), err);
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return err->status;
}

WmStatus dnnl_view_init(WmDnnlView *view, const WmDnnl *ctx, const dnnl_memory_desc_t *user_md,
                        const dnnl_memory_desc_t *inner_md, WmViewMode mode, WmError *err) {
    memset(view, 0, sizeof *view);
    view->mode = mode;
    WM_DNNL_CHECK(dnnl_memory_create(&view->user, user_md, ctx->engine, DNNL_MEMORY_NONE), err);
    /* A gradient always lands in its own buffer first: oneDNN overwrites, and we accumulate. */
    int same = dnnl_memory_desc_equal(user_md, inner_md);
    if (same && mode != WM_VIEW_ACCUMULATE) {
        view->inner = view->user;
        return WM_OK;
    }
    view->bytes = wm_align_up(dnnl_memory_desc_get_size(inner_md));
    WM_DNNL_CHECK(dnnl_memory_create(&view->inner, inner_md, ctx->engine, DNNL_MEMORY_NONE), err);
    if (mode == WM_VIEW_READ) return create_reorder(&view->reorder, ctx, user_md, inner_md, 0, err);
    return create_reorder(&view->reorder, ctx, inner_md, user_md, mode == WM_VIEW_ACCUMULATE, err);
fail:
    return err->status;
}

void dnnl_view_free(WmDnnlView *view) {
    if (view->reorder) dnnl_primitive_destroy(view->reorder);
    if (view->inner && view->inner != view->user) dnnl_memory_destroy(view->inner);
    if (view->user) dnnl_memory_destroy(view->user);
    memset(view, 0, sizeof *view);
}

static WmStatus run_reorder(WmDnnlView *view, const WmDnnl *ctx, dnnl_memory_t from, dnnl_memory_t to,
                            WmError *err) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    WM_DNNL_CHECK(dnnl_primitive_execute(view->reorder, ctx->stream, 2, args), err);
    WM_DNNL_CHECK(dnnl_stream_wait(ctx->stream), err);
    return WM_OK;
fail:
    return err->status;
}

WmStatus dnnl_view_alias(WmDnnlView *view, const WmDnnl *ctx, size_t offset, WmError *err) {
    if (view->bytes == 0) return WM_OK;
    if (offset + view->bytes > ctx->workspace_bytes)
        return wm_error_set(err, WM_ERR_ARG, "oneDNN view: workspace of %zu bytes, needs %zu", ctx->workspace_bytes,
                            offset + view->bytes);
    WM_DNNL_CHECK(dnnl_memory_set_data_handle(view->inner, (char *)ctx->workspace + offset), err);
    return WM_OK;
fail:
    return err->status;
}

WmStatus dnnl_view_begin(WmDnnlView *view, const WmDnnl *ctx, const float *data, size_t offset, WmError *err) {
    if (dnnl_view_alias(view, ctx, offset, err)) return err->status;
    return dnnl_view_begin_in(view, ctx, data, (char *)ctx->workspace + offset, err);
}

WmStatus dnnl_view_begin_in(WmDnnlView *view, const WmDnnl *ctx, const float *data, void *place, WmError *err) {
    /* oneDNN takes a non-const handle for reads too; it does not write through a source. */
    WM_DNNL_CHECK(dnnl_memory_set_data_handle(view->user, (void *)data), err);
    if (view->bytes) WM_DNNL_CHECK(dnnl_memory_set_data_handle(view->inner, place), err);
    if (view->mode == WM_VIEW_READ && view->reorder) return run_reorder(view, ctx, view->user, view->inner, err);
    return WM_OK;
fail:
    return err->status;
}

WmStatus dnnl_view_end(WmDnnlView *view, const WmDnnl *ctx, WmError *err) {
    if (view->mode == WM_VIEW_READ || view->reorder == NULL) return WM_OK;
    return run_reorder(view, ctx, view->inner, view->user, err);
}
