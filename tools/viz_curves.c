/* wm-viz curves: every logged term of R/metrics.jsonl over steps, one panel per quantity (held-out figures beside
 * the training one they match), with axes, ticks, labels and a legend; drawn with cairo. */
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

enum { MAX_SERIES = 32, PANEL_W = 420, PANEL_H = 260, COLUMNS = 3 };

typedef struct {
    char name[64];
    char panel[64]; /* the quantity it is drawn with */
    double *steps, *values;
    int count, capacity;
} Series;

static const char *panel_of(const char *key) {
    if (strncmp(key, "heldout_mean_", 13) == 0) return key + 13;
    if (strncmp(key, "heldout_", 8) == 0) return key + 8;
    return key;
}

static int add_point(Series *s, double step, double value) {
    if (s->count == s->capacity) {
        const int capacity = s->capacity ? 2 * s->capacity : 256;
        double *steps = realloc(s->steps, capacity * sizeof *steps), *values = realloc(s->values, capacity * sizeof *values);
        if (steps) s->steps = steps;
        if (values) s->values = values;
        if (!steps || !values) return -1;
        s->capacity = capacity;
    }
    s->steps[s->count] = step, s->values[s->count++] = value;
    return 0;
}

typedef struct {
    const char *path;
    Series *series;
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
        if (add_point(&c->series[k], step->valuedouble, item->valuedouble))
            return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", c->path);
    }
    return WM_OK;
}

static WmStatus read_metrics(const char *path, Series *series, int *count, WmError *err) {
    Curves curves = {path, series, 0};
    const WmStatus status = metrics_read(path, add_line, &curves, err);
    *count = curves.count;
    if (status == WM_OK && *count == 0) return wm_error_set(err, WM_ERR_FORMAT, "%s: no metrics logged yet", path);
    return status;
}

/* A tick step of 1, 2 or 5 times a power of ten, giving about `ticks` ticks over the span. */
static double nice_step(double span, int ticks) {
    const double raw = span / ticks, power = pow(10.0, floor(log10(raw))), f = raw / power;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * power;
}

static const double COLOURS[][3] = {{0.12, 0.47, 0.71}, {0.85, 0.37, 0.01}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16}};

static void draw_panel(cairo_t *cr, double x0, double y0, const char *title, Series *const *lines, int count) {
    const double left = x0 + 62, right = x0 + PANEL_W - 14, top = y0 + 30, bottom = y0 + PANEL_H - 40;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int l = 0; l < count; l++)
        for (int i = 0; i < lines[l]->count; i++) {
            if (!isfinite(lines[l]->values[i])) continue;
            xmin = fmin(xmin, lines[l]->steps[i]), xmax = fmax(xmax, lines[l]->steps[i]);
            ymin = fmin(ymin, lines[l]->values[i]), ymax = fmax(ymax, lines[l]->values[i]);
        }
    if (!(xmax > xmin)) xmax = xmin + 1;
    if (!(ymax > ymin)) ymax = ymin + (fabs(ymin) > 0 ? fabs(ymin) * 0.1 : 1);
    const double pad = (ymax - ymin) * 0.05;
    ymin -= pad, ymax += pad;
#define PX(v) (left + ((v) - xmin) / (xmax - xmin) * (right - left))
#define PY(v) (bottom - ((v) - ymin) / (ymax - ymin) * (bottom - top))
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 13);
    cairo_move_to(cr, left, y0 + 18);
    cairo_show_text(cr, title);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 10);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, left, top, right - left, bottom - top);
    cairo_stroke(cr);
    char label[32];
    const double xs = nice_step(xmax - xmin, 5), ys = nice_step(ymax - ymin, 5);
    for (double v = ceil(xmin / xs) * xs; v <= xmax + 1e-9 * xs; v += xs) {
        cairo_move_to(cr, PX(v), bottom), cairo_line_to(cr, PX(v), bottom + 4), cairo_stroke(cr);
        snprintf(label, sizeof label, "%g", v);
        cairo_move_to(cr, PX(v) - 3.0 * strlen(label), bottom + 15), cairo_show_text(cr, label);
    }
    for (double v = ceil(ymin / ys) * ys; v <= ymax + 1e-9 * ys; v += ys) {
        cairo_move_to(cr, left - 4, PY(v)), cairo_line_to(cr, left, PY(v)), cairo_stroke(cr);
        /* As many decimals as the tick step needs, so neighbouring ticks never print alike. */
        const int decimals = ys >= 1 ? 0 : (int)ceil(-log10(ys));
        if (fabs(v) >= 1e6 || (ys < 1e-4 && v != 0)) snprintf(label, sizeof label, "%.3e", v);
        else snprintf(label, sizeof label, "%.*f", decimals, fabs(v) < 1e-12 * ys ? 0.0 : v);
        cairo_move_to(cr, left - 8 - 5.5 * strlen(label), PY(v) + 3.5), cairo_show_text(cr, label);
    }
    cairo_move_to(cr, (left + right) / 2 - 12, bottom + 30), cairo_show_text(cr, "step");
    for (int l = 0; l < count; l++) {
        const double *c = COLOURS[l % 4];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_set_line_width(cr, 1.6);
        int pen = 0;
        for (int i = 0; i < lines[l]->count; i++) {
            if (!isfinite(lines[l]->values[i])) continue;
            if (pen++) cairo_line_to(cr, PX(lines[l]->steps[i]), PY(lines[l]->values[i]));
            else cairo_move_to(cr, PX(lines[l]->steps[i]), PY(lines[l]->values[i]));
        }
        cairo_stroke(cr);
        /* The legend, top right inside the plot. */
        const double ly = top + 14 + 14 * l;
        cairo_move_to(cr, right - 190, ly - 3), cairo_line_to(cr, right - 170, ly - 3), cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, right - 165, ly), cairo_show_text(cr, lines[l]->name);
    }
#undef PX
#undef PY
}

static int curves_usage(FILE *out, int code) {
    fprintf(out, "usage: wm-viz curves --run R --out curves.png\n"
                 "  one panel per number logged in R/metrics.jsonl (losses, held-out figures, returns, time split)\n"
                 "example: wm-viz curves --run runs/cp --out curves.png\n");
    return code;
}

/* Panels in first-seen order; a series with only zeros (a term that is off) is left out. */
static int panels_of(const Series *series, int count, char panels[][64]) {
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

static WmStatus draw_panels(Series *series, int count, char panels[][64], int panel_count, const char *out,
                            WmError *err) {
    const int rows = (panel_count + COLUMNS - 1) / COLUMNS;
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, COLUMNS * PANEL_W, rows * PANEL_H);
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    for (int p = 0; p < panel_count; p++) {
        Series *lines[MAX_SERIES];
        int n = 0;
        for (int k = 0; k < count; k++)
            if (strcmp(series[k].panel, panels[p]) == 0) lines[n++] = &series[k];
        draw_panel(cr, (p % COLUMNS) * PANEL_W, (p / COLUMNS) * PANEL_H, panels[p], lines, n);
    }
    cairo_destroy(cr);
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    if (cairo_surface_write_to_png(surface, tmp) != CAIRO_STATUS_SUCCESS)
        wm_error_set(err, WM_ERR_IO, "%s: cannot write the PNG", tmp);
    cairo_surface_destroy(surface);
    return err->status ? err->status : fs_commit(tmp, out, err);
}

WmStatus viz_curves_write(const char *run, const char *out, WmError *err) {
    WmRunPaths paths;
    run_paths(&paths, run);
    const char *path = paths.metrics;
    Series series[MAX_SERIES];
    memset(series, 0, sizeof series);
    int count = 0;
    if (!fs_is_dir(run)) wm_error_set(err, WM_ERR_ARG, "%s: no such run directory", run);
    else if (!fs_exists(path)) wm_error_set(err, WM_ERR_ARG, "%s: not a run with metrics (no metrics.jsonl)", run);
    else read_metrics(path, series, &count, err);
    char panels[MAX_SERIES][64];
    const int panel_count = err->status ? 0 : panels_of(series, count, panels);
    if (err->status == WM_OK && draw_panels(series, count, panels, panel_count, out, err) == WM_OK)
        printf("wm-viz curves: %s: %d panels from %s (%d points)\n", out, panel_count, path, series[0].count);
    for (int k = 0; k < count; k++) free(series[k].steps), free(series[k].values);
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
