/* wm: act with a world model trained by `wm train`, from a robot's own C or C++ program.
 *
 *   wm_agent *agent;
 *   char error[256];
 *   if (wm_agent_open(&agent, "runs/cp-actor", "actor", 1, error, sizeof error) != 0) { puts(error); return 1; }
 *   for (;;) {                              // one frame in (RGB24, any size), one action out
 *       float action[8];
 *       if (wm_agent_act(agent, rgb, width, height, action, 8) < 0) { puts(wm_agent_error(agent)); break; }
 *   }
 *   wm_agent_close(agent);
 *
 * Link with `pkg-config --cflags --libs wm`. Each frame is folded into the model's latent state with the action
 * returned last (an episode starts from wm_agent_reset); the action comes from the run's planner, or from the
 * amortized actor, which answers in well under a millisecond. Not thread-safe: one agent per thread. */
#ifndef WM_H
#define WM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wm_agent wm_agent;

/* The library's version ("0.2.0"). */
const char *wm_version(void);

/* Opens the run directory's latest checkpoint to act. `planner`: "actor", "cem", "mppi", "shooting", or NULL for
 * the run's plan.planner. `threads` > 0 sets the OpenMP threads (0 leaves them). Returns 0, or -1 with a one-line
 * message in `error` (naming the run or file) and *agent NULL. */
int wm_agent_open(wm_agent **agent, const char *run, const char *planner, int threads, char *error,
                  size_t error_size);
/* The size of an action. */
int wm_agent_action_dim(const wm_agent *agent);
/* A new episode: the latent state and the last action back to zero. */
void wm_agent_reset(wm_agent *agent);
/* Folds one RGB24 frame (height x width x 3, rows top to bottom; resized to the model's size) into the state and
 * writes the next action (action_dim floats in [-1, 1]) into `action`, which holds `capacity`. Returns the action
 * size, or -1 with the reason in wm_agent_error. */
int wm_agent_act(wm_agent *agent, const uint8_t *rgb, int width, int height, float *action, int capacity);
/* How many numbers the model takes beside each frame (a state vector: joint angles, velocities): 0 for a model
 * trained on frames alone. */
int wm_agent_state_dim(const wm_agent *agent);
/* wm_agent_act with the state vector measured beside the frame (state_dim floats, as in the episodes it learned
 * from: the .npz key `state`, the steps.csv columns state_0..). */
int wm_agent_act_state(wm_agent *agent, const uint8_t *rgb, int width, int height, const float *state, int state_dim,
                       float *action, int capacity);
/* The last error's message. */
const char *wm_agent_error(const wm_agent *agent);
void wm_agent_close(wm_agent *agent);

#ifdef __cplusplus
}
#endif

#endif
