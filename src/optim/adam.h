/* Adam (Kingma & Ba, 2015) with global-norm gradient clipping, one flat loop over the parameter block, and optionally
 * DreamerV3's adaptive clipping per tensor (after Brock et al., 2021): a tensor whose gradient norm exceeds agc times
 * its values' norm (at least 1e-3) has its gradient scaled down to that, so one bad batch cannot move any tensor by
 * more than a share of its size, whatever the rest of the block's gradients. */
#ifndef WM_OPTIM_ADAM_H
#define WM_OPTIM_ADAM_H

#include <stddef.h>

#include "core/params.h"

typedef struct {
    float learning_rate, beta1, beta2, eps;
    float clip_norm; /* <= 0: no clipping */
    long step;       /* updates done so far; the bias correction uses step + 1 */
    float agc;       /* > 0: each tensor's gradient norm at most agc x max(its values' norm, 1e-3) (DreamerV3: 0.3) */
} WmAdam;

/* PlaNet's defaults: lr 1e-3, eps 1e-4, clip 1000. */
WmAdam adam_defaults(void);

/* sqrt(sum g^2), deterministic for any thread count. */
double grad_global_norm(const float *grad, size_t n);

/* One update of n values from grad, scaled by grad_scale first (the clipping factor). */
void adam_update(const WmAdam *adam, float *value, float *m, float *v, const float *grad, size_t n,
                 float grad_scale);

/* Clips the parameters' gradients to clip_norm by their global norm, then each tensor's by agc, updates every
 * parameter, advances the step. Returns the norm before clipping (a non-finite norm updates nothing: the caller
 * reports it). */
double adam_step(WmAdam *adam, WmParams *params);

#endif
