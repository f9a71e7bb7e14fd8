/* The policy's distribution over continuous actions in [-1, 1], one of two (actor.distribution):
 *   tanh_normal:    Dreamer's Normal squashed by tanh (ops/tanh_normal.h);
 *   bounded_normal: DreamerV3's Normal with a tanh mean and a bounded std, its sample clipped (ops/bounded_normal.h).
 * Both read the actor's raw outputs (B, 2A) = [m | s] and keep mean, std and the unsquashed sample u (B, A) for
 * backward; each call here goes to the chosen one. */
#ifndef WM_NETS_ACTION_DIST_H
#define WM_NETS_ACTION_DIST_H

#include "config/config.h"
#include "ops/bounded_normal.h"
#include "ops/tanh_normal.h"

typedef struct {
    WmActionDistChoice kind;
    WmTanhNormal tanh;
    WmBoundedNormal bounded;
} WmActionDist;

WmActionDist action_dist_from_config(const WmActorSection *config);

/* eps (B, A) may be NULL: u = mean, the action tanh(mean) or the clipped mean. */
void action_dist_forward(const WmActionDist *dist, const float *raw, const float *eps, float *mean, float *std,
                         float *u, float *action, int batch, int actions);
/* The mode of the action's own density: tanh_normal_density_mode, or the bounded Normal's mean. */
void action_dist_mode(const WmActionDist *dist, const float *raw, float *action, int batch, int actions);
/* Per row (B): the tanh-Normal's one-sample estimate -log pi(a), or the bounded Normal's closed form. */
void action_dist_entropy(const WmActionDist *dist, const float *std, const float *u, const float *eps, float *entropy,
                         int batch, int actions);
/* The pathwise gradient of sum_b (daction_b . a_b + dentropy_b H_b) into draw (B, 2A) +=. */
void action_dist_backward(const WmActionDist *dist, const float *raw, const float *std, const float *u,
                          const float *eps, const float *daction, const float *dentropy, float *draw, int batch,
                          int actions);
/* log pi of the drawn sample per row, and the score function (the sample held fixed) into draw +=. */
void action_dist_log_prob(const WmActionDist *dist, const float *std, const float *u, const float *eps,
                          float *log_prob, int batch, int actions);
void action_dist_log_prob_backward(const WmActionDist *dist, const float *raw, const float *std, const float *eps,
                                   const float *dlog_prob, float *draw, int batch, int actions);

#endif
