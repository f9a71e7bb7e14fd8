/* Layer normalisation over each row's `width` features (DreamerV3 normalises its dense layers so):
 *   y = gamma * xhat + beta,   xhat = (x - mean) * rstd,   rstd = 1 / sqrt(var + eps)
 * Forward keeps xhat (rows, width) and rstd (rows) for backward when given them (NULL: forward only); y may be x. */
#ifndef WM_OPS_NORM_H
#define WM_OPS_NORM_H

#include <stddef.h>

#define WM_NORM_EPS 1e-3f /* DreamerV3's */

void layer_norm_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma, const float *beta,
                        size_t rows, int width);
/* dgamma and dbeta += (either may be NULL), then dx = the input's gradient, written over (dx may be dy). */
void layer_norm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                         const float *rstd, const float *gamma, size_t rows, int width);

#endif
