/* dmc-finger-spin (FACTS.md), on MuJoCo only (data/dmc/finger.xml): flick the spinner round. DMC's reward is sparse:
 * 1 while the spinner's hinge turns at 15 rad/s or faster in the negative sense. The start is the suite's: the
 * finger's joints uniform in their ranges and the spinner's angle uniform, drawn again until nothing touches.
 * Two 0.01 s timesteps per environment step; action repeat 2 (PlaNet). State: the spinner's angular velocity. */
#include "data/env_spec.h"

static const double SPIN_VELOCITY = 15.0;

static double finger_reward(const double *s, const float *action) {
    (void)action;
    return s[0] <= -SPIN_VELOCITY ? 1.0 : 0.0;
}

const WmEnvSpec ENV_DMC_FINGER_SPIN = {
    .name = "dmc-finger-spin", .action_dim = 2, .state_dim = 1, .action_repeat = 2, .dt = 0.02, .substeps = 2,
    .reward = finger_reward, .mujoco_model = "finger.xml", .mujoco_start = {.rotational = 1, .collision_free = 1},
};
