/* wm-viz recon: true frames over the model's reconstructions (posterior mean), one pair of rows per episode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data/dataset.h"
#include "data/episode_png.h"
#include "run/acting.h"
#include "train/model_eval.h"
#include "viz.h"

static int recon_usage(FILE *out, int code) {
    fprintf(out, "usage: wm-viz recon --run R --data DIR [--episodes N] [--frames F] --out recon.png\n"
                 "  the last N episodes of DIR (default 4; the held-out ones when the run held some out), the first\n"
                 "  data.length frames of each, F of them shown (default 10), truth above reconstruction;\n"
                 "  --checkpoint latest (default) or step_N\n"
                 "example: wm-viz recon --run runs/cp --data runs/episodes/cartpole --out recon.png\n");
    return code;
}

int viz_recon(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return recon_usage(stdout, 0);
    const char *run = NULL, *dir = NULL, *out = NULL, *checkpoint = NULL;
    long episodes = 4, columns = 10;
    WmError err = {0};
    const CliOption options[] = {
        {"--run", CLI_TEXT, &run, 0, 0},
        {"--data", CLI_TEXT, &dir, 0, 0},
        {"--out", CLI_TEXT, &out, 0, 0},
        {"--checkpoint", CLI_TEXT, &checkpoint, 0, 0},
        {"--episodes", CLI_LONG, &episodes, 1, 64},
        {"--frames", CLI_LONG, &columns, 1, 1000},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    if (err.status == WM_OK && (!run || !dir || !out)) wm_error_set(&err, WM_ERR_ARG, "--run, --data and --out are required");
    if (err.status) {
        fprintf(stderr, "wm-viz recon: %s\n", err.message);
        return recon_usage(stderr, 2);
    }
    WmDataset data = {0};
    WmRunPredictor predictor;
    memset(&predictor, 0, sizeof predictor);
    int code = 1;
    uint8_t *truth = NULL, *recon = NULL, *sheet = NULL;
    WmFrameSize size = {0};
    if (dataset_read(dir, &size, 0, &data, &err) ||
        run_predictor_open(&predictor, run, checkpoint, data.episodes[0].action_dim, 0, 0, &err))
        goto done;
    const WmModelConfig *c = &predictor.model.config;
    if (size.height != c->height || size.width != c->width) {
        /* Read again at the model's size: the model was trained on what the config says. */
        dataset_free(&data);
        size = (WmFrameSize){(int)c->height, (int)c->width, 0};
        if (dataset_read(dir, &size, 0, &data, &err)) goto done;
    }
    const int count = (int)(episodes < data.count ? episodes : data.count), L = predictor.batch.length;
    const int H = (int)c->height, W = (int)c->width, shown = (int)(columns < L ? columns : L);
    const size_t frame = (size_t)H * W * 3;
    truth = malloc((size_t)count * L * frame), recon = malloc((size_t)count * L * frame);
    if (!truth || !recon) {
        wm_error_set(&err, WM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (model_eval_predict(&predictor.model, &predictor.batch, data.episodes + data.count - count, count, L, truth,
                           recon, &err))
        goto done;
    VizSheet s;
    if (viz_sheet_init(&s, 2 * count, shown, H, W, (VizMargins){.left = 78, .top = 16}, &err)) goto done;
    char label[64];
    for (int k = 0; k < shown; k++) {
        snprintf(label, sizeof label, "t = %d", shown > 1 ? k * (L - 1) / (shown - 1) : 0);
        viz_sheet_column_label(&s, k, label);
    }
    for (int e = 0; e < count; e++) {
        snprintf(label, sizeof label, "truth, ep %d", data.count - count + e);
        viz_sheet_row_label(&s, 2 * e, label);
        viz_sheet_row_label(&s, 2 * e + 1, "model");
        for (int k = 0; k < shown; k++) {
            const int t = shown > 1 ? k * (L - 1) / (shown - 1) : 0;
            viz_sheet_put(&s, 2 * e, k, truth + ((size_t)e * L + t) * frame);
            viz_sheet_put(&s, 2 * e + 1, k, recon + ((size_t)e * L + t) * frame);
        }
    }
    if (viz_sheet_write(&s, out, &err) == WM_OK) {
        printf("wm-viz recon: %s: %d episodes x %d frames (steps 0 to %d), truth above reconstruction\n", out, count,
               shown, L - 1);
        code = 0;
    }
    viz_sheet_free(&s);
done:
    if (code) fprintf(stderr, "wm-viz recon: %s\n", err.message);
    free(truth), free(recon), free(sheet);
    run_predictor_close(&predictor);
    dataset_free(&data);
    return code;
}
