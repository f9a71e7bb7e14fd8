/* The precisions a run trains and plans in. train.precision and plan.precision auto are settled here, once, before
 * the trainer and the agent are made: a resumed run takes what its checkpoint recorded, so it goes on bit for bit;
 * a new one what rank 0 measures (or finds in the machine's cache, core/measured_choice.h), the same on every rank.
 * config.yaml keeps the words as written. */
#ifndef WM_RUN_PRECISION_H
#define WM_RUN_PRECISION_H

#include <cjson/cJSON.h>

#include "core/comm.h"
#include "core/measured_choice.h"
#include "run/run_dir.h"

typedef struct {
    WmMeasuredPrecision train, plan;
    int plans;    /* the run plans (plan.precision matters) */
    int recorded; /* read from the checkpoint resumed */
} WmRunPrecision;

/* `resolved`: `config` with auto replaced by fp32 or bf16 (plan.precision only when `plans`). */
WmStatus run_resolve_precision(const WmRunPaths *paths, const WmComm *comm, const WmConfig *config, int action_dim,
                               int plans, WmConfig *resolved, WmRunPrecision *out, WmError *err);
/* "training in fp32; planning in bf16 (12.3 ms against 20.1 ms in fp32, measured)". */
void run_precision_describe(const WmRunPrecision *p, char *out, size_t size);

#endif
