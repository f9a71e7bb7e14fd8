#include "ops/act.h"

#include <math.h>
#include <string.h>

#include "ops/fast_math.h"

static const char *const ACT_NAMES[] = {"none", "relu", "elu", "tanh", "sigmoid", "softplus", "silu"};

const char *act_name(WmActivation kind) { return ACT_NAMES[kind]; }

/* Stable for large |x|: max(x, 0) + log1p(exp(-|x|)). */
float act_softplus(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }

float act_sigmoid(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* One loop per kind, so each vectorises (a switch inside the loop stopped gcc from doing so). */
#define WM_ACT_LOOP(expression)                                                                                  \
    do {                                                                                                         \
        _Pragma("omp parallel for simd schedule(static) if (n > 65536)") for (size_t i = 0; i < n; i++) {        \
            const float v = x[i];                                                                                \
            y[i] = (expression);                                                                                 \
        }                                                                                                        \
    } while (0)

/* ELU for AVX-512, AVX2 or plain x86-64, the CPU picking at load time. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void elu_forward(float *y, const float *x,
                                                                                     size_t n) {
    WM_ACT_LOOP(v > 0.0f ? v : fast_expm1_nonpositive(v));
}

/* SiLU, x sigmoid(x), with the exponential inlined so the loop vectorises (libm's expf, a call per element, was a
 * fifth of a DreamerV3-preset update). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void silu_forward(float *y, const float *x,
                                                                                      size_t n) {
    WM_ACT_LOOP(v * fast_sigmoid(v));
}

/* d/dx x s(x) = s (1 + x (1 - s)) */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void silu_backward(float *dy, const float *x,
                                                                                       size_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        const float s = fast_sigmoid(x[i]);
        dy[i] *= s * (1.0f + x[i] * (1.0f - s));
    }
}

void act_forward(WmActivation kind, float *y, const float *x, size_t n) {
    switch (kind) {
    case WM_ACT_NONE:
        if (y != x) memcpy(y, x, n * sizeof *y);
        break;
    case WM_ACT_RELU: WM_ACT_LOOP(v > 0.0f ? v : 0.0f); break;
    case WM_ACT_ELU: elu_forward(y, x, n); break;
    case WM_ACT_TANH: WM_ACT_LOOP(tanhf(v)); break;
    case WM_ACT_SIGMOID: WM_ACT_LOOP(act_sigmoid(v)); break;
    case WM_ACT_SOFTPLUS: WM_ACT_LOOP(act_softplus(v)); break;
    case WM_ACT_SILU: silu_forward(y, x, n); break;
    }
}

int act_needs_input(WmActivation kind) { return kind == WM_ACT_SOFTPLUS || kind == WM_ACT_SILU; }

void act_backward_from_input(WmActivation kind, float *dy, const float *x, size_t n) {
    switch (kind) {
    case WM_ACT_NONE: return;
    case WM_ACT_SILU: silu_backward(dy, x, n); return;
    case WM_ACT_SOFTPLUS:
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) dy[i] *= act_sigmoid(x[i]);
        return;
    case WM_ACT_RELU:
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) dy[i] = x[i] > 0.0f ? dy[i] : 0.0f;
        return;
    case WM_ACT_ELU:
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) dy[i] *= x[i] > 0.0f ? 1.0f : expf(x[i]);
        return;
    case WM_ACT_TANH:
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) dy[i] *= 1.0f - tanhf(x[i]) * tanhf(x[i]);
        return;
    case WM_ACT_SIGMOID:
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) dy[i] *= act_sigmoid(x[i]) * (1.0f - act_sigmoid(x[i]));
        return;
    }
}

WmStatus act_backward_from_output(WmActivation kind, float *dy, const float *y, size_t n, WmError *err) {
    switch (kind) {
    case WM_ACT_NONE: return WM_OK;
    case WM_ACT_SOFTPLUS:
    case WM_ACT_SILU: break;
    case WM_ACT_RELU:
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        return WM_OK;
    case WM_ACT_ELU:
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) dy[i] *= y[i] > 0.0f ? 1.0f : y[i] + 1.0f;
        return WM_OK;
    case WM_ACT_TANH:
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) dy[i] *= 1.0f - y[i] * y[i];
        return WM_OK;
    case WM_ACT_SIGMOID:
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) dy[i] *= y[i] * (1.0f - y[i]);
        return WM_OK;
    }
    return wm_error_set(err, WM_ERR_ARG, "activation %s: its slope cannot be read from its output alone",
                        act_name(kind));
}
