/* Loss terms. Forward returns a double sum (deterministic chunked reduction, src/core/reduce.h); backward takes
 * dloss, the gradient of the final objective with respect to that sum, and accumulates into the inputs. */
#ifndef WM_OPS_LOSS_H
#define WM_OPS_LOSS_H

#include <stddef.h>

/* sum_i log N(target_i; mean_i, std^2), std fixed (PlaNet's decoder: std 1). */
double gauss_ll_fixed_forward(const float *mean, const float *target, size_t n, float std);
void gauss_ll_fixed_backward(float *dmean, const float *mean, const float *target, size_t n, float std,
                             float dloss);
/* The same gradient written over the mean it is taken at (mean becomes dmean): the decoder's image needs no other
 * buffer of its size. Bit for bit what gauss_ll_fixed_backward adds to a zeroed dmean. */
void gauss_ll_fixed_gradient_in_place(float *mean, const float *target, size_t n, float std, float dloss);

/* kl_b = KL(N(mean_q, std_q) || N(mean_p, std_p)) summed over the D dimensions of row b; inputs (B, D). */
void kl_diag_gauss_forward(float *kl, const float *mean_q, const float *std_q, const float *mean_p,
                           const float *std_p, int batch, int dim);
/* dkl (B) is the gradient per row; any of the four input gradients may be NULL. */
void kl_diag_gauss_backward(float *dmean_q, float *dstd_q, float *dmean_p, float *dstd_p, const float *dkl,
                            const float *mean_q, const float *std_q, const float *mean_p, const float *std_p,
                            int batch, int dim);

/* y_i = max(free_nats, x_i): below the allowance the KL gets no gradient (PlaNet's free nats). */
void free_nats_forward(float *y, const float *x, size_t n, float free_nats);
void free_nats_backward(float *dx, const float *dy, const float *x, size_t n, float free_nats);

#endif
