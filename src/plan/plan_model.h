/* The world model as a planning objective: N candidate action sequences roll forward from one latent state
 * through the prior (its mean, so a plan's value is deterministic), one batched transition per step, and the
 * reward head's predictions are summed over the horizon. With an ensemble of K prior heads every candidate rolls
 * K particles (N K rows, one GRU product per step): particle k follows head k throughout ("each") or a head drawn
 * at random per step ("random"), and the objective returns the K returns. */
#ifndef WM_PLAN_PLAN_MODEL_H
#define WM_PLAN_PLAN_MODEL_H

#include "core/arena.h"
#include "nets/world_model.h"
#include "plan/planner.h"

typedef struct {
    const WmWorldModel *model; /* parameters only: nothing of its training buffers is touched */
    int candidates, horizon;
    WmArena arena;             /* one decision's activations, reset per call */
    const float *h, *z;        /* the start state (D), (S) */
    int members, random_propagation;
    WmRng rng;                 /* the random heads' draws */
} WmPlanModel;

/* The plan section of a config (and model.ensemble) as planner settings. */
WmPlanSettings plan_settings_from_config(const WmConfig *config, int action_dim);

WmStatus plan_model_init(WmPlanModel *objective, const WmWorldModel *model, int candidates, int horizon,
                         int random_propagation, uint64_t seed, WmError *err);
void plan_model_free(WmPlanModel *objective);
/* Sets the state the next decision starts from. */
void plan_model_start(WmPlanModel *objective, const float *h, const float *z);
/* A WmPlanObjective: ctx is a WmPlanModel. */
WmStatus plan_model_returns(void *ctx, const float *candidates, int count, float *returns, WmError *err);
/* Multiply-adds x 2 of one call over `count` candidates. */
double plan_model_flops(const WmPlanModel *objective, int count);

#endif
