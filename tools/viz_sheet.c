/* Contact sheets: frames in a grid, upscaled so a 64x64 frame can be read, with room around the grid for labels
 * (row names on the left, column headers on top, a footer) drawn with cairo's text. */
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "data/episode_png.h"
#include "viz.h"

const uint8_t VIZ_INK[3] = {30, 30, 30}, VIZ_MARK[3] = {220, 40, 40};

WmStatus viz_sheet_init(VizSheet *s, int rows, int columns, int height, int width, VizMargins margins,
                        WmError *err) {
    memset(s, 0, sizeof *s);
    s->rows = rows, s->columns = columns, s->height = height, s->width = width;
    s->scale = height < 128 ? 2 : 1, s->gap = 2, s->margins = margins;
    s->sheet_height = margins.top + rows * (height * s->scale + s->gap + margins.row_band) + s->gap + margins.bottom;
    s->sheet_width = margins.left + columns * (width * s->scale + s->gap) + s->gap;
    if (s->sheet_width < margins.min_width) s->sheet_width = margins.min_width;
    s->rgb = malloc((size_t)s->sheet_height * s->sheet_width * 3);
    if (s->rgb == NULL) return wm_error_set(err, WM_ERR_NOMEM, "contact sheet: out of memory");
    memset(s->rgb, 255, (size_t)s->sheet_height * s->sheet_width * 3);
    return WM_OK;
}

void viz_sheet_free(VizSheet *s) {
    free(s->rgb);
    memset(s, 0, sizeof *s);
}

int viz_sheet_cell_left(const VizSheet *s, int column) {
    return s->margins.left + s->gap + column * (s->width * s->scale + s->gap);
}

int viz_sheet_cell_top(const VizSheet *s, int row) {
    return s->margins.top + s->gap + row * (s->height * s->scale + s->gap + s->margins.row_band) + s->margins.row_band;
}

void viz_sheet_put(VizSheet *s, int row, int column, const uint8_t *frame) {
    const int top = viz_sheet_cell_top(s, row), left = viz_sheet_cell_left(s, column);
    for (int y = 0; y < s->height * s->scale; y++)
        for (int x = 0; x < s->width * s->scale; x++)
            memcpy(s->rgb + ((size_t)(top + y) * s->sheet_width + left + x) * 3,
                   frame + ((size_t)(y / s->scale) * s->width + x / s->scale) * 3, 3);
}

void viz_sheet_fill(VizSheet *s, int x, int y, int w, int h, const uint8_t color[3]) {
    for (int j = y < 0 ? 0 : y; j < y + h && j < s->sheet_height; j++)
        for (int i = x < 0 ? 0 : x; i < x + w && i < s->sheet_width; i++)
            memcpy(s->rgb + ((size_t)j * s->sheet_width + i) * 3, color, 3);
}

/* Text at (x, baseline y) in `size` pixels: rendered as coverage on an A8 surface, then blended in. */
void viz_sheet_text(VizSheet *s, int x, int y, const char *text, double size, const uint8_t color[3]) {
    cairo_surface_t *measure = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    cairo_t *cr = cairo_create(measure);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, text, &e);
    cairo_destroy(cr);
    cairo_surface_destroy(measure);
    const int w = (int)ceil(e.x_advance + fabs(e.x_bearing)) + 4, h = (int)ceil(size * 1.5) + 2;
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_A8, w, h);
    cr = cairo_create(surface);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    const double baseline = size * 1.1;
    cairo_move_to(cr, 1, baseline);
    cairo_show_text(cr, text);
    cairo_surface_flush(surface);
    const unsigned char *alpha = cairo_image_surface_get_data(surface);
    const int stride = cairo_image_surface_get_stride(surface), top = y - (int)baseline;
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            const int sx = x + i, sy = top + j;
            if (sx < 0 || sy < 0 || sx >= s->sheet_width || sy >= s->sheet_height) continue;
            const float a = alpha[j * stride + i] / 255.0f;
            uint8_t *px = s->rgb + ((size_t)sy * s->sheet_width + sx) * 3;
            for (int c = 0; c < 3; c++) px[c] = (uint8_t)(px[c] * (1.0f - a) + color[c] * a + 0.5f);
        }
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
}

void viz_sheet_row_label(VizSheet *s, int row, const char *text) {
    viz_sheet_text(s, 4, viz_sheet_cell_top(s, row) + s->height * s->scale / 2 + 4, text, 11, VIZ_INK);
}

void viz_sheet_column_label(VizSheet *s, int column, const char *text) {
    viz_sheet_text(s, viz_sheet_cell_left(s, column) + 2, s->margins.top - 4, text, 10, VIZ_INK);
}

/* "hot": black, red, yellow, white as the error grows from 0 to `scale`. */
static void hot(float v, uint8_t *rgb) {
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    const float r = v * 3.0f, g = v * 3.0f - 1.0f, b = v * 3.0f - 2.0f;
    rgb[0] = (uint8_t)(255 * (r > 1 ? 1 : r)), rgb[1] = (uint8_t)(255 * (g < 0 ? 0 : g > 1 ? 1 : g));
    rgb[2] = (uint8_t)(255 * (b < 0 ? 0 : b));
}

void viz_error_heatmap(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t pixels, float scale) {
    for (size_t p = 0; p < pixels; p++) {
        float sum = 0.0f;
        for (int c = 0; c < 3; c++) sum += fabsf((float)a[p * 3 + c] - (float)b[p * 3 + c]);
        hot(sum / (3.0f * 255.0f) / scale, out + p * 3);
    }
}

void viz_sheet_heat_scale(VizSheet *s, int x, int y, int width, float scale) {
    for (int i = 0; i < width; i++) {
        uint8_t color[3];
        hot((float)i / (width - 1), color);
        viz_sheet_fill(s, x + i, y, 1, 10, color);
    }
    char text[64];
    viz_sheet_text(s, x - 2, y + 22, "0", 10, VIZ_INK);
    snprintf(text, sizeof text, "%.2f or more: |truth - model| per pixel, of full scale", scale);
    viz_sheet_text(s, x + width - 14, y + 22, text, 10, VIZ_INK);
}

WmStatus viz_sheet_write(const VizSheet *s, const char *path, WmError *err) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (png_write_rgb(tmp, s->rgb, s->sheet_height, s->sheet_width, err)) return err->status;
    return fs_commit(tmp, path, err);
}
