/* wm-viz openloop: the model observes the first C frames of an episode, then imagines the next H from the recorded
 * actions alone. Three rows per episode (truth, model, absolute error) as a PNG strip or an animated GIF, and the
 * per-step error printed and written next to the picture as CSV. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data/dataset.h"
#include "run/acting.h"
#include "train/model_eval.h"
#include "viz.h"

static int openloop_usage(FILE *out, int code) {
    fprintf(out, "usage: wm-viz openloop --run R --data DIR [--context 5] [--horizon 45] [--episodes N] [--frames F]\n"
                 "                        --out open.png|open.gif\n"
                 "  the last N episodes of DIR (default 1); F columns of the PNG strip (default 10); the GIF shows\n"
                 "  every step. The per-step error goes to stdout and to OUT with .csv in place of the extension;\n"
                 "  --checkpoint latest (default) or step_N\n"
                 "example: wm-viz openloop --run runs/cp --data runs/episodes/cartpole --out open.gif\n");
    return code;
}

int viz_openloop(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return openloop_usage(stdout, 0);
    const char *run = NULL, *dir = NULL, *out = NULL, *checkpoint = NULL;
    long context = 5, horizon = 45, episodes = 1, columns = 10;
    WmError err = {0};
    const CliOption options[] = {
        {"--run", CLI_TEXT, &run, 0, 0},
        {"--data", CLI_TEXT, &dir, 0, 0},
        {"--out", CLI_TEXT, &out, 0, 0},
        {"--checkpoint", CLI_TEXT, &checkpoint, 0, 0},
        {"--context", CLI_LONG, &context, 1, 10000},
        {"--horizon", CLI_LONG, &horizon, 1, 10000},
        {"--episodes", CLI_LONG, &episodes, 1, 64},
        {"--frames", CLI_LONG, &columns, 2, 1000},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    if (err.status == WM_OK && (!run || !dir || !out)) wm_error_set(&err, WM_ERR_ARG, "--run, --data and --out are required");
    if (err.status == WM_OK && !cli_ends_with(out, ".png") && !cli_ends_with(out, ".gif"))
        wm_error_set(&err, WM_ERR_ARG, "--out %s: a .png or a .gif", out);
    if (err.status) {
        fprintf(stderr, "wm-viz openloop: %s\n", err.message);
        return openloop_usage(stderr, 2);
    }
    const int L = (int)(context + horizon), gif = cli_ends_with(out, ".gif");
    WmDataset data = {0};
    WmRunPredictor predictor;
    memset(&predictor, 0, sizeof predictor);
    int code = 1;
    uint8_t *truth = NULL, *model = NULL, *strip = NULL;
    WmFrameSize size = {0};
    if (dataset_read(dir, &size, 0, &data, &err)) goto done;
    const int count = (int)(episodes < data.count ? episodes : data.count);
    if (run_predictor_open(&predictor, run, checkpoint, data.episodes[0].action_dim, count, L, &err)) goto done;
    const int H = (int)predictor.model.config.height, W = (int)predictor.model.config.width;
    if (size.height != H || size.width != W) {
        dataset_free(&data);
        size = (WmFrameSize){H, W, 0};
        if (dataset_read(dir, &size, 0, &data, &err)) goto done;
    }
    const size_t frame = (size_t)H * W * 3;
    truth = malloc((size_t)count * L * frame), model = malloc((size_t)count * L * frame);
    if (!truth || !model) {
        wm_error_set(&err, WM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (model_eval_predict(&predictor.model, &predictor.batch, data.episodes + data.count - count, count, (int)context,
                           truth, model, &err))
        goto done;

    /* The error per step, per pixel and channel, in [0, 1] units, over the episodes shown. */
    char csv_path[4200];
    snprintf(csv_path, sizeof csv_path, "%.*s.csv", (int)(strlen(out) - 4), out);
    FILE *csv = fopen(csv_path, "w");
    if (csv == NULL) {
        wm_error_set(&err, WM_ERR_IO, "%s: cannot create", csv_path);
        goto done;
    }
    fprintf(csv, "step,observed,mse\n");
    printf("step  observed  mse (per pixel and channel, [0, 1] units)\n");
    for (int t = 0; t < L; t++) {
        double sse = 0.0;
        for (int e = 0; e < count; e++) {
            const uint8_t *a = truth + ((size_t)e * L + t) * frame, *b = model + ((size_t)e * L + t) * frame;
            for (size_t j = 0; j < frame; j++) {
                const double d = (a[j] - b[j]) / 255.0;
                sse += d * d;
            }
        }
        const double mse = sse / ((double)count * frame);
        fprintf(csv, "%d,%d,%.6f\n", t, t < context, mse);
        printf("%4d  %-8s  %.6f\n", t, t < context ? "yes" : "no", mse);
    }
    fclose(csv);

    /* Error pictures: |truth - model|, per channel. */
    uint8_t *error = malloc((size_t)count * L * frame);
    if (error == NULL) {
        wm_error_set(&err, WM_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* The error as a heat map: black where the model is right, white at a quarter of full scale or more. */
    const float heat_scale = 0.25f;
    viz_error_heatmap(error, truth, model, (size_t)count * L * H * W, heat_scale);
    VizSheet s;
    const int shown = gif ? 1 : (int)(columns < L ? columns : L);
    if (viz_sheet_init(&s, 3 * count, shown, H, W, (VizMargins){.left = 64, .top = gif ? 18 : 30, .bottom = 30, .min_width = 330}, &err)) {
        free(error);
        goto done;
    }
    char label[64];
    for (int e = 0; e < count; e++) {
        snprintf(label, sizeof label, "truth, ep %d", data.count - count + e);
        viz_sheet_row_label(&s, 3 * e, label);
        viz_sheet_row_label(&s, 3 * e + 1, "model");
        viz_sheet_row_label(&s, 3 * e + 2, "|error|");
    }
    viz_sheet_heat_scale(&s, 8, s.sheet_height - 26, 120, heat_scale);
    WmStatus written;
    if (!gif) {
        int boundary = -1; /* the first imagined column */
        for (int k = 0; k < shown; k++) {
            const int t = k * (L - 1) / (shown - 1);
            if (boundary < 0 && t >= context) boundary = k;
            snprintf(label, sizeof label, "t = %d", t);
            viz_sheet_column_label(&s, k, label);
        }
        for (int e = 0; e < count; e++)
            for (int k = 0; k < shown; k++) {
                const int t = k * (L - 1) / (shown - 1);
                const size_t at = ((size_t)e * L + t) * frame;
                viz_sheet_put(&s, 3 * e, k, truth + at);
                viz_sheet_put(&s, 3 * e + 1, k, model + at);
                viz_sheet_put(&s, 3 * e + 2, k, error + at);
            }
        /* Observed on the left of the red line, imagined on its right. */
        viz_sheet_text(&s, viz_sheet_cell_left(&s, 0), 12, "observed", 11, VIZ_MARK);
        if (boundary > 0) {
            const int x = viz_sheet_cell_left(&s, boundary) - 2;
            viz_sheet_fill(&s, x, 2, 2, s.sheet_height - s.margins.bottom - 2, VIZ_MARK);
            viz_sheet_text(&s, x + 4, 12, "imagined from the actions alone", 11, VIZ_MARK);
        }
        written = viz_sheet_write(&s, out, &err);
    } else {
        /* One GIF frame per step: the three rows of every episode, stacked. */
        const size_t sheet_bytes = (size_t)s.sheet_height * s.sheet_width * 3;
        strip = malloc(sheet_bytes * L);
        written = strip ? WM_OK : wm_error_set(&err, WM_ERR_NOMEM, "out of memory");
        for (int t = 0; t < L && written == WM_OK; t++) {
            viz_sheet_fill(&s, 0, 0, s.sheet_width, s.margins.top, (const uint8_t[3]){255, 255, 255});
            snprintf(label, sizeof label, "step %d of %d: %s", t, L - 1, t < context ? "observed" : "imagined");
            viz_sheet_text(&s, 4, 13, label, 11, t < context ? VIZ_INK : VIZ_MARK);
            for (int e = 0; e < count; e++) {
                const size_t at = ((size_t)e * L + t) * frame;
                viz_sheet_put(&s, 3 * e, 0, truth + at);
                viz_sheet_put(&s, 3 * e + 1, 0, model + at);
                viz_sheet_put(&s, 3 * e + 2, 0, error + at);
            }
            memcpy(strip + t * sheet_bytes, s.rgb, sheet_bytes);
        }
        if (written == WM_OK) written = viz_gif_write(out, strip, L, s.sheet_height, s.sheet_width, 20, &err);
    }
    viz_sheet_free(&s);
    free(error);
    if (written == WM_OK) {
        printf("wm-viz openloop: %s and %s: %d episode%s, %ld observed then %ld imagined steps; rows truth, model, "
               "|error|\n", out, csv_path, count, count == 1 ? "" : "s", context, horizon);
        code = 0;
    }
done:
    if (code) fprintf(stderr, "wm-viz openloop: %s\n", err.message);
    free(truth), free(model), free(strip);
    run_predictor_close(&predictor);
    dataset_free(&data);
    return code;
}
