/* Test helper: reads an episode of either kind and writes it as the kind OUT names (.npz: stored, or a PNG
 * directory). It lets the numpy peer test drive our reader and writer without a command users would not need. */
#include <stdio.h>
#include <string.h>

#include "data/episode.h"
#include "data/episode_npz.h"
#include "data/episode_png.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: episode_copy IN OUT\n");
        return 2;
    }
    WmEpisode episode;
    WmFrameSize size = {0};
    WmError err = {0};
    if (episode_read(argv[1], &size, &episode, &err) == WM_OK) {
        if (episode_path_is_npz(argv[2])) episode_write_npz(argv[2], &episode, 0, &err);
        else episode_write_png_dir(argv[2], &episode, &err);
        episode_free(&episode);
    }
    if (err.status) {
        fprintf(stderr, "episode_copy: %s\n", err.message);
        return 1;
    }
    return 0;
}
