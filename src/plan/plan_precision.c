#include "plan/plan_precision.h"

#include <stdio.h>
#include <stdlib.h>

#include "plan/plan_model.h"

/* Timing rounds: each round runs the objective once in each precision. */
enum { PLAN_PRECISION_ROUNDS = 3 };

typedef struct {
    const WmWorldModel *model;
    WmPlanModel objective[2]; /* fp32, bf16 */
    int made[2];
    const WmPlanSettings *settings;
    float *candidates, *returns, *h, *z;
} Trial;

static WmStatus run_objective(void *ctx, int bf16, WmError *err) {
    Trial *t = ctx;
    const WmPlanSettings *s = t->settings;
    if (!t->made[bf16]) {
        if (plan_model_init(&t->objective[bf16], t->model, s->candidates, s->horizon, s->random_propagation, bf16, 0,
                            err))
            return err->status;
        t->made[bf16] = 1;
        plan_model_start(&t->objective[bf16], t->h, t->z);
    }
    if (plan_model_load(&t->objective[bf16], err)) return err->status;
    return plan_model_returns(&t->objective[bf16], t->candidates, s->candidates, t->returns, err);
}

static WmStatus measure(const WmPlanSettings *settings, const WmWorldModel *model, int cached,
                        WmMeasuredPrecision *out, WmError *err) {
    const WmRssm *r = &model->rssm;
    Trial t = {.model = model, .settings = settings};
    const size_t actions = (size_t)settings->candidates * settings->horizon * r->action;
    t.candidates = malloc(actions * sizeof(float));
    t.returns = malloc((size_t)settings->candidates * model->rssm.members * sizeof(float));
    t.h = calloc((size_t)r->deter, sizeof(float)), t.z = calloc((size_t)r->stoch, sizeof(float));
    if (!t.candidates || !t.returns || !t.h || !t.z) {
        wm_error_set(err, WM_ERR_NOMEM, "plan.precision auto: out of memory");
    } else {
        for (size_t i = 0; i < actions; i++) t.candidates[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
        char what[256];
        snprintf(what, sizeof what, "plan returns D %d S %d U %d A %d K %d reward %d x %d, %d x %d", r->deter,
                 r->stoch, r->hidden, r->action, r->members, model->reward.count, model->reward.layers[0].out,
                 settings->candidates, settings->horizon);
        if (cached) measured_precision_choose(what, run_objective, &t, PLAN_PRECISION_ROUNDS, out, err);
        else measured_precision_time(run_objective, &t, PLAN_PRECISION_ROUNDS, out, err);
    }
    for (int i = 0; i < 2; i++)
        if (t.made[i]) plan_model_free(&t.objective[i]);
    free(t.candidates), free(t.returns), free(t.h), free(t.z);
    return err->status;
}

WmStatus plan_precision_measure(const WmPlanSettings *settings, const WmWorldModel *model, WmMeasuredPrecision *out,
                                WmError *err) {
    return measure(settings, model, 0, out, err);
}

WmStatus plan_precision_resolve(WmPlanSettings *settings, const WmWorldModel *model, WmMeasuredPrecision *chosen,
                                WmError *err) {
    WmMeasuredPrecision m = {.bf16 = settings->precision == WM_PRECISION_BF16};
    if (settings->precision == WM_PRECISION_AUTO && settings->kind != WM_PLAN_ACTOR &&
        measure(settings, model, 1, &m, err))
        return err->status;
    settings->bf16 = m.bf16;
    if (chosen) *chosen = m;
    return WM_OK;
}
