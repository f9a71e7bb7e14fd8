#include "run/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"

cJSON *metrics_line(void) { return cJSON_CreateObject(); }

void metrics_add(cJSON *line, const char *key, double value) {
    if (line) cJSON_AddItemToObject(line, key, isfinite(value) ? cJSON_CreateNumber(value) : cJSON_CreateNull());
}

double round_to(double value, int digits) {
    const double scale = pow(10.0, digits);
    return round(value * scale) / scale;
}

void metrics_add_word(cJSON *line, const char *key, const char *word) {
    if (line) cJSON_AddStringToObject(line, key, word);
}

void metrics_write(FILE *out, cJSON *line) {
    char *text = line ? cJSON_PrintUnformatted(line) : NULL;
    if (text) fprintf(out, "%s\n", text);
    fflush(out);
    free(text);
    cJSON_Delete(line);
}

WmStatus metrics_read(const char *path, WmMetricsVisit visit, void *ctx, WmError *err) {
    char *text = NULL;
    size_t size = 0;
    if (fs_read_all(path, &text, &size, err)) return err->status;
    int number = 0;
    for (char *line = text, *next; line && *line && err->status == WM_OK; line = next) {
        next = strchr(line, '\n');
        if (next == NULL) break; /* a line still being written (or cut by a kill): not a metrics line yet */
        *next++ = '\0';
        cJSON *object = cJSON_Parse(line);
        visit(ctx, object, line, ++number, err);
        cJSON_Delete(object);
    }
    free(text);
    return err->status;
}

typedef struct {
    FILE *out;
    long step;
} Trim;

static WmStatus keep_up_to_step(void *ctx, const cJSON *object, const char *text, int number, WmError *err) {
    (void)number, (void)err;
    const Trim *t = ctx;
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(object, "step");
    if (cJSON_IsNumber(step) && step->valuedouble <= t->step) fprintf(t->out, "%s\n", text);
    return WM_OK;
}

WmStatus run_trim_metrics(const WmRunPaths *p, long step, WmError *err) {
    if (!fs_exists(p->metrics)) return WM_OK;
    char tmp[WM_RUN_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", p->metrics);
    Trim trim = {fopen(tmp, "w"), step};
    if (trim.out == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot create", tmp);
    if (metrics_read(p->metrics, keep_up_to_step, &trim, err)) {
        fclose(trim.out);
        remove(tmp);
        return err->status;
    }
    return fs_commit_stream(trim.out, tmp, p->metrics, err);
}

WmStatus run_open_metrics(const WmRunPaths *p, FILE **metrics, WmError *err) {
    *metrics = fopen(p->metrics, "a");
    return *metrics ? WM_OK : wm_error_set(err, WM_ERR_IO, "%s: cannot open for appending", p->metrics);
}

void run_write_step_metrics(FILE *out, const WmTrainer *t, const WmLosses *l, double wall, double frames_per_second,
                            const WmHeldOut *held_out) {
    cJSON *line = metrics_line();
    const struct {
        const char *key;
        double value;
    } step[] = {{"step", (double)t->step}, {"wall_s", round_to(wall, 3)}, {"loss", l->loss},
                {"image_nll", l->image_nll}, {"reward_nll", l->reward_nll}, {"kl", l->kl},
                {"overshoot_kl", l->overshoot_kl}, {"ensemble_kl", l->ensemble_kl}, {"image_mse", l->image_mse},
                {"grad_norm", t->grad_norm}, {"frames_per_s", round_to(frames_per_second, 1)}};
    for (size_t i = 0; i < sizeof step / sizeof step[0]; i++) metrics_add(line, step[i].key, step[i].value);
    if (t->model.has_continue) metrics_add(line, "continue_nll", l->continue_nll);
    if (t->model.state_embed) metrics_add(line, "state_nll", l->state_nll);
    metrics_add_word(line, "train_precision", t->model.train_bf16 ? "bf16" : "fp32");
    if (t->imagination) {
        const WmImagineLosses *i = &t->imagine_losses;
        metrics_add(line, "actor_loss", i->actor_loss), metrics_add(line, "value_loss", i->value_loss);
        metrics_add(line, "imagined_return", i->imagined_return), metrics_add(line, "actor_entropy", i->entropy);
        metrics_add(line, "actor_grad_norm", i->actor_grad_norm);
        if (!t->imagination->reinforce) metrics_add(line, "actor_action_grad", i->action_grad);
        metrics_add(line, "value_grad_norm", i->value_grad_norm);
        metrics_add(line, "actor_std", i->std);
        metrics_add(line, "return_p5", i->return_low), metrics_add(line, "return_p95", i->return_high);
        if (t->imagination->normalize_returns) metrics_add(line, "return_scale", imagine_return_scale(t->imagination));
        if (t->imagination->replay_value > 0.0f) metrics_add(line, "replay_return", i->replay_return);
    }
    if (t->comm.size > 1) { /* the wall time spent averaging gradients over the ranks, summed over the run */
        metrics_add(line, "ranks", t->comm.size);
        metrics_add(line, "allreduce_s", round_to(t->comm.reduce_seconds, 3));
    }
    if (held_out) {
        metrics_add(line, "heldout_image_mse", held_out->image_mse);
        metrics_add(line, "heldout_mean_image_mse", held_out->baseline_mse);
        metrics_add(line, "heldout_reward_r2", held_out->reward_r2);
    }
    metrics_write(out, line);
}
