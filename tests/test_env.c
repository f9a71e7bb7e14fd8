/* The built-in environments: each task's reward at states computed by hand, DMC's tolerance(), and the returns
 * of a do-nothing policy. */
#include <check.h>

#include "check_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/env.h"
#include "data/physics.h"

/* A built-in task's reset and step, which cannot fail. */
static void reset(WmEnv *env, uint8_t *rgb) {
    WmError err = {0};
    ck_assert(env_reset(env, rgb, &err) == WM_OK);
}

static double step(WmEnv *env, const float *action, uint8_t *rgb, int *done) {
    WmError err = {0};
    WmEnvStep taken;
    ck_assert(env_step(env, action, rgb, &taken, &err) == WM_OK);
    *done = taken.last;
    return taken.reward;
}

static WmEnv make(const char *name) {
    WmEnv env;
    WmError err = {0};
    ck_assert_msg(env_create(&env, name, 1, 0, &err) == WM_OK, "%s", err.message);
    return env;
}

START_TEST(tolerance_matches_dmc) {
    ck_assert_double_eq(env_tolerance(0.3, 0.0, 0.5, 1.0, WM_TOL_GAUSSIAN), 1.0);
    ck_assert_double_eq_tol(env_tolerance(2.0, 0.0, 0.0, 2.0, WM_TOL_GAUSSIAN), 0.1, 1e-12);   /* d = 1 */
    ck_assert_double_eq_tol(env_tolerance(-1.0, 0.0, 0.0, 2.0, WM_TOL_GAUSSIAN), pow(0.1, 0.25), 1e-12);
    ck_assert_double_eq_tol(env_tolerance(0.5, 0.0, 0.0, 1.0, WM_TOL_QUADRATIC), 0.75, 1e-12);
    ck_assert_double_eq(env_tolerance(1.5, 0.0, 0.0, 1.0, WM_TOL_QUADRATIC), 0.0);
    ck_assert_double_eq(env_tolerance(0.1, 0.0, 0.0, 0.0, WM_TOL_GAUSSIAN), 0.0);
}
END_TEST

START_TEST(cartpole_reward_by_hand) {
    WmEnv env = make("cartpole-swingup");
    double upright[4] = {0, 0, 0, 0}, hanging[4] = {0, M_PI, 0, 0}, off[4] = {2.0, 0, 0, 5.0};
    float still = 0.0f, full = 1.0f;
    ck_assert_double_eq_tol(env_reward(&env, upright, &still), 1.0, 1e-12);
    ck_assert_double_eq_tol(env_reward(&env, hanging, &still), 0.0, 1e-12);
    /* centered (1 + 0.1) / 2, small_control (4 + 0) / 5, small_velocity (1 + 0.1) / 2 */
    ck_assert_double_eq_tol(env_reward(&env, off, &full), 0.55 * 0.8 * 0.55, 1e-12);
    ck_assert_int_eq(env.action_repeat, 8);
    ck_assert_int_eq(env_episode_length(&env), 125);
    env_free(&env);
}
END_TEST

START_TEST(pendulum_reward_by_hand) {
    WmEnv env = make("pendulum-swingup");
    double inside[2] = {7.0 * M_PI / 180.0, 3.0}, outside[2] = {-9.0 * M_PI / 180.0, 0.0};
    float action = 0.5f;
    ck_assert_double_eq(env_reward(&env, inside, &action), 1.0);
    ck_assert_double_eq(env_reward(&env, outside, &action), 0.0);
    env_free(&env);
}
END_TEST

START_TEST(reacher_reward_by_hand) {
    WmEnv env = make("reacher-easy");
    /* Straight arm along x: the fingertip is at (0.24, 0). */
    double near[6] = {0, 0, 0, 0, 0.24, 0.05}, far[6] = {0, 0, 0, 0, 0.24, 0.07};
    float action[2] = {0, 0};
    ck_assert_double_eq(env_reward(&env, near, action), 1.0);
    ck_assert_double_eq(env_reward(&env, far, action), 0.0);
    env_free(&env);
}
END_TEST

START_TEST(point_mass_reward_by_hand) {
    WmEnv env = make("point-mass-easy");
    double centre[4] = {0, 0, 0, 0}, away[4] = {0.03, 0, 0, 0}; /* (0.03 - 0.015) / 0.015 = one margin: 0.1 */
    float still[2] = {0, 0}, full[2] = {1, -1};
    ck_assert_double_eq_tol(env_reward(&env, centre, still), 1.0, 1e-12);
    ck_assert_double_eq_tol(env_reward(&env, away, full), 0.1 * 0.8, 1e-12);
    env_free(&env);
}
END_TEST

/* A policy that does nothing: the cart and the point mass stay where they start (far from the goal), so the
 * return is near zero; every reward stays in [0, action_repeat]. */
START_TEST(do_nothing_returns) {
    static const char *names[] = {"cartpole-swingup", "point-mass-easy"};
    WmEnv env = make(names[_i]);
    float action[2] = {0, 0};
    double total = 0.0;
    for (int episode = 0; episode < 3; episode++) {
        reset(&env, NULL);
        int done = 0, steps = 0;
        while (!done) {
            double r = step(&env, action, NULL, &done);
            ck_assert(r >= 0.0 && r <= env.action_repeat);
            total += r;
            steps++;
        }
        ck_assert_int_eq(steps, env_episode_length(&env));
    }
    ck_assert_double_lt(total / 3.0, 5.0);
    env_free(&env);
}
END_TEST

START_TEST(same_seed_same_episode) {
    WmEnv a = make("reacher-easy"), b = make("reacher-easy");
    uint8_t *fa = malloc(64 * 64 * 3), *fb = malloc(64 * 64 * 3);
    reset(&a, fa);
    reset(&b, fb);
    float action[2] = {0.7f, -0.3f};
    int done = 0;
    for (int t = 0; t < 20; t++) ck_assert_double_eq(step(&a, action, fa, &done), step(&b, action, fb, &done));
    ck_assert_int_eq(memcmp(fa, fb, 64 * 64 * 3), 0);
    free(fa), free(fb);
    env_free(&a), env_free(&b);
}
END_TEST

/* The dmc- twins on MuJoCo start where ours start (the same reset and stream) and, under the same actions, stay
 * close for a while: the same masses, lengths, gears and damping, integrated by another engine. They are not the
 * same physics, and the band says by how much: each state variable stays within `band` of its largest magnitude
 * over 40 environment steps (plus 0.01), and the returns within 10% (or one step's reward).
 * - cartpole 5%: MuJoCo's capsule pole has about 3% more inertia about the hinge than our thin rod (its radius and
 *   end caps);
 * - pendulum 5%: DMC's ball is a sphere, not a point, and its pendulum integrates with Euler where ours uses RK4;
 * - reacher 15%: DMC's second link is a 0.1 m capsule with a fingertip sphere 0.12 m out, ours a uniform 0.12 m rod
 *   of the same mass; the wrist's velocity drifts most (12% over 40 steps);
 * - point mass 5%: the same equations.
 * Printed for the record. */
START_TEST(dmc_twins_follow_ours) {
    static const struct {
        const char *ours, *theirs;
        double band;
    } TWINS[] = {{"cartpole-swingup", "dmc-cartpole-swingup", 0.05},
                 {"pendulum-swingup", "dmc-pendulum-swingup", 0.05},
                 {"reacher-easy", "dmc-reacher-easy", 0.15},
                 {"point-mass-easy", "dmc-point-mass-easy", 0.05}};
    if (!physics_available()) {
        WmEnv env;
        WmError err = {0};
        ck_assert_int_ne(env_create(&env, "dmc-cartpole-swingup", 1, 0, &err), WM_OK);
        ck_assert_msg(strstr(err.message, "install libmujoco-dev") != NULL, "%s", err.message);
        env_free(&env);
        return;
    }
    WmEnv ours, theirs;
    WmError err = {0};
    ck_assert(env_create(&ours, TWINS[_i].ours, 1, 1, &err) == WM_OK);
    ck_assert_msg(env_create(&theirs, TWINS[_i].theirs, 1, 1, &err) == WM_OK, "%s", err.message);
    reset(&ours, NULL);
    reset(&theirs, NULL);
    ck_assert_int_eq(memcmp(ours.state, theirs.state, sizeof ours.state), 0);
    double largest[WM_ENV_STATE_MAX] = {0}, apart[WM_ENV_STATE_MAX] = {0}, return_ours = 0.0, return_theirs = 0.0;
    int done = 0;
    for (int t = 0; t < 40; t++) {
        const float action[2] = {(float)sin(0.7 * (t / 8)), (float)cos(0.5 * (t / 8))};
        return_ours += step(&ours, action, NULL, &done);
        return_theirs += step(&theirs, action, NULL, &done);
        for (int i = 0; i < WM_ENV_STATE_MAX; i++) {
            largest[i] = fmax(largest[i], fabs(ours.state[i]));
            apart[i] = fmax(apart[i], fabs(ours.state[i] - theirs.state[i]));
        }
    }
    for (int i = 0; i < WM_ENV_STATE_MAX; i++) {
        if (largest[i] > 0.0)
            fprintf(stderr, "%s against %s, state %d: largest %.4f, apart by %.4f\n", TWINS[_i].theirs,
                    TWINS[_i].ours, i, largest[i], apart[i]);
        ck_assert_msg(apart[i] <= TWINS[_i].band * largest[i] + 0.01, "%s: state %d apart by %g", TWINS[_i].theirs, i, apart[i]);
    }
    fprintf(stderr, "%s against %s: returns %.4f and %.4f over 40 steps\n", TWINS[_i].theirs, TWINS[_i].ours,
            return_theirs, return_ours);
    ck_assert_msg(fabs(return_ours - return_theirs) <= fmax(0.1 * return_ours, 1.0), "%s: returns %g and %g",
                  TWINS[_i].theirs, return_theirs, return_ours);
    env_free(&ours), env_free(&theirs);
}
END_TEST

/* MuJoCo's frames: the same seed and actions give the same pixels; the pole upright and hanging give other
 * pictures, and the picture is not one colour. */
START_TEST(dmc_frames_are_deterministic_and_show_the_bodies) {
    if (!physics_available()) return;
    WmEnv a = make("dmc-cartpole-swingup"), b = make("dmc-cartpole-swingup");
    uint8_t *fa = malloc(64 * 64 * 3), *fb = malloc(64 * 64 * 3);
    reset(&a, fa);
    reset(&b, fb);
    float action = 0.6f;
    int done = 0;
    for (int t = 0; t < 5; t++) step(&a, &action, fa, &done), step(&b, &action, fb, &done);
    ck_assert_int_eq(memcmp(fa, fb, 64 * 64 * 3), 0);
    const double upright[4] = {0, 0, 0, 0}, hanging[4] = {0, M_PI, 0, 0};
    physics_set_state(a.physics, upright);
    physics_render(a.physics, fa);
    physics_set_state(a.physics, hanging);
    physics_render(a.physics, fb);
    int changed = 0, lo = 255, hi = 0;
    for (int i = 0; i < 64 * 64 * 3; i++) {
        changed += fa[i] != fb[i];
        lo = fa[i] < lo ? fa[i] : lo, hi = fa[i] > hi ? fa[i] : hi;
    }
    ck_assert_int_gt(changed, 60);
    ck_assert_int_gt(hi - lo, 60);
    /* Upright, the pole is above the cart: the column at the image's centre differs from the hanging picture above
     * the middle row, not only below it. */
    int above = 0;
    for (int y = 0; y < 28; y++) above += memcmp(fa + (y * 64 + 32) * 3, fb + (y * 64 + 32) * 3, 3) != 0;
    ck_assert_int_gt(above, 4);
    free(fa), free(fb);
    env_free(&a), env_free(&b);
}
END_TEST

/* The suite's own tasks, at states set by hand (their state is the sensor readings their rewards read). */
START_TEST(dmc_rewards_by_hand) {
    if (!physics_available()) return;
    WmEnv cheetah = make("dmc-cheetah-run"), walker = make("dmc-walker-walk"), finger = make("dmc-finger-spin"),
          cup = make("dmc-cup-catch");
    const float still[6] = {0};
    const double slow[3] = {5, 0, 0}, fast[3] = {12, 0, 0}, back[3] = {-1, 0, 0};
    ck_assert_double_eq_tol(env_reward(&cheetah, slow, still), 0.5, 1e-12); /* linear: v / 10 below 10 m/s */
    ck_assert_double_eq(env_reward(&cheetah, fast, still), 1.0);
    ck_assert_double_eq(env_reward(&cheetah, back, still), 0.0);
    /* velocity (3), position (3), z axis (3): standing tall and upright at 1 m/s is 1; standing still is
     * stand (5 move + 1) / 6 with move = 1 - 0.5 (1 - 0) / 0.5 = 0; half a margin low and upright: standing
     * 0.1^(0.25), stand (3 standing + 1) / 4. */
    const double walking[9] = {1, 0, 0, 0, 0, 1.3, 0, 0, 1}, still_up[9] = {0, 0, 0, 0, 0, 1.3, 0, 0, 1},
                 low[9] = {1, 0, 0, 0, 0, 0.9, 0, 0, 1};
    ck_assert_double_eq_tol(env_reward(&walker, walking, still), 1.0, 1e-12);
    ck_assert_double_eq_tol(env_reward(&walker, still_up, still), 1.0 / 6.0, 1e-12);
    ck_assert_double_eq_tol(env_reward(&walker, low, still), (3.0 * pow(0.1, 0.25) + 1.0) / 4.0, 1e-12);
    const double spinning[1] = {-16}, turning[1] = {-14}, wrong_way[1] = {16};
    ck_assert_double_eq(env_reward(&finger, spinning, still), 1.0);
    ck_assert_double_eq(env_reward(&finger, turning, still), 0.0);
    ck_assert_double_eq(env_reward(&finger, wrong_way, still), 0.0);
    const double caught[6] = {0.01, 0, 0.56, 0, 0, 0.55}, beside[6] = {0.03, 0, 0.55, 0, 0, 0.55};
    ck_assert_double_eq(env_reward(&cup, caught, still), 1.0);
    ck_assert_double_eq(env_reward(&cup, beside, still), 0.0);
    env_free(&cheetah), env_free(&walker), env_free(&finger), env_free(&cup);
}
END_TEST

/* Every dmc- task: it starts where the suite's does, steps, rewards within [0, action repeat], and shows something
 * (a frame that is not one colour, and changes as it moves). */
START_TEST(dmc_tasks_start_and_step) {
    static const char *const NAMES[] = {"dmc-cartpole-swingup", "dmc-pendulum-swingup", "dmc-reacher-easy",
                                        "dmc-point-mass-easy",  "dmc-cheetah-run",      "dmc-walker-walk",
                                        "dmc-finger-spin",      "dmc-cup-catch"};
    if (!physics_available()) return;
    WmEnv env = make(NAMES[_i]);
    uint8_t *first = malloc(64 * 64 * 3), *later = malloc(64 * 64 * 3);
    reset(&env, first);
    if (strcmp(NAMES[_i], "dmc-cup-catch") == 0) /* the ball starts 0.2 to 0.5 m above its rest place (0.2 m up) */
        ck_assert_msg(fabs(env.state[0]) <= 0.2 && env.state[2] >= 0.4 && env.state[2] <= 0.7, "ball at %g, %g",
                      env.state[0], env.state[2]);
    if (strcmp(NAMES[_i], "dmc-walker-walk") == 0) ck_assert_double_eq_tol(env.state[5], 1.3, 1e-9);
    float action[6];
    int done = 0;
    for (int t = 0; t < 10; t++) {
        for (int a = 0; a < 6; a++) action[a] = (float)sin(1.3 * t + a);
        const double r = step(&env, action, later, &done);
        ck_assert_msg(r >= 0.0 && r <= env.action_repeat, "%s: reward %g", NAMES[_i], r);
    }
    int lo = 255, hi = 0, moved = 0;
    for (int i = 0; i < 64 * 64 * 3; i++) {
        lo = first[i] < lo ? first[i] : lo, hi = first[i] > hi ? first[i] : hi;
        moved += first[i] != later[i];
    }
    ck_assert_msg(hi - lo > 40 && moved > 10, "%s: contrast %d, %d values moved", NAMES[_i], hi - lo, moved);
    free(first), free(later);
    env_free(&env);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("environments");
    TCase *tc = tcase_create("rewards");
    tcase_add_test(tc, tolerance_matches_dmc);
    tcase_add_test(tc, cartpole_reward_by_hand);
    tcase_add_test(tc, pendulum_reward_by_hand);
    tcase_add_test(tc, reacher_reward_by_hand);
    tcase_add_test(tc, point_mass_reward_by_hand);
    tcase_add_loop_test(tc, do_nothing_returns, 0, 2);
    tcase_add_test(tc, same_seed_same_episode);
    tcase_add_loop_test(tc, dmc_twins_follow_ours, 0, 4);
    tcase_add_test(tc, dmc_frames_are_deterministic_and_show_the_bodies);
    tcase_add_test(tc, dmc_rewards_by_hand);
    tcase_add_loop_test(tc, dmc_tasks_start_and_step, 0, 8);
    suite_add_tcase(suite, tc);
    return check_run(suite);
}
