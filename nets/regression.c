#include "nets/regression.h"

#include <math.h>
#include <string.h>

/* DreamerV3's bins. */
enum { TWOHOT_BINS = 255 };
static const float TWOHOT_LIMIT = 20.0f;

WmRegression regression_make(WmRegressionChoice kind) {
    return (WmRegression){kind, {TWOHOT_BINS, -TWOHOT_LIMIT, TWOHOT_LIMIT}};
}

int regression_outputs(const WmRegression *r) { return r->kind == WM_REGRESSION_TWOHOT ? r->twohot.bins : 1; }

void regression_init(const WmRegression *r, const WmMlp *mlp, WmParams *params) {
    if (r->kind != WM_REGRESSION_TWOHOT) return;
    const WmDense *out = &mlp->layers[mlp->count - 1];
    memset(params_value(params, out->weight), 0, (size_t)out->in * out->out * sizeof(float));
    memset(params_value(params, out->bias), 0, (size_t)out->out * sizeof(float));
}

const float *regression_read(const WmRegression *r, WmArena *arena, const float *out, int batch) {
    if (r->kind != WM_REGRESSION_TWOHOT) return out;
    float *y = arena_floats(arena, (size_t)batch);
    if (y != NULL) twohot_predict(&r->twohot, y, out, batch);
    return y;
}

void regression_predict_backward(const WmRegression *r, float *dout, const float *dy, const float *out, int batch) {
    if (r->kind != WM_REGRESSION_TWOHOT) {
        for (int i = 0; i < batch; i++) dout[i] += dy[i];
        return;
    }
    twohot_predict_backward(&r->twohot, dout, dy, out, batch);
}

void regression_loss_forward(const WmRegression *r, float *loss, const float *out, const float *targets, int batch) {
    if (r->kind == WM_REGRESSION_TWOHOT) {
        twohot_loss_forward(&r->twohot, loss, out, targets, batch);
        return;
    }
    for (int i = 0; i < batch; i++) loss[i] = 0.5f * (out[i] - targets[i]) * (out[i] - targets[i]);
}

void regression_loss_backward(const WmRegression *r, float *dout, const float *dloss, const float *out,
                              const float *targets, int batch) {
    if (r->kind == WM_REGRESSION_TWOHOT) {
        twohot_loss_backward(&r->twohot, dout, dloss, out, targets, batch);
        return;
    }
    for (int i = 0; i < batch; i++) dout[i] += dloss[i] * (out[i] - targets[i]);
}
