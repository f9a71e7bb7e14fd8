/* The replay store: chunks never cross an episode boundary, every start is reachable, sampling repeats from the
 * seed, the oldest episodes go first when the capacity is reached, and memory is counted. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "data/replay.h"

enum { H = 4, W = 4, A = 2 };

/* Episode `id` of T frames: every pixel of frame t holds id, then t (mod 256) in the next channel, so a sampled
 * frame says where it came from; the reward and the first action say it too. */
static void add_episode(WmReplay *replay, int id, int length) {
    WmEpisode episode;
    WmError err = {0};
    ck_assert(episode_alloc(&episode, length, H, W, A, &err) == WM_OK);
    for (int t = 0; t < length; t++) {
        for (int p = 0; p < H * W; p++) {
            uint8_t *pixel = episode.frames + ((size_t)t * H * W + p) * 3;
            pixel[0] = (uint8_t)id, pixel[1] = (uint8_t)t, pixel[2] = (uint8_t)(t >> 8);
        }
        episode.actions[t * A] = (float)id;
        episode.actions[t * A + 1] = (float)t;
        episode.rewards[t] = (float)(id * 10000 + t);
    }
    ck_assert_msg(replay_add(replay, &episode, &err) == WM_OK, "%s", err.message);
    ck_assert_ptr_null(episode.frames); /* ownership moved */
}

static WmReplayBatch make_batch(int batch, int length) {
    WmReplayBatch b;
    WmError err = {0};
    ck_assert_msg(replay_batch_alloc(&b, batch, length, H, W, A, 0, &err) == WM_OK, "%s", err.message);
    return b;
}

START_TEST(chunks_stay_inside_one_episode) {
    WmReplay replay;
    replay_init(&replay, 100000);
    const int lengths[] = {12, 5, 30, 9, 20}; /* 5 and 9 are shorter than L: never sampled */
    for (int i = 0; i < 5; i++) add_episode(&replay, i + 1, lengths[i]);
    const int L = 10, B = 64;
    ck_assert_int_eq(replay_chunk_count(&replay, L), 3 + 21 + 11);
    WmReplayBatch batch = make_batch(B, L);
    WmRng rng = rng_stream(7, 0);
    WmError err = {0};
    int seen_start[6][32] = {{0}};
    for (int round = 0; round < 100; round++) {
        ck_assert(replay_sample(&replay, &rng, &batch, &err) == WM_OK);
        for (int b = 0; b < B; b++) {
            const int id = batch.frames[(size_t)b * H * W * 3];
            const int start = batch.frames[(size_t)b * H * W * 3 + 1];
            ck_assert_msg(id == 1 || id == 3 || id == 5, "sampled episode %d, shorter than L", id);
            ck_assert_int_le(start + L, lengths[id - 1]);
            seen_start[id][start] = 1;
            for (int t = 0; t < L; t++) {
                const size_t row = (size_t)t * B + b;
                const uint8_t *frame = batch.frames + row * H * W * 3;
                ck_assert_int_eq(frame[0], id); /* the same episode throughout */
                ck_assert_int_eq(frame[(H * W - 1) * 3 + 1], start + t);
                ck_assert_float_eq(batch.actions[row * A], (float)id);
                ck_assert_float_eq(batch.actions[row * A + 1], (float)(start + t));
                ck_assert_float_eq(batch.rewards[row], (float)(id * 10000 + start + t));
                ck_assert_int_eq(batch.is_first[row], t == 0);
            }
        }
    }
    /* 6400 draws over 35 starts: every one of them comes up. */
    for (int i = 1; i <= 5; i += 2)
        for (int s = 0; s + L <= lengths[i - 1]; s++) ck_assert_msg(seen_start[i][s], "start %d of %d never drawn", s, i);
    replay_batch_free(&batch);
    replay_free(&replay);
}
END_TEST

START_TEST(sampling_repeats_from_the_seed) {
    WmReplay replay;
    replay_init(&replay, 1000);
    for (int i = 0; i < 6; i++) add_episode(&replay, i + 1, 40 + 7 * i);
    WmReplayBatch first = make_batch(8, 10), second = make_batch(8, 10), other = make_batch(8, 10);
    WmRng a = rng_stream(3, 5), b = rng_stream(3, 5), c = rng_stream(4, 5);
    WmError err = {0};
    for (int round = 0; round < 3; round++) {
        ck_assert(replay_sample(&replay, &a, &first, &err) == WM_OK);
        ck_assert(replay_sample(&replay, &b, &second, &err) == WM_OK);
        ck_assert(replay_sample(&replay, &c, &other, &err) == WM_OK);
        ck_assert_mem_eq(first.frames, second.frames, (size_t)8 * 10 * H * W * 3);
        ck_assert_mem_eq(first.rewards, second.rewards, (size_t)8 * 10 * sizeof(float));
        ck_assert(memcmp(first.rewards, other.rewards, (size_t)8 * 10 * sizeof(float)) != 0);
    }
    replay_batch_free(&first), replay_batch_free(&second), replay_batch_free(&other);
    replay_free(&replay);
}
END_TEST

START_TEST(oldest_episodes_are_evicted_and_memory_counted) {
    WmReplay replay;
    replay_init(&replay, 100);
    add_episode(&replay, 1, 40);
    add_episode(&replay, 2, 40);
    const size_t per_frame = H * W * 3 + A * sizeof(float) + 2 * sizeof(float) + 2;
    ck_assert_uint_eq(replay_memory_bytes(&replay), 80 * per_frame);
    add_episode(&replay, 3, 30); /* 110 > 100: episode 1 goes */
    ck_assert_int_eq(replay.count, 2);
    ck_assert_int_eq(replay.frames, 70);
    ck_assert_int_eq(replay.episodes[0].frames[0], 2);
    ck_assert_int_eq(replay.episodes_evicted, 1);
    ck_assert_uint_eq(replay_memory_bytes(&replay), 70 * per_frame);
    add_episode(&replay, 4, 100); /* fills the store alone */
    ck_assert_int_eq(replay.count, 1);
    ck_assert_int_eq(replay.episodes_added, 4);

    WmEpisode too_long, other_size;
    WmError err = {0};
    ck_assert(episode_alloc(&too_long, 101, H, W, A, &err) == WM_OK);
    ck_assert(replay_add(&replay, &too_long, &err) == WM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "capacity of 100 frames"));
    episode_free(&too_long);
    WmError err2 = {0};
    ck_assert(episode_alloc(&other_size, 10, H, W + 1, A, &err2) == WM_OK);
    ck_assert(replay_add(&replay, &other_size, &err2) == WM_ERR_FORMAT);
    episode_free(&other_size);

    WmReplayBatch batch = make_batch(2, 101);
    WmRng rng = rng_stream(1, 0);
    WmError err3 = {0};
    ck_assert(replay_sample(&replay, &rng, &batch, &err3) == WM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err3.message, "no episode has 101 frames"));
    replay_batch_free(&batch);
    replay_free(&replay);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("replay");
    TCase *tc = tcase_create("replay");
    tcase_add_test(tc, chunks_stay_inside_one_episode);
    tcase_add_test(tc, sampling_repeats_from_the_seed);
    tcase_add_test(tc, oldest_episodes_are_evicted_and_memory_counted);
    suite_add_tcase(suite, tc);
    return check_run(suite);
}
