#include "run/acting.h"

#include <stdio.h>
#include <string.h>

#include "core/fs.h"
#include "plan/plan_model.h"
#include "run/run_dir.h"

WmStatus run_open_model(const char *run, const char *checkpoint, const char *const *sets, int set_count,
                        int action_dim, WmConfig *config, WmWorldModel *model, WmCheckpointInfo *info, WmError *err) {
    WmRunPaths paths;
    run_paths(&paths, run);
    char path[WM_RUN_PATH_MAX + 64];
    if (run_read_config(&paths, sets, set_count, config, err) ||
        run_checkpoint_path(&paths, checkpoint, path, sizeof path, err))
        return err->status;
    WmCheckpointInfo own;
    WmCheckpointInfo *read = info ? info : &own;
    if (checkpoint_load_model(model, path, read, err)) return err->status;
    /* The model is the checkpoint's; a config.yaml (or --set) that describes another model is a mistake to name. */
    static const char *const MODEL_KEYS[] = {"model.", "data.height", "data.width", "data.bit_depth", NULL};
    char differences[1024];
    if (config_differences(config, &read->config, MODEL_KEYS, differences, sizeof differences) > 0) {
        world_model_free(model);
        return wm_error_set(err, WM_ERR_FORMAT, "%s: the run's config (with --set) and its checkpoint %s describe "
                            "different models: %s", run, path, differences);
    }
    if (action_dim > 0 && read->action_dim != action_dim) {
        world_model_free(model);
        return wm_error_set(err, WM_ERR_FORMAT, "%s: the run's model takes %d action%s; the environment takes %d",
                            run, read->action_dim, wm_plural(read->action_dim), action_dim);
    }
    return WM_OK;
}

WmStatus run_predictor_open(WmRunPredictor *p, const char *run, const char *checkpoint, int action_dim, int state_dim,
                            int batch, int length, WmError *err) {
    memset(p, 0, sizeof *p);
    if (run_open_model(run, checkpoint, NULL, 0, action_dim, &p->config, &p->model, NULL, err)) return err->status;
    p->made_model = 1;
    const WmModelConfig *c = &p->model.config;
    if (c->state_dim != state_dim)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: the run's model takes %ld state number%s per frame; the episodes "
                            "carry %d", run, c->state_dim, wm_plural(c->state_dim), state_dim);
    const int B = batch > 0 ? batch : (int)p->config.data.batch, L = length > 0 ? length : (int)p->config.data.length;
    if (world_model_build(&p->model, B, L, err)) return err->status;
    return replay_batch_alloc(&p->batch, B, L, (int)c->height, (int)c->width, p->model.action_dim, (int)c->state_dim,
                              err);
}

void run_predictor_close(WmRunPredictor *p) {
    if (p->made_model) world_model_free(&p->model);
    replay_batch_free(&p->batch);
    memset(p, 0, sizeof *p);
}

/* The actor and the value (either may be NULL) of the run's checkpoint. */
static WmStatus load_policy(const char *run, const char *checkpoint, WmActor *actor, WmValue *value, WmError *err) {
    WmRunPaths paths;
    char path[WM_RUN_PATH_MAX + 64];
    run_paths(&paths, run);
    if (run_checkpoint_path(&paths, checkpoint, path, sizeof path, err)) return err->status;
    return checkpoint_load_policy(path, actor, value, err);
}

WmStatus run_agent_open(WmRunAgent *a, const char *run, const char *checkpoint, const char *const *sets,
                        int set_count, const char *planner, int action_dim, int64_t seed, WmError *err) {
    memset(a, 0, sizeof *a);
    if (run_open_model(run, checkpoint, sets, set_count, action_dim, &a->config, &a->model, &a->info, err))
        return err->status;
    a->made_model = 1;
    if (planner && config_set(&a->config, "plan.planner", planner, "--planner", err)) return err->status;
    const WmPlanSettings settings = plan_settings_from_config(&a->config, a->model.action_dim);
    const int wants_actor = settings.kind == WM_PLAN_ACTOR || settings.actor_candidates > 0,
              wants_value = settings.kind != WM_PLAN_ACTOR && settings.value_bootstrap;
    if ((wants_actor || wants_value) &&
        load_policy(run, checkpoint, wants_actor ? &a->actor : NULL, wants_value ? &a->value : NULL, err))
        return err->status;
    a->made_actor = wants_actor, a->made_value = wants_value;
    const uint64_t planning_seed = seed < 0 ? (uint64_t)a->config.run.seed : (uint64_t)seed;
    if (agent_init(&a->agent, &a->model, &settings, a->made_actor ? &a->actor : NULL, a->made_value ? &a->value : NULL,
                   planning_seed, err))
        return err->status;
    a->made_agent = 1;
    agent_reset(&a->agent);
    return WM_OK;
}

WmStatus run_agent_load_value(WmRunAgent *a, const char *run, const char *checkpoint, WmError *err) {
    if (a->made_value) return WM_OK;
    if (load_policy(run, checkpoint, NULL, &a->value, err)) return err->status;
    a->made_value = 1;
    return WM_OK;
}

void run_agent_close(WmRunAgent *a) {
    if (a->made_agent) agent_free(&a->agent);
    if (a->made_actor) actor_free(&a->actor);
    if (a->made_value) value_free(&a->value);
    if (a->made_model) world_model_free(&a->model);
    memset(a, 0, sizeof *a);
}

static float clip(float a) { return a < -1.0f ? -1.0f : a > 1.0f ? 1.0f : a; }

static WmStatus act(void *ctx, const uint8_t *frame, const float *state, float *action, WmError *err) {
    WmAgentPolicy *p = ctx;
    if (agent_observe(p->agent, frame, state, err) || agent_act(p->agent, action, err)) return err->status;
    if (p->noise > 0.0f) {
        const int A = p->agent->model->action_dim;
        float *draw = p->agent->noise; /* the actor's sample, if any, is already in action */
        rng_fill_normal(p->explore, draw, (size_t)A, 0.0f, 1.0f);
        for (int i = 0; i < A; i++) action[i] = clip(action[i] + p->noise * draw[i]);
        agent_set_last_action(p->agent, action); /* the filter sees what was executed */
    }
    return WM_OK;
}

static void stepped(void *ctx, int steps, double return_so_far) {
    const WmAgentPolicy *p = ctx;
    if (p->stepped) p->stepped(p->stepped_ctx, steps, return_so_far);
}

WmPolicy agent_policy(WmAgentPolicy *state) { return (WmPolicy){act, stepped, state}; }
