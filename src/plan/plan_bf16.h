/* The planning network in bf16: the transition (input layer, GRU projections, prior's hidden layer and mean, or
 * logits and the probabilities from them)
 * and the reward head, each a bf16 matmul (src/ops/matmul_bf16.h) at the batch planning runs, with the GRU gates,
 * activations and sums in f32. It fills the same WmRssmStep arrays as rssm_step_forward, except the prior's std,
 * which planning does not read. The weights are copies: plan_bf16_load brings them up to date with the model. */
#ifndef WM_PLAN_PLAN_BF16_H
#define WM_PLAN_PLAN_BF16_H

#include <stdint.h>

#include "nets/world_model.h"
#include "ops/matmul_bf16.h"

typedef struct {
    const WmDense *dense; /* weight, bias and activation from the model's layer */
    WmMatmulBf16 product;
} WmPlanBf16Layer;

typedef struct {
    const WmWorldModel *model;
    WmDnnl dnnl;     /* its own: a model loaded only to act has no training context */
    int rows, count; /* rows = count x members: the transition and the reward run on all, the extra members on count */
    WmPlanBf16Layer input, action_input, prior_hidden[WM_RSSM_MEMBERS_MAX]; /* action_input: when the RSSM has it */
    WmPlanBf16Layer prior_out[WM_RSSM_MEMBERS_MAX]; /* a Gaussian's mean layer, or a categorical's logits layer */
    WmPlanBf16Layer reward[WM_MLP_LAYERS_MAX];
    WmMatmulBf16 gru_ih, gru_hh;
    uint16_t *x; /* the current layer's input in bf16: (rows, widest input) */
} WmPlanBf16;

WmStatus plan_bf16_init(WmPlanBf16 *net, const WmWorldModel *model, int count, WmError *err);
void plan_bf16_free(WmPlanBf16 *net);
/* Copies the model's current weights into the bf16 layouts. */
WmStatus plan_bf16_load(WmPlanBf16 *net, WmError *err);
/* One transition for all rows with head 0: step->h, step->prior_mean (and the arrays before them). */
WmStatus plan_bf16_transition(WmPlanBf16 *net, WmRssmStep *step, const float *h_prev, const float *z_prev,
                              const float *actions, WmError *err);
/* Head `member` on its rows of h (all for head 0, else count): hidden (., U) and mean (., S); raw (., S) holds a
 * categorical's logits. */
WmStatus plan_bf16_member_prior(WmPlanBf16 *net, int member, const float *h, float *hidden, float *mean, float *raw,
                                WmError *err);
/* The reward head on features (rows, D + S): reward (rows, the head's outputs). The hidden layers alternate between
 * scratch_a and scratch_b, each (rows, the widest layer). */
WmStatus plan_bf16_reward(WmPlanBf16 *net, const float *features, float *scratch_a, float *scratch_b, float *reward,
                          WmError *err);

#endif
