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

/* The same over the channels of each pixel of a batch of images (DreamerV3's norm after a convolution), in any
 * layout of blocked channels oneDNN holds them in: element (n, c, h, w) sits at n s_n + (c / block) s_c + h s_h +
 * w s_w + c % block (plain NCHW: block 1, strides C H W, H W, W, 1). Padding channels are left as they are. */
typedef struct {
    int images, channels, height, width;
    int block;
    long stride_image, stride_channel, stride_height, stride_width;
} WmChannelLayout;

/* Plain (N, C, H, W). */
WmChannelLayout channel_layout_plain(int images, int channels, int height, int width);

/* xhat: as the images (same layout); rstd: (images x height x width). Either may be NULL (forward only, then
 * both). */
void channel_norm_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma, const float *beta,
                          const WmChannelLayout *layout);
/* dgamma and dbeta += (either may be NULL), then dx = the input's gradient, written over (dx may be dy). */
void channel_norm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                           const float *rstd, const float *gamma, const WmChannelLayout *layout);

#endif
