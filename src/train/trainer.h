/* Offline training of the world model: batches from the replay store, the ELBO step, Adam, and the state a
 * checkpoint must hold to continue bit for bit (parameters, Adam moments, step, the random streams' counters).
 * Random streams, all from run.seed: 1 parameter init, 2 batch sampling, 3 dequantisation noise, 4 latent noise. */
#ifndef WM_TRAIN_TRAINER_H
#define WM_TRAIN_TRAINER_H

#include "data/replay.h"
#include "nets/world_model.h"
#include "core/safetensors.h"
#include "optim/adam.h"

typedef struct {
    WmWorldModel model;
    WmAdam adam;
    WmReplay replay;
    WmRng sample_rng, dequantize_rng, latent_rng;
    long step;
    WmReplayBatch batch;
    double grad_norm; /* of the last step, before clipping */
} WmTrainer;

/* Creates the model for the config, initialises its parameters from run.seed and prepares a replay store of
 * data.replay_capacity frames. */
WmStatus trainer_create(WmTrainer *trainer, const WmConfig *config, int action_dim, WmError *err);
void trainer_free(WmTrainer *trainer);

/* One gradient step. A non-finite loss term or gradient norm stops with WM_ERR_NUMERIC naming the term and the
 * step, before any parameter changes. */
WmStatus trainer_step(WmTrainer *trainer, WmLosses *losses, WmError *err);

/* Checkpoints (safetensors): parameters by module path, Adam moments as optim.m.<name> and optim.v.<name>,
 * optim.step; metadata: format, the resolved config as YAML, step, action_dim, the random streams. */
WmStatus trainer_save(const WmTrainer *trainer, const char *path, WmError *err);
/* The same with more metadata entries (the online loop's environment and exploration streams). */
WmStatus trainer_save_with(const WmTrainer *trainer, const char *path, const WmMetaEntry *extra, int extra_count,
                           WmError *err);
/* A random stream's state as checkpoint metadata text ("seed stream counter") and back; a missing or malformed
 * entry is an error naming the file and the key. */
void trainer_rng_format(char *out, size_t size, const WmRng *rng);
WmStatus trainer_rng_read(const WmSafetensors *file, const char *key, WmRng *rng, WmError *err);
/* Restores everything trainer_save wrote; the file must match the model's tensors. */
WmStatus trainer_load(WmTrainer *trainer, const char *path, WmError *err);

/* How well the model explains held-out episodes: every whole chunk of L steps, filtered with the posterior mean
 * (no noise). image_mse is per pixel; baseline_mse is that of predicting the mean image of `mean_image` (N = 1
 * image, (3, H, W), or NULL to skip); reward_r2 = 1 - SSE / SST of the reward predictions. */
typedef struct {
    double image_mse, baseline_mse, reward_r2;
    long frames;
} WmHeldOut;

WmStatus trainer_evaluate(WmTrainer *trainer, const WmEpisode *episodes, int count, const float *mean_image,
                          WmHeldOut *result, WmError *err);
/* The first L frames of each of `count` <= B episodes and the model's pictures of them, as uint8
 * (count, L, H, W, 3) each: reconstructions (posterior mean) for the first `context` steps, open-loop predictions
 * from the recorded actions (prior mean) after. context = L reconstructs everything. */
WmStatus trainer_predict(WmTrainer *trainer, const WmEpisode *episodes, int count, int context, uint8_t *truth,
                         uint8_t *predicted, WmError *err);
/* The mean preprocessed image (3, H, W) over every frame in the replay store, into out. */
void trainer_mean_image(const WmTrainer *trainer, float *out);

#endif
