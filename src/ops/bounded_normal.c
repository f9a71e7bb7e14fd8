#include "ops/bounded_normal.h"

#include <math.h>
#include <stddef.h>

#include "ops/act.h"

static const float HALF_LOG_2PI = 0.91893853320467274f;
static const float STD_SHIFT = 2.0f; /* V3's: the std starts at 88% of the way from min_std to max_std */

void bounded_normal_forward(const WmBoundedNormal *d, const float *raw, const float *eps, float *mean, float *std,
                            float *u, float *action, int batch, int actions) {
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < actions; i++) {
            const size_t at = (size_t)b * actions + i;
            const float m = raw[(size_t)b * 2 * actions + i], s = raw[(size_t)b * 2 * actions + actions + i];
            mean[at] = tanhf(m);
            std[at] = (d->max_std - d->min_std) * act_sigmoid(s + STD_SHIFT) + d->min_std;
            u[at] = eps ? mean[at] + std[at] * eps[at] : mean[at];
            action[at] = fminf(fmaxf(u[at], -1.0f), 1.0f);
        }
}

void bounded_normal_entropy(const float *std, float *entropy, int batch, int actions) {
    for (int b = 0; b < batch; b++) {
        double sum = 0.0;
        for (int i = 0; i < actions; i++) sum += logf(std[(size_t)b * actions + i]) + 0.5f + HALF_LOG_2PI;
        entropy[b] = (float)sum;
    }
}

/* draw += the gradients reaching mean and std, through mean = tanh(m) and the std's sigmoid. */
static void raw_backward(const WmBoundedNormal *d, const float *raw, float dmean, float dstd, float *draw, int b,
                         int i, int actions) {
    const size_t m_at = (size_t)b * 2 * actions + i, s_at = m_at + actions;
    const float t = tanhf(raw[m_at]), g = act_sigmoid(raw[s_at] + STD_SHIFT);
    draw[m_at] += dmean * (1.0f - t * t);
    draw[s_at] += dstd * (d->max_std - d->min_std) * g * (1.0f - g);
}

void bounded_normal_backward(const WmBoundedNormal *d, const float *raw, const float *std, const float *u,
                             const float *eps, const float *daction, const float *dentropy, float *draw, int batch,
                             int actions) {
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < actions; i++) {
            const size_t at = (size_t)b * actions + i;
            const float inside = u[at] > -1.0f && u[at] < 1.0f ? 1.0f : 0.0f;
            const float du = daction ? daction[at] * inside : 0.0f, dh = dentropy ? dentropy[b] : 0.0f;
            raw_backward(d, raw, du, du * eps[at] + dh / std[at], draw, b, i, actions);
        }
}

void bounded_normal_log_prob(const float *std, const float *eps, float *log_prob, int batch, int actions) {
    for (int b = 0; b < batch; b++) {
        double sum = 0.0;
        for (int i = 0; i < actions; i++) {
            const size_t at = (size_t)b * actions + i;
            sum -= 0.5f * eps[at] * eps[at] + logf(std[at]) + HALF_LOG_2PI;
        }
        log_prob[b] = (float)sum;
    }
}

void bounded_normal_log_prob_backward(const WmBoundedNormal *d, const float *raw, const float *std,
                                      const float *eps, const float *dlog_prob, float *draw, int batch, int actions) {
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < actions; i++) {
            const size_t at = (size_t)b * actions + i;
            /* With u fixed: d/dmean = eps / std, d/dstd = (eps^2 - 1) / std. */
            raw_backward(d, raw, dlog_prob[b] * eps[at] / std[at], dlog_prob[b] * (eps[at] * eps[at] - 1.0f) / std[at],
                         draw, b, i, actions);
        }
}
