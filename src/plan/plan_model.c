#include "plan/plan_model.h"

#include <math.h>
#include <string.h>

#include "ops/concat.h"
#include "ops/gru.h"

WmPlanSettings plan_settings_from_config(const WmConfig *c, int action_dim) {
    const WmPlanKind kind = c->plan.planner;
    return (WmPlanSettings){
        .kind = kind, .horizon = (int)c->plan.horizon, .iterations = (int)c->plan.iterations,
        .candidates = (int)c->plan.candidates, .top_k = (int)c->plan.top_k, .action_dim = action_dim,
        .init_std = (float)(kind == WM_PLAN_MPPI ? c->plan.mppi_std : c->plan.init_std),
        .mppi_lambda = (float)c->plan.mppi_lambda, .members = (int)c->model.ensemble,
        .variance_penalty = (float)c->plan.variance_penalty,
        .random_propagation = c->plan.propagation == WM_PROPAGATION_RANDOM,
        .precision = c->plan.precision, .bf16 = c->plan.precision == WM_PRECISION_BF16,
        .actor_candidates = (int)c->plan.actor_candidates, .value_bootstrap = c->plan.value_bootstrap,
        .bootstrap_gamma = (float)c->actor.gamma,
        .actor_density_mode = c->plan.actor_mode == WM_ACTOR_MODE_DENSITY,
        .actor_sample = c->plan.actor_mode == WM_ACTOR_MODE_SAMPLE,
    };
}

WmStatus plan_model_init(WmPlanModel *plan, const WmWorldModel *model, int candidates, int horizon,
                         int random_propagation, int bf16, uint64_t seed, WmError *err) {
    memset(plan, 0, sizeof *plan);
    plan->model = model, plan->candidates = candidates, plan->horizon = horizon;
    plan->members = model->rssm.members, plan->random_propagation = random_propagation;
    plan->rng = rng_stream(seed, WM_STREAM_ENSEMBLE_MEMBERS);
    plan->bf16 = bf16;
    if (bf16 && plan_bf16_init(&plan->fast, model, candidates, err)) return err->status;
    int widest = 1;
    for (int i = 0; i < model->reward.count; i++)
        if (model->reward.layers[i].out > widest) widest = model->reward.layers[i].out;
    plan->reward_widest = widest;
    arena_init(&plan->arena, "planning");
    return WM_OK;
}

void plan_model_set_value(WmPlanModel *plan, const WmValue *value, float gamma) {
    plan->value = value, plan->bootstrap_discount = powf(gamma, (float)(plan->horizon - 1));
    arena_init(&plan->value_arena, "planning's value");
}

void plan_model_free(WmPlanModel *plan) {
    if (plan->bf16) plan_bf16_free(&plan->fast);
    arena_free(&plan->arena);
    arena_free(&plan->value_arena);
    memset(plan, 0, sizeof *plan);
}

WmStatus plan_model_load(WmPlanModel *plan, WmError *err) {
    return plan->bf16 ? plan_bf16_load(&plan->fast, err) : WM_OK;
}

void plan_model_start(WmPlanModel *plan, const float *h, const float *z) { plan->h = h, plan->z = z; }

/* Head `head` (>= 1) on `count` rows starting at row `at`: the prior's mean (and the arrays it needs). */
static WmStatus member_prior(WmPlanModel *plan, WmRssmStep *step, int head, size_t at, int count, WmError *err) {
    const WmRssm *r = &plan->model->rssm;
    float *h = step->h + at * r->deter, *hidden = step->prior_h + at * r->hidden,
          *mean = step->prior_mean + at * r->stoch;
    float *raw = step->prior_raw + at * r->stoch;
    if (plan->bf16) return plan_bf16_member_prior(&plan->fast, head, h, hidden, mean, raw, err);
    return rssm_member_prior(r, &plan->model->params, head, h, hidden, NULL, mean, raw,
                             step->prior_std + at * r->stoch, count, err);
}

/* The reward head on features (rows, D + S), fp32 or bf16, read as numbers: *reward (rows), from the arena. */
static WmStatus plan_reward(WmPlanModel *plan, const float *features, int rows, const float **reward, WmError *err) {
    const WmWorldModel *m = plan->model;
    WmArena *arena = &plan->arena;
    const float *x = features;
    if (plan->bf16) {
        float *out = arena_floats(arena, (size_t)rows * regression_outputs(&m->reward_out)),
              *a = arena_floats(arena, (size_t)rows * plan->reward_widest),
              *b = arena_floats(arena, (size_t)rows * plan->reward_widest);
        if (b == NULL) return arena_check(arena, err);
        if (plan_bf16_reward(&plan->fast, features, a, b, out, err)) return err->status;
        x = out;
    }
    for (int i = 0; !plan->bf16 && i < m->reward.count; i++) {
        float *next = arena_floats(arena, (size_t)rows * m->reward.layers[i].out);
        if (next == NULL) return arena_check(arena, err);
        if (dense_forward(&m->reward.layers[i], &m->params, next, x, rows, err)) return err->status;
        x = next;
    }
    *reward = regression_read(&m->reward_out, arena, x, rows);
    return *reward ? WM_OK : arena_check(arena, err);
}

WmStatus plan_model_returns(void *ctx, const float *candidates, int count, float *returns, WmError *err) {
    WmPlanModel *plan = ctx;
    const WmWorldModel *m = plan->model;
    if (plan->bf16 && count != plan->fast.count)
        return wm_error_set(err, WM_ERR_ARG, "bf16 planning was built for %d candidates, asked for %d",
                            plan->fast.count, count);
    const WmRssm *r = &m->rssm;
    const int K = plan->members, rows = count * K, D = r->deter, S = r->stoch, A = r->action, horizon = plan->horizon;
    WmArena *arena = &plan->arena;
    arena_reset(arena);
    float *h = arena_floats(arena, (size_t)rows * D), *z = arena_floats(arena, (size_t)rows * S);
    float *actions = arena_floats(arena, (size_t)rows * A), *features = arena_floats(arena, (size_t)rows * (D + S));
    WmRssmStep step;
    if (arena_check(arena, err) || rssm_step_alloc(r, arena, &step, rows, err)) return err->status;
    const size_t mark = arena_mark(arena);
    /* Rows are particle-major: particle k of candidate n is row k count + n. */
    for (int row = 0; row < rows; row++) {
        memcpy(h + (size_t)row * D, plan->h, (size_t)D * sizeof *h);
        memcpy(z + (size_t)row * S, plan->z, (size_t)S * sizeof *z);
        returns[row] = 0.0f;
    }
    const float *parts[2] = {step.h, z};
    const int widths[2] = {D, S};
    for (int t = 0; t < horizon; t++) {
        for (int row = 0; row < rows; row++)
            memcpy(actions + (size_t)row * A, candidates + ((size_t)(row % count) * horizon + t) * A,
                   (size_t)A * sizeof *actions);
        /* The transition with head 0 on every row, then each particle's own head on its rows. */
        if (plan->bf16 ? plan_bf16_transition(&plan->fast, &step, h, z, actions, err)
                    : rssm_step_forward(r, &m->params, &step, h, z, actions, err))
            return err->status;
        for (int k = 1; k < K; k++) {
            const int head = plan->random_propagation ? (int)rng_below(&plan->rng, (uint32_t)K) : k;
            if (head != 0 && member_prior(plan, &step, head, (size_t)k * count, count, err)) return err->status;
        }
        if (plan->random_propagation && K > 1) {
            /* Particle 0 draws too; it ran head 0 above, so only another head needs computing. */
            const int head = (int)rng_below(&plan->rng, (uint32_t)K);
            if (head != 0 && member_prior(plan, &step, head, 0, count, err)) return err->status;
        }
        /* The prior's mode is the next z (the transition has read this one); the reward head reads [h, z]. */
        latent_mode(&r->latent, z, step.prior_mean, (size_t)rows);
        concat_forward(features, parts, widths, 2, rows);
        /* With a value to bootstrap from, r_H is left to it: v(s_H) holds the reward at s_H (train/imagined.h). */
        const float *reward = NULL;
        if (!(plan->value && t == horizon - 1)) {
            if (plan_reward(plan, features, rows, &reward, err)) return err->status;
            for (int row = 0; row < rows; row++) returns[row] += reward[row];
        }
        memcpy(h, step.h, (size_t)rows * D * sizeof *h);
        arena_rewind(arena, mark);
    }
    if (plan->value) { /* + gamma^(H-1) v(s_H) */
        WmArena *va = &plan->value_arena;
        arena_reset(va);
        float *outs[WM_MLP_LAYERS_MAX], *final = arena_floats(va, (size_t)rows * (D + S));
        if (final == NULL) return arena_check(va, err);
        const float *ends[2] = {h, z};
        concat_forward(final, ends, widths, 2, rows);
        if (mlp_forward(&plan->value->net, &plan->value->params, va, outs, final, rows, err)) return err->status;
        const float *value = regression_read(&plan->value->out, va, outs[plan->value->net.count - 1], rows);
        if (value == NULL) return arena_check(va, err);
        for (int row = 0; row < rows; row++) returns[row] += plan->bootstrap_discount * value[row];
    }
    return WM_OK;
}

double plan_model_flops(const WmPlanModel *plan, int count) {
    const WmWorldModel *m = plan->model;
    const WmRssm *r = &m->rssm;
    const double rows = (double)count * plan->members;
    double per_step = 2.0 * rows * 3 * r->deter * (r->hidden + r->deter); /* GRU */
    const WmDense *dense[] = {&r->input, &r->prior.hidden, &r->prior.mean, &r->prior.raw};
    for (int i = 0; i < 4; i++) per_step += 2.0 * rows * dense[i]->in * dense[i]->out; /* mean: 0 x 0, categorical */
    for (int i = 0; i < m->reward.count; i++) per_step += 2.0 * rows * m->reward.layers[i].in * m->reward.layers[i].out;
    return per_step * plan->horizon;
}
