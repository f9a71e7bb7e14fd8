/* The run layer: a model loads itself from a checkpoint (parameters only, bit for bit), the checkpoint's
 * metadata is parsed strictly, a resumed trainer gets everything back, and rollouts follow the row convention. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "data/rollout.h"
#include "run/acting.h"
#include "run/checkpoint.h"
#include "train/trainer.h"

enum { ACTIONS = 2 };

static void tiny_config(WmConfig *c) {
    config_defaults(c);
    WmError err = {0};
    static const char *const SETS[] = {"data.height=16", "data.width=16", "model.depth=2", "model.encoder_kernels=[4,4]",
                                       "model.decoder_kernels=[6,6]", "model.deter=8", "model.stoch=4",
                                       "model.hidden=8", "model.reward_units=8", "data.batch=2", "data.length=4",
                                       "run.seed=5"};
    for (size_t i = 0; i < sizeof SETS / sizeof SETS[0]; i++)
        ck_assert_msg(config_set_assignment(c, SETS[i], &err) == WM_OK, "%s", err.message);
}

static char *temp_path(const char *name) {
    static char path[256];
    snprintf(path, sizeof path, "/tmp/wm_test_run_%d_%s", (int)getpid(), name);
    return path;
}

/* A trainer whose parameters and moments are not at their initial values, saved. */
static void saved_trainer(WmTrainer *t, const char *path) {
    WmConfig c;
    tiny_config(&c);
    WmError err = {0};
    ck_assert_msg(trainer_create(t, &c, ACTIONS, 0, &err) == WM_OK, "%s", err.message);
    WmParams *p = &t->model.params;
    for (size_t i = 0; i < p->total; i++)
        p->adam_m[i] = 0.25f * (float)i, p->adam_v[i] = 1.0f / (1.0f + (float)i), p->value[i] += 1e-3f * (float)(i % 7);
    t->step = 17, t->adam.step = 17;
    t->sample_rng.counter = 3, t->latent_rng.counter = 9;
    ck_assert_msg(checkpoint_save(t, path, NULL, 0, &err) == WM_OK, "%s", err.message);
}

START_TEST(model_loads_itself_without_optimiser_state) {
    WmTrainer t;
    const char *path = temp_path("model.safetensors");
    saved_trainer(&t, path);
    WmWorldModel m;
    WmCheckpointInfo info;
    WmError err = {0};
    ck_assert_msg(checkpoint_load_model(&m, path, &info, &err) == WM_OK, "%s", err.message);
    ck_assert_int_eq(info.step, 17);
    ck_assert_int_eq(info.action_dim, ACTIONS);
    ck_assert_int_eq(m.action_dim, ACTIONS);
    ck_assert_int_eq(m.config.net.deter, 8);
    ck_assert_int_eq(m.params.count, t.model.params.count);
    ck_assert_ptr_null(m.params.grad); /* acting holds values only */
    ck_assert_ptr_null(m.params.adam_m);
    ck_assert_ptr_null(m.params.adam_v);
    for (int i = 0; i < m.params.count; i++)
        ck_assert_int_eq(memcmp(params_value(&m.params, i), params_value(&t.model.params, i),
                                m.params.infos[i].count * sizeof(float)), 0);
    world_model_free(&m);
    trainer_free(&t);
    remove(path);
}
END_TEST

/* Two steps of a trainer over one random episode, with the actor on or off: the world model ends the same, bit for
 * bit (the actor and value learn from its states but never send it a gradient, and draw from their own stream). */
static void steps(WmTrainer *t, int count) {
    WmError err = {0};
    for (int step = 0; step < count; step++) {
        WmLosses l;
        ck_assert_msg(trainer_step(t, &l, &err) == WM_OK, "%s", err.message);
    }
}

/* actor: 0 off, 1 on, 2 on with actor.return_normalization; `actions` a step, and `states` numbers beside each
 * frame. */
static void trainer_with_inputs(WmTrainer *t, int actor, int actions, int states) {
    WmConfig c;
    tiny_config(&c);
    c.actor.enabled = actor > 0, c.actor.return_normalization = actor == 2;
    c.actor.layers = 1, c.actor.units = 8, c.actor.value_layers = 1, c.actor.value_units = 8;
    c.actor.horizon = 3;
    WmError err = {0};
    ck_assert_msg(trainer_create(t, &c, actions, states, &err) == WM_OK, "%s", err.message);
    WmEpisode e;
    ck_assert(episode_alloc(&e, 12, 16, 16, actions, &err) == WM_OK && episode_alloc_states(&e, states, &err) == WM_OK);
    for (int i = 0; i < 12 * states; i++) e.states[i] = (float)((i * 11) % 7) * 3.0f - 9.0f;
    for (size_t i = 0; i < episode_frame_bytes(&e) * 12; i++) e.frames[i] = (uint8_t)(i * 131 + (i >> 7));
    for (int i = 0; i < 12 * actions; i++) e.actions[i] = (float)((i * 7) % 5) / 5.0f - 0.4f;
    for (int i = 0; i < 12; i++) e.rewards[i] = (float)(i % 4) * 0.25f;
    ck_assert(replay_add(&t->replay, &e, &err) == WM_OK);
}

static void trainer_with_actions(WmTrainer *t, int actor, int actions) { trainer_with_inputs(t, actor, actions, 0); }

static void trainer_with_episode(WmTrainer *t, int actor) { trainer_with_actions(t, actor, ACTIONS); }

static void two_steps(WmTrainer *t, int actor) {
    trainer_with_episode(t, actor);
    steps(t, 2);
}

static void same_block(const WmParams *p, const WmParams *q, const char *what) {
    ck_assert_msg(memcmp(p->value, q->value, p->total * sizeof(float)) == 0, "%s: values differ", what);
    ck_assert_msg(memcmp(p->adam_m, q->adam_m, p->total * sizeof(float)) == 0, "%s: moments differ", what);
}

/* Two steps, a checkpoint, a third step; against a second trainer resumed from the checkpoint: the same, with
 * returns normalised or not (_i = 1, 2: the running percentiles are in the checkpoint). */
START_TEST(resume_with_the_actor_is_bit_identical) {
    WmTrainer a, b;
    const char *path = temp_path("actor.safetensors");
    WmError err = {0};
    two_steps(&a, _i);
    ck_assert_msg(checkpoint_save(&a, path, NULL, 0, &err) == WM_OK, "%s", err.message);
    steps(&a, 1);
    trainer_with_episode(&b, _i);
    ck_assert_msg(checkpoint_load_trainer(&b, path, &err) == WM_OK, "%s", err.message);
    steps(&b, 1);
    same_block(&a.model.params, &b.model.params, "world model");
    same_block(&a.imagination->actor.params, &b.imagination->actor.params, "actor");
    same_block(&a.imagination->value.params, &b.imagination->value.params, "value");
    ck_assert_int_eq(a.imagination->updates, 3);
    ck_assert_int_eq(b.imagination->updates, 3);
    ck_assert_int_eq(memcmp(&a.imagination->return_high, &b.imagination->return_high, sizeof(double)), 0);
    ck_assert_int_eq(memcmp(&a.imagination->return_low, &b.imagination->return_low, sizeof(double)), 0);
    if (_i == 2) ck_assert_double_ne(a.imagination->return_high, 0.0);
    /* A checkpoint without the actor does not resume a run with one. */
    WmTrainer off, c;
    two_steps(&off, 0);
    ck_assert(checkpoint_save(&off, path, NULL, 0, &err) == WM_OK);
    trainer_with_episode(&c, 1);
    ck_assert(checkpoint_load_trainer(&c, path, &err) != WM_OK);
    ck_assert_msg(strstr(err.message, "actor.") != NULL, "%s", err.message);
    trainer_free(&a), trainer_free(&b), trainer_free(&off), trainer_free(&c);
    remove(path);
}
END_TEST

/* A state vector of 5 beside each frame: the checkpoint says so, a resume is bit-identical, a run without states
 * refuses it, and an agent folds a frame in only with its state. */
START_TEST(states_resume_and_act) {
    enum { STATES = 5 };
    WmTrainer a, b, plain;
    const char *path = temp_path("states.safetensors");
    WmError err = {0};
    trainer_with_inputs(&a, 1, ACTIONS, STATES);
    steps(&a, 2);
    ck_assert_msg(checkpoint_save(&a, path, NULL, 0, &err) == WM_OK, "%s", err.message);
    steps(&a, 1);
    trainer_with_inputs(&b, 1, ACTIONS, STATES);
    ck_assert_msg(checkpoint_load_trainer(&b, path, &err) == WM_OK, "%s", err.message);
    steps(&b, 1);
    same_block(&a.model.params, &b.model.params, "world model with states");
    same_block(&a.imagination->actor.params, &b.imagination->actor.params, "actor");
    trainer_with_inputs(&plain, 1, ACTIONS, 0);
    ck_assert(checkpoint_load_trainer(&plain, path, &err) != WM_OK);
    ck_assert_msg(strstr(err.message, "5 state numbers; this run has 2 and 0") != NULL, "%s", err.message);
    err = (WmError){0};
    WmWorldModel loaded;
    WmCheckpointInfo info;
    ck_assert_msg(checkpoint_load_model(&loaded, path, &info, &err) == WM_OK, "%s", err.message);
    ck_assert_int_eq(info.state_dim, STATES);
    ck_assert_int_eq((int)loaded.config.state_dim, STATES);
    world_model_free(&loaded);
    WmConfig c = a.config;
    c.plan.planner = WM_PLAN_ACTOR;
    const WmPlanSettings settings = plan_settings_from_config(&c, ACTIONS);
    WmAgent agent;
    ck_assert_msg(agent_init(&agent, &a.model, &settings, &a.imagination->actor, NULL, 3, &err) == WM_OK, "%s",
                  err.message);
    agent_reset(&agent);
    uint8_t frame[16 * 16 * 3] = {0};
    const float state[STATES] = {1, -2, 30, 0.5f, -400};
    float action[ACTIONS];
    ck_assert(agent_observe(&agent, frame, NULL, &err) != WM_OK);
    ck_assert_msg(strstr(err.message, "5 state numbers") != NULL, "%s", err.message);
    err = (WmError){0};
    ck_assert_msg(agent_observe(&agent, frame, state, &err) == WM_OK && agent_act(&agent, action, &err) == WM_OK, "%s",
                  err.message);
    for (int i = 0; i < ACTIONS; i++) ck_assert(action[i] >= -1.0f && action[i] <= 1.0f);
    agent_free(&agent);
    trainer_free(&a), trainer_free(&b), trainer_free(&plain);
    remove(path);
}
END_TEST

/* 100 actions, more than any fixed buffer once held: training with the actor, then acting with its sample plus
 * exploration noise, and with CEM (under ASan, a buffer sized below A is a failure here). */
START_TEST(acting_sizes_its_buffers_from_the_model) {
    enum { MANY = 100 };
    WmTrainer t;
    trainer_with_actions(&t, 1, MANY);
    steps(&t, 2);
    WmError err = {0};
    uint8_t frame[16 * 16 * 3];
    for (size_t i = 0; i < sizeof frame; i++) frame[i] = (uint8_t)(i * 29);
    float action[MANY];
    for (int kind = 0; kind < 2; kind++) {
        WmConfig c = t.config;
        c.plan.planner = kind == 0 ? WM_PLAN_ACTOR : WM_PLAN_CEM;
        c.plan.candidates = 16, c.plan.top_k = 4, c.plan.iterations = 2, c.plan.horizon = 3;
        const WmPlanSettings settings = plan_settings_from_config(&c, MANY);
        WmAgent agent;
        ck_assert_msg(agent_init(&agent, &t.model, &settings, &t.imagination->actor, NULL, 3, &err) == WM_OK, "%s",
                      err.message);
        agent_reset(&agent);
        agent_set_sampling(&agent, 1);
        WmRng explore = rng_stream(3, WM_STREAM_EXPLORE);
        WmAgentPolicy state = {&agent, &explore, 0.3f, NULL, NULL};
        const WmPolicy policy = agent_policy(&state);
        for (int decision = 0; decision < 3; decision++) {
            ck_assert_msg(policy.act(policy.ctx, frame, NULL, action, &err) == WM_OK, "%s", err.message);
            for (int a = 0; a < MANY; a++) ck_assert(action[a] >= -1.0f && action[a] <= 1.0f);
            ck_assert_int_eq(memcmp(agent.last_action, action, sizeof action), 0);
        }
        agent_free(&agent);
    }
    trainer_free(&t);
}
END_TEST

/* plan.actor_mode: the mode acts the same whatever the agent's seed; "sample" draws from the policy even when not
 * exploring (agent_set_sampling 0, as evaluation sets it), so two seeds act differently. */
START_TEST(actor_mode_sample_draws_when_not_exploring) {
    WmTrainer t;
    trainer_with_actions(&t, 1, 3);
    steps(&t, 2);
    WmError err = {0};
    uint8_t frame[16 * 16 * 3];
    for (size_t i = 0; i < sizeof frame; i++) frame[i] = (uint8_t)(i * 31);
    for (int sample = 0; sample < 2; sample++) {
        WmConfig c = t.config;
        c.plan.planner = WM_PLAN_ACTOR, c.plan.actor_mode = sample ? WM_ACTOR_MODE_SAMPLE : WM_ACTOR_MODE_MEAN;
        const WmPlanSettings settings = plan_settings_from_config(&c, 3);
        float actions[2][3];
        for (int seed = 0; seed < 2; seed++) {
            WmAgent agent;
            ck_assert_msg(agent_init(&agent, &t.model, &settings, &t.imagination->actor, NULL, 5 + (uint64_t)seed,
                                     &err) == WM_OK, "%s", err.message);
            agent_reset(&agent);
            agent_set_sampling(&agent, 0);
            ck_assert_msg(agent_observe(&agent, frame, NULL, &err) == WM_OK &&
                          agent_act(&agent, actions[seed], &err) == WM_OK, "%s", err.message);
            agent_free(&agent);
        }
        const int same = memcmp(actions[0], actions[1], sizeof actions[0]) == 0;
        ck_assert_msg(same == !sample, "plan.actor_mode %s: two seeds acted %s", sample ? "sample" : "mean",
                      same ? "alike" : "differently");
    }
    trainer_free(&t);
}
END_TEST

START_TEST(the_actor_leaves_the_world_model_as_it_was) {
    WmTrainer off, on;
    two_steps(&off, 0);
    two_steps(&on, 1);
    ck_assert_ptr_nonnull(on.imagination);
    ck_assert_int_eq(on.imagination->updates, 2);
    const WmParams *p = &off.model.params, *q = &on.model.params;
    ck_assert_int_eq(memcmp(p->value, q->value, p->total * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(p->grad, q->grad, p->total * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(p->adam_m, q->adam_m, p->total * sizeof(float)), 0);
    ck_assert(off.grad_norm == on.grad_norm);
    trainer_free(&off);
    trainer_free(&on);
}
END_TEST

START_TEST(trainer_resumes_everything_it_saved) {
    WmTrainer t, u;
    const char *path = temp_path("trainer.safetensors");
    saved_trainer(&t, path);
    WmError err = {0};
    ck_assert(trainer_create(&u, &t.config, ACTIONS, 0, &err) == WM_OK);
    ck_assert_msg(checkpoint_load_trainer(&u, path, &err) == WM_OK, "%s", err.message);
    const WmParams *p = &t.model.params, *q = &u.model.params;
    for (int i = 0; i < p->count; i++) {
        const size_t at = p->infos[i].offset, bytes = p->infos[i].count * sizeof(float);
        ck_assert_int_eq(memcmp(q->value + at, p->value + at, bytes), 0);
        ck_assert_int_eq(memcmp(q->adam_m + at, p->adam_m + at, bytes), 0);
        ck_assert_int_eq(memcmp(q->adam_v + at, p->adam_v + at, bytes), 0);
    }
    ck_assert_int_eq(u.step, 17);
    ck_assert_int_eq(u.adam.step, 17);
    ck_assert(u.sample_rng.counter == 3 && u.latent_rng.counter == 9);
    trainer_free(&u);
    /* A checkpoint for another action size is refused, naming both. */
    ck_assert(trainer_create(&u, &t.config, ACTIONS + 1, 0, &err) == WM_OK);
    ck_assert(checkpoint_load_trainer(&u, path, &err) != WM_OK);
    ck_assert_msg(strstr(err.message, "a model of 2 actions and 0 state numbers; this run has 3 and 0") != NULL, "%s", err.message);
    trainer_free(&u);
    trainer_free(&t);
    remove(path);
}
END_TEST

/* A file with a checkpoint's metadata, one entry replaced; returns the error of reading its info (NULL: none). */
static const char *info_error_with(const char *key, const char *value) {
    WmConfig c;
    tiny_config(&c);
    char *config = config_to_yaml_string(&c);
    WmMetaEntry meta[] = {{WM_META_FORMAT, WM_CHECKPOINT_FORMAT}, {WM_META_CONFIG, config}, {WM_META_STEP, "17"},
                          {WM_META_ACTION_DIM, "2"}};
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++)
        if (strcmp(meta[i].key, key) == 0) meta[i].value = value;
    const char *path = temp_path("meta.safetensors");
    static WmError err;
    memset(&err, 0, sizeof err);
    const float one = 1.0f;
    const WmTensorRef tensor = {"x", "F32", 1, {1}, &one, sizeof one};
    ck_assert_msg(safetensors_write(path, &tensor, 1, meta, 4, &err) == WM_OK, "%s", err.message);
    free(config);
    WmSafetensors f;
    ck_assert(safetensors_open(&f, path, &err) == WM_OK);
    WmCheckpointInfo info;
    checkpoint_read_info(&f, &info, &err);
    safetensors_close(&f);
    remove(path);
    return err.status ? err.message : NULL;
}

START_TEST(metadata_is_parsed_strictly) {
    const struct {
        const char *key, *value, *expected;
    } cases[] = {
        {WM_META_STEP, "12x", "metadata 'step' is missing or not a whole number"},
        {WM_META_STEP, " 12", "metadata 'step' is missing or not a whole number"},
        {WM_META_STEP, "-1", "metadata 'step' = -1 is outside"},
        {WM_META_ACTION_DIM, "0", "metadata 'action_dim' = 0 is outside"},
        {WM_META_ACTION_DIM, "2.5", "metadata 'action_dim' is missing or not a whole number"},
        {WM_META_FORMAT, "wm-checkpoint-0", "not a wm checkpoint"},
        {WM_META_CONFIG, "model:\n  deter: many\n", "metadata 'config':2: model.deter: 'many' is not a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *message = info_error_with(cases[i].key, cases[i].value);
        ck_assert_msg(message != NULL, "%s = '%s' was accepted", cases[i].key, cases[i].value);
        ck_assert_msg(strstr(message, cases[i].expected) != NULL, "%s = '%s': %s", cases[i].key, cases[i].value,
                      message);
    }
    ck_assert_ptr_null(info_error_with(WM_META_STEP, "17"));
}
END_TEST

/* A policy that records the frames it was shown and answers with a ramp. */
typedef struct {
    int calls, steps_seen;
    double last_return;
} Recorder;

static WmStatus ramp(void *ctx, const uint8_t *frame, const float *state, float *action, WmError *err) {
    (void)frame, (void)state, (void)err;
    Recorder *r = ctx;
    action[0] = (float)(r->calls++ % 5) * 0.25f - 0.5f;
    return WM_OK;
}

static void record_step(void *ctx, int steps, double return_so_far) {
    Recorder *r = ctx;
    r->steps_seen = steps, r->last_return = return_so_far;
}

START_TEST(rollout_follows_the_row_convention) {
    WmEnv env, twin;
    WmError err = {0};
    ck_assert(env_create(&env, "cartpole-swingup", 3, 0, &err) == WM_OK);
    ck_assert(env_create(&twin, "cartpole-swingup", 3, 0, &err) == WM_OK);
    Recorder recorder = {0};
    const WmPolicy policy = {ramp, record_step, &recorder};
    WmEpisode e;
    double total = -1.0;
    ck_assert_msg(env_rollout(&env, &policy, &e, &total, &err) == WM_OK, "%s", err.message);
    const int length = env_episode_length(&twin);
    ck_assert_int_eq(e.length, length + 1);
    ck_assert_int_eq(recorder.calls, length);
    ck_assert_int_eq(recorder.steps_seen, length);
    ck_assert(recorder.last_return == total);
    ck_assert(e.actions[0] == 0.0f && e.rewards[0] == 0.0f);
    /* Row t holds the action that led to frame t and the reward received on arriving at it: replayed by hand. */
    uint8_t *frame = malloc(episode_frame_bytes(&e));
    ck_assert(env_reset(&twin, frame, &err) == WM_OK);
    ck_assert_int_eq(memcmp(frame, e.frames, episode_frame_bytes(&e)), 0);
    double sum = 0.0;
    for (int t = 1; t < e.length; t++) {
        WmEnvStep step;
        ck_assert(e.actions[t] == (float)((t - 1) % 5) * 0.25f - 0.5f);
        ck_assert(env_step(&twin, &e.actions[t], frame, &step, &err) == WM_OK);
        const double reward = step.reward;
        ck_assert(e.rewards[t] == (float)reward);
        ck_assert_int_eq(memcmp(frame, e.frames + (size_t)t * episode_frame_bytes(&e), episode_frame_bytes(&e)), 0);
        sum += reward;
    }
    ck_assert(sum == total);
    free(frame);
    episode_free(&e);
    /* The random policy draws from its stream; the zero policy does nothing. */
    WmRng a = rng_stream(1, WM_STREAM_POLICY);
    WmRandomPolicy random = {&a, 1}, zero = {NULL, 1};
    const WmPolicy random_policy = policy_random(&random), zero_policy = policy_random(&zero);
    ck_assert(env_rollout(&env, &zero_policy, &e, NULL, &err) == WM_OK);
    for (int t = 0; t < e.length; t++) ck_assert(e.actions[t] == 0.0f);
    episode_free(&e);
    ck_assert(env_rollout(&env, &random_policy, &e, NULL, &err) == WM_OK);
    WmRng b = rng_stream(1, WM_STREAM_POLICY);
    for (int t = 1; t < e.length; t++) {
        float u;
        rng_fill_uniform(&b, &u, 1);
        ck_assert(e.actions[t] == 2.0f * u - 1.0f);
    }
    episode_free(&e);
    env_free(&env);
    env_free(&twin);
}
END_TEST

int main(void) {
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, model_loads_itself_without_optimiser_state);
    tcase_add_test(tc, trainer_resumes_everything_it_saved);
    tcase_add_test(tc, the_actor_leaves_the_world_model_as_it_was);
    tcase_add_test(tc, acting_sizes_its_buffers_from_the_model);
    tcase_add_test(tc, actor_mode_sample_draws_when_not_exploring);
    tcase_add_test(tc, states_resume_and_act);
    tcase_add_loop_test(tc, resume_with_the_actor_is_bit_identical, 1, 3);
    tcase_add_test(tc, metadata_is_parsed_strictly);
    tcase_add_test(tc, rollout_follows_the_row_convention);
    suite_add_tcase(s, tc);
    return check_run(s);
}
