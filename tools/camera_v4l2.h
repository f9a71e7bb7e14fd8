/* A V4L2 camera read frame by frame as RGB24. libv4l2 does the parts every camera differs in: it converts the
 * device's native format (YUYV, MJPEG, ...) to RGB24 and emulates read() on devices that only stream. */
#ifndef WM_TOOLS_CAMERA_V4L2_H
#define WM_TOOLS_CAMERA_V4L2_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    int fd;
    const char *path;
    int width, height;   /* what the driver granted, which may differ from what was asked */
    int stride;          /* bytes per row in `buffer` */
    size_t image_bytes;  /* one frame as the driver delivers it */
    uint8_t *buffer;
} Camera;

/* Opens `path`, checks it is a video capture device and asks for width x height RGB24. */
WmStatus camera_open(Camera *camera, const char *path, int width, int height, WmError *err);
/* Reads frame `index` into rgb (camera->height x camera->width x 3, packed). An interrupted read is WM_ERR_IO with
 * errno EINTR left for the caller to tell from a failure. */
WmStatus camera_read(Camera *camera, uint8_t *rgb, long index, WmError *err);
/* Closes an opened camera (only one camera_open succeeded or failed on: it closes what it opened itself). */
void camera_close(Camera *camera);

#endif
