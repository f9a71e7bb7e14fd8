#include "ops/categorical.h"

#include <float.h>
#include <math.h>

void categorical_probs_forward(float *probs, const float *logits, size_t groups, int classes, float unimix) {
    const float uniform = unimix / (float)classes;
    for (size_t g = 0; g < groups; g++) {
        const float *l = logits + g * classes;
        float *p = probs + g * classes, top = l[0], sum = 0.0f;
        for (int c = 1; c < classes; c++) top = l[c] > top ? l[c] : top;
        for (int c = 0; c < classes; c++) sum += p[c] = expf(l[c] - top);
        const float scale = (1.0f - unimix) / sum;
        for (int c = 0; c < classes; c++) p[c] = p[c] * scale + uniform;
    }
}

void categorical_probs_backward(float *dlogits, const float *dprobs, const float *probs, size_t groups, int classes,
                                float unimix) {
    /* With s the softmax, dp/dl = (1 - unimix) (diag(s) - s s^T), and s = (p - unimix / C) / (1 - unimix):
     * dlogits = s * (1 - unimix) (dp - <s, dp>) = (p - unimix / C) (dp - <s, dp>). */
    const float uniform = unimix / (float)classes, inv_keep = 1.0f / (1.0f - unimix);
    for (size_t g = 0; g < groups; g++) {
        const float *p = probs + g * classes, *dp = dprobs + g * classes;
        float *dl = dlogits + g * classes, dot = 0.0f;
        for (int c = 0; c < classes; c++) dot += (p[c] - uniform) * inv_keep * dp[c];
        for (int c = 0; c < classes; c++) dl[c] += (p[c] - uniform) * (dp[c] - dot);
    }
}

void categorical_sample_forward(float *z, const float *probs, const float *noise, size_t groups, int classes) {
    for (size_t g = 0; g < groups; g++) {
        const float *p = probs + g * classes;
        float *out = z + g * classes;
        const float u = 0.5f * erfcf(-noise[g * classes] * 0.70710678f); /* Phi(noise) */
        int pick = classes - 1;                                              /* rounding leaves u past the sum */
        float below = 0.0f;
        for (int c = 0; c < classes; c++) {
            below += p[c];
            if (u < below) {
                pick = c;
                break;
            }
        }
        for (int c = 0; c < classes; c++) out[c] = c == pick ? 1.0f : 0.0f;
    }
}

void categorical_mode(float *z, const float *probs, size_t groups, int classes) {
    for (size_t g = 0; g < groups; g++) {
        const float *p = probs + g * classes;
        int best = 0;
        for (int c = 1; c < classes; c++) best = p[c] > p[best] ? c : best;
        for (int c = 0; c < classes; c++) z[g * classes + c] = c == best ? 1.0f : 0.0f;
    }
}

/* Probabilities are floored at FLT_MIN inside the logarithm: without unimix a class may underflow to 0. */
static double safe_log(float p) { return log(p > FLT_MIN ? p : FLT_MIN); }

void kl_categorical_forward(float *kl, const float *probs_q, const float *probs_p, int batch, int dim) {
    for (int b = 0; b < batch; b++) {
        const float *q = probs_q + (size_t)b * dim, *p = probs_p + (size_t)b * dim;
        double sum = 0.0;
        for (int i = 0; i < dim; i++)
            if (q[i] > 0.0f) sum += q[i] * (safe_log(q[i]) - safe_log(p[i]));
        kl[b] = (float)sum;
    }
}

void kl_categorical_backward(float *dprobs_q, float *dprobs_p, const float *dkl, const float *probs_q,
                             const float *probs_p, int batch, int dim) {
    for (int b = 0; b < batch; b++) {
        const size_t row = (size_t)b * dim;
        const float g = dkl[b];
        for (int i = 0; i < dim; i++) {
            const float q = probs_q[row + i], p = probs_p[row + i] > FLT_MIN ? probs_p[row + i] : FLT_MIN;
            if (dprobs_q != NULL) dprobs_q[row + i] += g * (float)(safe_log(q) - safe_log(p) + 1.0);
            if (dprobs_p != NULL) dprobs_p[row + i] -= g * q / p;
        }
    }
}
