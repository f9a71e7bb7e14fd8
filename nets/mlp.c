#include "nets/mlp.h"

#include <stdio.h>

WmStatus mlp_declare(WmMlp *mlp, WmParams *params, const char *name, int in, int units, int hidden, int out,
                     WmLayerStyle style, WmError *err) {
    if (hidden + 1 > WM_MLP_LAYERS_MAX)
        return wm_error_set(err, WM_ERR_ARG, "%s: at most %d hidden layers", name, WM_MLP_LAYERS_MAX - 1);
    mlp->count = hidden + 1, mlp->in = in, mlp->out = out, mlp->widest = out > in ? out : in;
    int width = in;
    for (int i = 0; i <= hidden; i++) {
        const int last = i == hidden, to = last ? out : units;
        char layer[WM_PARAM_NAME_MAX];
        if (last) snprintf(layer, sizeof layer, "%s.out", name);
        else snprintf(layer, sizeof layer, "%s.hidden%d", name, i + 1);
        if (dense_declare_styled(&mlp->layers[i], params, layer, width, to,
                                 last ? (WmLayerStyle){WM_ACT_NONE, 0} : style, err))
            return err->status;
        width = to;
        mlp->widest = mlp->widest > to ? mlp->widest : to;
    }
    return WM_OK;
}

WmStatus mlp_forward(const WmMlp *mlp, const WmParams *params, WmArena *arena, float **outs, const float *x,
                     int batch, WmError *err) {
    for (int i = 0; i < mlp->count; i++) {
        const size_t values = (size_t)batch * mlp->layers[i].out;
        outs[i] = arena_floats(arena, values + dense_cache_floats(&mlp->layers[i], batch));
        if (outs[i] == NULL) return arena_check(arena, err);
        if (dense_forward_cached(&mlp->layers[i], params, outs[i], outs[i] + values, i ? outs[i - 1] : x, batch, err))
            return err->status;
    }
    return WM_OK;
}

WmStatus mlp_backward(const WmMlp *mlp, WmParams *params, WmArena *arena, float *dx, float *dtop, const float *x,
                      float *const *outs, int batch, WmError *err) {
    const size_t mark = arena_mark(arena);
    float *dy = dtop;
    for (int i = mlp->count - 1; i >= 0 && err->status == WM_OK; i--) {
        float *din = i ? arena_alloc_zero(arena, (size_t)batch * mlp->layers[i - 1].out * sizeof(float)) : dx;
        if (i && din == NULL) return arena_check(arena, err);
        dense_backward(&mlp->layers[i], params, din, dy, i ? outs[i - 1] : x, outs[i],
                       outs[i] + (size_t)batch * mlp->layers[i].out, batch, err);
        dy = din;
    }
    arena_rewind(arena, mark);
    return err->status;
}
