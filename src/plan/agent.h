/* An agent acting with a trained world model: it keeps the filtered latent state (h, z), updates it with each
 * frame and the action it took last (encoder at batch 1, then one RSSM filter step), and chooses the next action
 * with a planner over the model's imagined rewards, or (WM_PLAN_ACTOR) with the amortized actor on [h, z]: its
 * mode, or a sample while exploring. */
#ifndef WM_PLAN_AGENT_H
#define WM_PLAN_AGENT_H

#include <stdint.h>

#include "nets/actor.h"
#include "plan/plan_actor.h"
#include "plan/plan_model.h"
#include "plan/plan_precision.h"
#include "plan/planner.h"

typedef struct {
    const WmWorldModel *model;
    WmDnnl dnnl;
    WmConvStack encoder; /* the model's encoder, built for one frame */
    WmArena arena;       /* one frame's activations */
    WmPlanModel objective;
    WmPlanner planner;
    const WmActor *actor; /* acting with the actor instead of a planner, or NULL */
    WmActorProposal proposal; /* the actor's rollouts among a planner's candidates (settings.actor_candidates) */
    int sample;           /* the actor draws its action rather than taking the mode */
    int density_mode;     /* the mode is the action density's (plan.actor_mode density), not tanh(mean) */
    float *features;      /* (D + S): [h, z] for the actor */
    WmPlanSettings settings;  /* plan.precision auto resolved */
    WmMeasuredPrecision precision; /* how the planning precision was chosen */
    WmRng rng;
    float *h, *z, *last_action, *image; /* (D), (S), (A), (3, H, W) */
    float *noise;                       /* (A): standard normal draws, for the actor's sample or exploration */
    int weights_stale;                  /* the planner's copies (bf16) must be refreshed before the next decision */
    double plan_seconds;                /* time spent in planner_act, summed */
    long decisions;
} WmAgent;

/* `actor` is needed when settings->kind is WM_PLAN_ACTOR or settings->actor_candidates > 0, `value` when
 * settings->value_bootstrap (either may be NULL otherwise); both must outlive the agent. plan.precision auto is
 * measured on the model here (plan/plan_precision.h). */
WmStatus agent_init(WmAgent *agent, const WmWorldModel *model, const WmPlanSettings *settings, const WmActor *actor,
                    const WmValue *value, uint64_t seed, WmError *err);
void agent_free(WmAgent *agent);
/* A new episode: zero state, zero last action, no plan to warm-start from; the model's weights are read afresh at
 * the first decision (they change only between episodes: training runs between them). */
void agent_reset(WmAgent *agent);
/* Folds one RGB frame (H, W, 3, the model's size) into the state, with the last action, and the state vector
 * measured beside it (config.state_dim floats; NULL for a model of frames alone). */
WmStatus agent_observe(WmAgent *agent, const uint8_t *frame, const float *state, WmError *err);
/* Plans from the current state; writes the action (A) and remembers it for the next observe. */
WmStatus agent_act(WmAgent *agent, float *action, WmError *err);
/* The action actually executed (A), when it differs from the one chosen (exploration noise): the next observe
 * folds this one in. */
void agent_set_last_action(WmAgent *agent, const float *action);
/* With the actor: draw actions (exploring) or act as plan.actor_mode says (evaluating: the mode by default). */
void agent_set_sampling(WmAgent *agent, int sample);

#endif
