/* dmc-cheetah-run (FACTS.md), on MuJoCo only (data/dmc/cheetah.xml): run forward as fast as possible. The reward is
 * DMC's tolerance of the torso's subtree velocity v with bounds [10, inf), margin 10 and the linear sigmoid
 * reaching 0 at the margin: min(1, max(0, v / 10)). The start is the suite's: every limited joint uniform in its
 * range, then 200 timesteps to settle. Action repeat 4 (PlaNet). State: the torso's subtree velocity (x, y, z). */
#include "data/env_spec.h"

static double cheetah_reward(const double *s, const float *action) {
    (void)action;
    return env_tolerance_linear(s[0], 10.0, 1e300, 10.0, 0.0);
}

const WmEnvSpec ENV_DMC_CHEETAH_RUN = {
    .name = "dmc-cheetah-run", .action_dim = 6, .state_dim = 3, .action_repeat = 4, .dt = 0.01, .substeps = 1,
    .reward = cheetah_reward, .mujoco_model = "cheetah.xml", .mujoco_start = {.settle = 200},
};
