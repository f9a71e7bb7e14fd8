/* The oneDNN engine and stream every op runs on, the call-checking macro, and WmDnnlView: one tensor seen in
 * the caller's plain layout and in the layout a primitive prefers (oneDNN's blocked formats run 2-3x faster here),
 * with the reorders between them created once, at init. */
#ifndef WM_CORE_DNNL_CTX_H
#define WM_CORE_DNNL_CTX_H

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "core/error.h"

typedef struct {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    /* Where views keep their blocked copies while a primitive runs. A copy lives only for one call, so every op on
     * this context shares one block, sized at init to the largest call (ops run one at a time on a context). */
    void *workspace;
    size_t workspace_bytes;
} WmDnnl;

WmStatus dnnl_ctx_init(WmDnnl *ctx, WmError *err);
void dnnl_ctx_free(WmDnnl *ctx);
/* Grows the workspace to at least `bytes`; only at init time, never while a call is running. */
WmStatus dnnl_ctx_reserve(WmDnnl *ctx, size_t bytes, WmError *err);

/* Checks one oneDNN call; on failure records file:line, the call and oneDNN's status, then jumps to `fail`. */
#define WM_DNNL_CHECK(call, err)                                                                              \
    do {                                                                                                      \
        dnnl_status_t wm_status_ = (call);                                                                    \
        if (wm_status_ != dnnl_success) {                                                                     \
            wm_error_set((err), WM_ERR_DNNL, "%s:%d: %s: %s", __FILE__, __LINE__, #call,                     \
                         dnnl_status2str(wm_status_));                                                        \
            goto fail;                                                                                        \
        }                                                                                                     \
    } while (0)

typedef enum {
    WM_VIEW_READ,      /* the primitive reads it: user -> inner before use */
    WM_VIEW_WRITE,     /* the primitive writes it: inner -> user after use */
    WM_VIEW_ACCUMULATE /* a gradient: user += inner after use (a reorder with a sum post-op) */
} WmViewMode;

typedef struct {
    WmViewMode mode;
    dnnl_memory_t user;          /* plain layout; its data handle is set at every use */
    dnnl_memory_t inner;         /* the primitive's layout; the same object as `user` when nothing is needed */
    dnnl_primitive_t reorder;    /* NULL when `inner` is `user` */
    size_t bytes;                /* workspace bytes `inner` needs; 0 when it is `user` */
} WmDnnlView;

WmStatus dnnl_view_init(WmDnnlView *view, const WmDnnl *ctx, const dnnl_memory_desc_t *user_md,
                        const dnnl_memory_desc_t *inner_md, WmViewMode mode, WmError *err);
void dnnl_view_free(WmDnnlView *view);
/* Points the view at the caller's data and its inner copy at workspace + offset, and, for READ, brings the data
 * into the inner layout. */
WmStatus dnnl_view_begin(WmDnnlView *view, const WmDnnl *ctx, const float *data, size_t offset, WmError *err);
/* The same with the inner copy at `place` (at least view->bytes, 64-byte aligned) instead of in the workspace: the
 * caller owns memory whose pages another phase uses, so the copy adds none of its own. */
WmStatus dnnl_view_begin_in(WmDnnlView *view, const WmDnnl *ctx, const float *data, void *place, WmError *err);
/* Points a READ view's inner copy at workspace + offset, where another view already put the same tensor in the
 * same layout: no reorder. */
WmStatus dnnl_view_alias(WmDnnlView *view, const WmDnnl *ctx, size_t offset, WmError *err);
/* For WRITE and ACCUMULATE: moves the primitive's result into the caller's data. */
WmStatus dnnl_view_end(WmDnnlView *view, const WmDnnl *ctx, WmError *err);

/* A plain memory descriptor: row-major dims (nchw, oihw, nc, x ...). */
WmStatus dnnl_plain_md(dnnl_memory_desc_t *md, int rank, const dnnl_dims_t dims, WmError *err);

#endif
