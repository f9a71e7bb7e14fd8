#include "optim/adam.h"

#include <math.h>

#include "core/reduce.h"

WmAdam adam_defaults(void) {
    WmAdam adam = {.learning_rate = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-4f, .clip_norm = 1000.0f};
    return adam;
}

double grad_global_norm(const float *grad, size_t n) { return sqrt(reduce_sum_squares(grad, n)); }

void adam_update(const WmAdam *adam, float *value, float *m, float *v, const float *grad, size_t n,
                 float grad_scale) {
    double t = (double)adam->step + 1.0;
    float correction1 = (float)(1.0 - pow(adam->beta1, t)), correction2 = (float)(1.0 - pow(adam->beta2, t));
    float b1 = adam->beta1, b2 = adam->beta2, lr = adam->learning_rate, eps = adam->eps;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] * grad_scale;
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        float m_hat = m[i] / correction1, v_hat = v[i] / correction2;
        value[i] -= lr * m_hat / (sqrtf(v_hat) + eps);
    }
}

/* The floor of a tensor's norm in adaptive clipping: a tensor at zero (a fresh bias) may still move. */
#define AGC_MIN_NORM 1e-3

double adam_step(WmAdam *adam, WmParams *params) {
    double norm = grad_global_norm(params->grad, params->total);
    if (!isfinite(norm)) return norm;
    float scale = 1.0f;
    if (adam->clip_norm > 0.0f && norm > adam->clip_norm) scale = (float)(adam->clip_norm / norm);
    if (adam->agc <= 0.0f)
        adam_update(adam, params->value, params->adam_m, params->adam_v, params->grad, params->total, scale);
    for (int i = 0; adam->agc > 0.0f && i < params->count; i++) {
        const size_t at = params->infos[i].offset, n = params->infos[i].count;
        const double grad_norm = scale * grad_global_norm(params->grad + at, n);
        const double limit = adam->agc * fmax(grad_global_norm(params->value + at, n), AGC_MIN_NORM);
        const float tensor_scale = grad_norm > limit ? (float)(scale * limit / grad_norm) : scale;
        adam_update(adam, params->value + at, params->adam_m + at, params->adam_v + at, params->grad + at, n,
                    tensor_scale);
    }
    adam->step++;
    return norm;
}
