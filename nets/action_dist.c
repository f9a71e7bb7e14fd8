#include "nets/action_dist.h"

#include <math.h>
#include <stddef.h>

WmActionDist action_dist_from_config(const WmActorSection *c) {
    return (WmActionDist){c->distribution,
                          {(float)c->mean_scale, (float)c->init_std, (float)c->min_std},
                          {(float)c->min_std, (float)c->max_std}};
}

static int bounded(const WmActionDist *d) { return d->kind == WM_ACTION_BOUNDED_NORMAL; }

void action_dist_forward(const WmActionDist *d, const float *raw, const float *eps, float *mean, float *std, float *u,
                         float *action, int batch, int actions) {
    if (bounded(d)) bounded_normal_forward(&d->bounded, raw, eps, mean, std, u, action, batch, actions);
    else tanh_normal_forward(&d->tanh, raw, eps, mean, std, u, action, batch, actions);
}

void action_dist_mode(const WmActionDist *d, const float *raw, float *action, int batch, int actions) {
    if (!bounded(d)) {
        tanh_normal_density_mode(&d->tanh, raw, action, batch, actions);
        return;
    }
    for (int b = 0; b < batch; b++) /* the mean, tanh(m), inside the bounds */
        for (int i = 0; i < actions; i++) action[(size_t)b * actions + i] = tanhf(raw[(size_t)b * 2 * actions + i]);
}

void action_dist_entropy(const WmActionDist *d, const float *std, const float *u, const float *eps, float *entropy,
                         int batch, int actions) {
    if (bounded(d)) bounded_normal_entropy(std, entropy, batch, actions);
    else tanh_normal_entropy(std, u, eps, entropy, batch, actions);
}

void action_dist_backward(const WmActionDist *d, const float *raw, const float *std, const float *u, const float *eps,
                          const float *daction, const float *dentropy, float *draw, int batch, int actions) {
    if (bounded(d)) bounded_normal_backward(&d->bounded, raw, std, u, eps, daction, dentropy, draw, batch, actions);
    else tanh_normal_backward(&d->tanh, raw, std, u, eps, daction, dentropy, draw, batch, actions);
}

void action_dist_log_prob(const WmActionDist *d, const float *std, const float *u, const float *eps, float *log_prob,
                          int batch, int actions) {
    if (bounded(d)) bounded_normal_log_prob(std, eps, log_prob, batch, actions);
    else tanh_normal_log_prob(std, u, eps, log_prob, batch, actions);
}

void action_dist_log_prob_backward(const WmActionDist *d, const float *raw, const float *std, const float *eps,
                                   const float *dlog_prob, float *draw, int batch, int actions) {
    if (bounded(d)) bounded_normal_log_prob_backward(&d->bounded, raw, std, eps, dlog_prob, draw, batch, actions);
    else tanh_normal_log_prob_backward(&d->tanh, raw, std, eps, dlog_prob, draw, batch, actions);
}
