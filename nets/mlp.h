/* A multilayer perceptron of dense layers: `hidden` layers of `units` with an activation, then a linear output.
 * The reward head's shape, and Dreamer's actor (4 x 400, ELU) and value (3 x 400, ELU). Parameters are declared
 * into the caller's WmParams; forward keeps each layer's output for backward. */
#ifndef WM_NETS_MLP_H
#define WM_NETS_MLP_H

#include "core/arena.h"
#include "nets/dense.h"

#define WM_MLP_LAYERS_MAX 17

typedef struct {
    WmDense layers[WM_MLP_LAYERS_MAX];
    int count; /* hidden layers + 1 */
    int in, out, widest;
} WmMlp;

/* Declares `name.hidden1` .. `name.hiddenK` and `name.out`. */
WmStatus mlp_declare(WmMlp *mlp, WmParams *params, const char *name, int in, int units, int hidden, int out,
                     WmLayerStyle style, WmError *err);
/* outs[i] (B, layer i's width) from the arena, each followed by its layer's cache for backward; outs[count - 1] is
 * the result. */
WmStatus mlp_forward(const WmMlp *mlp, const WmParams *params, WmArena *arena, float **outs, const float *x,
                     int batch, WmError *err);
/* dtop (B, out) is consumed; dx (may be NULL) +=, parameter gradients +=. Scratch from the arena, handed back. */
WmStatus mlp_backward(const WmMlp *mlp, WmParams *params, WmArena *arena, float *dx, float *dtop, const float *x,
                      float *const *outs, int batch, WmError *err);

#endif
