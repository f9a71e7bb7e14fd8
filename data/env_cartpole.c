/* cartpole-swingup (FACTS.md): cart 1 kg on a rail limited to +-1.8 m, pole 1 m and 0.1 kg hinged on the cart,
 * angle 0 upright, force 10 x action, dt 0.01. The pole is a uniform rod (centre of mass 0.5 m from the hinge).
 * State: x, angle, x velocity, angular velocity. */
#include <math.h>

#include "data/env_spec.h"

static const double CART_MASS = 1.0, POLE_MASS = 0.1, HALF_LENGTH = 0.5, GRAVITY = 9.81, GEAR = 10.0;
static const double SLIDER_DAMPING = 5e-4, HINGE_DAMPING = 2e-6, RAIL = 1.8;

static void cartpole_reset(double *s, WmRng *rng) {
    float noise[4];
    rng_fill_normal(rng, noise, 4, 0.0f, 0.01f);
    s[0] = noise[0], s[1] = M_PI + noise[1], s[2] = noise[2], s[3] = noise[3];
}

/* Lagrange's equations for a cart with a rod pendulum:
 *   (M + m) x'' + m l cos(a) a'' = F + m l sin(a) a'^2 - b_x x'
 *   m l cos(a) x'' + (4/3) m l^2 a'' = m g l sin(a) - b_a a'          (l: hinge to centre of mass) */
static void cartpole_derivative(const double *s, const float *action, double *rate) {
    double angle = s[1], x_vel = s[2], a_vel = s[3];
    double c = cos(angle), sn = sin(angle), ml = POLE_MASS * HALF_LENGTH;
    double a11 = CART_MASS + POLE_MASS, a12 = ml * c, a22 = 4.0 / 3.0 * POLE_MASS * HALF_LENGTH * HALF_LENGTH;
    double rhs1 = GEAR * action[0] + ml * sn * a_vel * a_vel - SLIDER_DAMPING * x_vel;
    double rhs2 = ml * GRAVITY * sn - HINGE_DAMPING * a_vel;
    double det = a11 * a22 - a12 * a12;
    rate[0] = x_vel;
    rate[1] = a_vel;
    rate[2] = (rhs1 * a22 - a12 * rhs2) / det;
    rate[3] = (a11 * rhs2 - a12 * rhs1) / det;
}

static void cartpole_limit(double *s) { env_hard_stop(&s[0], &s[2], -RAIL, RAIL); }

static double cartpole_reward(const double *s, const float *action) {
    double upright = (cos(s[1]) + 1.0) / 2.0;
    double centered = (1.0 + env_tolerance(s[0], 0.0, 0.0, 2.0, WM_TOL_GAUSSIAN)) / 2.0;
    double small_control = (4.0 + env_tolerance(action[0], 0.0, 0.0, 1.0, WM_TOL_QUADRATIC)) / 5.0;
    double small_velocity = (1.0 + env_tolerance(s[3], 0.0, 0.0, 5.0, WM_TOL_GAUSSIAN)) / 2.0;
    return upright * centered * small_control * small_velocity;
}

/* The camera sees x in [-2.2, 2.2] m: 14.5 px per metre, the rail at row 40. */
static void cartpole_draw(const double *s, cairo_t *cr) {
    const double scale = 64.0 / 4.4, rail_y = 40.0;
    cairo_rectangle(cr, 0, 0, 64, 64);
    env_fill(cr, 0.55, 0.7, 0.85);
    cairo_rectangle(cr, 0, rail_y + 3, 64, 64 - rail_y - 3);
    env_fill(cr, 0.2, 0.3, 0.4);
    cairo_rectangle(cr, 32 - RAIL * scale - 2, rail_y - 0.5, 2 * RAIL * scale + 4, 1.0);
    env_fill(cr, 0.3, 0.3, 0.3);
    double cart_x = 32.0 + s[0] * scale;
    cairo_rectangle(cr, cart_x - 4.0, rail_y - 2.5, 8.0, 5.0);
    env_fill(cr, 0.7, 0.5, 0.3);
    double tip_x = cart_x + 2.0 * HALF_LENGTH * scale * sin(s[1]);
    double tip_y = rail_y - 2.0 * HALF_LENGTH * scale * cos(s[1]);
    cairo_set_line_width(cr, 2.5);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_move_to(cr, cart_x, rail_y);
    cairo_line_to(cr, tip_x, tip_y);
    cairo_set_source_rgb(cr, 0.95, 0.85, 0.3);
    cairo_stroke(cr);
}

const WmEnvSpec ENV_CARTPOLE_SWINGUP = {
    .name = "cartpole-swingup", .action_dim = 1, .state_dim = 4, .action_repeat = 8, .dt = 0.01, .substeps = 1,
    .reset = cartpole_reset, .derivative = cartpole_derivative, .limit = cartpole_limit,
    .reward = cartpole_reward, .draw = cartpole_draw,
};

/* The same task on DeepMind Control's physics (data/dmc/cartpole.xml): the same start, reward and state order
 * (slider, hinge, then their velocities; the hinge's angle is 0 upright, as here). */
const WmEnvSpec ENV_DMC_CARTPOLE_SWINGUP = {
    .name = "dmc-cartpole-swingup", .action_dim = 1, .state_dim = 4, .action_repeat = 8, .dt = 0.01, .substeps = 1,
    .reset = cartpole_reset, .reward = cartpole_reward, .mujoco_model = "cartpole.xml",
};
