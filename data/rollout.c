#include "data/rollout.h"

#include <string.h>

/* Rows a remote environment's episode starts with; it doubles as the episode goes on. */
enum { ROLLOUT_FIRST_ROWS = 256 };

WmStatus env_rollout(WmEnv *env, const WmPolicy *policy, WmEpisode *episode, double *return_sum, WmError *err) {
    const int known = env_episode_length(env), A = env_action_dim(env), S = env_state_dim(env);
    if (episode_alloc(episode, known ? known + 1 : ROLLOUT_FIRST_ROWS, WM_ENV_SIZE, WM_ENV_SIZE, A, err) ||
        episode_alloc_states(episode, S, err) || env_reset(env, episode->frames, err))
        return err->status;
    if (S) memcpy(episode->states, env_state_seen(env), (size_t)S * sizeof(float));
    const size_t frame = episode_frame_bytes(episode);
    double total = 0.0;
    int t = 0;
    for (WmEnvStep step = {0, 0, 0}; !step.last; t++) {
        if (t + 2 > episode->length && episode_grow(episode, 2 * episode->length, err)) return err->status;
        float *action = episode->actions + (size_t)(t + 1) * A;
        const float *state = S ? episode->states + (size_t)t * S : NULL;
        if (policy->act(policy->ctx, episode->frames + t * frame, state, action, err) ||
            env_step(env, action, episode->frames + (t + 1) * frame, &step, err)) {
            episode->length = t + 1; /* the rows whole so far, for a caller that keeps an episode cut short */
            return err->status;
        }
        episode->rewards[t + 1] = (float)step.reward;
        if (S) memcpy(episode->states + (size_t)(t + 1) * S, env_state_seen(env), (size_t)S * sizeof(float));
        if (step.terminal) episode->is_terminal[t + 1] = 1, episode->discounts[t + 1] = 0.0f;
        total += step.reward;
        if (policy->stepped) policy->stepped(policy->ctx, t + 1, total);
    }
    episode->length = t + 1; /* an episode that ended early keeps only the frames it reached */
    if (return_sum) *return_sum = total;
    return WM_OK;
}

static WmStatus act_random(void *ctx, const uint8_t *frame, const float *state, float *action, WmError *err) {
    (void)frame, (void)state, (void)err;
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
