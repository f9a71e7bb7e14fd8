/* wm train --env NAME: PlaNet's online loop. Seed episodes with random actions, then repeat: steps_per_episode
 * gradient steps, one episode collected with the planner plus Gaussian exploration noise, and every eval_every
 * episodes one without noise, logged as eval_return. Episodes are kept under R/episodes. Every checkpoint also
 * holds the environments' and the exploration's random streams, so a resumed run (replay read back from
 * R/episodes) continues bit for bit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "data/dataset.h"
#include "data/env.h"
#include "data/episode_png.h"
#include "plan/agent.h"
#include "train_online.h"

enum { STREAM_EXPLORE = 7 };

static float clip(float a) { return a < -1.0f ? -1.0f : a > 1.0f ? 1.0f : a; }

/* One episode in the row convention (row 0: zero action, zero reward). With an agent, its action plus noise of
 * std `noise` (clipped); without, uniform random actions. */
static WmStatus collect(WmEnv *env, WmAgent *agent, WmRng *explore, float noise, WmEpisode *out, WmError *err) {
    const int length = env_episode_length(env), A = env_action_dim(env);
    if (episode_alloc(out, length + 1, WM_ENV_SIZE, WM_ENV_SIZE, A, err)) return err->status;
    const size_t frame = (size_t)WM_ENV_SIZE * WM_ENV_SIZE * 3;
    env_reset(env, out->frames);
    if (agent) agent_reset(agent);
    float action[WM_ENV_ACTION_MAX], draw[WM_ENV_ACTION_MAX];
    for (int t = 0, done = 0; t < length && !done; t++) {
        if (agent) {
            if (agent_observe(agent, out->frames + t * frame, err) || agent_act(agent, action, err)) return err->status;
            rng_fill_normal(explore, draw, (size_t)A, 0.0f, 1.0f);
            for (int a = 0; a < A; a++) action[a] = clip(action[a] + noise * draw[a]);
            memcpy(agent->last_action, action, (size_t)A * sizeof *action); /* the filter sees what was executed */
        } else {
            rng_fill_uniform(explore, draw, (size_t)A);
            for (int a = 0; a < A; a++) action[a] = 2.0f * draw[a] - 1.0f;
        }
        out->rewards[t + 1] = (float)env_step(env, action, out->frames + (t + 1) * frame, &done);
        memcpy(out->actions + (size_t)(t + 1) * A, action, (size_t)A * sizeof *action);
    }
    return WM_OK;
}

WmStatus online_init(WmOnline *o, const char *run, const char *env_name, const WmConfig *config, WmError *err) {
    memset(o, 0, sizeof *o);
    snprintf(o->episodes_dir, sizeof o->episodes_dir, "%s/episodes", run);
    const uint64_t seed = (uint64_t)config->run.seed;
    if (env_create(&o->env, env_name, seed, (int)config->data.action_repeat, err) ||
        env_create(&o->eval_env, env_name, seed + 1000003, (int)config->data.action_repeat, err))
        return err->status;
    o->made = 1;
    o->explore = rng_stream(seed, STREAM_EXPLORE);
    return fs_make_dirs(o->episodes_dir, err);
}

void online_free(WmOnline *o) {
    if (o->made) env_free(&o->env), env_free(&o->eval_env);
    memset(o, 0, sizeof *o);
}

/* Saves an episode under R/episodes and moves it into the replay store. */
static WmStatus keep(WmOnline *o, WmTrainer *t, WmEpisode *episode, WmError *err) {
    char path[4400];
    snprintf(path, sizeof path, "%s/episode_%06ld", o->episodes_dir, o->episodes);
    if (episode_write_png_dir(path, episode, err) || replay_add(&t->replay, episode, err)) return err->status;
    o->episodes++;
    return WM_OK;
}

WmStatus online_start(WmOnline *o, WmTrainer *t, WmAgent *agent, const char *latest, WmError *err) {
    if (fs_exists(latest)) {
        /* Resume: the replay from R/episodes (sorted, so in the order collected), the streams from the checkpoint. */
        WmDataset data;
        WmFrameSize size = {WM_ENV_SIZE, WM_ENV_SIZE, 0};
        if (dataset_read(o->episodes_dir, &size, 0, &data, err)) return err->status;
        for (int i = 0; i < data.count && err->status == WM_OK; i++) replay_add(&t->replay, &data.episodes[i], err);
        o->episodes = data.count;
        dataset_free(&data);
        WmSafetensors f;
        if (err->status || safetensors_open(&f, latest, err)) return err->status;
        const char *episodes = safetensors_meta(&f, "online.episodes");
        if (episodes == NULL || atol(episodes) != o->episodes)
            wm_error_set(err, WM_ERR_FORMAT, "%s: it knew %s episodes, %s holds %ld", latest, episodes ? episodes : "no",
                         o->episodes_dir, o->episodes);
        if (err->status == WM_OK) {
            trainer_rng_read(&f, "online.env", &o->env.rng, err);
            trainer_rng_read(&f, "online.eval_env", &o->eval_env.rng, err);
            trainer_rng_read(&f, "online.explore", &o->explore, err);
            trainer_rng_read(&f, "online.agent", &agent->rng, err);
            trainer_rng_read(&f, "online.objective", &agent->objective.rng, err);
        }
        safetensors_close(&f);
        return err->status;
    }
    for (long i = 0; i < t->model.config.online.seed_episodes; i++) {
        WmEpisode episode;
        if (collect(&o->env, NULL, &o->explore, 0.0f, &episode, err) || keep(o, t, &episode, err)) {
            episode_free(&episode);
            return err->status;
        }
    }
    return WM_OK;
}

WmStatus online_collect(WmOnline *o, WmTrainer *t, WmAgent *agent, double *train_return, WmError *err) {
    WmEpisode episode;
    if (collect(&o->env, agent, &o->explore, (float)t->model.config.online.exploration_noise, &episode, err)) {
        episode_free(&episode);
        return err->status;
    }
    *train_return = episode_return(&episode);
    if (keep(o, t, &episode, err)) episode_free(&episode);
    return err->status;
}

WmStatus online_evaluate(WmOnline *o, WmAgent *agent, double *eval_return, WmError *err) {
    WmEpisode episode;
    WmRng unused = rng_stream(0, 0);
    const WmStatus status = collect(&o->eval_env, agent, &unused, 0.0f, &episode, err);
    if (status == WM_OK) *eval_return = episode_return(&episode);
    episode_free(&episode);
    return status;
}

WmStatus online_save(const WmOnline *o, const WmTrainer *t, const WmAgent *agent, const char *path, WmError *err) {
    char env[96], eval_env[96], explore[96], agent_rng[96], objective[96], episodes[32];
    trainer_rng_format(env, sizeof env, &o->env.rng);
    trainer_rng_format(eval_env, sizeof eval_env, &o->eval_env.rng);
    trainer_rng_format(explore, sizeof explore, &o->explore);
    trainer_rng_format(agent_rng, sizeof agent_rng, &agent->rng);
    trainer_rng_format(objective, sizeof objective, &agent->objective.rng);
    snprintf(episodes, sizeof episodes, "%ld", o->episodes);
    const WmMetaEntry extra[] = {{"online.env", env},       {"online.eval_env", eval_env},
                                 {"online.explore", explore}, {"online.agent", agent_rng},
                                 {"online.objective", objective}, {"online.episodes", episodes}};
    return trainer_save_with(t, path, extra, (int)(sizeof extra / sizeof extra[0]), err);
}
