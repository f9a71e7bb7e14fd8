/* libFuzzer: the .npz episode reader (zip container, .npy headers, dtypes, shapes, values). */
#include <stdlib.h>

#include "data/episode.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("episode.npz", data, size);
    WmEpisode episode = {0};
    WmError err = {0};
    WmFrameSize frames = {16, 16, 0}; /* resizing is part of the path */
    if (path && episode_read(path, &frames, &episode, &err) == WM_OK) episode_free(&episode);
    return 0;
}
