/* point-mass-easy (FACTS.md): a 0.3 kg point on two slide joints limited to +-0.29 m, damping 1, force
 * 0.1 x action per axis, dt 0.02; target radius 0.015 at the origin. State: x, y, x', y'. */
#include <math.h>

#include "data/env_spec.h"

static const double MASS = 0.3, DAMPING = 1.0, GEAR = 0.1, LIMIT = 0.29, TARGET = 0.015;

static void point_mass_reset(double *s, WmRng *rng) {
    float u[2];
    rng_fill_uniform(rng, u, 2);
    s[0] = LIMIT * (2.0 * u[0] - 1.0), s[1] = LIMIT * (2.0 * u[1] - 1.0);
}

static void point_mass_derivative(const double *s, const float *action, double *rate) {
    rate[0] = s[2], rate[1] = s[3];
    rate[2] = (GEAR * action[0] - DAMPING * s[2]) / MASS;
    rate[3] = (GEAR * action[1] - DAMPING * s[3]) / MASS;
}

static void point_mass_limit(double *s) {
    env_hard_stop(&s[0], &s[2], -LIMIT, LIMIT);
    env_hard_stop(&s[1], &s[3], -LIMIT, LIMIT);
}

static double point_mass_reward(const double *s, const float *action) {
    double near = env_tolerance(hypot(s[0], s[1]), 0.0, TARGET, TARGET, WM_TOL_GAUSSIAN);
    double control = (env_tolerance(action[0], 0.0, 0.0, 1.0, WM_TOL_QUADRATIC) +
                      env_tolerance(action[1], 0.0, 0.0, 1.0, WM_TOL_QUADRATIC)) / 2.0;
    return near * (4.0 + control) / 5.0;
}

/* 100 px per metre: the arena's +-0.3 m fills the frame. */
static void point_mass_draw(const double *s, cairo_t *cr) {
    const double scale = 100.0, cx = 32.0, cy = 32.0;
    env_checker_floor(cr, 8);
    cairo_rectangle(cr, cx - LIMIT * scale - 1, cy - LIMIT * scale - 1, 2 * LIMIT * scale + 2, 2 * LIMIT * scale + 2);
    cairo_set_line_width(cr, 1.0);
    cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
    cairo_stroke(cr);
    cairo_arc(cr, cx, cy, 3.0, 0, 2 * M_PI);
    env_fill(cr, 0.6, 0.3, 0.3);
    cairo_arc(cr, cx + s[0] * scale, cy - s[1] * scale, 3.0, 0, 2 * M_PI);
    env_fill(cr, 0.95, 0.75, 0.4);
}

const WmEnvSpec ENV_POINT_MASS_EASY = {
    .name = "point-mass-easy", .action_dim = 2, .state_dim = 4, .action_repeat = 2, .dt = 0.02, .substeps = 1,
    .reset = point_mass_reset, .derivative = point_mass_derivative, .limit = point_mass_limit,
    .reward = point_mass_reward, .draw = point_mass_draw,
};

/* The same task on DeepMind Control's physics (data/dmc/point_mass.xml): the same start, reward and state order. */
const WmEnvSpec ENV_DMC_POINT_MASS_EASY = {
    .name = "dmc-point-mass-easy", .action_dim = 2, .state_dim = 4, .action_repeat = 2, .dt = 0.02, .substeps = 1,
    .reset = point_mass_reset, .reward = point_mass_reward, .mujoco_model = "point_mass.xml",
};
