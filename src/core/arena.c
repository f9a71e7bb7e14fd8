#include "core/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t wm_align_up(size_t bytes) { return (bytes + WM_ALIGN - 1) / WM_ALIGN * WM_ALIGN; }

void *wm_aligned_alloc(size_t bytes) {
    /* aligned_alloc wants a multiple of the alignment; an empty block still gets a valid pointer. */
    size_t rounded = wm_align_up(bytes > 0 ? bytes : 1);
    return aligned_alloc(WM_ALIGN, rounded);
}

WmStatus arena_init(WmArena *arena, const char *name, size_t capacity, WmError *err) {
    memset(arena, 0, sizeof *arena);
    arena->name = name;
    arena->capacity = wm_align_up(capacity);
    arena->base = wm_aligned_alloc(arena->capacity);
    if (arena->base == NULL)
        return wm_error_set(err, WM_ERR_NOMEM, "arena '%s': cannot reserve %zu bytes", name, arena->capacity);
    return WM_OK;
}

void arena_free(WmArena *arena) {
    free(arena->base);
    memset(arena, 0, sizeof *arena);
}

void arena_reset(WmArena *arena) {
    arena->used = 0;
    arena->overflowed = 0;
    arena->overflow_message[0] = '\0';
}

void *arena_alloc(WmArena *arena, size_t bytes) {
    size_t need = wm_align_up(bytes);
    if (need > arena->capacity - arena->used) {
        if (!arena->overflowed)
            snprintf(arena->overflow_message, sizeof arena->overflow_message,
                     "arena '%s' overflow: asked %zu bytes with %zu of %zu free", arena->name, bytes,
                     arena->capacity - arena->used, arena->capacity);
        arena->overflowed = 1;
        return NULL;
    }
    void *out = arena->base + arena->used;
    arena->used += need;
    if (arena->used > arena->peak) arena->peak = arena->used;
    return out;
}

void *arena_alloc_zero(WmArena *arena, size_t bytes) {
    void *out = arena_alloc(arena, bytes);
    if (out != NULL) memset(out, 0, bytes);
    return out;
}

float *arena_floats(WmArena *arena, size_t count) { return arena_alloc(arena, count * sizeof(float)); }

WmStatus arena_check(const WmArena *arena, WmError *err) {
    if (!arena->overflowed) return WM_OK;
    return wm_error_set(err, WM_ERR_NOMEM, "%s", arena->overflow_message);
}
