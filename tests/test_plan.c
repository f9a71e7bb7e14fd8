/* The planners on objectives whose optimum is known, NaN handling, and the world model as an objective. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "gradcheck.h"
#include "plan/plan_model.h"
#include "plan/planner.h"

enum { H = 6, A = 2 };

static float target(int t, int a) { return 0.6f * sinf(1.3f * t + 2.1f * a); }

/* R = -sum (a - target)^2: the optimum is the target sequence. */
static WmStatus quadratic(void *ctx, const float *candidates, int count, float *returns, WmError *err) {
    (void)ctx, (void)err;
    for (int n = 0; n < count; n++) {
        double r = 0.0;
        for (int t = 0; t < H; t++)
            for (int a = 0; a < A; a++) {
                const double d = candidates[((size_t)n * H + t) * A + a] - target(t, a);
                r -= d * d;
            }
        returns[n] = (float)r;
    }
    return WM_OK;
}

/* MPPI on this objective: exp(R / lambda) is a Gaussian of variance lambda / 2 around the target, so each
 * iteration moves the mean sigma^2 / (sigma^2 + lambda / 2) = 64% of the way there (sigma 0.3, lambda 0.1). */
static WmPlanSettings settings(WmPlanKind kind) {
    return (WmPlanSettings){.kind = kind, .horizon = H, .iterations = 10, .candidates = 1000, .top_k = 100,
                            .action_dim = A, .init_std = kind == WM_PLAN_MPPI ? 0.3f : 1.0f, .mppi_lambda = 0.1f};
}

START_TEST(cem_and_mppi_find_the_optimum) {
    const WmPlanKind kinds[] = {WM_PLAN_CEM, WM_PLAN_MPPI};
    WmPlanner p;
    WmError err = {0};
    ck_assert(planner_init(&p, &(WmPlanSettings){0}, &err) != WM_OK); /* nonsense settings are refused */
    const WmPlanSettings s = settings(kinds[_i]);
    ck_assert_msg(planner_init(&p, &s, &err) == WM_OK, "%s", err.message);
    WmRng rng = rng_stream(5, 0);
    float action[A];
    ck_assert_msg(planner_act(&p, quadratic, NULL, &rng, action, &err) == WM_OK, "%s", err.message);
    double worst = 0.0;
    for (int t = 0; t < H; t++)
        for (int a = 0; a < A; a++) worst = fmax(worst, fabs(p.mean[t * A + a] - target(t, a)));
    ck_assert_msg(worst < 0.05, "%s: plan is %.3f from the optimum", config_choice_word("plan.planner", s.kind), worst);
    for (int a = 0; a < A; a++) ck_assert_float_eq(action[a], p.mean[a]);
    /* Warm start: the next decision starts from the plan shifted by one step, and stays near the optimum. */
    ck_assert_float_eq_tol(p.mean[0], target(0, 0), 0.05f);
    planner_free(&p);
}
END_TEST

/* A proposal that knows the optimum: the search takes it, at once, even with one shooting iteration. */
static WmStatus propose_optimum(void *ctx, float *candidates, int count, WmError *err) {
    (void)err;
    int *calls = ctx;
    ++*calls;
    for (int n = 0; n < count; n++)
        for (int t = 0; t < H; t++)
            for (int a = 0; a < A; a++) candidates[((size_t)n * H + t) * A + a] = target(t, a);
    return WM_OK;
}

/* A planner of 50 candidates of which 3 are propose_optimum's, counting its calls in *calls. */
static void planner_with_optimum_proposals(WmPlanner *p, WmPlanKind kind, int iterations, int top_k, int *calls) {
    WmError err = {0};
    WmPlanSettings s = settings(kind);
    s.iterations = iterations, s.candidates = 50, s.top_k = top_k;
    ck_assert(planner_init(p, &s, &err) == WM_OK);
    *calls = 0;
    planner_set_proposal(p, propose_optimum, calls, 3);
}

START_TEST(proposed_candidates_join_the_search) {
    const WmPlanKind kinds[] = {WM_PLAN_SHOOTING, WM_PLAN_CEM, WM_PLAN_MPPI};
    WmPlanner p;
    WmError err = {0};
    int calls;
    planner_with_optimum_proposals(&p, kinds[_i], 1, 1, &calls);
    WmRng rng = rng_stream(12, 0);
    float action[A];
    ck_assert_msg(planner_act(&p, quadratic, NULL, &rng, action, &err) == WM_OK, "%s", err.message);
    ck_assert_int_eq(calls, 1);
    ck_assert_float_eq_tol((float)p.last_best, 0.0f, 1e-6f); /* the best candidate is a proposal */
    /* CEM with top 1 refits to it exactly; shooting takes it whole; MPPI weighs it far above the rest. */
    if (kinds[_i] != WM_PLAN_MPPI)
        for (int a = 0; a < A; a++) ck_assert_float_eq_tol(action[a], target(0, a), 1e-6f);
    planner_free(&p);
}
END_TEST

/* The actor's rollouts start from the same state at every iteration: they are drawn once per decision and kept
 * among the candidates of every iteration, while the rest are resampled. */
START_TEST(proposals_are_drawn_once_per_decision) {
    const WmPlanKind kinds[] = {WM_PLAN_CEM, WM_PLAN_MPPI};
    WmPlanner p;
    WmError err = {0};
    int calls;
    planner_with_optimum_proposals(&p, kinds[_i], 4, 5, &calls);
    WmRng rng = rng_stream(13, 0);
    float action[A];
    for (int decision = 1; decision <= 2; decision++) {
        ck_assert_msg(planner_act(&p, quadratic, NULL, &rng, action, &err) == WM_OK, "%s", err.message);
        ck_assert_int_eq(calls, decision);
        /* After the last iteration the proposals are still the first candidates, and the rest were resampled. */
        int resampled = 0;
        for (int n = 0; n < 4; n++)
            for (int t = 0; t < H; t++)
                for (int a = 0; a < A; a++) {
                    const float c = p.candidates[((size_t)n * H + t) * A + a];
                    if (n < 3) ck_assert_float_eq(c, target(t, a));
                    resampled += n == 3 && c != target(t, a);
                }
        ck_assert_int_gt(resampled, 0);
    }
    planner_free(&p);
}
END_TEST

START_TEST(shooting_picks_its_best_candidate) {
    WmPlanner p;
    WmError err = {0};
    const WmPlanSettings s = settings(WM_PLAN_SHOOTING);
    ck_assert(planner_init(&p, &s, &err) == WM_OK);
    WmRng rng = rng_stream(6, 0);
    float action[A], returns[1];
    ck_assert(planner_act(&p, quadratic, NULL, &rng, action, &err) == WM_OK);
    /* The plan is one of the candidates, the one with the highest return. */
    quadratic(NULL, p.mean, 1, returns, &err);
    ck_assert_float_eq(returns[0], (float)p.last_best);
    ck_assert_float_gt(returns[0], -2.0f); /* far better than a typical uniform draw, about -5 */
    planner_free(&p);
}
END_TEST

/* R = first action, except NaN above 0.5: a NaN must never win. */
static WmStatus nan_above_half(void *ctx, const float *candidates, int count, float *returns, WmError *err) {
    (void)ctx, (void)err;
    for (int n = 0; n < count; n++) {
        const float a = candidates[(size_t)n * H * A];
        returns[n] = a > 0.5f ? NAN : a;
    }
    return WM_OK;
}

static WmStatus all_nan(void *ctx, const float *candidates, int count, float *returns, WmError *err) {
    (void)ctx, (void)err, (void)candidates;
    for (int n = 0; n < count; n++) returns[n] = NAN;
    return WM_OK;
}

START_TEST(nan_never_wins) {
    const WmPlanKind kind = (WmPlanKind)_i;
    WmPlanner p;
    WmError err = {0};
    const WmPlanSettings s = settings(kind);
    ck_assert(planner_init(&p, &s, &err) == WM_OK);
    WmRng rng = rng_stream(7, 0);
    float action[A];
    ck_assert_msg(planner_act(&p, nan_above_half, NULL, &rng, action, &err) == WM_OK, "%s", err.message);
    ck_assert_msg(action[0] <= 0.5f && action[0] > 0.3f, "%s chose %.3f", config_choice_word("plan.planner", kind),
                  action[0]);
    ck_assert(isfinite(action[1]) && fabsf(action[1]) <= 1.0f);
    ck_assert_int_eq(planner_act(&p, all_nan, NULL, &rng, action, &err), WM_ERR_NUMERIC);
    planner_free(&p);
}
END_TEST

/* Two models of a one-step, one-action problem. They agree for a <= 0 (R = a); for a > 0 the second says R = 3a.
 * The mean, 2a, is best at a = 1; the variance is a^2, so mean - 2 variance is best at a = 0.5. */
static WmStatus disagreeing_pair(void *ctx, const float *candidates, int count, float *returns, WmError *err) {
    (void)ctx, (void)err;
    for (int n = 0; n < count; n++) {
        const float a = candidates[n];
        returns[n] = a;
        returns[count + n] = a > 0.0f ? 3.0f * a : a;
    }
    return WM_OK;
}

START_TEST(ensemble_penalty_changes_the_plan) {
    WmPlanSettings s = {.kind = WM_PLAN_CEM, .horizon = 1, .iterations = 10, .candidates = 1000, .top_k = 100,
                        .action_dim = 1, .init_std = 1.0f, .members = 2, .variance_penalty = 0.0f};
    WmPlanner bold, careful;
    WmError err = {0};
    ck_assert(planner_init(&bold, &s, &err) == WM_OK);
    s.variance_penalty = 2.0f;
    ck_assert(planner_init(&careful, &s, &err) == WM_OK);
    WmRng a = rng_stream(8, 0), b = rng_stream(8, 0);
    float bold_action, careful_action;
    ck_assert(planner_act(&bold, disagreeing_pair, NULL, &a, &bold_action, &err) == WM_OK);
    ck_assert(planner_act(&careful, disagreeing_pair, NULL, &b, &careful_action, &err) == WM_OK);
    ck_assert_msg(bold_action > 0.95f, "without the penalty: %.3f, expected 1", bold_action);
    ck_assert_msg(fabsf(careful_action - 0.5f) < 0.05f, "with the penalty: %.3f, expected 0.5", careful_action);
    planner_free(&bold);
    planner_free(&careful);
}
END_TEST

/* A tiny world model (16x16, deter 8, stoch 4) with `members` ensemble members, weights drawn from seed 3 and every
 * bias nonzero. */
static void tiny_model_v3(WmWorldModel *m, WmConfig *c, int members, int v3) {
    config_defaults(c);
    WmError err = {0};
    static const char *const SETS[] = {"data.height=16",
                                       "data.width=16",
                                       "model.depth=2",
                                       "model.encoder_kernels=[4,4]",
                                       "model.decoder_kernels=[6,6]",
                                       "model.deter=8",
                                       "model.stoch=4",
                                       "model.hidden=8",
                                       "model.reward_units=8"};
    /* DreamerV3's model: 2 categoricals of 2 classes (the state is still 4 floats), twohot reward, SiLU, norms, the
     * action's own input layer. */
    static const char *const V3[] = {"model.stoch=2",         "model.latent=categorical", "model.classes=2",
                                     "model.reward_head=twohot", "model.activation=silu",  "model.norm=layer",
                                     "model.action_input=separate"};
    for (size_t i = 0; i < sizeof SETS / sizeof SETS[0]; i++)
        ck_assert(config_set_assignment(c, SETS[i], &err) == WM_OK);
    for (size_t i = 0; v3 && i < sizeof V3 / sizeof V3[0]; i++)
        ck_assert(config_set_assignment(c, V3[i], &err) == WM_OK);
    c->model.ensemble = members;
    const WmModelConfig model_config = model_config_from(c);
    ck_assert_msg(world_model_create(m, &model_config, A, &err) == WM_OK, "%s", err.message);
    world_model_init_params(m, 3);
    for (int i = 0; i < m->params.count; i++)
        if (m->params.infos[i].rank == 1)
            fill_normal(params_value(&m->params, i), m->params.infos[i].count, 0.2f, 40 + i);
    const int reward_out = m->reward.layers[m->reward.count - 1].weight; /* a twohot head starts at zero */
    if (v3) fill_normal(params_value(&m->params, reward_out), m->params.infos[reward_out].count, 3.0f, 39);
}

static void tiny_model(WmWorldModel *m, WmConfig *c, int members) { tiny_model_v3(m, c, members, 0); }

/* The world model's objective: batching does not change a candidate's return, and a sequence's return is the
 * sum of the rewards predicted along it. */
START_TEST(model_objective_is_batch_consistent) {
    WmConfig c;
    WmError err = {0};
    WmWorldModel m;
    tiny_model(&m, &c, 1);
    WmPlanModel o;
    ck_assert(plan_model_init(&o, &m, 50, H, 0, 0, 0, &err) == WM_OK);
    float h[8], z[4], candidates[50 * H * A], batched[50], single[1];
    fill_normal(h, 8, 0.5f, 1), fill_normal(z, 4, 0.5f, 2), fill_uniform(candidates, 50 * H * A, -1, 1, 3);
    plan_model_start(&o, h, z);
    ck_assert_msg(plan_model_returns(&o, candidates, 50, batched, &err) == WM_OK, "%s", err.message);
    for (int n = 0; n < 50; n += 7) {
        ck_assert(plan_model_returns(&o, candidates + (size_t)n * H * A, 1, single, &err) == WM_OK);
        ck_assert_float_eq_tol(single[0], batched[n], 1e-5f * (1 + fabsf(batched[n])));
    }
    int differ = 0;
    for (int n = 1; n < 50; n++) differ |= batched[n] != batched[0];
    ck_assert_msg(differ, "every candidate got the same return");
    /* A value bootstrap puts gamma^(H-1) v(s_H) in place of r_H, which v holds: the return of the first H - 1
     * steps plus the value, which, its weights zero, says its output bias everywhere. */
    WmValue value;
    c.actor.value_layers = 1, c.actor.value_units = 4;
    ck_assert(value_create(&value, &c.actor, 12, &err) == WM_OK);
    const int out_bias = value.params.count - 1;
    ck_assert_str_eq(value.params.infos[out_bias].name, "value.out.bias");
    params_value(&value.params, out_bias)[0] = 2.5f;
    float bootstrapped[50];
    plan_model_set_value(&o, &value, 0.9f);
    ck_assert(plan_model_returns(&o, candidates, 50, bootstrapped, &err) == WM_OK);
    value_free(&value);
    plan_model_free(&o);
    float shorter[50 * (H - 1) * A], first_steps[50];
    for (int n = 0; n < 50; n++)
        memcpy(shorter + (size_t)n * (H - 1) * A, candidates + (size_t)n * H * A, (size_t)(H - 1) * A * sizeof(float));
    ck_assert(plan_model_init(&o, &m, 50, H - 1, 0, 0, 0, &err) == WM_OK);
    plan_model_start(&o, h, z);
    ck_assert(plan_model_returns(&o, shorter, 50, first_steps, &err) == WM_OK);
    for (int n = 0; n < 50; n++)
        ck_assert_float_eq_tol(bootstrapped[n] - first_steps[n], powf(0.9f, H - 1) * 2.5f,
                               1e-5f * (1 + fabsf(batched[n])));
    plan_model_free(&o);

    /* With a second member (same weights elsewhere: tensors draw from streams named after them), particle 0
     * is the single model's rollout and particle 1 another one. */
    WmWorldModel pair;
    tiny_model(&pair, &c, 2);
    for (int i = 0; i < m.params.count; i++) {
        const int j = params_find(&pair.params, m.params.infos[i].name);
        memcpy(params_value(&pair.params, j), params_value(&m.params, i), m.params.infos[i].count * sizeof(float));
    }
    float both[2 * 50];
    ck_assert(plan_model_init(&o, &pair, 50, H, 0, 0, 0, &err) == WM_OK);
    plan_model_start(&o, h, z);
    ck_assert(plan_model_returns(&o, candidates, 50, both, &err) == WM_OK);
    int members_differ = 0;
    for (int n = 0; n < 50; n++) {
        ck_assert_float_eq_tol(both[n], batched[n], 1e-5f * (1 + fabsf(batched[n])));
        members_differ |= both[50 + n] != both[n];
    }
    ck_assert_msg(members_differ, "the second head predicted what the first did");
    plan_model_free(&o);
    world_model_free(&pair);
    world_model_free(&m);
}
END_TEST

/* Pearson correlation of two return vectors. */
static double correlation(const float *a, const float *b, int n) {
    double ma = 0, mb = 0, ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) ma += a[i] / n, mb += b[i] / n;
    for (int i = 0; i < n; i++) {
        ab += (a[i] - ma) * (b[i] - mb), aa += (a[i] - ma) * (a[i] - ma), bb += (b[i] - mb) * (b[i] - mb);
    }
    return ab / sqrt(aa * bb);
}

/* bf16 planning ranks candidates as fp32 does: every return within 2% (of the largest), correlation above 0.999;
 * the ensemble's particles come out as in fp32; new weights reach the bf16 copies through plan_model_load. _i: 0
 * PlaNet's model, 1 DreamerV3's, where bf16 runs the same model (every return within 5%) but is not shown to rank
 * as fp32 does: on this tiny random model the correlation is 0.92 (configs/dreamerv3.yaml plans in fp32). */
START_TEST(bf16_objective_tracks_fp32) {
    enum { N = 200 };
    WmConfig c;
    WmError err = {0};
    WmWorldModel pair;
    tiny_model_v3(&pair, &c, 2, _i);
    WmPlanModel exact, fast;
    static float h[8], z[4], candidates[N * H * A], want[2 * N], got[2 * N];
    fill_normal(h, 8, 0.5f, 1), fill_normal(z, 4, 0.5f, 2), fill_uniform(candidates, N * H * A, -1, 1, 3);
    ck_assert(plan_model_init(&exact, &pair, N, H, 0, 0, 0, &err) == WM_OK);
    ck_assert_msg(plan_model_init(&fast, &pair, N, H, 0, 1, 0, &err) == WM_OK, "%s", err.message);
    plan_model_start(&exact, h, z), plan_model_start(&fast, h, z);
    for (int round = 0; round < 2; round++) {
        ck_assert(plan_model_returns(&exact, candidates, N, want, &err) == WM_OK);
        ck_assert_msg(plan_model_returns(&fast, candidates, N, got, &err) == WM_OK, "%s", err.message);
        float largest = 0;
        for (int n = 0; n < 2 * N; n++) largest = fmaxf(largest, fabsf(want[n]));
        int identical = 1, worst = 0;
        for (int n = 0; n < 2 * N; n++) {
            worst = fabsf(got[n] - want[n]) > fabsf(got[worst] - want[worst]) ? n : worst;
            identical &= got[n] == want[n];
        }
        ck_assert_msg(fabsf(got[worst] - want[worst]) <= (_i ? 0.05f : 0.02f) * largest,
                      "round %d, row %d: bf16 %.5f, fp32 %.5f of %.5f", round, worst, got[worst], want[worst], largest);
        ck_assert_msg(!identical, "bf16 returns equal fp32's bit for bit: not running in bf16");
        for (int k = 0; k < 2 && !_i; k++) {
            const double r = correlation(got + k * N, want + k * N, N);
            ck_assert_msg(r > 0.999, "round %d, particle %d: correlation %.5f", round, k, r);
        }
        /* Train the model a little (here: flip the reward head's last layer) and reload. */
        const WmDense *last = &pair.reward.layers[pair.reward.count - 1];
        float *w = params_value(&pair.params, last->weight);
        for (int i = 0; i < last->in; i++) w[i] = -w[i];
        ck_assert(plan_model_load(&fast, &err) == WM_OK);
    }
    ck_assert(plan_model_returns(&fast, candidates, 1, got, &err) == WM_ERR_ARG);
    ck_assert_msg(strstr(err.message, "built for 200 candidates") != NULL, "%s", err.message);
    plan_model_free(&exact);
    plan_model_free(&fast);
    world_model_free(&pair);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("planning");
    TCase *tc = tcase_create("planning");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, cem_and_mppi_find_the_optimum, 0, 2);
    tcase_add_test(tc, shooting_picks_its_best_candidate);
    tcase_add_loop_test(tc, proposed_candidates_join_the_search, 0, 3);
    tcase_add_loop_test(tc, proposals_are_drawn_once_per_decision, 0, 2);
    tcase_add_loop_test(tc, nan_never_wins, 0, 3);
    tcase_add_test(tc, ensemble_penalty_changes_the_plan);
    tcase_add_test(tc, model_objective_is_batch_consistent);
    tcase_add_loop_test(tc, bf16_objective_tracks_fp32, 0, 2);
    suite_add_tcase(suite, tc);
    return check_run(suite);
}
