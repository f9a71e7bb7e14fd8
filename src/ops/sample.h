/* The reparameterised Gaussian of the RSSM: std = softplus(raw_std) + min_std, z = mean + std * noise, with the
 * noise drawn by the caller (so a gradient check can hold it fixed). */
#ifndef WM_OPS_SAMPLE_H
#define WM_OPS_SAMPLE_H

#include <stddef.h>

/* z may be NULL (with noise NULL): then only std is computed, as a prior needs. */
void gauss_sample_forward(float *z, float *std, const float *mean, const float *raw_std, const float *noise,
                          size_t n, float min_std);
/* Accumulates dmean += dz and draw_std += (dz * noise + dstd) * sigmoid(raw_std). dstd, the gradient reaching the
 * std through other paths (the KL), may be NULL. */
void gauss_sample_backward(float *dmean, float *draw_std, const float *dz, const float *dstd, const float *raw_std,
                           const float *noise, size_t n);

#endif
