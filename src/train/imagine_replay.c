/* The value on the replayed states themselves (DreamerV3's replay value loss, `repval`): each start of imagination
 * is a real state of a replayed sequence, with the real reward it came with. Along each sequence's starts
 * t = 0 .. K-1 the lambda-return of the real rewards, bootstrapped at every step from the imagination's return
 * after that start,
 *   G_{K-1} = r_{K-1} + T_{K-1},   G_t = r_t + gamma c_t ((1 - lambda) (r_{t+1} + T_{t+1}) + lambda G_{t+1}),
 *   T = gamma ((1 - lambda) v_1 + lambda R_1)   (what the imagined rollout from the state expects after it),
 * is a target for v(s_t), t < K-1, as the imagined returns are targets for the imagined states (the same loss,
 * with the slow value's pull beside it), weighted by actor.replay_value. The value then learns from rewards that
 * really came, over the steps the starts span, and not only from the imagined ones: with a gamma of
 * 0.997 its targets lie hundreds of rewards away, which bootstrapping from itself alone climbs to slowly. */
#include "train/imagined.h"

/* Rows of the starts are time-major: start n is step n / B of the last K of its sequence n % B. */
WmStatus replay_value_forward(WmImagination *im, WmImagineRollout *r, const WmImagineReplay *replay,
                              WmImagineLosses *losses, WmError *err) {
    const int N = im->starts, B = replay->batch, value_last = im->value.net.count - 1;
    const float gamma = im->gamma, lambda = im->lambda;
    WmArena *arena = &im->arena;
    float *G = arena_floats(arena, (size_t)N), *after = arena_floats(arena, (size_t)N);
    float *rows = arena_floats(arena, (size_t)N), *slow_rows = arena_floats(arena, (size_t)N);
    if (slow_rows == NULL) return arena_check(arena, err);
    for (int n = 0; n < N; n++)
        after[n] = gamma * ((1.0f - lambda) * AT(r->bootstrap, 1)[n] + lambda * AT(r->ret, 1)[n]);
    for (int n = N - 1; n >= 0; n--) {
        const float reward = replay->rewards[n];
        if (n + B >= N) {
            G[n] = reward + after[n];
            continue;
        }
        const float next = replay->rewards[n + B] + after[n + B];
        G[n] = reward + gamma * replay->continues[n] * ((1.0f - lambda) * next + lambda * G[n + B]);
    }
    r->replay_return = G, r->replay_batch = B;
    const int used = N - B; /* the last start of each sequence is only bootstrapped from */
    regression_loss_forward(&im->value.out, rows, r->s[0].value_outs[value_last], G, used);
    if (im->slow_regularizer > 0.0f)
        regression_loss_forward(&im->value.out, slow_rows, r->s[0].value_outs[value_last], r->s[0].target, used);
    double loss = 0.0, returns = 0.0;
    for (int n = 0; n < used; n++) {
        loss += rows[n] + (im->slow_regularizer > 0.0f ? (double)im->slow_regularizer * slow_rows[n] : 0.0);
        returns += G[n];
    }
    losses->value_loss += im->replay_value * loss / used;
    losses->replay_return = returns / used;
    return WM_OK;
}

WmStatus replay_value_backward(WmImagination *im, const WmImagineRollout *r, WmError *err) {
    const int N = im->starts, used = N - r->replay_batch, value_last = im->value.net.count - 1;
    WmArena *arena = &im->arena;
    const size_t mark = arena_mark(arena);
    float *dv = arena_alloc_zero(arena, (size_t)N * regression_outputs(&im->value.out) * sizeof(float));
    float *drows = arena_alloc_zero(arena, (size_t)N * sizeof(float));
    if (drows == NULL) return arena_check(arena, err);
    const Imagined *s0 = &r->s[0];
    for (int n = 0; n < used; n++) drows[n] = im->replay_value / (float)used;
    regression_loss_backward(&im->value.out, dv, drows, s0->value_outs[value_last], r->replay_return, used);
    for (int n = 0; im->slow_regularizer > 0.0f && n < used; n++) drows[n] *= im->slow_regularizer;
    if (im->slow_regularizer > 0.0f)
        regression_loss_backward(&im->value.out, dv, drows, s0->value_outs[value_last], s0->target, used);
    mlp_backward(&im->value.net, &im->value.params, arena, NULL, dv, s0->features, s0->value_outs, N, err);
    arena_rewind(arena, mark);
    return err->status;
}
