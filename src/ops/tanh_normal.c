#include "ops/tanh_normal.h"

#include <math.h>

#include "ops/act.h"

static const float HALF_LOG_2PI = 0.91893853320467274f;

static float std_shift(const WmTanhNormal *d) { return logf(expf(d->init_std) - 1.0f); }

/* log(1 - tanh(u)^2), finite for any u. */
static float log_one_minus_tanh_squared(float u) { return 2.0f * (0.69314718055994531f - u - act_softplus(-2.0f * u)); }

void tanh_normal_forward(const WmTanhNormal *d, const float *raw, const float *eps, float *mean, float *std, float *u,
                         float *action, int batch, int actions) {
    const float shift = std_shift(d);
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < actions; i++) {
            const size_t at = (size_t)b * actions + i;
            const float m = raw[(size_t)b * 2 * actions + i], s = raw[(size_t)b * 2 * actions + actions + i];
            mean[at] = d->mean_scale * tanhf(m / d->mean_scale);
            std[at] = act_softplus(s + shift) + d->min_std;
            u[at] = eps ? mean[at] + std[at] * eps[at] : mean[at];
            action[at] = tanhf(u[at]);
        }
}

/* The log-density of a = tanh(u) in terms of u, up to a constant: -(u - m)^2 / (2 s^2) + 2 log cosh u. */
static double mode_objective(double u, double m, double s) {
    const double x = fabs(u);
    return -(u - m) * (u - m) / (2.0 * s * s) + 2.0 * (x + log1p(exp(-2.0 * x)) - 0.69314718055994531);
}

static double density_mode_u(double m, double s) {
    enum { GRID = 129, REFINE = 40 };
    const double reach = 2.0 * s * s + 3.0 * s + 1.0, lo = m - reach, step = 2.0 * reach / (GRID - 1);
    double best = lo, best_f = mode_objective(lo, m, s);
    for (int i = 1; i < GRID; i++) {
        const double u = lo + step * i, f = mode_objective(u, m, s);
        if (f > best_f) best = u, best_f = f;
    }
    double a = best - step, b = best + step; /* the maximum lies within a grid step of the best point */
    const double ratio = 0.6180339887498949;
    double c = b - ratio * (b - a), d = a + ratio * (b - a), fc = mode_objective(c, m, s), fd = mode_objective(d, m, s);
    for (int i = 0; i < REFINE; i++) {
        if (fc > fd) b = d, d = c, fd = fc, c = b - ratio * (b - a), fc = mode_objective(c, m, s);
        else a = c, c = d, fc = fd, d = a + ratio * (b - a), fd = mode_objective(d, m, s);
    }
    return 0.5 * (a + b);
}

void tanh_normal_density_mode(const WmTanhNormal *d, const float *raw, float *action, int batch, int actions) {
    const float shift = std_shift(d);
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < actions; i++) {
            const float m = raw[(size_t)b * 2 * actions + i], s = raw[(size_t)b * 2 * actions + actions + i];
            const double mean = d->mean_scale * tanh(m / d->mean_scale), std = act_softplus(s + shift) + d->min_std;
            action[(size_t)b * actions + i] = (float)tanh(density_mode_u(mean, std));
        }
}

void tanh_normal_entropy(const float *std, const float *u, const float *eps, float *entropy, int batch, int actions) {
    for (int b = 0; b < batch; b++) {
        double sum = 0.0;
        for (int i = 0; i < actions; i++) {
            const size_t at = (size_t)b * actions + i;
            sum += 0.5f * eps[at] * eps[at] + logf(std[at]) + HALF_LOG_2PI + log_one_minus_tanh_squared(u[at]);
        }
        entropy[b] = (float)sum;
    }
}

/* draw += the gradients reaching mean and std, through mean = k tanh(m / k) and std = softplus(s + shift). */
static void raw_backward(const WmTanhNormal *d, const float *raw, float dmean, float dstd, float *draw, int b, int i,
                         int actions) {
    const size_t m_at = (size_t)b * 2 * actions + i, s_at = m_at + actions;
    const float t = tanhf(raw[m_at] / d->mean_scale);
    draw[m_at] += dmean * (1.0f - t * t);
    draw[s_at] += dstd * act_sigmoid(raw[s_at] + std_shift(d));
}

void tanh_normal_backward(const WmTanhNormal *d, const float *raw, const float *std, const float *u, const float *eps,
                          const float *daction, const float *dentropy, float *draw, int batch, int actions) {
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < actions; i++) {
            const size_t at = (size_t)b * actions + i;
            const float a = tanhf(u[at]), dh = dentropy ? dentropy[b] : 0.0f;
            /* dH/du = -2 tanh(u); dH/dstd = 1 / std besides the path through u. */
            const float du = (daction ? daction[at] * (1.0f - a * a) : 0.0f) - 2.0f * a * dh;
            raw_backward(d, raw, du, du * eps[at] + dh / std[at], draw, b, i, actions);
        }
}

void tanh_normal_log_prob(const float *std, const float *u, const float *eps, float *log_prob, int batch,
                          int actions) {
    tanh_normal_entropy(std, u, eps, log_prob, batch, actions);
    for (int b = 0; b < batch; b++) log_prob[b] = -log_prob[b];
}

void tanh_normal_log_prob_backward(const WmTanhNormal *d, const float *raw, const float *std, const float *eps,
                                   const float *dlog_prob, float *draw, int batch, int actions) {
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < actions; i++) {
            const size_t at = (size_t)b * actions + i;
            /* With u fixed: d/dmean = (u - mean) / std^2 = eps / std, d/dstd = (eps^2 - 1) / std. */
            raw_backward(d, raw, dlog_prob[b] * eps[at] / std[at], dlog_prob[b] * (eps[at] * eps[at] - 1.0f) / std[at],
                         draw, b, i, actions);
        }
}
