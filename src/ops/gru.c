#include "ops/gru.h"

#include <math.h>
#include <string.h>

#include "ops/fast_math.h"
#include "ops/linear.h"
#include "ops/norm.h"

size_t gru_cache_floats(int batch, int units) { return 3 * (size_t)batch * 3 * units + (size_t)batch; }

/* Cache layout: [input projection | hidden projection | gates], each (B, 3 units), then rstd (B). */
WmGruCacheParts gru_cache_parts(float *cache, int batch, int units) {
    const size_t part = (size_t)batch * 3 * units;
    return (WmGruCacheParts){cache, cache + part, cache + 2 * part, cache + 3 * part};
}

/* One row's gates: r, u, n into g (3U) and h' into h_next (U). Built for AVX-512, AVX2 and plain x86-64; the CPU
 * picks at load time (-fno-trapping-math in meson.build lets the clamps become vector selects). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
gru_gates(float *g, float *h_next, const float *px, const float *ph, const float *h, int hidden) {
#pragma omp simd
    for (int j = 0; j < hidden; j++) {
        const float r = fast_sigmoid(px[j] + ph[j]);
        const float u = fast_sigmoid(px[hidden + j] + ph[hidden + j]);
        const float n = fast_tanh(px[2 * hidden + j] + r * ph[2 * hidden + j]);
        g[j] = r, g[hidden + j] = u, g[2 * hidden + j] = n;
        h_next[j] = (1.0f - u) * n + u * h[j];
    }
}

WmStatus gru_forward(float *h_next, float *cache, const float *x, const float *h, const WmGruWeights *w,
                     int batch, int in, int hidden, WmError *err) {
    const WmGruCacheParts c = gru_cache_parts(cache, batch, hidden);
    WmStatus status = linear_forward(c.proj_x, x, w->weight_ih, w->bias_ih, batch, in, 3 * hidden, err);
    if (status == WM_OK) status = linear_forward(c.proj_h, h, w->weight_hh, w->bias_hh, batch, hidden, 3 * hidden, err);
    if (status != WM_OK) return status;
    gru_gates_forward(h_next, &c, h, w, batch, hidden);
    return WM_OK;
}

/* The normalised cell's gates r, u, c from the normalised values in g, written over them, and h'. Cloned as
 * gru_gates is. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
gru_norm_gate_values(float *g, float *h_next, const float *h, int hidden) {
#pragma omp simd
    for (int j = 0; j < hidden; j++) {
        const float r = fast_sigmoid(g[j]), u = fast_sigmoid(g[hidden + j] - 1.0f);
        const float c = fast_tanh(r * g[2 * hidden + j]);
        g[j] = r, g[hidden + j] = u, g[2 * hidden + j] = c;
        h_next[j] = u * c + (1.0f - u) * h[j];
    }
}

/* DreamerV3's normalised cell on one row: s = px + ph normalised into xhat (written over px), then the gates r,
 * u, c into g and h'. */
static void gru_norm_gates(float *g, float *h_next, float *px, const float *ph, const float *h, const float *scale,
                           const float *offset, float *rstd, int hidden) {
    const int width = 3 * hidden;
    for (int j = 0; j < width; j++) px[j] += ph[j];
    layer_norm_forward(g, px, rstd, px, scale, offset, 1, width); /* g: the normalised values, xhat over px */
    gru_norm_gate_values(g, h_next, h, hidden);
}

void gru_gates_forward(float *h_next, const WmGruCacheParts *cache, const float *h, const WmGruWeights *w, int batch,
                       int hidden) {
    const size_t width = 3 * (size_t)hidden;
    /* Rows are independent, so threading them changes no number. */
#pragma omp parallel for schedule(static) if ((size_t)batch * hidden >= 16384)
    for (int b = 0; b < batch; b++) {
        float *g = cache->gates + b * width, *px = cache->proj_x + b * width, *hn = h_next + (size_t)b * hidden;
        const float *ph = cache->proj_h + b * width, *hb = h + (size_t)b * hidden;
        if (w->norm_scale) gru_norm_gates(g, hn, px, ph, hb, w->norm_scale, w->norm_offset, cache->rstd + b, hidden);
        else gru_gates(g, hn, px, ph, hb, hidden);
    }
}

/* The normalised cell's backward on one row, to dg (3U), the gradient of the normalised values g; dh += the
 * direct path's. */
static void gru_norm_gates_backward(float *dg, float *dh, const float *dout, const float *xhat, const float *g,
                                    const float *h, const WmGruWeights *w, int hidden) {
    const float *scale = w->norm_scale, *offset = w->norm_offset;
    for (int j = 0; j < hidden; j++) {
        const float r = g[j], u = g[hidden + j], c = g[2 * hidden + j];
        const float gc = scale[2 * hidden + j] * xhat[2 * hidden + j] + offset[2 * hidden + j];
        const float dc_pre = dout[j] * u * (1.0f - c * c); /* through tanh(r gc) */
        dg[j] = dc_pre * gc * r * (1.0f - r);
        dg[hidden + j] = dout[j] * (c - h[j]) * u * (1.0f - u);
        dg[2 * hidden + j] = dc_pre * r;
        if (dh != NULL) dh[j] += dout[j] * (1.0f - u);
    }
}

WmStatus gru_backward(float *dx, float *dh, const WmGruGrads *grads, const float *dh_next, const float *cache,
                      const float *x, const float *h, const WmGruWeights *w, int batch, int in, int hidden,
                      WmArena *scratch, WmError *err) {
    size_t width = 3 * (size_t)hidden, mark = arena_mark(scratch);
    const WmGruCacheParts c = gru_cache_parts((float *)cache, batch, hidden);
    const float *proj_h = c.proj_h, *gates = c.gates;
    float *dproj_x = arena_floats(scratch, batch * width), *dproj_h = arena_floats(scratch, batch * width);
    if (dproj_x == NULL || dproj_h == NULL) return arena_check(scratch, err);
    if (w->norm_scale) { /* the gates, the norm, then the summed projections' one gradient for both products */
#pragma omp parallel for schedule(static) if ((size_t)batch * hidden >= 16384)
        for (int b = 0; b < batch; b++)
            gru_norm_gates_backward(dproj_x + b * width, dh ? dh + (size_t)b * hidden : NULL,
                                    dh_next + (size_t)b * hidden, c.proj_x + b * width, gates + b * width,
                                    h + (size_t)b * hidden, w, hidden);
        layer_norm_backward(dproj_x, grads->norm_scale, grads->norm_offset, dproj_x, c.proj_x, c.rstd, w->norm_scale,
                            (size_t)batch, (int)width);
        memcpy(dproj_h, dproj_x, batch * width * sizeof *dproj_h);
    } else { /* PyTorch's cell */
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
    }
    WmStatus status = linear_backward(dx, grads->weight_ih, grads->bias_ih, dproj_x, x, w->weight_ih, batch, in,
                                      3 * hidden, err);
    if (status == WM_OK)
        status = linear_backward(dh, grads->weight_hh, grads->bias_hh, dproj_h, h, w->weight_hh, batch, hidden,
                                 3 * hidden, err);
    arena_rewind(scratch, mark);
    return status;
}
