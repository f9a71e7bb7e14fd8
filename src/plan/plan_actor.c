#include "plan/plan_actor.h"

#include <string.h>

#include "ops/concat.h"

void actor_proposal_init(WmActorProposal *p, const WmPlanModel *objective, const WmActor *actor, int count,
                         uint64_t seed) {
    memset(p, 0, sizeof *p);
    p->objective = objective, p->actor = actor, p->count = count;
    p->rng = rng_stream(seed, WM_STREAM_PROPOSAL);
    arena_init(&p->arena, "actor proposals");
}

void actor_proposal_free(WmActorProposal *p) {
    arena_free(&p->arena);
    memset(p, 0, sizeof *p);
}

WmStatus actor_proposal_fill(void *ctx, float *candidates, int count, WmError *err) {
    WmActorProposal *p = ctx;
    const WmWorldModel *m = p->objective->model;
    const WmRssm *r = &m->rssm;
    const int D = r->deter, S = r->stoch, A = r->action, horizon = p->objective->horizon;
    WmArena *arena = &p->arena;
    arena_reset(arena);
    float *h = arena_floats(arena, (size_t)count * D), *z = arena_floats(arena, (size_t)count * S);
    float *features = arena_floats(arena, (size_t)count * (D + S)), *eps = arena_floats(arena, (size_t)count * A);
    float *mean = arena_floats(arena, (size_t)4 * count * A);
    WmRssmStep step;
    if (arena_check(arena, err) || rssm_step_alloc(r, arena, &step, count, err)) return err->status;
    float *std = mean + (size_t)count * A, *u = std + (size_t)count * A, *action = u + (size_t)count * A;
    for (int n = 0; n < count; n++) {
        memcpy(h + (size_t)n * D, p->objective->h, (size_t)D * sizeof *h);
        memcpy(z + (size_t)n * S, p->objective->z, (size_t)S * sizeof *z);
    }
    const float *parts[2] = {h, z};
    const int widths[2] = {D, S};
    const size_t mark = arena_mark(arena);
    for (int t = 0; t < horizon; t++) {
        float *outs[WM_MLP_LAYERS_MAX];
        concat_forward(features, parts, widths, 2, count);
        rng_fill_normal(&p->rng, eps, (size_t)count * A, 0.0f, 1.0f);
        if (mlp_forward(&p->actor->net, &p->actor->params, arena, outs, features, count, err)) return err->status;
        action_dist_forward(&p->actor->dist, outs[p->actor->net.count - 1], eps, mean, std, u, action, count, A);
        for (int n = 0; n < count; n++)
            memcpy(candidates + ((size_t)n * horizon + t) * A, action + (size_t)n * A, (size_t)A * sizeof *action);
        if (rssm_step_forward(r, &m->params, &step, h, z, action, err)) return err->status;
        memcpy(h, step.h, (size_t)count * D * sizeof *h);
        latent_mode(&r->latent, z, step.prior_mean, (size_t)count);
        arena_rewind(arena, mark);
    }
    return WM_OK;
}
