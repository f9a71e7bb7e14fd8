/* Dreamer's actor-critic in imagination: the actor's and the value's gradients through the imagined rollout match
 * central differences (every tensor, a tiny model), the tanh-Normal's entropy and log-probability gradients too,
 * and imagination never touches the world model's gradients. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "gradcheck.h"
#include "train/imagine.h"
#include "train/imagined.h"

enum { ACTIONS = 2, STARTS = 3 };

static void tiny_config(WmConfig *c, const char *gradient) {
    config_defaults(c);
    WmError err = {0};
    static const char *const SETS[] = {
        "data.height=16", "data.width=16", "model.depth=2", "model.encoder_kernels=[4,4]",
        "model.decoder_kernels=[6,6]", "model.deter=6", "model.stoch=3", "model.hidden=5", "model.reward_layers=1",
        "model.reward_units=5", "model.activation=elu", "actor.enabled=true", "actor.layers=2", "actor.units=6",
        "actor.value_layers=2", "actor.value_units=5", "actor.horizon=4", "actor.entropy_scale=0.3",
        "actor.init_std=0.7"};
    for (size_t i = 0; i < sizeof SETS / sizeof SETS[0]; i++)
        ck_assert_msg(config_set_assignment(c, SETS[i], &err) == WM_OK, "%s", err.message);
    ck_assert_msg(config_set(c, "actor.gradient", gradient, "test", &err) == WM_OK, "%s", err.message);
}

/* The losses' forward, then their backward. */
static WmStatus losses_forward_backward(WmImagination *im, const WmWorldModel *m, const float *h, const float *z,
                                        const WmImagineReplay *replay, WmImagineLosses *l, WmError *err) {
    return imagine_losses_forward(im, m, h, z, replay, l, err) ? err->status : imagine_losses_backward(im, m, err);
}

typedef struct {
    WmImagination im;
    WmWorldModel model;
    float *h, *z, *saved;
    const WmImagineReplay *replay; /* the starts as a replayed sequence, or NULL */
    WmParams *params; /* whose gradient is checked: the actor's or the value's */
    int value;        /* checking the value loss, else the actor loss */
    double loss;
    float loss_grad;
} Fixture;

/* slow_target: the returns bootstrap from a frozen copy of the value, so a perturbed value moves its prediction
 * and not the target it regresses onto (the stop-gradient the value loss has). */
static void make_fixture_full(Fixture *f, const char *gradient, int slow_target, int continue_head, int members,
                              int twohot, float slow_regularizer, int v3_layers, int bounded) {
    memset(f, 0, sizeof *f);
    WmConfig c;
    tiny_config(&c, gradient);
    if (v3_layers) {
        c.model.activation = c.actor.activation = WM_ACTIVATION_SILU;
        c.model.norm = c.actor.norm = WM_NORM_LAYER;
        c.model.action_input = WM_ACTION_INPUT_SEPARATE; /* the action's own layer, which daction goes through */
    }
    if (twohot) c.model.reward_head = c.actor.value_head = WM_REGRESSION_TWOHOT;
    /* A narrow bounded Normal keeps every imagined sample off the clip's kink, where central differences would step
     * across it (the clip's own gradient is checked with the distribution alone). */
    if (bounded) c.actor.distribution = WM_ACTION_BOUNDED_NORMAL, c.actor.min_std = 0.05, c.actor.max_std = 0.15;
    c.actor.slow_regularizer = slow_regularizer;
    c.actor.slow_target = slow_target;
    c.model.continue_head = continue_head;
    c.model.ensemble = members;
    if (members > 1) c.actor.variance_penalty = 0.7;
    WmError err = {0};
    const WmModelConfig mc = model_config_from(&c);
    ck_assert_msg(world_model_create(&f->model, &mc, ACTIONS, &err) == WM_OK, "%s", err.message);
    world_model_init_params(&f->model, 4);
    for (int i = 0; i < f->model.params.count; i++)
        if (f->model.params.infos[i].rank == 1)
            fill_normal(params_value(&f->model.params, i), f->model.params.infos[i].count, 0.1f, 60 + i);
    ck_assert_msg(imagine_create(&f->im, &c, &f->model, STARTS, &err) == WM_OK, "%s", err.message);
    for (int i = 0; i < f->im.actor.params.count; i++)
        if (f->im.actor.params.infos[i].rank == 1)
            fill_normal(params_value(&f->im.actor.params, i), f->im.actor.params.infos[i].count, 0.2f, 90 + i);
    for (int i = 0; i < f->im.value.params.count; i++)
        if (f->im.value.params.infos[i].rank == 1)
            fill_normal(params_value(&f->im.value.params, i), f->im.value.params.infos[i].count, 0.2f, 120 + i);
    f->h = malloc(STARTS * 6 * sizeof(float)), f->z = malloc(STARTS * 3 * sizeof(float));
    fill_normal(f->h, STARTS * 6, 0.5f, 7);
    fill_normal(f->z, STARTS * 3, 1.0f, 8);
    fill_normal(f->im.noise, imagine_noise_floats(&f->im, &f->model), 1.0f, 9);
    for (int k = 0; k < f->im.horizon; k++) f->im.member_at[k] = (k * 7 + 1) % members; /* held fixed, as the noise */
    /* A twohot head starts with its output layer at zero, where nothing before it gets a gradient: give it weights. */
    const int reward_out = f->model.reward.layers[f->model.reward.count - 1].weight;
    const int value_out = f->im.value.net.layers[f->im.value.net.count - 1].weight;
    if (twohot) {
        fill_normal(params_value(&f->model.params, reward_out), f->model.params.infos[reward_out].count, 0.3f, 10);
        fill_normal(params_value(&f->im.value.params, value_out), f->im.value.params.infos[value_out].count, 0.3f, 11);
    }
}

static void make_fixture_with(Fixture *f, const char *gradient, int slow_target, int continue_head, int members) {
    make_fixture_full(f, gradient, slow_target, continue_head, members, 0, 0.0f, 0, 0);
}

static void make_fixture(Fixture *f, const char *gradient, int slow_target) {
    make_fixture_with(f, gradient, slow_target, 0, 1);
}

static void free_fixture(Fixture *f) {
    imagine_free(&f->im);
    world_model_free(&f->model);
    free(f->h), free(f->z), free(f->saved);
}

static void losses_forward(void *ctx) {
    Fixture *f = ctx;
    WmImagineLosses l;
    WmError err = {0};
    ck_assert_msg(imagine_losses_forward(&f->im, &f->model, f->h, f->z, f->replay, &l, &err) == WM_OK, "%s",
                  err.message);
    f->loss = f->value ? l.value_loss : l.actor_loss;
}

static void losses_backward(void *ctx) {
    Fixture *f = ctx;
    WmParams *p = f->params;
    memcpy(f->saved, p->grad, p->total * sizeof(float));
    params_zero_grad(&f->im.actor.params);
    params_zero_grad(&f->im.value.params);
    WmImagineLosses l;
    WmError err = {0};
    ck_assert_msg(losses_forward_backward(&f->im, &f->model, f->h, f->z, f->replay, &l, &err) == WM_OK, "%s",
                  err.message);
    for (size_t i = 0; i < p->total; i++) p->grad[i] = f->saved[i] + f->loss_grad * p->grad[i];
}

/* Every tensor of `p` against central differences of the actor's (value = 0) or the value's loss. */
static void check_tensors(Fixture *f, WmParams *p, int value, const char *what) {
    f->params = p, f->value = value;
    f->saved = realloc(f->saved, p->total * sizeof(float));
    for (int first = 0; first < p->count; first += 8) {
        GcProblem g;
        memset(&g, 0, sizeof g);
        g.ctx = f, g.forward = losses_forward, g.backward = losses_backward;
        g.scalar = &f->loss, g.scalar_grad = &f->loss_grad;
        g.eps = 3e-3, g.atol = 5e-4, g.rtol = 3e-2, g.max_checks = 12; /* float nets under a double loss */
        for (int i = first; i < first + 8 && i < p->count; i++)
            g.inputs[g.input_count++] = (GcInput){p->infos[i].name, params_value(p, i), params_grad(p, i),
                                                  p->infos[i].count};
        char report[256];
        ck_assert_msg(gradcheck_run(&g, report, sizeof report) == 0, "%s: %s", what, report);
    }
}

/* The actor's gradient through the dynamics, in each variant of the objective: plain, returns from a slow value,
 * a continue head discounting each imagined step by its probability that the episode goes on (the gradient runs
 * through it too), and an ensemble of three members with the variance penalty, whose gradient runs through
 * every head's prior and reward; and returns normalised by a running percentile range of 4. */
static const struct {
    const char *what;
    int slow_target, continue_head, members, normalized, twohot, v3_layers, bounded;
} ACTOR_VARIANTS[] = {
    {"actor loss (dynamics)", 0, 0, 1, 0, 0, 0, 0},
    {"actor loss (dynamics, slow value)", 1, 0, 1, 0, 0, 0, 0},
    {"actor loss (continue head)", 0, 1, 1, 0, 0, 0, 0},
    {"actor loss (ensemble penalty)", 0, 0, 3, 0, 0, 0, 0},
    {"actor loss (returns normalised)", 0, 0, 1, 1, 0, 0, 0},
    {"actor loss (twohot reward and value, ensemble penalty)", 1, 0, 3, 0, 1, 0, 0},
    {"actor loss (SiLU and LayerNorm in the model, the actor and the value; the action's own layer)", 1, 1, 3, 0, 1, 1,
     0},
    {"actor loss (DreamerV3's bounded Normal)", 0, 0, 1, 0, 0, 0, 1},
};

/* actor.return_normalization with running percentiles -1.5 and 2.5: the return term is divided by 4. */
static void normalize_returns(Fixture *f) {
    f->im.normalize_returns = 1, f->im.return_low = -1.5, f->im.return_high = 2.5;
}

START_TEST(actor_gradient_matches_central_differences) {
    Fixture f;
    make_fixture_full(&f, "dynamics", ACTOR_VARIANTS[_i].slow_target, ACTOR_VARIANTS[_i].continue_head,
                      ACTOR_VARIANTS[_i].members, ACTOR_VARIANTS[_i].twohot, 0.0f, ACTOR_VARIANTS[_i].v3_layers,
                      ACTOR_VARIANTS[_i].bounded);
    if (ACTOR_VARIANTS[_i].normalized) normalize_returns(&f);
    check_tensors(&f, &f.im.actor.params, 0, ACTOR_VARIANTS[_i].what);
    free_fixture(&f);
}
END_TEST

/* With an ensemble, the penalty lowers the imagined return: the members disagree. */
START_TEST(the_ensemble_penalty_lowers_the_imagined_return) {
    Fixture f;
    make_fixture_with(&f, "dynamics", 0, 0, 3);
    WmImagineLosses with, without;
    WmError err = {0};
    ck_assert(imagine_losses_forward(&f.im, &f.model, f.h, f.z, NULL, &with, &err) == WM_OK);
    f.im.variance_penalty = 0.0f;
    ck_assert(imagine_losses_forward(&f.im, &f.model, f.h, f.z, NULL, &without, &err) == WM_OK);
    ck_assert_double_lt(with.imagined_return, without.imagined_return);
    free_fixture(&f);
}
END_TEST

/* Without the entropy bonus, normalising by a range of 4 divides the actor's loss and gradient by 4 and leaves
 * the value's alone, for either gradient estimator; one update then moves the running percentiles 1% of the way
 * to the batch's, which lie in order within the returns. */
START_TEST(normalised_returns_scale_the_actor_alone) {
    static const char *const GRADIENTS[2] = {"dynamics", "reinforce"};
    for (int g = 0; g < 2; g++) {
        Fixture plain, scaled;
        make_fixture(&plain, GRADIENTS[g], 0), make_fixture(&scaled, GRADIENTS[g], 0);
        plain.im.entropy_scale = scaled.im.entropy_scale = 0.0f;
        normalize_returns(&scaled);
        ck_assert_double_eq(imagine_return_scale(&scaled.im), 4.0);
        ck_assert_double_eq(imagine_return_scale(&plain.im), 1.0);
        WmImagineLosses a, b;
        WmError err = {0};
        ck_assert(losses_forward_backward(&plain.im, &plain.model, plain.h, plain.z, NULL, &a, &err) == WM_OK);
        ck_assert(losses_forward_backward(&scaled.im, &scaled.model, scaled.h, scaled.z, NULL, &b, &err) == WM_OK);
        ck_assert_double_eq_tol(b.actor_loss, a.actor_loss / 4.0, 1e-9 * (1.0 + fabs(a.actor_loss)));
        ck_assert_double_eq(b.value_loss, a.value_loss);
        ck_assert_double_eq(b.return_low, a.return_low);
        ck_assert(isfinite(a.return_low) && isfinite(a.return_high));
        ck_assert_double_le(a.return_low, a.return_high);
        const WmParams *pa = &plain.im.actor.params, *pb = &scaled.im.actor.params;
        double largest = 0.0;
        for (size_t i = 0; i < pa->total; i++) largest = fmax(largest, fabs(pa->grad[i]));
        ck_assert_double_gt(largest, 0.0);
        for (size_t i = 0; i < pa->total; i++)
            ck_assert_msg(fabs(pb->grad[i] - pa->grad[i] / 4.0f) <= 1e-5 * largest, "%s: actor gradient %zu: %g vs %g",
                          GRADIENTS[g], i, pb->grad[i], pa->grad[i] / 4.0f);
        ck_assert_int_eq(memcmp(plain.im.value.params.grad, scaled.im.value.params.grad,
                                plain.im.value.params.total * sizeof(float)), 0);
        /* One update from running percentiles at 0: they become 1% of the batch's. */
        scaled.im.return_low = scaled.im.return_high = 0.0;
        WmImagineLosses u;
        ck_assert(imagine_update(&scaled.im, &scaled.model, scaled.h, scaled.z, NULL, &u, &err) == WM_OK);
        ck_assert_double_eq_tol(scaled.im.return_low, 0.01 * u.return_low, 1e-15);
        ck_assert_double_eq_tol(scaled.im.return_high, 0.01 * u.return_high, 1e-15);
        free_fixture(&plain), free_fixture(&scaled);
    }
}
END_TEST

/* REINFORCE's advantage for the action at s_{k-1} is that state's return minus its value, both holding r_{k-1}, so
 * the reward the action cannot change drops out (DreamerV3's return and value hold neither); r_0 is the reward
 * head's at the start. */
START_TEST(reinforce_advantage_is_the_return_less_the_value_of_the_state_acted_in) {
    Fixture f;
    make_fixture_with(&f, "reinforce", 0, 1, 1);
    WmImagineLosses l;
    WmError err = {0};
    ck_assert(imagine_losses_forward(&f.im, &f.model, f.h, f.z, NULL, &l, &err) == WM_OK);
    const WmImagineRollout *r = f.im.rollout;
    const int N = STARTS;
    const float lambda = f.im.lambda;
    double largest = 0.0;
    for (int n = 0; n < N; n++) ck_assert_float_eq(AT(r->reward, 0)[n], r->s[0].reward[n]);
    for (int k = 1; k < f.im.horizon; k++)
        for (int n = 0; n < N; n++) {
            const double ret_before = AT(r->reward, k - 1)[n] + (double)AT(r->discount, k - 1)[n] *
                                                                     ((1.0 - lambda) * AT(r->bootstrap, k)[n] +
                                                                      lambda * AT(r->ret, k)[n]);
            const double expected = ret_before - AT(r->bootstrap, k - 1)[n];
            ck_assert_double_eq_tol(AT(r->advantage, k)[n], expected, 1e-5 * (1.0 + fabs(expected)));
            largest = fmax(largest, fabs(AT(r->reward, k - 1)[n]));
        }
    ck_assert_double_gt(largest, 0.0);
    free_fixture(&f);
}
END_TEST

/* actor.imagine_last = K: the update starts from the last K steps of each sequence, the trace's last B x K rows
 * (time-major), and is the same update as one given those rows; a K past the sequence is refused. */
START_TEST(imagine_last_starts_from_the_last_steps_of_every_sequence) {
    enum { B = 2, L = 3 };
    WmConfig c;
    tiny_config(&c, "dynamics");
    ck_assert_int_eq(imagine_starts(&c, B, L), B * L);
    c.data.length = L, c.actor.imagine_last = L + 1;
    WmError err = {0};
    ck_assert(config_validate(&c, &err) == WM_ERR_ARG && strstr(err.message, "actor.imagine_last") != NULL);
    c.actor.imagine_last = 1;
    ck_assert_int_eq(imagine_starts(&c, B, L), B);
    const WmModelConfig mc = model_config_from(&c);
    WmWorldModel m;
    err = (WmError){0};
    ck_assert_msg(world_model_create(&m, &mc, ACTIONS, &err) == WM_OK, "%s", err.message);
    world_model_init_params(&m, 4);
    const int D = m.rssm.deter, S = m.rssm.stoch;
    float *h = malloc(B * L * D * sizeof(float)), *z = malloc(B * L * S * sizeof(float));
    fill_normal(h, B * L * D, 0.5f, 1), fill_normal(z, B * L * S, 1.0f, 2);
    const WmRssmTrace kept = m.trace;
    m.batch = B, m.length = L, m.trace.h = h, m.trace.z = z;
    WmImagination from_trace, given;
    ck_assert(imagine_create(&from_trace, &c, &m, B, &err) == WM_OK);
    ck_assert(imagine_create(&given, &c, &m, B, &err) == WM_OK);
    WmImagineLosses a, b;
    ck_assert(imagine_update_from_trace(&from_trace, &m, &a, &err) == WM_OK);
    ck_assert(imagine_update(&given, &m, h + (L - 1) * B * D, z + (L - 1) * B * S, NULL, &b, &err) == WM_OK);
    ck_assert(a.actor_loss == b.actor_loss && a.value_loss == b.value_loss && isfinite(a.actor_loss));
    ck_assert_int_eq(memcmp(from_trace.actor.params.value, given.actor.params.value,
                            given.actor.params.total * sizeof(float)), 0);
    imagine_free(&from_trace), imagine_free(&given);
    m.trace = kept;
    world_model_free(&m);
    free(h), free(z);
}
END_TEST

/* The three starts as one replayed sequence, the second of its frames the episode's last. */
static const float REPLAY_REWARDS[STARTS] = {0.7f, -1.3f, 2.1f}, REPLAY_CONTINUES[STARTS] = {1.0f, 0.0f, 1.0f};
static const WmImagineReplay REPLAY = {REPLAY_REWARDS, REPLAY_CONTINUES, 1};

/* _i: 0 a Gaussian value (squared error), 1 twohot (cross-entropy), 2 and 3 the same with DreamerV3's pull toward
 * the slow value (the slow copy, which the returns bootstrap from too, moved away from the value), 4 and 5 those
 * with the replay value loss beside them. */
START_TEST(value_gradient_matches_central_differences) {
    static const char *const WHAT[6] = {"value loss", "value loss (twohot)", "value loss (slow regulariser)",
                                        "value loss (twohot, slow regulariser)", "value loss (replayed starts)",
                                        "value loss (twohot, replayed starts)"};
    Fixture f;
    make_fixture_full(&f, "dynamics", 1, 0, 1, _i % 2, _i >= 2 ? 0.8f : 0.0f, 0, 0);
    for (size_t i = 0; _i >= 2 && i < f.im.value.params.total; i++) f.im.value_target.value[i] *= 0.7f;
    if (_i >= 4) f.replay = &REPLAY, f.im.replay_value = 0.6f;
    check_tensors(&f, &f.im.value.params, 1, WHAT[_i]);
    free_fixture(&f);
}
END_TEST

/* The replay value loss's targets, written out for one sequence of three starts: the last is the start's reward
 * plus what imagination expects after it, each earlier one its reward plus the discounted mix of the next's
 * one-step bootstrap and its own target, cut where the episode ends; the loss adds replay_value times the mean
 * squared error of the value on the first two starts, half of it. */
START_TEST(replay_value_targets_are_lambda_returns_of_the_real_rewards) {
    Fixture f;
    make_fixture_full(&f, "reinforce", 1, 1, 1, 0, 0.0f, 0, 0);
    WmImagineLosses with, without;
    WmError err = {0};
    ck_assert(imagine_losses_forward(&f.im, &f.model, f.h, f.z, &REPLAY, &without, &err) == WM_OK);
    ck_assert(f.im.rollout->replay_return == NULL); /* replay_value 0: off */
    f.im.replay_value = 0.3f;
    ck_assert(imagine_losses_forward(&f.im, &f.model, f.h, f.z, &REPLAY, &with, &err) == WM_OK);
    const WmImagineRollout *r = f.im.rollout;
    const double gamma = f.im.gamma, lambda = f.im.lambda;
    double after[STARTS], expected[STARTS];
    for (int n = 0; n < STARTS; n++) /* column 1 of the (H + 1, N) scalars */
        after[n] = gamma * ((1.0 - lambda) * r->bootstrap[STARTS + n] + lambda * r->ret[STARTS + n]);
    expected[2] = REPLAY_REWARDS[2] + after[2];
    expected[1] = REPLAY_REWARDS[1]; /* the episode's last frame */
    expected[0] = REPLAY_REWARDS[0] + gamma * ((1.0 - lambda) * (REPLAY_REWARDS[1] + after[1]) + lambda * expected[1]);
    double squares = 0.0;
    for (int n = 0; n < STARTS; n++) ck_assert_double_eq_tol(r->replay_return[n], expected[n], 1e-5);
    for (int n = 0; n < 2; n++) squares += 0.5 * pow(r->s[0].value[n] - expected[n], 2);
    ck_assert_double_eq_tol(with.value_loss - without.value_loss, 0.3 * squares / 2, 1e-5);
    ck_assert_double_eq_tol(with.replay_return, (expected[0] + expected[1]) / 2, 1e-5);
    ck_assert(with.actor_loss == without.actor_loss);
    free_fixture(&f);
}
END_TEST

START_TEST(imagination_leaves_the_world_model_gradients_alone) {
    Fixture f;
    make_fixture(&f, "dynamics", 0);
    WmParams *p = &f.model.params;
    fill_normal(p->grad, p->total, 1.0f, 11);
    float *before = malloc(p->total * sizeof(float)), *values = malloc(p->total * sizeof(float));
    memcpy(before, p->grad, p->total * sizeof(float));
    memcpy(values, p->value, p->total * sizeof(float));
    WmImagineLosses l;
    WmError err = {0};
    ck_assert(imagine_update(&f.im, &f.model, f.h, f.z, NULL, &l, &err) == WM_OK);
    ck_assert_int_eq(memcmp(before, p->grad, p->total * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(values, p->value, p->total * sizeof(float)), 0);
    ck_assert(isfinite(l.actor_loss) && isfinite(l.value_loss) && l.actor_grad_norm > 0 && l.value_grad_norm > 0);
    free(before), free(values);
    free_fixture(&f);
}
END_TEST

/* ---- each action distribution alone ---- */

typedef struct {
    WmActionDist dist;
    float raw[2 * 3 * 2], eps[3 * 2], mean[6], std[6], u[6], action[6], entropy[3], log_prob[3];
    float draw[12], daction[6], dentropy[3], dlog_prob[3];
    float fixed_u[6]; /* for the score function: u held where it was */
} Dist;

enum { DB = 3, DA = 2 };

static void dist_forward(void *ctx) {
    Dist *d = ctx;
    action_dist_forward(&d->dist, d->raw, d->eps, d->mean, d->std, d->u, d->action, DB, DA);
    action_dist_entropy(&d->dist, d->std, d->u, d->eps, d->entropy, DB, DA);
}

static void dist_backward(void *ctx) {
    Dist *d = ctx;
    action_dist_backward(&d->dist, d->raw, d->std, d->u, d->eps, d->daction, d->dentropy, d->draw, DB, DA);
}

/* log pi(fixed_u) as a function of raw: eps follows from u = mean + std eps. */
static void score_forward(void *ctx) {
    Dist *d = ctx;
    float eps[6];
    action_dist_forward(&d->dist, d->raw, NULL, d->mean, d->std, d->u, d->action, DB, DA);
    for (int i = 0; i < DB * DA; i++) eps[i] = (d->fixed_u[i] - d->mean[i]) / d->std[i], d->u[i] = d->fixed_u[i];
    memcpy(d->eps, eps, sizeof eps);
    action_dist_log_prob(&d->dist, d->std, d->u, d->eps, d->log_prob, DB, DA);
}

static void score_backward(void *ctx) {
    Dist *d = ctx;
    action_dist_log_prob_backward(&d->dist, d->raw, d->std, d->eps, d->dlog_prob, d->draw, DB, DA);
}

/* The sample and the entropy (pathwise), then the log-probability with the sample held (the score function). */
static void check_action_dist(Dist *d, const char *name, float raw_scale) {
    fill_normal(d->raw, 12, raw_scale, 21);
    fill_normal(d->eps, 6, 1.0f, 22);
    GcProblem g;
    memset(&g, 0, sizeof g);
    g.ctx = d, g.forward = dist_forward, g.backward = dist_backward;
    g.inputs[0] = (GcInput){"raw", d->raw, d->draw, 12};
    g.input_count = 1;
    g.outputs[0] = (GcOutput){d->action, d->daction, 6};
    g.outputs[1] = (GcOutput){d->entropy, d->dentropy, 3};
    g.output_count = 2;
    g.eps = 1e-3, g.atol = 1e-4, g.rtol = 1e-2, g.max_checks = 12;
    char report[256];
    ck_assert_msg(gradcheck_run(&g, report, sizeof report) == 0, "%s sample and entropy: %s", name, report);
    dist_forward(d);
    memcpy(d->fixed_u, d->u, sizeof d->fixed_u);
    memset(&g, 0, sizeof g);
    g.ctx = d, g.forward = score_forward, g.backward = score_backward;
    g.inputs[0] = (GcInput){"raw", d->raw, d->draw, 12};
    g.input_count = 1;
    g.outputs[0] = (GcOutput){d->log_prob, d->dlog_prob, 3};
    g.output_count = 1;
    g.eps = 1e-3, g.atol = 1e-4, g.rtol = 1e-2, g.max_checks = 12;
    ck_assert_msg(gradcheck_run(&g, report, sizeof report) == 0, "%s log-probability: %s", name, report);
    dist_forward(d);
    action_dist_log_prob(&d->dist, d->std, d->u, d->eps, d->log_prob, DB, DA);
}

START_TEST(tanh_normal_gradients_match_central_differences) {
    Dist d;
    memset(&d, 0, sizeof d);
    d.dist = (WmActionDist){WM_ACTION_TANH_NORMAL, {5.0f, 2.0f, 1e-4f}, {0.0f, 0.0f}};
    check_action_dist(&d, "tanh-Normal", 1.0f);
    /* The entropy estimate is -log pi at the sample, and log(1 - tanh^2) stays finite far out. */
    for (int b = 0; b < DB; b++) ck_assert_float_eq_tol(d.log_prob[b], -d.entropy[b], 1e-5);
    float far_raw[4] = {40.0f, -40.0f, 0.0f, 0.0f}, zero_eps[2] = {0, 0}, e[1];
    action_dist_forward(&d.dist, far_raw, zero_eps, d.mean, d.std, d.u, d.action, 1, 2);
    action_dist_entropy(&d.dist, d.std, d.u, zero_eps, e, 1, 2);
    ck_assert(isfinite(e[0]));
}
END_TEST

/* DreamerV3's bounded Normal: its gradients, its std inside the bounds, its clipped sample, its closed-form entropy
 * (H + log pi(u) = sum_i (1 - eps_i^2) / 2), and a mode that is the mean. */
START_TEST(bounded_normal_gradients_match_central_differences) {
    Dist d;
    memset(&d, 0, sizeof d);
    d.dist = (WmActionDist){WM_ACTION_BOUNDED_NORMAL, {0.0f, 0.0f, 0.0f}, {0.1f, 1.0f}};
    check_action_dist(&d, "bounded Normal", 2.0f); /* means near the bounds */
    int clipped = 0;
    for (int b = 0; b < DB; b++) {
        double half = 0.0;
        for (int i = 0; i < DA; i++) {
            const int at = b * DA + i;
            half += 0.5 * (1.0 - (double)d.eps[at] * d.eps[at]);
            ck_assert(d.std[at] >= 0.1f && d.std[at] <= 1.0f && fabsf(d.action[at]) <= 1.0f);
            clipped += fabsf(d.u[at]) > 1.0f;
        }
        ck_assert_double_eq_tol(d.entropy[b] + d.log_prob[b], half, 1e-5);
    }
    ck_assert_msg(clipped > 0, "the draws should reach past a bound, to check the clip's gradient");
    float mode[6];
    action_dist_mode(&d.dist, d.raw, mode, DB, DA);
    action_dist_forward(&d.dist, d.raw, NULL, d.mean, d.std, d.u, d.action, DB, DA);
    for (int i = 0; i < DB * DA; i++) {
        ck_assert_float_eq(mode[i], d.action[i]);
        ck_assert_float_eq(mode[i], d.mean[i]);
    }
}
END_TEST

/* The density's mode against a brute-force search of the action's log-density on a fine grid of u: as likely as
 * the best grid point; about tanh(mean) when the Normal is narrow; on the mean's side and near +-1 when it is wide. */
static double log_density_in_u(double u, double m, double s) {
    return -0.5 * (u - m) * (u - m) / (s * s) + 2.0 * log(cosh(u));
}

START_TEST(tanh_normal_density_mode_is_the_likeliest_action) {
    const WmActionDist dist = {WM_ACTION_TANH_NORMAL, {5.0f, 5.0f, 1e-4f}, {0.0f, 0.0f}};
    const float shift = logf(expf(5.0f) - 1.0f);
    const float cases[][2] = {{0.0f, -8.0f}, {1.2f, -8.0f}, {0.4f, 0.0f}, {-0.4f, 0.0f}, {2.0f, -1.0f}, {-3.0f, 1.0f},
                              {0.05f, -3.0f}, {4.0f, 2.0f}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const float raw[2] = {cases[c][0], cases[c][1]};
        float action;
        action_dist_mode(&dist, raw, &action, 1, 1);
        const double m = 5.0 * tanh(raw[0] / 5.0), s = log1p(exp(raw[1] + shift)) + 1e-4;
        double best = -1e300, best_u = 0.0;
        for (double u = m - 40.0; u <= m + 40.0; u += 1e-4)
            if (log_density_in_u(u, m, s) > best) best = log_density_in_u(u, m, s), best_u = u;
        const double found = atanh(fmin(fabs((double)action), 1.0 - 1e-7)) * (action < 0 ? -1.0 : 1.0);
        ck_assert_msg(log_density_in_u(found, m, s) >= best - 1e-4 || fabs(action - tanh(best_u)) < 1e-5,
                      "case %zu (mean %g, std %g): mode %g, the grid's %g", c, m, s, action, tanh(best_u));
        /* u* = mean + 2 std^2 tanh(u*): a narrow Normal's mode is tanh(mean), moved by at most 2 std^2. */
        if (s < 0.1) ck_assert_double_le(fabs(action - tanh(m)), 2.0 * s * s + 1e-6);
        if (s > 2.0) ck_assert_msg(action * m > 0 && fabs(action) > 0.99, "case %zu: %g", c, action);
    }
}
END_TEST

/* The std the metrics report is the distribution's: with the actor's output layer zeroed, every state's std is
 * softplus(shift) + min_std = init_std + min_std; with the std input's bias at 2, softplus(2 + shift) + min_std. */
START_TEST(the_reported_std_is_the_actors) {
    Fixture f;
    make_fixture(&f, "dynamics", 0);
    const WmDense *out = &f.im.actor.net.layers[f.im.actor.net.count - 1];
    memset(params_value(&f.im.actor.params, out->weight), 0, (size_t)out->in * out->out * sizeof(float));
    float *bias = params_value(&f.im.actor.params, out->bias);
    memset(bias, 0, (size_t)out->out * sizeof(float));
    WmImagineLosses l;
    WmError err = {0};
    ck_assert(imagine_losses_forward(&f.im, &f.model, f.h, f.z, NULL, &l, &err) == WM_OK);
    const double expected = f.im.actor.dist.tanh.init_std + f.im.actor.dist.tanh.min_std;
    ck_assert_msg(fabs(l.std - expected) < 1e-5, "std %g, expected %g", l.std, expected);
    for (int a = 0; a < ACTIONS; a++) bias[ACTIONS + a] = 2.0f; /* std = softplus(2 + shift) + min_std */
    ck_assert(imagine_losses_forward(&f.im, &f.model, f.h, f.z, NULL, &l, &err) == WM_OK);
    const double shift = log(exp(f.im.actor.dist.tanh.init_std) - 1.0);
    const double wider = log1p(exp(2.0 + shift)) + f.im.actor.dist.tanh.min_std;
    ck_assert_msg(fabs(l.std - wider) < 1e-5, "std %g, expected %g", l.std, wider);
    free_fixture(&f);
}
END_TEST

int main(void) {
    Suite *s = suite_create("imagine");
    TCase *tc = tcase_create("imagine");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, tanh_normal_gradients_match_central_differences);
    tcase_add_test(tc, bounded_normal_gradients_match_central_differences);
    tcase_add_test(tc, tanh_normal_density_mode_is_the_likeliest_action);
    tcase_add_loop_test(tc, actor_gradient_matches_central_differences, 0,
                        (int)(sizeof ACTOR_VARIANTS / sizeof ACTOR_VARIANTS[0]));
    tcase_add_test(tc, the_ensemble_penalty_lowers_the_imagined_return);
    tcase_add_test(tc, the_reported_std_is_the_actors);
    tcase_add_test(tc, normalised_returns_scale_the_actor_alone);
    tcase_add_test(tc, reinforce_advantage_is_the_return_less_the_value_of_the_state_acted_in);
    tcase_add_test(tc, imagine_last_starts_from_the_last_steps_of_every_sequence);
    tcase_add_loop_test(tc, value_gradient_matches_central_differences, 0, 6);
    tcase_add_test(tc, replay_value_targets_are_lambda_returns_of_the_real_rewards);
    tcase_add_test(tc, imagination_leaves_the_world_model_gradients_alone);
    suite_add_tcase(s, tc);
    return check_run(s);
}
