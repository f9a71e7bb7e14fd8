#include "core/rng.h"

#include <math.h>

enum { PHILOX_ROUNDS = 10 };
static const uint32_t PHILOX_M0 = 0xD2511F53u, PHILOX_M1 = 0xCD9E8D57u;
static const uint32_t PHILOX_W0 = 0x9E3779B9u, PHILOX_W1 = 0xBB67AE85u;

WmRng rng_stream(uint64_t seed, uint64_t stream) {
    WmRng rng = {seed, stream, 0};
    return rng;
}

WmRng rng_stream_for_rank(uint64_t seed, uint64_t stream, int rank) {
    return rng_stream(seed, stream | (uint64_t)rank << 40);
}

void rng_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < PHILOX_ROUNDS; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

static void rng_block(const WmRng *rng, uint64_t block, uint32_t out[4]) {
    uint32_t counter[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)rng->stream,
                           (uint32_t)(rng->stream >> 32)};
    uint32_t key[2] = {(uint32_t)rng->seed, (uint32_t)(rng->seed >> 32)};
    rng_philox4x32(counter, key, out);
}

static float unit_open_closed(uint32_t word) { return ((float)(word >> 8) + 1.0f) * 0x1p-24f; } /* (0, 1] */

void rng_fill_uniform(WmRng *rng, float *out, size_t n) {
    size_t blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t b = 0; b < blocks; b++) {
        uint32_t words[4];
        rng_block(rng, rng->counter + b, words);
        for (size_t j = 0; j < 4 && 4 * b + j < n; j++) out[4 * b + j] = (float)(words[j] >> 8) * 0x1p-24f;
    }
    rng->counter += blocks;
}

void rng_fill_normal(WmRng *rng, float *out, size_t n, float mean, float std) {
    size_t blocks = (n + 1) / 2;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t b = 0; b < blocks; b++) {
        uint32_t words[4];
        rng_block(rng, rng->counter + b, words);
        for (size_t j = 0; j < 2 && 2 * b + j < n; j++) {
            double radius = sqrt(-2.0 * log((double)unit_open_closed(words[2 * j])));
            double angle = 2.0 * M_PI * (double)(words[2 * j + 1] >> 8) * 0x1p-24;
            out[2 * b + j] = mean + std * (float)(radius * cos(angle));
        }
    }
    rng->counter += blocks;
}

uint32_t rng_below(WmRng *rng, uint32_t bound) {
    uint32_t words[4];
    rng_block(rng, rng->counter++, words);
    uint64_t wide = ((uint64_t)words[0] << 32) | words[1];
    return (uint32_t)(((unsigned __int128)wide * bound) >> 64);
}
