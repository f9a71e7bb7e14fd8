/* Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11). A draw is a pure function of
 * (seed, stream, counter), so element i of a fill is the same number however many threads compute it, and the
 * whole state that a checkpoint must keep is three integers. */
#ifndef WM_CORE_RNG_H
#define WM_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t seed;    /* the Philox key */
    uint64_t stream;  /* the upper half of the 128-bit counter: independent streams for independent uses */
    uint64_t counter; /* the lower half: how many 4-word blocks this stream has used */
} WmRng;

/* Every random stream of a run, by name. A stream's draws follow from (seed, id, counter) alone, so an id must
 * never change once checkpoints exist: these values are part of the checkpoint format. Parameter initialisation
 * takes one stream per tensor, named by a hash of the tensor's name (nets/world_model.c), not from this list. */
typedef enum {
    WM_STREAM_SAMPLE = 2,         /* the replay's batch sampling */
    WM_STREAM_DEQUANTIZE = 3,     /* PlaNet's dequantisation noise on the pixels */
    WM_STREAM_LATENT = 4,         /* the posterior's reparameterisation noise */
    WM_STREAM_PLANNING = 5,       /* the planner's candidate draws */
    WM_STREAM_ENSEMBLE_MEMBERS = 6, /* the random members of ensemble planning (plan.propagation random) */
    WM_STREAM_EXPLORE = 7,        /* the online loop's exploration noise and seed episodes' random actions */
    WM_STREAM_IMAGINE = 8,        /* the actor-critic's imagined actions and latents */
    WM_STREAM_BENCH = 9,          /* benchmarks' inputs */
    WM_STREAM_PROPOSAL = 10,      /* the actor's sampled rollouts that guide a planner */
    WM_STREAM_ENV = 0x656e76,     /* "env": a built-in environment's initial states */
    WM_STREAM_POLICY = 0x706f6c,  /* "pol": wm collect's random policy */
} WmStreamId;

WmRng rng_stream(uint64_t seed, uint64_t stream);
/* Rank r's own copy of a stream in a data-parallel job: rank 0's is rng_stream(seed, stream), so one process runs
 * as it always did; rank r > 0 sets r in bits 40 and up of the stream word, above every id here. */
WmRng rng_stream_for_rank(uint64_t seed, uint64_t stream, int rank);

/* One Philox4x32-10 block: out = philox(counter, key). Exposed for the known-answer test. */
void rng_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/* Uniform in [0, 1), 24 bits of mantissa. Uses ceil(n / 4) blocks. */
void rng_fill_uniform(WmRng *rng, float *out, size_t n);
/* Normal(mean, std) by Box-Muller. Uses ceil(n / 2) blocks. */
void rng_fill_normal(WmRng *rng, float *out, size_t n, float mean, float std);
/* Uniform integers in [0, bound), bound > 0; 64-bit multiply-shift, bias below 2^-32. */
uint32_t rng_below(WmRng *rng, uint32_t bound);

#endif
