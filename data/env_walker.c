/* dmc-walker-walk (FACTS.md), on MuJoCo only (data/dmc/walker.xml): stand and walk forward at 1 m/s. DMC's reward:
 *   standing = tolerance(torso height, [1.2, inf), margin 0.6), upright = (1 + torso z axis' z) / 2,
 *   stand = (3 standing + upright) / 4, move = tolerance(v, [1, inf), margin 0.5, linear, 0.5 at the margin),
 *   reward = stand (5 move + 1) / 6.
 * The start is the suite's: limited joints uniform in range, the pitch uniform in [-pi, pi). Ten 0.0025 s
 * timesteps per environment step; action repeat 2 (PlaNet). State: the torso's subtree velocity (x, y, z), its
 * position (x, y, z) and its z axis in the world (x, y, z). */
#include "data/env_spec.h"

enum { VELOCITY_X = 0, HEIGHT = 5, UP_Z = 8 };
static const double STAND_HEIGHT = 1.2, WALK_SPEED = 1.0;

static double walker_reward(const double *s, const float *action) {
    (void)action;
    const double standing = env_tolerance(s[HEIGHT], STAND_HEIGHT, 1e300, STAND_HEIGHT / 2.0, WM_TOL_GAUSSIAN);
    const double upright = (1.0 + s[UP_Z]) / 2.0, stand = (3.0 * standing + upright) / 4.0;
    const double move = env_tolerance_linear(s[VELOCITY_X], WALK_SPEED, 1e300, WALK_SPEED / 2.0, 0.5);
    return stand * (5.0 * move + 1.0) / 6.0;
}

const WmEnvSpec ENV_DMC_WALKER_WALK = {
    .name = "dmc-walker-walk", .action_dim = 6, .state_dim = 9, .action_repeat = 2, .dt = 0.025, .substeps = 10,
    .reward = walker_reward, .mujoco_model = "walker.xml", .mujoco_start = {.rotational = 1},
};
