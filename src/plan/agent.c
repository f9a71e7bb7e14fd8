#include "plan/agent.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

WmStatus agent_init(WmAgent *a, const WmWorldModel *model, const WmPlanSettings *settings, const WmActor *actor,
                    const WmValue *value, uint64_t seed, WmError *err) {
    memset(a, 0, sizeof *a);
    a->weights_stale = 1;
    a->model = model, a->settings = *settings;
    if (plan_precision_resolve(&a->settings, model, &a->precision, err)) return err->status;
    settings = &a->settings;
    const int acting = settings->kind == WM_PLAN_ACTOR;
    if ((acting || settings->actor_candidates > 0) && actor == NULL)
        return wm_error_set(err, WM_ERR_ARG, "agent: acting with the actor needs a trained actor");
    if (!acting && settings->value_bootstrap && value == NULL)
        return wm_error_set(err, WM_ERR_ARG, "agent: plan.value_bootstrap needs a trained value");
    a->actor = acting ? actor : NULL;
    a->density_mode = settings->actor_density_mode, a->sample = settings->actor_sample;
    const WmRssm *r = &model->rssm;
    const size_t image = (size_t)3 * model->config.height * model->config.width;
    if (dnnl_ctx_init(&a->dnnl, err) || conv_stack_build_copy(&a->encoder, &model->encoder, &a->dnnl, 1, err))
        return err->status;
    arena_init(&a->arena, "acting on a frame");
    if (!a->actor && (plan_model_init(&a->objective, model, settings->candidates, settings->horizon,
                                      settings->random_propagation, settings->bf16, seed, err) ||
                      planner_init(&a->planner, settings, err)))
        return err->status;
    if (!a->actor && settings->value_bootstrap) plan_model_set_value(&a->objective, value, settings->bootstrap_gamma);
    if (!a->actor && settings->actor_candidates > 0) {
        actor_proposal_init(&a->proposal, &a->objective, actor, settings->actor_candidates, seed);
        planner_set_proposal(&a->planner, actor_proposal_fill, &a->proposal, settings->actor_candidates);
    }
    a->h = calloc((size_t)r->deter, sizeof *a->h);
    a->z = calloc((size_t)r->stoch, sizeof *a->z);
    a->last_action = calloc((size_t)r->action, sizeof *a->last_action);
    a->noise = calloc((size_t)r->action, sizeof *a->noise);
    a->image = malloc(image * sizeof *a->image);
    a->features = malloc((size_t)(r->deter + r->stoch) * sizeof *a->features);
    if (!a->h || !a->z || !a->last_action || !a->noise || !a->image || !a->features)
        return wm_error_set(err, WM_ERR_NOMEM, "agent: out of memory");
    a->rng = rng_stream(seed, WM_STREAM_PLANNING);
    plan_model_start(&a->objective, a->h, a->z);
    return WM_OK;
}

void agent_free(WmAgent *a) {
    conv_stack_free(&a->encoder);
    if (a->dnnl.engine) dnnl_ctx_free(&a->dnnl);
    arena_free(&a->arena);
    if (a->objective.model) plan_model_free(&a->objective);
    actor_proposal_free(&a->proposal);
    planner_free(&a->planner);
    free(a->h), free(a->z), free(a->last_action), free(a->noise), free(a->image), free(a->features);
    memset(a, 0, sizeof *a);
}

void agent_reset(WmAgent *a) {
    memset(a->h, 0, (size_t)a->model->rssm.deter * sizeof *a->h);
    memset(a->z, 0, (size_t)a->model->rssm.stoch * sizeof *a->z);
    memset(a->last_action, 0, (size_t)a->model->rssm.action * sizeof *a->last_action);
    if (!a->actor) planner_reset(&a->planner);
    a->weights_stale = 1;
}

void agent_set_sampling(WmAgent *a, int sample) { a->sample = sample || a->settings.actor_sample; }

/* The actor on [h, z]: its mode, or a sample with noise from the agent's stream. */
static WmStatus actor_decide(WmAgent *a, float *action, WmError *err) {
    const WmRssm *r = &a->model->rssm;
    memcpy(a->features, a->h, (size_t)r->deter * sizeof *a->h);
    memcpy(a->features + r->deter, a->z, (size_t)r->stoch * sizeof *a->z);
    if (a->sample) rng_fill_normal(&a->rng, a->noise, (size_t)r->action, 0.0f, 1.0f);
    arena_reset(&a->arena);
    return actor_act(a->actor, &a->arena, a->features, a->sample ? a->noise : NULL, a->density_mode, action, err);
}

WmStatus agent_observe(WmAgent *a, const uint8_t *frame, const float *state, WmError *err) {
    const WmWorldModel *m = a->model;
    if (m->state_embed && state == NULL)
        return wm_error_set(err, WM_ERR_ARG, "agent: the model takes %ld state numbers beside each frame, and none "
                            "came", m->config.state_dim);
    arena_reset(&a->arena);
    world_model_preprocess(m, a->image, frame, 1, NULL);
    float *outs[WM_STACK_MAX];
    const float *embed = NULL;
    if (conv_stack_forward(&a->encoder, &a->dnnl, &m->params, &a->arena, outs, a->image, err) ||
        world_model_observation(m, &a->arena, outs[a->encoder.layers - 1], state, 1, &embed, NULL, NULL, err))
        return err->status;
    return rssm_filter(&m->rssm, &m->params, &a->arena, a->h, a->z, a->last_action, embed, err);
}

void agent_set_last_action(WmAgent *a, const float *action) {
    memcpy(a->last_action, action, (size_t)a->model->rssm.action * sizeof *action);
}

WmStatus agent_act(WmAgent *a, float *action, WmError *err) {
    const double start = wm_clock_seconds();
    if (a->actor) {
        if (actor_decide(a, action, err)) return err->status;
    } else {
        /* bf16 planning's weight copies: converted once per episode, not at every decision (issue 13's suspicion). */
        if (a->weights_stale && plan_model_load(&a->objective, err)) return err->status;
        a->weights_stale = 0;
        if (planner_act(&a->planner, plan_model_returns, &a->objective, &a->rng, action, err)) return err->status;
    }
    a->plan_seconds += wm_clock_seconds() - start;
    a->decisions++;
    agent_set_last_action(a, action);
    return WM_OK;
}
