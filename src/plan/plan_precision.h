/* plan.precision auto: the precision that plans faster on this machine, by measurement. The planning objective
 * (plan_model_returns: H transitions and the reward head for every candidate) is built in fp32 and in bf16 on the
 * model's own shapes and timed alternately; bf16 is taken only when it is faster. The choice is cached per CPU
 * model, build, thread count and shape (core/measured_choice.h), so a machine decides once, in under 2 s. */
#ifndef WM_PLAN_PLAN_PRECISION_H
#define WM_PLAN_PLAN_PRECISION_H

#include "core/measured_choice.h"
#include "plan/planner.h"
#include "nets/world_model.h"

/* settings->bf16 from settings->precision: fp32 and bf16 as they say, auto measured (or read from the cache) on
 * `model`; `chosen` (may be NULL) gets the measurement. */
WmStatus plan_precision_resolve(WmPlanSettings *settings, const WmWorldModel *model, WmMeasuredPrecision *chosen,
                                WmError *err);
/* Times both precisions now, without the cache (wm bench plan). */
WmStatus plan_precision_measure(const WmPlanSettings *settings, const WmWorldModel *model, WmMeasuredPrecision *out,
                                WmError *err);

#endif
