#include "data/rollout.h"

#include <string.h>

WmStatus env_rollout(WmEnv *env, const WmPolicy *policy, WmEpisode *episode, double *return_sum, WmError *err) {
    const int length = env_episode_length(env), A = env_action_dim(env);
    if (episode_alloc(episode, length + 1, WM_ENV_SIZE, WM_ENV_SIZE, A, err)) return err->status;
    const size_t frame = episode_frame_bytes(episode);
    double total = 0.0;
    env_reset(env, episode->frames);
    int t = 0;
    for (int done = 0; t < length && !done; t++) {
        float *action = episode->actions + (size_t)(t + 1) * A;
        if (policy->act(policy->ctx, episode->frames + t * frame, action, err)) return err->status;
        const double reward = env_step(env, action, episode->frames + (t + 1) * frame, &done);
        episode->rewards[t + 1] = (float)reward;
        total += reward;
        if (policy->stepped) policy->stepped(policy->ctx, t + 1, total);
    }
    episode->length = t + 1; /* an episode that ended early keeps only the frames it reached */
    if (return_sum) *return_sum = total;
    return WM_OK;
}

static WmStatus act_random(void *ctx, const uint8_t *frame, float *action, WmError *err) {
    (void)frame, (void)err;
    const WmRandomPolicy *p = ctx;
    if (p->rng == NULL) {
        memset(action, 0, (size_t)p->action_dim * sizeof *action);
        return WM_OK;
    }
    rng_fill_uniform(p->rng, action, (size_t)p->action_dim);
    for (int a = 0; a < p->action_dim; a++) action[a] = 2.0f * action[a] - 1.0f;
    return WM_OK;
}

WmPolicy policy_random(WmRandomPolicy *state) { return (WmPolicy){act_random, NULL, state}; }
