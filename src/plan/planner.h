/* Planning over action sequences: random shooting, the cross-entropy method (CEM) and MPPI, behind one interface.
 * The planner samples `candidates` sequences of `horizon` actions (each in [-1, 1]^A), asks an objective for their returns
 * (one batched call per iteration) and returns the first action of its plan. The objective is anything: the world
 * model's imagined rewards (plan_model.h) or, in tests, a known function.
 *   shooting: one iteration, the best candidate wins.
 *   CEM:      refit mean and std to the top k each iteration (PlaNet: horizon 12, 10 iterations, 1000 candidates, k 100);
 *             the plan is the final mean.
 *   MPPI:     mean <- sum_i w_i a_i / sum_i w_i with w_i = exp((R_i - max R) / lambda) over all candidates (the
 *             soft-optimal update of control as inference), noise of a fixed std; warm-started from the previous
 *             plan shifted by one step.
 * A candidate whose return is NaN never wins and gets no weight. With an ensemble of K models the objective
 * returns K returns per candidate and a candidate's score is their mean minus variance_penalty times their
 * variance: the pessimistic objective, which keeps plans where the models agree. */
#ifndef WM_PLAN_PLANNER_H
#define WM_PLAN_PLANNER_H

#include "config/config.h" /* WmPlanKind: plan.planner's words; the planner refuses WM_PLAN_ACTOR */
#include "core/error.h"
#include "core/rng.h"

/* Writes `count` candidate sequences (count, horizon, A) proposed by something other than the search (an actor's
 * rollouts); they take the first `count` slots of every iteration. */
typedef WmStatus (*WmPlanProposal)(void *ctx, float *candidates, int count, WmError *err);

/* Returns (K, count) of candidates (count, horizon, A), row-major: member k's return of candidate n at
 * k count + n. */
typedef WmStatus (*WmPlanObjective)(void *ctx, const float *candidates, int count, float *returns, WmError *err);

typedef struct {
    WmPlanKind kind;
    int horizon, iterations, candidates, top_k, action_dim;
    float init_std;    /* CEM's starting std; MPPI's noise std */
    float mppi_lambda; /* MPPI's temperature */
    int members;            /* K returns per candidate; 0 is taken as 1 */
    float variance_penalty; /* lambda_var */
    /* How the world model imagines (read by plan_model.h, not by the planner): */
    int random_propagation; /* an ensemble particle draws a random member per step, not member k throughout */
    WmPrecisionChoice precision; /* plan.precision; auto is resolved into bf16 by plan_precision_resolve */
    int bf16;                    /* imagined rollouts in bf16 */
    int actor_candidates;   /* of each iteration's candidates, the actor's rollouts, drawn once per decision */
    int value_bootstrap;    /* r_1 .. r_{H-1} + bootstrap_gamma^(H-1) v(s_H): v holds r_H */
    float bootstrap_gamma;
    int actor_density_mode; /* --planner actor's mode: the density's (plan.actor_mode density) or tanh(mean) */
    int actor_sample;       /* --planner actor draws its actions even when not exploring (plan.actor_mode sample) */
} WmPlanSettings;

typedef struct {
    WmPlanSettings settings;
    float *mean, *std;   /* (horizon, A): the current plan */
    float *candidates;   /* (candidates, horizon, A) */
    float *returns;      /* (N): each candidate's score */
    float *member_returns; /* (K, N): what the objective returns */
    int *order;          /* (N): indices sorted by return, for CEM */
    float *noise;        /* (candidates, horizon, A) */
    int has_plan;        /* a previous plan to warm-start from */
    double last_best;    /* the best return of the last decision */
    WmPlanProposal propose; /* or NULL */
    void *propose_ctx;
    int proposals;          /* candidates it fills, once per decision */
} WmPlanner;

WmStatus planner_init(WmPlanner *planner, const WmPlanSettings *settings, WmError *err);
void planner_free(WmPlanner *planner);
/* From now on, `count` (< candidates) of every iteration's candidates come from `propose`, called once per decision;
 * the search treats them as its own (CEM refits to them when they are in the elite, MPPI weighs them). */
void planner_set_proposal(WmPlanner *planner, WmPlanProposal propose, void *ctx, int count);
/* Forgets the previous plan (a new episode). */
void planner_reset(WmPlanner *planner);
/* Plans and writes the first action (A) of the plan; the rest is kept to warm-start the next call. */
WmStatus planner_act(WmPlanner *planner, WmPlanObjective objective, void *ctx, WmRng *rng, float *action,
                     WmError *err);

#endif
