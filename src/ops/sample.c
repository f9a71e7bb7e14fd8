#include "ops/sample.h"

#include "ops/act.h"

void gauss_sample_forward(float *z, float *std, const float *mean, const float *raw_std, const float *noise,
                          size_t n, float min_std) {
    for (size_t i = 0; i < n; i++) {
        std[i] = act_softplus(raw_std[i]) + min_std;
        if (z != NULL) z[i] = mean[i] + std[i] * noise[i];
    }
}

void gauss_sample_backward(float *dmean, float *draw_std, const float *dz, const float *dstd, const float *raw_std,
                           const float *noise, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const float through_z = dz != NULL ? dz[i] : 0.0f;
        float through_std = through_z * (noise != NULL ? noise[i] : 0.0f) + (dstd != NULL ? dstd[i] : 0.0f);
        if (dmean != NULL) dmean[i] += through_z;
        if (draw_std != NULL) draw_std[i] += through_std * act_sigmoid(raw_std[i]);
    }
}
