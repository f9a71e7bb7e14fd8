/* Line plots for wm-viz (curves, scores): a panel with axes, ticks, labels, a legend, and each series a line, with
 * an optional band (low to high) under it; drawn with cairo. */
#ifndef WM_TOOLS_VIZ_PLOT_H
#define WM_TOOLS_VIZ_PLOT_H

#include <cairo.h>

#include "core/error.h"

enum { PLOT_PANEL_W = 420, PLOT_PANEL_H = 260 };

typedef struct {
    char name[64];
    char panel[64]; /* the quantity it is drawn with */
    double *steps, *values;
    double *low, *high; /* a band around the line, or NULL */
    int count, capacity;
} PlotSeries;

/* Appends a point (and its band, when low and high are kept); -1 when out of memory. */
int plot_series_add(PlotSeries *series, double step, double value);
int plot_series_add_band(PlotSeries *series, double step, double value, double low, double high);
void plot_series_free(PlotSeries *series);

/* One panel at (x0, y0), PLOT_PANEL_W x PLOT_PANEL_H, titled, its x axis named `x_label`. */
void plot_panel(cairo_t *cr, double x0, double y0, const char *title, const char *x_label, PlotSeries *const *lines,
                int count);
/* Writes the surface as a PNG under a temporary name, then renames it. */
WmStatus plot_write_png(cairo_surface_t *surface, const char *out, WmError *err);

#endif
