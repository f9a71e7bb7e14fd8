#include "run_dir.h"

#include <stdio.h>

#include "core/fs.h"

WmStatus run_open(const char *run, int action_dim, int batch, int length, const CliList *sets, WmTrainer *trainer,
                  WmError *err) {
    char config_path[4200], latest[4200];
    snprintf(config_path, sizeof config_path, "%s/config.yaml", run);
    snprintf(latest, sizeof latest, "%s/latest.safetensors", run);
    if (!fs_is_dir(run)) return wm_error_set(err, WM_ERR_ARG, "%s: no such run directory", run);
    if (!fs_exists(config_path)) return wm_error_set(err, WM_ERR_ARG, "%s: not a run (no config.yaml)", run);
    if (!fs_exists(latest)) return wm_error_set(err, WM_ERR_ARG, "%s: no checkpoint yet (latest.safetensors)", run);
    WmConfig config;
    config_defaults(&config);
    if (config_load_yaml(&config, config_path, err)) return err->status;
    for (int i = 0; sets != NULL && i < sets->count; i++)
        if (config_set_assignment(&config, sets->items[i], err)) return err->status;
    if (batch > 0) config.data.batch = batch;
    if (length > 0) config.data.length = length;
    if (config.loss.overshooting >= config.data.length) config.loss.overshooting = 0; /* training only */
    if (config_validate(&config, err)) return err->status;
    if (trainer_create(trainer, &config, action_dim, err) || trainer_load(trainer, latest, err)) {
        trainer_free(trainer);
        return err->status;
    }
    return WM_OK;
}
