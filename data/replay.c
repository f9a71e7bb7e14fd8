#include "data/replay.h"

#include <stdlib.h>
#include <string.h>

WmStatus replay_batch_alloc(WmReplayBatch *batch, int batch_size, int length, int height, int width, int action_dim,
                            int state_dim, WmError *err) {
    const size_t rows = (size_t)batch_size * length;
    *batch = (WmReplayBatch){.batch = batch_size, .length = length, .state_dim = state_dim};
    if (state_dim > 0) batch->states = malloc(rows * state_dim * sizeof(float));
    batch->frames = malloc(rows * height * width * 3);
    batch->actions = malloc(rows * action_dim * sizeof(float) + 1);
    batch->rewards = malloc(rows * sizeof(float));
    batch->is_first = malloc(rows);
    batch->is_terminal = malloc(rows);
    if (!batch->frames || !batch->actions || !batch->rewards || !batch->is_first || !batch->is_terminal ||
        (state_dim > 0 && !batch->states)) {
        replay_batch_free(batch);
        return wm_error_set(err, WM_ERR_NOMEM, "out of memory for a %d x %d batch", batch_size, length);
    }
    return WM_OK;
}

void replay_batch_free(WmReplayBatch *batch) {
    free(batch->frames), free(batch->actions), free(batch->rewards), free(batch->is_first), free(batch->is_terminal);
    free(batch->states);
    memset(batch, 0, sizeof *batch);
}

void replay_batch_put_chunk(WmReplayBatch *batch, int column, const WmEpisode *episode, long start) {
    const int B = batch->batch, A = episode->action_dim, S = batch->state_dim;
    const size_t frame_bytes = episode_frame_bytes(episode);
    for (int t = 0; t < batch->length; t++) {
        const long src = start + t;
        const size_t dst = (size_t)t * B + column;
        memcpy(batch->frames + dst * frame_bytes, episode->frames + src * frame_bytes, frame_bytes);
        memcpy(batch->actions + dst * A, episode->actions + src * A, (size_t)A * sizeof(float));
        batch->rewards[dst] = episode->rewards[src];
        batch->is_first[dst] = t == 0 ? 1 : episode->is_first[src];
        batch->is_terminal[dst] = episode->is_terminal[src];
        if (S) memcpy(batch->states + dst * S, episode->states + src * S, (size_t)S * sizeof(float));
    }
}

void replay_init(WmReplay *replay, long capacity_frames) {
    memset(replay, 0, sizeof *replay);
    replay->capacity_frames = capacity_frames;
}

void replay_free(WmReplay *replay) {
    for (int i = 0; i < replay->count; i++) episode_free(&replay->episodes[i]);
    free(replay->episodes);
    memset(replay, 0, sizeof *replay);
}

static void evict_oldest(WmReplay *replay) {
    replay->frames -= replay->episodes[0].length;
    episode_free(&replay->episodes[0]);
    memmove(replay->episodes, replay->episodes + 1, (size_t)(replay->count - 1) * sizeof *replay->episodes);
    replay->count--;
    replay->episodes_evicted++;
}

WmStatus replay_add(WmReplay *replay, WmEpisode *episode, WmError *err) {
    if (episode->length > replay->capacity_frames)
        return wm_error_set(err, WM_ERR_ARG, "replay: an episode of %d frames does not fit a capacity of %ld frames",
                            episode->length, replay->capacity_frames);
    if (replay->episodes_added > 0 &&
        (episode->height != replay->height || episode->width != replay->width ||
         episode->action_dim != replay->action_dim || episode->state_dim != replay->state_dim))
        return wm_error_set(err, WM_ERR_FORMAT,
                            "replay: episode is %dx%d with %d actions and %d state numbers, the store holds %dx%d "
                            "with %d and %d",
                            episode->width, episode->height, episode->action_dim, episode->state_dim, replay->width,
                            replay->height, replay->action_dim, replay->state_dim);
    while (replay->frames + episode->length > replay->capacity_frames) evict_oldest(replay);
    if (replay->count == replay->slots) {
        int slots = replay->slots ? 2 * replay->slots : 64;
        WmEpisode *grown = realloc(replay->episodes, (size_t)slots * sizeof *grown);
        if (grown == NULL) return wm_error_set(err, WM_ERR_NOMEM, "replay: out of memory for %d episodes", slots);
        replay->episodes = grown, replay->slots = slots;
    }
    replay->height = episode->height, replay->width = episode->width, replay->action_dim = episode->action_dim;
    replay->state_dim = episode->state_dim;
    replay->episodes[replay->count++] = *episode;
    replay->frames += episode->length;
    replay->episodes_added++;
    memset(episode, 0, sizeof *episode);
    return WM_OK;
}

static long starts_in(const WmEpisode *episode, int length) {
    return episode->length >= length ? episode->length - length + 1 : 0;
}

WmStatus replay_extend_newest(WmReplay *replay, const WmEpisode *source, int rows, WmError *err) {
    WmEpisode *newest = replay->count ? &replay->episodes[replay->count - 1] : NULL;
    if (newest == NULL || rows <= newest->length) return WM_OK;
    if (rows > replay->capacity_frames)
        return wm_error_set(err, WM_ERR_ARG, "replay: an episode of %d frames does not fit a capacity of %ld frames",
                            rows, replay->capacity_frames);
    const int before = newest->length;
    while (replay->count > 1 && replay->frames + (rows - before) > replay->capacity_frames) {
        evict_oldest(replay);
        newest = &replay->episodes[replay->count - 1];
    }
    if (episode_grow(newest, rows, err)) return err->status;
    episode_copy_rows(newest, source, before, rows);
    replay->frames += rows - before;
    return WM_OK;
}

long replay_chunk_count(const WmReplay *replay, int length) {
    long total = 0;
    for (int i = 0; i < replay->count; i++) total += starts_in(&replay->episodes[i], length);
    return total;
}

WmStatus replay_sample(const WmReplay *replay, WmRng *rng, WmReplayBatch *batch, WmError *err) {
    const int B = batch->batch, L = batch->length;
    const long chunks = replay_chunk_count(replay, L);
    if (chunks == 0)
        return wm_error_set(err, WM_ERR_ARG, "replay: no episode has %d frames to sample a chunk from (%d episodes held)",
                            L, replay->count);
    if (chunks > UINT32_MAX) return wm_error_set(err, WM_ERR_ARG, "replay: %ld chunk starts exceed 2^32", chunks);
    for (int b = 0; b < B; b++) {
        /* A uniform index over every valid start, then the episode that holds it. */
        long pick = rng_below(rng, (uint32_t)chunks);
        int e = 0;
        while (pick >= starts_in(&replay->episodes[e], L)) pick -= starts_in(&replay->episodes[e++], L);
        replay_batch_put_chunk(batch, b, &replay->episodes[e], pick);
    }
    return WM_OK;
}

size_t replay_memory_bytes(const WmReplay *replay) {
    size_t total = 0;
    for (int i = 0; i < replay->count; i++) total += episode_bytes(&replay->episodes[i]);
    return total;
}
