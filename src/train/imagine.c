/* Imagination: the rollout of the actor through the learned dynamics from every posterior state of a batch, the
 * actor's gradient back through it (through the dynamics, or REINFORCE's), and the update that trains the actor and
 * the value. Their losses are in imagine_losses.c. */
#include "train/imagine.h"
#include "train/imagined.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/reduce.h"
#include "ops/act.h"
#include "ops/concat.h"

size_t imagine_noise_floats(const WmImagination *im, const WmWorldModel *m) {
    return (size_t)im->horizon * im->starts * (m->action_dim + m->rssm.stoch);
}

WmStatus imagine_create(WmImagination *im, const WmConfig *c, const WmWorldModel *m, int starts, WmError *err) {
    memset(im, 0, sizeof *im);
    const int F = m->rssm.deter + m->rssm.stoch;
    im->starts = starts, im->horizon = (int)c->actor.horizon;
    im->reinforce = c->actor.gradient == WM_GRADIENT_REINFORCE, im->slow_target = c->actor.slow_target;
    im->gamma = (float)c->actor.gamma, im->lambda = (float)c->actor.lambda;
    im->entropy_scale = (float)c->actor.entropy_scale, im->target_every = c->actor.target_every;
    im->normalize_returns = c->actor.return_normalization;
    im->slow_regularizer = (float)c->actor.slow_regularizer, im->slow_mix = (float)c->actor.slow_mix;
    im->has_slow = im->slow_target || im->slow_regularizer > 0.0f;
    im->replay_value = (float)c->actor.replay_value;
    if (actor_create(&im->actor, &c->actor, F, m->action_dim, err) || value_create(&im->value, &c->actor, F, err))
        return err->status;
    const uint64_t seed = (uint64_t)c->run.seed;
    actor_init_params(&im->actor, seed);
    params_init_glorot(&im->value.params, seed);
    regression_init(&im->value.out, &im->value.net, &im->value.params);
    const float lr[2] = {(float)c->actor.learning_rate, (float)c->actor.value_learning_rate};
    im->actor_adam = (WmAdam){lr[0], 0.9f, 0.999f, (float)c->actor.eps, (float)c->actor.clip_norm, 0, 0.0f};
    im->value_adam = (WmAdam){lr[1], 0.9f, 0.999f, (float)c->actor.eps, (float)c->actor.clip_norm, 0, 0.0f};
    im->rng = rng_stream(seed, WM_STREAM_IMAGINE);
    im->random_propagation = c->plan.propagation == WM_PROPAGATION_RANDOM;
    im->variance_penalty = (float)c->actor.variance_penalty;
    im->member_at = calloc((size_t)im->horizon, sizeof *im->member_at);
    im->noise = malloc(imagine_noise_floats(im, m) * sizeof(float));
    im->rollout = calloc(1, sizeof *im->rollout);
    if (!im->noise || !im->member_at || !im->rollout)
        return wm_error_set(err, WM_ERR_NOMEM, "imagination: out of memory for %d starts", starts);
    if (im->has_slow) {
        im->value_target = im->value.params; /* the same tensors; only the values are its own */
        im->value_target.grad = im->value_target.adam_m = im->value_target.adam_v = NULL;
        im->value_target.value = wm_aligned_alloc(im->value.params.total * sizeof(float));
        if (im->value_target.value == NULL) return wm_error_set(err, WM_ERR_NOMEM, "imagination: out of memory");
        memcpy(im->value_target.value, im->value.params.value, im->value.params.total * sizeof(float));
    }
    arena_init(&im->arena, "imagination");
    return WM_OK;
}

void imagine_free(WmImagination *im) {
    actor_free(&im->actor);
    value_free(&im->value);
    free(im->value_target.value);
    free(im->noise), free(im->member_at), free(im->rollout);
    arena_free(&im->arena);
    memset(im, 0, sizeof *im);
}

/* dy (N) back through a head read as numbers, then its MLP: dx (N, in) +=; weight gradients only where `params`
 * has them. */
static WmStatus head_backward(WmArena *arena, const WmMlp *mlp, const WmRegression *r, WmParams *params, float *dx,
                              const float *dy, const float *x, float *const *outs, int N, WmError *err) {
    const size_t mark = arena_mark(arena);
    float *dout = arena_alloc_zero(arena, (size_t)N * regression_outputs(r) * sizeof(float));
    if (dout == NULL) return arena_check(arena, err);
    regression_predict_backward(r, dout, dy, outs[mlp->count - 1], N);
    mlp_backward(mlp, params, arena, dx, dout, x, outs, N, err);
    arena_rewind(arena, mark);
    return err->status;
}

/* Every member's prior mean on h_k, the reward there, and the variance of those rewards across members. */
static WmStatus ensemble_reward_forward(WmImagination *im, const WmWorldModel *m, Imagined *x, WmError *err) {
    const int N = im->starts, D = m->rssm.deter, S = m->rssm.stoch, U = m->rssm.hidden, K = m->rssm.members;
    WmArena *arena = &im->arena;
    MemberRewards *e = arena_alloc_zero(arena, sizeof *e);
    if (e == NULL || (e->variance = arena_alloc_zero(arena, (size_t)N * sizeof(float))) == NULL)
        return arena_check(arena, err);
    const int widths[2] = {D, S};
    for (int j = 0; j < K; j++) {
        e->hidden[j] = arena_floats(arena, (size_t)N * U);
        e->cache[j] = arena_optional_floats(arena, dense_cache_floats(&rssm_member_head(&m->rssm, j)->hidden, N));
        e->mean[j] = arena_floats(arena, (size_t)N * S), e->raw[j] = arena_floats(arena, (size_t)N * S);
        e->std[j] = arena_floats(arena, (size_t)N * S), e->features[j] = arena_floats(arena, (size_t)N * (D + S));
        if (arena_check(arena, err) || rssm_member_prior(&m->rssm, &m->params, j, x->h, e->hidden[j], e->cache[j],
                                                         e->mean[j], e->raw[j], e->std[j], N, err))
            return err->status;
        const float *parts[2] = {x->h, e->mean[j]};
        concat_forward(e->features[j], parts, widths, 2, N);
        if (mlp_forward(&m->reward, &m->params, arena, e->reward_outs[j], e->features[j], N, err)) return err->status;
        e->reward[j] = regression_read(&m->reward_out, arena, e->reward_outs[j][m->reward.count - 1], N);
        if (e->reward[j] == NULL) return arena_check(arena, err);
    }
    for (int n = 0; n < N; n++) {
        double sum = 0.0, sq = 0.0;
        for (int j = 0; j < K; j++) sum += e->reward[j][n], sq += (double)e->reward[j][n] * e->reward[j][n];
        const double mean = sum / K, var = sq / K - mean * mean;
        e->variance[n] = (float)(var > 0 ? var : 0);
    }
    x->members = e;
    return WM_OK;
}

/* dvariance (N, consumed): back through every member's reward and prior mean into dh (N, D) +=. */
static WmStatus ensemble_reward_backward(WmImagination *im, const WmWorldModel *m, WmParams *frozen,
                                         const Imagined *x, const float *dvariance, float *dh, WmError *err) {
    const int N = im->starts, D = m->rssm.deter, S = m->rssm.stoch, K = m->rssm.members;
    const MemberRewards *e = x->members;
    WmArena *arena = &im->arena;
    for (int j = 0; j < K; j++) {
        const size_t mark = arena_mark(arena);
        float *dreward = arena_floats(arena, (size_t)N),
              *dfeatures = arena_alloc_zero(arena, (size_t)N * (D + S) * sizeof(float));
        float *dmean = arena_alloc_zero(arena, (size_t)N * S * sizeof(float)),
              *dstd = arena_alloc_zero(arena, (size_t)N * S * sizeof(float));
        if (arena_check(arena, err)) return err->status;
        for (int n = 0; n < N; n++) { /* dVar / dr_j = 2 (r_j - mean r) / K */
            double sum = 0.0;
            for (int i = 0; i < K; i++) sum += e->reward[i][n];
            dreward[n] = dvariance[n] * 2.0f * (e->reward[j][n] - (float)(sum / K)) / (float)K;
        }
        if (head_backward(arena, &m->reward, &m->reward_out, frozen, dfeatures, dreward, e->features[j],
                          e->reward_outs[j], N, err))
            return err->status;
        float *const parts[2] = {dh, dmean};
        const int widths[2] = {D, S};
        concat_backward(parts, dfeatures, widths, 2, N);
        if (rssm_member_prior_backward(&m->rssm, frozen, arena, j, dh, dmean, dstd, x->h, e->hidden[j], e->cache[j],
                                       e->mean[j], e->raw[j], N, err))
            return err->status;
        arena_rewind(arena, mark);
    }
    return WM_OK;
}

/* Imagines s_0 .. s_H: features, the actor's actions and the transitions, the rewards and values. */
WmStatus imagine_rollout_forward(WmImagination *im, const WmWorldModel *m, const float *h0, const float *z0,
                                Imagined *s, WmError *err) {
    const int N = im->starts, D = m->rssm.deter, S = m->rssm.stoch, A = m->action_dim, steps = im->horizon;
    WmArena *arena = &im->arena;
    const float *action_noise = im->noise, *latent_noise = im->noise + (size_t)steps * N * A;
    const int widths[2] = {D, S};
    for (int k = 0; k <= steps; k++) {
        Imagined *x = &s[k];
        if (k == 0) x->h = h0, x->z = z0;
        x->features = arena_floats(arena, (size_t)N * (D + S));
        if (x->features == NULL) return arena_check(arena, err);
        const float *parts[2] = {x->h, x->z};
        concat_forward(x->features, parts, widths, 2, N);
        const int value_last = im->value.net.count - 1;
        if (mlp_forward(&im->value.net, &im->value.params, arena, x->value_outs, x->features, N, err))
            return err->status;
        if (im->has_slow && mlp_forward(&im->value.net, &im->value_target, arena, x->target_outs, x->features, N, err))
            return err->status;
        /* r_0 only for REINFORCE's advantage (imagined.h) */
        const int has_reward = k >= 1 || im->reinforce;
        if ((has_reward && mlp_forward(&m->reward, &m->params, arena, x->reward_outs, x->features, N, err)) ||
            (k >= 1 && m->has_continue &&
             mlp_forward(&m->continuation, &m->params, arena, x->continue_outs, x->features, N, err)))
            return err->status;
        x->value = regression_read(&im->value.out, arena, x->value_outs[value_last], N);
        x->target = im->has_slow ? regression_read(&im->value.out, arena, x->target_outs[value_last], N) : x->value;
        x->reward = has_reward ? regression_read(&m->reward_out, arena, x->reward_outs[m->reward.count - 1], N) : NULL;
        if (x->value == NULL || x->target == NULL || (has_reward && x->reward == NULL)) return arena_check(arena, err);
        if (k == steps) break;
        /* The actor's action at s_k, then the transition to s_{k+1} with the prior's reparameterised sample. */
        if (mlp_forward(&im->actor.net, &im->actor.params, arena, x->actor_outs, x->features, N, err))
            return err->status;
        x->mean = arena_floats(arena, (size_t)4 * N * A);
        x->entropy = arena_floats(arena, (size_t)N);
        if (x->entropy == NULL) return arena_check(arena, err);
        x->std = x->mean + (size_t)N * A, x->u = x->std + (size_t)N * A, x->action = x->u + (size_t)N * A;
        const float *eps = action_noise + (size_t)k * N * A;
        action_dist_forward(&im->actor.dist, x->actor_outs[im->actor.net.count - 1], eps, x->mean, x->std, x->u,
                            x->action, N, A);
        action_dist_entropy(&im->actor.dist, x->std, x->u, eps, x->entropy, N, A);
        Imagined *next = &s[k + 1];
        float *z = NULL;
        if (rssm_step_alloc(&m->rssm, arena, &next->step, N, err)) return err->status;
        next->step.member = im->member_at[k];
        if (rssm_step_forward(&m->rssm, &m->params, &next->step, x->h, x->z, x->action, err)) return err->status;
        if ((z = arena_floats(arena, (size_t)N * S)) == NULL) return arena_check(arena, err);
        const float *noise = latent_noise + (size_t)k * N * S;
        latent_sample(&m->rssm.latent, z, next->step.prior_mean, next->step.prior_std, noise, (size_t)N);
        next->h = next->step.h, next->z = z;
        if (im->variance_penalty > 0.0f && m->rssm.members > 1 && ensemble_reward_forward(im, m, next, err))
            return err->status;
    }
    return WM_OK;
}


/* REINFORCE: the states are detached, so each state's action gets its score-function and entropy gradients
 * alone. dlog_prob and dentropy are (H + 1, N): the loss's gradient by log pi and by H of the action at s_k. */
WmStatus imagine_rollout_backward_reinforce(WmImagination *im, const Imagined *s, const float *dlog_prob,
                                            const float *dentropy, WmError *err) {
    const int N = im->starts, A = im->actor.actions, last = im->actor.net.count - 1;
    WmArena *arena = &im->arena;
    for (int k = 0; k < im->horizon; k++) {
        const size_t mark = arena_mark(arena);
        float *draw = arena_alloc_zero(arena, (size_t)N * 2 * A * sizeof(float));
        if (draw == NULL) return arena_check(arena, err);
        const float *eps = im->noise + (size_t)k * N * A, *raw = s[k].actor_outs[last];
        action_dist_log_prob_backward(&im->actor.dist, raw, s[k].std, eps, AT(dlog_prob, k), draw, N, A);
        action_dist_backward(&im->actor.dist, raw, s[k].std, s[k].u, eps, NULL, AT(dentropy, k), draw, N, A);
        if (mlp_backward(&im->actor.net, &im->actor.params, arena, NULL, draw, s[k].features, s[k].actor_outs, N, err))
            return err->status;
        arena_rewind(arena, mark);
    }
    return WM_OK;
}

/* Through the learned dynamics (Dreamer V1): from s_H back to s_0, each state's gradient gathers the reward's and the
 * value's (frozen views: no weight gradients), the actor's through its input, and the next transition's; then it goes
 * back through the draw z_k (z = mean + std eps, or straight through) and the transition into the previous state and
 * the action taken there. */
WmStatus imagine_rollout_backward_dynamics(WmImagination *im, const WmWorldModel *m, const Imagined *s,
                                           const ImagineGradients *g, WmError *err) {
    const int N = im->starts, D = m->rssm.deter, S = m->rssm.stoch, A = m->action_dim, F = D + S,
              steps = im->horizon, last = im->actor.net.count - 1;
    WmArena *arena = &im->arena;
    WmParams frozen_model = m->params, frozen_value = im->slow_target ? im->value_target : im->value.params;
    frozen_model.grad = NULL, frozen_value.grad = NULL;
    /* The gradient reaching s_k's h, z and a_k from later steps, and what the transition sends to s_{k-1}. */
    float *dh = arena_alloc_zero(arena, (size_t)N * D * sizeof(float)),
          *dz = arena_alloc_zero(arena, (size_t)N * S * sizeof(float));
    float *daction = arena_alloc_zero(arena, (size_t)N * A * sizeof(float));
    float *dh_prev = arena_floats(arena, (size_t)N * D), *dz_prev = arena_floats(arena, (size_t)N * S);
    float *daction_prev = arena_floats(arena, (size_t)N * A);
    if (arena_check(arena, err)) return err->status;
    const int widths[2] = {D, S};
    double action_squares = 0.0;
    for (int k = steps; k >= 0; k--) {
        const size_t mark = arena_mark(arena);
        const Imagined *x = &s[k];
        float *dfeatures = arena_alloc_zero(arena, (size_t)N * F * sizeof(float));
        float *draw = arena_alloc_zero(arena, (size_t)N * 2 * A * sizeof(float));
        float *dtop = arena_floats(arena, (size_t)N);
        if (arena_check(arena, err)) return err->status;
        if (k >= 1) {
            if (head_backward(arena, &m->reward, &m->reward_out, &frozen_model, dfeatures, AT(g->reward, k),
                              x->features, x->reward_outs, N, err))
                return err->status;
            memcpy(dtop, AT(g->continue_logit, k), (size_t)N * sizeof(float));
            if (m->has_continue && mlp_backward(&m->continuation, &frozen_model, arena, dfeatures, dtop, x->features,
                                                x->continue_outs, N, err))
                return err->status;
            if (head_backward(arena, &im->value.net, &im->value.out, &frozen_value, dfeatures, AT(g->bootstrap, k),
                              x->features, im->slow_target ? x->target_outs : x->value_outs, N, err))
                return err->status;
        }
        if (k < steps) {
            const float *eps = im->noise + (size_t)k * N * A;
            for (size_t i = 0; i < (size_t)N * A; i++) action_squares += (double)daction[i] * daction[i];
            action_dist_backward(&im->actor.dist, x->actor_outs[last], x->std, x->u, eps, daction, AT(g->entropy, k),
                                 draw, N, A);
            if (mlp_backward(&im->actor.net, &im->actor.params, arena, k ? dfeatures : NULL, draw, x->features,
                             x->actor_outs, N, err))
                return err->status;
        }
        if (k == 0) break; /* the start is detached */
        float *const parts[2] = {dh, dz};
        concat_backward(parts, dfeatures, widths, 2, N);
        if (x->members) { /* the penalised reward r - lambda Var_j r_j */
            for (int n = 0; n < N; n++) dtop[n] = -im->variance_penalty * AT(g->reward, k)[n];
            if (ensemble_reward_backward(im, m, &frozen_model, x, dtop, dh, err)) return err->status;
        }
        float *dmean = arena_alloc_zero(arena, (size_t)N * S * sizeof(float));
        float *dstd = arena_alloc_zero(arena, (size_t)N * S * sizeof(float));
        if (dstd == NULL) return arena_check(arena, err);
        const float *noise = im->noise + (size_t)steps * N * A + (size_t)(k - 1) * N * S;
        latent_sample_backward(&m->rssm.latent, dmean, dstd, dz, noise, (size_t)N);
        memset(dh_prev, 0, (size_t)N * D * sizeof(float));
        memset(dz_prev, 0, (size_t)N * S * sizeof(float));
        memset(daction_prev, 0, (size_t)N * A * sizeof(float));
        if (rssm_step_backward(&m->rssm, &frozen_model, arena, &x->step, s[k - 1].h, dh_prev, dz_prev, daction_prev, dh,
                               dmean, dstd, err))
            return err->status;
        memcpy(dh, dh_prev, (size_t)N * D * sizeof(float));
        memcpy(dz, dz_prev, (size_t)N * S * sizeof(float));
        memcpy(daction, daction_prev, (size_t)N * A * sizeof(float));
        arena_rewind(arena, mark);
    }
    /* daction is of the mean over the N (H - 1) states' objectives: times that count, per state. */
    im->action_grad = sqrt(action_squares / ((double)steps * N * A)) * (double)N * (steps - 1);
    return WM_OK;
}

/* The slow value moves slow_mix of the way to the value (1: a copy). */
static void slow_value_refresh(WmImagination *im) {
    float *slow = im->value_target.value;
    const float *value = im->value.params.value, mix = im->slow_mix;
    if (mix >= 1.0f) {
        memcpy(slow, value, im->value.params.total * sizeof(float));
        return;
    }
    for (size_t i = 0; i < im->value.params.total; i++) slow[i] += mix * (value[i] - slow[i]);
}

/* DreamerV3's decay of the running return percentiles. */
#define RETURN_PERCENTILE_DECAY 0.99

WmStatus imagine_update(WmImagination *im, const WmWorldModel *m, const float *h, const float *z,
                        const WmImagineReplay *replay, WmImagineLosses *losses, WmError *err) {
    rng_fill_normal(&im->rng, im->noise, imagine_noise_floats(im, m), 0.0f, 1.0f);
    /* Which member's prior each imagined step runs: with an ensemble, a random one per step ("random"), or one for the
     * whole horizon, drawn per update ("each": every trajectory follows one head throughout). */
    const uint32_t K = (uint32_t)m->rssm.members;
    const int whole = K > 1 && !im->random_propagation ? (int)rng_below(&im->rng, K) : 0;
    for (int k = 0; k < im->horizon; k++)
        im->member_at[k] = K > 1 ? (im->random_propagation ? (int)rng_below(&im->rng, K) : whole) : 0;
    params_zero_grad(&im->actor.params);
    params_zero_grad(&im->value.params);
    static const char UPDATE[] = "imagination update";
    if (imagine_losses_forward(im, m, h, z, replay, losses, err) || imagine_losses_backward(im, m, err) ||
        wm_require_finite(losses->actor_loss, UPDATE, im->updates, "actor_loss", err) ||
        wm_require_finite(losses->value_loss, UPDATE, im->updates, "value_loss", err))
        return err->status;
    if (im->comm && im->comm->size > 1) { /* every rank imagined from its own batch: the mean is the job's (for the
                                            * return percentiles, the mean of the ranks' percentiles) */
        double l[8] = {losses->actor_loss, losses->value_loss, losses->imagined_return, losses->entropy,
                       losses->return_low, losses->return_high, losses->std, losses->replay_return};
        if (comm_average_floats(im->comm, im->actor.params.grad, im->actor.params.total, err) ||
            comm_average_floats(im->comm, im->value.params.grad, im->value.params.total, err) ||
            comm_average_doubles(im->comm, l, 8, err))
            return err->status;
        losses->actor_loss = l[0], losses->value_loss = l[1], losses->imagined_return = l[2], losses->entropy = l[3];
        losses->return_low = l[4], losses->return_high = l[5], losses->std = l[6], losses->replay_return = l[7];
    }
    const double actor_norm = grad_global_norm(im->actor.params.grad, im->actor.params.total);
    const double value_norm = grad_global_norm(im->value.params.grad, im->value.params.total);
    if (wm_require_finite(actor_norm, UPDATE, im->updates, "the actor's gradient norm", err) ||
        wm_require_finite(value_norm, UPDATE, im->updates, "the value's gradient norm", err))
        return err->status;
    losses->actor_grad_norm = adam_step(&im->actor_adam, &im->actor.params);
    losses->action_grad = im->reinforce ? 0.0 : im->action_grad;
    losses->value_grad_norm = adam_step(&im->value_adam, &im->value.params);
    im->updates++;
    if (im->normalize_returns) {
        const double d = RETURN_PERCENTILE_DECAY;
        im->return_low = d * im->return_low + (1.0 - d) * losses->return_low;
        im->return_high = d * im->return_high + (1.0 - d) * losses->return_high;
    }
    if (im->has_slow && im->updates % im->target_every == 0) slow_value_refresh(im);
    return WM_OK;
}

int imagine_starts(const WmConfig *config, int batch, int length) {
    return batch * (config->actor.imagine_last > 0 ? (int)config->actor.imagine_last : length);
}

WmStatus imagine_update_from_trace(WmImagination *im, const WmWorldModel *m, WmImagineLosses *losses,
                                   WmError *err) {
    const size_t first = (size_t)m->batch * m->length - (size_t)im->starts;
    WmImagineReplay replay = {NULL, NULL, m->batch};
    if (im->replay_value > 0.0f)
        replay.rewards = m->input.rewards + first, replay.continues = m->input.continues + first;
    return imagine_update(im, m, m->trace.h + first * m->rssm.deter, m->trace.z + first * m->rssm.stoch,
                          replay.rewards ? &replay : NULL, losses, err);
}
