#include "ops/twohot.h"

#include <math.h>
#include <string.h>

float symlog(float x) { return copysignf(log1pf(fabsf(x)), x); }
float symexp(float x) { return copysignf(expm1f(fabsf(x)), x); }

void symlog_forward(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = symlog(x[i]);
}
void symlog_backward(float *dx, const float *dy, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] / (1.0f + fabsf(x[i]));
}
void symexp_forward(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = symexp(x[i]);
}
void symexp_backward(float *dx, const float *dy, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * expf(fabsf(x[i]));
}

float twohot_bin(const WmTwohot *t, int i) {
    return t->low + (t->high - t->low) * (float)i / (float)(t->bins - 1);
}

void twohot_encode(const WmTwohot *t, float *target, float y) {
    memset(target, 0, (size_t)t->bins * sizeof *target);
    const float x = symlog(y), step = (t->high - t->low) / (float)(t->bins - 1);
    if (!(x > t->low)) { /* also NaN: the first bin, so the loss stays finite and the bad value shows in metrics */
        target[0] = 1.0f;
        return;
    }
    if (x >= t->high) {
        target[t->bins - 1] = 1.0f;
        return;
    }
    int below = (int)floorf((x - t->low) / step);
    below = below > t->bins - 2 ? t->bins - 2 : below;
    const float above_weight = (x - twohot_bin(t, below)) / step;
    target[below] = 1.0f - above_weight;
    target[below + 1] = above_weight;
}

/* log_softmax of one row into out (bins). */
static void log_softmax(float *out, const float *logits, int bins) {
    float top = logits[0];
    for (int i = 1; i < bins; i++) top = logits[i] > top ? logits[i] : top;
    double sum = 0.0;
    for (int i = 0; i < bins; i++) sum += exp((double)logits[i] - top);
    const float log_sum = top + (float)log(sum);
    for (int i = 0; i < bins; i++) out[i] = logits[i] - log_sum;
}

enum { BINS_MAX = 1024 };

void twohot_loss_forward(const WmTwohot *t, float *loss, const float *logits, const float *targets, int batch) {
    float target[BINS_MAX], log_probs[BINS_MAX];
    for (int r = 0; r < batch; r++) {
        twohot_encode(t, target, targets[r]);
        log_softmax(log_probs, logits + (size_t)r * t->bins, t->bins);
        double sum = 0.0;
        for (int i = 0; i < t->bins; i++) sum -= (double)target[i] * log_probs[i];
        loss[r] = (float)sum;
    }
}

void twohot_loss_backward(const WmTwohot *t, float *dlogits, const float *dloss, const float *logits,
                          const float *targets, int batch) {
    float target[BINS_MAX], log_probs[BINS_MAX];
    for (int r = 0; r < batch; r++) {
        twohot_encode(t, target, targets[r]);
        log_softmax(log_probs, logits + (size_t)r * t->bins, t->bins);
        float *d = dlogits + (size_t)r * t->bins;
        for (int i = 0; i < t->bins; i++) d[i] += dloss[r] * (expf(log_probs[i]) - target[i]);
    }
}

void twohot_predict(const WmTwohot *t, float *y, const float *logits, int batch) {
    float log_probs[BINS_MAX];
    for (int r = 0; r < batch; r++) {
        log_softmax(log_probs, logits + (size_t)r * t->bins, t->bins);
        double expected = 0.0;
        for (int i = 0; i < t->bins; i++) expected += exp((double)log_probs[i]) * twohot_bin(t, i);
        y[r] = symexp((float)expected);
    }
}

void twohot_predict_backward(const WmTwohot *t, float *dlogits, const float *dy, const float *logits, int batch) {
    float log_probs[BINS_MAX];
    for (int r = 0; r < batch; r++) {
        log_softmax(log_probs, logits + (size_t)r * t->bins, t->bins);
        double expected = 0.0;
        for (int i = 0; i < t->bins; i++) expected += exp((double)log_probs[i]) * twohot_bin(t, i);
        const float slope = dy[r] * expf(fabsf((float)expected)); /* symexp'(e) = exp(|e|) */
        float *d = dlogits + (size_t)r * t->bins;
        for (int i = 0; i < t->bins; i++) d[i] += slope * expf(log_probs[i]) * (twohot_bin(t, i) - (float)expected);
    }
}
