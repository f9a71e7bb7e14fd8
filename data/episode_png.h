/* The PNG-directory episode: frame_000000.png ... and steps.csv with the header
 * action_0,...,action_{A-1},reward,is_first,is_terminal and one row per frame (README.md, "Your own episodes"). */
#ifndef WM_DATA_EPISODE_PNG_H
#define WM_DATA_EPISODE_PNG_H

#include "data/episode.h"

WmStatus episode_read_png_dir(const char *dir, WmFrameSize *size, WmEpisode *episode, WmError *err);
/* Writes into dir.tmp, fsyncs, renames to dir: a reader never sees half an episode. Refuses an existing dir. */
WmStatus episode_write_png_dir(const char *dir, const WmEpisode *episode, WmError *err);

/* One PNG file as RGB24 (H, W, 3), malloc'd; a corrupt or truncated file is an error naming it. */
WmStatus frame_read_png(const char *path, uint8_t **rgb, int *height, int *width, WmError *err);

/* One RGB24 picture (H, W, 3) as a PNG file, fsynced (libpng's simplified API). */
WmStatus png_write_rgb(const char *path, const uint8_t *rgb, int height, int width, WmError *err);

#endif
