/* libFuzzer: wm plan's raw frame stream on stdin (RGB24 frames of --frame-size). The first two bytes of the input
 * choose the frame size (1 to 64 on each side); the rest is the stream, truncated last frame included. */
#include <fcntl.h>
#include <unistd.h>

#include "frame_source.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const int width = data[0] % 64 + 1, height = data[1] % 64 + 1;
    const char *path = fuzz_write("frames.rgb", data + 2, size - 2);
    const int fd = path ? open(path, O_RDONLY) : -1;
    if (fd < 0) return 0;
    const int saved = dup(0);
    dup2(fd, 0);
    close(fd);
    FrameSource frames;
    WmError err = {0};
    if (frame_source_open(&frames, "-", width, height, &err) == WM_OK)
        while (frame_source_next(&frames, &err) == 1) {
        }
    frame_source_close(&frames);
    dup2(saved, 0);
    close(saved);
    return 0;
}
