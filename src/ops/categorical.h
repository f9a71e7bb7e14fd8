/* Categorical latents (DreamerV3): a row of G x C logits is G groups of C classes, and the stochastic state is one
 * one-hot vector per group.
 *   probs = (1 - unimix) softmax(logits) + unimix / C        per group: no class ever has probability 0, so the
 *                                                            KL stays finite and the prior can always recover
 *   z     = onehot(a draw from probs), straight through:     z = onehot + probs - sg(probs), so dz reaches probs
 * The draw is by inverse CDF at u = Phi(noise), noise one standard normal per group (the group's first float in a
 * (rows, G x C) noise buffer): a normal draw through its own CDF is uniform, so the Gaussian latents' noise serves
 * both kinds, and a test can hold it fixed. */
#ifndef WM_OPS_CATEGORICAL_H
#define WM_OPS_CATEGORICAL_H

#include <stddef.h>

/* probs and logits (groups, classes); they may not alias. */
void categorical_probs_forward(float *probs, const float *logits, size_t groups, int classes, float unimix);
/* dlogits += the gradient through the softmax and the mix, from dprobs and the forward's probs. */
void categorical_probs_backward(float *dlogits, const float *dprobs, const float *probs, size_t groups, int classes,
                                float unimix);
/* z (groups, classes): one-hot draws; noise as above. The straight-through gradient is dprobs += dz. */
void categorical_sample_forward(float *z, const float *probs, const float *noise, size_t groups, int classes);
/* z: one-hot of each group's most probable class (the first on ties): the deterministic state for acting. */
void categorical_mode(float *z, const float *probs, size_t groups, int classes);

/* kl_b = KL(q || p) = sum over the row's groups and classes of q (log q - log p); inputs (batch, dim), dim = G x C. */
void kl_categorical_forward(float *kl, const float *probs_q, const float *probs_p, int batch, int dim);
/* dkl (batch) per row; either probability gradient may be NULL (a stop-gradient on that side). */
void kl_categorical_backward(float *dprobs_q, float *dprobs_p, const float *dkl, const float *probs_q,
                             const float *probs_p, int batch, int dim);

#endif
