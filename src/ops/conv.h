/* 2-D convolution and transposed convolution (deconvolution) on oneDNN, square kernels, symmetric padding.
 * Tensors in the caller's memory are plain: x (N, C, H, W), weight (O, I, K, K) where O is always the output
 * channel count (for the transposed op too), bias (O). Primitives, their preferred layouts and the reorders into
 * them are created once per shape, at init; forward and backward then only execute. */
#ifndef WM_OPS_CONV_H
#define WM_OPS_CONV_H

#include "core/dnnl_ctx.h"
#include "ops/norm.h"

typedef struct {
    int batch;
    int in_channels, in_height, in_width;
    int out_channels;
    int kernel, stride, padding;
    int transposed; /* 0: convolution, 1: transposed convolution */
    int bf16;       /* mixed precision: each pass reads its inputs rounded to bf16 and sums in f32; outputs stay f32 */
} WmConvShape;

/* How the caller holds x and y. Plain unless said otherwise; a stack of layers holds what passes between two of
 * them in the layout oneDNN prefers (aBcd16b here), so no reorder runs between the layers. */
typedef struct {
    const dnnl_memory_desc_t *x; /* x, and dx, as held; NULL: plain */
    int y_native;                /* hold y, and dy, in the layout the forward pass prefers */
    int x_copy_placed;           /* the forward's copy of x goes where conv_forward_in is told, not in the workspace */
} WmConvHolding;

/* out = (in + 2p - k) / s + 1 for a convolution; (in - 1) s - 2p + k for a transposed one. */
void conv_output_size(const WmConvShape *shape, int *out_height, int *out_width);
/* Multiply-adds of one forward pass, times two. Backward data and backward weights cost the same each. */
double conv_forward_flops(const WmConvShape *shape);

typedef struct {
    WmConvShape shape;
    int out_height, out_width;
    dnnl_primitive_t forward, backward_data, backward_weights;
    /* forward */
    WmDnnlView x, weight, bias, y;
    /* backward data: dx += conv^T(dy, weight) */
    WmDnnlView bd_dy, bd_weight, dx;
    /* backward weights: dweight += ..., dbias += ... */
    WmDnnlView bw_x, bw_dy, dweight, dbias;
    /* Where each view's blocked copy sits in the context's workspace during a call. Backward data and backward
     * weights have disjoint places, so a full backward reorders dy once when both passes want the same layout. */
    size_t at_x, at_weight, at_y, at_bd_dy, at_bd_weight, at_dx, at_bw_x, at_bw_dy, at_dweight, at_dbias;
    int share_dy;
    dnnl_memory_desc_t x_held, y_held; /* x, dx and y, dy as the caller holds them */
    int dx_overwrites;                 /* a natively held dx is written, not added to */
    int x_copy_placed;                 /* WmConvHolding.x_copy_placed */
    size_t scratchpad_bytes;           /* the largest scratchpad oneDNN keeps for one of the three passes */
} WmConv;

/* Reserves the context's workspace for this shape's largest call. */
WmStatus conv_init(WmConv *conv, WmDnnl *ctx, const WmConvShape *shape, WmError *err);
/* The same with x and y held as `holding` says. A natively held dx is overwritten instead of added to. */
WmStatus conv_init_held(WmConv *conv, WmDnnl *ctx, const WmConvShape *shape, const WmConvHolding *holding,
                        WmError *err);
/* Bytes of y as held (a blocked layout pads channels up to its block). */
size_t conv_y_bytes(const WmConv *conv);
/* Where each element of y sits as it is held (plain, or oneDNN's blocked channels): for a caller that works on the
 * held output in place (a channel norm). An error for a layout with more than one inner block. */
WmStatus conv_held_layout(const WmConv *conv, WmChannelLayout *layout, WmError *err);
/* A transposed convolution to fewer than 16 channels (the decoder's image layer) runs forward on plain tensors: a
 * blocked output would pad 3 channels to 16 and run 3x slower than oneDNN's gemm path. Its y is held plain. */
int conv_wants_plain(const WmConvShape *shape);
void conv_free(WmConv *conv);

/* y = conv(x, weight) + bias; y (N, O, OH, OW) is overwritten. */
WmStatus conv_forward(WmConv *conv, const WmDnnl *ctx, float *y, const float *x, const float *weight,
                      const float *bias, WmError *err);
/* The same with x's copy in the pass's layout (if it needs one: conv->x.bytes) at x_place instead of in the
 * workspace; NULL: the workspace. */
WmStatus conv_forward_in(WmConv *conv, const WmDnnl *ctx, float *y, const float *x, const float *weight,
                         const float *bias, void *x_place, WmError *err);
/* dx += dL/dx (dx = dL/dx when held natively). */
WmStatus conv_backward_data(WmConv *conv, const WmDnnl *ctx, float *dx, const float *dy, const float *weight,
                            WmError *err);
/* dweight += dL/dweight, dbias += dL/dbias. */
WmStatus conv_backward_weights(WmConv *conv, const WmDnnl *ctx, float *dweight, float *dbias, const float *dy,
                               const float *x, WmError *err);
/* Both of the above; dx may be NULL (an image needs no gradient). */
WmStatus conv_backward(WmConv *conv, const WmDnnl *ctx, float *dx, float *dweight, float *dbias, const float *dy,
                       const float *x, const float *weight, WmError *err);

#endif
