/* DreamerV3's regression head: a scalar y is predicted as a distribution over B bins evenly spaced in symlog space
 * over [low, high] (255 over [-20, 20]), so one head learns rewards and returns of any scale.
 *   symlog(x) = sign(x) log(1 + |x|),  symexp(x) = sign(x) (exp(|x|) - 1)
 *   target    = twohot(symlog(y)): weight on the two bins around symlog(y), split by distance (all on the
 *               end bin past either end)
 *   loss      = -sum_i target_i log softmax(logits)_i        (the cross-entropy, per row)
 *   y_hat     = symexp(sum_i softmax(logits)_i bin_i) */
#ifndef WM_OPS_TWOHOT_H
#define WM_OPS_TWOHOT_H

#include <stddef.h>

typedef struct {
    int bins;
    float low, high; /* the first and last bin, in symlog space */
} WmTwohot;

float symlog(float x);
float symexp(float x);
/* Elementwise over arrays, with the gradients: dx += dy * d/dx. */
void symlog_forward(float *y, const float *x, size_t n);
void symlog_backward(float *dx, const float *dy, const float *x, size_t n);
void symexp_forward(float *y, const float *x, size_t n);
void symexp_backward(float *dx, const float *dy, const float *x, size_t n);

/* The bins' value i (in symlog space). */
float twohot_bin(const WmTwohot *t, int i);
/* target (bins): the twohot encoding of symlog(y). */
void twohot_encode(const WmTwohot *t, float *target, float y);
/* loss (batch): each row's cross-entropy of logits (batch, bins) against twohot(symlog(targets[row])). */
void twohot_loss_forward(const WmTwohot *t, float *loss, const float *logits, const float *targets, int batch);
/* dlogits += dloss[row] (softmax - twohot target); dloss (batch). */
void twohot_loss_backward(const WmTwohot *t, float *dlogits, const float *dloss, const float *logits,
                          const float *targets, int batch);
/* y (batch) = symexp of each row's expected bin. */
void twohot_predict(const WmTwohot *t, float *y, const float *logits, int batch);
/* dlogits += dy[row] dy/dlogits = dy symexp'(e) p_i (bin_i - e), e the expected bin, p the softmax. */
void twohot_predict_backward(const WmTwohot *t, float *dlogits, const float *dy, const float *logits, int batch);

#endif
