/* Animated GIFs with giflib: each frame quantised to its own 256-colour map (giflib's median cut), looping. */
#include <fcntl.h>
#include <gif_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "viz.h"

static WmStatus gif_failed(const char *path, int code, WmError *err) {
    return wm_error_set(err, WM_ERR_IO, "%s: GIF: %s", path, GifErrorString(code));
}

WmStatus viz_gif_write(const char *path, const uint8_t *frames, int count, int height, int width, int delay_cs,
                       WmError *err) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int code = 0;
    /* Opened here rather than by EGifOpenFileName, which creates files readable by their owner only. */
    const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) return wm_error_set(err, WM_ERR_IO, "%s: cannot create", tmp);
    GifFileType *gif = EGifOpenFileHandle(fd, &code);
    if (gif == NULL) {
        close(fd);
        return gif_failed(tmp, code, err);
    }
    const size_t pixels = (size_t)height * width;
    GifByteType *planes = malloc(pixels * 4);
    ColorMapObject *map = GifMakeMapObject(256, NULL);
    WmStatus status = planes && map ? WM_OK : wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", path);
    EGifSetGifVersion(gif, true);
    static const GifByteType LOOP[3] = {1, 0, 0}; /* NETSCAPE2.0: loop forever */
    if (status == WM_OK &&
        (EGifPutScreenDesc(gif, width, height, 8, 0, NULL) == GIF_ERROR ||
         EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
         EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0") == GIF_ERROR || EGifPutExtensionBlock(gif, 3, LOOP) == GIF_ERROR ||
         EGifPutExtensionTrailer(gif) == GIF_ERROR))
        status = gif_failed(tmp, gif->Error, err);
    for (int f = 0; f < count && status == WM_OK; f++) {
        GifByteType *r = planes, *g = planes + pixels, *b = planes + 2 * pixels, *index = planes + 3 * pixels;
        for (size_t p = 0; p < pixels; p++) {
            const uint8_t *rgb = frames + ((size_t)f * pixels + p) * 3;
            r[p] = rgb[0], g[p] = rgb[1], b[p] = rgb[2];
        }
        int colours = 256;
        GraphicsControlBlock control = {DISPOSAL_UNSPECIFIED, false, delay_cs, NO_TRANSPARENT_COLOR};
        GifByteType extension[4];
        const size_t extension_size = EGifGCBToExtension(&control, extension);
        if (GifQuantizeBuffer((unsigned)width, (unsigned)height, &colours, r, g, b, index, map->Colors) == GIF_ERROR ||
            EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, (int)extension_size, extension) == GIF_ERROR ||
            EGifPutImageDesc(gif, 0, 0, width, height, false, map) == GIF_ERROR) {
            status = gif_failed(tmp, gif->Error, err);
            break;
        }
        for (int y = 0; y < height && status == WM_OK; y++)
            if (EGifPutLine(gif, index + (size_t)y * width, width) == GIF_ERROR) status = gif_failed(tmp, gif->Error, err);
    }
    if (EGifCloseFile(gif, &code) == GIF_ERROR && status == WM_OK) status = gif_failed(tmp, code, err);
    free(planes);
    GifFreeMapObject(map);
    if (status == WM_OK) status = fs_commit(tmp, path, err);
    if (status != WM_OK) remove(tmp);
    return status;
}
