/* The whole world model against central differences: encoder, RSSM with sampling (fixed noise), decoder, reward
 * head and the KL, on a tiny configuration, for every parameter tensor. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "gradcheck.h"
#include "nets/world_model.h"

enum { ACTIONS = 2, BATCH = 2, LENGTH = 3 };

static int length = LENGTH; /* the sequence length the next model is built for */
static int state_dim = 0; /* the state vector beside each frame; 0: frames alone */

static void tiny_config(WmConfig *c) {
    WmError err = {0};
    config_defaults(c);
    static const char *const SETS[] = {
        "data.height=16", "data.width=16", "model.depth=2", "model.encoder_kernels=[4,4]",
        "model.decoder_kernels=[6,6]", "model.deter=8", "model.stoch=4", "model.hidden=8", "model.reward_layers=1",
        "model.reward_units=8", "model.activation=elu", /* smooth, so central differences hold everywhere */
        "loss.free_nats=0",                             /* every step's KL carries gradient */
        "loss.reward_scale=2.5", "loss.kl_scale=0.7",
    };
    for (size_t i = 0; i < sizeof SETS / sizeof SETS[0]; i++)
        ck_assert_msg(config_set_assignment(c, SETS[i], &err) == WM_OK, "%s", err.message);
}

static void make_model(WmWorldModel *m, const WmConfig *c) {
    WmError err = {0};
    WmModelConfig model_config = model_config_from(c);
    model_config.state_dim = state_dim;
    ck_assert_msg(world_model_create(m, &model_config, ACTIONS, &err) == WM_OK, "%s", err.message);
    ck_assert_msg(world_model_build(m, BATCH, length, &err) == WM_OK, "%s", err.message);
    world_model_init_params(m, 11);
    /* Non-zero biases, so their gradients are exercised away from a special point. */
    for (int i = 0; i < m->params.count; i++)
        if (m->params.infos[i].rank == 1) {
            unsigned stream = 300; /* by name, so an added module leaves the other biases as they were */
            for (const char *ch = m->params.infos[i].name; *ch; ch++) stream = stream * 31u + (unsigned char)*ch;
            fill_normal(params_value(&m->params, i), m->params.infos[i].count, 0.1f, stream);
        }
    const int N = BATCH * length;
    fill_uniform(m->input.images, world_model_image_floats(m), -0.5f, 0.5f, 1);
    fill_normal(m->input.actions, (size_t)N * ACTIONS, 0.5f, 2);
    fill_normal(m->input.rewards, N, 1.0f, 3);
    fill_normal(m->input.noise, (size_t)N * m->rssm.stoch, 1.0f, 4);
    if (m->input.overshoot_noise) fill_normal(m->input.overshoot_noise, world_model_overshoot_noise_floats(m), 1.0f, 5);
    for (int n = 0; n < N; n++) m->input.continues[n] = n % 3 ? 1.0f : 0.0f; /* some frames end their episode */
    if (state_dim) fill_normal(m->input.states, (size_t)N * state_dim, 4.0f, 6); /* where symlog bends */
}

typedef struct {
    WmWorldModel *model;
    double loss;
    float loss_grad;
    float *saved;
} Fixture;

/* The ELBO's forward, then its backward. */
static WmStatus elbo_step(WmWorldModel *m, WmLosses *losses, WmError *err) {
    return elbo_forward(m, losses, err) ? err->status : elbo_backward(m, err);
}

static void model_forward(void *ctx) {
    Fixture *f = ctx;
    WmLosses losses;
    WmError err = {0};
    ck_assert_msg(elbo_forward(f->model, &losses, &err) == WM_OK, "%s", err.message);
    f->loss = losses.loss;
}

/* The harness pre-fills the gradients and wants d(loss_grad * loss) added; the model adds d(loss). */
static void model_backward(void *ctx) {
    Fixture *f = ctx;
    WmParams *p = &f->model->params;
    memcpy(f->saved, p->grad, p->total * sizeof(float));
    params_zero_grad(p);
    WmLosses losses;
    WmError err = {0};
    ck_assert_msg(elbo_step(f->model, &losses, &err) == WM_OK, "%s", err.message);
    for (size_t i = 0; i < p->total; i++) p->grad[i] = f->saved[i] + f->loss_grad * p->grad[i];
}

/* Central differences for every parameter tensor whose name starts with `prefix` ("" for all). */
static void check_model_tensors(const WmConfig *c, const char *prefix) {
    WmWorldModel m;
    make_model(&m, c);
    Fixture f = {.model = &m, .saved = malloc(m.params.total * sizeof(float))};
    int checked_tensors = 0;
    /* Eight tensors per problem (the harness's limit). */
    for (int first = 0; first < m.params.count; first += 8) {
        GcProblem p;
        memset(&p, 0, sizeof p);
        p.ctx = &f, p.forward = model_forward, p.backward = model_backward;
        p.scalar = &f.loss, p.scalar_grad = &f.loss_grad;
        p.eps = 3e-3, p.atol = 3e-3, p.rtol = 2e-2, p.max_checks = 6;
        for (int i = first; i < first + 8 && i < m.params.count; i++) {
            if (strncmp(m.params.infos[i].name, prefix, strlen(prefix)) != 0) continue;
            p.inputs[p.input_count++] = (GcInput){m.params.infos[i].name, params_value(&m.params, i),
                                                  params_grad(&m.params, i), m.params.infos[i].count};
            checked_tensors++;
        }
        if (p.input_count == 0) continue;
        char report[256];
        ck_assert_msg(gradcheck_run(&p, report, sizeof report) == 0, "world model: %s", report);
    }
    if (prefix[0] == '\0') ck_assert_int_eq(checked_tensors, m.params.count);
    ck_assert_int_ge(checked_tensors, prefix[0] ? 6 : 30);
    free(f.saved);
    world_model_free(&m);
}

static void check_full_model(const WmConfig *c) { check_model_tensors(c, ""); }

START_TEST(full_model_matches_central_differences) {
    WmConfig c;
    tiny_config(&c);
    length = LENGTH;
    check_full_model(&c);
}
END_TEST

/* Latent overshooting over 3 steps on sequences of 4: open-loop priors 2 and 3 steps ahead, each sampled. */
START_TEST(overshooting_matches_central_differences) {
    WmConfig c;
    tiny_config(&c);
    WmError err = {0};
    ck_assert(config_set_assignment(&c, "loss.overshooting=3", &err) == WM_OK);
    ck_assert(config_set_assignment(&c, "loss.overshooting_scale=1.5", &err) == WM_OK);
    ck_assert(config_set_assignment(&c, "data.length=4", &err) == WM_OK);
    /* The stop-gradient on the targets is not a gradient of the loss's value; central differences see the full one. */
    ck_assert(config_set_assignment(&c, "loss.overshooting_stop_gradient=false", &err) == WM_OK);
    length = 4;
    check_full_model(&c);
    /* The term is there: the loss with overshooting exceeds the loss without. */
    WmWorldModel with, without;
    make_model(&with, &c);
    ck_assert(config_set_assignment(&c, "loss.overshooting=0", &err) == WM_OK);
    make_model(&without, &c);
    WmLosses a, b;
    ck_assert(elbo_forward(&with, &a, &err) == WM_OK && elbo_forward(&without, &b, &err) == WM_OK);
    ck_assert_double_gt(a.overshoot_kl, 0.0);
    ck_assert_double_eq(b.overshoot_kl, 0.0);
    const double added = a.loss - b.loss;
    ck_assert_double_eq_tol(added, 1.5 * 0.7 * a.overshoot_kl * (3 * BATCH) / (4 * BATCH), 1e-3 * a.loss);
    world_model_free(&with);
    world_model_free(&without);

    /* Stopping the gradient at the targets changes what reaches the posterior's layers and nothing that only the
     * prior uses. */
    WmWorldModel stopped, full;
    ck_assert(config_set_assignment(&c, "loss.overshooting=3", &err) == WM_OK);
    make_model(&full, &c);
    ck_assert(config_set_assignment(&c, "loss.overshooting_stop_gradient=true", &err) == WM_OK);
    make_model(&stopped, &c);
    ck_assert(elbo_step(&full, &a, &err) == WM_OK && elbo_step(&stopped, &b, &err) == WM_OK);
    for (int i = 0; i < full.params.count; i++) {
        const WmParamInfo *info = &full.params.infos[i];
        const int same = memcmp(params_grad(&full.params, i), params_grad(&stopped.params, i),
                                info->count * sizeof(float)) == 0;
        if (strncmp(info->name, "rssm.prior.", 11) == 0) ck_assert_msg(same, "%s differs", info->name);
        if (strncmp(info->name, "rssm.posterior.", 15) == 0) ck_assert_msg(!same, "%s is the same", info->name);
    }
    world_model_free(&full);
    world_model_free(&stopped);
    length = LENGTH;
}
END_TEST

/* The continue head: its Bernoulli log-likelihood's gradient reaches its own layers and, through [h, z], the
 * rest of the model; every tensor against central differences. */
START_TEST(continue_head_matches_central_differences) {
    WmConfig c;
    tiny_config(&c);
    WmError err = {0};
    ck_assert(config_set_assignment(&c, "model.continue_head=true", &err) == WM_OK);
    length = LENGTH;
    check_full_model(&c);
    WmWorldModel m;
    make_model(&m, &c);
    WmLosses l;
    ck_assert(elbo_forward(&m, &l, &err) == WM_OK);
    ck_assert(l.continue_nll > 0.0 && isfinite(l.continue_nll));
    ck_assert(params_find(&m.params, "continue.out.weight") >= 0);
    world_model_free(&m);
}
END_TEST

/* A state vector of 3 beside each frame: its encoder (on symlog inputs, beside the conv embedding) and its decoder
 * head (a Gaussian on symlog(state)) join the ELBO; every tensor against central differences. The term is there,
 * and the model without states has neither MLP. */
START_TEST(state_vectors_match_central_differences) {
    WmConfig c;
    tiny_config(&c);
    WmError err = {0};
    length = LENGTH;
    state_dim = 3;
    check_full_model(&c);
    WmWorldModel m;
    make_model(&m, &c);
    WmLosses l;
    ck_assert(elbo_forward(&m, &l, &err) == WM_OK);
    ck_assert(l.state_nll > 0.0 && isfinite(l.state_nll));
    ck_assert(params_find(&m.params, "state_encoder.out.weight") >= 0);
    ck_assert(params_find(&m.params, "state_decoder.out.weight") >= 0);
    ck_assert_int_eq(m.rssm.embed, m.embed + m.state_embed);
    world_model_free(&m);
    state_dim = 0;
    make_model(&m, &c);
    ck_assert(elbo_forward(&m, &l, &err) == WM_OK);
    ck_assert(l.state_nll == 0.0 && params_find(&m.params, "state_encoder.out.weight") < 0);
    world_model_free(&m);
}
END_TEST

/* An ensemble of three members. The extra members learn the posteriors without moving them, so their own
 * parameters' gradients are the true derivatives (checked by central differences), and every other parameter's
 * gradient is exactly that of the model without an ensemble. */
START_TEST(ensemble_matches_central_differences) {
    WmConfig c, single;
    tiny_config(&c);
    tiny_config(&single);
    WmError err = {0};
    ck_assert(config_set_assignment(&c, "model.ensemble=3", &err) == WM_OK);
    length = LENGTH;
    check_model_tensors(&c, "rssm.ensemble");
    WmWorldModel with, without;
    make_model(&with, &c);
    make_model(&without, &single);
    WmLosses a, b;
    ck_assert(elbo_step(&with, &a, &err) == WM_OK && elbo_step(&without, &b, &err) == WM_OK);
    ck_assert_double_gt(a.ensemble_kl, 0.0);
    ck_assert_double_eq(b.ensemble_kl, 0.0);
    const double added = a.loss - b.loss;
    ck_assert_double_eq_tol(added, 0.7 * 2 * a.ensemble_kl, 1e-6 * a.loss);
    for (int i = 0; i < without.params.count; i++) {
        const int j = params_find(&with.params, without.params.infos[i].name);
        ck_assert_int_ge(j, 0);
        ck_assert_msg(memcmp(params_grad(&with.params, j), params_grad(&without.params, i),
                             without.params.infos[i].count * sizeof(float)) == 0,
                      "%s: the ensemble changed its gradient", without.params.infos[i].name);
    }
    world_model_free(&with);
    world_model_free(&without);
}
END_TEST

/* Balancing at 0.5 gives each side half the KL's gradient: the same as no balancing at half the KL scale. */
START_TEST(kl_balance_half_is_half_scale) {
    WmConfig balanced, halved;
    tiny_config(&balanced);
    tiny_config(&halved);
    WmError err = {0};
    ck_assert(config_set_assignment(&balanced, "loss.kl_balancing=true", &err) == WM_OK);
    ck_assert(config_set_assignment(&balanced, "loss.kl_balance=0.5", &err) == WM_OK);
    ck_assert(config_set_assignment(&halved, "loss.kl_scale=0.35", &err) == WM_OK);
    WmWorldModel a, b;
    make_model(&a, &balanced);
    make_model(&b, &halved);
    WmLosses la, lb;
    ck_assert(elbo_step(&a, &la, &err) == WM_OK);
    ck_assert(elbo_step(&b, &lb, &err) == WM_OK);
    double worst = 0.0, largest = 0.0;
    for (size_t i = 0; i < a.params.total; i++) {
        worst = fmax(worst, fabs((double)a.params.grad[i] - b.params.grad[i]));
        largest = fmax(largest, fabs((double)b.params.grad[i]));
    }
    ck_assert_msg(worst <= 1e-5 * largest, "balanced vs halved: %g of %g", worst, largest);
    /* And the balanced loss value is the plain KL at the configured scale: it differs from the halved one. */
    ck_assert_double_gt(la.loss, lb.loss);
    world_model_free(&a);
    world_model_free(&b);
}
END_TEST

/* DreamerV3's split, dynamics 0.5 and representation 0.1 with free bits at b, is PlaNet's term with balancing: scale
 * 0.6, the prior's share 0.5 / 0.6, free nats at b. Same loss, same gradients; and at large free bits, no KL
 * gradient at all. */
START_TEST(kl_split_is_balancing_by_another_name) {
    WmConfig split, balanced;
    tiny_config(&split);
    tiny_config(&balanced);
    WmError err = {0};
    static const char *const SPLIT[] = {"loss.kl_scale=0", "loss.kl_dyn=0.5", "loss.kl_rep=0.1", "loss.free_bits=0.05"};
    static const char *const BALANCED[] = {"loss.kl_scale=0.6", "loss.kl_balancing=true", "loss.free_nats=0.05",
                                           "loss.kl_balance=0.833333333333333333"};
    for (int i = 0; i < 4; i++)
        ck_assert(config_set_assignment(&split, SPLIT[i], &err) == WM_OK &&
                  config_set_assignment(&balanced, BALANCED[i], &err) == WM_OK);
    WmWorldModel a, b;
    make_model(&a, &split);
    make_model(&b, &balanced);
    WmLosses la, lb;
    ck_assert(elbo_step(&a, &la, &err) == WM_OK);
    ck_assert(elbo_step(&b, &lb, &err) == WM_OK);
    ck_assert_double_eq_tol(la.loss, lb.loss, 1e-9 * fabs(lb.loss));
    double worst = 0.0, largest = 0.0;
    for (size_t i = 0; i < a.params.total; i++) {
        worst = fmax(worst, fabs((double)a.params.grad[i] - b.params.grad[i]));
        largest = fmax(largest, fabs((double)b.params.grad[i]));
    }
    ck_assert_msg(worst <= 1e-5 * largest, "split vs balanced: %g of %g", worst, largest);
    world_model_free(&a);
    world_model_free(&b);
}
END_TEST

/* DreamerV3's layers: SiLU everywhere (the convolutions keep its input for backward) and LayerNorm in the RSSM's
 * dense layers, its normalised GRU and the heads (the gains drawn at random as the biases, so none sits at 1). */
START_TEST(silu_and_layer_norm_match_central_differences) {
    WmConfig c;
    tiny_config(&c);
    WmError err = {0};
    ck_assert(config_set_assignment(&c, "model.activation=silu", &err) == WM_OK);
    ck_assert(config_set_assignment(&c, "model.norm=layer", &err) == WM_OK);
    ck_assert(config_set_assignment(&c, "model.continue_head=true", &err) == WM_OK);
    length = LENGTH;
    WmWorldModel m;
    make_model(&m, &c);
    const int scale = params_find(&m.params, "rssm.input.norm.scale");
    ck_assert_int_ge(scale, 0);
    world_model_free(&m);
    check_full_model(&c);
}
END_TEST

/* The action through a dense layer of its own beside z's (DreamerV3's RSSM of 2024), with its norm and SiLU: the
 * GRU reads both layers' outputs side by side. */
START_TEST(separate_action_input_matches_central_differences) {
    WmConfig c;
    tiny_config(&c);
    WmError err = {0};
    ck_assert(config_set_assignment(&c, "model.action_input=separate", &err) == WM_OK);
    ck_assert(config_set_assignment(&c, "model.activation=silu", &err) == WM_OK);
    ck_assert(config_set_assignment(&c, "model.norm=layer", &err) == WM_OK);
    length = LENGTH;
    WmWorldModel m;
    make_model(&m, &c);
    const int action = params_find(&m.params, "rssm.action_input.weight"), ih = m.rssm.gru_weight_ih;
    ck_assert_int_ge(action, 0);
    ck_assert_int_eq(m.params.infos[action].shape[1], m.action_dim);
    ck_assert_int_eq(m.params.infos[ih].shape[1], 2 * (int)c.model.hidden);
    world_model_free(&m);
    check_full_model(&c);
}
END_TEST

/* The twohot reward head (DreamerV3), with its output layer given weights (it starts at zero). */
START_TEST(twohot_reward_matches_central_differences) {
    WmConfig c;
    tiny_config(&c);
    WmError err = {0};
    ck_assert(config_set_assignment(&c, "model.reward_head=twohot", &err) == WM_OK);
    length = LENGTH;
    WmWorldModel m;
    make_model(&m, &c);
    const int out = params_find(&m.params, "reward.out.weight");
    ck_assert_int_eq(m.params.infos[out].shape[0], 255);
    for (size_t i = 0; i < m.params.infos[out].count; i++) ck_assert_float_eq(params_value(&m.params, out)[i], 0.0f);
    WmLosses l;
    ck_assert(elbo_forward(&m, &l, &err) == WM_OK);
    ck_assert_double_gt(l.reward_nll, 0.0);
    world_model_free(&m);
    check_full_model(&c);
}
END_TEST

/* The straight-through path of a categorical head: z = onehot + probs - sg(probs), so a gradient on z reaches the
 * head's parameters as a gradient on the probabilities would (central differences of the probabilities), and z
 * itself is one-hot. */
typedef struct {
    WmLatent latent;
    WmLatentHead head;
    WmParams params;
    float input[3 * 5], hidden[3 * 6], cache[3 * 6 * 2 + 3], mean[3 * 8], raw[3 * 8], z[3 * 8], noise[3 * 8];
    float *dz;
} StraightThrough;

static void straight_through_forward(void *ctx) {
    StraightThrough *k = ctx;
    WmError err = {0};
    ck_assert(latent_head_forward(&k->latent, &k->head, &k->params, k->input, k->hidden, k->cache, k->mean, k->raw,
                                  NULL, 3, &err) == WM_OK);
    latent_sample(&k->latent, k->z, k->mean, NULL, k->noise, 3);
}

static void straight_through_backward(void *ctx) {
    StraightThrough *k = ctx;
    float dmean[3 * 8] = {0}, dhidden[3 * 6], draw[3 * 8];
    latent_sample_backward(&k->latent, dmean, NULL, k->dz, k->noise, 3);
    WmError err = {0};
    ck_assert(latent_head_backward(&k->latent, &k->head, &k->params, NULL, dmean, NULL, k->input, k->hidden, k->cache,
                                   k->mean, k->raw, dhidden, draw, 3, &err) == WM_OK);
}

START_TEST(straight_through_reaches_the_logits) {
    StraightThrough k = {.latent = {WM_LATENT_CATEGORICAL, 8, 4, 0.1f, 0.01f}};
    WmError err = {0};
    params_init(&k.params);
    ck_assert(latent_head_declare(&k.latent, &k.head, &k.params, "head", 5, 6, (WmLayerStyle){WM_ACT_SILU, 1}, &err) ==
              WM_OK);
    ck_assert(params_allocate(&k.params, &err) == WM_OK);
    for (int i = 0; i < k.params.count; i++)
        fill_normal(params_value(&k.params, i), k.params.infos[i].count, 0.5f, 70 + i);
    fill_normal(k.input, 15, 1.0f, 80), fill_normal(k.noise, 24, 1.0f, 81);
    GcProblem p;
    memset(&p, 0, sizeof p);
    p.ctx = &k, p.forward = straight_through_forward, p.backward = straight_through_backward;
    p.eps = 1e-3, p.atol = 1e-3, p.rtol = 1e-2, p.max_checks = 40;
    for (int i = 0; i < k.params.count; i++)
        p.inputs[p.input_count++] = (GcInput){k.params.infos[i].name, params_value(&k.params, i),
                                              params_grad(&k.params, i), k.params.infos[i].count};
    float dmean_projection[24];
    p.outputs[p.output_count++] = (GcOutput){k.mean, dmean_projection, 24}; /* d<w, probs> */
    k.dz = dmean_projection;                                                /* arrives as dz */
    char report[256];
    ck_assert_msg(gradcheck_run(&p, report, sizeof report) == 0, "straight through: %s", report);
    straight_through_forward(&k);
    for (int g = 0; g < 6; g++) {
        float ones = 0.0f;
        for (int c = 0; c < 4; c++) ones += k.z[g * 4 + c], ck_assert(k.z[g * 4 + c] == 0.0f || k.z[g * 4 + c] == 1.0f);
        ck_assert_float_eq(ones, 1.0f);
    }
    params_free(&k.params);
}
END_TEST

/* The preprocessing: 5 bits kept, centred, noise below one step. */
START_TEST(preprocess_quantises_and_centres) {
    WmConfig c;
    tiny_config(&c);
    WmWorldModel m;
    make_model(&m, &c);
    const size_t plane = 16 * 16;
    uint8_t *pixels = calloc(plane * 3, 1);
    pixels[0] = 255, pixels[1] = 7, pixels[2] = 8; /* pixel 0: r, g, b */
    float *images = malloc(plane * 3 * sizeof(float));
    world_model_preprocess(&m, images, pixels, 1, NULL);
    ck_assert_float_eq(images[0], 31.5f / 32 - 0.5f);        /* r of pixel 0: its bin's centre */
    ck_assert_float_eq(images[plane], 0.5f / 32 - 0.5f);     /* g: 7 >> 3 = 0 */
    ck_assert_float_eq(images[2 * plane], 1.5f / 32 - 0.5f); /* b: 8 >> 3 = 1 */
    WmRng rng = rng_stream(1, 2);
    world_model_preprocess(&m, images, pixels, 1, &rng);
    ck_assert(images[plane] >= -0.5f && images[plane] < -0.5f + 1.0f / 32);
    /* The mean over many noisy draws is the noiseless value: training and acting see the same mean pixel. */
    const int draws = 4000;
    double sum = 0.0;
    for (int i = 0; i < draws; i++) {
        world_model_preprocess(&m, images, pixels, 1, &rng);
        sum += images[2 * plane];
    }
    ck_assert_double_eq_tol(sum / draws, 1.5 / 32 - 0.5, 2e-4);
    free(pixels), free(images);
    world_model_free(&m);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("world model");
    TCase *tc = tcase_create("world model");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, full_model_matches_central_differences);
    tcase_add_test(tc, overshooting_matches_central_differences);
    tcase_add_test(tc, ensemble_matches_central_differences);
    tcase_add_test(tc, continue_head_matches_central_differences);
    tcase_add_test(tc, state_vectors_match_central_differences);
    tcase_add_test(tc, kl_balance_half_is_half_scale);
    tcase_add_test(tc, kl_split_is_balancing_by_another_name);
    tcase_add_test(tc, twohot_reward_matches_central_differences);
    tcase_add_test(tc, silu_and_layer_norm_match_central_differences);
    tcase_add_test(tc, separate_action_input_matches_central_differences);
    tcase_add_test(tc, straight_through_reaches_the_logits);
    tcase_add_test(tc, preprocess_quantises_and_centres);
    suite_add_tcase(suite, tc);
    return check_run(suite);
}
