/* The losses of imagination, on the rollout imagine.c makes: the lambda-returns, the actor's loss (the scaled
 * return, or REINFORCE's surrogate, plus the entropy bonus) and the value's regression onto the returns, each a
 * forward/backward pair. The actor's backward ends where the rollout's begins (imagined.h). */
#include <math.h>
#include <string.h>

#include "core/reduce.h"
#include "ops/act.h"
#include "train/imagined.h"


double imagine_return_scale(const WmImagination *im) {
    return im->normalize_returns ? fmax(1.0, im->return_high - im->return_low) : 1.0;
}

/* The 5th and 95th percentiles of the returns R_1 .. R_{H-1}, (H - 1) x N contiguous floats, sorted in a scratch
 * copy from the arena. */
static WmStatus return_percentiles(WmArena *arena, const float *returns, size_t count, WmImagineLosses *losses,
                                   WmError *err) {
    const size_t mark = arena_mark(arena);
    float *sorted = arena_floats(arena, count);
    if (sorted == NULL) return arena_check(arena, err);
    memcpy(sorted, returns, count * sizeof(float));
    reduce_sort(sorted, count);
    losses->return_low = reduce_quantile_sorted(sorted, count, 0.05);
    losses->return_high = reduce_quantile_sorted(sorted, count, 0.95);
    arena_rewind(arena, mark);
    return WM_OK;
}


/* The columns and the lambda-returns, from the imagined states. */
static WmStatus returns_forward(WmImagination *im, const WmWorldModel *m, WmImagineRollout *r, WmError *err) {
    const int N = im->starts, steps = im->horizon;
    const float gamma = im->gamma, lambda = im->lambda;
    WmArena *arena = &im->arena;
    const Imagined *s = r->s;
    const size_t column = (size_t)(steps + 1) * N;
    r->reward = arena_alloc_zero(arena, column * sizeof(float)), r->bootstrap = arena_floats(arena, column);
    r->ret = arena_floats(arena, column), r->discount = arena_floats(arena, column),
    r->weight = arena_floats(arena, column);
    if (arena_check(arena, err)) return err->status;
    float *reward = r->reward, *bootstrap = r->bootstrap, *ret = r->ret, *discount = r->discount, *weight = r->weight;
    for (int k = 0; k <= steps; k++) {
        memcpy(AT(bootstrap, k), im->slow_target ? s[k].target : s[k].value, (size_t)N * sizeof(float));
        if (s[k].reward) memcpy(AT(reward, k), s[k].reward, (size_t)N * sizeof(float));
        for (int n = 0; k >= 1 && s[k].members && n < N; n++)
            AT(reward, k)[n] -= im->variance_penalty * s[k].members->variance[n];
        for (int n = 0; n < N; n++) {
            const float *logit = k >= 1 && m->has_continue ? s[k].continue_outs[m->continuation.count - 1] : NULL;
            AT(discount, k)[n] = logit ? gamma * act_sigmoid(logit[n]) : gamma;
            AT(weight, k)[n] = k <= 1 ? 1.0f : AT(weight, k - 1)[n] * AT(discount, k - 1)[n];
        }
    }
    memcpy(AT(ret, steps), AT(bootstrap, steps), (size_t)N * sizeof(float));
    for (int k = steps - 1; k >= 1; k--)
        for (int n = 0; n < N; n++)
            AT(ret, k)[n] = AT(reward, k)[n] + AT(discount, k)[n] * ((1.0f - lambda) * AT(bootstrap, k + 1)[n] +
                                                                     lambda * AT(ret, k + 1)[n]);
    r->count = (double)N * (steps - 1), r->scale = imagine_return_scale(im);
    r->advantage = NULL;
    if (!im->reinforce) return WM_OK;
    /* R_{k-1} - v(s_{k-1}): both hold r_{k-1}, which the action at s_{k-1} cannot change, so the difference is
     * centred on what the action does, as DreamerV3's return and value (neither holds the current reward) are. */
    if ((r->advantage = arena_alloc_zero(arena, column * sizeof(float))) == NULL) return arena_check(arena, err);
    for (int k = 1; k < steps; k++)
        for (int n = 0; n < N; n++)
            AT(r->advantage, k)[n] = AT(reward, k - 1)[n] - AT(bootstrap, k - 1)[n] +
                                     AT(discount, k - 1)[n] * ((1.0f - lambda) * AT(bootstrap, k)[n] +
                                                               lambda * AT(ret, k)[n]);
    return WM_OK;
}

/* The actor's loss (the scaled return or REINFORCE's surrogate, plus the entropy bonus) and the value's regression,
 * each weighted by w_k, averaged over the states. */
static WmStatus losses_forward(WmImagination *im, const WmImagineRollout *r, WmImagineLosses *losses, WmError *err) {
    const int N = im->starts, steps = im->horizon, value_last = im->value.net.count - 1;
    const Imagined *s = r->s;
    const int twohot = im->value.out.kind == WM_REGRESSION_TWOHOT, regularized = im->slow_regularizer > 0.0f;
    /* per row: the loss toward the return (twohot), toward the slow value (regularised) */
    float *value_rows = arena_floats(&im->arena, (size_t)N), *slow_rows = arena_floats(&im->arena, (size_t)N);
    if (slow_rows == NULL) return arena_check(&im->arena, err);
    double actor_sum = 0.0, value_sum = 0.0, entropy_sum = 0.0, first_return = 0.0, std_sum = 0.0;
    for (int k = 0; k < steps; k++)
        for (size_t i = 0; i < (size_t)N * im->actor.actions; i++) std_sum += s[k].std[i];
    for (int k = 1; k < steps; k++) {
        const float *v = s[k].value;
        if (twohot) regression_loss_forward(&im->value.out, value_rows, s[k].value_outs[value_last], AT(r->ret, k), N);
        if (regularized)
            regression_loss_forward(&im->value.out, slow_rows, s[k].value_outs[value_last], s[k].target, N);
        for (int n = 0; n < N; n++) {
            const double R = AT(r->ret, k)[n], H = s[k - 1].entropy[n], w = AT(r->weight, k)[n];
            /* REINFORCE's surrogate: log pi(a_{k-1} | s_{k-1}) = -H at the drawn sample, times the advantage. */
            const double objective = (im->reinforce ? -H * AT(r->advantage, k)[n] : R) / r->scale;
            actor_sum += w * (objective + im->entropy_scale * H);
            value_sum += w * (twohot ? (double)value_rows[n] : 0.5 * ((double)v[n] - R) * ((double)v[n] - R));
            if (regularized) value_sum += w * (double)im->slow_regularizer * slow_rows[n];
            entropy_sum += H;
            if (k == 1) first_return += R;
        }
    }
    losses->actor_loss = -actor_sum / r->count;
    losses->value_loss = value_sum / r->count;
    losses->entropy = entropy_sum / r->count;
    losses->std = std_sum / ((double)steps * N * im->actor.actions);
    losses->imagined_return = first_return / N;
    return WM_OK;
}

WmStatus imagine_losses_forward(WmImagination *im, const WmWorldModel *m, const float *h0, const float *z0,
                                const WmImagineReplay *replay, WmImagineLosses *losses, WmError *err) {
    const int N = im->starts, steps = im->horizon;
    WmImagineRollout *r = im->rollout;
    WmArena *arena = &im->arena;
    arena_reset(arena);
    r->s = arena_alloc_zero(arena, sizeof(Imagined) * (size_t)(steps + 1));
    r->replay_return = NULL, r->replay_batch = 0, losses->replay_return = 0.0;
    if (r->s == NULL) return arena_check(arena, err);
    if (imagine_rollout_forward(im, m, h0, z0, r->s, err) || returns_forward(im, m, r, err) ||
        return_percentiles(arena, AT(r->ret, 1), (size_t)N * (steps - 1), losses, err) ||
        losses_forward(im, r, losses, err))
        return err->status;
    const int replayed = replay && im->replay_value > 0.0f && N > replay->batch;
    return replayed ? replay_value_forward(im, r, replay, losses, err) : WM_OK;
}

/* The value: every state's regression onto its detached return, and onto the slow value's prediction. */
static WmStatus value_backward(WmImagination *im, const WmImagineRollout *r, WmError *err) {
    const int N = im->starts, value_last = im->value.net.count - 1;
    WmArena *arena = &im->arena;
    for (int k = 1; k < im->horizon && err->status == WM_OK; k++) {
        const size_t mark = arena_mark(arena);
        float *dv = arena_alloc_zero(arena, (size_t)N * regression_outputs(&im->value.out) * sizeof(float));
        float *drows = arena_floats(arena, (size_t)N);
        if (drows == NULL) return arena_check(arena, err);
        for (int n = 0; n < N; n++) drows[n] = AT(r->weight, k)[n] / (float)r->count;
        regression_loss_backward(&im->value.out, dv, drows, r->s[k].value_outs[value_last], AT(r->ret, k), N);
        for (int n = 0; im->slow_regularizer > 0.0f && n < N; n++) drows[n] *= im->slow_regularizer;
        if (im->slow_regularizer > 0.0f)
            regression_loss_backward(&im->value.out, dv, drows, r->s[k].value_outs[value_last], r->s[k].target, N);
        mlp_backward(&im->value.net, &im->value.params, arena, NULL, dv, r->s[k].features, r->s[k].value_outs, N, err);
        arena_rewind(arena, mark);
    }
    return err->status;
}

/* The actor: the loss's gradient by every return (through the lambda-return's recursion), by every reward,
 * bootstrap value, continue logit, entropy and log-probability, then back through the imagined rollout. */
static WmStatus actor_loss_backward(WmImagination *im, const WmWorldModel *m, const WmImagineRollout *r,
                                    WmError *err) {
    const int N = im->starts, steps = im->horizon;
    const float gamma = im->gamma, lambda = im->lambda, scale = (float)r->scale;
    WmArena *arena = &im->arena;
    const size_t column = (size_t)(steps + 1) * N;
    ImagineGradients g = {
        .reward = arena_alloc_zero(arena, column * sizeof(float)),
        .bootstrap = arena_alloc_zero(arena, column * sizeof(float)),
        .continue_logit = arena_alloc_zero(arena, column * sizeof(float)),
        .entropy = arena_alloc_zero(arena, column * sizeof(float)),
        .log_prob = arena_alloc_zero(arena, column * sizeof(float)),
    };
    float *carry = arena_alloc_zero(arena, (size_t)N * sizeof(float));
    if (arena_check(arena, err)) return err->status;
    for (int k = 1; k < steps; k++)
        for (int n = 0; n < N; n++) {
            const float w = AT(r->weight, k)[n] / (float)r->count;
            AT(g.entropy, k - 1)[n] = -im->entropy_scale * w;
            if (im->reinforce) {
                /* d(-w log pi sg(R - v)) / d log pi; log pi = -H is handled by the score function. */
                AT(g.log_prob, k - 1)[n] = -w * AT(r->advantage, k)[n] / scale;
                continue;
            }
            /* dL/dR_k = -w_k, and R_k feeds R_{k-1} with weight gamma_{k-1} lambda. */
            carry[n] = -w / scale + (k > 1 ? AT(r->discount, k - 1)[n] * lambda * carry[n] : 0.0f);
            const float gk = AT(r->discount, k)[n];
            AT(g.reward, k)[n] += carry[n];
            AT(g.bootstrap, k + 1)[n] += gk * (1.0f - lambda) * carry[n];
            if (k == steps - 1) AT(g.bootstrap, steps)[n] += gk * lambda * carry[n];
            if (m->has_continue) { /* gamma_k = gamma sigmoid(l): dgamma_k / dl = gamma_k (1 - gamma_k / gamma) */
                const float dgamma =
                    carry[n] * ((1.0f - lambda) * AT(r->bootstrap, k + 1)[n] + lambda * AT(r->ret, k + 1)[n]);
                AT(g.continue_logit, k)[n] = dgamma * gk * (1.0f - gk / gamma);
            }
        }
    return im->reinforce ? imagine_rollout_backward_reinforce(im, r->s, g.log_prob, g.entropy, err)
                         : imagine_rollout_backward_dynamics(im, m, r->s, &g, err);
}

WmStatus imagine_losses_backward(WmImagination *im, const WmWorldModel *m, WmError *err) {
    const WmImagineRollout *r = im->rollout;
    if (value_backward(im, r, err) || (r->replay_return && replay_value_backward(im, r, err))) return err->status;
    return actor_loss_backward(im, m, r, err);
}
