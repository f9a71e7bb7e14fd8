/* wm-viz openloop: the model observes the first C frames of an episode, then imagines the next H from the recorded
 * actions alone. Three rows per episode (truth, model, absolute error) as a PNG strip or an animated GIF, and the
 * per-step error printed and written next to the picture as CSV. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/fs.h"
#include "data/dataset.h"
#include "run/acting.h"
#include "train/model_eval.h"
#include "viz.h"

/* The error as a heat map: black where the model is right, white at a quarter of full scale or more. */
#define OPENLOOP_HEAT_SCALE 0.25f

static int openloop_usage(FILE *out, int code) {
    fprintf(out, "usage: wm-viz openloop --run R --data DIR [--context 5] [--horizon 45] [--episodes N] [--frames F]\n"
                 "                        --out open.png|open.gif\n"
                 "  the last N episodes of DIR (default 1); F columns of the PNG strip (default 10); the GIF shows\n"
                 "  every step. The per-step error goes to stdout and to OUT with .csv in place of the extension;\n"
                 "  --checkpoint latest (default) or step_N\n"
                 "example: wm-viz openloop --run runs/cp --data runs/episodes/cartpole --out open.gif\n");
    return code;
}

static WmStatus parse_options(int argc, char **argv, VizOpenloopRequest *o, WmError *err) {
    *o = viz_openloop_defaults();
    const CliOption options[] = {
        {"--run", CLI_TEXT, &o->run, 0, 0},
        {"--data", CLI_TEXT, &o->data, 0, 0},
        {"--out", CLI_TEXT, &o->out, 0, 0},
        {"--checkpoint", CLI_TEXT, &o->checkpoint, 0, 0},
        {"--context", CLI_LONG, &o->context, 1, 10000},
        {"--horizon", CLI_LONG, &o->horizon, 1, 10000},
        {"--episodes", CLI_LONG, &o->episodes, 1, 64},
        {"--frames", CLI_LONG, &o->columns, 2, 1000},
    };
    if (cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), err)) return err->status;
    if (!o->run || !o->data || !o->out) return wm_error_set(err, WM_ERR_ARG, "--run, --data and --out are required");
    if (!cli_ends_with(o->out, ".png") && !cli_ends_with(o->out, ".gif"))
        return wm_error_set(err, WM_ERR_ARG, "--out %s: a .png or a .gif", o->out);
    return WM_OK;
}

/* What the model predicted beside the truth: `count` episodes of L steps, each frame H x W x 3. */
typedef struct {
    const uint8_t *truth, *model, *error;
    int count, L, H, W, context, first_episode;
} Prediction;

static size_t frame_at(const Prediction *p, int episode, int t) {
    return ((size_t)episode * p->L + t) * (size_t)p->H * p->W * 3;
}

/* The error per step, per pixel and channel, in [0, 1] units, over the episodes shown: to stdout and to `path`. */
static WmStatus write_error_table(const Prediction *p, const char *path, WmError *err) {
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *csv = fopen(tmp, "w");
    if (csv == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot create", tmp);
    fprintf(csv, "step,observed,mse\n");
    printf("step  observed  mse (per pixel and channel, [0, 1] units)\n");
    const size_t frame = (size_t)p->H * p->W * 3;
    for (int t = 0; t < p->L; t++) {
        double sse = 0.0;
        for (int e = 0; e < p->count; e++) {
            const uint8_t *a = p->truth + frame_at(p, e, t), *b = p->model + frame_at(p, e, t);
            for (size_t j = 0; j < frame; j++) {
                const double d = (a[j] - b[j]) / 255.0;
                sse += d * d;
            }
        }
        const double mse = sse / ((double)p->count * frame);
        fprintf(csv, "%d,%d,%.6f\n", t, t < p->context, mse);
        printf("%4d  %-8s  %.6f\n", t, t < p->context ? "yes" : "no", mse);
    }
    return fs_commit_stream(csv, tmp, path, err);
}

/* Step t of every episode into column `column`: truth, model and error rows. */
static void put_step(VizSheet *s, const Prediction *p, int column, int t) {
    for (int e = 0; e < p->count; e++) {
        const size_t at = frame_at(p, e, t);
        viz_sheet_put(s, 3 * e, column, p->truth + at);
        viz_sheet_put(s, 3 * e + 1, column, p->model + at);
        viz_sheet_put(s, 3 * e + 2, column, p->error + at);
    }
}

/* A PNG strip of `shown` steps spread over the sequence, a red line where imagination starts. */
static WmStatus write_strip(VizSheet *s, const Prediction *p, int shown, const char *out, WmError *err) {
    char label[64];
    int boundary = -1; /* the first imagined column */
    for (int k = 0; k < shown; k++) {
        const int t = k * (p->L - 1) / (shown - 1);
        if (boundary < 0 && t >= p->context) boundary = k;
        snprintf(label, sizeof label, "t = %d", t);
        viz_sheet_column_label(s, k, label);
        put_step(s, p, k, t);
    }
    /* Observed on the left of the red line, imagined on its right. */
    viz_sheet_text(s, viz_sheet_cell_left(s, 0), 12, "observed", 11, VIZ_MARK);
    if (boundary > 0) {
        const int x = viz_sheet_cell_left(s, boundary) - 2;
        viz_sheet_fill(s, x, 2, 2, s->sheet_height - s->margins.bottom - 2, VIZ_MARK);
        viz_sheet_text(s, x + 4, 12, "imagined from the actions alone", 11, VIZ_MARK);
    }
    return viz_sheet_write(s, out, err);
}

/* One GIF frame per step: the three rows of every episode, stacked. */
static WmStatus write_animation(VizSheet *s, const Prediction *p, const char *out, WmError *err) {
    const size_t sheet_bytes = (size_t)s->sheet_height * s->sheet_width * 3;
    uint8_t *frames = malloc(sheet_bytes * p->L);
    if (frames == NULL) return wm_error_set(err, WM_ERR_NOMEM, "out of memory");
    char label[64];
    for (int t = 0; t < p->L; t++) {
        viz_sheet_fill(s, 0, 0, s->sheet_width, s->margins.top, (const uint8_t[3]){255, 255, 255});
        snprintf(label, sizeof label, "step %d of %d: %s", t, p->L - 1, t < p->context ? "observed" : "imagined");
        viz_sheet_text(s, 4, 13, label, 11, t < p->context ? VIZ_INK : VIZ_MARK);
        put_step(s, p, 0, t);
        memcpy(frames + t * sheet_bytes, s->rgb, sheet_bytes);
    }
    const WmStatus status = viz_gif_write(out, frames, p->L, s->sheet_height, s->sheet_width, 20, err);
    free(frames);
    return status;
}

/* The picture: rows labelled per episode, the error's heat scale, then the strip or the animation. */
static WmStatus write_picture(const Prediction *p, const char *out, long columns, WmError *err) {
    const int gif = cli_ends_with(out, ".gif"), shown = gif ? 1 : (int)(columns < p->L ? columns : p->L);
    VizSheet s;
    const VizMargins margins = {.left = 64, .top = gif ? 18 : 30, .bottom = 30, .min_width = 330};
    if (viz_sheet_init(&s, 3 * p->count, shown, p->H, p->W, margins, err)) return err->status;
    char label[64];
    for (int e = 0; e < p->count; e++) {
        snprintf(label, sizeof label, "truth, ep %d", p->first_episode + e);
        viz_sheet_row_label(&s, 3 * e, label);
        viz_sheet_row_label(&s, 3 * e + 1, "model");
        viz_sheet_row_label(&s, 3 * e + 2, "|error|");
    }
    viz_sheet_heat_scale(&s, 8, s.sheet_height - 26, 120, OPENLOOP_HEAT_SCALE);
    const WmStatus status = gif ? write_animation(&s, p, out, err) : write_strip(&s, p, shown, out, err);
    viz_sheet_free(&s);
    return status;
}

WmStatus viz_openloop_write(const VizOpenloopRequest *request, WmError *err) {
    const VizOpenloopRequest o = *request;
    const int L = (int)(o.context + o.horizon);
    WmDataset data = {0};
    WmRunPredictor predictor;
    memset(&predictor, 0, sizeof predictor);
    uint8_t *truth = NULL, *model = NULL, *error = NULL;
    WmFrameSize size = {0};
    if (dataset_read(o.data, &size, 0, &data, err)) goto done;
    const int count = (int)(o.episodes < data.count ? o.episodes : data.count);
    if (run_predictor_open(&predictor, o.run, o.checkpoint, data.episodes[0].action_dim, data.episodes[0].state_dim,
                           count, L, err)) goto done;
    const int H = (int)predictor.model.config.height, W = (int)predictor.model.config.width;
    if (size.height != H || size.width != W) {
        dataset_free(&data);
        size = (WmFrameSize){H, W, 0};
        if (dataset_read(o.data, &size, 0, &data, err)) goto done;
    }
    const size_t pixels = (size_t)count * L * H * W;
    truth = malloc(pixels * 3), model = malloc(pixels * 3), error = malloc(pixels * 3);
    if (!truth || !model || !error) {
        wm_error_set(err, WM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (model_eval_predict(&predictor.model, &predictor.batch, data.episodes + data.count - count, count,
                           (int)o.context, truth, model, err))
        goto done;
    viz_error_heatmap(error, truth, model, pixels, OPENLOOP_HEAT_SCALE);
    const Prediction p = {truth, model, error, count, L, H, W, (int)o.context, data.count - count};
    char csv_path[4200];
    snprintf(csv_path, sizeof csv_path, "%.*s.csv", (int)(strlen(o.out) - 4), o.out);
    if (write_error_table(&p, csv_path, err) || write_picture(&p, o.out, o.columns, err)) goto done;
    printf("wm-viz openloop: %s and %s: %d episode%s, %ld observed then %ld imagined steps; rows truth, model, "
           "|error|\n", o.out, csv_path, count, count == 1 ? "" : "s", o.context, o.horizon);
done:
    free(truth), free(model), free(error);
    run_predictor_close(&predictor);
    dataset_free(&data);
    return err->status;
}

int viz_openloop(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return openloop_usage(stdout, 0);
    VizOpenloopRequest o;
    WmError err = {0};
    if (parse_options(argc, argv, &o, &err)) {
        fprintf(stderr, "wm-viz openloop: %s\n", err.message);
        return openloop_usage(stderr, 2);
    }
    if (viz_openloop_write(&o, &err) == WM_OK) return 0;
    fprintf(stderr, "wm-viz openloop: %s\n", err.message);
    return 1;
}
