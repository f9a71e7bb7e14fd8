/* reacher-easy (FACTS.md): a planar two-link arm, links 0.12 m and 0.12 m to the fingertip, about 0.04 kg each
 * (capsules of radius 0.01, density 1000), shoulder unlimited, wrist limited to +-160 degrees, damping 0.01,
 * torque 0.05 x action, dt 0.02 (4 RK4 substeps: the arm is light and its damping stiff). Target at radius
 * U(0.05, 0.20); reward 1 within 0.06 of it. State: q1, q2, q1', q2', target x, target y. */
#include <math.h>

#include "data/env_spec.h"

static const double LINK = 0.12, LINK_MASS = 0.0422, DAMPING = 0.01, GEAR = 0.05, REACH = 0.06;
static const double WRIST_LIMIT = 160.0 * M_PI / 180.0;

static void reacher_reset(double *s, WmRng *rng) {
    float u[4];
    rng_fill_uniform(rng, u, 4);
    s[0] = M_PI * (2.0 * u[0] - 1.0);
    s[1] = WRIST_LIMIT * (2.0 * u[1] - 1.0);
    double radius = 0.05 + 0.15 * u[2], angle = 2.0 * M_PI * u[3];
    s[4] = radius * cos(angle), s[5] = radius * sin(angle);
}

/* The two-link manipulator with rod links (centre of mass mid-link, inertia m L^2 / 12), no gravity in the plane:
 *   M(q) q'' = tau - b q' - c(q, q'). */
static void reacher_derivative(const double *s, const float *action, double *rate) {
    double m = LINK_MASS, l = LINK, lc = LINK / 2.0, inertia = m * LINK * LINK / 12.0;
    double c2 = cos(s[1]), s2 = sin(s[1]), q1v = s[2], q2v = s[3];
    double m11 = 2.0 * inertia + m * lc * lc + m * (l * l + lc * lc + 2.0 * l * lc * c2);
    double m12 = inertia + m * (lc * lc + l * lc * c2), m22 = inertia + m * lc * lc;
    double h = m * l * lc * s2;
    double f1 = GEAR * action[0] - DAMPING * q1v + h * (2.0 * q1v * q2v + q2v * q2v);
    double f2 = GEAR * action[1] - DAMPING * q2v - h * q1v * q1v;
    double det = m11 * m22 - m12 * m12;
    rate[0] = q1v, rate[1] = q2v;
    rate[2] = (m22 * f1 - m12 * f2) / det;
    rate[3] = (m11 * f2 - m12 * f1) / det;
    rate[4] = rate[5] = 0.0;
}

static void reacher_limit(double *s) { env_hard_stop(&s[1], &s[3], -WRIST_LIMIT, WRIST_LIMIT); }

static void fingertip(const double *s, double *x, double *y) {
    *x = LINK * cos(s[0]) + LINK * cos(s[0] + s[1]);
    *y = LINK * sin(s[0]) + LINK * sin(s[0] + s[1]);
}

static double reacher_reward(const double *s, const float *action) {
    (void)action;
    double x, y;
    fingertip(s, &x, &y);
    return hypot(x - s[4], y - s[5]) <= REACH ? 1.0 : 0.0;
}

/* 100 px per metre around the shoulder at the centre; y points up in the world, down in the image. */
static void reacher_draw(const double *s, cairo_t *cr) {
    const double scale = 100.0, cx = 32.0, cy = 32.0;
    env_checker_floor(cr, 8);
    cairo_arc(cr, cx + s[4] * scale, cy - s[5] * scale, 0.05 * scale, 0, 2 * M_PI);
    env_fill(cr, 0.6, 0.3, 0.3);
    double elbow_x = cx + LINK * scale * cos(s[0]), elbow_y = cy - LINK * scale * sin(s[0]);
    double tip_x, tip_y;
    fingertip(s, &tip_x, &tip_y);
    tip_x = cx + tip_x * scale, tip_y = cy - tip_y * scale;
    cairo_set_line_width(cr, 2.5);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_move_to(cr, cx, cy);
    cairo_line_to(cr, elbow_x, elbow_y);
    cairo_line_to(cr, tip_x, tip_y);
    cairo_set_source_rgb(cr, 0.7, 0.5, 0.3);
    cairo_stroke(cr);
    cairo_arc(cr, tip_x, tip_y, 1.8, 0, 2 * M_PI);
    env_fill(cr, 0.95, 0.75, 0.4);
}

const WmEnvSpec ENV_REACHER_EASY = {
    .name = "reacher-easy", .action_dim = 2, .state_dim = 6, .action_repeat = 4, .dt = 0.02, .substeps = 4,
    .reset = reacher_reset, .derivative = reacher_derivative, .limit = reacher_limit,
    .reward = reacher_reward, .draw = reacher_draw,
};

/* The same task on DeepMind Control's physics (data/dmc/reacher.xml): the same start and reward. The target sits on
 * two slide joints there, so the physics' state is q1, q2, target x, y, then the four velocities. */
static const int DMC_ORDER[8] = {0, 1, 4, 5, 2, 3, -1, -1};
const WmEnvSpec ENV_DMC_REACHER_EASY = {
    .name = "dmc-reacher-easy", .action_dim = 2, .state_dim = 6, .action_repeat = 4, .dt = 0.02, .substeps = 1,
    .reset = reacher_reset, .reward = reacher_reward, .mujoco_model = "reacher.xml", .mujoco_order = DMC_ORDER,
    .mujoco_state_dim = 8,
};
