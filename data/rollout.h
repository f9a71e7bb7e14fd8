/* One episode of a built-in environment driven by a policy, recorded in the row convention of data/episode.h:
 * row 0 holds the first frame with a zero action and zero reward, row t the action that led to frame t and the
 * reward received on arriving at it. Every loop that plays episodes (wm collect, the online loop, wm eval) runs
 * through here; what chooses the actions is the policy's business. */
#ifndef WM_DATA_ROLLOUT_H
#define WM_DATA_ROLLOUT_H

#include "data/env.h"
#include "data/episode.h"

typedef struct {
    /* The action (A) for the frame just observed (H, W, 3) and the state vector beside it (NULL without). */
    WmStatus (*act)(void *ctx, const uint8_t *frame, const float *state, float *action, WmError *err);
    /* After each environment step (may be NULL): the step count so far and the return so far. */
    void (*stepped)(void *ctx, int steps, double return_so_far);
    void *ctx;
} WmPolicy;

/* Plays one episode from env_reset to its last step into `episode` (allocated here: env_episode_length + 1 rows,
 * or as many as a remote environment's episode takes; a terminal step gets is_terminal and discount 0). When a
 * step fails, episode->length is the rows whole before it.
 * `return_sum` (may be NULL) receives the sum of the environment's rewards, in double. */
WmStatus env_rollout(WmEnv *env, const WmPolicy *policy, WmEpisode *episode, double *return_sum, WmError *err);

/* Uniform random actions in [-1, 1]^A drawn from `rng`, or zeros (doing nothing) when rng is NULL: wm collect's
 * policies and the online loop's seed episodes. The state is the caller's and must outlive the policy. */
typedef struct {
    WmRng *rng;
    int action_dim;
} WmRandomPolicy;

WmPolicy policy_random(WmRandomPolicy *state);

#endif
