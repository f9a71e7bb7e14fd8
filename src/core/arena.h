/* A bump allocator over one aligned block. Activations of a training step live in an arena that is reset at the
 * start of every step, so the hot path never calls malloc. Overflow is loud: the allocation returns NULL and the
 * arena keeps a message naming itself, what was asked and what was left, for the caller to report. */
#ifndef WM_CORE_ARENA_H
#define WM_CORE_ARENA_H

#include <stddef.h>

#include "core/error.h"

#define WM_ALIGN 64 /* one cache line; also what AVX-512 loads like */

typedef struct {
    const char *name;
    unsigned char *base;
    size_t capacity; /* bytes */
    size_t used;     /* bytes, including alignment padding */
    size_t peak;     /* the largest `used` since creation */
    int overflowed;  /* set once an allocation failed; cleared by reset */
    char overflow_message[160];
} WmArena;

WmStatus arena_init(WmArena *arena, const char *name, size_t capacity, WmError *err);
void arena_free(WmArena *arena);
void arena_reset(WmArena *arena);

/* Zero-filled is not promised: callers that need zeros ask for arena_alloc_zero. */
void *arena_alloc(WmArena *arena, size_t bytes);
void *arena_alloc_zero(WmArena *arena, size_t bytes);
float *arena_floats(WmArena *arena, size_t count);

/* Scoped scratch inside a step: rewind to a mark to hand back everything allocated after it. */
static inline size_t arena_mark(const WmArena *arena) { return arena->used; }
static inline void arena_rewind(WmArena *arena, size_t mark) { arena->used = mark; }

/* Reports an earlier overflow as an error (WM_OK when there was none). */
WmStatus arena_check(const WmArena *arena, WmError *err);

/* Memory helpers shared by the arena and the parameter blocks. */
void *wm_aligned_alloc(size_t bytes);
size_t wm_align_up(size_t bytes);

#endif
