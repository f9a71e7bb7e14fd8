#include "plan/agent.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

WmStatus agent_init(WmAgent *a, const WmWorldModel *model, const WmPlanSettings *settings, uint64_t seed,
                    WmError *err) {
    memset(a, 0, sizeof *a);
    a->model = model;
    const WmRssm *r = &model->rssm;
    const size_t image = (size_t)3 * model->config.height * model->config.width;
    if (dnnl_ctx_init(&a->dnnl, err) || conv_stack_build_copy(&a->encoder, &model->encoder, &a->dnnl, 1, err))
        return err->status;
    size_t floats = 2 * image + conv_stack_scratch_floats(&a->encoder) + 4 * (size_t)(r->deter + r->embed) +
                    16 * (size_t)(r->hidden + r->deter + r->stoch + r->action);
    for (int i = 0; i < a->encoder.layers; i++) floats += conv_stack_out_floats(&a->encoder, i);
    if (arena_init(&a->arena, "acting", floats * sizeof(float) + 64 * 64, err) ||
        plan_model_init(&a->objective, model, settings->candidates, settings->horizon, settings->random_propagation,
                        settings->bf16, seed, err) ||
        planner_init(&a->planner, settings, err))
        return err->status;
    a->h = calloc((size_t)r->deter, sizeof *a->h);
    a->z = calloc((size_t)r->stoch, sizeof *a->z);
    a->last_action = calloc((size_t)r->action, sizeof *a->last_action);
    a->image = malloc(image * sizeof *a->image);
    if (!a->h || !a->z || !a->last_action || !a->image) return wm_error_set(err, WM_ERR_NOMEM, "agent: out of memory");
    a->rng = rng_stream(seed, WM_STREAM_PLANNING);
    plan_model_start(&a->objective, a->h, a->z);
    return WM_OK;
}

void agent_free(WmAgent *a) {
    conv_stack_free(&a->encoder);
    if (a->dnnl.engine) dnnl_ctx_free(&a->dnnl);
    arena_free(&a->arena);
    plan_model_free(&a->objective);
    planner_free(&a->planner);
    free(a->h), free(a->z), free(a->last_action), free(a->image);
    memset(a, 0, sizeof *a);
}

void agent_reset(WmAgent *a) {
    memset(a->h, 0, (size_t)a->model->rssm.deter * sizeof *a->h);
    memset(a->z, 0, (size_t)a->model->rssm.stoch * sizeof *a->z);
    memset(a->last_action, 0, (size_t)a->model->rssm.action * sizeof *a->last_action);
    planner_reset(&a->planner);
}

WmStatus agent_observe(WmAgent *a, const uint8_t *frame, WmError *err) {
    arena_reset(&a->arena);
    world_model_preprocess(a->model, a->image, frame, 1, NULL);
    float *outs[WM_STACK_MAX];
    if (conv_stack_forward(&a->encoder, &a->dnnl, &a->model->params, &a->arena, outs, a->image, err)) return err->status;
    return rssm_filter(&a->model->rssm, &a->model->params, &a->arena, a->h, a->z, a->last_action,
                       outs[a->encoder.layers - 1], err);
}

void agent_set_last_action(WmAgent *a, const float *action) {
    memcpy(a->last_action, action, (size_t)a->model->rssm.action * sizeof *action);
}

WmStatus agent_act(WmAgent *a, float *action, WmError *err) {
    const double start = wm_clock_seconds();
    if (plan_model_load(&a->objective, err)) return err->status;
    if (planner_act(&a->planner, plan_model_returns, &a->objective, &a->rng, action, err)) return err->status;
    a->plan_seconds += wm_clock_seconds() - start;
    a->decisions++;
    agent_set_last_action(a, action);
    return WM_OK;
}
