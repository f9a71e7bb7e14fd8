/* DreamerV3's action distribution for continuous actions: a Normal whose mean is squashed into [-1, 1] and whose
 * std is held in [min_std, max_std], not a squashed Normal. From the actor's raw outputs (m, s) per dimension:
 *   mean = tanh(m)        std = (max_std - min_std) sigmoid(s + 2) + min_std
 *   u = mean + std eps (eps ~ N(0, 1), drawn by the caller)        a = clip(u, -1, 1)
 * The environment gets the clipped sample; the log-density and the entropy are the Normal's own, in closed form:
 *   log pi(u) = sum_i [ -eps_i^2 / 2 - log std_i - log(2 pi) / 2 ]      H = sum_i [ log std_i + (1 + log(2 pi)) / 2 ]
 * so the entropy bonus widens the std toward max_std and never pushes the mean to a bound, and the mode is the
 * mean. The std's floor (V3: 0.1) keeps exploring; its ceiling (V3: 1) keeps samples mostly inside the bounds. */
#ifndef WM_OPS_BOUNDED_NORMAL_H
#define WM_OPS_BOUNDED_NORMAL_H

typedef struct {
    float min_std, max_std;
} WmBoundedNormal;

/* raw (B, 2A) = [m | s] per row; mean, std, u, action (B, A); eps (B, A) may be NULL for the mode (u = mean). */
void bounded_normal_forward(const WmBoundedNormal *dist, const float *raw, const float *eps, float *mean, float *std,
                            float *u, float *action, int batch, int actions);
/* The closed-form entropy per row (B). */
void bounded_normal_entropy(const float *std, float *entropy, int batch, int actions);
/* draw (B, 2A) += the gradient of sum_b (daction_b . a_b + dentropy_b H_b) through the reparameterised sample (eps
 * held fixed; the clip passes no gradient where it clips). daction or dentropy may be NULL. */
void bounded_normal_backward(const WmBoundedNormal *dist, const float *raw, const float *std, const float *u,
                             const float *eps, const float *daction, const float *dentropy, float *draw, int batch,
                             int actions);
/* log pi(u) of the drawn sample per row (B), and draw += dlogp_b d log pi(u_b) / d raw with u held fixed: the score
 * function REINFORCE needs. */
void bounded_normal_log_prob(const float *std, const float *eps, float *log_prob, int batch, int actions);
void bounded_normal_log_prob_backward(const WmBoundedNormal *dist, const float *raw, const float *std,
                                      const float *eps, const float *dlog_prob, float *draw, int batch, int actions);

#endif
