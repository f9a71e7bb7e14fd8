/* `wm bench train --round C`: one round of the online loop as the config file C sets it (configs/cartpole.yaml: 100
 * gradient steps at B = 16, then one episode collected with the planner). A temporary run collects the seed
 * episodes, trains one round, and the round's own metrics line gives the split: training, imagination (with the
 * actor), collection and evaluation (when online.eval_every falls on it). The temporary run is removed. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <cjson/cJSON.h>
#include <ftw.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/clock.h"
#include "core/fs.h"
#include "run/metrics.h"
#include "run/run_dir.h"
#include "run/train_run.h"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* The last line of metrics.jsonl that closes a round (it has "episodes"), and the step the round before ended at. */
typedef struct {
    cJSON *line;
    double step, previous_step;
} LastRound;

static WmStatus keep_round(void *ctx, const cJSON *object, const char *text, int number, WmError *err) {
    (void)text, (void)number, (void)err;
    LastRound *round = ctx;
    if (cJSON_GetObjectItemCaseSensitive(object, "episodes")) {
        cJSON_Delete(round->line);
        round->line = cJSON_Duplicate(object, 1);
        round->previous_step = round->step;
        round->step = cJSON_GetObjectItemCaseSensitive(object, "step")->valuedouble;
    }
    return WM_OK;
}

static WmStatus last_round(const char *metrics, LastRound *round, WmError *err) {
    *round = (LastRound){NULL, 0.0, 0.0};
    if (metrics_read(metrics, keep_round, round, err)) return err->status;
    return round->line ? WM_OK : wm_error_set(err, WM_ERR_FORMAT, "%s: no round was logged", metrics);
}

static double field(const cJSON *o, const char *name) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(item) ? item->valuedouble : 0.0;
}

WmStatus bench_round(const char *config_path, int json, WmError *err) {
    char dir[] = "/tmp/wm-bench-round-XXXXXX";
    if (mkdtemp(dir) == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot make a temporary directory", dir);
    char run[sizeof dir + 8];
    snprintf(run, sizeof run, "%s/run", dir);
    WmRunPaths paths;
    run_paths(&paths, run);
    WmConfig config;
    LastRound last = {NULL, 0.0, 0.0};
    const WmConfigRequest request = {.config_path = config_path};
    if (run_resolve_config(&paths, 0, &request, &config, err) == WM_OK) {
        const WmTrainOptions options = {.run = run, .env = config.data.env, .config_path = config_path,
                                        .steps = config.online.steps_per_episode};
        const WmTrainObserver silent = {0};
        const double start = wm_clock_seconds();
        if (run_train(&options, &silent, err) == WM_OK && last_round(paths.metrics, &last, err) == WM_OK) {
            /* The round's steps: online.steps_per_episode, or with a train ratio what the last round took. */
            const cJSON *round = last.line;
            const long steps = (long)(last.step - last.previous_step);
            const double train = field(round, "train_s"), imagine = field(round, "imagine_s"),
                         collect = field(round, "collect_s"), evaluate = field(round, "eval_s"),
                         total = train + imagine + collect + evaluate;
            if (json)
                printf("{\"bench\":\"round\",\"config\":\"%s\",\"env\":\"%s\",\"threads\":%d,\"steps\":%ld,"
                       "\"batch\":%ld,\"train_s\":%.2f,\"imagine_s\":%.2f,\"collect_s\":%.2f,\"eval_s\":%.2f,"
                       "\"round_s\":%.2f,\"with_seed_episodes_s\":%.2f}\n",
                       config_path, config.data.env, omp_get_max_threads(), steps, config.data.batch, train, imagine,
                       collect, evaluate, total, wm_clock_seconds() - start);
            else
                printf("wm bench train --round %s: %s, %d thread%s, %ld steps at B = %ld and one episode (%s)\n\n"
                       "| training | imagination | collection | evaluation | round |\n|---|---|---|---|---|\n"
                       "| %.1f s | %.1f s | %.1f s | %.1f s | %.1f s |\n",
                       config_path, config.data.env, omp_get_max_threads(), wm_plural(omp_get_max_threads()), steps,
                       config.data.batch, config_choice_word("plan.planner", config.plan.planner), train, imagine,
                       collect, evaluate, total);
        }
    }
    cJSON_Delete(last.line);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return err->status;
}
