/* wm-viz curves: every logged term of R/metrics.jsonl over steps, one panel per quantity (held-out figures beside
 * the training one they match), drawn by viz_plot. */
#include <cairo.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/fs.h"
#include "run/metrics.h"
#include "run/run_dir.h"
#include "viz.h"
#include "viz_plot.h"

enum { MAX_SERIES = 32, COLUMNS = 3 };

static const char *panel_of(const char *key) {
    if (strncmp(key, "heldout_mean_", 13) == 0) return key + 13;
    if (strncmp(key, "heldout_", 8) == 0) return key + 8;
    return key;
}

typedef struct {
    const char *path;
    PlotSeries *series;
    int count;
} Curves;

/* Every number of a line but its step and wall time, as a point of the series of its key. */
static WmStatus add_line(void *ctx, const cJSON *object, const char *text, int number, WmError *err) {
    Curves *c = ctx;
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(object, "step");
    if (*text == '\0') return WM_OK;
    if (!cJSON_IsObject(object) || !cJSON_IsNumber(step))
        return wm_error_set(err, WM_ERR_FORMAT, "%s:%d: not a metrics object with a step", c->path, number);
    const cJSON *item;
    cJSON_ArrayForEach(item, object) {
        if (!cJSON_IsNumber(item) || strcmp(item->string, "step") == 0 || strcmp(item->string, "wall_s") == 0) continue;
        int k = 0;
        while (k < c->count && strcmp(c->series[k].name, item->string) != 0) k++;
        if (k == c->count) {
            if (c->count == MAX_SERIES) continue;
            snprintf(c->series[k].name, sizeof c->series[k].name, "%s", item->string);
            snprintf(c->series[k].panel, sizeof c->series[k].panel, "%s", panel_of(item->string));
            c->count++;
        }
        if (plot_series_add(&c->series[k], step->valuedouble, item->valuedouble))
            return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", c->path);
    }
    return WM_OK;
}

static WmStatus read_metrics(const char *path, PlotSeries *series, int *count, WmError *err) {
    Curves curves = {path, series, 0};
    const WmStatus status = metrics_read(path, add_line, &curves, err);
    *count = curves.count;
    if (status == WM_OK && *count == 0) return wm_error_set(err, WM_ERR_FORMAT, "%s: no metrics logged yet", path);
    return status;
}

static int curves_usage(FILE *out, int code) {
    fprintf(out, "usage: wm-viz curves --run R --out curves.png\n"
                 "  one panel per number logged in R/metrics.jsonl (losses, held-out figures, returns, time split)\n"
                 "example: wm-viz curves --run runs/cp --out curves.png\n");
    return code;
}

/* Panels in first-seen order; a series with only zeros (a term that is off) is left out. */
static int panels_of(const PlotSeries *series, int count, char panels[][64]) {
    int panel_count = 0;
    for (int k = 0; k < count; k++) {
        int nonzero = 0;
        for (int i = 0; i < series[k].count; i++) nonzero |= series[k].values[i] != 0.0;
        if (!nonzero) continue;
        int p = 0;
        while (p < panel_count && strcmp(panels[p], series[k].panel) != 0) p++;
        if (p == panel_count) snprintf(panels[panel_count++], 64, "%s", series[k].panel);
    }
    return panel_count;
}

static WmStatus draw_panels(PlotSeries *series, int count, char panels[][64], int panel_count, const char *out,
                            WmError *err) {
    const int rows = (panel_count + COLUMNS - 1) / COLUMNS;
    cairo_surface_t *surface =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, COLUMNS * PLOT_PANEL_W, rows * PLOT_PANEL_H);
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    for (int p = 0; p < panel_count; p++) {
        PlotSeries *lines[MAX_SERIES];
        int n = 0;
        for (int k = 0; k < count; k++)
            if (strcmp(series[k].panel, panels[p]) == 0) lines[n++] = &series[k];
        plot_panel(cr, (p % COLUMNS) * PLOT_PANEL_W, (p / COLUMNS) * PLOT_PANEL_H, panels[p], "step", lines, n);
    }
    cairo_destroy(cr);
    plot_write_png(surface, out, err);
    cairo_surface_destroy(surface);
    return err->status;
}

WmStatus viz_curves_write(const char *run, const char *out, WmError *err) {
    WmRunPaths paths;
    run_paths(&paths, run);
    const char *path = paths.metrics;
    PlotSeries series[MAX_SERIES];
    memset(series, 0, sizeof series);
    int count = 0;
    if (!fs_is_dir(run)) wm_error_set(err, WM_ERR_ARG, "%s: no such run directory", run);
    else if (!fs_exists(path)) wm_error_set(err, WM_ERR_ARG, "%s: not a run with metrics (no metrics.jsonl)", run);
    else read_metrics(path, series, &count, err);
    char panels[MAX_SERIES][64];
    const int panel_count = err->status ? 0 : panels_of(series, count, panels);
    if (err->status == WM_OK && draw_panels(series, count, panels, panel_count, out, err) == WM_OK)
        printf("wm-viz curves: %s: %d panels from %s (%d points)\n", out, panel_count, path, series[0].count);
    for (int k = 0; k < count; k++) plot_series_free(&series[k]);
    return err->status;
}

int viz_curves(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return curves_usage(stdout, 0);
    const char *run = NULL, *out = NULL;
    WmError err = {0};
    const CliOption options[] = {
        {"--run", CLI_TEXT, &run, 0, 0},
        {"--out", CLI_TEXT, &out, 0, 0},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    if (err.status == WM_OK && (!run || !out)) wm_error_set(&err, WM_ERR_ARG, "--run and --out are required");
    if (err.status) {
        fprintf(stderr, "wm-viz curves: %s\n", err.message);
        return curves_usage(stderr, 2);
    }
    if (viz_curves_write(run, out, &err) == WM_OK) return 0;
    fprintf(stderr, "wm-viz curves: %s\n", err.message);
    return 1;
}
