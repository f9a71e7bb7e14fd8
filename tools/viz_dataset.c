/* wm-viz dataset: a contact sheet of a dataset, one row per episode, frames spread over its length. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/fs.h"
#include "data/dataset.h"
#include "viz.h"

static int dataset_usage(FILE *out, int code) {
    fprintf(out, "usage: wm-viz dataset --data DIR [--episodes N] [--frames F] --out grid.png\n"
                 "  the first N episodes (default 8), F frames of each spread over its length (default 10)\n"
                 "example: wm-viz dataset --data runs/episodes/cp --out grid.png\n");
    return code;
}

int viz_dataset(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return dataset_usage(stdout, 0);
    const char *dir = NULL, *out = NULL;
    long episodes = 8, columns = 10;
    WmError err = {0};
    const CliOption options[] = {
        {"--data", CLI_TEXT, &dir, 0, 0},
        {"--out", CLI_TEXT, &out, 0, 0},
        {"--episodes", CLI_LONG, &episodes, 1, 1000},
        {"--frames", CLI_LONG, &columns, 1, 1000},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    if (err.status == WM_OK && (!dir || !out)) wm_error_set(&err, WM_ERR_ARG, "--data and --out are required");
    if (err.status) {
        fprintf(stderr, "wm-viz dataset: %s\n", err.message);
        return dataset_usage(stderr, 2);
    }
    WmDataset data;
    WmFrameSize size = {0};
    if (dataset_read(dir, &size, 0, &data, &err)) {
        fprintf(stderr, "wm-viz dataset: %s\n", err.message);
        return 1;
    }
    const int rows = (int)(episodes < data.count ? episodes : data.count);
    VizSheet s;
    int code = 1;
    char **paths = NULL;
    int listed = 0;
    dataset_list(dir, &paths, &listed, &err); /* the same sorted order dataset_read used: the episodes' names */
    err = (WmError){0};
    /* Each row under a caption: its episode's name, length and return. */
    if (viz_sheet_init(&s, rows, (int)columns, size.height, size.width, (VizMargins){.row_band = 14}, &err) == WM_OK) {
        for (int e = 0; e < rows; e++) {
            const WmEpisode *episode = &data.episodes[e];
            char label[256];
            const char *name = e < listed ? strrchr(paths[e], '/') : NULL;
            snprintf(label, sizeof label, "%s: %d frames, return %.1f; frames 0 to %d", name ? name + 1 : "episode",
                     episode->length, episode_return(episode), episode->length - 1);
            viz_sheet_text(&s, 4, viz_sheet_cell_top(&s, e) - 3, label, 10, VIZ_INK);
            for (int k = 0; k < columns; k++) {
                const int t = columns > 1 ? (int)(k * (episode->length - 1) / (columns - 1)) : 0;
                viz_sheet_put(&s, e, k, episode->frames + (size_t)t * episode_frame_bytes(episode));
            }
        }
        if (viz_sheet_write(&s, out, &err) == WM_OK) {
            printf("wm-viz dataset: %s: %d of %d episode%s, %ld frames each\n", out, rows, data.count,
                   wm_plural(data.count), columns);
            code = 0;
        }
        viz_sheet_free(&s);
    }
    fs_free_list(paths, listed);
    if (code) fprintf(stderr, "wm-viz dataset: %s\n", err.message);
    dataset_free(&data);
    return code;
}
