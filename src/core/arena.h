/* A bump allocator whose size is measured, not counted. Activations of a step live in an arena that is reset at the
 * start of every step, so the hot path never calls malloc.
 *
 * Nobody tells an arena how big to be. The first step runs through it in a measuring mode: every allocation is its
 * own aligned block, and the arena records the peak of what a single block would have held (the same offsets and
 * padding). The next reset frees those blocks and takes one block of that peak; from then on a step is bump
 * allocation. A later step that asks for more (a longer code path, a larger batch) is served the same way past the
 * end of the block, and the reset after it grows the block to the new peak, so an arena never overflows.
 *
 * Failure is loud and once: an allocation returns NULL and the arena keeps a message naming itself, what was asked
 * and what memory was left, for the caller to report with arena_check. */
#ifndef WM_CORE_ARENA_H
#define WM_CORE_ARENA_H

#include <stddef.h>

#include "core/error.h"

#define WM_ALIGN 64 /* one cache line; also what AVX-512 loads like */

/* An allocation made past the end of the block while measuring, at its offset in the virtual single block. */
typedef struct {
    void *memory;
    size_t offset;
} WmArenaSpill;

typedef struct {
    char name[96];         /* what a step is, for messages ("a step of 16 x 64 frames") */
    unsigned char *base;   /* the block, measured; NULL before the first reset */
    size_t capacity;       /* bytes of the block */
    size_t used;           /* bytes, including alignment padding, as if one block held everything */
    size_t peak;           /* the largest `used` since creation */
    WmArenaSpill *spills;  /* allocations past the block, freed by rewind and reset */
    int spill_count, spill_room;
    int failed;            /* set once an allocation failed; cleared by reset */
    char failure_message[200];
} WmArena;

/* An empty arena; it takes its size from the first step run through it. Never fails. */
void arena_init(WmArena *arena, const char *name);
void arena_free(WmArena *arena);
/* The start of a step: everything allocated is handed back, and the block grows to the peak measured so far. */
void arena_reset(WmArena *arena);

/* Zero-filled is not promised: callers that need zeros ask for arena_alloc_zero. */
void *arena_alloc(WmArena *arena, size_t bytes);
void *arena_alloc_zero(WmArena *arena, size_t bytes);
float *arena_floats(WmArena *arena, size_t count);
/* The same, but NULL for count 0 (a layer that keeps no cache); a failure shows only in arena_check. */
float *arena_optional_floats(WmArena *arena, size_t count);

/* Scoped scratch inside a step: rewind to a mark to hand back everything allocated after it. */
static inline size_t arena_mark(const WmArena *arena) { return arena->used; }
void arena_rewind(WmArena *arena, size_t mark);

/* Reports an earlier failed allocation as an error (WM_OK when there was none). */
WmStatus arena_check(const WmArena *arena, WmError *err);

/* Memory helpers shared by the arena and the parameter blocks. */
void *wm_aligned_alloc(size_t bytes);
size_t wm_align_up(size_t bytes);

#endif
