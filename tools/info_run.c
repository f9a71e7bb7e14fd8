/* wm info RUN: a run at a glance. Its step and the version of wm that wrote it, where its data came from, the last
 * losses and held-out figures, the last and best returns, the config keys it changed, and its checkpoints. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/fs.h"
#include "run/checkpoint.h"
#include "run/metrics.h"
#include "run/run_dir.h"

/* The last value of each number field in metrics.jsonl, and the best and last of the returns. */
typedef struct {
    cJSON *last_losses, *last_heldout; /* the last line with "loss", the last with "heldout_image_mse" */
    double eval_last, eval_best, train_last, train_best;
    long eval_step, eval_best_step, train_step, evaluations, episodes;
} Metrics;

static WmStatus take_line(void *ctx, const cJSON *o, const char *text, int number, WmError *err) {
    (void)text, (void)number, (void)err;
    Metrics *m = ctx;
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(o, "step");
    const cJSON *eval = cJSON_GetObjectItemCaseSensitive(o, "eval_return");
    const cJSON *train = cJSON_GetObjectItemCaseSensitive(o, "train_return");
    const cJSON *episodes = cJSON_GetObjectItemCaseSensitive(o, "episodes");
    const long at = cJSON_IsNumber(step) ? (long)step->valuedouble : 0;
    if (cJSON_IsNumber(eval)) {
        m->eval_last = eval->valuedouble, m->eval_step = at, m->evaluations++;
        if (eval->valuedouble > m->eval_best) m->eval_best = eval->valuedouble, m->eval_best_step = at;
    }
    if (cJSON_IsNumber(train)) {
        m->train_last = train->valuedouble, m->train_step = at;
        if (train->valuedouble > m->train_best) m->train_best = train->valuedouble;
    }
    if (cJSON_IsNumber(episodes)) m->episodes = (long)episodes->valuedouble;
    if (cJSON_GetObjectItemCaseSensitive(o, "heldout_image_mse")) {
        cJSON_Delete(m->last_heldout);
        m->last_heldout = cJSON_Duplicate(o, 1);
    }
    if (cJSON_GetObjectItemCaseSensitive(o, "loss")) {
        cJSON_Delete(m->last_losses);
        m->last_losses = cJSON_Duplicate(o, 1);
    }
    return WM_OK;
}

static void read_metrics(const char *path, Metrics *m) {
    memset(m, 0, sizeof *m);
    m->eval_best = m->train_best = -INFINITY;
    WmError err = {0};
    if (fs_exists(path)) metrics_read(path, take_line, m, &err);
}

static void print_fields(FILE *out, const cJSON *o, const char *const *names) {
    for (int i = 0; names[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, names[i]);
        if (cJSON_IsNumber(v)) fprintf(out, "  %-18s %.6g\n", names[i], v->valuedouble);
    }
}

int info_run(const char *dir, FILE *out) {
    WmRunPaths paths;
    run_paths(&paths, dir);
    WmConfig config, defaults;
    WmError err = {0};
    if (run_read_config(&paths, NULL, 0, &config, &err)) {
        fprintf(stderr, "wm info: %s\n", err.message);
        return 1;
    }
    config_defaults(&defaults);
    fprintf(out, "run %s\n", dir);
    WmSafetensors file;
    WmCheckpointInfo info;
    if (!fs_exists(paths.latest)) {
        fprintf(out, "  no checkpoint yet\n");
    } else if (safetensors_open(&file, paths.latest, &err) || checkpoint_read_info(&file, &info, &err)) {
        fprintf(out, "  latest.safetensors: INVALID: %s\n", err.message);
        return 1;
    } else {
        const char *version = safetensors_meta(&file, WM_META_VERSION), *data = safetensors_meta(&file, WM_META_DATA),
                   *print = safetensors_meta(&file, WM_META_DATA_FINGERPRINT);
        fprintf(out, "  step %ld of %ld, written by wm %s\n", info.step, config.run.steps, version ? version : "0.1 or older");
        if (data) fprintf(out, "  data: %s (fingerprint %s%s%s)\n", data, print ? print : "?", info.env[0] ? ", " : "", info.env);
        else fprintf(out, "  data: online in %s\n", info.env[0] ? info.env : config.data.env);
        if (info.state_dim > 0)
            fprintf(out, "  inputs: frames with %d state number%s each (wm_agent_act_state)\n", info.state_dim,
                    wm_plural(info.state_dim));
        fprintf(out, "  actor: %s\n", config.actor.enabled ? "trained in imagination (--planner actor)" : "none");
        safetensors_close(&file);
    }
    Metrics m;
    read_metrics(paths.metrics, &m);
    static const char *const LOSSES[] = {"loss", "image_nll", "reward_nll", "kl", "image_mse", "grad_norm",
                                         "actor_loss", "value_loss", "imagined_return", "actor_entropy",
                                         "actor_std", "frames_per_s", NULL};
    static const char *const HELDOUT[] = {"heldout_image_mse", "heldout_mean_image_mse", "heldout_reward_r2", NULL};
    if (m.last_losses) {
        fprintf(out, "last losses (step %.0f):\n", cJSON_GetObjectItemCaseSensitive(m.last_losses, "step")->valuedouble);
        print_fields(out, m.last_losses, LOSSES);
    }
    if (m.last_heldout) {
        fprintf(out, "held out (step %.0f):\n", cJSON_GetObjectItemCaseSensitive(m.last_heldout, "step")->valuedouble);
        print_fields(out, m.last_heldout, HELDOUT);
    }
    if (m.episodes) fprintf(out, "episodes collected: %ld\n", m.episodes);
    if (m.evaluations)
        fprintf(out, "eval return: last %.1f (step %ld), best %.1f (step %ld), %ld evaluation%s\n", m.eval_last, m.eval_step,
               m.eval_best, m.eval_best_step, m.evaluations, wm_plural(m.evaluations));
    if (isfinite(m.train_best))
        fprintf(out, "train return: last %.1f (step %ld), best %.1f\n", m.train_last, m.train_step, m.train_best);
    cJSON_Delete(m.last_losses), cJSON_Delete(m.last_heldout);
    static const char *const EVERY[] = {"", NULL};
    char changed[4096];
    const int count = config_differences(&config, &defaults, EVERY, changed, sizeof changed);
    fprintf(out, "config keys changed from the defaults (%d): %s\n", count, count ? changed : "none");
    char **names = NULL;
    int listed = 0;
    if (fs_list_dir(paths.checkpoints, &names, &listed, &err) == WM_OK) {
        fprintf(out, "checkpoints:");
        for (int i = 0; i < listed; i++) fprintf(out, " %s", names[i]);
        fprintf(out, "%s\n", listed ? "" : " none");
        fs_free_list(names, listed);
    }
    return 0;
}
