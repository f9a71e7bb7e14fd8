/* libFuzzer: a PNG-directory episode. The input is split at its first 0xff 0x00 pair: steps.csv before, one PNG
 * frame after (written as frame 0 and frame 1, so a two-row steps.csv is a whole episode). */
#include <string.h>
#include <sys/stat.h>

#include "core/fs.h"
#include "data/episode.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t split = 0;
    while (split + 1 < size && !(data[split] == 0xff && data[split + 1] == 0x00)) split++;
    if (split + 1 >= size) return 0;
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "/tmp/wm_fuzz_%d_episode", (int)getpid());
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/steps.csv", dir);
    FILE *f = fopen(path, "wb");
    if (f == NULL) return 0;
    fwrite(data, 1, split, f);
    fclose(f);
    for (int t = 0; t < 2; t++) {
        snprintf(path, sizeof path, "%s/frame_%06d.png", dir, t);
        f = fopen(path, "wb");
        if (f == NULL) return 0;
        fwrite(data + split + 2, 1, size - split - 2, f);
        fclose(f);
    }
    WmEpisode episode = {0};
    WmError err = {0};
    WmFrameSize frames = {0, 0, 0};
    if (episode_read(dir, &frames, &episode, &err) == WM_OK) episode_free(&episode);
    return 0;
}
