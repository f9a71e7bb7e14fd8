/* V4L2 capture through libv4l2. The read() interface is used, not mmap streaming: at one frame per planning
 * decision (hundreds of milliseconds) the copy does not matter, and libv4l2 emulates read() with streaming buffers
 * on the cameras that lack it, so one path serves every device. */
#include "camera_v4l2.h"

#include <errno.h>
#include <fcntl.h>
#include <libv4l2.h>
#include <linux/videodev2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

WmStatus camera_open(Camera *camera, const char *path, int width, int height, WmError *err) {
    memset(camera, 0, sizeof *camera);
    camera->fd = -1;
    camera->path = path;
    /* The device is checked before libv4l2 sees it, which would print its own complaints about a non-camera. */
    const int fd = open(path, O_RDWR);
    if (fd < 0) return wm_error_set(err, WM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct v4l2_capability capability;
    memset(&capability, 0, sizeof capability);
    if (ioctl(fd, VIDIOC_QUERYCAP, &capability) != 0) {
        wm_error_set(err, WM_ERR_ARG, "%s: not a V4L2 device (VIDIOC_QUERYCAP: %s)", path, strerror(errno));
        close(fd);
        return err->status;
    }
    const uint32_t caps = (capability.capabilities & V4L2_CAP_DEVICE_CAPS) ? capability.device_caps
                                                                            : capability.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & (V4L2_CAP_READWRITE | V4L2_CAP_STREAMING))) {
        wm_error_set(err, WM_ERR_ARG, "%s (%s): not a video capture device", path, (const char *)capability.card);
        close(fd);
        return err->status;
    }
    camera->fd = v4l2_fd_open(fd, 0);
    if (camera->fd < 0) {
        wm_error_set(err, WM_ERR_IO, "%s (%s): libv4l2 cannot take it: %s", path, (const char *)capability.card,
                     strerror(errno));
        close(fd);
        return err->status;
    }
    struct v4l2_format format;
    memset(&format, 0, sizeof format);
    format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    format.fmt.pix.width = (uint32_t)width;
    format.fmt.pix.height = (uint32_t)height;
    format.fmt.pix.pixelformat = V4L2_PIX_FMT_RGB24;
    format.fmt.pix.field = V4L2_FIELD_ANY;
    if (v4l2_ioctl(camera->fd, VIDIOC_S_FMT, &format) != 0 || format.fmt.pix.pixelformat != V4L2_PIX_FMT_RGB24) {
        wm_error_set(err, WM_ERR_ARG, "%s (%s): cannot deliver RGB24 frames (VIDIOC_S_FMT: %s)", path,
                     (const char *)capability.card, strerror(errno));
        camera_close(camera);
        return err->status;
    }
    camera->width = (int)format.fmt.pix.width;
    camera->height = (int)format.fmt.pix.height;
    camera->stride = format.fmt.pix.bytesperline ? (int)format.fmt.pix.bytesperline : camera->width * 3;
    camera->image_bytes = format.fmt.pix.sizeimage ? format.fmt.pix.sizeimage
                                                   : (size_t)camera->stride * (size_t)camera->height;
    if (camera->width < 1 || camera->height < 1 || camera->stride < camera->width * 3 ||
        camera->image_bytes < (size_t)camera->stride * (size_t)camera->height) {
        wm_error_set(err, WM_ERR_FORMAT, "%s: the driver granted an unusable format (%dx%d, %d bytes per row)",
                     path, camera->width, camera->height, camera->stride);
        camera_close(camera);
        return err->status;
    }
    camera->buffer = malloc(camera->image_bytes);
    if (camera->buffer == NULL) {
        wm_error_set(err, WM_ERR_NOMEM, "%s: no memory for a %zu-byte frame", path, camera->image_bytes);
        camera_close(camera);
        return err->status;
    }
    return WM_OK;
}

WmStatus camera_read(Camera *camera, uint8_t *rgb, long index, WmError *err) {
    ssize_t got;
    do got = v4l2_read(camera->fd, camera->buffer, camera->image_bytes);
    while (got < 0 && errno == EAGAIN);
    if (got < 0)
        return wm_error_set(err, WM_ERR_IO, "%s: frame %ld: read failed: %s", camera->path, index, strerror(errno));
    if ((size_t)got < (size_t)camera->stride * (size_t)camera->height)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: frame %ld is short: %zd of %zu bytes", camera->path, index,
                            got, (size_t)camera->stride * (size_t)camera->height);
    for (int y = 0; y < camera->height; y++)
        memcpy(rgb + (size_t)y * camera->width * 3, camera->buffer + (size_t)y * camera->stride,
               (size_t)camera->width * 3);
    return WM_OK;
}

void camera_close(Camera *camera) {
    if (camera->fd >= 0) v4l2_close(camera->fd);
    camera->fd = -1;
    free(camera->buffer);
    camera->buffer = NULL;
}
