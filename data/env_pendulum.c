/* pendulum-swingup (FACTS.md): a 1 kg point mass 0.5 m from the hinge (inertia 0.25 kg m^2), damping 0.1,
 * torque 1 x action (less than m g l = 4.9: it must swing to build energy), dt 0.02, angle 0 upright.
 * State: angle, angular velocity. */
#include <math.h>

#include "data/env_spec.h"

static const double MASS = 1.0, LENGTH = 0.5, GRAVITY = 9.81, DAMPING = 0.1, GEAR = 1.0;

static void pendulum_reset(double *s, WmRng *rng) {
    float u;
    rng_fill_uniform(rng, &u, 1);
    s[0] = M_PI * (2.0 * u - 1.0);
    s[1] = 0.0;
}

static void pendulum_derivative(const double *s, const float *action, double *rate) {
    double inertia = MASS * LENGTH * LENGTH;
    rate[0] = s[1];
    rate[1] = (MASS * GRAVITY * LENGTH * sin(s[0]) - DAMPING * s[1] + GEAR * action[0]) / inertia;
}

static double pendulum_reward(const double *s, const float *action) {
    (void)action;
    return cos(s[0]) >= cos(8.0 * M_PI / 180.0) ? 1.0 : 0.0;
}

static void pendulum_draw(const double *s, cairo_t *cr) {
    const double scale = 44.0, cx = 32.0, cy = 32.0;
    env_checker_floor(cr, 8);
    double bob_x = cx + LENGTH * scale * sin(s[0]), bob_y = cy - LENGTH * scale * cos(s[0]);
    cairo_set_line_width(cr, 2.5);
    cairo_move_to(cr, cx, cy);
    cairo_line_to(cr, bob_x, bob_y);
    cairo_set_source_rgb(cr, 0.7, 0.5, 0.3);
    cairo_stroke(cr);
    cairo_arc(cr, bob_x, bob_y, 4.0, 0, 2 * M_PI);
    env_fill(cr, 0.9, 0.6, 0.3);
    cairo_arc(cr, cx, cy, 1.8, 0, 2 * M_PI);
    env_fill(cr, 0.9, 0.9, 0.9);
}

const WmEnvSpec ENV_PENDULUM_SWINGUP = {
    .name = "pendulum-swingup", .action_dim = 1, .state_dim = 2, .action_repeat = 2, .dt = 0.02, .substeps = 1,
    .reset = pendulum_reset, .derivative = pendulum_derivative, .limit = NULL,
    .reward = pendulum_reward, .draw = pendulum_draw,
};

/* The same task on DeepMind Control's physics (data/dmc/pendulum.xml): the same start and reward; the state is the
 * hinge's angle (0 upright) and velocity, as here. */
const WmEnvSpec ENV_DMC_PENDULUM_SWINGUP = {
    .name = "dmc-pendulum-swingup", .action_dim = 1, .state_dim = 2, .action_repeat = 2, .dt = 0.02, .substeps = 1,
    .reset = pendulum_reset, .reward = pendulum_reward, .mujoco_model = "pendulum.xml",
};
