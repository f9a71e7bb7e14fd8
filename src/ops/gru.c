#include "ops/gru.h"

#include <math.h>

#include "ops/act.h"
#include "ops/linear.h"

size_t gru_cache_floats(int batch, int hidden) { return 3 * (size_t)batch * 3 * hidden; }

/* Cache layout: [input projection | hidden projection | gates], each (B, 3H). */
WmStatus gru_forward(float *h_next, float *cache, const float *x, const float *h, const WmGruWeights *w,
                     int batch, int in, int hidden, WmError *err) {
    size_t width = 3 * (size_t)hidden;
    float *proj_x = cache, *proj_h = cache + batch * width, *gates = cache + 2 * batch * width;
    WmStatus status = linear_forward(proj_x, x, w->weight_ih, w->bias_ih, batch, in, 3 * hidden, err);
    if (status == WM_OK) status = linear_forward(proj_h, h, w->weight_hh, w->bias_hh, batch, hidden, 3 * hidden, err);
    if (status != WM_OK) return status;
    /* Rows are independent, so threading them changes no number. */
#pragma omp parallel for schedule(static) if ((size_t)batch * hidden >= 16384)
    for (int b = 0; b < batch; b++) {
        const float *px = proj_x + b * width, *ph = proj_h + b * width;
        float *g = gates + b * width;
        for (int j = 0; j < hidden; j++) {
            float r = act_sigmoid(px[j] + ph[j]);
            float u = act_sigmoid(px[hidden + j] + ph[hidden + j]);
            float n = tanhf(px[2 * hidden + j] + r * ph[2 * hidden + j]);
            g[j] = r, g[hidden + j] = u, g[2 * hidden + j] = n;
            h_next[(size_t)b * hidden + j] = (1.0f - u) * n + u * h[(size_t)b * hidden + j];
        }
    }
    return WM_OK;
}

WmStatus gru_backward(float *dx, float *dh, const WmGruGrads *grads, const float *dh_next, const float *cache,
                      const float *x, const float *h, const WmGruWeights *w, int batch, int in, int hidden,
                      WmArena *scratch, WmError *err) {
    size_t width = 3 * (size_t)hidden, mark = arena_mark(scratch);
    const float *proj_h = cache + batch * width, *gates = cache + 2 * batch * width;
    float *dproj_x = arena_floats(scratch, batch * width), *dproj_h = arena_floats(scratch, batch * width);
    if (dproj_x == NULL || dproj_h == NULL) return arena_check(scratch, err);
#pragma omp parallel for schedule(static) if ((size_t)batch * hidden >= 16384)
    for (int b = 0; b < batch; b++) {
        const float *ph = proj_h + b * width, *g = gates + b * width;
        float *dpx = dproj_x + b * width, *dph = dproj_h + b * width;
        for (int j = 0; j < hidden; j++) {
            float r = g[j], u = g[hidden + j], n = g[2 * hidden + j];
            float hj = h[(size_t)b * hidden + j], dout = dh_next[(size_t)b * hidden + j];
            float dn_pre = dout * (1.0f - u) * (1.0f - n * n);
            float du_pre = dout * (hj - n) * u * (1.0f - u);
            float dr_pre = dn_pre * ph[2 * hidden + j] * r * (1.0f - r);
            dpx[j] = dph[j] = dr_pre;
            dpx[hidden + j] = dph[hidden + j] = du_pre;
            dpx[2 * hidden + j] = dn_pre;
            dph[2 * hidden + j] = dn_pre * r;
            if (dh != NULL) dh[(size_t)b * hidden + j] += dout * u;
        }
    }
    WmStatus status = linear_backward(dx, grads->weight_ih, grads->bias_ih, dproj_x, x, w->weight_ih, batch, in,
                                      3 * hidden, err);
    if (status == WM_OK)
        status = linear_backward(dh, grads->weight_hh, grads->bias_hh, dproj_h, h, w->weight_hh, batch, hidden,
                                 3 * hidden, err);
    arena_rewind(scratch, mark);
    return status;
}
