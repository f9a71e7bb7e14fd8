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

/* The two bins around symlog(y): the lower one's index and the upper one's weight (1 - it on the lower). Past
 * either end (and for NaN, so the loss stays finite and the bad value shows in metrics) all of it on the end bin. */
static void twohot_pair(const WmTwohot *t, float y, int *below, float *above_weight) {
    const float x = symlog(y), step = (t->high - t->low) / (float)(t->bins - 1);
    if (!(x > t->low)) {
        *below = 0, *above_weight = 0.0f;
        return;
    }
    if (x >= t->high) {
        *below = t->bins - 2, *above_weight = 1.0f;
        return;
    }
    int k = (int)floorf((x - t->low) / step);
    k = k > t->bins - 2 ? t->bins - 2 : k;
    *below = k, *above_weight = (x - twohot_bin(t, k)) / step;
}

void twohot_encode(const WmTwohot *t, float *target, float y) {
    memset(target, 0, (size_t)t->bins * sizeof *target);
    int k;
    float w;
    twohot_pair(t, y, &k, &w);
    target[k] += 1.0f - w, target[k + 1] += w;
}

/* log sum_i exp(logits_i): the exponentials in float, their sum in double, so the probabilities sum to 1 as
 * closely as a float allows (the expected bin multiplies any excess by up to 254 bins). */
static float log_sum_exp(const float *logits, int bins) {
    float top = logits[0];
    double sum = 0.0;
    for (int i = 1; i < bins; i++) top = logits[i] > top ? logits[i] : top;
#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < bins; i++) sum += expf(logits[i] - top);
    return top + (float)log(sum);
}

/* Rows are independent: threading them changes no number. */
#define TWOHOT_ROWS_PARALLEL _Pragma("omp parallel for schedule(static) if ((size_t)batch * t->bins > 262144)")

void twohot_loss_forward(const WmTwohot *t, float *loss, const float *logits, const float *targets, int batch) {
    TWOHOT_ROWS_PARALLEL
    for (int r = 0; r < batch; r++) {
        const float *l = logits + (size_t)r * t->bins;
        int k;
        float w;
        twohot_pair(t, targets[r], &k, &w);
        loss[r] = log_sum_exp(l, t->bins) - ((1.0f - w) * l[k] + w * l[k + 1]); /* -sum target log softmax */
    }
}

void twohot_loss_backward(const WmTwohot *t, float *dlogits, const float *dloss, const float *logits,
                          const float *targets, int batch) {
    TWOHOT_ROWS_PARALLEL
    for (int r = 0; r < batch; r++) {
        const float *l = logits + (size_t)r * t->bins;
        float *d = dlogits + (size_t)r * t->bins, w;
        int k;
        twohot_pair(t, targets[r], &k, &w);
        const float lse = log_sum_exp(l, t->bins), g = dloss[r];
#pragma omp simd
        for (int i = 0; i < t->bins; i++) d[i] += g * expf(l[i] - lse);
        d[k] -= g * (1.0f - w), d[k + 1] -= g * w;
    }
}

/* The expected bin of one row, with its log-sum-exp. In double: symexp multiplies any error by e^|E|, and near 0
 * the bins' +-20 cancel. */
static float expected_bin(const WmTwohot *t, const float *l, float *lse_out) {
    float top = l[0];
    for (int i = 1; i < t->bins; i++) top = l[i] > top ? l[i] : top;
    double sum = 0.0, weighted = 0.0;
    for (int i = 0; i < t->bins; i++) {
        const double e = exp((double)l[i] - top);
        sum += e, weighted += e * i;
    }
    *lse_out = top + (float)log(sum);
    return (float)(t->low + (double)(t->high - t->low) / (t->bins - 1) * (weighted / sum));
}

void twohot_predict(const WmTwohot *t, float *y, const float *logits, int batch) {
    TWOHOT_ROWS_PARALLEL
    for (int r = 0; r < batch; r++) {
        float lse;
        y[r] = symexp(expected_bin(t, logits + (size_t)r * t->bins, &lse));
    }
}

void twohot_predict_backward(const WmTwohot *t, float *dlogits, const float *dy, const float *logits, int batch) {
    TWOHOT_ROWS_PARALLEL
    for (int r = 0; r < batch; r++) {
        const float *l = logits + (size_t)r * t->bins;
        float *d = dlogits + (size_t)r * t->bins, lse;
        const float expected = expected_bin(t, l, &lse);
        const float slope = dy[r] * expf(fabsf(expected)); /* symexp'(e) = exp(|e|) */
#pragma omp simd
        for (int i = 0; i < t->bins; i++) d[i] += slope * expf(l[i] - lse) * (twohot_bin(t, i) - expected);
    }
}
