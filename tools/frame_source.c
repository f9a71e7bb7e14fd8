#include "frame_source.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "core/fs.h"
#include "data/episode_png.h"

enum { CAMERA_DEFAULT_WIDTH = 640, CAMERA_DEFAULT_HEIGHT = 480 };

static WmStatus list_png_frames(FrameSource *source, WmError *err) {
    char **all = NULL;
    int all_count = 0;
    if (fs_list_dir(source->spec, &all, &all_count, err)) return err->status;
    source->names = calloc((size_t)all_count + 1, sizeof *source->names);
    for (int i = 0; i < all_count; i++)
        if (source->names && cli_ends_with(all[i], ".png")) source->names[source->count++] = all[i];
        else free(all[i]);
    free(all);
    if (source->names == NULL) return wm_error_set(err, WM_ERR_NOMEM, "%s: no memory to list it", source->spec);
    if (source->count == 0) return wm_error_set(err, WM_ERR_ARG, "%s: no .png frames", source->spec);
    return WM_OK;
}

WmStatus frame_source_open(FrameSource *source, const char *spec, int width, int height, WmError *err) {
    memset(source, 0, sizeof *source);
    source->spec = spec;
    source->camera.fd = -1;
    struct stat info;
    if (strcmp(spec, "-") == 0) {
        if (width < 1 || height < 1) return wm_error_set(err, WM_ERR_ARG, "--frames -: needs --frame-size WxH");
        source->kind = FRAMES_STDIN;
        source->width = width, source->height = height;
        source->pixels = malloc((size_t)width * height * 3);
        if (source->pixels == NULL) return wm_error_set(err, WM_ERR_NOMEM, "stdin: no memory for one frame");
        return WM_OK;
    }
    if (stat(spec, &info) != 0) return wm_error_set(err, WM_ERR_ARG, "--frames %s: %s", spec, strerror(errno));
    if (S_ISDIR(info.st_mode)) {
        source->kind = FRAMES_PNG_DIR;
        return list_png_frames(source, err);
    }
    if (!S_ISCHR(info.st_mode))
        return wm_error_set(err, WM_ERR_ARG, "--frames %s: not '-', a directory of PNG frames, nor a V4L2 device",
                            spec);
    source->kind = FRAMES_CAMERA;
    if (camera_open(&source->camera, spec, width > 0 ? width : CAMERA_DEFAULT_WIDTH,
                    height > 0 ? height : CAMERA_DEFAULT_HEIGHT, err))
        return err->status;
    source->width = source->camera.width, source->height = source->camera.height;
    source->pixels = malloc((size_t)source->width * source->height * 3);
    if (source->pixels == NULL) return wm_error_set(err, WM_ERR_NOMEM, "%s: no memory for one frame", spec);
    fprintf(stderr, "wm plan: %s gives %dx%d RGB24 frames\n", spec, source->width, source->height);
    return WM_OK;
}

/* Up to `bytes` from stdin (fd 0, unbuffered), waiting at most 100 ms at a time, so that a stop asked for while no
 * frame comes is seen without a signal having to interrupt the read. *stopped tells that case. */
static WmStatus read_stdin(uint8_t *out, size_t bytes, int (*stop_requested)(void), size_t *got, int *stopped,
                           long index, WmError *err) {
    *got = 0, *stopped = 0;
    while (*got < bytes) {
        if (stop_requested && stop_requested()) {
            *stopped = 1;
            return WM_OK;
        }
        struct pollfd ready = {0, POLLIN, 0};
        const int polled = poll(&ready, 1, 100);
        if (polled < 0 && errno != EINTR)
            return wm_error_set(err, WM_ERR_IO, "stdin: frame %ld: poll failed: %s", index, strerror(errno));
        if (polled <= 0) continue;
        const ssize_t n = read(0, out + *got, bytes - *got);
        if (n == 0) return WM_OK; /* the end */
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return wm_error_set(err, WM_ERR_IO, "stdin: frame %ld: read failed: %s", index, strerror(errno));
        if (n > 0) *got += (size_t)n;
    }
    return WM_OK;
}

int frame_source_next(FrameSource *source, WmError *err) {
    const long index = source->index;
    if (source->kind == FRAMES_STDIN) {
        const size_t bytes = (size_t)source->width * source->height * 3;
        size_t got;
        int stopped;
        if (read_stdin(source->pixels, bytes, source->stop_requested, &got, &stopped, index, err)) return -1;
        if (stopped || got == 0) return 0;
        if (got < bytes) {
            wm_error_set(err, WM_ERR_FORMAT, "stdin: frame %ld is truncated: %zu of %zu bytes (is --frame-size %dx%d "
                         "right?)", index, got, bytes, source->width, source->height);
            return -1;
        }
    } else if (source->kind == FRAMES_PNG_DIR) {
        if (index == source->count) return 0;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", source->spec, source->names[index]);
        free(source->pixels);
        source->pixels = NULL;
        if (frame_read_png(path, &source->pixels, &source->height, &source->width, err)) return -1;
    } else if (camera_read(&source->camera, source->pixels, index, err)) {
        return -1;
    }
    source->index++;
    return 1;
}

void frame_source_close(FrameSource *source) {
    if (source->kind == FRAMES_CAMERA) camera_close(&source->camera);
    for (int i = 0; i < source->count; i++) free(source->names[i]);
    free(source->names);
    free(source->pixels);
    memset(source, 0, sizeof *source);
}
