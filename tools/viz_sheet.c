#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "data/episode_png.h"
#include "viz.h"

WmStatus viz_sheet_init(VizSheet *s, int rows, int columns, int height, int width, WmError *err) {
    memset(s, 0, sizeof *s);
    s->rows = rows, s->columns = columns, s->height = height, s->width = width;
    s->scale = height < 128 ? 2 : 1, s->gap = 2;
    s->sheet_height = rows * (height * s->scale + s->gap) + s->gap;
    s->sheet_width = columns * (width * s->scale + s->gap) + s->gap;
    s->rgb = malloc((size_t)s->sheet_height * s->sheet_width * 3);
    if (s->rgb == NULL) return wm_error_set(err, WM_ERR_NOMEM, "contact sheet: out of memory");
    memset(s->rgb, 255, (size_t)s->sheet_height * s->sheet_width * 3);
    return WM_OK;
}

void viz_sheet_free(VizSheet *s) {
    free(s->rgb);
    memset(s, 0, sizeof *s);
}

void viz_sheet_put(VizSheet *s, int row, int column, const uint8_t *frame) {
    const int top = s->gap + row * (s->height * s->scale + s->gap), left = s->gap + column * (s->width * s->scale + s->gap);
    for (int y = 0; y < s->height * s->scale; y++)
        for (int x = 0; x < s->width * s->scale; x++)
            memcpy(s->rgb + ((size_t)(top + y) * s->sheet_width + left + x) * 3,
                   frame + ((size_t)(y / s->scale) * s->width + x / s->scale) * 3, 3);
}

WmStatus viz_sheet_write(const VizSheet *s, const char *path, WmError *err) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (png_write_rgb(tmp, s->rgb, s->sheet_height, s->sheet_width, err)) return err->status;
    return fs_commit(tmp, path, err);
}
