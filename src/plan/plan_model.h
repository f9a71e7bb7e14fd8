/* The world model as a planning objective: N candidate action sequences roll forward from one latent state
 * through the prior (its mode, so a plan's value is deterministic), one batched transition per step, and the
 * reward head's predictions are summed over the horizon. With an ensemble of K prior heads every candidate rolls
 * K particles (N K rows, one GRU product per step): particle k follows head k throughout ("each") or a head drawn
 * at random per step ("random"), and the objective returns the K returns. In bf16 (plan.precision) the products
 * run on bf16 copies of the weights (plan/plan_bf16.h), refreshed by plan_model_load when the weights change (the
 * agent: at the first decision of each episode). */
#ifndef WM_PLAN_PLAN_MODEL_H
#define WM_PLAN_PLAN_MODEL_H

#include "core/arena.h"
#include "nets/actor.h"
#include "nets/world_model.h"
#include "plan/plan_bf16.h"
#include "plan/planner.h"

typedef struct {
    const WmWorldModel *model; /* parameters only: nothing of its training buffers is touched */
    int candidates, horizon;
    WmArena arena;             /* one decision's activations, reset per call */
    const float *h, *z;        /* the start state (D), (S) */
    int members, random_propagation;
    int reward_widest;         /* the reward head's widest layer */
    WmRng rng;                 /* the random members' draws */
    int bf16;
    WmPlanBf16 fast;           /* the bf16 layers, when bf16 */
    const WmValue *value;      /* bootstraps each return with discount x v(s_H), or NULL */
    float bootstrap_discount;
    WmArena value_arena;
} WmPlanModel;

/* The plan section of a config (and model.ensemble) as planner settings, the imagination's included; plan.precision
 * auto is left for plan_precision_resolve (bf16 0 until then). */
WmPlanSettings plan_settings_from_config(const WmConfig *config, int action_dim);

WmStatus plan_model_init(WmPlanModel *objective, const WmWorldModel *model, int candidates, int horizon,
                         int random_propagation, int bf16, uint64_t seed, WmError *err);
void plan_model_free(WmPlanModel *objective);
/* Brings the bf16 weight copies up to date with the model (nothing to do in fp32); the model may have been trained
 * since the last decision. */
WmStatus plan_model_load(WmPlanModel *objective, WmError *err);
/* From now on each candidate's return is r_1 .. r_{H-1} plus gamma^(H-1) v(s_H), which holds r_H (fp32). */
void plan_model_set_value(WmPlanModel *objective, const WmValue *value, float gamma);
/* Sets the state the next decision starts from. */
void plan_model_start(WmPlanModel *objective, const float *h, const float *z);
/* A WmPlanObjective: ctx is a WmPlanModel. */
WmStatus plan_model_returns(void *ctx, const float *candidates, int count, float *returns, WmError *err);
/* Multiply-adds x 2 of one call over `count` candidates. */
double plan_model_flops(const WmPlanModel *objective, int count);

#endif
