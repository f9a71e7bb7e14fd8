/* What one task supplies to the shared stepping and drawing code in env.c. */
#ifndef WM_DATA_ENV_SPEC_H
#define WM_DATA_ENV_SPEC_H

#include <cairo.h>

#include "data/env.h"
#include "data/physics.h"

struct WmEnvSpec {
    const char *name;
    int action_dim, state_dim, action_repeat;
    double dt;    /* seconds per environment step */
    int substeps; /* RK4 substeps per environment step, for stiff tasks; a dmc- task: MuJoCo timesteps */
    void (*reset)(double *state, WmRng *rng);
    /* ds/dt at state under action (already clipped). */
    void (*derivative)(const double *state, const float *action, double *rate);
    /* Joint limits after each substep: hard stops that remove the velocity into the limit. */
    void (*limit)(double *state);
    double (*reward)(const double *state, const float *action);
    /* Draws the state on a 64 x 64 cairo context in pixel units. */
    void (*draw)(const double *state, cairo_t *cr);
    /* A dmc- task: its MJCF model (data/dmc), simulated by MuJoCo (substeps timesteps of dt / substeps per
     * environment step) and rendered by the model's first camera. The state then comes from the joint positions
     * and velocities; reset and reward are the task's as above, and derivative, limit and draw go unused. NULL
     * for a built-in task. */
    const char *mujoco_model;
    /* The physics' state (qpos, then qvel: mujoco_state_dim numbers) in the task's state: each one's index there,
     * or -1 for one the task holds at 0. NULL: the same order and size. */
    const int *mujoco_order;
    int mujoco_state_dim;
    /* A task of DeepMind Control's alone (reset NULL): it starts as the suite's task does (physics_randomize), and
     * its state is the model's sensor readings, which its reward reads. */
    WmPhysicsStart mujoco_start;
};

extern const WmEnvSpec ENV_CARTPOLE_SWINGUP, ENV_PENDULUM_SWINGUP, ENV_REACHER_EASY, ENV_POINT_MASS_EASY;
extern const WmEnvSpec ENV_DMC_CARTPOLE_SWINGUP, ENV_DMC_PENDULUM_SWINGUP, ENV_DMC_REACHER_EASY, ENV_DMC_POINT_MASS_EASY;
extern const WmEnvSpec ENV_DMC_CHEETAH_RUN, ENV_DMC_WALKER_WALK, ENV_DMC_FINGER_SPIN, ENV_DMC_CUP_CATCH;

/* Helpers for the tasks' drawing and physics. */
void env_hard_stop(double *position, double *velocity, double lo, double hi);
void env_fill(cairo_t *cr, double r, double g, double b);
void env_checker_floor(cairo_t *cr, int cell);

#endif
