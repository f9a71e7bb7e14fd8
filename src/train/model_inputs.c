#include "train/model_inputs.h"

#include <string.h>

void model_inputs_load(WmWorldModel *m, const WmReplayBatch *batch, WmRng *dequantize_rng) {
    const size_t rows = (size_t)batch->batch * batch->length;
    world_model_preprocess(m, m->input.images, batch->frames, rows, dequantize_rng);
    memcpy(m->input.actions, batch->actions, rows * m->action_dim * sizeof(float));
    memcpy(m->input.rewards, batch->rewards, rows * sizeof(float));
    for (size_t n = 0; n < rows; n++) m->input.continues[n] = batch->is_terminal[n] ? 0.0f : 1.0f;
    if (m->input.states) memcpy(m->input.states, batch->states, rows * m->config.state_dim * sizeof(float));
}
