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

/* Truth above reconstruction: `count` episodes of L frames, `shown` columns spread over them. */
static WmStatus write_sheet(const uint8_t *truth, const uint8_t *recon, int count, int L, int H, int W, int shown,
                            int first_episode, const char *out, WmError *err) {
    VizSheet s;
    if (viz_sheet_init(&s, 2 * count, shown, H, W, (VizMargins){.left = 78, .top = 16}, err)) return err->status;
    const size_t frame = (size_t)H * W * 3;
    char label[64];
    for (int k = 0; k < shown; k++) {
        snprintf(label, sizeof label, "t = %d", shown > 1 ? k * (L - 1) / (shown - 1) : 0);
        viz_sheet_column_label(&s, k, label);
    }
    for (int e = 0; e < count; e++) {
        snprintf(label, sizeof label, "truth, ep %d", first_episode + e);
        viz_sheet_row_label(&s, 2 * e, label);
        viz_sheet_row_label(&s, 2 * e + 1, "model");
        for (int k = 0; k < shown; k++) {
            const int t = shown > 1 ? k * (L - 1) / (shown - 1) : 0;
            viz_sheet_put(&s, 2 * e, k, truth + ((size_t)e * L + t) * frame);
            viz_sheet_put(&s, 2 * e + 1, k, recon + ((size_t)e * L + t) * frame);
        }
    }
    const WmStatus status = viz_sheet_write(&s, out, err);
    viz_sheet_free(&s);
    return status;
}

WmStatus viz_recon_write(const VizReconRequest *r, WmError *err) {
    WmDataset data = {0};
    WmRunPredictor predictor;
    memset(&predictor, 0, sizeof predictor);
    uint8_t *truth = NULL, *recon = NULL;
    WmFrameSize size = {0};
    if (dataset_read(r->data, &size, 0, &data, err) ||
        run_predictor_open(&predictor, r->run, r->checkpoint, data.episodes[0].action_dim,
                           data.episodes[0].state_dim, 0, 0, err))
        goto done;
    const WmModelConfig *c = &predictor.model.config;
    if (size.height != c->height || size.width != c->width) {
        /* Read again at the model's size: the model was trained on what the config says. */
        dataset_free(&data);
        size = (WmFrameSize){(int)c->height, (int)c->width, 0};
        if (dataset_read(r->data, &size, 0, &data, err)) goto done;
    }
    const int count = (int)(r->episodes < data.count ? r->episodes : data.count), L = predictor.batch.length;
    const int H = (int)c->height, W = (int)c->width, shown = (int)(r->columns < L ? r->columns : L);
    const size_t frame = (size_t)H * W * 3;
    truth = malloc((size_t)count * L * frame), recon = malloc((size_t)count * L * frame);
    if (!truth || !recon) {
        wm_error_set(err, WM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (model_eval_predict(&predictor.model, &predictor.batch, data.episodes + data.count - count, count, L, truth,
                           recon, err) == WM_OK &&
        write_sheet(truth, recon, count, L, H, W, shown, data.count - count, r->out, err) == WM_OK)
        printf("wm-viz recon: %s: %d episodes x %d frames (steps 0 to %d), truth above reconstruction\n", r->out,
               count, shown, L - 1);
done:
    free(truth), free(recon);
    run_predictor_close(&predictor);
    dataset_free(&data);
    return err->status;
}

int viz_recon(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return recon_usage(stdout, 0);
    VizReconRequest r = {.episodes = 4, .columns = 10};
    WmError err = {0};
    const CliOption options[] = {
        {"--run", CLI_TEXT, &r.run, 0, 0},
        {"--data", CLI_TEXT, &r.data, 0, 0},
        {"--out", CLI_TEXT, &r.out, 0, 0},
        {"--checkpoint", CLI_TEXT, &r.checkpoint, 0, 0},
        {"--episodes", CLI_LONG, &r.episodes, 1, 64},
        {"--frames", CLI_LONG, &r.columns, 1, 1000},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    if (err.status == WM_OK && (!r.run || !r.data || !r.out))
        wm_error_set(&err, WM_ERR_ARG, "--run, --data and --out are required");
    if (err.status) {
        fprintf(stderr, "wm-viz recon: %s\n", err.message);
        return recon_usage(stderr, 2);
    }
    if (viz_recon_write(&r, &err) == WM_OK) return 0;
    fprintf(stderr, "wm-viz recon: %s\n", err.message);
    return 1;
}
