/* What a world model makes of recorded episodes, without training it: held-out figures,
 * reconstructions and open-loop predictions, and the mean-image baseline. Each runs on a model built for the
 * batch's B x L (world_model_build) and a batch of the same shape (replay_batch_alloc), so a model loaded from a
 * checkpoint serves as well as a trainer's. */
#ifndef WM_TRAIN_MODEL_EVAL_H
#define WM_TRAIN_MODEL_EVAL_H

#include <stdint.h>

#include "core/comm.h"
#include "data/replay.h"
#include "nets/world_model.h"

/* How well the model explains held-out episodes: every whole chunk of L steps, filtered with the posterior mean
 * (no noise). image_mse is per pixel; baseline_mse is that of predicting `mean_image` ((3, H, W), or NULL to
 * skip); reward_r2 = 1 - SSE / SST of the reward predictions. */
typedef struct {
    double image_mse, baseline_mse, reward_r2;
    long frames;
} WmHeldOut;

WmStatus model_eval_heldout(WmWorldModel *model, WmReplayBatch *batch, const WmEpisode *episodes, int count,
                            const float *mean_image, WmHeldOut *result, WmError *err);
/* The first L frames of each of `count` <= B episodes and the model's pictures of them, as uint8
 * (count, L, H, W, 3) each: reconstructions (posterior mean) for the first `context` steps, open-loop predictions
 * from the recorded actions (prior mean) after. context = L reconstructs everything. */
WmStatus model_eval_predict(WmWorldModel *model, WmReplayBatch *batch, const WmEpisode *episodes, int count,
                            int context, uint8_t *truth, uint8_t *predicted, WmError *err);
/* The mean preprocessed image (3, H, W) over every frame in the replay store, into out; in a data-parallel job, over
 * every rank's replay (collective). */
WmStatus model_eval_mean_image(const WmWorldModel *model, const WmReplay *replay, const WmComm *comm, float *out,
                               WmError *err);

#endif
