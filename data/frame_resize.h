/* Frames of another size are resized to the model's (stb_image_resize: a proper filtered resize, not nearest). */
#ifndef WM_DATA_FRAME_RESIZE_H
#define WM_DATA_FRAME_RESIZE_H

#include <stdint.h>

/* dst (H, W, 3) from src (h, w, 3); a plain copy when the sizes agree. */
void frame_resize_rgb(uint8_t *dst, int height, int width, const uint8_t *src, int src_height, int src_width);

#endif
