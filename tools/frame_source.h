/* Where `wm plan` takes its frames from: raw RGB24 on stdin, a directory of PNG frames (sorted by name), or a V4L2
 * camera. One loop serves all three: frame_source_next yields the next frame until the source ends. */
#ifndef WM_TOOLS_FRAME_SOURCE_H
#define WM_TOOLS_FRAME_SOURCE_H

#include <stdint.h>

#include "camera_v4l2.h"
#include "core/error.h"

typedef enum { FRAMES_STDIN, FRAMES_PNG_DIR, FRAMES_CAMERA } FrameSourceKind;

typedef struct {
    FrameSourceKind kind;
    const char *spec;
    int height, width; /* of the current frame (PNG frames may each differ) */
    uint8_t *pixels;   /* the current frame, RGB24, owned */
    long index;        /* frames yielded so far */
    char **names;      /* PNG frames */
    int count;
    Camera camera;
    /* Polled while stdin has no data (may be NULL): nonzero ends the stream, as if it had ended there. */
    int (*stop_requested)(void);
} FrameSource;

/* spec is "-" (needs width x height), a directory, or a character device; width x height is what a camera is
 * asked for (0 x 0: 640 x 480). */
WmStatus frame_source_open(FrameSource *source, const char *spec, int width, int height, WmError *err);
/* 1: a frame is in source->pixels; 0: the source ended; -1: an error, in err. */
int frame_source_next(FrameSource *source, WmError *err);
void frame_source_close(FrameSource *source);

#endif
