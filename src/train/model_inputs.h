/* A replay batch into a world model's inputs: what training steps and evaluations both feed the model. */
#ifndef WM_TRAIN_MODEL_INPUTS_H
#define WM_TRAIN_MODEL_INPUTS_H

#include "core/rng.h"
#include "data/replay.h"
#include "nets/world_model.h"

/* The batch's frames, actions, rewards, continues and states into model->input (the batch's state_dim is the
 * model's); with `dequantize_rng`, PlaNet's noise. */
void model_inputs_load(WmWorldModel *model, const WmReplayBatch *batch, WmRng *dequantize_rng);

#endif
