#include "data/episode_npz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include <math.h>

#include "core/fs.h"
#include "data/frame_resize.h"
#include "data/npy.h"

/* One entry of the archive, read whole. */
typedef struct {
    unsigned char *bytes;
    size_t size;
    NpyArray array;
    int present;
} NpzEntry;

static WmStatus read_entry(zip_t *zip, const char *path, const char *key, int required, NpzEntry *entry,
                           WmError *err) {
    memset(entry, 0, sizeof *entry);
    char name[64], where[4200];
    snprintf(name, sizeof name, "%s.npy", key);
    snprintf(where, sizeof where, "%s: key '%s'", path, key);
    zip_int64_t index = zip_name_locate(zip, name, 0);
    if (index < 0) {
        if (required) return wm_error_set(err, WM_ERR_FORMAT, "%s: missing key '%s'", path, key);
        return WM_OK;
    }
    zip_stat_t st;
    if (zip_stat_index(zip, (zip_uint64_t)index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return wm_error_set(err, WM_ERR_FORMAT, "%s: cannot stat: %s", where, zip_strerror(zip));
    entry->bytes = malloc(st.size ? st.size : 1);
    if (entry->bytes == NULL) return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", where);
    zip_file_t *file = zip_fopen_index(zip, (zip_uint64_t)index, 0);
    if (file == NULL) return wm_error_set(err, WM_ERR_FORMAT, "%s: cannot open: %s", where, zip_strerror(zip));
    zip_int64_t got = zip_fread(file, entry->bytes, st.size);
    int read_failed = got < 0 || (zip_uint64_t)got != st.size;
    char reason[200];
    snprintf(reason, sizeof reason, "%s", zip_file_strerror(file));
    zip_fclose(file); /* also where a CRC mismatch of a stored entry surfaces */
    if (read_failed) return wm_error_set(err, WM_ERR_FORMAT, "%s: corrupt data: %s", where, reason);
    entry->size = st.size;
    entry->present = 1;
    return npy_parse(entry->bytes, entry->size, where, &entry->array, err);
}

enum { KEY_IMAGE, KEY_ACTION, KEY_REWARD, KEY_DISCOUNT, KEY_IS_FIRST, KEY_IS_TERMINAL, KEY_STATE, KEY_COUNT };
static const char *const KEYS[KEY_COUNT] = {"image",    "action",      "reward", "discount",
                                            "is_first", "is_terminal", "state"};

static WmStatus check_shapes(const char *path, const NpzEntry *entries, WmError *err) {
    const NpyArray *image = &entries[KEY_IMAGE].array;
    if (image->type != NPY_U1 || image->rank != 4 || image->shape[3] != 3)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: key 'image' must be uint8 (T,H,W,3)", path);
    if (image->shape[0] < 1 || image->shape[1] < 1 || image->shape[2] < 1)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: key 'image' is empty", path);
    for (int k = KEY_ACTION; k < KEY_COUNT; k++) {
        const NpyArray *a = &entries[k].array;
        if (!entries[k].present) continue;
        if (a->rank < 1 || a->shape[0] != image->shape[0])
            return wm_error_set(err, WM_ERR_FORMAT, "%s: key '%s' has %ld steps, 'image' has %ld", path, KEYS[k],
                                a->rank ? a->shape[0] : 0L, image->shape[0]);
        if (k == KEY_ACTION && a->rank == 2 && (a->shape[1] < 1 || a->shape[1] > WM_EPISODE_ACTION_MAX))
            return wm_error_set(err, WM_ERR_FORMAT, "%s: key 'action' has %ld actions a step; wm takes 1 to %d", path,
                                a->shape[1], WM_EPISODE_ACTION_MAX);
        if (k == KEY_STATE && a->rank == 2 && (a->shape[1] < 1 || a->shape[1] > WM_EPISODE_STATE_MAX))
            return wm_error_set(err, WM_ERR_FORMAT, "%s: key 'state' has %ld numbers a step; wm takes 1 to %d", path,
                                a->shape[1], WM_EPISODE_STATE_MAX);
        int max_rank = k == KEY_ACTION || k == KEY_STATE ? 2 : 1;
        if (a->rank > max_rank && !(a->rank == 2 && a->shape[1] == 1))
            return wm_error_set(err, WM_ERR_FORMAT, "%s: key '%s' must have rank %d", path, KEYS[k], max_rank);
        if (a->type == NPY_U1 && k != KEY_IS_FIRST && k != KEY_IS_TERMINAL)
            return wm_error_set(err, WM_ERR_FORMAT, "%s: key '%s' must be float32 or float64", path, KEYS[k]);
        for (size_t i = 0; i < a->count; i++) {
            float v = npy_get_float(a, i);
            if (!isfinite(v))
                return wm_error_set(err, WM_ERR_FORMAT, "%s: key '%s', step %zu: %g is not finite", path, KEYS[k],
                                    i / (a->count / (size_t)a->shape[0]), v);
        }
    }
    return WM_OK;
}

WmStatus episode_read_npz(const char *path, WmFrameSize *size, WmEpisode *episode, WmError *err) {
    memset(episode, 0, sizeof *episode);
    int code = 0;
    zip_t *zip = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (zip == NULL) {
        zip_error_t error;
        zip_error_init_with_code(&error, code);
        wm_error_set(err, fs_exists(path) ? WM_ERR_FORMAT : WM_ERR_IO, "%s: not a readable .npz: %s", path,
                     zip_error_strerror(&error));
        zip_error_fini(&error);
        return err->status;
    }
    NpzEntry entries[KEY_COUNT];
    memset(entries, 0, sizeof entries);
    WmStatus status = WM_OK;
    for (int k = 0; k < KEY_COUNT && status == WM_OK; k++)
        status = read_entry(zip, path, KEYS[k], k <= KEY_REWARD, &entries[k], err);
    if (status == WM_OK) status = check_shapes(path, entries, err);
    if (status == WM_OK) {
        const NpyArray *image = &entries[KEY_IMAGE].array, *action = &entries[KEY_ACTION].array;
        int length = (int)image->shape[0], src_h = (int)image->shape[1], src_w = (int)image->shape[2];
        int action_dim = action->rank == 2 ? (int)action->shape[1] : 1;
        const NpyArray *state = entries[KEY_STATE].present ? &entries[KEY_STATE].array : NULL;
        const int state_dim = state == NULL ? 0 : state->rank == 2 ? (int)state->shape[1] : 1;
        int height = size->height ? size->height : src_h, width = size->width ? size->width : src_w;
        status = episode_alloc(episode, length, height, width, action_dim, err);
        if (status == WM_OK) status = episode_alloc_states(episode, state_dim, err);
        if (status == WM_OK) {
            for (size_t i = 0; state && i < state->count; i++) episode->states[i] = npy_get_float(state, i);
            if (height != src_h || width != src_w) size->resized = 1;
            size_t src_frame = (size_t)src_h * src_w * 3;
#pragma omp parallel for schedule(static) if (length > 64)
            for (int t = 0; t < length; t++)
                frame_resize_rgb(episode->frames + (size_t)t * episode_frame_bytes(episode), height, width,
                                 image->data + t * src_frame, src_h, src_w);
            for (size_t i = 0; i < action->count; i++) episode->actions[i] = npy_get_float(action, i);
            for (int t = 0; t < length; t++) {
                episode->rewards[t] = npy_get_float(&entries[KEY_REWARD].array, t);
                if (entries[KEY_DISCOUNT].present) episode->discounts[t] = npy_get_float(&entries[KEY_DISCOUNT].array, t);
                if (entries[KEY_IS_FIRST].present)
                    episode->is_first[t] = npy_get_float(&entries[KEY_IS_FIRST].array, t) != 0.0f;
                if (entries[KEY_IS_TERMINAL].present)
                    episode->is_terminal[t] = npy_get_float(&entries[KEY_IS_TERMINAL].array, t) != 0.0f;
            }
        }
    }
    for (int k = 0; k < KEY_COUNT; k++) free(entries[k].bytes);
    zip_discard(zip);
    if (status != WM_OK) episode_free(episode);
    return status;
}

/* ---- writing ---- */

typedef struct {
    unsigned char *bytes;
    size_t size;
} NpyBuffer;

static WmStatus npy_build(NpyBuffer *out, NpyType type, int rank, const long *shape, const void *data,
                          WmError *err) {
    char header[512];
    size_t header_len = npy_write_header(header, sizeof header, type, rank, shape), count = 1;
    for (int d = 0; d < rank; d++) count *= (size_t)shape[d];
    size_t data_len = count * npy_item_size(type);
    out->bytes = malloc(header_len + data_len);
    if (out->bytes == NULL) return wm_error_set(err, WM_ERR_NOMEM, ".npz writer: out of memory");
    memcpy(out->bytes, header, header_len);
    memcpy(out->bytes + header_len, data, data_len);
    out->size = header_len + data_len;
    return WM_OK;
}

WmStatus episode_write_npz(const char *path, const WmEpisode *e, int compress, WmError *err) {
    if (fs_exists(path)) return wm_error_set(err, WM_ERR_IO, "%s: already exists; not overwriting an episode", path);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    remove(tmp);
    long t = e->length;
    long image_shape[] = {t, e->height, e->width, 3}, action_shape[] = {t, e->action_dim}, step_shape[] = {t},
         state_shape[] = {t, e->state_dim};
    NpyBuffer buffers[KEY_COUNT];
    memset(buffers, 0, sizeof buffers);
    WmStatus status = npy_build(&buffers[KEY_IMAGE], NPY_U1, 4, image_shape, e->frames, err);
    if (status == WM_OK) status = npy_build(&buffers[KEY_ACTION], NPY_F4, 2, action_shape, e->actions, err);
    if (status == WM_OK) status = npy_build(&buffers[KEY_REWARD], NPY_F4, 1, step_shape, e->rewards, err);
    if (status == WM_OK) status = npy_build(&buffers[KEY_DISCOUNT], NPY_F4, 1, step_shape, e->discounts, err);
    if (status == WM_OK) status = npy_build(&buffers[KEY_IS_FIRST], NPY_B1, 1, step_shape, e->is_first, err);
    if (status == WM_OK) status = npy_build(&buffers[KEY_IS_TERMINAL], NPY_B1, 1, step_shape, e->is_terminal, err);
    if (status == WM_OK && e->states) status = npy_build(&buffers[KEY_STATE], NPY_F4, 2, state_shape, e->states, err);

    int code = 0;
    zip_t *zip = status == WM_OK ? zip_open(tmp, ZIP_CREATE | ZIP_TRUNCATE, &code) : NULL;
    if (status == WM_OK && zip == NULL) status = wm_error_set(err, WM_ERR_IO, "%s: cannot create (libzip %d)", tmp, code);
    for (int k = 0; k < KEY_COUNT && status == WM_OK; k++) {
        if (buffers[k].bytes == NULL) continue; /* an episode without states has no 'state' */
        char name[64];
        snprintf(name, sizeof name, "%s.npy", KEYS[k]);
        zip_source_t *source = zip_source_buffer(zip, buffers[k].bytes, buffers[k].size, 0);
        zip_int64_t index = source ? zip_file_add(zip, name, source, ZIP_FL_ENC_UTF_8) : -1;
        if (index < 0) {
            if (source) zip_source_free(source);
            status = wm_error_set(err, WM_ERR_IO, "%s: cannot add %s: %s", tmp, name, zip_strerror(zip));
        } else if (zip_set_file_compression(zip, (zip_uint64_t)index, compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0)) {
            status = wm_error_set(err, WM_ERR_IO, "%s: %s", tmp, zip_strerror(zip));
        }
    }
    if (zip != NULL) {
        if (status == WM_OK && zip_close(zip) != 0) {
            status = wm_error_set(err, WM_ERR_IO, "%s: cannot write: %s", tmp, zip_strerror(zip));
            zip_discard(zip);
        } else if (status != WM_OK) {
            zip_discard(zip);
        }
    }
    for (int k = 0; k < KEY_COUNT; k++) free(buffers[k].bytes);
    if (status == WM_OK) status = fs_commit(tmp, path, err);
    if (status != WM_OK) remove(tmp);
    return status;
}
