#include "nets/actor.h"

#include <string.h>

WmStatus actor_create(WmActor *a, const WmActorSection *c, int features, int actions, WmError *err) {
    memset(a, 0, sizeof *a);
    params_init(&a->params);
    const WmLayerStyle style = dense_style(c->activation, c->norm);
    a->features = features, a->actions = actions;
    a->dist = action_dist_from_config(c);
    if (mlp_declare(&a->net, &a->params, "actor", features, (int)c->units, (int)c->layers, 2 * actions, style,
                    err))
        return err->status;
    return params_allocate(&a->params, err);
}

void actor_init_params(WmActor *a, uint64_t seed) {
    params_init_glorot(&a->params, seed);
    if (a->dist.kind != WM_ACTION_BOUNDED_NORMAL) return;
    /* DreamerV3 draws the policy's output layer at 1% of its scale, so every state starts at the same wide policy:
     * mean about 0, std about min_std + 0.88 (max_std - min_std). */
    const WmDense *out = &a->net.layers[a->net.count - 1];
    float *w = params_value(&a->params, out->weight);
    for (size_t i = 0; i < (size_t)out->in * out->out; i++) w[i] *= 0.01f;
}

WmStatus value_create(WmValue *v, const WmActorSection *c, int features, WmError *err) {
    memset(v, 0, sizeof *v);
    params_init(&v->params);
    const WmLayerStyle style = dense_style(c->activation, c->norm);
    v->out = regression_make(c->value_head);
    if (mlp_declare(&v->net, &v->params, "value", features, (int)c->value_units, (int)c->value_layers,
                    regression_outputs(&v->out), style, err))
        return err->status;
    return params_allocate(&v->params, err);
}

void actor_free(WmActor *a) {
    params_free(&a->params);
    memset(a, 0, sizeof *a);
}

void value_free(WmValue *v) {
    params_free(&v->params);
    memset(v, 0, sizeof *v);
}

WmStatus actor_act(const WmActor *a, WmArena *arena, const float *features, const float *eps, int density_mode,
                   float *action, WmError *err) {
    const size_t mark = arena_mark(arena);
    float *outs[WM_MLP_LAYERS_MAX];
    const int A = a->actions;
    float *mean = arena_floats(arena, (size_t)3 * A);
    if (mean == NULL) return arena_check(arena, err);
    float *std = mean + A, *u = std + A;
    if (mlp_forward(&a->net, &a->params, arena, outs, features, 1, err) == WM_OK) {
        if (eps == NULL && density_mode) action_dist_mode(&a->dist, outs[a->net.count - 1], action, 1, A);
        else action_dist_forward(&a->dist, outs[a->net.count - 1], eps, mean, std, u, action, 1, A);
    }
    arena_rewind(arena, mark);
    return err->status;
}
