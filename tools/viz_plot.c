#include "viz_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"

static int grow(double **array, int capacity) {
    double *grown = realloc(*array, (size_t)capacity * sizeof **array);
    if (grown) *array = grown;
    return grown ? 0 : -1;
}

int plot_series_add_band(PlotSeries *s, double step, double value, double low, double high) {
    if (s->count == s->capacity) {
        const int capacity = s->capacity ? 2 * s->capacity : 256;
        if (grow(&s->steps, capacity) || grow(&s->values, capacity) || grow(&s->low, capacity) ||
            grow(&s->high, capacity))
            return -1;
        s->capacity = capacity;
    }
    s->steps[s->count] = step, s->values[s->count] = value, s->low[s->count] = low, s->high[s->count++] = high;
    return 0;
}

int plot_series_add(PlotSeries *s, double step, double value) { return plot_series_add_band(s, step, value, NAN, NAN); }

void plot_series_free(PlotSeries *s) {
    free(s->steps), free(s->values), free(s->low), free(s->high);
    s->steps = s->values = s->low = s->high = NULL;
    s->count = s->capacity = 0;
}

/* A tick step of 1, 2 or 5 times a power of ten, giving about `ticks` ticks over the span. */
static double nice_step(double span, int ticks) {
    const double raw = span / ticks, power = pow(10.0, floor(log10(raw))), f = raw / power;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * power;
}

static const double COLOURS[][3] = {{0.12, 0.47, 0.71}, {0.85, 0.37, 0.01}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16}};

typedef struct {
    double left, right, top, bottom, xmin, xmax, ymin, ymax;
} Frame;

static double px(const Frame *f, double v) {
    return f->left + (v - f->xmin) / (f->xmax - f->xmin) * (f->right - f->left);
}
static double py(const Frame *f, double v) {
    return f->bottom - (v - f->ymin) / (f->ymax - f->ymin) * (f->bottom - f->top);
}

/* The ranges of every finite value (bands included), padded a little. */
static void fit(Frame *f, PlotSeries *const *lines, int count) {
    f->xmin = f->ymin = INFINITY, f->xmax = f->ymax = -INFINITY;
    for (int l = 0; l < count; l++)
        for (int i = 0; i < lines[l]->count; i++) {
            const double v[3] = {lines[l]->values[i], lines[l]->low ? lines[l]->low[i] : NAN,
                                 lines[l]->high ? lines[l]->high[i] : NAN};
            for (int k = 0; k < 3; k++) {
                if (!isfinite(v[k])) continue;
                f->xmin = fmin(f->xmin, lines[l]->steps[i]), f->xmax = fmax(f->xmax, lines[l]->steps[i]);
                f->ymin = fmin(f->ymin, v[k]), f->ymax = fmax(f->ymax, v[k]);
            }
        }
    if (!(f->xmax > f->xmin)) f->xmax = f->xmin + 1;
    if (!(f->ymax > f->ymin)) f->ymax = f->ymin + (fabs(f->ymin) > 0 ? fabs(f->ymin) * 0.1 : 1);
    const double pad = (f->ymax - f->ymin) * 0.05;
    f->ymin -= pad, f->ymax += pad;
}

static void axes(cairo_t *cr, const Frame *f, const char *x_label) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, f->left, f->top, f->right - f->left, f->bottom - f->top);
    cairo_stroke(cr);
    char label[32];
    const double xs = nice_step(f->xmax - f->xmin, 5), ys = nice_step(f->ymax - f->ymin, 5);
    for (double v = ceil(f->xmin / xs) * xs; v <= f->xmax + 1e-9 * xs; v += xs) {
        cairo_move_to(cr, px(f, v), f->bottom), cairo_line_to(cr, px(f, v), f->bottom + 4), cairo_stroke(cr);
        snprintf(label, sizeof label, "%g", v);
        cairo_move_to(cr, px(f, v) - 3.0 * strlen(label), f->bottom + 15), cairo_show_text(cr, label);
    }
    for (double v = ceil(f->ymin / ys) * ys; v <= f->ymax + 1e-9 * ys; v += ys) {
        cairo_move_to(cr, f->left - 4, py(f, v)), cairo_line_to(cr, f->left, py(f, v)), cairo_stroke(cr);
        /* As many decimals as the tick step needs, so neighbouring ticks never print alike. */
        const int decimals = ys >= 1 ? 0 : (int)ceil(-log10(ys));
        if (fabs(v) >= 1e6 || (ys < 1e-4 && v != 0)) snprintf(label, sizeof label, "%.3e", v);
        else snprintf(label, sizeof label, "%.*f", decimals, fabs(v) < 1e-12 * ys ? 0.0 : v);
        cairo_move_to(cr, f->left - 8 - 5.5 * strlen(label), py(f, v) + 3.5), cairo_show_text(cr, label);
    }
    cairo_move_to(cr, (f->left + f->right) / 2 - 3.0 * strlen(x_label), f->bottom + 30), cairo_show_text(cr, x_label);
}

/* A series' band, translucent in its colour, where both ends are finite. */
static void band(cairo_t *cr, const Frame *f, const PlotSeries *s, const double *c) {
    if (!s->low) return;
    int first = -1, last = -1;
    for (int i = 0; i < s->count; i++)
        if (isfinite(s->low[i]) && isfinite(s->high[i])) last = i, first = first < 0 ? i : first;
    if (first < 0 || first == last) return;
    cairo_move_to(cr, px(f, s->steps[first]), py(f, s->high[first]));
    for (int i = first; i <= last; i++)
        if (isfinite(s->high[i])) cairo_line_to(cr, px(f, s->steps[i]), py(f, s->high[i]));
    for (int i = last; i >= first; i--)
        if (isfinite(s->low[i])) cairo_line_to(cr, px(f, s->steps[i]), py(f, s->low[i]));
    cairo_close_path(cr);
    cairo_set_source_rgba(cr, c[0], c[1], c[2], 0.2);
    cairo_fill(cr);
}

void plot_panel(cairo_t *cr, double x0, double y0, const char *title, const char *x_label, PlotSeries *const *lines,
                int count) {
    Frame f = {x0 + 62, x0 + PLOT_PANEL_W - 14, y0 + 30, y0 + PLOT_PANEL_H - 40, 0, 0, 0, 0};
    fit(&f, lines, count);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 13);
    cairo_move_to(cr, f.left, y0 + 18);
    cairo_show_text(cr, title);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 10);
    axes(cr, &f, x_label);
    for (int l = 0; l < count; l++) {
        const double *c = COLOURS[l % 4];
        band(cr, &f, lines[l], c);
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_set_line_width(cr, 1.6);
        int pen = 0;
        for (int i = 0; i < lines[l]->count; i++) {
            if (!isfinite(lines[l]->values[i])) continue;
            if (pen++) cairo_line_to(cr, px(&f, lines[l]->steps[i]), py(&f, lines[l]->values[i]));
            else cairo_move_to(cr, px(&f, lines[l]->steps[i]), py(&f, lines[l]->values[i]));
        }
        cairo_stroke(cr);
        /* The legend, top right inside the plot. */
        const double ly = f.top + 14 + 14 * l;
        cairo_move_to(cr, f.right - 190, ly - 3), cairo_line_to(cr, f.right - 170, ly - 3), cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, f.right - 165, ly), cairo_show_text(cr, lines[l]->name);
    }
}

WmStatus plot_write_png(cairo_surface_t *surface, const char *out, WmError *err) {
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    if (cairo_surface_write_to_png(surface, tmp) != CAIRO_STATUS_SUCCESS)
        return wm_error_set(err, WM_ERR_IO, "%s: cannot write the PNG", tmp);
    return fs_commit(tmp, out, err);
}
