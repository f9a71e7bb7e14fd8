/* A stack of stride-2 convolutions (the encoder) or transposed convolutions (the decoder), each followed by the
 * activation except, optionally, the last, and with conv_stack_declare_norms by DreamerV3's channel LayerNorm before
 * it. The parameters are declared once; the primitives are built for one
 * batch size (B x L frames for training), since oneDNN primitives are made per shape. */
#ifndef WM_NETS_CONV_STACK_H
#define WM_NETS_CONV_STACK_H

#include "core/arena.h"
#include "core/params.h"
#include "ops/act.h"
#include "ops/conv.h"

#define WM_STACK_MAX 8

typedef struct {
    int layers;
    int transposed;
    int in_channels, in_height, in_width;
    int channels[WM_STACK_MAX], kernels[WM_STACK_MAX];
    int heights[WM_STACK_MAX], widths[WM_STACK_MAX]; /* each layer's output */
    WmActivation activation;
    int last_linear; /* the last layer has no activation (the decoder's mean image) */
    int weight[WM_STACK_MAX], bias[WM_STACK_MAX]; /* parameter indices */
    int norm;                                          /* a channel LayerNorm before each activation */
    int norm_scale[WM_STACK_MAX], norm_offset[WM_STACK_MAX];
    /* A transposed layer on a 1x1 input runs as a dense map onto its grid (ops/grid.h), not as a convolution. */
    int is_grid[WM_STACK_MAX];
    int bf16; /* mixed precision: each pass reads bf16 (ops/conv.h); set before building */
    /* Built for one batch: */
    int batch;
    WmConv convs[WM_STACK_MAX]; /* unused where is_grid */
} WmConvStack;

/* Declares the parameters `name.convK.weight` (O, I, K, K) and `.bias` (O), K counting from 1. */
WmStatus conv_stack_declare(WmConvStack *stack, WmParams *params, const char *name, int transposed, int in_channels,
                            int in_height, int in_width, int layers, const int *channels, const int *kernels,
                            WmActivation activation, int last_linear, WmError *err);
/* Declares a channel LayerNorm (`name.convK.norm.scale` and `.offset`) before every layer's activation. */
WmStatus conv_stack_declare_norms(WmConvStack *stack, WmParams *params, const char *name, WmError *err);
/* Builds the primitives for `batch` images. */
WmStatus conv_stack_build(WmConvStack *stack, WmDnnl *dnnl, int batch, WmError *err);
/* A second copy of a declared stack over the same parameters, with its own primitives for `batch` images (the
 * batch-1 encoder of acting beside the training-sized one). Freed with conv_stack_free. */
WmStatus conv_stack_build_copy(WmConvStack *copy, const WmConvStack *declared, WmDnnl *dnnl, int batch,
                               WmError *err);
void conv_stack_free(WmConvStack *stack);
/* The largest scratchpad oneDNN keeps for one pass of one layer (it shares one among them). */
size_t conv_stack_scratchpad_bytes(const WmConvStack *stack);
/* Multiply-adds x 2 of layer i's forward at the built batch. */
double conv_stack_layer_flops(const WmConvStack *stack, int layer);
/* Floats of layer i's output for the built batch, as held: an output passed natively to the next layer is held in
 * oneDNN's blocked layout, its channels padded to the block (16). */
size_t conv_stack_out_floats(const WmConvStack *stack, int layer);
/* Whether layer i's output (and its gradient) passes to the next layer in oneDNN's blocked layout, no reorder
 * between: every inner output does, unless a grid layer is on either side or the layer runs on plain tensors. */
int conv_stack_holds_natively(const WmConvStack *stack, int layer);

/* outs[i] (allocated from arena) receives layer i's output; outs[layers-1] is the result, always plain (N, C, H,
 * W); the inner ones are held as conv_stack_holds_natively says. After each output, what its backward needs
 * beyond it: the norm's normalised values and 1/std per pixel, and silu's input. */
WmStatus conv_stack_forward(WmConvStack *stack, const WmDnnl *dnnl, const WmParams *params, WmArena *arena,
                            float **outs, const float *x, WmError *err);
/* dtop is the gradient of the last output (consumed). dx (may be NULL) += the gradient of x. The gradients between
 * layers live in the arena only while backward passes through their two layers. */
WmStatus conv_stack_backward(WmConvStack *stack, const WmDnnl *dnnl, WmParams *params, WmArena *arena, float *dx,
                             float *dtop, const float *x, float *const *outs, WmError *err);

#endif
