#include "data/episode.h"

#include <stdlib.h>
#include <string.h>

#include "data/episode_npz.h"
#include "data/episode_png.h"

WmStatus episode_alloc(WmEpisode *e, int length, int height, int width, int action_dim, WmError *err) {
    memset(e, 0, sizeof *e);
    if (length < 1 || height < 1 || width < 1 || action_dim < 0)
        return wm_error_set(err, WM_ERR_ARG, "episode of %d frames of %dx%d, %d actions", length, height, width,
                            action_dim);
    e->length = length, e->height = height, e->width = width, e->action_dim = action_dim;
    e->frames = calloc((size_t)length * height * width * 3, 1);
    e->actions = calloc((size_t)length * (action_dim > 0 ? action_dim : 1), sizeof(float));
    e->rewards = calloc(length, sizeof(float));
    e->discounts = malloc(length * sizeof(float));
    e->is_first = calloc(length, 1);
    e->is_terminal = calloc(length, 1);
    if (!e->frames || !e->actions || !e->rewards || !e->discounts || !e->is_first || !e->is_terminal) {
        episode_free(e);
        return wm_error_set(err, WM_ERR_NOMEM, "episode of %d frames: out of memory", length);
    }
    for (int t = 0; t < length; t++) e->discounts[t] = 1.0f;
    e->is_first[0] = 1;
    return WM_OK;
}

/* realloc of n_old items of `size` to n_new, the new ones zeroed. */
static int grow(void *pointer, size_t size, int n_old, int n_new) {
    void **p = pointer;
    void *bigger = realloc(*p, (size_t)n_new * size);
    if (bigger == NULL) return -1;
    memset((char *)bigger + (size_t)n_old * size, 0, (size_t)(n_new - n_old) * size);
    *p = bigger;
    return 0;
}

WmStatus episode_alloc_states(WmEpisode *e, int state_dim, WmError *err) {
    free(e->states);
    e->states = NULL, e->state_dim = 0;
    if (state_dim < 0 || state_dim > WM_EPISODE_STATE_MAX)
        return wm_error_set(err, WM_ERR_ARG, "a state of %d numbers; wm takes 0 to %d", state_dim,
                            WM_EPISODE_STATE_MAX);
    if (state_dim == 0) return WM_OK;
    e->states = calloc((size_t)e->length * state_dim, sizeof(float));
    if (e->states == NULL)
        return wm_error_set(err, WM_ERR_NOMEM, "states of %d numbers for %d frames: out of memory", state_dim,
                            e->length);
    e->state_dim = state_dim;
    return WM_OK;
}

WmStatus episode_grow(WmEpisode *e, int length, WmError *err) {
    const int old = e->length, A = e->action_dim > 0 ? e->action_dim : 1;
    if (length <= old) return WM_OK;
    if (grow(&e->frames, episode_frame_bytes(e), old, length) || grow(&e->actions, A * sizeof(float), old, length) ||
        grow(&e->rewards, sizeof(float), old, length) || grow(&e->discounts, sizeof(float), old, length) ||
        grow(&e->is_first, 1, old, length) || grow(&e->is_terminal, 1, old, length) ||
        (e->states && grow(&e->states, (size_t)e->state_dim * sizeof(float), old, length)))
        return wm_error_set(err, WM_ERR_NOMEM, "episode of %d frames: out of memory", length);
    for (int t = old; t < length; t++) e->discounts[t] = 1.0f;
    e->length = length;
    return WM_OK;
}

void episode_copy_rows(WmEpisode *e, const WmEpisode *s, int from, int to) {
    if (to <= from) return;
    const size_t rows = (size_t)(to - from), frame = episode_frame_bytes(e), A = (size_t)e->action_dim;
    const size_t S = (size_t)e->state_dim;
    memcpy(e->frames + from * frame, s->frames + from * frame, rows * frame);
    memcpy(e->actions + from * A, s->actions + from * A, rows * A * sizeof(float));
    memcpy(e->rewards + from, s->rewards + from, rows * sizeof(float));
    memcpy(e->discounts + from, s->discounts + from, rows * sizeof(float));
    memcpy(e->is_first + from, s->is_first + from, rows);
    memcpy(e->is_terminal + from, s->is_terminal + from, rows);
    if (S) memcpy(e->states + from * S, s->states + from * S, rows * S * sizeof(float));
}

void episode_free(WmEpisode *e) {
    free(e->frames);
    free(e->actions);
    free(e->rewards);
    free(e->discounts);
    free(e->is_first);
    free(e->is_terminal);
    free(e->states);
    memset(e, 0, sizeof *e);
}

size_t episode_frame_bytes(const WmEpisode *e) { return (size_t)e->height * e->width * 3; }

size_t episode_bytes(const WmEpisode *e) {
    return (size_t)e->length * (episode_frame_bytes(e) + (e->action_dim + e->state_dim + 2) * sizeof(float) + 2);
}

double episode_return(const WmEpisode *e) {
    double total = 0.0;
    for (int t = 1; t < e->length; t++) total += e->rewards[t];
    return total;
}

int episode_path_is_npz(const char *path) {
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".npz") == 0;
}

WmStatus episode_read(const char *path, WmFrameSize *size, WmEpisode *episode, WmError *err) {
    if (episode_path_is_npz(path)) return episode_read_npz(path, size, episode, err);
    return episode_read_png_dir(path, size, episode, err);
}
