#include "nets/world_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"
#include "core/reduce.h"
#include "ops/concat.h"
#include "ops/loss.h"
#include "ops/twohot.h"

enum { IMAGE_CHANNELS = 3 };

/* Latent overshooting's arrays for one step: the open-loop transitions, their samples and KL terms. */
struct WmOvershoot {
    int distance;
    WmRssmStep *steps; /* 1..D */
    float **z;         /* samples of steps 1..D-1 */
    float **kl;        /* steps 2..D */
    double kl_sum, clamped_sum;
    size_t kl_rows;
};
typedef struct WmOvershoot Overshoot;

WmStatus world_model_create(WmWorldModel *model, const WmModelConfig *config, int action_dim, WmError *err) {
    if (world_model_declare(model, config, action_dim, err)) return err->status;
    return params_allocate(&model->params, err);
}

WmStatus world_model_declare(WmWorldModel *model, const WmModelConfig *config, int action_dim, WmError *err) {
    memset(model, 0, sizeof *model);
    model->config = *config;
    model->action_dim = action_dim;
    params_init(&model->params);
    if (model_config_validate(config, err)) return err->status;
    const WmLayerStyle style = dense_style(config->net.activation, config->net.norm);
    const WmActivation act = style.activation; /* the convolutions' */
    const int d = (int)config->net.depth, H = (int)config->height, W = (int)config->width;
    const WmIntList *ek = &config->net.encoder_kernels, *dk = &config->net.decoder_kernels;
    if (ek->count > WM_STACK_MAX || dk->count > WM_STACK_MAX)
        return wm_error_set(err, WM_ERR_ARG, "model: at most %d convolution layers", WM_STACK_MAX);
    int channels[WM_STACK_MAX];
    for (int i = 0; i < ek->count; i++) channels[i] = d << i; /* d, 2d, 4d, 8d */
    if (conv_stack_declare(&model->encoder, &model->params, "encoder", 0, IMAGE_CHANNELS, H, W, ek->count, channels,
                           ek->values, act, 0, err) ||
        (style.norm && conv_stack_declare_norms(&model->encoder, &model->params, "encoder", err)))
        return err->status;
    const WmConvStack *enc = &model->encoder;
    model->embed = enc->channels[ek->count - 1] * enc->heights[ek->count - 1] * enc->widths[ek->count - 1];
    const int units = (int)config->net.reward_units, layers = (int)config->net.reward_layers;
    const int states = (int)config->state_dim;
    if (states > 0) {
        model->state_embed = units;
        if (mlp_declare(&model->state_encoder, &model->params, "state_encoder", states, units, layers, units, style,
                        err))
            return err->status;
    }
    const WmLatent latent = latent_from_config(&config->net);
    const int D = (int)config->net.deter, S = latent.width;
    if (rssm_declare(&model->rssm, &model->params, D, &latent, (int)config->net.hidden,
                     model->embed + model->state_embed, action_dim,
                     config->net.action_input == WM_ACTION_INPUT_SEPARATE, style, (int)config->net.ensemble, err))
        return err->status;
    /* PlaNet's decoder: dense to 32d, seen as a 32d x 1 x 1 image, then 4d, 2d, d, 3 channels. */
    model->decoder_width = 32 * d;
    if (dense_declare(&model->decoder_dense, &model->params, "decoder.dense", D + S, model->decoder_width,
                      WM_ACT_NONE, err))
        return err->status;
    for (int i = 0; i < dk->count; i++) channels[i] = i == dk->count - 1 ? IMAGE_CHANNELS : d << (dk->count - 2 - i);
    if (conv_stack_declare(&model->decoder, &model->params, "decoder", 1, model->decoder_width, 1, 1, dk->count,
                           channels, dk->values, act, 1, err) ||
        (style.norm && conv_stack_declare_norms(&model->decoder, &model->params, "decoder", err)))
        return err->status;
    model->reward_out = regression_make(config->net.reward_head);
    if (mlp_declare(&model->reward, &model->params, "reward", D + S, units, layers,
                    regression_outputs(&model->reward_out), style, err))
        return err->status;
    /* Dreamer's continue head has the reward head's shape. */
    model->has_continue = config->net.continue_head;
    if (model->has_continue &&
        mlp_declare(&model->continuation, &model->params, "continue", D + S, units, layers, 1, style, err))
        return err->status;
    if (states > 0 &&
        mlp_declare(&model->state_decoder, &model->params, "state_decoder", D + S, units, layers, states, style, err))
        return err->status;
    return WM_OK;
}

void world_model_init_params(WmWorldModel *model, uint64_t seed) {
    params_init_glorot(&model->params, seed);
    regression_init(&model->reward_out, &model->reward, &model->params);
}

/* Latent overshooting is a training term: a model built for sequences too short to hold its distance (one
 * built to predict or act) leaves it out. */
static int overshoot_distance(const WmWorldModel *model) {
    const long distance = model->config.loss.overshooting;
    return distance >= 2 && distance < model->length ? (int)distance : 0;
}

/* Rows of open-loop step k: every start s with s + k inside the sequence, (L - k) x B. */
static size_t overshoot_rows(const WmWorldModel *model, int k) { return (size_t)(model->length - k) * model->batch; }

size_t world_model_overshoot_noise_floats(const WmWorldModel *model) {
    size_t total = 0;
    for (int k = 1; k < overshoot_distance(model); k++) total += overshoot_rows(model, k) * model->rssm.stoch;
    return total;
}

size_t world_model_image_floats(const WmWorldModel *model) {
    return (size_t)model->batch * model->length * IMAGE_CHANNELS * model->config.height * model->config.width;
}

/* What one forward pass leaves for the losses and for backward. */
typedef struct {
    float *encoder_outs[WM_STACK_MAX], *decoder_outs[WM_STACK_MAX], *reward_outs[WM_MLP_LAYERS_MAX],
        *continue_outs[WM_MLP_LAYERS_MAX];
    float *features, *decoder_in; /* (N, D + S), (N, decoder width) */
    const float *embed;           /* (N, E + state embed): the RSSM's observation input */
    float *symlog_states;         /* (N, state_dim), with states */
    float *state_encoder_outs[WM_MLP_LAYERS_MAX], *state_decoder_outs[WM_MLP_LAYERS_MAX];
} Forward;

/* One extra member of the ensemble (k >= 1) on the step's h, and its KL to the posterior. */
typedef struct {
    float *hidden, *cache;   /* (N, U), its layer's cache (dense.h) */
    float *mean, *raw, *std; /* (N, S) */
    float *kl;               /* (N) */
} MemberPrior;

/* What the ELBO's forward leaves for its backward (model->elbo). */
struct WmElbo {
    Forward f;
    float *kl, *kl_clamped; /* (N): the KL per step, and with free nats */
    double overshoot_weight;
    MemberPrior members[WM_RSSM_MEMBERS_MAX]; /* [1, K) */
};

WmStatus world_model_build(WmWorldModel *model, int batch, int length, WmError *err) {
    model->batch = batch, model->length = length;
    const size_t N = (size_t)batch * length;
    /* The step's activations and gradients are measured by the first step through the arena, which checks them
     * against free memory as it goes; the inputs are checked here, before they are allocated. */
    char what[96];
    snprintf(what, sizeof what, "a step of %d x %d frames (data.batch x data.length)", batch, length);
    const int states = (int)model->config.state_dim;
    const size_t inputs =
        (world_model_image_floats(model) + N * (model->action_dim + model->rssm.stoch + 2 + states)) * sizeof(float);
    if (memory_check(what, inputs, err)) return err->status;
    if (dnnl_ctx_init(&model->dnnl, err)) return err->status;
    model->encoder.bf16 = model->decoder.bf16 = model->train_bf16;
    if (conv_stack_build(&model->encoder, &model->dnnl, (int)N, err) ||
        conv_stack_build(&model->decoder, &model->dnnl, (int)N, err))
        return err->status;
    arena_init(&model->arena, what);
    WmModelInput *in = &model->input;
    in->images = wm_aligned_alloc(world_model_image_floats(model) * sizeof(float));
    in->actions = wm_aligned_alloc(N * model->action_dim * sizeof(float) + WM_ALIGN);
    in->rewards = wm_aligned_alloc(N * sizeof(float));
    in->noise = wm_aligned_alloc(N * model->rssm.stoch * sizeof(float));
    in->continues = wm_aligned_alloc(N * sizeof(float));
    if (states > 0) in->states = wm_aligned_alloc(N * states * sizeof(float));
    const size_t overshoot_floats = world_model_overshoot_noise_floats(model);
    const int distance = overshoot_distance(model);
    if (distance) {
        model->overshoot = calloc(1, sizeof *model->overshoot);
        if (model->overshoot == NULL) return wm_error_set(err, WM_ERR_NOMEM, "world model: out of memory");
        model->overshoot->distance = distance;
        model->overshoot->steps = calloc((size_t)distance + 1, sizeof *model->overshoot->steps);
        model->overshoot->z = calloc((size_t)distance + 1, sizeof *model->overshoot->z);
        model->overshoot->kl = calloc((size_t)distance + 1, sizeof *model->overshoot->kl);
        if (!model->overshoot->steps || !model->overshoot->z || !model->overshoot->kl)
            return wm_error_set(err, WM_ERR_NOMEM, "world model: out of memory");
    }
    if (overshoot_floats) in->overshoot_noise = wm_aligned_alloc(overshoot_floats * sizeof(float));
    model->elbo = calloc(1, sizeof *model->elbo);
    if (!model->elbo || !in->images || !in->actions || !in->rewards || !in->noise || !in->continues ||
        (states > 0 && !in->states) ||
        (overshoot_floats && !in->overshoot_noise))
        return wm_error_set(err, WM_ERR_NOMEM, "world model: out of memory for a %d x %d batch", batch, length);
    return WM_OK;
}

void world_model_free(WmWorldModel *model) {
    conv_stack_free(&model->encoder);
    conv_stack_free(&model->decoder);
    if (model->dnnl.engine) dnnl_ctx_free(&model->dnnl);
    arena_free(&model->arena);
    free(model->input.images), free(model->input.actions), free(model->input.rewards), free(model->input.noise);
    free(model->input.continues), free(model->input.states);
    free(model->input.overshoot_noise);
    if (model->overshoot) {
        free(model->overshoot->steps);
        free(model->overshoot->z);
        free(model->overshoot->kl);
    }
    free(model->overshoot);
    free(model->elbo);
    params_free(&model->params);
    memset(model, 0, sizeof *model);
}

void world_model_preprocess(const WmWorldModel *model, float *images, const uint8_t *pixels, size_t frames,
                            WmRng *dequantize_rng) {
    const size_t plane = (size_t)model->config.height * model->config.width;
    const int bits = (int)model->config.bit_depth, noisy = dequantize_rng != NULL;
    const float levels = (float)(1 << bits), drop = (float)(1 << (8 - bits));
    /* The noise is drawn first, in one fill, so it is the same on any thread count; no buffer but the output. */
    if (noisy) rng_fill_uniform(dequantize_rng, images, frames * plane * IMAGE_CHANNELS);
#pragma omp parallel for schedule(static)
    for (size_t n = 0; n < frames; n++)
        for (size_t p = 0; p < plane; p++)
            for (int c = 0; c < IMAGE_CHANNELS; c++) {
                const float kept = floorf(pixels[(n * plane + p) * IMAGE_CHANNELS + c] / drop);
                float *out = &images[(n * IMAGE_CHANNELS + c) * plane + p];
                /* One convention for every frame: the bin's centre, or a uniform draw over the bin, whose mean is
                 * the centre. Training, evaluation and acting then see the same mean pixel. */
                *out = kept / levels - 0.5f + (noisy ? *out : 0.5f) / levels;
            }
}

/* The decoder and the heads (reward, state, continue) on the features [h, z]. */
static WmStatus decode_forward(WmWorldModel *m, float *features, float *decoder_in, float **decoder_outs,
                               float **reward_outs, float **continue_outs, float **state_outs, WmError *err) {
    const int N = m->batch * m->length;
    if (dense_forward(&m->decoder_dense, &m->params, decoder_in, features, N, err) ||
        conv_stack_forward(&m->decoder, &m->dnnl, &m->params, &m->arena, decoder_outs, decoder_in, err))
        return err->status;
    if (mlp_forward(&m->reward, &m->params, &m->arena, reward_outs, features, N, err)) return err->status;
    if (m->state_embed && mlp_forward(&m->state_decoder, &m->params, &m->arena, state_outs, features, N, err))
        return err->status;
    return m->has_continue ? mlp_forward(&m->continuation, &m->params, &m->arena, continue_outs, features, N, err)
                           : WM_OK;
}

/* ---- latent overshooting (PlaNet) ----
 * From every posterior state (h_s, z_s), the transition runs open loop on the recorded actions, each step sampling
 * its own prior; step k's prior is held to the posterior at s + k by KL(sg(q_{s+k}) || p_k), k = 2..D (k = 1 is
 * the ordinary KL term). Rows are start-major, so step k's rows line up with the trace's rows shifted by k B. */

static WmStatus overshoot_forward(WmWorldModel *m, Overshoot *o, WmError *err) {
    const int B = m->batch, S = m->rssm.stoch, A = m->action_dim;
    const WmRssmTrace *t = &m->trace;
    const float *h_prev = t->h, *z_prev = t->z, *noise = m->input.overshoot_noise;
    o->kl_sum = o->clamped_sum = 0.0, o->kl_rows = 0;
    for (int k = 1; k <= o->distance; k++) {
        const size_t rows = overshoot_rows(m, k), shift = (size_t)k * B;
        WmRssmStep *step = &o->steps[k];
        if (rssm_step_alloc(&m->rssm, &m->arena, step, (int)rows, err) ||
            rssm_step_forward(&m->rssm, &m->params, step, h_prev, z_prev, m->input.actions + shift * A, err))
            return err->status;
        if (k < o->distance) {
            o->z[k] = arena_floats(&m->arena, rows * S);
            if (o->z[k] == NULL) return arena_check(&m->arena, err);
            latent_sample(&m->rssm.latent, o->z[k], step->prior_mean, step->prior_std, noise, rows);
            noise += rows * S;
        }
        if (k >= 2) {
            o->kl[k] = arena_floats(&m->arena, rows);
            float *clamped = arena_floats(&m->arena, rows);
            if (clamped == NULL) return arena_check(&m->arena, err);
            latent_kl_forward(&m->rssm.latent, o->kl[k], t->post_mean + shift * S, t->post_std + shift * S,
                              step->prior_mean, step->prior_std, (int)rows);
            free_nats_forward(clamped, o->kl[k], rows, (float)m->config.loss.free_nats);
            for (size_t r = 0; r < rows; r++) o->kl_sum += o->kl[k][r], o->clamped_sum += clamped[r];
            o->kl_rows += rows;
        }
        h_prev = step->h, z_prev = o->z[k];
    }
    return WM_OK;
}

/* weight: d(objective)/d(each clamped KL). Adds into the trace's dh and dz, and, unless the posterior targets are
 * held fixed (PlaNet's stop-gradient), into its posterior gradients. */
static WmStatus overshoot_backward(WmWorldModel *m, Overshoot *o, float weight, WmRssmGrads *g, WmError *err) {
    float *dh_trace = g->dh, *dz_trace = g->dz;
    const int target_grads = !m->config.loss.overshooting_stop_gradient;
    const int S = m->rssm.stoch, D = m->rssm.deter;
    WmArena *arena = &m->arena;
    float *dh = NULL, *dz = NULL; /* gradients of step k's h and z, (rows_k, .) */
    const float *noise_end = m->input.overshoot_noise + world_model_overshoot_noise_floats(m);
    for (int k = o->distance; k >= 1; k--) {
        const size_t rows = overshoot_rows(m, k), prev_rows = k > 1 ? overshoot_rows(m, k - 1) : 0;
        float *dmean = arena_alloc_zero(arena, rows * S * sizeof(float));
        float *dstd = arena_alloc_zero(arena, rows * S * sizeof(float));
        float *dh_prev = k > 1 ? arena_alloc_zero(arena, prev_rows * D * sizeof(float)) : dh_trace;
        float *dz_prev = k > 1 ? arena_alloc_zero(arena, prev_rows * S * sizeof(float)) : dz_trace;
        if (dh == NULL) dh = arena_alloc_zero(arena, rows * D * sizeof(float));
        float *dkl = arena_floats(arena, rows), *dclamped = arena_floats(arena, rows);
        if (arena_check(arena, err)) return err->status;
        if (k >= 2) {
            for (size_t r = 0; r < rows; r++) dclamped[r] = weight;
            memset(dkl, 0, rows * sizeof(float));
            free_nats_backward(dkl, dclamped, o->kl[k], rows, (float)m->config.loss.free_nats);
            const size_t shift = (size_t)k * m->batch * S;
            latent_kl_backward(&m->rssm.latent, target_grads ? g->dpost_mean + shift : NULL,
                               target_grads ? g->dpost_std + shift : NULL, dmean, dstd, dkl, m->trace.post_mean + shift,
                               m->trace.post_std + shift, o->steps[k].prior_mean, o->steps[k].prior_std, (int)rows);
        }
        if (dz != NULL) { /* z_k, a draw from step k's prior */
            latent_sample_backward(&m->rssm.latent, dmean, dstd, dz, noise_end - rows * S, rows);
            noise_end -= rows * S;
        }
        const float *h_prev = k > 1 ? o->steps[k - 1].h : m->trace.h;
        if (rssm_step_backward(&m->rssm, &m->params, arena, &o->steps[k], h_prev, dh_prev, dz_prev, NULL, dh, dmean,
                               dstd, err))
            return err->status;
        dh = dh_prev, dz = dz_prev;
    }
    return WM_OK;
}


/* Encoder on all frames, the RSSM through time (observing the first `context` steps), heads on all features. */
static WmStatus forward(WmWorldModel *m, int context, Forward *f, WmError *err) {
    WmArena *arena = &m->arena;
    arena_reset(arena);
    const int B = m->batch, L = m->length, N = B * L, D = m->rssm.deter, S = m->rssm.stoch;
    const WmModelInput *in = &m->input;
    if (conv_stack_forward(&m->encoder, &m->dnnl, &m->params, arena, f->encoder_outs, in->images, err))
        return err->status;
    const float *conv_embed = f->encoder_outs[m->encoder.layers - 1]; /* (N, E): NCHW flattened */
    if (world_model_observation(m, arena, conv_embed, in->states, N, &f->embed, &f->symlog_states,
                                f->state_encoder_outs, err) ||
        rssm_observe(&m->rssm, &m->params, arena, &m->trace, f->embed, in->actions, in->noise, B, L, context, err))
        return err->status;
    f->features = arena_floats(arena, (size_t)N * (D + S));
    f->decoder_in = arena_floats(arena, (size_t)N * m->decoder_width);
    if (arena_check(arena, err)) return err->status;
    const float *feature_parts[2] = {m->trace.h, m->trace.z};
    const int feature_widths[2] = {D, S};
    concat_forward(f->features, feature_parts, feature_widths, 2, N);
    if (decode_forward(m, f->features, f->decoder_in, f->decoder_outs, f->reward_outs, f->continue_outs,
                       f->state_decoder_outs, err))
        return err->status;
    m->image_mean = f->decoder_outs[m->decoder.layers - 1];
    m->reward_mean = (float *)regression_read(&m->reward_out, arena, f->reward_outs[m->reward.count - 1], N);
    if (m->reward_mean == NULL) return arena_check(arena, err);
    m->continue_logit = m->has_continue ? f->continue_outs[m->continuation.count - 1] : NULL;
    m->state_mean = m->state_embed ? f->state_decoder_outs[m->state_decoder.count - 1] : NULL;
    return WM_OK;
}

WmStatus world_model_observation(const WmWorldModel *m, WmArena *arena, const float *conv_embed, const float *states,
                                 int rows, const float **embed, float **symlog_states, float **state_outs,
                                 WmError *err) {
    const int E = m->embed, Es = m->state_embed, S = (int)m->config.state_dim;
    if (!Es) {
        *embed = conv_embed;
        return WM_OK;
    }
    float *symlogged = arena_floats(arena, (size_t)rows * S), *joined = arena_floats(arena, (size_t)rows * (E + Es));
    float *outs_here[WM_MLP_LAYERS_MAX], **outs = state_outs ? state_outs : outs_here;
    if (joined == NULL) return arena_check(arena, err);
    symlog_forward(symlogged, states, (size_t)rows * S);
    if (mlp_forward(&m->state_encoder, &m->params, arena, outs, symlogged, rows, err)) return err->status;
    const float *parts[2] = {conv_embed, outs[m->state_encoder.count - 1]};
    const int widths[2] = {E, Es};
    concat_forward(joined, parts, widths, 2, rows);
    *embed = joined;
    if (symlog_states) *symlog_states = symlogged;
    return WM_OK;
}

WmStatus world_model_predict(WmWorldModel *m, int context, WmError *err) {
    Forward f;
    return forward(m, context < m->length ? context : m->length, &f, err);
}


/* The ensemble's extra members learn the same posteriors from h (neither gets a gradient from them), each
 * weighing like the main KL term, without free nats: they are predictors, not a bottleneck. */
static WmStatus members_forward(WmWorldModel *m, WmElbo *e, double *kl_sum, WmError *err) {
    const int N = m->batch * m->length, S = m->rssm.stoch;
    *kl_sum = 0.0;
    for (int k = 1; k < m->rssm.members; k++) {
        MemberPrior *p = &e->members[k];
        p->hidden = arena_floats(&m->arena, (size_t)N * m->rssm.hidden);
        p->cache = arena_optional_floats(&m->arena, dense_cache_floats(&rssm_member_head(&m->rssm, k)->hidden, N));
        p->mean = arena_floats(&m->arena, (size_t)N * S);
        p->raw = arena_floats(&m->arena, (size_t)N * S);
        p->std = arena_floats(&m->arena, (size_t)N * S);
        p->kl = arena_floats(&m->arena, N);
        if (arena_check(&m->arena, err) ||
            rssm_member_prior(&m->rssm, &m->params, k, m->trace.h, p->hidden, p->cache, p->mean, p->raw, p->std, N,
                              err))
            return err->status;
        latent_kl_forward(&m->rssm.latent, p->kl, m->trace.post_mean, m->trace.post_std, p->mean, p->std, N);
        for (int n = 0; n < N; n++) *kl_sum += p->kl[n];
    }
    return WM_OK;
}

/* dstep: scratch (N). Each member's KL gradient into its own parameters only. */
static WmStatus members_backward(WmWorldModel *m, const WmElbo *e, float *dstep, float per_frame, WmError *err) {
    const int N = m->batch * m->length, S = m->rssm.stoch;
    const size_t rows_s = (size_t)N * S;
    WmArena *arena = &m->arena;
    for (int k = 1; k < m->rssm.members; k++) {
        const MemberPrior *p = &e->members[k];
        const size_t mark = arena_mark(arena);
        float *dmean = arena_alloc_zero(arena, rows_s * sizeof(float)),
              *dstd = arena_alloc_zero(arena, rows_s * sizeof(float));
        if (arena_check(arena, err)) return err->status;
        for (int n = 0; n < N; n++) dstep[n] = (float)m->config.loss.kl_scale * per_frame;
        latent_kl_backward(&m->rssm.latent, NULL, NULL, dmean, dstd, dstep, m->trace.post_mean, m->trace.post_std,
                           p->mean, p->std, N);
        if (rssm_member_prior_backward(&m->rssm, &m->params, arena, k, NULL, dmean, dstd, m->trace.h, p->hidden,
                                       p->cache, p->mean, p->raw, N, err))
            return err->status;
        arena_rewind(arena, mark);
    }
    return WM_OK;
}

/* The continue head: -log Bernoulli(c; sigmoid(l)) = softplus(l) - c l per frame (Dreamer), its mean. */
static double continue_forward(const WmWorldModel *m) {
    const int N = m->batch * m->length;
    double nll = 0.0;
    for (int n = 0; m->has_continue && n < N; n++)
        nll += act_softplus(m->continue_logit[n]) - m->input.continues[n] * m->continue_logit[n];
    return nll / N;
}

/* The reward term: the Gaussian's log-likelihood, or minus the twohot cross-entropy. */
static WmStatus reward_log_likelihood(WmWorldModel *m, const WmElbo *e, double *ll, WmError *err) {
    const int N = m->batch * m->length;
    if (m->reward_out.kind == WM_REGRESSION_GAUSSIAN) {
        *ll = gauss_ll_fixed_forward(m->reward_mean, m->input.rewards, (size_t)N, 1.0f);
        return WM_OK;
    }
    float *rows = arena_floats(&m->arena, (size_t)N);
    if (rows == NULL) return arena_check(&m->arena, err);
    regression_loss_forward(&m->reward_out, rows, e->f.reward_outs[m->reward.count - 1], m->input.rewards, N);
    double sum = 0.0;
    for (int n = 0; n < N; n++) sum += rows[n];
    *ll = -sum;
    return WM_OK;
}

/* DreamerV3's KL terms: the dynamics and representation losses, each max(free_bits, KL) with the gradient on one
 * side. They add to PlaNet's term (loss.kl_scale with free nats), which a V3 config sets to 0. */
static int kl_split(const WmModelConfig *c) { return c->loss.kl_dyn > 0.0 || c->loss.kl_rep > 0.0; }

WmStatus elbo_forward(WmWorldModel *m, WmLosses *losses, WmError *err) {
    WmArena *arena = &m->arena;
    const WmModelConfig *c = &m->config;
    const int N = m->batch * m->length;
    const size_t image_floats = world_model_image_floats(m);
    const WmModelInput *in = &m->input;
    WmElbo *e = m->elbo;
    if (forward(m, m->length, &e->f, err)) return err->status;
    m->activation_bytes = arena_mark(arena);
    e->kl = arena_floats(arena, N), e->kl_clamped = arena_floats(arena, N);
    if (arena_check(arena, err)) return err->status;

    /* The ELBO, per frame: image and reward log-likelihoods (std 1, as PlaNet), KL with free nats per step. */
    const double image_ll = gauss_ll_fixed_forward(m->image_mean, in->images, image_floats, 1.0f);
    double reward_ll = 0.0;
    if (reward_log_likelihood(m, e, &reward_ll, err)) return err->status;
    latent_kl_forward(&m->rssm.latent, e->kl, m->trace.post_mean, m->trace.post_std, m->trace.prior_mean,
                      m->trace.prior_std, N);
    free_nats_forward(e->kl_clamped, e->kl, (size_t)N, (float)c->loss.free_nats);
    double kl_sum = 0.0, kl_clamped_sum = 0.0, kl_bits_sum = 0.0;
    for (int n = 0; n < N; n++) kl_sum += e->kl[n], kl_clamped_sum += e->kl_clamped[n];
    for (int n = 0; kl_split(c) && n < N; n++)
        kl_bits_sum += e->kl[n] > c->loss.free_bits ? e->kl[n] : c->loss.free_bits;
    losses->image_nll = -image_ll / N;
    losses->reward_nll = -reward_ll / N;
    losses->kl = kl_sum / N;
    losses->image_mse = reduce_sum_squared_diff(m->image_mean, in->images, image_floats) / (double)image_floats;
    losses->loss =
        losses->image_nll + c->loss.reward_scale * losses->reward_nll + c->loss.kl_scale * kl_clamped_sum / N;
    if (kl_split(c)) losses->loss += (c->loss.kl_dyn + c->loss.kl_rep) * kl_bits_sum / N;
    losses->overshoot_kl = 0.0;
    WmOvershoot *overshoot = m->overshoot;
    /* Each distance weighs as much as the ordinary KL term, averaged over the D - 1 extra distances. */
    e->overshoot_weight = overshoot ? c->loss.overshooting_scale * c->loss.kl_scale / (overshoot->distance - 1) : 0;
    if (overshoot) {
        if (overshoot_forward(m, overshoot, err)) return err->status;
        losses->overshoot_kl = overshoot->kl_sum / (double)overshoot->kl_rows;
        losses->loss += e->overshoot_weight * overshoot->clamped_sum / N;
    }
    double member_sum;
    if (members_forward(m, e, &member_sum, err)) return err->status;
    const int members = m->rssm.members;
    losses->ensemble_kl = members > 1 ? member_sum / ((double)N * (members - 1)) : 0.0;
    losses->continue_nll = continue_forward(m);
    losses->loss += losses->continue_nll;
    losses->state_nll = m->state_embed ? -gauss_ll_fixed_forward(m->state_mean, e->f.symlog_states,
                                                                  (size_t)N * m->config.state_dim, 1.0f) / N
                                       : 0.0;
    losses->loss += losses->state_nll;
    losses->loss += c->loss.kl_scale * member_sum / N;
    return WM_OK;
}

/* The image, reward, state and continue terms back through the decoder and the heads into dfeatures (N, D + S) +=;
 * ddecoder_in (N, decoder width) zeroed scratch. */
static WmStatus decode_backward(WmWorldModel *m, const WmElbo *e, float *ddecoder_in, float *dfeatures, float per_frame,
                                WmError *err) {
    WmArena *arena = &m->arena;
    const int N = m->batch * m->length;
    const WmModelInput *in = &m->input;
    /* The image's gradient takes the mean image's place: nothing reads the mean after the loss. */
    float *dimage = m->image_mean;
    m->image_mean = NULL;
    gauss_ll_fixed_gradient_in_place(dimage, in->images, world_model_image_floats(m), 1.0f, -per_frame);
    if (conv_stack_backward(&m->decoder, &m->dnnl, &m->params, arena, ddecoder_in, dimage, e->f.decoder_in,
                            e->f.decoder_outs, err) ||
        dense_backward(&m->decoder_dense, &m->params, dfeatures, ddecoder_in, e->f.features, e->f.decoder_in, NULL, N,
                       err))
        return err->status;
    /* Reward head: dL/dmean of -scale * ll, then back through the MLP. */
    const float reward_weight = (float)m->config.loss.reward_scale * per_frame;
    float *dreward = arena_alloc_zero(arena, (size_t)N * regression_outputs(&m->reward_out) * sizeof(float));
    float *drows = arena_floats(arena, (size_t)N);
    if (drows == NULL) return arena_check(arena, err);
    if (m->reward_out.kind == WM_REGRESSION_GAUSSIAN) {
        gauss_ll_fixed_backward(dreward, m->reward_mean, in->rewards, (size_t)N, 1.0f, -reward_weight);
    } else {
        for (int n = 0; n < N; n++) drows[n] = reward_weight;
        regression_loss_backward(&m->reward_out, dreward, drows, e->f.reward_outs[m->reward.count - 1], in->rewards, N);
    }
    if (mlp_backward(&m->reward, &m->params, arena, dfeatures, dreward, e->f.features, e->f.reward_outs, N, err))
        return err->status;
    if (m->state_embed) { /* the state's Gaussian in symlog space, std 1 */
        const size_t floats = (size_t)N * m->config.state_dim;
        float *dstate = arena_alloc_zero(arena, floats * sizeof(float));
        if (dstate == NULL) return arena_check(arena, err);
        gauss_ll_fixed_backward(dstate, m->state_mean, e->f.symlog_states, floats, 1.0f, -per_frame);
        if (mlp_backward(&m->state_decoder, &m->params, arena, dfeatures, dstate, e->f.features,
                         e->f.state_decoder_outs, N, err))
            return err->status;
    }
    if (!m->has_continue) return WM_OK;
    float *dlogit = arena_floats(arena, (size_t)N); /* d/dlogit of softplus(l) - c l, per frame */
    if (dlogit == NULL) return arena_check(arena, err);
    for (int n = 0; n < N; n++) dlogit[n] = (act_sigmoid(m->continue_logit[n]) - in->continues[n]) * per_frame;
    return mlp_backward(&m->continuation, &m->params, arena, dfeatures, dlogit, e->f.features, e->f.continue_outs, N,
                        err);
}

/* dstep (N) = weight where the KL is above `free`, else 0. */
static void kl_weights(float *dstep, const float *kl, int n, double free, double weight) {
    for (int i = 0; i < n; i++) dstep[i] = kl[i] > free ? (float)weight : 0.0f;
}

/* The KL terms into the posterior's and prior's gradients. PlaNet's, with free nats: balancing splits it between
 * the two distributions (Dreamer V2). Then DreamerV3's dynamics loss (the prior) and representation loss (the
 * posterior), each with free bits. dkl (N) zeroed, dstep (N) scratch. */
static void kl_backward(const WmWorldModel *m, const WmElbo *e, float *dkl, float *dstep, float per_frame,
                        WmRssmGrads *g) {
    const WmModelConfig *c = &m->config;
    const WmRssmTrace *t = &m->trace;
    const WmLatent *latent = &m->rssm.latent;
    const int N = m->batch * m->length;
    if (kl_split(c)) {
        kl_weights(dstep, e->kl, N, c->loss.free_bits, c->loss.kl_dyn * per_frame);
        latent_kl_backward(latent, NULL, NULL, g->dprior_mean, g->dprior_std, dstep, t->post_mean, t->post_std,
                           t->prior_mean, t->prior_std, N);
        kl_weights(dstep, e->kl, N, c->loss.free_bits, c->loss.kl_rep * per_frame);
        latent_kl_backward(latent, g->dpost_mean, g->dpost_std, NULL, NULL, dstep, t->post_mean, t->post_std,
                           t->prior_mean, t->prior_std, N);
    }
    if (c->loss.kl_scale == 0.0) return;
    for (int n = 0; n < N; n++) dstep[n] = (float)c->loss.kl_scale * per_frame;
    free_nats_backward(dkl, dstep, e->kl, (size_t)N, (float)c->loss.free_nats);
    if (c->loss.kl_balancing) {
        const float prior_share = (float)c->loss.kl_balance;
        for (int n = 0; n < N; n++) dstep[n] = dkl[n] * prior_share;
        latent_kl_backward(latent, NULL, NULL, g->dprior_mean, g->dprior_std, dstep, t->post_mean, t->post_std,
                           t->prior_mean, t->prior_std, N);
        for (int n = 0; n < N; n++) dstep[n] = dkl[n] * (1.0f - prior_share);
        latent_kl_backward(latent, g->dpost_mean, g->dpost_std, NULL, NULL, dstep, t->post_mean, t->post_std,
                           t->prior_mean, t->prior_std, N);
    } else {
        latent_kl_backward(latent, g->dpost_mean, g->dpost_std, g->dprior_mean, g->dprior_std, dkl, t->post_mean,
                           t->post_std, t->prior_mean, t->prior_std, N);
    }
}

WmStatus elbo_backward(WmWorldModel *m, WmError *err) {
    WmArena *arena = &m->arena;
    const WmElbo *e = m->elbo;
    const int N = m->batch * m->length, D = m->rssm.deter, S = m->rssm.stoch, E = m->embed, Es = m->state_embed;
    /* Gradient buffers come from the arena; every one that accumulates starts at zero. */
    const size_t rows_s = (size_t)N * S;
    float *ddecoder_in = arena_alloc_zero(arena, (size_t)N * m->decoder_width * sizeof(float));
    float *dfeatures = arena_alloc_zero(arena, (size_t)N * (D + S) * sizeof(float));
    float *dkl = arena_alloc_zero(arena, (size_t)N * sizeof(float));
    float *dstep = arena_floats(arena, N);
    WmRssmGrads g = {
        .dh = arena_alloc_zero(arena, (size_t)N * D * sizeof(float)),
        .dz = arena_alloc_zero(arena, rows_s * sizeof(float)),
        .dpost_mean = arena_alloc_zero(arena, rows_s * sizeof(float)),
        .dpost_std = arena_alloc_zero(arena, rows_s * sizeof(float)),
        .dprior_mean = arena_alloc_zero(arena, rows_s * sizeof(float)),
        .dprior_std = arena_alloc_zero(arena, rows_s * sizeof(float)),
    };
    float *dembed = arena_alloc_zero(arena, (size_t)N * (E + Es) * sizeof(float));
    if (arena_check(arena, err)) return err->status;
    const float per_frame = 1.0f / N;
    if (decode_backward(m, e, ddecoder_in, dfeatures, per_frame, err)) return err->status;
    const int feature_widths[2] = {D, S};
    float *const feature_grads[2] = {g.dh, g.dz};
    concat_backward(feature_grads, dfeatures, feature_widths, 2, N);
    kl_backward(m, e, dkl, dstep, per_frame, &g);
    if ((m->overshoot && overshoot_backward(m, m->overshoot, (float)(e->overshoot_weight * per_frame), &g, err)) ||
        members_backward(m, e, dstep, per_frame, err) ||
        rssm_observe_backward(&m->rssm, &m->params, arena, &m->trace, &g, dembed, err))
        return err->status;
    float *dconv = dembed;
    if (Es) { /* the joined embedding's gradient split: the conv part, and the state encoder's (its input is data) */
        dconv = arena_alloc_zero(arena, (size_t)N * E * sizeof(float));
        float *dstate_embed = arena_alloc_zero(arena, (size_t)N * Es * sizeof(float));
        if (dstate_embed == NULL) return arena_check(arena, err);
        float *const parts[2] = {dconv, dstate_embed};
        const int widths[2] = {E, Es};
        concat_backward(parts, dembed, widths, 2, N);
        if (mlp_backward(&m->state_encoder, &m->params, arena, NULL, dstate_embed, e->f.symlog_states,
                         e->f.state_encoder_outs, N, err))
            return err->status;
    }
    return conv_stack_backward(&m->encoder, &m->dnnl, &m->params, arena, NULL, dconv, m->input.images,
                               e->f.encoder_outs, err);
}
