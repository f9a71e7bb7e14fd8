/* train.precision auto: the precision that trains faster on this machine, by measurement. What train.precision
 * changes is the convolutions (bf16 mixed precision reads bf16 and sums in f32), so the encoder and the decoder are
 * built in fp32 and in bf16 at the step's shapes (up to 128 frames) and timed forward and backward, alternately;
 * bf16 is taken only when it is faster. The choice is cached per CPU model, build, thread count and shape. bf16
 * training stays opt-in (the default is fp32): auto chooses only for a run that asks for it. */
#ifndef WM_TRAIN_TRAIN_PRECISION_H
#define WM_TRAIN_TRAIN_PRECISION_H

#include "config/config.h"
#include "core/measured_choice.h"
#include "nets/world_model.h"

/* model->train_bf16 from `precision` for steps of `frames` (B x L) frames; `model` is created, not yet built. */
WmStatus train_precision_resolve(WmWorldModel *model, WmPrecisionChoice precision, int frames,
                                 WmMeasuredPrecision *chosen, WmError *err);

#endif
