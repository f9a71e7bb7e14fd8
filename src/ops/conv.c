#include "ops/conv.h"

#include <string.h>

void conv_output_size(const WmConvShape *s, int *out_height, int *out_width) {
    if (s->transposed) {
        *out_height = (s->in_height - 1) * s->stride - 2 * s->padding + s->kernel;
        *out_width = (s->in_width - 1) * s->stride - 2 * s->padding + s->kernel;
    } else {
        *out_height = (s->in_height + 2 * s->padding - s->kernel) / s->stride + 1;
        *out_width = (s->in_width + 2 * s->padding - s->kernel) / s->stride + 1;
    }
}

double conv_forward_flops(const WmConvShape *s) {
    int oh, ow;
    conv_output_size(s, &oh, &ow);
    /* A transposed convolution does the work of the convolution it transposes: one MAC per input pixel per tap. */
    double pixels = s->transposed ? (double)s->in_height * s->in_width : (double)oh * ow;
    return 2.0 * s->batch * pixels * s->in_channels * s->out_channels * s->kernel * s->kernel;
}

/* The three op descriptors differ between convolution and deconvolution only in the function that fills them. */
static dnnl_status_t init_forward_desc(const WmConvShape *s, dnnl_convolution_desc_t *desc,
                                       const dnnl_memory_desc_t *x, const dnnl_memory_desc_t *w,
                                       const dnnl_memory_desc_t *b, const dnnl_memory_desc_t *y,
                                       const dnnl_dims_t strides, const dnnl_dims_t pad) {
    if (s->transposed)
        return dnnl_deconvolution_forward_desc_init(desc, dnnl_forward_training, dnnl_deconvolution_direct, x, w, b,
                                                    y, strides, pad, pad);
    return dnnl_convolution_forward_desc_init(desc, dnnl_forward_training, dnnl_convolution_direct, x, w, b, y,
                                              strides, pad, pad);
}

static dnnl_status_t init_backward_data_desc(const WmConvShape *s, dnnl_convolution_desc_t *desc,
                                             const dnnl_memory_desc_t *dx, const dnnl_memory_desc_t *w,
                                             const dnnl_memory_desc_t *dy, const dnnl_dims_t strides,
                                             const dnnl_dims_t pad) {
    if (s->transposed)
        return dnnl_deconvolution_backward_data_desc_init(desc, dnnl_deconvolution_direct, dx, w, dy, strides, pad,
                                                          pad);
    return dnnl_convolution_backward_data_desc_init(desc, dnnl_convolution_direct, dx, w, dy, strides, pad, pad);
}

static dnnl_status_t init_backward_weights_desc(const WmConvShape *s, dnnl_convolution_desc_t *desc,
                                                const dnnl_memory_desc_t *x, const dnnl_memory_desc_t *dw,
                                                const dnnl_memory_desc_t *db, const dnnl_memory_desc_t *dy,
                                                const dnnl_dims_t strides, const dnnl_dims_t pad) {
    if (s->transposed)
        return dnnl_deconvolution_backward_weights_desc_init(desc, dnnl_deconvolution_direct, x, dw, db, dy,
                                                             strides, pad, pad);
    return dnnl_convolution_backward_weights_desc_init(desc, dnnl_convolution_direct, x, dw, db, dy, strides, pad,
                                                       pad);
}

/* The same layout with another element type (its strides count elements, so they carry over). */
static dnnl_memory_desc_t retyped(const dnnl_memory_desc_t *md, dnnl_data_type_t type) {
    dnnl_memory_desc_t copy = *md;
    copy.data_type = type;
    return copy;
}

static const dnnl_memory_desc_t *query_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

int conv_wants_plain(const WmConvShape *s) { return s->transposed && s->out_channels < 16; }

size_t conv_y_bytes(const WmConv *conv) { return dnnl_memory_desc_get_size(&conv->y_held); }

WmStatus conv_held_layout(const WmConv *conv, WmChannelLayout *layout, WmError *err) {
    const dnnl_memory_desc_t *md = &conv->y_held;
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    if (md->format_kind != dnnl_blocked || b->inner_nblks > 1 || (b->inner_nblks == 1 && b->inner_idxs[0] != 1))
        return wm_error_set(err, WM_ERR_ARG, "a convolution's output is held in a layout the channel norm cannot read");
    *layout = (WmChannelLayout){(int)md->dims[0], (int)md->dims[1], (int)md->dims[2], (int)md->dims[3],
                                b->inner_nblks ? (int)b->inner_blks[0] : 1, (long)b->strides[0], (long)b->strides[1],
                                (long)b->strides[2], (long)b->strides[3]};
    return WM_OK;
}

WmStatus conv_init(WmConv *conv, WmDnnl *ctx, const WmConvShape *s, WmError *err) {
    const WmConvHolding plain = {.x = NULL};
    return conv_init_held(conv, ctx, s, &plain, err);
}

/* The memory descriptors the three passes are built from: plain ones (the tensors as this project holds them),
 * `any` ones (oneDNN picks the layout), and what the passes read, retyped to bf16 in mixed precision. */
typedef struct {
    dnnl_memory_desc_t x_plain, y_plain, w_plain, b_plain, x_any, y_any, w_any, x_in, w_in, y_in;
    dnnl_dims_t strides, pad;
    dnnl_data_type_t in_type;
} Descs;

static WmStatus init_descs(Descs *d, const WmConv *conv, const WmConvHolding *holding, WmError *err) {
    const WmConvShape *s = &conv->shape;
    dnnl_dims_t x_dims = {s->batch, s->in_channels, s->in_height, s->in_width};
    dnnl_dims_t y_dims = {s->batch, s->out_channels, conv->out_height, conv->out_width};
    dnnl_dims_t w_dims = {s->out_channels, s->in_channels, s->kernel, s->kernel};
    dnnl_dims_t b_dims = {s->out_channels};
    d->strides[0] = d->strides[1] = s->stride;
    d->pad[0] = d->pad[1] = s->padding;
    if (dnnl_plain_md(&d->x_plain, 4, x_dims, err) || dnnl_plain_md(&d->y_plain, 4, y_dims, err) ||
        dnnl_plain_md(&d->w_plain, 4, w_dims, err) || dnnl_plain_md(&d->b_plain, 1, b_dims, err))
        return err->status;
    WM_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&d->x_any, 4, x_dims, dnnl_f32, dnnl_format_tag_any), err);
    WM_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&d->y_any, 4, y_dims, dnnl_f32, dnnl_format_tag_any), err);
    WM_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&d->w_any, 4, w_dims, dnnl_f32, dnnl_format_tag_any), err);
    if (holding->x) d->x_any = *holding->x; /* the layout x arrives in is the one the passes use */
    /* What the passes read (x, weight, dy) is bf16 in mixed precision; what they write stays f32. */
    d->in_type = s->bf16 ? dnnl_bf16 : dnnl_f32;
    d->x_in = retyped(&d->x_any, d->in_type), d->w_in = retyped(&d->w_any, d->in_type);
    return WM_OK;
fail:
    return err->status;
}

static WmStatus build_forward(WmConv *conv, WmDnnl *ctx, Descs *d, const WmConvHolding *holding,
                              dnnl_primitive_desc_t *pd, WmError *err) {
    const WmConvShape *s = &conv->shape;
    dnnl_convolution_desc_t desc;
    /* A thin transposed layer's forward pass runs on plain tensors (oneDNN's gemm path, 3x faster than its blocked
     * kernel with 3 channels padded to 16); its backward passes keep the layouts they prefer, where they are fast. */
    const int thin = conv_wants_plain(s);
    const dnnl_memory_desc_t x_plain_in = retyped(&d->x_plain, d->in_type);
    WM_DNNL_CHECK(init_forward_desc(s, &desc, thin ? &x_plain_in : &d->x_in, &d->w_in, &d->b_plain,
                                    thin ? &d->y_plain : &d->y_any, d->strides, d->pad), err);
    WM_DNNL_CHECK(dnnl_primitive_desc_create(pd, &desc, NULL, ctx->engine, NULL), err);
    WM_DNNL_CHECK(dnnl_primitive_create(&conv->forward, *pd), err);
    conv->x_held = holding->x ? *holding->x : d->x_plain;
    conv->y_held = holding->y_native ? *query_md(*pd, dnnl_query_dst_md) : d->y_plain;
    if (holding->y_native) d->y_any = conv->y_held; /* dy arrives as y is held */
    d->y_in = retyped(&d->y_any, d->in_type);
    conv->dx_overwrites = holding->x != NULL;
    conv->x_copy_placed = holding->x_copy_placed;
    if (dnnl_view_init(&conv->x, ctx, &conv->x_held, query_md(*pd, dnnl_query_src_md), WM_VIEW_READ, err) ||
        dnnl_view_init(&conv->weight, ctx, &d->w_plain, query_md(*pd, dnnl_query_weights_md), WM_VIEW_READ, err) ||
        dnnl_view_init(&conv->bias, ctx, &d->b_plain, &d->b_plain, WM_VIEW_READ, err) ||
        dnnl_view_init(&conv->y, ctx, &conv->y_held, query_md(*pd, dnnl_query_dst_md), WM_VIEW_WRITE, err))
        return err->status;
    return WM_OK;
fail:
    return err->status;
}

static WmStatus build_backward_data(WmConv *conv, WmDnnl *ctx, const Descs *d, const_dnnl_primitive_desc_t fwd_pd,
                                    dnnl_primitive_desc_t *pd, WmError *err) {
    dnnl_convolution_desc_t desc;
    WM_DNNL_CHECK(init_backward_data_desc(&conv->shape, &desc, &d->x_any, &d->w_in, &d->y_in, d->strides, d->pad),
                  err);
    WM_DNNL_CHECK(dnnl_primitive_desc_create(pd, &desc, NULL, ctx->engine, fwd_pd), err);
    WM_DNNL_CHECK(dnnl_primitive_create(&conv->backward_data, *pd), err);
    if (dnnl_view_init(&conv->bd_dy, ctx, &conv->y_held, query_md(*pd, dnnl_query_diff_dst_md), WM_VIEW_READ, err) ||
        dnnl_view_init(&conv->bd_weight, ctx, &d->w_plain, query_md(*pd, dnnl_query_weights_md), WM_VIEW_READ,
                       err) ||
        dnnl_view_init(&conv->dx, ctx, &conv->x_held, query_md(*pd, dnnl_query_diff_src_md),
                       conv->dx_overwrites ? WM_VIEW_WRITE : WM_VIEW_ACCUMULATE, err))
        return err->status;
    return WM_OK;
fail:
    return err->status;
}

static WmStatus build_backward_weights(WmConv *conv, WmDnnl *ctx, const Descs *d,
                                       const_dnnl_primitive_desc_t fwd_pd, dnnl_primitive_desc_t *pd, WmError *err) {
    dnnl_convolution_desc_t desc;
    WM_DNNL_CHECK(init_backward_weights_desc(&conv->shape, &desc, &d->x_in, &d->w_any, &d->b_plain, &d->y_in,
                                             d->strides, d->pad), err);
    WM_DNNL_CHECK(dnnl_primitive_desc_create(pd, &desc, NULL, ctx->engine, fwd_pd), err);
    WM_DNNL_CHECK(dnnl_primitive_create(&conv->backward_weights, *pd), err);
    const dnnl_memory_desc_t *dbias = dnnl_primitive_desc_query_md(*pd, dnnl_query_exec_arg_md, DNNL_ARG_DIFF_BIAS);
    if (dnnl_view_init(&conv->bw_x, ctx, &conv->x_held, query_md(*pd, dnnl_query_src_md), WM_VIEW_READ, err) ||
        dnnl_view_init(&conv->bw_dy, ctx, &conv->y_held, query_md(*pd, dnnl_query_diff_dst_md), WM_VIEW_READ, err) ||
        dnnl_view_init(&conv->dweight, ctx, &d->w_plain, query_md(*pd, dnnl_query_diff_weights_md),
                       WM_VIEW_ACCUMULATE, err) ||
        dnnl_view_init(&conv->dbias, ctx, &d->b_plain, dbias, WM_VIEW_ACCUMULATE, err))
        return err->status;
    return WM_OK;
fail:
    return err->status;
}

/* Places each pass's reordered tensors in the context's shared workspace and sizes the scratchpad. Forward
 * [x | weight | y] (x elsewhere when the caller places it); backward [dy | weight | dx | x | dy' | dweight | dbias]. */
static WmStatus place_in_workspace(WmConv *conv, WmDnnl *ctx, const_dnnl_primitive_desc_t pds[3], WmError *err) {
    conv->at_x = 0, conv->at_weight = conv->x_copy_placed ? 0 : conv->x.bytes;
    conv->at_y = conv->at_weight + conv->weight.bytes;
    const size_t forward_bytes = conv->at_y + conv->y.bytes;
    conv->at_bd_dy = 0, conv->at_bd_weight = conv->bd_dy.bytes;
    conv->at_dx = conv->at_bd_weight + conv->bd_weight.bytes;
    conv->at_bw_x = conv->at_dx + conv->dx.bytes;
    conv->at_bw_dy = conv->at_bw_x + conv->bw_x.bytes;
    conv->at_dweight = conv->at_bw_dy + conv->bw_dy.bytes;
    conv->at_dbias = conv->at_dweight + conv->dweight.bytes;
    const size_t backward_bytes = conv->at_dbias + conv->dbias.bytes;
    conv->share_dy = conv->bd_dy.bytes > 0 && dnnl_memory_desc_equal(query_md(pds[1], dnnl_query_diff_dst_md),
                                                                      query_md(pds[2], dnnl_query_diff_dst_md));
    for (int i = 0; i < 3; i++) {
        int64_t bytes = 0;
        if (dnnl_primitive_desc_query(pds[i], dnnl_query_memory_consumption_s64, 0, &bytes) == dnnl_success &&
            bytes > 0 && (size_t)bytes > conv->scratchpad_bytes)
            conv->scratchpad_bytes = (size_t)bytes;
    }
    return dnnl_ctx_reserve(ctx, forward_bytes > backward_bytes ? forward_bytes : backward_bytes, err);
}

WmStatus conv_init_held(WmConv *conv, WmDnnl *ctx, const WmConvShape *s, const WmConvHolding *holding,
                        WmError *err) {
    memset(conv, 0, sizeof *conv);
    conv->shape = *s;
    conv_output_size(s, &conv->out_height, &conv->out_width);
    if (conv->out_height <= 0 || conv->out_width <= 0 || s->stride <= 0 || s->batch <= 0)
        return wm_error_set(err, WM_ERR_ARG, "convolution: %dx%d input, kernel %d, stride %d has no output",
                            s->in_height, s->in_width, s->kernel, s->stride);
    Descs d;
    dnnl_primitive_desc_t pds[3] = {NULL, NULL, NULL}; /* forward, backward data, backward weights */
    if (init_descs(&d, conv, holding, err) == WM_OK && build_forward(conv, ctx, &d, holding, &pds[0], err) == WM_OK &&
        build_backward_data(conv, ctx, &d, pds[0], &pds[1], err) == WM_OK &&
        build_backward_weights(conv, ctx, &d, pds[0], &pds[2], err) == WM_OK)
        place_in_workspace(conv, ctx, (const_dnnl_primitive_desc_t[3]){pds[0], pds[1], pds[2]}, err);
    for (int i = 0; i < 3; i++)
        if (pds[i]) dnnl_primitive_desc_destroy(pds[i]);
    if (err->status) conv_free(conv);
    return err->status;
}

void conv_free(WmConv *conv) {
    WmDnnlView *views[] = {&conv->x,     &conv->weight, &conv->bias, &conv->y,       &conv->bd_dy, &conv->bd_weight,
                           &conv->dx,    &conv->bw_x,   &conv->bw_dy, &conv->dweight, &conv->dbias};
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) dnnl_view_free(views[i]);
    if (conv->forward) dnnl_primitive_destroy(conv->forward);
    if (conv->backward_data) dnnl_primitive_destroy(conv->backward_data);
    if (conv->backward_weights) dnnl_primitive_destroy(conv->backward_weights);
    memset(conv, 0, sizeof *conv);
}

static WmStatus execute(dnnl_primitive_t primitive, const WmDnnl *ctx, int nargs, const dnnl_exec_arg_t *args,
                        WmError *err) {
    WM_DNNL_CHECK(dnnl_primitive_execute(primitive, ctx->stream, nargs, args), err);
    WM_DNNL_CHECK(dnnl_stream_wait(ctx->stream), err);
    return WM_OK;
fail:
    return err->status;
}

WmStatus conv_forward(WmConv *conv, const WmDnnl *ctx, float *y, const float *x, const float *weight,
                      const float *bias, WmError *err) {
    return conv_forward_in(conv, ctx, y, x, weight, bias, NULL, err);
}

WmStatus conv_forward_in(WmConv *conv, const WmDnnl *ctx, float *y, const float *x, const float *weight,
                         const float *bias, void *x_place, WmError *err) {
    if (conv->x_copy_placed && conv->x.bytes && x_place == NULL)
        return wm_error_set(err, WM_ERR_ARG, "convolution forward: x's copy has no place (x_copy_placed)");
    const WmStatus x_status = x_place ? dnnl_view_begin_in(&conv->x, ctx, x, x_place, err)
                                      : dnnl_view_begin(&conv->x, ctx, x, conv->at_x, err);
    if (x_status || dnnl_view_begin(&conv->weight, ctx, weight, conv->at_weight, err) ||
        dnnl_view_begin(&conv->bias, ctx, bias, 0, err) || dnnl_view_begin(&conv->y, ctx, y, conv->at_y, err))
        return err->status;
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, conv->x.inner},
                              {DNNL_ARG_WEIGHTS, conv->weight.inner},
                              {DNNL_ARG_BIAS, conv->bias.inner},
                              {DNNL_ARG_DST, conv->y.inner}};
    if (execute(conv->forward, ctx, 4, args, err)) return err->status;
    return dnnl_view_end(&conv->y, ctx, err);
}

WmStatus conv_backward_data(WmConv *conv, const WmDnnl *ctx, float *dx, const float *dy, const float *weight,
                            WmError *err) {
    if (dnnl_view_begin(&conv->bd_dy, ctx, dy, conv->at_bd_dy, err) ||
        dnnl_view_begin(&conv->bd_weight, ctx, weight, conv->at_bd_weight, err) ||
        dnnl_view_begin(&conv->dx, ctx, dx, conv->at_dx, err))
        return err->status;
    dnnl_exec_arg_t args[] = {{DNNL_ARG_DIFF_DST, conv->bd_dy.inner},
                              {DNNL_ARG_WEIGHTS, conv->bd_weight.inner},
                              {DNNL_ARG_DIFF_SRC, conv->dx.inner}};
    if (execute(conv->backward_data, ctx, 3, args, err)) return err->status;
    return dnnl_view_end(&conv->dx, ctx, err);
}

/* dy_ready: backward data has just put dy, in the layout this pass wants, at at_bd_dy. */
static WmStatus backward_weights(WmConv *conv, const WmDnnl *ctx, float *dweight, float *dbias, const float *dy,
                                 const float *x, int dy_ready, WmError *err) {
    const WmStatus dy_status = dy_ready ? dnnl_view_alias(&conv->bw_dy, ctx, conv->at_bd_dy, err)
                                        : dnnl_view_begin(&conv->bw_dy, ctx, dy, conv->at_bw_dy, err);
    if (dy_status || dnnl_view_begin(&conv->bw_x, ctx, x, conv->at_bw_x, err) ||
        dnnl_view_begin(&conv->dweight, ctx, dweight, conv->at_dweight, err) ||
        dnnl_view_begin(&conv->dbias, ctx, dbias, conv->at_dbias, err))
        return err->status;
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, conv->bw_x.inner},
                              {DNNL_ARG_DIFF_DST, conv->bw_dy.inner},
                              {DNNL_ARG_DIFF_WEIGHTS, conv->dweight.inner},
                              {DNNL_ARG_DIFF_BIAS, conv->dbias.inner}};
    if (execute(conv->backward_weights, ctx, 4, args, err)) return err->status;
    if (dnnl_view_end(&conv->dweight, ctx, err)) return err->status;
    return dnnl_view_end(&conv->dbias, ctx, err);
}

WmStatus conv_backward_weights(WmConv *conv, const WmDnnl *ctx, float *dweight, float *dbias, const float *dy,
                               const float *x, WmError *err) {
    return backward_weights(conv, ctx, dweight, dbias, dy, x, 0, err);
}

WmStatus conv_backward(WmConv *conv, const WmDnnl *ctx, float *dx, float *dweight, float *dbias, const float *dy,
                       const float *x, const float *weight, WmError *err) {
    if (dx != NULL && conv_backward_data(conv, ctx, dx, dy, weight, err)) return err->status;
    return backward_weights(conv, ctx, dweight, dbias, dy, x, dx != NULL && conv->share_dy, err);
}
