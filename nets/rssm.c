#include "nets/rssm.h"

#include <string.h>

#include "ops/concat.h"
#include "ops/gru.h"
#include "ops/sample.h"

WmStatus rssm_declare(WmRssm *rssm, WmParams *params, int deter, int stoch, int hidden, int embed, int action,
                      float min_std, WmActivation activation, WmError *err) {
    memset(rssm, 0, sizeof *rssm);
    rssm->deter = deter, rssm->stoch = stoch, rssm->hidden = hidden, rssm->embed = embed, rssm->action = action;
    rssm->min_std = min_std;
    dense_declare(&rssm->input, params, "rssm.input", stoch + action, hidden, activation, err);
    const int ih[2] = {3 * deter, hidden}, hh[2] = {3 * deter, deter}, bias[1] = {3 * deter};
    rssm->gru_weight_ih = params_declare(params, "rssm.gru.weight_ih", 2, ih, err);
    rssm->gru_weight_hh = params_declare(params, "rssm.gru.weight_hh", 2, hh, err);
    rssm->gru_bias_ih = params_declare(params, "rssm.gru.bias_ih", 1, bias, err);
    rssm->gru_bias_hh = params_declare(params, "rssm.gru.bias_hh", 1, bias, err);
    dense_declare(&rssm->prior_hidden, params, "rssm.prior.hidden", deter, hidden, activation, err);
    dense_declare(&rssm->prior_mean, params, "rssm.prior.mean", hidden, stoch, WM_ACT_NONE, err);
    dense_declare(&rssm->prior_std, params, "rssm.prior.std", hidden, stoch, WM_ACT_NONE, err);
    dense_declare(&rssm->post_hidden, params, "rssm.posterior.hidden", deter + embed, hidden, activation, err);
    dense_declare(&rssm->post_mean, params, "rssm.posterior.mean", hidden, stoch, WM_ACT_NONE, err);
    dense_declare(&rssm->post_std, params, "rssm.posterior.std", hidden, stoch, WM_ACT_NONE, err);
    return err->status;
}

static WmGruWeights gru_weights(const WmRssm *rssm, const WmParams *params) {
    return (WmGruWeights){params_value(params, rssm->gru_weight_ih), params_value(params, rssm->gru_weight_hh),
                          params_value(params, rssm->gru_bias_ih), params_value(params, rssm->gru_bias_hh)};
}

WmStatus rssm_observe(const WmRssm *rssm, const WmParams *params, WmArena *arena, WmRssmTrace *trace,
                      const float *embed, const float *actions, const float *noise, int batch, int length,
                      WmError *err) {
    const int B = batch, L = length, D = rssm->deter, S = rssm->stoch, Hd = rssm->hidden, E = rssm->embed,
              A = rssm->action;
    const size_t rows = (size_t)B * L, gru_floats = gru_cache_floats(B, D);
    WmRssmTrace t = {.batch = B, .length = L, .noise = (float *)noise};
    t.input_cat = arena_floats(arena, rows * (S + A));
    t.input = arena_floats(arena, rows * Hd);
    t.h = arena_floats(arena, rows * D);
    t.gru_cache = arena_floats(arena, gru_floats * L);
    t.prior_h = arena_floats(arena, rows * Hd);
    t.prior_mean = arena_floats(arena, rows * S);
    t.prior_raw = arena_floats(arena, rows * S);
    t.prior_std = arena_floats(arena, rows * S);
    t.post_cat = arena_floats(arena, rows * (D + E));
    t.post_h = arena_floats(arena, rows * Hd);
    t.post_mean = arena_floats(arena, rows * S);
    t.post_raw = arena_floats(arena, rows * S);
    t.post_std = arena_floats(arena, rows * S);
    t.z = arena_floats(arena, rows * S);
    float *zeros = arena_alloc_zero(arena, (size_t)B * (D > S ? D : S) * sizeof(float));
    if (arena_check(arena, err)) return err->status;
    const WmGruWeights w = gru_weights(rssm, params);
    for (int step = 0; step < L; step++) {
        const size_t row = (size_t)step * B;
        const float *z_prev = step ? t.z + (row - B) * S : zeros, *h_prev = step ? t.h + (row - B) * D : zeros;
        const float *input_parts[2] = {z_prev, actions + row * A};
        const int input_widths[2] = {S, A};
        concat_forward(t.input_cat + row * (S + A), input_parts, input_widths, 2, B);
        if (dense_forward(&rssm->input, params, t.input + row * Hd, t.input_cat + row * (S + A), B, err) ||
            gru_forward(t.h + row * D, t.gru_cache + step * gru_floats, t.input + row * Hd, h_prev, &w, B, Hd, D,
                        err) ||
            dense_forward(&rssm->prior_hidden, params, t.prior_h + row * Hd, t.h + row * D, B, err) ||
            dense_forward(&rssm->prior_mean, params, t.prior_mean + row * S, t.prior_h + row * Hd, B, err) ||
            dense_forward(&rssm->prior_std, params, t.prior_raw + row * S, t.prior_h + row * Hd, B, err))
            return err->status;
        gauss_sample_forward(NULL, t.prior_std + row * S, t.prior_mean + row * S, t.prior_raw + row * S, NULL,
                             (size_t)B * S, rssm->min_std);
        const float *post_parts[2] = {t.h + row * D, embed + row * E};
        const int post_widths[2] = {D, E};
        concat_forward(t.post_cat + row * (D + E), post_parts, post_widths, 2, B);
        if (dense_forward(&rssm->post_hidden, params, t.post_h + row * Hd, t.post_cat + row * (D + E), B, err) ||
            dense_forward(&rssm->post_mean, params, t.post_mean + row * S, t.post_h + row * Hd, B, err) ||
            dense_forward(&rssm->post_std, params, t.post_raw + row * S, t.post_h + row * Hd, B, err))
            return err->status;
        gauss_sample_forward(t.z + row * S, t.post_std + row * S, t.post_mean + row * S, t.post_raw + row * S,
                             noise + row * S, (size_t)B * S, rssm->min_std);
    }
    *trace = t;
    return WM_OK;
}

/* The two heads of a Gaussian (mean and raw std from one hidden layer) back to that layer's input. */
static WmStatus gaussian_backward(const WmDense *hidden_layer, const WmDense *mean_layer, const WmDense *std_layer,
                                  WmParams *params, float *dinput, float *dmean, float *draw, const float *input,
                                  const float *hidden, float *dhidden, int batch, WmError *err) {
    memset(dhidden, 0, (size_t)batch * hidden_layer->out * sizeof(float));
    if (dense_backward(mean_layer, params, dhidden, dmean, hidden, NULL, batch, err) ||
        dense_backward(std_layer, params, dhidden, draw, hidden, NULL, batch, err))
        return err->status;
    return dense_backward(hidden_layer, params, dinput, dhidden, input, hidden, batch, err);
}

WmStatus rssm_observe_backward(const WmRssm *rssm, WmParams *params, WmArena *arena, const WmRssmTrace *trace,
                               WmRssmGrads *g, float *dembed, WmError *err) {
    const int B = trace->batch, L = trace->length, D = rssm->deter, S = rssm->stoch, Hd = rssm->hidden,
              E = rssm->embed, A = rssm->action;
    const size_t gru_floats = gru_cache_floats(B, D);
    const WmGruWeights w = gru_weights(rssm, params);
    const WmGruGrads gw = {params_grad(params, rssm->gru_weight_ih), params_grad(params, rssm->gru_weight_hh),
                           params_grad(params, rssm->gru_bias_ih), params_grad(params, rssm->gru_bias_hh)};
    const size_t mark = arena_mark(arena);
    float *draw = arena_floats(arena, (size_t)B * S);
    float *dhidden = arena_floats(arena, (size_t)B * Hd);
    float *dcat = arena_floats(arena, (size_t)B * (D + E > S + A ? D + E : S + A));
    float *dinput = arena_floats(arena, (size_t)B * Hd);
    const float *zeros = arena_alloc_zero(arena, (size_t)B * D * sizeof(float));
    if (arena_check(arena, err)) return err->status;
    const size_t state_floats = (size_t)B * S;
    for (int step = L - 1; step >= 0; step--) {
        const size_t row = (size_t)step * B;
        float *dh = g->dh + row * D;
        /* Posterior: z_t = mean + std * noise, and the KL's pull on mean and std. */
        memset(draw, 0, state_floats * sizeof(float));
        gauss_sample_backward(g->dpost_mean + row * S, draw, g->dz + row * S, g->dpost_std + row * S,
                              trace->post_raw + row * S, trace->noise + row * S, state_floats);
        memset(dcat, 0, (size_t)B * (D + E) * sizeof(float));
        if (gaussian_backward(&rssm->post_hidden, &rssm->post_mean, &rssm->post_std, params, dcat,
                              g->dpost_mean + row * S, draw, trace->post_cat + row * (D + E),
                              trace->post_h + row * Hd, dhidden, B, err))
            goto fail;
        float *const post_parts[2] = {dh, dembed + row * E};
        const int post_widths[2] = {D, E};
        concat_backward(post_parts, dcat, post_widths, 2, B);
        /* Prior: only its std goes through softplus. */
        memset(draw, 0, state_floats * sizeof(float));
        gauss_sample_backward(NULL, draw, NULL, g->dprior_std + row * S, trace->prior_raw + row * S, NULL,
                              state_floats);
        if (gaussian_backward(&rssm->prior_hidden, &rssm->prior_mean, &rssm->prior_std, params, dh,
                              g->dprior_mean + row * S, draw, trace->h + row * D, trace->prior_h + row * Hd,
                              dhidden, B, err))
            goto fail;
        /* The GRU, then the input layer back to z_{t-1} (actions need no gradient). */
        memset(dinput, 0, (size_t)B * Hd * sizeof(float));
        const float *h_prev = step ? trace->h + (row - B) * D : zeros;
        if (gru_backward(dinput, step ? g->dh + (row - B) * D : NULL, &gw, dh, trace->gru_cache + step * gru_floats,
                         trace->input + row * Hd, h_prev, &w, B, Hd, D, arena, err))
            goto fail;
        memset(dcat, 0, (size_t)B * (S + A) * sizeof(float));
        if (dense_backward(&rssm->input, params, dcat, dinput, trace->input_cat + row * (S + A),
                           trace->input + row * Hd, B, err))
            goto fail;
        if (step) {
            float *const input_parts[2] = {g->dz + (row - B) * S, NULL};
            const int input_widths[2] = {S, A};
            concat_backward(input_parts, dcat, input_widths, 2, B);
        }
    }
    arena_rewind(arena, mark);
    return WM_OK;
fail:
    arena_rewind(arena, mark);
    return err->status;
}
