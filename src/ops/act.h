/* Elementwise activations. Backward accumulates dx += dy * f'(x), using the saved output where that is cheaper. */
#ifndef WM_OPS_ACT_H
#define WM_OPS_ACT_H

#include <stddef.h>

#include "core/error.h"

typedef enum {
    WM_ACT_NONE,
    WM_ACT_RELU,
    WM_ACT_ELU,
    WM_ACT_TANH,
    WM_ACT_SIGMOID,
    WM_ACT_SOFTPLUS,
    WM_ACT_SILU
} WmActivation;

const char *act_name(WmActivation kind);

/* y and x may be the same buffer for forward. */
void act_forward(WmActivation kind, float *y, const float *x, size_t n);

/* In place, dy *= f'(x), with the slope read from the output alone: for relu, elu, tanh and sigmoid y says
 * everything (y > 0 exactly when x > 0), so layers keep only their outputs. Softplus cannot be inverted cheaply
 * from its output: asking for it is an error naming the activation. */
WmStatus act_backward_from_output(WmActivation kind, float *dy, const float *y, size_t n, WmError *err);
/* Whether backward needs the input (softplus and silu: x sigmoid(x), DreamerV3's), not just the output. */
int act_needs_input(WmActivation kind);
/* In place, dy *= f'(x), from the input. */
void act_backward_from_input(WmActivation kind, float *dy, const float *x, size_t n);
/* Scalar helpers shared with other ops. */
float act_softplus(float x);
float act_sigmoid(float x);

#endif
