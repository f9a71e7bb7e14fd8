/* The replay store: whole episodes kept as uint8 frames in memory, up to a capacity in frames (the oldest episodes
 * are evicted first), and sampled as B chunks of L consecutive steps that never cross an episode boundary. Every
 * valid chunk start is equally likely, so long episodes are sampled in proportion to their length, as in PlaNet.
 * Sampling draws only from the caller's WmRng, so a seed (and a saved RNG state) reproduces every batch. */
#ifndef WM_DATA_REPLAY_H
#define WM_DATA_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "data/episode.h"

typedef struct {
    long capacity_frames;
    int height, width, action_dim; /* fixed by the first episode added */
    int state_dim;                 /* likewise: 0 when the episodes carry no states */
    WmEpisode *episodes;           /* oldest first; owned */
    int count, slots;
    long frames;         /* frames held now */
    long episodes_added; /* since creation, evicted ones included */
    long episodes_evicted;
} WmReplay;

/* One sampled batch, time-major so that the RSSM's step t reads a contiguous (B, ...) slice. */
typedef struct {
    int batch, length; /* B, L */
    uint8_t *frames;   /* (L, B, H, W, 3) */
    float *actions;    /* (L, B, A): the action that led to each frame */
    float *rewards;    /* (L, B): the reward received on arriving at each frame */
    uint8_t *is_first; /* (L, B) */
    uint8_t *is_terminal; /* (L, B) */
    int state_dim;        /* S */
    float *states;        /* (L, B, S); NULL when S = 0 */
} WmReplayBatch;

/* Buffers for B x L steps of H x W frames, A actions and S state numbers. */
WmStatus replay_batch_alloc(WmReplayBatch *batch, int batch_size, int length, int height, int width, int action_dim,
                            int state_dim, WmError *err);
void replay_batch_free(WmReplayBatch *batch);
/* Copies L steps of `episode` from `start` into batch column `column` (the episode holds start + L frames). */
void replay_batch_put_chunk(WmReplayBatch *batch, int column, const WmEpisode *episode, long start);

void replay_init(WmReplay *replay, long capacity_frames);
void replay_free(WmReplay *replay);

/* Takes ownership of *episode (it is cleared). Evicts the oldest episodes until the new one fits. An episode longer
 * than the capacity, or of another image size, action or state dimension than those already held, is an error. */
WmStatus replay_add(WmReplay *replay, WmEpisode *episode, WmError *err);

/* The newest episode grows to `rows` rows, the new ones copied from `source` (of its sizes, holding them): an
 * episode that joins the store while it is recorded. The oldest others are evicted to stay within capacity. */
WmStatus replay_extend_newest(WmReplay *replay, const WmEpisode *source, int rows, WmError *err);

/* Chunk starts of length `length` available now; 0 means nothing can be sampled. */
long replay_chunk_count(const WmReplay *replay, int length);

/* Fills batch (its buffers sized for batch->batch and batch->length by the caller) with chunks drawn uniformly. */
WmStatus replay_sample(const WmReplay *replay, WmRng *rng, WmReplayBatch *batch, WmError *err);

/* Bytes of episode data held (frames, actions, rewards, flags). */
size_t replay_memory_bytes(const WmReplay *replay);

#endif
