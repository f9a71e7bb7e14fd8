#include "core/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"

/* Spills smaller than this skip the check against free memory: reading /proc on every small allocation of the
 * measuring step would cost more than they can matter; the block taken at the next reset is checked whole. */
#define SPILL_CHECKED_BYTES ((size_t)1 << 20)

size_t wm_align_up(size_t bytes) { return (bytes + WM_ALIGN - 1) / WM_ALIGN * WM_ALIGN; }

void *wm_aligned_alloc(size_t bytes) {
    /* aligned_alloc wants a multiple of the alignment; an empty block still gets a valid pointer. */
    size_t rounded = wm_align_up(bytes > 0 ? bytes : 1);
    return aligned_alloc(WM_ALIGN, rounded);
}

void arena_init(WmArena *arena, const char *name) {
    memset(arena, 0, sizeof *arena);
    snprintf(arena->name, sizeof arena->name, "%s", name);
}

static void free_spills_from(WmArena *arena, size_t offset) {
    while (arena->spill_count > 0 && arena->spills[arena->spill_count - 1].offset >= offset)
        free(arena->spills[--arena->spill_count].memory);
}

void arena_free(WmArena *arena) {
    free_spills_from(arena, 0);
    free(arena->spills);
    free(arena->base);
    memset(arena, 0, sizeof *arena);
}

static void *fail(WmArena *arena, size_t need, size_t available) {
    if (!arena->failed)
        snprintf(arena->failure_message, sizeof arena->failure_message,
                 "%s needs %.2f GiB more after %.2f GiB; %.2f GiB are available (free memory, or ulimit -v)",
                 arena->name, need / 1073741824.0, arena->used / 1073741824.0, available / 1073741824.0);
    arena->failed = 1;
    return NULL;
}

void arena_reset(WmArena *arena) {
    free_spills_from(arena, 0);
    arena->used = 0;
    arena->failed = 0;
    arena->failure_message[0] = '\0';
    if (arena->peak <= arena->capacity) return;
    free(arena->base);
    arena->capacity = 0;
    if (arena->peak > memory_available() || (arena->base = wm_aligned_alloc(arena->peak)) == NULL) {
        /* Without the block the next step measures again, and its first large spill reports the shortage. */
        arena->base = NULL;
        return;
    }
    arena->capacity = arena->peak;
}

static void *spill(WmArena *arena, size_t need) {
    if (need >= SPILL_CHECKED_BYTES) {
        const size_t available = memory_available();
        if (need > available) return fail(arena, need, available);
    }
    if (arena->spill_count == arena->spill_room) {
        const int room = arena->spill_room ? 2 * arena->spill_room : 64;
        WmArenaSpill *grown = realloc(arena->spills, (size_t)room * sizeof *grown);
        if (grown == NULL) return fail(arena, need, 0);
        arena->spills = grown, arena->spill_room = room;
    }
    void *memory = wm_aligned_alloc(need);
    if (memory == NULL) return fail(arena, need, 0);
    arena->spills[arena->spill_count++] = (WmArenaSpill){memory, arena->used};
    return memory;
}

void *arena_alloc(WmArena *arena, size_t bytes) {
    const size_t need = wm_align_up(bytes);
    const int fits = arena->base != NULL && need <= arena->capacity && arena->used <= arena->capacity - need;
    void *out = fits ? arena->base + arena->used : spill(arena, need);
    if (out == NULL) return NULL;
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

float *arena_optional_floats(WmArena *arena, size_t count) { return count ? arena_floats(arena, count) : NULL; }

void arena_rewind(WmArena *arena, size_t mark) {
    free_spills_from(arena, mark);
    arena->used = mark;
}

WmStatus arena_check(const WmArena *arena, WmError *err) {
    if (!arena->failed) return WM_OK;
    return wm_error_set(err, WM_ERR_NOMEM, "%s", arena->failure_message);
}
