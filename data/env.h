/* Built-in pixel environments following DeepMind Control's task definitions (FACTS.md): 1000 environment steps an
 * episode, actions in [-1, 1], rewards in [0, 1] per environment step, 64x64 RGB frames. An agent step repeats the
 * action `action_repeat` times and sums the rewards. */
#ifndef WM_DATA_ENV_H
#define WM_DATA_ENV_H

#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"

#define WM_ENV_STATE_MAX 12
#define WM_ENV_ACTION_MAX 6
#define WM_ENV_EPISODE_STEPS 1000
#define WM_ENV_SIZE 64

typedef struct WmEnvSpec WmEnvSpec;

typedef struct {
    const WmEnvSpec *spec;
    double state[WM_ENV_STATE_MAX];
    WmRng rng;
    int action_repeat;
    int env_steps; /* environment steps since reset */
    void *surface; /* the cairo surface frames are drawn on (a built-in task) */
    struct WmPhysics *physics; /* MuJoCo's simulation and renderer (a dmc- task) */
    struct WmRemote *remote;   /* an environment in another process (exec:, tcp:); spec is then NULL */
} WmEnv;

/* What one agent step brought. */
typedef struct {
    double reward; /* summed over the action repeat */
    int last;      /* the episode ended: its 1000 environment steps are used up, or a remote one said so */
    int terminal;  /* the task ended (a remote environment's "terminal"): no value after this frame */
} WmEnvStep;

/* Names: cartpole-swingup, pendulum-swingup, reacher-easy, point-mass-easy (our RK4 simulations), and
 * dmc-cartpole-swingup, dmc-pendulum-swingup, dmc-reacher-easy, dmc-point-mass-easy, dmc-cheetah-run,
 * dmc-walker-walk, dmc-finger-spin, dmc-cup-catch (DeepMind Control's physics on MuJoCo, when the build has it; without it they are an error that
 * says what to install). action_repeat 0 takes the task's PlaNet default (cartpole 8,
 * reacher 4, cheetah 4, cup 4, others 2). exec:COMMAND and tcp:HOST:PORT: an environment in another process
 * (data/env_remote.h), whose frames come resized to 64 x 64 and whose action repeat is its own (1 here). */
WmStatus env_create(WmEnv *env, const char *name, uint64_t seed, int action_repeat, WmError *err);
void env_free(WmEnv *env);
int env_action_dim(const WmEnv *env);
const char *env_name(const WmEnv *env);
int env_default_action_repeat(const char *name); /* -1 for an unknown name; 1 for a remote one */
const char *env_names(void);                      /* "a, b, c, d" for messages */
const char *env_task_name(int index);             /* the index-th task's name, NULL past the last */
/* Agent steps in one episode: 1000 / action_repeat, rounded up; 0 for a remote environment, whose episodes end
 * when it says so. */
int env_episode_length(const WmEnv *env);
/* Numbers of the state a remote environment sends beside each frame (0: none; the built-in tasks give frames
 * alone), and those that came with the last frame (NULL when none). */
int env_state_dim(const WmEnv *env);
const float *env_state_seen(const WmEnv *env);
/* Seconds to wait for a remote environment's answer before stopping (default WM_REMOTE_TIMEOUT_DEFAULT). */
void env_set_timeout(WmEnv *env, double seconds);

/* Starts an episode (initial state, or a remote reset's seed, from the env's RNG stream) and renders frame 0 into
 * rgb (64 x 64 x 3; may be NULL). Only a remote environment can fail. */
WmStatus env_reset(WmEnv *env, uint8_t *rgb, WmError *err);
/* One agent step: clips the action to [-1, 1], repeats it; renders into rgb (may be NULL). */
WmStatus env_step(WmEnv *env, const float *action, uint8_t *rgb, WmEnvStep *step, WmError *err);

/* The task's reward at one state and action, exposed for tests. */
double env_reward(const WmEnv *env, const double *state, const float *action);

/* DMC's tolerance(): 1 inside [lo, hi]; outside, with d = distance / margin, value_at_margin^(d^2) (gaussian) or
 * max(0, 1 - d^2) (quadratic). margin 0 gives an indicator. */
typedef enum { WM_TOL_GAUSSIAN, WM_TOL_QUADRATIC } WmTolerance;
double env_tolerance(double x, double lo, double hi, double margin, WmTolerance sigmoid);
/* tolerance() with the linear sigmoid: outside, max(0, 1 - d (1 - value_at_margin)). */
double env_tolerance_linear(double x, double lo, double hi, double margin, double value_at_margin);

#endif
