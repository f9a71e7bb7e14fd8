/* Opens a picture with a real decoder and says what it holds: "png W H COLOURS" (libpng) or
 * "gif W H FRAMES COLOURS" (giflib), COLOURS counting distinct RGB values (up to 4096) in the first frame.
 * Used by the wm-viz tests to check that what was written decodes, has the right size and is not blank. */
#include <gif_lib.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int distinct(const unsigned char *rgb, size_t pixels) {
    static unsigned seen[4096];
    int count = 0;
    for (size_t p = 0; p < pixels && count < 4096; p++) {
        const unsigned v = (unsigned)rgb[3 * p] << 16 | (unsigned)rgb[3 * p + 1] << 8 | rgb[3 * p + 2];
        int k = 0;
        while (k < count && seen[k] != v) k++;
        if (k == count) seen[count++] = v;
    }
    return count;
}

static int probe_png(const char *path) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path)) return fprintf(stderr, "%s: %s\n", path, image.message), 1;
    image.format = PNG_FORMAT_RGB;
    unsigned char *rgb = malloc(PNG_IMAGE_SIZE(image));
    if (!rgb || !png_image_finish_read(&image, NULL, rgb, 0, NULL)) return fprintf(stderr, "%s: %s\n", path, image.message), 1;
    printf("png %u %u %d\n", image.width, image.height, distinct(rgb, (size_t)image.width * image.height));
    free(rgb);
    return 0;
}

static int probe_gif(const char *path) {
    int error = 0;
    GifFileType *gif = DGifOpenFileName(path, &error);
    if (gif == NULL || DGifSlurp(gif) == GIF_ERROR) return fprintf(stderr, "%s: %s\n", path, GifErrorString(gif ? gif->Error : error)), 1;
    const SavedImage *first = &gif->SavedImages[0];
    const ColorMapObject *map = first->ImageDesc.ColorMap ? first->ImageDesc.ColorMap : gif->SColorMap;
    const size_t pixels = (size_t)first->ImageDesc.Width * first->ImageDesc.Height;
    unsigned char *rgb = malloc(pixels * 3);
    for (size_t p = 0; p < pixels; p++) {
        const GifColorType c = map->Colors[first->RasterBits[p]];
        rgb[3 * p] = c.Red, rgb[3 * p + 1] = c.Green, rgb[3 * p + 2] = c.Blue;
    }
    printf("gif %d %d %d %d\n", gif->SWidth, gif->SHeight, gif->ImageCount, distinct(rgb, pixels));
    free(rgb);
    DGifCloseFile(gif, &error);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) return fprintf(stderr, "usage: image_probe FILE.png|FILE.gif\n"), 2;
    const size_t n = strlen(argv[1]);
    return n > 4 && strcmp(argv[1] + n - 4, ".gif") == 0 ? probe_gif(argv[1]) : probe_png(argv[1]);
}
