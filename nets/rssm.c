#include "nets/rssm.h"

#include <stdio.h>
#include <string.h>

#include "ops/concat.h"
#include "ops/gru.h"

WmStatus rssm_declare(WmRssm *rssm, WmParams *params, int deter, const WmLatent *latent, int hidden, int embed,
                      int action, int separate_action, WmLayerStyle style, int members, WmError *err) {
    memset(rssm, 0, sizeof *rssm);
    const int stoch = latent->width;
    rssm->deter = deter, rssm->stoch = stoch, rssm->hidden = hidden, rssm->embed = embed, rssm->action = action;
    rssm->latent = *latent;
    rssm->separate_action = separate_action;
    rssm->gru_in = separate_action ? 2 * hidden : hidden;
    dense_declare_styled(&rssm->input, params, "rssm.input", separate_action ? stoch : stoch + action, hidden, style,
                         err);
    if (separate_action)
        dense_declare_styled(&rssm->action_input, params, "rssm.action_input", action, hidden, style, err);
    const int ih[2] = {3 * deter, rssm->gru_in}, hh[2] = {3 * deter, deter}, bias[1] = {3 * deter};
    rssm->gru_weight_ih = params_declare(params, "rssm.gru.weight_ih", 2, ih, err);
    rssm->gru_weight_hh = params_declare(params, "rssm.gru.weight_hh", 2, hh, err);
    rssm->gru_bias_ih = params_declare(params, "rssm.gru.bias_ih", 1, bias, err);
    rssm->gru_bias_hh = params_declare(params, "rssm.gru.bias_hh", 1, bias, err);
    rssm->gru_norm_scale = rssm->gru_norm_offset = -1; /* DreamerV3's normalised cell with the layers' norm */
    if (style.norm) {
        rssm->gru_norm_scale = params_declare(params, "rssm.gru.norm.scale", 1, bias, err);
        rssm->gru_norm_offset = params_declare(params, "rssm.gru.norm.offset", 1, bias, err);
    }
    latent_head_declare(latent, &rssm->prior, params, "rssm.prior", deter, hidden, style, err);
    latent_head_declare(latent, &rssm->posterior, params, "rssm.posterior", deter + embed, hidden, style, err);
    if (members < 1 || members > WM_RSSM_MEMBERS_MAX)
        return wm_error_set(err, WM_ERR_ARG, "rssm: %d ensemble members (1 to %d)", members, WM_RSSM_MEMBERS_MAX);
    rssm->members = members;
    for (int k = 1; k < members; k++) {
        char name[64];
        snprintf(name, sizeof name, "rssm.ensemble%d", k);
        latent_head_declare(latent, &rssm->member[k], params, name, deter, hidden, style, err);
    }
    return err->status;
}

const WmLatentHead *rssm_member_head(const WmRssm *rssm, int member) {
    return member ? &rssm->member[member] : &rssm->prior;
}

WmStatus rssm_member_prior(const WmRssm *rssm, const WmParams *params, int member, const float *h, float *hidden,
                           float *cache, float *mean, float *raw, float *std, int batch, WmError *err) {
    return latent_head_forward(&rssm->latent, rssm_member_head(rssm, member), params, h, hidden, cache, mean, raw, std,
                               batch, err);
}

WmGruWeights rssm_gru_weights(const WmRssm *rssm, const WmParams *params) {
    const int norm = rssm->gru_norm_scale >= 0;
    return (WmGruWeights){params_value(params, rssm->gru_weight_ih), params_value(params, rssm->gru_weight_hh),
                          params_value(params, rssm->gru_bias_ih), params_value(params, rssm->gru_bias_hh),
                          norm ? params_value(params, rssm->gru_norm_scale) : NULL,
                          norm ? params_value(params, rssm->gru_norm_offset) : NULL};
}

/* ---- one transition ---- */

size_t rssm_action_cache_floats(const WmRssm *rssm, int batch) {
    return rssm->separate_action ? dense_cache_floats(&rssm->action_input, batch) : 0;
}

WmStatus rssm_step_alloc(const WmRssm *rssm, WmArena *arena, WmRssmStep *step, int batch, WmError *err) {
    const size_t B = (size_t)batch, S = rssm->stoch, U = rssm->hidden;
    *step = (WmRssmStep){.batch = batch};
    step->input_cat = arena_floats(arena, B * (S + rssm->action));
    step->input = arena_floats(arena, B * rssm->gru_in);
    step->input_parts = rssm->separate_action ? arena_floats(arena, 2 * B * U) : NULL;
    step->input_cache = arena_optional_floats(arena, dense_cache_floats(&rssm->input, batch));
    step->action_cache = arena_optional_floats(arena, rssm_action_cache_floats(rssm, batch));
    step->prior_cache = arena_optional_floats(arena, dense_cache_floats(&rssm_member_head(rssm, 0)->hidden, batch));
    step->h = arena_floats(arena, B * rssm->deter);
    step->gru_cache = arena_floats(arena, gru_cache_floats(batch, rssm->deter));
    step->prior_h = arena_floats(arena, B * U);
    step->prior_mean = arena_floats(arena, B * S);
    step->prior_raw = arena_floats(arena, B * S);
    step->prior_std = arena_floats(arena, B * S);
    return arena_check(arena, err);
}

/* The GRU's input, step->input (B, gru_in), from z_prev (B, S) and the action (B, A). */
static WmStatus input_forward(const WmRssm *rssm, const WmParams *params, WmRssmStep *step, const float *z_prev,
                              const float *action, WmError *err) {
    const int B = step->batch, S = rssm->stoch, A = rssm->action, U = rssm->hidden;
    if (!rssm->separate_action) {
        const float *parts[2] = {z_prev, action};
        const int widths[2] = {S, A};
        concat_forward(step->input_cat, parts, widths, 2, B);
        return dense_forward_cached(&rssm->input, params, step->input, step->input_cache, step->input_cat, B, err);
    }
    /* Copies of z and a, which backward reads (the callers' arrays need not outlive the step). */
    float *z = step->input_cat, *a = z + (size_t)B * S, *z_out = step->input_parts, *a_out = z_out + (size_t)B * U;
    memcpy(z, z_prev, (size_t)B * S * sizeof *z);
    memcpy(a, action, (size_t)B * A * sizeof *a);
    if (dense_forward_cached(&rssm->input, params, z_out, step->input_cache, z, B, err) ||
        dense_forward_cached(&rssm->action_input, params, a_out, step->action_cache, a, B, err))
        return err->status;
    const float *parts[2] = {z_out, a_out};
    const int widths[2] = {U, U};
    concat_forward(step->input, parts, widths, 2, B);
    return WM_OK;
}

/* dinput (B, gru_in; consumed) back through the input layers: dz_prev and daction (either may be NULL) +=. */
static WmStatus input_backward(const WmRssm *rssm, WmParams *params, WmArena *arena, const WmRssmStep *step,
                               float *dinput, float *dz_prev, float *daction, WmError *err) {
    const int B = step->batch, S = rssm->stoch, A = rssm->action, U = rssm->hidden;
    const size_t mark = arena_mark(arena);
    if (!rssm->separate_action) {
        float *dcat = arena_alloc_zero(arena, (size_t)B * (S + A) * sizeof(float));
        if (arena_check(arena, err) == WM_OK &&
            dense_backward(&rssm->input, params, dcat, dinput, step->input_cat, step->input, step->input_cache, B,
                           err) == WM_OK) {
            float *const parts[2] = {dz_prev, daction};
            const int widths[2] = {S, A};
            concat_backward(parts, dcat, widths, 2, B);
        }
        arena_rewind(arena, mark);
        return err->status;
    }
    float *dz_out = arena_alloc_zero(arena, 2 * (size_t)B * U * sizeof(float)), *da_out = dz_out + (size_t)B * U;
    const float *z = step->input_cat, *a = z + (size_t)B * S, *z_out = step->input_parts,
                *a_out = z_out + (size_t)B * U;
    if (arena_check(arena, err) == WM_OK) {
        float *const parts[2] = {dz_out, da_out};
        const int widths[2] = {U, U};
        concat_backward(parts, dinput, widths, 2, B);
        if (dense_backward(&rssm->input, params, dz_prev, dz_out, z, z_out, step->input_cache, B, err) == WM_OK)
            dense_backward(&rssm->action_input, params, daction, da_out, a, a_out, step->action_cache, B, err);
    }
    arena_rewind(arena, mark);
    return err->status;
}

WmStatus rssm_step_forward(const WmRssm *rssm, const WmParams *params, WmRssmStep *step, const float *h_prev,
                           const float *z_prev, const float *action, WmError *err) {
    const int B = step->batch;
    const WmGruWeights w = rssm_gru_weights(rssm, params);
    if (input_forward(rssm, params, step, z_prev, action, err) ||
        gru_forward(step->h, step->gru_cache, step->input, h_prev, &w, B, rssm->gru_in, rssm->deter, err))
        return err->status;
    return rssm_member_prior(rssm, params, step->member, step->h, step->prior_h, step->prior_cache, step->prior_mean,
                             step->prior_raw, step->prior_std, B, err);
}

WmStatus rssm_member_prior_backward(const WmRssm *rssm, WmParams *params, WmArena *arena, int member, float *dh,
                                    float *dmean, float *dstd, const float *h, const float *hidden,
                                    const float *cache, const float *mean, const float *raw, int batch, WmError *err) {
    const size_t mark = arena_mark(arena), n = (size_t)batch * rssm->stoch;
    float *draw = arena_floats(arena, n), *dhidden = arena_floats(arena, (size_t)batch * rssm->hidden);
    if (arena_check(arena, err) == WM_OK)
        latent_head_backward(&rssm->latent, rssm_member_head(rssm, member), params, dh, dmean, dstd, h, hidden, cache,
                             mean, raw, dhidden, draw, batch, err);
    arena_rewind(arena, mark);
    return err->status;
}

WmStatus rssm_step_backward(const WmRssm *rssm, WmParams *params, WmArena *arena, const WmRssmStep *step,
                            const float *h_prev, float *dh_prev, float *dz_prev, float *daction, float *dh,
                            float *dprior_mean, float *dprior_std, WmError *err) {
    const int B = step->batch;
    const size_t mark = arena_mark(arena);
    float *dinput = arena_alloc_zero(arena, (size_t)B * rssm->gru_in * sizeof(float));
    if (arena_check(arena, err)) return err->status;
    const WmGruWeights w = rssm_gru_weights(rssm, params);
    const int norm = rssm->gru_norm_scale >= 0;
    const WmGruGrads gw = {params_grad(params, rssm->gru_weight_ih), params_grad(params, rssm->gru_weight_hh),
                           params_grad(params, rssm->gru_bias_ih), params_grad(params, rssm->gru_bias_hh),
                           norm ? params_grad(params, rssm->gru_norm_scale) : NULL,
                           norm ? params_grad(params, rssm->gru_norm_offset) : NULL};
    /* The member's prior, then the GRU and the input layer. */
    if (rssm_member_prior_backward(rssm, params, arena, step->member, dh, dprior_mean, dprior_std, step->h,
                                   step->prior_h, step->prior_cache, step->prior_mean, step->prior_raw, B, err) ||
        gru_backward(dinput, dh_prev, &gw, dh, step->gru_cache, step->input, h_prev, &w, B, rssm->gru_in, rssm->deter,
                     arena, err))
        goto done;
    /* Back to z_prev and, in imagination, to the action the actor chose. */
    input_backward(rssm, params, arena, step, dinput, dz_prev, daction, err);
done:
    arena_rewind(arena, mark);
    return err->status;
}

/* ---- observe: the transition, then the posterior ---- */

/* q(z | h, e) for B rows and its draw z with noise (noise NULL: z is its mode). */
static WmStatus posterior_forward(const WmRssm *rssm, const WmParams *params, float *cat, float *hidden, float *cache,
                                  float *mean, float *raw, float *std, float *z, const float *h, const float *embed,
                                  const float *noise, int batch, WmError *err) {
    const float *parts[2] = {h, embed};
    const int widths[2] = {rssm->deter, rssm->embed};
    concat_forward(cat, parts, widths, 2, batch);
    if (latent_head_forward(&rssm->latent, &rssm->posterior, params, cat, hidden, cache, mean, raw, std, batch, err))
        return err->status;
    if (noise) latent_sample(&rssm->latent, z, mean, std, noise, (size_t)batch);
    else latent_mode(&rssm->latent, z, mean, (size_t)batch);
    return WM_OK;
}

WmStatus rssm_filter(const WmRssm *rssm, const WmParams *params, WmArena *arena, float *h, float *z,
                     const float *action, const float *embed, WmError *err) {
    const size_t mark = arena_mark(arena);
    const int S = rssm->stoch, U = rssm->hidden;
    WmRssmStep step;
    float *cat = arena_floats(arena, (size_t)rssm->deter + rssm->embed), *hidden = arena_floats(arena, (size_t)U);
    float *stats = arena_floats(arena, 3 * (size_t)S);
    if (arena_check(arena, err) || rssm_step_alloc(rssm, arena, &step, 1, err) ||
        rssm_step_forward(rssm, params, &step, h, z, action, err) ||
        posterior_forward(rssm, params, cat, hidden, NULL, stats, stats + S, stats + 2 * S, z, step.h, embed, NULL, 1,
                          err)) {
        arena_rewind(arena, mark);
        return err->status;
    }
    memcpy(h, step.h, (size_t)rssm->deter * sizeof *h);
    arena_rewind(arena, mark);
    return WM_OK;
}

WmStatus rssm_observe(const WmRssm *rssm, const WmParams *params, WmArena *arena, WmRssmTrace *trace,
                      const float *embed, const float *actions, const float *noise, int batch, int length,
                      int context, WmError *err) {
    const int B = batch, L = length, D = rssm->deter, S = rssm->stoch, U = rssm->hidden, E = rssm->embed,
              A = rssm->action;
    const size_t rows = (size_t)B * L, gru_floats = gru_cache_floats(B, D);
    /* Each step's caches of the layers that keep one (dense.h): the input layer, the prior's and posterior's hidden. */
    const size_t input_cache = dense_cache_floats(&rssm->input, B), action_cache = rssm_action_cache_floats(rssm, B),
                 prior_cache = dense_cache_floats(&rssm->prior.hidden, B),
                 post_cache = dense_cache_floats(&rssm->posterior.hidden, B);
    WmRssmTrace t = {.batch = B, .length = L, .noise = (float *)noise};
    t.steps = arena_alloc(arena, (size_t)L * sizeof *t.steps);
    t.input_cat = arena_floats(arena, rows * (S + A));
    t.input = arena_floats(arena, rows * rssm->gru_in);
    t.input_parts = rssm->separate_action ? arena_floats(arena, 2 * rows * U) : NULL;
    t.h = arena_floats(arena, rows * D);
    t.gru_cache = arena_floats(arena, gru_floats * L);
    t.prior_h = arena_floats(arena, rows * U);
    t.prior_mean = arena_floats(arena, rows * S);
    t.prior_raw = arena_floats(arena, rows * S);
    t.prior_std = arena_floats(arena, rows * S);
    t.post_cat = arena_floats(arena, rows * (D + E));
    t.post_h = arena_floats(arena, rows * U);
    t.post_mean = arena_floats(arena, rows * S);
    t.post_raw = arena_floats(arena, rows * S);
    t.post_std = arena_floats(arena, rows * S);
    t.z = arena_floats(arena, rows * S);
    t.input_cache = arena_optional_floats(arena, input_cache * L);
    t.action_cache = arena_optional_floats(arena, action_cache * L);
    t.prior_cache = arena_optional_floats(arena, prior_cache * L);
    t.post_cache = arena_optional_floats(arena, post_cache * L);
    float *zeros = arena_alloc_zero(arena, (size_t)B * (D > S ? D : S) * sizeof(float));
    if (arena_check(arena, err)) return err->status;
    for (int step = 0; step < L; step++) {
        const size_t row = (size_t)step * B;
        t.steps[step] = (WmRssmStep){
            .batch = B,
            .input_cat = t.input_cat + row * (S + A),
            .input = t.input + row * rssm->gru_in,
            .input_parts = t.input_parts ? t.input_parts + 2 * row * U : NULL,
            .h = t.h + row * D,
            .gru_cache = t.gru_cache + step * gru_floats,
            .prior_h = t.prior_h + row * U,
            .prior_mean = t.prior_mean + row * S,
            .prior_raw = t.prior_raw + row * S,
            .prior_std = t.prior_std + row * S,
            .input_cache = input_cache ? t.input_cache + step * input_cache : NULL,
            .action_cache = action_cache ? t.action_cache + step * action_cache : NULL,
            .prior_cache = prior_cache ? t.prior_cache + step * prior_cache : NULL,
        };
        const float *z_prev = step ? t.z + (row - B) * S : zeros, *h_prev = step ? t.h + (row - B) * D : zeros;
        if (rssm_step_forward(rssm, params, &t.steps[step], h_prev, z_prev, actions + row * A, err)) return err->status;
        if (step >= context) { /* open loop: the prior's sample; the posterior's arrays stay unwritten */
            latent_sample(&rssm->latent, t.z + row * S, t.prior_mean + row * S, t.prior_std + row * S, noise + row * S,
                          (size_t)B);
            continue;
        }
        if (posterior_forward(rssm, params, t.post_cat + row * (D + E), t.post_h + row * U,
                              post_cache ? t.post_cache + step * post_cache : NULL, t.post_mean + row * S,
                              t.post_raw + row * S, t.post_std + row * S, t.z + row * S, t.h + row * D,
                              embed + row * E, noise + row * S, B, err))
            return err->status;
    }
    *trace = t;
    return WM_OK;
}

WmStatus rssm_observe_backward(const WmRssm *rssm, WmParams *params, WmArena *arena, const WmRssmTrace *trace,
                               WmRssmGrads *g, float *dembed, WmError *err) {
    const int B = trace->batch, L = trace->length, D = rssm->deter, S = rssm->stoch, U = rssm->hidden,
              E = rssm->embed;
    const size_t mark = arena_mark(arena), post_cache = dense_cache_floats(&rssm->posterior.hidden, B);
    float *draw = arena_floats(arena, (size_t)B * S);
    float *dhidden = arena_floats(arena, (size_t)B * U);
    float *dcat = arena_floats(arena, (size_t)B * (D + E));
    const float *zeros = arena_alloc_zero(arena, (size_t)B * D * sizeof(float));
    if (arena_check(arena, err)) return err->status;
    for (int step = L - 1; step >= 0; step--) {
        const size_t row = (size_t)step * B;
        float *dh = g->dh + row * D;
        /* Posterior: the draw z_t, and the KL's pull on the distribution. */
        latent_sample_backward(&rssm->latent, g->dpost_mean + row * S, g->dpost_std + row * S, g->dz + row * S,
                               trace->noise + row * S, (size_t)B);
        memset(dcat, 0, (size_t)B * (D + E) * sizeof(float));
        if (latent_head_backward(&rssm->latent, &rssm->posterior, params, dcat, g->dpost_mean + row * S,
                                 g->dpost_std + row * S, trace->post_cat + row * (D + E), trace->post_h + row * U,
                                 post_cache ? trace->post_cache + step * post_cache : NULL, trace->post_mean + row * S,
                                 trace->post_raw + row * S, dhidden, draw, B, err))
            break;
        float *const post_parts[2] = {dh, dembed + row * E};
        const int post_widths[2] = {D, E};
        concat_backward(post_parts, dcat, post_widths, 2, B);
        /* The transition, back to h_{t-1} and z_{t-1}. */
        if (rssm_step_backward(rssm, params, arena, &trace->steps[step], step ? trace->h + (row - B) * D : zeros,
                               step ? g->dh + (row - B) * D : NULL, step ? g->dz + (row - B) * S : NULL, NULL, dh,
                               g->dprior_mean + row * S, g->dprior_std + row * S, err))
            break;
    }
    arena_rewind(arena, mark);
    return err->status;
}
