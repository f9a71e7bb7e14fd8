/* wm-viz: the picture tools. A contact sheet is a grid of frames with a gap between cells, upscaled so a 64x64
 * frame can be read by eye. */
#ifndef WM_TOOLS_VIZ_H
#define WM_TOOLS_VIZ_H

#include <stdint.h>

#include "core/error.h"

/* Room around the grid, in sheet pixels: row names on the left, column headers on top, a footer. */
typedef struct {
    int left, top, bottom, min_width;
    int row_band; /* room above every row, for its own caption */
} VizMargins;

typedef struct {
    int rows, columns, height, width, scale, gap;
    VizMargins margins;
    int sheet_height, sheet_width;
    uint8_t *rgb; /* (sheet_height, sheet_width, 3), gaps white */
} VizSheet;

extern const uint8_t VIZ_INK[3], VIZ_MARK[3]; /* text, and what marks a boundary */

WmStatus viz_sheet_init(VizSheet *sheet, int rows, int columns, int height, int width, VizMargins margins,
                        WmError *err);
void viz_sheet_free(VizSheet *sheet);
/* Puts one (height, width, 3) frame into the cell. */
void viz_sheet_put(VizSheet *sheet, int row, int column, const uint8_t *frame);
/* A cell's left and top edges in sheet pixels. */
int viz_sheet_cell_left(const VizSheet *sheet, int column);
int viz_sheet_cell_top(const VizSheet *sheet, int row);
/* A filled rectangle, clipped to the sheet. */
void viz_sheet_fill(VizSheet *sheet, int x, int y, int width, int height, const uint8_t color[3]);
/* Text with its baseline at (x, y), `size` pixels high. */
void viz_sheet_text(VizSheet *sheet, int x, int y, const char *text, double size, const uint8_t color[3]);
void viz_sheet_row_label(VizSheet *sheet, int row, const char *text);
void viz_sheet_column_label(VizSheet *sheet, int column, const char *text);
/* |a - b| per pixel (mean over channels, as a share of full scale) as a heat map: 0 black, `scale` or more white. */
void viz_error_heatmap(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t pixels, float scale);
/* The heat map's colour bar and its scale, `width` pixels from (x, y). */
void viz_sheet_heat_scale(VizSheet *sheet, int x, int y, int width, float scale);
/* Writes the PNG to a temporary name and renames it. */
WmStatus viz_sheet_write(const VizSheet *sheet, const char *path, WmError *err);

/* An animated GIF of `count` (height, width, 3) frames, `delay_cs` hundredths of a second each, looping. */
WmStatus viz_gif_write(const char *path, const uint8_t *frames, int count, int height, int width, int delay_cs,
                       WmError *err);

/* The pictures of wm-viz's commands, without their command lines (wm-viz report makes them all). */
typedef struct {
    const char *run, *data, *out, *checkpoint; /* checkpoint NULL: the latest */
    long episodes, columns;
} VizReconRequest;
WmStatus viz_recon_write(const VizReconRequest *request, WmError *err);

typedef struct {
    const char *run, *data, *out, *checkpoint; /* out: .png (a strip) or .gif (every step) */
    long context, horizon, episodes, columns;
} VizOpenloopRequest;
static inline VizOpenloopRequest viz_openloop_defaults(void) {
    return (VizOpenloopRequest){.context = 5, .horizon = 45, .episodes = 1, .columns = 10};
}
WmStatus viz_openloop_write(const VizOpenloopRequest *request, WmError *err);

WmStatus viz_curves_write(const char *run, const char *out, WmError *err);

int viz_recon(int argc, char **argv);
int viz_openloop(int argc, char **argv);
int viz_dataset(int argc, char **argv);
int viz_curves(int argc, char **argv);
int viz_scores(int argc, char **argv);
int viz_report(int argc, char **argv);

#endif
