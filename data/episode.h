/* One recorded episode in memory: T frames of H x W RGB (uint8, as on disk and in the replay store), with the
 * action that led to each frame and the reward received on arriving at it (the PlaNet/Dreamer convention: row 0
 * carries a zero action and zero reward). */
#ifndef WM_DATA_EPISODE_H
#define WM_DATA_EPISODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* The most actions an episode, and so a model, may have: every reader checks it where the data comes in, and a
 * checkpoint declaring more is refused. */
#define WM_EPISODE_ACTION_MAX 4096
/* The most numbers a frame's state vector may hold (proprioception beside the image). */
#define WM_EPISODE_STATE_MAX 65536

typedef struct {
    int length;     /* T */
    int height, width;
    int action_dim; /* A */
    uint8_t *frames;      /* (T, H, W, 3) */
    float *actions;       /* (T, A) */
    float *rewards;       /* (T) */
    float *discounts;     /* (T); 1 where the episode goes on */
    uint8_t *is_first;    /* (T) */
    uint8_t *is_terminal; /* (T) */
    int state_dim;        /* S: 0 when frames come alone */
    float *states;        /* (T, S): what the system measured beside each frame; NULL when S = 0 */
} WmEpisode;

/* Allocates every array for T frames; is_first[0] = 1, discounts 1, the rest zero. */
WmStatus episode_alloc(WmEpisode *episode, int length, int height, int width, int action_dim, WmError *err);
/* States of S numbers a frame (zeros), for an episode that carries them. */
WmStatus episode_alloc_states(WmEpisode *episode, int state_dim, WmError *err);
/* More rows (a longer length), kept rows as they were, new ones as episode_alloc makes them. On failure the
 * episode is as it was, apart from arrays already grown, and still freed by episode_free. */
WmStatus episode_grow(WmEpisode *episode, int length, WmError *err);
void episode_free(WmEpisode *episode);
/* Rows [from, to) of `source` into the same rows of `episode` (both of one size, `episode` holding `to` rows). */
void episode_copy_rows(WmEpisode *episode, const WmEpisode *source, int from, int to);
size_t episode_frame_bytes(const WmEpisode *episode);
size_t episode_bytes(const WmEpisode *episode);
/* Sum of rewards after the first frame: the episode's return. */
double episode_return(const WmEpisode *episode);

/* What a reader may be told to do with frames of another size. */
typedef struct {
    int height, width; /* 0: keep what the file has */
    int resized;       /* out: set when any frame was resized, so the caller can tell the user once */
} WmFrameSize;

/* Episodes of either kind, chosen by the path: a directory (PNG frames + steps.csv) or a .npz file. */
int episode_path_is_npz(const char *path);
WmStatus episode_read(const char *path, WmFrameSize *size, WmEpisode *episode, WmError *err);

#endif
