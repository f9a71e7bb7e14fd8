/* Planning guided by the actor (as TD-MPC2 does with its decoder-free model): some of the candidate sequences are
 * the actor's own rollouts from the current state, each step a sample of the policy on [h, z] with the prior's
 * mean as the next z, drawn once per decision and kept in every iteration, so CEM and MPPI start their search near
 * what the policy would do and can improve on it. */
#ifndef WM_PLAN_PLAN_ACTOR_H
#define WM_PLAN_PLAN_ACTOR_H

#include "nets/actor.h"
#include "plan/plan_model.h"

typedef struct {
    const WmPlanModel *objective; /* the start state and the model */
    const WmActor *actor;
    WmRng rng;
    WmArena arena;
    int count;
} WmActorProposal;

void actor_proposal_init(WmActorProposal *proposal, const WmPlanModel *objective, const WmActor *actor, int count,
                         uint64_t seed);
void actor_proposal_free(WmActorProposal *proposal);
/* A WmPlanProposal: ctx is a WmActorProposal. */
WmStatus actor_proposal_fill(void *ctx, float *candidates, int count, WmError *err);

#endif
