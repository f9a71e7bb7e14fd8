/* 64-bit FNV-1a: the one hash behind parameter streams' names, dataset fingerprints and the ranks' parameter
 * checksums. Not for security; for telling data apart. */
#ifndef WM_CORE_HASH_H
#define WM_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define WM_FNV1A_START 1469598103934665603ull

/* Continues `hash` over `count` bytes. */
static inline uint64_t hash_fnv1a(uint64_t hash, const void *bytes, size_t count) {
    for (const unsigned char *c = bytes, *end = c + count; c < end; c++) hash = (hash ^ *c) * 1099511628211ull;
    return hash;
}

#endif
