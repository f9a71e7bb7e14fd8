#include "plan/plan_bf16.h"

#include <stdlib.h>
#include <string.h>

#include "ops/concat.h"
#include "ops/gru.h"

static WmStatus layer_init(WmPlanBf16Layer *layer, const WmDnnl *ctx, const WmDense *dense, int rows, WmError *err) {
    layer->dense = dense;
    return matmul_bf16_init(&layer->product, ctx, rows, dense->in, dense->out, err);
}

static WmStatus layer_load(WmPlanBf16Layer *layer, const WmDnnl *ctx, const WmParams *params, WmError *err) {
    return matmul_bf16_load(&layer->product, ctx, params_value(params, layer->dense->weight), err);
}

/* y = act(norm(x W^T + b)), x converted to bf16 in net->x first. */
static WmStatus layer_forward(WmPlanBf16 *net, WmPlanBf16Layer *layer, float *y, const float *x, WmError *err) {
    const WmDense *dense = layer->dense;
    const size_t rows = (size_t)layer->product.batch;
    bf16_from_f32(net->x, x, rows * dense->in);
    if (matmul_bf16_forward(&layer->product, &net->dnnl, y, net->x, params_value(&net->model->params, dense->bias),
                            err))
        return err->status;
    dense_finish(dense, &net->model->params, y, NULL, (int)rows); /* its norm and activation */
    return WM_OK;
}

WmStatus plan_bf16_init(WmPlanBf16 *net, const WmWorldModel *model, int count, WmError *err) {
    memset(net, 0, sizeof *net);
    const WmRssm *r = &model->rssm;
    const WmDnnl *ctx = &net->dnnl;
    net->model = model, net->count = count, net->rows = count * r->members;
    if (dnnl_ctx_init(&net->dnnl, err)) return err->status;
    const int rows = net->rows;
    int widest = r->stoch + r->action;
    if (layer_init(&net->input, ctx, &r->input, rows, err) ||
        (r->separate_action && layer_init(&net->action_input, ctx, &r->action_input, rows, err)) ||
        matmul_bf16_init(&net->gru_ih, ctx, rows, r->gru_in, 3 * r->deter, err) ||
        matmul_bf16_init(&net->gru_hh, ctx, rows, r->deter, 3 * r->deter, err))
        return err->status;
    for (int k = 0; k < r->members; k++) {
        const WmLatentHead *head = rssm_member_head(r, k);
        const WmDense *out = r->latent.kind == WM_LATENT_CATEGORICAL ? &head->raw : &head->mean;
        const int head_rows = k == 0 ? rows : count; /* head 0 runs on every particle, the others on their own */
        if (layer_init(&net->prior_hidden[k], ctx, &head->hidden, head_rows, err) ||
            layer_init(&net->prior_out[k], ctx, out, head_rows, err))
            return err->status;
    }
    for (int i = 0; i < model->reward.count; i++) {
        if (layer_init(&net->reward[i], ctx, &model->reward.layers[i], rows, err)) return err->status;
        widest = widest > model->reward.layers[i].in ? widest : model->reward.layers[i].in;
    }
    widest = widest > r->gru_in ? widest : r->gru_in;
    widest = widest > r->deter ? widest : r->deter;
    net->x = malloc((size_t)rows * widest * sizeof *net->x);
    if (net->x == NULL) return wm_error_set(err, WM_ERR_NOMEM, "bf16 planning: no memory for %d rows", rows);
    return plan_bf16_load(net, err);
}

void plan_bf16_free(WmPlanBf16 *net) {
    matmul_bf16_free(&net->input.product);
    matmul_bf16_free(&net->action_input.product);
    matmul_bf16_free(&net->gru_ih);
    matmul_bf16_free(&net->gru_hh);
    for (int k = 0; k < WM_RSSM_MEMBERS_MAX; k++) {
        matmul_bf16_free(&net->prior_hidden[k].product);
        matmul_bf16_free(&net->prior_out[k].product);
    }
    for (int i = 0; i < WM_MLP_LAYERS_MAX; i++) matmul_bf16_free(&net->reward[i].product);
    free(net->x);
    if (net->dnnl.engine) dnnl_ctx_free(&net->dnnl);
    memset(net, 0, sizeof *net);
}

WmStatus plan_bf16_load(WmPlanBf16 *net, WmError *err) {
    const WmWorldModel *m = net->model;
    const WmRssm *r = &m->rssm;
    const WmDnnl *ctx = &net->dnnl;
    if (layer_load(&net->input, ctx, &m->params, err) ||
        (r->separate_action && layer_load(&net->action_input, ctx, &m->params, err)) ||
        matmul_bf16_load(&net->gru_ih, ctx, params_value(&m->params, r->gru_weight_ih), err) ||
        matmul_bf16_load(&net->gru_hh, ctx, params_value(&m->params, r->gru_weight_hh), err))
        return err->status;
    for (int k = 0; k < r->members; k++)
        if (layer_load(&net->prior_hidden[k], ctx, &m->params, err) ||
            layer_load(&net->prior_out[k], ctx, &m->params, err))
            return err->status;
    for (int i = 0; i < m->reward.count; i++)
        if (layer_load(&net->reward[i], ctx, &m->params, err)) return err->status;
    return WM_OK;
}

WmStatus plan_bf16_transition(WmPlanBf16 *net, WmRssmStep *step, const float *h_prev, const float *z_prev,
                              const float *actions, WmError *err) {
    const WmWorldModel *m = net->model;
    const WmRssm *r = &m->rssm;
    const int rows = net->rows;
    const WmGruCacheParts cache = gru_cache_parts(step->gru_cache, rows, r->deter);
    float *proj_x = cache.proj_x, *proj_h = cache.proj_h;
    if (r->separate_action) { /* z and the action each through their layer, side by side */
        float *z_out = step->input_parts, *a_out = z_out + (size_t)rows * r->hidden;
        if (layer_forward(net, &net->input, z_out, z_prev, err) ||
            layer_forward(net, &net->action_input, a_out, actions, err))
            return err->status;
        const float *parts[2] = {z_out, a_out};
        const int widths[2] = {r->hidden, r->hidden};
        concat_forward(step->input, parts, widths, 2, rows);
    } else {
        const float *parts[2] = {z_prev, actions};
        const int widths[2] = {r->stoch, r->action};
        concat_forward(step->input_cat, parts, widths, 2, rows);
        if (layer_forward(net, &net->input, step->input, step->input_cat, err)) return err->status;
    }
    bf16_from_f32(net->x, step->input, (size_t)rows * r->gru_in);
    if (matmul_bf16_forward(&net->gru_ih, &net->dnnl, proj_x, net->x, params_value(&m->params, r->gru_bias_ih), err))
        return err->status;
    bf16_from_f32(net->x, h_prev, (size_t)rows * r->deter);
    if (matmul_bf16_forward(&net->gru_hh, &net->dnnl, proj_h, net->x, params_value(&m->params, r->gru_bias_hh), err))
        return err->status;
    const WmGruWeights w = rssm_gru_weights(r, &m->params);
    gru_gates_forward(step->h, &cache, h_prev, &w, rows, r->deter);
    return plan_bf16_member_prior(net, 0, step->h, step->prior_h, step->prior_mean, step->prior_raw, err);
}

WmStatus plan_bf16_member_prior(WmPlanBf16 *net, int member, const float *h, float *hidden, float *mean, float *raw,
                                WmError *err) {
    const WmLatent *latent = &net->model->rssm.latent;
    const int categorical = latent->kind == WM_LATENT_CATEGORICAL;
    if (layer_forward(net, &net->prior_hidden[member], hidden, h, err) ||
        layer_forward(net, &net->prior_out[member], categorical ? raw : mean, hidden, err))
        return err->status;
    if (categorical) latent_mean_from_raw(latent, mean, raw, (size_t)net->prior_out[member].product.batch);
    return WM_OK;
}

WmStatus plan_bf16_reward(WmPlanBf16 *net, const float *features, float *scratch_a, float *scratch_b, float *reward,
                          WmError *err) {
    const int layers = net->model->reward.count;
    const float *x = features;
    for (int i = 0; i < layers; i++) {
        float *y = i == layers - 1 ? reward : (i % 2 ? scratch_b : scratch_a);
        if (layer_forward(net, &net->reward[i], y, x, err)) return err->status;
        x = y;
    }
    return WM_OK;
}
