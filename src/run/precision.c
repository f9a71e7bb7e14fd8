#include "run/precision.h"

#include <string.h>

#include "core/fs.h"
#include "plan/plan_model.h"
#include "plan/plan_precision.h"
#include "run/checkpoint.h"
#include "train/train_precision.h"

static const char *word(int bf16) { return bf16 ? "bf16" : "fp32"; }

/* What the checkpoint recorded for the keys `config` leaves to auto; 0 when it recorded nothing. */
static int read_recorded(const char *path, WmConfig *config, WmRunPrecision *out) {
    WmSafetensors f;
    WmError ignored = {0};
    if (!fs_exists(path) || safetensors_open(&f, path, &ignored)) return 0;
    const char *train = safetensors_meta(&f, WM_META_TRAIN_PRECISION), *plan = safetensors_meta(&f, WM_META_PLAN_PRECISION);
    int found = 0;
    if (train && config->train.precision == WM_PRECISION_AUTO) {
        out->train.bf16 = strcmp(train, "bf16") == 0, found = 1;
        config->train.precision = out->train.bf16 ? WM_PRECISION_BF16 : WM_PRECISION_FP32;
    }
    if (plan && out->plans && config->plan.precision == WM_PRECISION_AUTO) {
        out->plan.bf16 = strcmp(plan, "bf16") == 0, found = 1;
        config->plan.precision = out->plan.bf16 ? WM_PRECISION_BF16 : WM_PRECISION_FP32;
    }
    safetensors_close(&f);
    return found;
}

/* Rank 0's measurement of whatever `config` leaves to auto. */
static WmStatus measure(const WmConfig *config, int action_dim, WmRunPrecision *out, WmError *err) {
    const WmModelConfig model_config = model_config_from(config);
    WmWorldModel model;
    if (world_model_create(&model, &model_config, action_dim, err) == WM_OK) {
        world_model_init_params(&model, 0);
        const int frames = (int)(config->data.batch * config->data.length);
        WmPlanSettings settings = plan_settings_from_config(config, action_dim);
        if (train_precision_resolve(&model, config->train.precision, frames, &out->train, err) == WM_OK && out->plans)
            plan_precision_resolve(&settings, &model, &out->plan, err);
    }
    world_model_free(&model);
    return err->status;
}

WmStatus run_resolve_precision(const WmRunPaths *paths, const WmComm *comm, const WmConfig *config, int action_dim,
                               int plans, WmConfig *resolved, WmRunPrecision *out, WmError *err) {
    *resolved = *config;
    *out = (WmRunPrecision){.plans = plans && config->plan.planner != WM_PLAN_ACTOR};
    out->train.bf16 = config->train.precision == WM_PRECISION_BF16;
    out->plan.bf16 = config->plan.precision == WM_PRECISION_BF16;
    out->recorded = read_recorded(paths->latest, resolved, out);
    const int train_auto = resolved->train.precision == WM_PRECISION_AUTO,
              plan_auto = out->plans && resolved->plan.precision == WM_PRECISION_AUTO;
    if (!train_auto && !plan_auto) return WM_OK;
    if (comm->rank == 0) measure(resolved, action_dim, out, err);
    if (comm->size > 1) { /* rank 0's choice, on every rank */
        double chosen[2] = {comm->rank == 0 && out->train.bf16, comm->rank == 0 && out->plan.bf16};
        if (comm_any(comm, err->status != WM_OK) && err->status == WM_OK)
            return wm_error_set(err, WM_ERR_PEER, "stopped: rank 0 could not measure the precisions");
        if (err->status || comm_sum_doubles(comm, chosen, 2, err)) return err->status;
        out->train.bf16 = chosen[0] > 0.5, out->plan.bf16 = chosen[1] > 0.5;
    }
    if (err->status) return err->status;
    if (train_auto) resolved->train.precision = out->train.bf16 ? WM_PRECISION_BF16 : WM_PRECISION_FP32;
    if (plan_auto) resolved->plan.precision = out->plan.bf16 ? WM_PRECISION_BF16 : WM_PRECISION_FP32;
    return WM_OK;
}

static void describe_one(const WmMeasuredPrecision *m, int measured, int recorded, char *out, size_t size) {
    if (measured) measured_precision_describe(m, out, size);
    else snprintf(out, size, "%s%s", word(m->bf16), recorded ? " (as the run began)" : "");
}

void run_precision_describe(const WmRunPrecision *p, char *out, size_t size) {
    char train[160], plan[160] = "";
    const int train_measured = p->train.fp32_seconds > 0.0, plan_measured = p->plan.fp32_seconds > 0.0;
    describe_one(&p->train, train_measured, p->recorded, train, sizeof train);
    if (p->plans) describe_one(&p->plan, plan_measured, p->recorded, plan, sizeof plan);
    snprintf(out, size, "training in %s%s%s", train, p->plans ? "; planning in " : "", plan);
}
