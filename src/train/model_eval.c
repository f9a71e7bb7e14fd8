#include "train/model_eval.h"

#include <stdlib.h>
#include <string.h>

#include "train/model_inputs.h"

WmStatus model_eval_mean_image(const WmWorldModel *m, const WmReplay *replay, const WmComm *comm, float *out,
                               WmError *err) {
    const size_t plane = (size_t)m->config.height * m->config.width, floats = plane * 3;
    double *sum = calloc(floats + 1, sizeof *sum); /* the pixels' sums, then the frame count */
    float *image = malloc(floats * sizeof *image);
    if (sum == NULL || image == NULL) {
        free(sum), free(image);
        return wm_error_set(err, WM_ERR_NOMEM, "out of memory for the mean image");
    }
    for (int e = 0; e < replay->count; e++) {
        const WmEpisode *episode = &replay->episodes[e];
        for (int i = 0; i < episode->length; i++, sum[floats]++) {
            world_model_preprocess(m, image, episode->frames + (size_t)i * floats, 1, NULL);
            for (size_t j = 0; j < floats; j++) sum[j] += image[j];
        }
    }
    if (comm_sum_doubles(comm, sum, floats + 1, err) == WM_OK) /* over every rank's share */
        for (size_t j = 0; j < floats; j++) out[j] = sum[floats] > 0 ? (float)(sum[j] / sum[floats]) : 0.0f;
    free(sum), free(image);
    return err->status;
}

/* Puts up to B whole chunks of L steps into the batch, walking (episode, start) forward; the columns left over
 * repeat the first chunk. Returns how many chunks are real. */
static int fill_chunks(WmReplayBatch *batch, const WmEpisode *episodes, int count, int *episode, int *start) {
    const int B = batch->batch, L = batch->length;
    int real = 0;
    for (; real < B; real++) {
        while (*episode < count && *start + L > episodes[*episode].length) ++*episode, *start = 0;
        if (*episode == count) break;
        replay_batch_put_chunk(batch, real, &episodes[*episode], *start);
        *start += L;
    }
    for (int b = real; b < B && real > 0; b++)
        replay_batch_put_chunk(batch, b, &episodes[*episode == count ? count - 1 : *episode], 0);
    return real;
}

/* The model on the batch with the distributions' means (no noise) and whole quantisation steps, observing the
 * first `context` steps. */
static WmStatus forward_deterministic(WmWorldModel *m, const WmReplayBatch *batch, int context, WmError *err) {
    model_inputs_load(m, batch, NULL);
    memset(m->input.noise, 0, (size_t)batch->batch * batch->length * m->rssm.stoch * sizeof(float));
    if (m->input.overshoot_noise)
        memset(m->input.overshoot_noise, 0, world_model_overshoot_noise_floats(m) * sizeof(float));
    return world_model_predict(m, context, err);
}

WmStatus model_eval_heldout(WmWorldModel *m, WmReplayBatch *batch, const WmEpisode *episodes, int count,
                            const float *mean_image, WmHeldOut *result, WmError *err) {
    const int B = batch->batch, L = batch->length;
    const size_t floats = (size_t)m->config.height * m->config.width * 3;
    double image_sse = 0.0, baseline_sse = 0.0, reward_sse = 0.0, reward_sum = 0.0, reward_sq = 0.0;
    long frames = 0;
    int episode = 0, start = 0, real;
    memset(result, 0, sizeof *result);
    while ((real = fill_chunks(batch, episodes, count, &episode, &start)) > 0) {
        if (forward_deterministic(m, batch, L, err)) return err->status;
        for (int s = 0; s < L; s++)
            for (int b = 0; b < real; b++) {
                const size_t row = (size_t)s * B + b;
                const float *truth = m->input.images + row * floats, *guess = m->image_mean + row * floats;
                for (size_t j = 0; j < floats; j++) {
                    const double d = (double)guess[j] - truth[j];
                    image_sse += d * d;
                    if (mean_image) {
                        const double e = (double)mean_image[j] - truth[j];
                        baseline_sse += e * e;
                    }
                }
                const double r = m->input.rewards[row], d = (double)m->reward_mean[row] - r;
                reward_sse += d * d, reward_sum += r, reward_sq += r * r;
                frames++;
            }
    }
    if (frames == 0)
        return wm_error_set(err, WM_ERR_ARG, "held-out episodes: none has %d frames for one chunk", L);
    const double mean_reward = reward_sum / frames, sst = reward_sq - frames * mean_reward * mean_reward;
    result->frames = frames;
    result->image_mse = image_sse / ((double)frames * floats);
    result->baseline_mse = baseline_sse / ((double)frames * floats);
    result->reward_r2 = sst > 0 ? 1.0 - reward_sse / sst : 0.0;
    return WM_OK;
}

static uint8_t to_pixel(float v) {
    const float scaled = (v + 0.5f) * 255.0f + 0.5f;
    return (uint8_t)(scaled < 0.0f ? 0.0f : scaled > 255.0f ? 255.0f : scaled);
}

WmStatus model_eval_predict(WmWorldModel *m, WmReplayBatch *batch, const WmEpisode *episodes, int count,
                            int context, uint8_t *truth, uint8_t *predicted, WmError *err) {
    const int B = batch->batch, L = batch->length;
    const size_t plane = (size_t)m->config.height * m->config.width;
    if (count > B) return wm_error_set(err, WM_ERR_ARG, "predict: %d episodes, at most data.batch = %d", count, B);
    for (int b = 0; b < B; b++) {
        const WmEpisode *e = &episodes[b < count ? b : 0];
        if (e->length < L)
            return wm_error_set(err, WM_ERR_ARG, "predict: an episode has %d frames, fewer than data.length = %d",
                                e->length, L);
        replay_batch_put_chunk(batch, b, e, 0);
    }
    if (forward_deterministic(m, batch, context, err)) return err->status;
    for (int b = 0; b < count; b++)
        for (int s = 0; s < L; s++) {
            const size_t row = (size_t)s * B + b, out = ((size_t)b * L + s) * plane * 3;
            memcpy(truth + out, batch->frames + row * plane * 3, plane * 3);
            for (size_t p = 0; p < plane; p++)
                for (int c = 0; c < 3; c++) predicted[out + p * 3 + c] = to_pixel(m->image_mean[(row * 3 + c) * plane + p]);
        }
    return WM_OK;
}
