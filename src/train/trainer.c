#include "train/trainer.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"

enum { STREAM_SAMPLE = 2, STREAM_DEQUANTIZE = 3, STREAM_LATENT = 4 };
#define CHECKPOINT_FORMAT "wm-checkpoint-1"

WmStatus trainer_create(WmTrainer *t, const WmConfig *config, int action_dim, WmError *err) {
    memset(t, 0, sizeof *t);
    const int B = (int)config->data.batch, L = (int)config->data.length;
    if (world_model_create(&t->model, config, action_dim, err) || world_model_build(&t->model, B, L, err))
        return err->status;
    const uint64_t seed = (uint64_t)config->run.seed;
    world_model_init_params(&t->model, seed);
    t->adam = (WmAdam){(float)config->optim.learning_rate, (float)config->optim.beta1, (float)config->optim.beta2,
                       (float)config->optim.eps, (float)config->optim.clip_norm, 0};
    t->sample_rng = rng_stream(seed, STREAM_SAMPLE);
    t->dequantize_rng = rng_stream(seed, STREAM_DEQUANTIZE);
    t->latent_rng = rng_stream(seed, STREAM_LATENT);
    replay_init(&t->replay, config->data.replay_capacity);
    const size_t rows = (size_t)B * L;
    t->batch = (WmReplayBatch){.batch = B, .length = L};
    t->batch.frames = malloc(rows * config->data.height * config->data.width * 3);
    t->batch.actions = malloc(rows * action_dim * sizeof(float) + 1);
    t->batch.rewards = malloc(rows * sizeof(float));
    t->batch.is_first = malloc(rows);
    if (!t->batch.frames || !t->batch.actions || !t->batch.rewards || !t->batch.is_first)
        return wm_error_set(err, WM_ERR_NOMEM, "trainer: out of memory for a %d x %d batch", B, L);
    return WM_OK;
}

void trainer_free(WmTrainer *t) {
    world_model_free(&t->model);
    replay_free(&t->replay);
    free(t->batch.frames), free(t->batch.actions), free(t->batch.rewards), free(t->batch.is_first);
    memset(t, 0, sizeof *t);
}

/* The batch's frames, actions and rewards into the model's inputs. */
static void load_inputs(WmTrainer *t, WmRng *dequantize_rng) {
    WmWorldModel *m = &t->model;
    const size_t rows = (size_t)t->batch.batch * t->batch.length;
    world_model_preprocess(m, m->input.images, t->batch.frames, rows, dequantize_rng);
    memcpy(m->input.actions, t->batch.actions, rows * m->action_dim * sizeof(float));
    memcpy(m->input.rewards, t->batch.rewards, rows * sizeof(float));
}

static WmStatus check_finite(const WmLosses *l, long step, WmError *err) {
    const struct {
        const char *name;
        double value;
    } terms[] = {{"image_nll", l->image_nll},       {"reward_nll", l->reward_nll}, {"kl", l->kl},
                 {"overshoot_kl", l->overshoot_kl}, {"ensemble_kl", l->ensemble_kl}, {"loss", l->loss}};
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++)
        if (!isfinite(terms[i].value))
            return wm_error_set(err, WM_ERR_NUMERIC, "step %ld: loss term '%s' is %s; no update was made", step + 1,
                                terms[i].name, isnan(terms[i].value) ? "NaN" : "infinite");
    return WM_OK;
}

WmStatus trainer_step(WmTrainer *t, WmLosses *losses, WmError *err) {
    WmWorldModel *m = &t->model;
    if (replay_sample(&t->replay, &t->sample_rng, &t->batch, err)) return err->status;
    load_inputs(t, m->config.data.dequantize ? &t->dequantize_rng : NULL);
    rng_fill_normal(&t->latent_rng, m->input.noise, (size_t)t->batch.batch * t->batch.length * m->rssm.stoch, 0.0f,
                    1.0f);
    if (m->input.overshoot_noise)
        rng_fill_normal(&t->latent_rng, m->input.overshoot_noise, world_model_overshoot_noise_floats(m), 0.0f, 1.0f);
    params_zero_grad(&m->params);
    if (world_model_step(m, losses, 1, err) || check_finite(losses, t->step, err)) return err->status;
    t->grad_norm = adam_step(&t->adam, &m->params);
    if (!isfinite(t->grad_norm))
        return wm_error_set(err, WM_ERR_NUMERIC, "step %ld: the gradient norm is %s; no update was made", t->step + 1,
                            isnan(t->grad_norm) ? "NaN" : "infinite");
    t->step++;
    return WM_OK;
}

/* ---- checkpoints ---- */

void trainer_rng_format(char *out, size_t size, const WmRng *rng) {
    snprintf(out, size, "%" PRIu64 " %" PRIu64 " %" PRIu64, rng->seed, rng->stream, rng->counter);
}

WmStatus trainer_rng_read(const WmSafetensors *f, const char *key, WmRng *rng, WmError *err) {
    const char *text = safetensors_meta(f, key);
    uint64_t seed, stream, counter;
    char extra;
    if (text == NULL || sscanf(text, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %c", &seed, &stream, &counter, &extra) != 3)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: metadata '%s' is missing or malformed", f->path, key);
    *rng = (WmRng){seed, stream, counter};
    return WM_OK;
}

WmStatus trainer_save(const WmTrainer *t, const char *path, WmError *err) {
    return trainer_save_with(t, path, NULL, 0, err);
}

WmStatus trainer_save_with(const WmTrainer *t, const char *path, const WmMetaEntry *extra, int extra_count,
                           WmError *err) {
    const WmParams *p = &t->model.params;
    const int count = p->count;
    WmTensorRef *tensors = calloc((size_t)3 * count + 1, sizeof *tensors);
    char *names = malloc((size_t)2 * count * (WM_PARAM_NAME_MAX + 16));
    char *config = config_to_yaml_string(&t->model.config);
    if (tensors == NULL || names == NULL || config == NULL) {
        free(tensors), free(names), free(config);
        return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", path);
    }
    const float *blocks[3] = {p->value, p->adam_m, p->adam_v};
    const char *prefixes[3] = {"", "optim.m.", "optim.v."};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < count; i++) {
            const WmParamInfo *info = &p->infos[i];
            WmTensorRef *ref = &tensors[k * count + i];
            if (k == 0) {
                ref->name = info->name;
            } else {
                char *name = names + ((size_t)(k - 1) * count + i) * (WM_PARAM_NAME_MAX + 16);
                snprintf(name, WM_PARAM_NAME_MAX + 16, "%s%s", prefixes[k], info->name);
                ref->name = name;
            }
            ref->dtype = "F32", ref->rank = info->rank;
            for (int d = 0; d < info->rank; d++) ref->shape[d] = info->shape[d];
            ref->data = blocks[k] + info->offset, ref->bytes = info->count * sizeof(float);
        }
    const int64_t adam_step = t->adam.step;
    tensors[3 * count] = (WmTensorRef){"optim.step", "I64", 1, {1}, &adam_step, sizeof adam_step};
    char step[32], action_dim[32], sample[96], dequantize[96], latent[96];
    snprintf(step, sizeof step, "%ld", t->step);
    snprintf(action_dim, sizeof action_dim, "%d", t->model.action_dim);
    trainer_rng_format(sample, sizeof sample, &t->sample_rng);
    trainer_rng_format(dequantize, sizeof dequantize, &t->dequantize_rng);
    trainer_rng_format(latent, sizeof latent, &t->latent_rng);
    WmMetaEntry meta[16 + 16] = {
        {"format", CHECKPOINT_FORMAT}, {"config", config},         {"step", step},
        {"action_dim", action_dim},    {"rng.sample", sample},     {"rng.dequantize", dequantize},
        {"rng.latent", latent},
    };
    int meta_count = 7;
    for (int i = 0; i < extra_count && meta_count < 32; i++) meta[meta_count++] = extra[i];
    WmStatus status = safetensors_write(path, tensors, 3 * count + 1, meta, meta_count, err);
    free(tensors), free(names), free(config);
    return status;
}

WmStatus trainer_load(WmTrainer *t, const char *path, WmError *err) {
    WmSafetensors f;
    if (safetensors_open(&f, path, err)) return err->status;
    WmParams *p = &t->model.params;
    const char *format = safetensors_meta(&f, "format"), *step = safetensors_meta(&f, "step"),
               *action_dim = safetensors_meta(&f, "action_dim");
    char name[WM_PARAM_NAME_MAX + 16], extra;
    long step_value = 0;
    int action_value = 0;
    if (format == NULL || strcmp(format, CHECKPOINT_FORMAT) != 0) {
        wm_error_set(err, WM_ERR_FORMAT, "%s: not a wm checkpoint (metadata format is '%s')", path,
                     format ? format : "missing");
        goto done;
    }
    if (step == NULL || sscanf(step, "%ld %c", &step_value, &extra) != 1 || action_dim == NULL ||
        sscanf(action_dim, "%d %c", &action_value, &extra) != 1) {
        wm_error_set(err, WM_ERR_FORMAT, "%s: metadata 'step' or 'action_dim' is missing or malformed", path);
        goto done;
    }
    if (action_value != t->model.action_dim) {
        wm_error_set(err, WM_ERR_FORMAT, "%s: a model of %d actions; this run has %d", path, action_value,
                     t->model.action_dim);
        goto done;
    }
    float *blocks[3] = {p->value, p->adam_m, p->adam_v};
    const char *prefixes[3] = {"", "optim.m.", "optim.v."};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < p->count; i++) {
            const void *data;
            snprintf(name, sizeof name, "%s%s", prefixes[k], p->infos[i].name);
            if (safetensors_find(&f, name, "F32", p->infos[i].count, &data, err)) goto done;
            memcpy(blocks[k] + p->infos[i].offset, data, p->infos[i].count * sizeof(float));
        }
    const void *adam_step;
    if (safetensors_find(&f, "optim.step", "I64", 1, &adam_step, err)) goto done;
    int64_t adam_value;
    memcpy(&adam_value, adam_step, sizeof adam_value);
    if (trainer_rng_read(&f, "rng.sample", &t->sample_rng, err) || trainer_rng_read(&f, "rng.dequantize", &t->dequantize_rng, err) ||
        trainer_rng_read(&f, "rng.latent", &t->latent_rng, err))
        goto done;
    t->adam.step = (long)adam_value;
    t->step = step_value;
done:
    safetensors_close(&f);
    return err->status;
}

/* ---- held-out evaluation ---- */

void trainer_mean_image(const WmTrainer *t, float *out) {
    const WmWorldModel *m = &t->model;
    const size_t plane = (size_t)m->config.data.height * m->config.data.width, floats = plane * 3;
    double *sum = calloc(floats, sizeof *sum);
    long frames = 0;
    float *image = malloc(floats * sizeof *image);
    for (int e = 0; e < t->replay.count && sum && image; e++) {
        const WmEpisode *episode = &t->replay.episodes[e];
        for (int i = 0; i < episode->length; i++, frames++) {
            world_model_preprocess(m, image, episode->frames + (size_t)i * floats, 1, NULL);
            for (size_t j = 0; j < floats; j++) sum[j] += image[j];
        }
    }
    for (size_t j = 0; j < floats; j++) out[j] = sum && frames ? (float)(sum[j] / frames) : 0.0f;
    free(sum), free(image);
}

/* Copies L steps of an episode from `start` into batch column b. */
static void put_chunk(WmTrainer *t, int b, const WmEpisode *e, int start) {
    const int B = t->batch.batch, A = t->model.action_dim;
    const size_t floats = (size_t)t->model.config.data.height * t->model.config.data.width * 3;
    for (int s = 0; s < t->batch.length; s++) {
        const size_t row = (size_t)s * B + b, src = (size_t)start + s;
        memcpy(t->batch.frames + row * floats, e->frames + src * floats, floats);
        memcpy(t->batch.actions + row * A, e->actions + src * A, (size_t)A * sizeof(float));
        t->batch.rewards[row] = e->rewards[src];
    }
}

/* Puts up to B whole chunks of L steps into the batch, walking (episode, start) forward; the columns left over
 * repeat the first chunk. Returns how many chunks are real. */
static int fill_chunks(WmTrainer *t, const WmEpisode *episodes, int count, int *episode, int *start) {
    const int B = t->batch.batch, L = t->batch.length;
    int real = 0;
    for (; real < B; real++) {
        while (*episode < count && *start + L > episodes[*episode].length) ++*episode, *start = 0;
        if (*episode == count) break;
        put_chunk(t, real, &episodes[*episode], *start);
        *start += L;
    }
    for (int b = real; b < B && real > 0; b++) put_chunk(t, b, &episodes[*episode == count ? count - 1 : *episode], 0);
    return real;
}

/* The model on the batch with the distributions' means (no noise) and whole quantisation steps, observing the
 * first `context` steps. */
static WmStatus forward_deterministic(WmTrainer *t, int context, WmError *err) {
    WmWorldModel *m = &t->model;
    load_inputs(t, NULL);
    memset(m->input.noise, 0, (size_t)t->batch.batch * t->batch.length * m->rssm.stoch * sizeof(float));
    if (m->input.overshoot_noise)
        memset(m->input.overshoot_noise, 0, world_model_overshoot_noise_floats(m) * sizeof(float));
    return world_model_predict(m, context, err);
}

WmStatus trainer_evaluate(WmTrainer *t, const WmEpisode *episodes, int count, const float *mean_image,
                          WmHeldOut *result, WmError *err) {
    WmWorldModel *m = &t->model;
    const int B = t->batch.batch, L = t->batch.length;
    const size_t floats = (size_t)m->config.data.height * m->config.data.width * 3;
    double image_sse = 0.0, baseline_sse = 0.0, reward_sse = 0.0, reward_sum = 0.0, reward_sq = 0.0;
    long frames = 0;
    int episode = 0, start = 0, real;
    memset(result, 0, sizeof *result);
    while ((real = fill_chunks(t, episodes, count, &episode, &start)) > 0) {
        if (forward_deterministic(t, L, err)) return err->status;
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

WmStatus trainer_predict(WmTrainer *t, const WmEpisode *episodes, int count, int context, uint8_t *truth,
                         uint8_t *predicted, WmError *err) {
    WmWorldModel *m = &t->model;
    const int B = t->batch.batch, L = t->batch.length;
    const size_t plane = (size_t)m->config.data.height * m->config.data.width;
    if (count > B) return wm_error_set(err, WM_ERR_ARG, "predict: %d episodes, at most data.batch = %d", count, B);
    for (int b = 0; b < B; b++) {
        const WmEpisode *e = &episodes[b < count ? b : 0];
        if (e->length < L)
            return wm_error_set(err, WM_ERR_ARG, "predict: an episode has %d frames, fewer than data.length = %d",
                                e->length, L);
        put_chunk(t, b, e, 0);
    }
    if (forward_deterministic(t, context, err)) return err->status;
    for (int b = 0; b < count; b++)
        for (int s = 0; s < L; s++) {
            const size_t row = (size_t)s * B + b, out = ((size_t)b * L + s) * plane * 3;
            memcpy(truth + out, t->batch.frames + row * plane * 3, plane * 3);
            for (size_t p = 0; p < plane; p++)
                for (int c = 0; c < 3; c++) predicted[out + p * 3 + c] = to_pixel(m->image_mean[(row * 3 + c) * plane + p]);
        }
    return WM_OK;
}
