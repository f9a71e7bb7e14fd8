#include "data/episode_png.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "data/frame_resize.h"

#define STEPS_FILE "steps.csv"

/* ---- steps.csv ---- */

/* Splits the next line off *cursor: lines end in \n, \r\n or a lone \r (old Mac files). Returns NULL at the end. */
static char *next_line(char **cursor) {
    char *line = *cursor;
    if (line == NULL || *line == '\0') return NULL;
    char *end = line + strcspn(line, "\r\n");
    if (*end == '\0') {
        *cursor = end;
    } else {
        *cursor = end + (end[0] == '\r' && end[1] == '\n' ? 2 : 1);
        *end = '\0';
    }
    return line;
}

static int count_fields(const char *line) {
    int fields = 1;
    for (; *line; line++) fields += *line == ',';
    return fields;
}

/* The columns steps.csv holds: action_0..action_{A-1}, reward, is_first, is_terminal, then state_0..state_{S-1}
 * when the episode carries states. */
typedef struct {
    int action_dim, state_dim;
} StepsColumns;

static int columns_count(const StepsColumns *c) { return c->action_dim + 3 + c->state_dim; }

static void column_name(const StepsColumns *c, int column, char *out, size_t size) {
    if (column < c->action_dim) snprintf(out, size, "action_%d", column);
    else if (column < c->action_dim + 3)
        snprintf(out, size, "%s", (const char *[]){"reward", "is_first", "is_terminal"}[column - c->action_dim]);
    else snprintf(out, size, "state_%d", column - c->action_dim - 3);
}

/* The header fixes A (the columns before reward) and S (the state_ columns after the flags). */
static WmStatus parse_header(const char *path, char *line, StepsColumns *c, WmError *err) {
    const int fields = count_fields(line);
    /* A is where "reward" stands; a header without one is read as actions then the three (the old layout), so the
     * first wrong name is the one reported. */
    int actions = fields - 3, column = 0;
    for (const char *name = line; name != NULL; column++) {
        if (strncmp(name, "reward", 6) == 0 && (name[6] == ',' || name[6] == '\0')) {
            actions = column;
            break;
        }
        name = strchr(name, ',');
        if (name != NULL) name++;
    }
    *c = (StepsColumns){actions, fields - actions - 3};
    if (c->state_dim < 0)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: line 1: header has %d columns, needs at least 3 "
                                                "(reward,is_first,is_terminal)", path, fields);
    if (c->action_dim > WM_EPISODE_ACTION_MAX || c->state_dim > WM_EPISODE_STATE_MAX)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: line 1: %d action and %d state columns; wm takes at most %d "
                            "and %d", path, c->action_dim, c->state_dim, WM_EPISODE_ACTION_MAX, WM_EPISODE_STATE_MAX);
    char *save = NULL, *name = strtok_r(line, ",", &save);
    for (column = 0; column < fields; column++, name = strtok_r(NULL, ",", &save)) {
        char expected[32];
        column_name(c, column, expected, sizeof expected);
        if (name == NULL || strcmp(name, expected) != 0)
            return wm_error_set(err, WM_ERR_FORMAT, "%s: line 1: column %d is '%s', expected '%s'", path, column + 1,
                                name ? name : "", expected);
    }
    return WM_OK;
}

static WmStatus parse_row(const char *path, int line_number, char *line, const StepsColumns *c, float *values,
                          WmError *err) {
    const int fields = count_fields(line), expected = columns_count(c);
    if (fields != expected)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: line %d: %d columns, expected %d", path, line_number, fields,
                            expected);
    char *cursor = line;
    for (int column = 0; column < expected; column++) {
        char *end = NULL;
        errno = 0;
        float value = strtof(cursor, &end);
        if (end == cursor || (*end != ',' && *end != '\0') || errno == ERANGE)
            return wm_error_set(err, WM_ERR_FORMAT, "%s: line %d, column %d: '%.*s' is not a number", path,
                                line_number, column + 1, (int)strcspn(cursor, ","), cursor);
        if (!isfinite(value))
            return wm_error_set(err, WM_ERR_FORMAT, "%s: line %d, column %d: %g is not finite", path, line_number,
                                column + 1, value);
        const int is_flag = column == c->action_dim + 1 || column == c->action_dim + 2;
        if (is_flag && value != 0.0f && value != 1.0f)
            return wm_error_set(err, WM_ERR_FORMAT, "%s: line %d, column %d: a flag must be 0 or 1, not %g", path,
                                line_number, column + 1, value);
        values[column] = value;
        cursor = *end == ',' ? end + 1 : end;
    }
    return WM_OK;
}

/* Reads steps.csv into rows (malloc'd, T x columns). */
static WmStatus read_steps(const char *dir, float **rows, int *row_count, StepsColumns *c, WmError *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, STEPS_FILE);
    char *text = NULL;
    size_t size = 0;
    *rows = NULL, *row_count = 0;
    if (fs_read_all(path, &text, &size, err)) return err->status;
    /* A UTF-8 byte-order mark (spreadsheets write one) is not part of the header. */
    char *cursor = strncmp(text, "\xEF\xBB\xBF", 3) == 0 ? text + 3 : text, *line = next_line(&cursor);
    WmStatus status = line ? parse_header(path, line, c, err)
                           : wm_error_set(err, WM_ERR_FORMAT, "%s: empty file, no header", path);
    const size_t columns = (size_t)columns_count(c);
    int capacity = 0, line_number = 1;
    while (status == WM_OK && (line = next_line(&cursor)) != NULL) {
        line_number++;
        if (*line == '\0') continue; /* a trailing blank line */
        if (*row_count == capacity) {
            capacity = capacity ? 2 * capacity : 1024;
            float *grown = realloc(*rows, (size_t)capacity * columns * sizeof *grown);
            if (grown == NULL) {
                status = wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            *rows = grown;
        }
        status = parse_row(path, line_number, line, c, *rows + (size_t)*row_count * columns, err);
        if (status == WM_OK) (*row_count)++;
    }
    if (status == WM_OK && *row_count == 0) status = wm_error_set(err, WM_ERR_FORMAT, "%s: no rows", path);
    free(text);
    if (status != WM_OK) {
        free(*rows);
        *rows = NULL;
    }
    return status;
}

/* ---- frames ---- */

typedef struct {
    int height, width; /* of the file */
    uint8_t *rgb;      /* malloc'd, height x width x 3 */
    char message[160]; /* empty when decoded */
} DecodedFrame;

/* libpng's own transforms, the values taken as stored: palette and gray expanded to RGB, 16-bit scaled exactly to
 * 8 (v * 255 / 65535, rounded), any gAMA, cHRM, sRGB or iCCP chunk ignored (frames are data, not pictures to
 * colour-correct), and alpha accepted only where every pixel is opaque: a translucent frame is refused, since
 * what lies behind it is not known. CRCs and truncation are checked by libpng. */
typedef struct {
    char *message;
    size_t size;
    jmp_buf jump;
} PngErrors;

static void on_png_error(png_structp png, png_const_charp text) {
    PngErrors *e = png_get_error_ptr(png);
    snprintf(e->message, e->size, "%s", text);
    longjmp(e->jump, 1);
}

static void on_png_warning(png_structp png, png_const_charp text) { (void)png, (void)text; }

static void decode_png(const char *path, DecodedFrame *frame) {
    frame->rgb = NULL;
    frame->message[0] = '\0';
    FILE *in = fopen(path, "rb");
    if (in == NULL) {
        snprintf(frame->message, sizeof frame->message, "cannot open: %s", strerror(errno));
        return;
    }
    PngErrors errors = {.message = frame->message, .size = sizeof frame->message};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &errors, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    /* volatile: assigned after setjmp and freed after a longjmp from libpng */
    uint8_t *volatile rgba = NULL;
    png_bytep *volatile rows = NULL;
    if (png == NULL || info == NULL) {
        snprintf(frame->message, sizeof frame->message, "out of memory");
        goto done;
    }
    if (setjmp(errors.jump)) goto fail;
    png_init_io(png, in);
    png_set_user_limits(png, 8192, 8192); /* a frame, not a poster: refuses decompression bombs early */
    png_read_info(png, info);
    const png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    const int color = png_get_color_type(png, info);
    png_set_scale_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if ((color == PNG_COLOR_TYPE_GRAY) && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER); /* RGBA either way; alpha checked below */
    png_read_update_info(png, info);
    rgba = malloc((size_t)width * height * 4);
    rows = malloc(sizeof *rows * height);
    if (rgba == NULL || rows == NULL) {
        snprintf(frame->message, sizeof frame->message, "out of memory for %ux%u", (unsigned)width, (unsigned)height);
        goto done;
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = rgba + (size_t)y * width * 4;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    frame->rgb = malloc((size_t)width * height * 3);
    if (frame->rgb == NULL) {
        snprintf(frame->message, sizeof frame->message, "out of memory");
        goto done;
    }
    for (size_t p = 0; p < (size_t)width * height; p++) {
        if (rgba[p * 4 + 3] != 255) {
            snprintf(frame->message, sizeof frame->message,
                     "pixel (%zu, %zu) is translucent (alpha %d): frames must be opaque", p % width, p / width,
                     rgba[p * 4 + 3]);
            goto fail;
        }
        memcpy(frame->rgb + p * 3, rgba + p * 4, 3);
    }
    frame->height = (int)height, frame->width = (int)width;
    goto done;
fail:
    free(frame->rgb);
    frame->rgb = NULL;
done:
    png_destroy_read_struct(&png, &info, NULL);
    free(rgba), free(rows);
    fclose(in);
}

WmStatus frame_read_png(const char *path, uint8_t **rgb, int *height, int *width, WmError *err) {
    DecodedFrame frame;
    decode_png(path, &frame);
    if (frame.rgb == NULL) return wm_error_set(err, WM_ERR_FORMAT, "%s: %s", path, frame.message);
    *rgb = frame.rgb, *height = frame.height, *width = frame.width;
    return WM_OK;
}

static void frame_path(char *out, size_t size, const char *dir, int t) {
    snprintf(out, size, "%s/frame_%06d.png", dir, t);
}

WmStatus episode_read_png_dir(const char *dir, WmFrameSize *size, WmEpisode *episode, WmError *err) {
    memset(episode, 0, sizeof *episode);
    float *rows = NULL;
    int length = 0;
    StepsColumns columns = {0, 0};
    if (!fs_is_dir(dir)) return wm_error_set(err, WM_ERR_IO, "%s: not a directory", dir);
    if (read_steps(dir, &rows, &length, &columns, err)) return err->status;
    const int action_dim = columns.action_dim;

    char path[4096];
    frame_path(path, sizeof path, dir, length);
    if (fs_exists(path)) {
        free(rows);
        return wm_error_set(err, WM_ERR_FORMAT, "%s: frame_%06d.png exists but %s has %d rows", dir, length,
                            STEPS_FILE, length);
    }
    /* The first frame fixes the episode's size; the rest must match it. */
    DecodedFrame first;
    frame_path(path, sizeof path, dir, 0);
    decode_png(path, &first);
    if (first.rgb == NULL) {
        free(rows);
        return wm_error_set(err, WM_ERR_FORMAT, "%s: frame 0: %s", path, first.message);
    }
    int height = size->height ? size->height : first.height, width = size->width ? size->width : first.width;
    if (episode_alloc(episode, length, height, width, action_dim, err) ||
        episode_alloc_states(episode, columns.state_dim, err)) {
        free(rows), free(first.rgb), episode_free(episode);
        return err->status;
    }
    int failed_frame = -1; /* the lowest failing frame wins, so the message does not depend on thread timing */
    char failure[320] = "";
#pragma omp parallel for schedule(dynamic, 16)
    for (int t = 0; t < length; t++) {
        DecodedFrame frame = first;
        char my_path[4096];
        frame_path(my_path, sizeof my_path, dir, t);
        if (t > 0) decode_png(my_path, &frame);
        char message[320] = "";
        if (frame.rgb == NULL) {
            snprintf(message, sizeof message, "%.200s: frame %d: %.80s", my_path, t, frame.message);
        } else if (frame.height != first.height || frame.width != first.width) {
            snprintf(message, sizeof message, "%.200s: frame %d is %dx%d, frame 0 is %dx%d", my_path, t, frame.width,
                     frame.height, first.width, first.height);
        } else {
            frame_resize_rgb(episode->frames + (size_t)t * episode_frame_bytes(episode), height, width, frame.rgb,
                             frame.height, frame.width);
        }
        if (message[0] != '\0') {
#pragma omp critical(episode_png_failure)
            if (failed_frame < 0 || t < failed_frame) {
                failed_frame = t;
                snprintf(failure, sizeof failure, "%s", message);
            }
        }
        if (t > 0) free(frame.rgb);
    }
    if (first.height != height || first.width != width) size->resized = 1;
    free(first.rgb);
    if (failed_frame >= 0) {
        free(rows);
        episode_free(episode);
        return wm_error_set(err, WM_ERR_FORMAT, "%s", failure);
    }
    const int S = columns.state_dim;
    for (int t = 0; t < length; t++) {
        const float *row = rows + (size_t)t * columns_count(&columns);
        memcpy(episode->actions + (size_t)t * action_dim, row, action_dim * sizeof(float));
        episode->rewards[t] = row[action_dim];
        episode->is_first[t] = row[action_dim + 1] != 0.0f;
        episode->is_terminal[t] = row[action_dim + 2] != 0.0f;
        episode->discounts[t] = episode->is_terminal[t] ? 0.0f : 1.0f;
        if (S) memcpy(episode->states + (size_t)t * S, row + action_dim + 3, (size_t)S * sizeof(float));
    }
    free(rows);
    return WM_OK;
}

/* ---- writing ---- */

WmStatus png_write_rgb(const char *path, const uint8_t *rgb, int height, int width, WmError *err) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width, image.height = (png_uint_32)height;
    image.format = PNG_FORMAT_RGB;
    FILE *f = fopen(path, "wb");
    if (f == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int ok = png_image_write_to_stdio(&image, f, 0, rgb, 0, NULL);
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0) ok = 0;
    if (!ok) return wm_error_set(err, WM_ERR_IO, "%s: cannot write PNG: %s", path, image.message[0] ? image.message
                                                                                                   : strerror(errno));
    return WM_OK;
}

static WmStatus write_steps(const char *path, const WmEpisode *e, WmError *err) {
    FILE *f = fopen(path, "w");
    if (f == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    const StepsColumns columns = {e->action_dim, e->state_dim};
    for (int column = 0; column < columns_count(&columns); column++) {
        char name[32];
        column_name(&columns, column, name, sizeof name);
        fprintf(f, "%s%s", column ? "," : "", name);
    }
    fprintf(f, "\n");
    for (int t = 0; t < e->length; t++) {
        /* %.9g round-trips every float exactly. */
        for (int a = 0; a < e->action_dim; a++) fprintf(f, "%.9g,", e->actions[(size_t)t * e->action_dim + a]);
        fprintf(f, "%.9g,%d,%d", e->rewards[t], e->is_first[t], e->is_terminal[t]);
        for (int i = 0; i < e->state_dim; i++) fprintf(f, ",%.9g", e->states[(size_t)t * e->state_dim + i]);
        fprintf(f, "\n");
    }
    int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0) ok = 0;
    if (!ok) return wm_error_set(err, WM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return WM_OK;
}

WmStatus episode_write_png_dir(const char *dir, const WmEpisode *e, WmError *err) {
    if (fs_exists(dir)) return wm_error_set(err, WM_ERR_IO, "%s: already exists; not overwriting an episode", dir);
    char tmp[4096], path[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", dir);
    fs_remove_shallow(tmp); /* a leftover of a crash: never a finished episode, which has no .tmp */
    if (mkdir(tmp, 0777) != 0) return wm_error_set(err, WM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    WmStatus status = WM_OK;
    WmError frame_err = {0};
#pragma omp parallel for schedule(dynamic, 16)
    for (int t = 0; t < e->length; t++) {
        char my_path[4096];
        WmError my_err = {0};
        frame_path(my_path, sizeof my_path, tmp, t);
        if (png_write_rgb(my_path, e->frames + (size_t)t * episode_frame_bytes(e), e->height, e->width, &my_err)) {
#pragma omp critical(episode_png_write)
            wm_error_set(&frame_err, my_err.status, "%s", my_err.message);
        }
    }
    if (frame_err.status) status = wm_error_set(err, frame_err.status, "%s", frame_err.message);
    snprintf(path, sizeof path, "%s/%s", tmp, STEPS_FILE);
    if (status == WM_OK) status = write_steps(path, e, err);
    if (status == WM_OK) status = fs_commit(tmp, dir, err);
    if (status != WM_OK) fs_remove_shallow(tmp);
    return status;
}
