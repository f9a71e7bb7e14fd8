/* wm-viz: the picture tools. A contact sheet is a grid of frames with a gap between cells, upscaled so a 64x64
 * frame can be read by eye. */
#ifndef WM_TOOLS_VIZ_H
#define WM_TOOLS_VIZ_H

#include <stdint.h>

#include "core/error.h"

typedef struct {
    int rows, columns, height, width, scale, gap;
    int sheet_height, sheet_width;
    uint8_t *rgb; /* (sheet_height, sheet_width, 3), gaps white */
} VizSheet;

WmStatus viz_sheet_init(VizSheet *sheet, int rows, int columns, int height, int width, WmError *err);
void viz_sheet_free(VizSheet *sheet);
/* Puts one (height, width, 3) frame into the cell. */
void viz_sheet_put(VizSheet *sheet, int row, int column, const uint8_t *frame);
/* Writes the PNG to a temporary name and renames it. */
WmStatus viz_sheet_write(const VizSheet *sheet, const char *path, WmError *err);

/* An animated GIF of `count` (height, width, 3) frames, `delay_cs` hundredths of a second each, looping. */
WmStatus viz_gif_write(const char *path, const uint8_t *frames, int count, int height, int width, int delay_cs,
                       WmError *err);

int viz_recon(int argc, char **argv);
int viz_openloop(int argc, char **argv);
int viz_dataset(int argc, char **argv);
int viz_curves(int argc, char **argv);

#endif
