#include "train/train_precision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TRAIN_PRECISION_ROUNDS = 3, TRAIN_PRECISION_FRAMES_MAX = 128 };

/* The two convolution stacks in one precision, built for `frames` frames. */
typedef struct {
    WmConvStack encoder, decoder;
    int built;
} Stacks;

typedef struct {
    WmWorldModel *model;
    WmDnnl dnnl;
    int made_dnnl, frames;
    Stacks stacks[2]; /* fp32, bf16 */
    WmArena arena;
    float *images, *code; /* the encoder's input (frames, 3, H, W) and the decoder's (frames, width, 1, 1) */
} Trial;

static WmStatus build(Trial *t, int bf16, WmError *err) {
    Stacks *s = &t->stacks[bf16];
    WmConvStack encoder = t->model->encoder, decoder = t->model->decoder;
    encoder.bf16 = decoder.bf16 = bf16;
    if (conv_stack_build_copy(&s->encoder, &encoder, &t->dnnl, t->frames, err)) return err->status;
    if (conv_stack_build_copy(&s->decoder, &decoder, &t->dnnl, t->frames, err)) {
        conv_stack_free(&s->encoder);
        return err->status;
    }
    s->built = 1;
    return WM_OK;
}

/* One stack forward and backward, its gradient at the top all ones. */
static WmStatus pass(Trial *t, WmConvStack *stack, const float *x, WmError *err) {
    float *outs[WM_STACK_MAX];
    if (conv_stack_forward(stack, &t->dnnl, &t->model->params, &t->arena, outs, x, err)) return err->status;
    const size_t top = conv_stack_out_floats(stack, stack->layers - 1);
    float *dtop = arena_floats(&t->arena, top);
    if (dtop == NULL) return arena_check(&t->arena, err);
    for (size_t i = 0; i < top; i++) dtop[i] = 1e-3f;
    return conv_stack_backward(stack, &t->dnnl, &t->model->params, &t->arena, NULL, dtop, x, outs, err);
}

static WmStatus run_stacks(void *ctx, int bf16, WmError *err) {
    Trial *t = ctx;
    if (!t->stacks[bf16].built && build(t, bf16, err)) return err->status;
    arena_reset(&t->arena);
    return pass(t, &t->stacks[bf16].encoder, t->images, err) ? err->status
                                                             : pass(t, &t->stacks[bf16].decoder, t->code, err);
}

static WmStatus measure(Trial *t, WmMeasuredPrecision *chosen, WmError *err) {
    const WmWorldModel *m = t->model;
    const size_t image = (size_t)3 * m->config.height * m->config.width;
    t->images = calloc((size_t)t->frames * image, sizeof(float));
    t->code = calloc((size_t)t->frames * m->decoder_width, sizeof(float));
    if (!t->images || !t->code) return wm_error_set(err, WM_ERR_NOMEM, "train.precision auto: out of memory");
    for (size_t i = 0; i < (size_t)t->frames * image; i++) t->images[i] = (float)(i % 255) / 255.0f - 0.5f;
    if (dnnl_ctx_init(&t->dnnl, err)) return err->status;
    t->made_dnnl = 1;
    arena_init(&t->arena, "train.precision auto");
    char what[256];
    snprintf(what, sizeof what, "train convolutions %ldx%ld depth %ld, %d frames", m->config.height, m->config.width,
             m->config.net.depth, t->frames);
    return measured_precision_choose(what, run_stacks, t, TRAIN_PRECISION_ROUNDS, chosen, err);
}

WmStatus train_precision_resolve(WmWorldModel *model, WmPrecisionChoice precision, int frames,
                                 WmMeasuredPrecision *chosen, WmError *err) {
    WmMeasuredPrecision m = {.bf16 = precision == WM_PRECISION_BF16};
    if (precision == WM_PRECISION_AUTO) {
        Trial t = {.model = model, .frames = frames < TRAIN_PRECISION_FRAMES_MAX ? frames : TRAIN_PRECISION_FRAMES_MAX};
        measure(&t, &m, err);
        for (int i = 0; i < 2; i++)
            if (t.stacks[i].built) conv_stack_free(&t.stacks[i].encoder), conv_stack_free(&t.stacks[i].decoder);
        arena_free(&t.arena);
        if (t.made_dnnl) dnnl_ctx_free(&t.dnnl);
        free(t.images), free(t.code);
        params_zero_grad(&model->params); /* the trial's backward passes wrote there */
        if (err->status) return err->status;
    }
    model->train_bf16 = m.bf16;
    if (chosen) *chosen = m;
    return WM_OK;
}
