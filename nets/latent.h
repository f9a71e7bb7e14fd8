/* The stochastic state's distribution, Gaussian (PlaNet) or categorical (DreamerV3), behind one interface. A
 * distribution of width S is three arrays (rows, S):
 *   gaussian:    mean from its own layer; raw, the std layer's output; std = softplus(raw) + min_std
 *   categorical: raw, the logits layer's output (S = G groups x C classes); mean = the probabilities with unimix
 *                (ops/categorical.h), which is also the one-hot sample's mean; std is not used
 * A head makes one from a hidden layer: [input] -> hidden -> (mean, raw). Its sample is mean + std noise, or a
 * one-hot draw whose gradient passes straight through to the probabilities; its mode (for acting and planning) is
 * the mean, or each group's most probable class. */
#ifndef WM_NETS_LATENT_H
#define WM_NETS_LATENT_H

#include "config/config.h"
#include "core/params.h"
#include "nets/dense.h"

typedef struct {
    WmLatentChoice kind;
    int width;   /* S: the state's floats */
    int classes; /* C, categorical; 1 for a Gaussian */
    float min_std, unimix;
} WmLatent;

typedef struct {
    WmDense hidden, mean, raw; /* mean: Gaussian only */
} WmLatentHead;

/* From the model config: stoch Gaussians, or stoch categoricals of `classes` (width stoch x classes). */
WmLatent latent_from_config(const WmModelSection *net);

/* Declares `name.hidden` (in `style`), then `name.mean` and `name.std` (Gaussian) or `name.logits` (categorical). */
WmStatus latent_head_declare(const WmLatent *latent, WmLatentHead *head, WmParams *params, const char *name, int in,
                             int hidden, WmLayerStyle style, WmError *err);
/* hidden (B, U), mean, raw and std (B, S) from input (B, in); cache: the hidden layer's (dense_cache_floats), or
 * NULL for forward only. */
WmStatus latent_head_forward(const WmLatent *latent, const WmLatentHead *head, const WmParams *params,
                             const float *input, float *hidden, float *cache, float *mean, float *raw, float *std,
                             int batch, WmError *err);
/* From dmean and dstd (consumed; a Gaussian's dstd may be NULL): dinput (may be NULL) +=, the head's parameter
 * gradients +=. dhidden (B, U) and draw (B, S) are scratch. */
WmStatus latent_head_backward(const WmLatent *latent, const WmLatentHead *head, WmParams *params, float *dinput,
                              float *dmean, float *dstd, const float *input, const float *hidden, const float *cache,
                              const float *mean, const float *raw, float *dhidden, float *draw, int batch,
                              WmError *err);

/* z (rows, S): a draw, with noise (rows, S) standard normal. */
void latent_sample(const WmLatent *latent, float *z, const float *mean, const float *std, const float *noise,
                   size_t rows);
/* The draw's gradient onto the distribution: dmean += dz, and a Gaussian's dstd += dz noise. */
void latent_sample_backward(const WmLatent *latent, float *dmean, float *dstd, const float *dz, const float *noise,
                            size_t rows);
/* z (rows, S): the deterministic state, for acting and planning. */
void latent_mode(const WmLatent *latent, float *z, const float *mean, size_t rows);
/* The mean from the raw head output (categorical; a Gaussian's mean has its own layer): mean (rows, S). */
void latent_mean_from_raw(const WmLatent *latent, float *mean, const float *raw, size_t rows);

/* kl (rows) = KL(q || p) per row. */
void latent_kl_forward(const WmLatent *latent, float *kl, const float *mean_q, const float *std_q,
                       const float *mean_p, const float *std_p, int rows);
/* dkl (rows); each side's gradients may be NULL (a stop-gradient). */
void latent_kl_backward(const WmLatent *latent, float *dmean_q, float *dstd_q, float *dmean_p, float *dstd_p,
                        const float *dkl, const float *mean_q, const float *std_q, const float *mean_p,
                        const float *std_p, int rows);

#endif
