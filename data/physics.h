/* A DeepMind Control task's physics on MuJoCo (Debian's libmujoco-dev), rendered offscreen through OSMesa: the
 * simulation and renderer behind the `dmc-` environments (data/env.c). The MJCF models are ours, written from the
 * suite's definitions (data/dmc/NAME.xml), and built into the binary. A build without MuJoCo has the same functions,
 * and physics_open says what to install. */
#ifndef WM_DATA_PHYSICS_H
#define WM_DATA_PHYSICS_H

#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"

typedef struct WmPhysics WmPhysics;

/* Whether this build simulates with MuJoCo. */
int physics_available(void);
/* The MJCF text of a model file built in ("cartpole.xml"), or NULL. */
const char *physics_model_text(const char *name);
/* Loads `model` (a file name built in), checks that its timestep is `dt` and that it has one actuator per action
 * and a camera, and prepares a size x size renderer of its first camera (the one DeepMind Control renders).
 * `task` names the environment in errors. */
WmStatus physics_open(WmPhysics **physics, const char *task, const char *model, double dt, int actions, int size,
                      WmError *err);
void physics_close(WmPhysics *physics);
/* The state as a vector: the joint positions, then the joint velocities. */
int physics_state_dim(const WmPhysics *physics);
void physics_set_state(WmPhysics *physics, const double *state);
/* One timestep with the actuators at `action`; the new state into `state` (may be NULL). */
void physics_step(WmPhysics *physics, const float *action, double *state);
/* How a task of DeepMind Control's starts an episode, at rest: */
typedef struct {
    const char *joint;
    double lo, hi;
} WmJointStart;
typedef struct {
    const WmJointStart *joints; /* these joints uniform in these ranges, or when NULL: */
    int joint_count;
    int rotational;     /* every limited joint uniform in its range, and every unlimited hinge in [-pi, pi) too */
    int collision_free; /* drawn again until nothing touches (up to 1000 times, then the last draw stays) */
    int settle;         /* then this many timesteps with the actuators off */
} WmPhysicsStart;
void physics_randomize(WmPhysics *physics, WmRng *rng, const WmPhysicsStart *start);
/* The model's sensor readings, in the order the model declares them. */
int physics_sensor_dim(const WmPhysics *physics);
void physics_sensors(const WmPhysics *physics, double *out);
/* The fixed camera's view, RGB, rows top to bottom. */
void physics_render(WmPhysics *physics, uint8_t *rgb);

#endif
