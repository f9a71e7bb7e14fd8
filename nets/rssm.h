/* The recurrent state-space model (PlaNet, Hafner et al. 2019), with the dimension letters B batch, L steps,
 * D deter, S stoch, E embed, A action, U the units of the dense layers:
 *   x_t  = act(W_in [z_{t-1}, a_t])            a_t: the action that led to frame t (the row convention)
 *     or [act(W_z z_{t-1}), act(W_a a_t)]      with the action's own layer (DreamerV3's RSSM of 2024): one
 *                                              action float is then not one input among a thousand one-hot ones
 *   h_t  = GRU(x_t, h_{t-1})                   the deterministic state
 *   prior     p(z_t | h_t)      from act(W_p h_t)            Gaussian or categorical (nets/latent.h)
 *   posterior q(z_t | h_t, e_t) from act(W_q [h_t, e_t])
 *   z_t  = a draw from q (or p) with noise_t   reparameterised or straight through, noise drawn by the caller
 * The transition (x, h and the prior) is one piece, `WmRssmStep`, shared by observe (then the posterior is added)
 * and imagine (the prior's own sample goes on). A sequence starts from h = 0, z = 0 (chunks never cross an
 * episode's start). Arrays are time-major, (L, B, X). */
#ifndef WM_NETS_RSSM_H
#define WM_NETS_RSSM_H

#include "core/arena.h"
#include "core/params.h"
#include "nets/dense.h"
#include "nets/latent.h"
#include "ops/gru.h"

#define WM_RSSM_MEMBERS_MAX 16

typedef struct {
    int deter, stoch, hidden, embed, action; /* D, S (the state's floats: latent.width), U, E, A */
    WmLatent latent;
    WmDense input;                          /* [z, a] -> U, or z -> U with the action's own layer */
    WmDense action_input;                   /* a -> U when separate_action */
    int separate_action;
    int gru_in;                             /* the GRU's input: U, or 2U with the action's own layer */
    int gru_weight_ih, gru_weight_hh, gru_bias_ih, gru_bias_hh; /* (3D, gru_in), (3D, D), (3D), (3D) */
    int gru_norm_scale, gru_norm_offset; /* (3D) each with model.norm (ops/gru.h's normalised cell), else -1 */
    WmLatentHead prior;                     /* D -> U -> S */
    WmLatentHead posterior;                 /* D + E -> U -> S */
    /* An ensemble of prior members p_k(z | h), k = 1 .. members - 1, beside the main one (k = 0): trained on the same
     * posteriors from other initialisations, they disagree where the model has not seen enough. */
    int members;
    WmLatentHead member[WM_RSSM_MEMBERS_MAX]; /* [1, members) */
} WmRssm;

/* One transition for `batch` rows: what forward keeps for backward. */
typedef struct {
    int batch;
    int member;                   /* the member whose prior it runs (0: the main prior; imagination may pick another) */
    float *input_cat;             /* (B, S + A): [z, a], or z's block then a's with the action's own layer */
    float *input;                 /* (B, gru_in) */
    float *input_parts;           /* with the action's own layer: its output and z's, (B, U) each, else NULL */
    float *input_cache, *action_cache, *prior_cache; /* the input layers' and the prior's hidden layer's (dense.h;
                                                      * NULL where none) */
    float *h, *gru_cache;         /* (B, D), gru_cache_floats(B, D) */
    float *prior_h, *prior_mean, *prior_raw, *prior_std; /* (B, U), (B, S) x 3 */
} WmRssmStep;

/* Allocates a step's arrays for `batch` rows from the arena. */
WmStatus rssm_step_alloc(const WmRssm *rssm, WmArena *arena, WmRssmStep *step, int batch, WmError *err);
/* Floats of the action layer's cache for `batch` rows (0 without one, or when it keeps none). */
size_t rssm_action_cache_floats(const WmRssm *rssm, int batch);
/* h, the prior's mean and std from (h_prev, z_prev, action), all (B, .). */
WmStatus rssm_step_forward(const WmRssm *rssm, const WmParams *params, WmRssmStep *step, const float *h_prev,
                           const float *z_prev, const float *action, WmError *err);
/* From dh (the gradient of step->h, consumed) and the prior's dmean, dstd (consumed): dh_prev, dz_prev and
 * daction (any may be NULL) +=, parameter gradients +=. */
WmStatus rssm_step_backward(const WmRssm *rssm, WmParams *params, WmArena *arena, const WmRssmStep *step,
                            const float *h_prev, float *dh_prev, float *dz_prev, float *daction, float *dh,
                            float *dprior_mean, float *dprior_std, WmError *err);

/* What observe keeps for backward (and what the losses read). All (L, B, X). */
typedef struct {
    int batch, length;
    WmRssmStep *steps;               /* L transitions, each pointing into the arrays below */
    float *input_cat, *input, *input_parts, *h, *gru_cache;
    float *prior_h, *prior_mean, *prior_raw, *prior_std;
    float *post_cat, *post_h, *post_mean, *post_raw, *post_std;
    float *input_cache, *action_cache, *prior_cache, *post_cache; /* L caches each of the layers that keep one
                                                                   * (dense.h) */
    float *noise, *z;                /* S */
} WmRssmTrace;

WmStatus rssm_declare(WmRssm *rssm, WmParams *params, int deter, const WmLatent *latent, int hidden, int embed,
                      int action, int separate_action, WmLayerStyle style, int members, WmError *err);

/* The GRU's tensors in `params`. */
WmGruWeights rssm_gru_weights(const WmRssm *rssm, const WmParams *params);

/* The prior head of member `member` (0: the main prior). */
const WmLatentHead *rssm_member_head(const WmRssm *rssm, int member);
/* Member `member`'s prior (0: the main prior) on h (B, D): its hidden layer (B, U) and that layer's cache (NULL:
 * forward only), mean, raw and std (B, S). */
WmStatus rssm_member_prior(const WmRssm *rssm, const WmParams *params, int member, const float *h, float *hidden,
                           float *cache, float *mean, float *raw, float *std, int batch, WmError *err);
/* Its backward from dmean and dstd (consumed); dh (may be NULL) +=, the member's parameter gradients +=. Scratch
 * from the arena, handed back. */
WmStatus rssm_member_prior_backward(const WmRssm *rssm, WmParams *params, WmArena *arena, int member, float *dh,
                                    float *dmean, float *dstd, const float *h, const float *hidden,
                                    const float *cache, const float *mean, const float *raw, int batch, WmError *err);

/* Runs the filter over a sequence: embed (L, B, E), actions (L, B, A), noise (L, B, S) owned by the caller and
 * kept by reference in the trace. From step `context` on (context < L), the frames are not looked at: z is drawn
 * from the prior instead (open-loop prediction, forward only); context = L is the ordinary filter. */
WmStatus rssm_observe(const WmRssm *rssm, const WmParams *params, WmArena *arena, WmRssmTrace *trace,
                      const float *embed, const float *actions, const float *noise, int batch, int length,
                      int context, WmError *err);

/* One filter step for acting, batch 1: (h, z) <- the transition from (h, z) with `action`, then the posterior
 * given the frame's embedding, z its mode. Updates h (D) and z (S) in place. */
WmStatus rssm_filter(const WmRssm *rssm, const WmParams *params, WmArena *arena, float *h, float *z,
                     const float *action, const float *embed, WmError *err);

/* Gradients arriving from the losses, all (L, B, X): dh (D) and dz (S) from the heads (consumed), the KL's
 * gradients on both distributions (consumed). dembed (L, B, E) += the gradient of the embedding. */
typedef struct {
    float *dh, *dz;
    float *dpost_mean, *dpost_std, *dprior_mean, *dprior_std;
} WmRssmGrads;

WmStatus rssm_observe_backward(const WmRssm *rssm, WmParams *params, WmArena *arena, const WmRssmTrace *trace,
                               WmRssmGrads *grads, float *dembed, WmError *err);

#endif
