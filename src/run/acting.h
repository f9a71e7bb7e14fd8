/* Acting from a run directory: the run's config (config.yaml, with the caller's assignments over it), the model
 * loaded from its checkpoint (parameters only), and an agent with the run's planning settings. wm eval and
 * wm plan open a run this way; the online loop acts through the same policy. */
#ifndef WM_RUN_ACTING_H
#define WM_RUN_ACTING_H

#include "config/config.h"
#include "data/replay.h"
#include "data/rollout.h"
#include "nets/world_model.h"
#include "plan/agent.h"
#include "run/checkpoint.h"

/* The run's config and the model of its checkpoint `checkpoint` ("latest" or NULL, or "step_N"). `action_dim` > 0
 * must match the checkpoint's (it names the caller's environment). */
WmStatus run_open_model(const char *run, const char *checkpoint, const char *const *sets, int set_count,
                        int action_dim, WmConfig *config, WmWorldModel *model, WmCheckpointInfo *info, WmError *err);

/* The run's model built to predict B x L steps (0: the config's data.batch and data.length), with a batch of
 * that shape for train/model_eval.h: what wm-viz draws with. */
typedef struct {
    WmConfig config;
    WmWorldModel model;
    WmReplayBatch batch;
    int made_model;
} WmRunPredictor;

WmStatus run_predictor_open(WmRunPredictor *predictor, const char *run, const char *checkpoint, int action_dim,
                            int state_dim, int batch, int length, WmError *err);
void run_predictor_close(WmRunPredictor *predictor);

typedef struct {
    WmConfig config; /* the run's, with the assignments */
    WmCheckpointInfo info; /* what the checkpoint says of itself */
    WmWorldModel model;
    WmActor actor; /* loaded when the planner is the actor, or guided by it */
    WmValue value; /* loaded when planning bootstraps with it */
    WmAgent agent;
    int made_model, made_actor, made_value, made_agent;
} WmRunAgent;

/* Opens the run's model and an agent over it; `planner` (may be NULL) overrides plan.planner, `seed` seeds the
 * planner's streams (< 0: the run's run.seed). */
WmStatus run_agent_open(WmRunAgent *acting, const char *run, const char *checkpoint, const char *const *sets,
                        int set_count, const char *planner, int action_dim, int64_t seed, WmError *err);
/* The run's value beside an agent opened without it (wm eval --values); nothing to do when it is loaded. */
WmStatus run_agent_load_value(WmRunAgent *acting, const char *run, const char *checkpoint, WmError *err);
void run_agent_close(WmRunAgent *acting);

/* The agent as a rollout policy: each frame observed with the action executed last, then planned. With
 * noise > 0, Normal(0, noise) from `explore` is added to the plan's action (clipped to [-1, 1]) and the filter is
 * told what was executed. */
typedef struct {
    WmAgent *agent;
    WmRng *explore;
    float noise;
    void (*stepped)(void *ctx, int steps, double return_so_far); /* passed through (may be NULL) */
    void *stepped_ctx;
} WmAgentPolicy;

WmPolicy agent_policy(WmAgentPolicy *state);

#endif
