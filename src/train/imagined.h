/* The imagined rollout, as the imagination's two halves share it: imagine.c rolls the states out and takes the
 * actor's gradient back through them; imagine_losses.c computes the returns and the actor's and value's losses on
 * them. Private to src/train. */
#ifndef WM_TRAIN_IMAGINED_H
#define WM_TRAIN_IMAGINED_H

#include "train/imagine.h"

/* What one imagined state s_k keeps for backward; rows n = 0 .. N-1. */
typedef struct {
    float *hidden[WM_RSSM_MEMBERS_MAX], *mean[WM_RSSM_MEMBERS_MAX], *raw[WM_RSSM_MEMBERS_MAX],
        *std[WM_RSSM_MEMBERS_MAX];
    float *cache[WM_RSSM_MEMBERS_MAX]; /* each member's hidden layer's (dense.h) */
    float *features[WM_RSSM_MEMBERS_MAX], *reward_outs[WM_RSSM_MEMBERS_MAX][WM_MLP_LAYERS_MAX];
    const float *reward[WM_RSSM_MEMBERS_MAX]; /* (N): each member's reward, read from its head's output */
    float *variance; /* (N) */
} MemberRewards;

typedef struct {
    const float *h, *z;   /* (N, D), (N, S): the start's for k = 0, else the transition's */
    float *features;      /* (N, D + S) */
    WmRssmStep step;      /* the transition into s_k (k >= 1) */
    float *actor_outs[WM_MLP_LAYERS_MAX]; /* the actor at s_k (k < H) */
    float *mean, *std, *u, *action, *entropy; /* (N, A) x 4, (N) */
    float *reward_outs[WM_MLP_LAYERS_MAX], *continue_outs[WM_MLP_LAYERS_MAX]; /* k >= 1 */
    float *value_outs[WM_MLP_LAYERS_MAX], *target_outs[WM_MLP_LAYERS_MAX];
    const float *reward, *value, *target; /* (N): the heads' outputs read as numbers (nets/regression.h) */
    /* The ensemble's disagreement at s_k (actor.variance_penalty): every member j's prior on h_k and the reward of
     * [h_k, its mean]; the penalised reward is reward - penalty x their variance. */
    MemberRewards *members;
} Imagined;

/* What the losses' forward leaves for their backward (im->rollout): the imagined states, and per state, (H + 1, N)
 * each: rewards, the values the returns bootstrap from, the returns, each state's discount gamma_k (gamma times the
 * continue head's probability, when there is one) and the cumulative weight w_k = gamma_1 ... gamma_{k-1},
 * detached as Dreamer does. */
struct WmImagineRollout {
    Imagined *s;
    float *reward, *bootstrap, *ret, *discount, *weight;
    /* REINFORCE's advantage of the action at s_{k-1}, in column k: its return minus the value at s_{k-1}, where both
     * count r_{k-1}, the reward s_{k-1} already holds (so r_0 is read at the start too); NULL with the dynamics
     * gradient. */
    float *advantage;
    float *replay_return; /* (N): the replay value loss's targets G_t at the starts (imagine_replay.c), or NULL */
    int replay_batch;     /* the replay's sequences side by side */
    double count; /* N (H - 1): the states the losses average over */
    double scale; /* imagine_return_scale at the forward */
};

/* What the actor's loss sends to every imagined state's scalars, each (H + 1, N). */
typedef struct {
    float *reward, *bootstrap, *continue_logit, *entropy, *log_prob;
} ImagineGradients;

/* Column k of the per-state scalars: r_k, the values, the returns. */
#define AT(array, k) ((array) + (size_t)(k) * N)

/* Imagines s_0 .. s_H from the starts: features, the actor's actions and the transitions, the rewards and values. */
WmStatus imagine_rollout_forward(WmImagination *im, const WmWorldModel *m, const float *h0, const float *z0,
                                 Imagined *s, WmError *err);
/* The actor's gradient back through the rollout: REINFORCE's (the states detached) or through the dynamics. */
WmStatus imagine_rollout_backward_reinforce(WmImagination *im, const Imagined *s, const float *dlog_prob,
                                            const float *dentropy, WmError *err);
WmStatus imagine_rollout_backward_dynamics(WmImagination *im, const WmWorldModel *m, const Imagined *s,
                                           const ImagineGradients *g, WmError *err);

/* The replay value loss (actor.replay_value, imagine_replay.c): its targets at the starts, its share of
 * losses->value_loss and losses->replay_return; then its gradient into the value's block. */
WmStatus replay_value_forward(WmImagination *im, WmImagineRollout *r, const WmImagineReplay *replay,
                              WmImagineLosses *losses, WmError *err);
WmStatus replay_value_backward(WmImagination *im, const WmImagineRollout *r, WmError *err);

#endif
