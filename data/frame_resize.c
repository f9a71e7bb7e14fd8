#include "data/frame_resize.h"

#include <stb_image_resize.h>
#include <string.h>

void frame_resize_rgb(uint8_t *dst, int height, int width, const uint8_t *src, int src_height, int src_width) {
    if (height == src_height && width == src_width) {
        memcpy(dst, src, (size_t)height * width * 3);
        return;
    }
    stbir_resize_uint8(src, src_width, src_height, 0, dst, width, height, 0, 3);
}
