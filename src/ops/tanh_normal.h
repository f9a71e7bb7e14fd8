/* Dreamer's action distribution: a Normal squashed by tanh into [-1, 1]. From the actor's raw outputs (m, s) per
 * action dimension:
 *   mean = mean_scale tanh(m / mean_scale)        std = softplus(s + shift) + min_std,  shift = log(e^init_std - 1)
 *   u = mean + std eps (eps ~ N(0, 1), drawn by the caller)        a = tanh(u)
 * so that std starts near init_std where s = 0 (Dreamer V1: mean_scale 5, init_std 5, min_std 1e-4; wm's defaults
 * are 2 and 1, so that neither the samples nor the mean sit where tanh's slope is nil: at u = 5 it is 2e-4). To act
 * without sampling, either tanh(mean) (the common shortcut) or the mode of the action's own density (what Dreamer
 * V1 approximates by the likeliest of 100 samples). Its log-density needs the change of variables:
 *   log pi(a) = sum_i [ -eps_i^2 / 2 - log std_i - log(2 pi) / 2 - log(1 - tanh(u_i)^2) ]
 * and the entropy has no closed form; the one-sample estimate -log pi(a) at the drawn a is what Dreamer uses.
 * log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)) stays finite where tanh(u) rounds to 1. */
#ifndef WM_OPS_TANH_NORMAL_H
#define WM_OPS_TANH_NORMAL_H

#include <stddef.h>

typedef struct {
    float mean_scale, init_std, min_std;
} WmTanhNormal;

/* raw (B, 2A) = [m | s] per row; mean, std, u, action (B, A); eps (B, A) may be NULL for the mode (u = mean). */
void tanh_normal_forward(const WmTanhNormal *dist, const float *raw, const float *eps, float *mean, float *std,
                         float *u, float *action, int batch, int actions);
/* The mode of each action dimension's density: a = tanh(u*) where u* maximises
 *   log N(u; mean, std) - log(1 - tanh(u)^2) = -(u - mean)^2 / (2 std^2) + 2 log cosh u + const,
 * found on a grid over mean +- (2 std^2 + 3 std + 1) and refined by golden-section search. A wide Normal puts
 * this mode near +-1 (on the side the mean leans to), where tanh(mean) would stay near 0. */
void tanh_normal_density_mode(const WmTanhNormal *dist, const float *raw, float *action, int batch, int actions);
/* The one-sample entropy estimate -log pi(a) per row (B), from what forward kept. */
void tanh_normal_entropy(const float *std, const float *u, const float *eps, float *entropy, int batch, int actions);
/* draw (B, 2A) += the gradient of sum_b (daction_b . a_b + dentropy_b H_b) through the reparameterised sample
 * (eps held fixed): the pathwise gradient. daction or dentropy may be NULL. */
void tanh_normal_backward(const WmTanhNormal *dist, const float *raw, const float *std, const float *u,
                          const float *eps, const float *daction, const float *dentropy, float *draw, int batch,
                          int actions);
/* log pi(a) of the drawn sample per row (B), and draw += dlogp_b d log pi(a_b) / d raw with a (that is u) held
 * fixed: the score function REINFORCE needs. */
void tanh_normal_log_prob(const float *std, const float *u, const float *eps, float *log_prob, int batch,
                          int actions);
void tanh_normal_log_prob_backward(const WmTanhNormal *dist, const float *raw, const float *std, const float *eps,
                                   const float *dlog_prob, float *draw, int batch, int actions);

#endif
