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

double adam_step(WmAdam *adam, WmParams *params) {
    double norm = grad_global_norm(params->grad, params->total);
    if (!isfinite(norm)) return norm;
    float scale = 1.0f;
    if (adam->clip_norm > 0.0f && norm > adam->clip_norm) scale = (float)(adam->clip_norm / norm);
    adam_update(adam, params->value, params->adam_m, params->adam_v, params->grad, params->total, scale);
    adam->step++;
    return norm;
}
