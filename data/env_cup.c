/* dmc-cup-catch (FACTS.md), on MuJoCo only (data/dmc/cup.xml): swing the ball on its string into the cup. DMC's
 * reward is 1 while the ball's centre is inside the box in the cup (half size 0.05 in x and z) by its radius
 * (0.025) in both directions. The start is the suite's: the ball uniform in x in [-0.2, 0.2] and in z 0.2 to 0.5
 * above its rest place, drawn again until nothing touches. Ten 0.002 s timesteps per environment step; action
 * repeat 4 (PlaNet). State: the ball's position (x, y, z), then the target box's. */
#include <math.h>

#include "data/env_spec.h"

static const double TARGET_HALF = 0.05, BALL_RADIUS = 0.025;

static double cup_reward(const double *s, const float *action) {
    (void)action;
    const double inside = TARGET_HALF - BALL_RADIUS;
    return fabs(s[0] - s[3]) < inside && fabs(s[2] - s[5]) < inside ? 1.0 : 0.0;
}

static const WmJointStart BALL_START[2] = {{"ball_x", -0.2, 0.2}, {"ball_z", 0.2, 0.5}};

const WmEnvSpec ENV_DMC_CUP_CATCH = {
    .name = "dmc-cup-catch", .action_dim = 2, .state_dim = 6, .action_repeat = 4, .dt = 0.02, .substeps = 10,
    .reward = cup_reward, .mujoco_model = "cup.xml",
    .mujoco_start = {.joints = BALL_START, .joint_count = 2, .collision_free = 1},
};
