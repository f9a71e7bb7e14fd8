/* exp and expm1 without a libm call, so the loops that use them vectorise (libm's expf and expm1f are a call per
 * element: they were most of the GRU gates' time and 8% of an imagination update in ELU). Both reduce x = n ln 2 + r,
 * |r| <= ln 2 / 2 (Cody-Waite: ln 2 in two parts, n times the first exact), take a polynomial in r and scale by 2^n
 * through the exponent bits. tests/test_ops_reference.c holds them to libm's expf and expm1f. */
#ifndef WM_OPS_FAST_MATH_H
#define WM_OPS_FAST_MATH_H

#include <math.h>
#include <stdint.h>

/* r and 2^n for n = round(x / ln 2), rounded without a call: adding and taking away 1.5 x 2^23 rounds to the
 * nearest integer. */
static inline float fast_exp_reduce(float x, float *two_n) {
    const float shifter = 12582912.0f;
    const float n = (x * 1.44269504088896341f + shifter) - shifter;
    union {
        int32_t i;
        float f;
    } scale = {.i = ((int32_t)n + 127) << 23};
    *two_n = scale.f;
    return x - n * 0.693359375f + n * 2.12194440e-4f;
}

/* Within 2 ulp of expf: Cephes' degree-5 polynomial. (It rounds n by floorf, which the callers' AVX-512 and AVX2
 * clones inline.) */
static inline float fast_exp(float x) {
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    const int n = (int)floorf(x * 1.44269504088896341f + 0.5f);
    const float k = (float)n, r = x - k * 0.693359375f + k * 2.12194440e-4f, r2 = r * r;
    const float p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
                      1.6666665459e-1f) * r + 5.0000001201e-1f) * r2 + r + 1.0f;
    union {
        int32_t i;
        float f;
    } two_n = {.i = (n + 127) << 23};
    return p * two_n.f;
}

/* exp(x) - 1 for x <= 0 (ELU's negative side), accurate near 0 where exp(x) - 1 would cancel: expm1(r) by its
 * Taylor series to r^8, then 2^n expm1(r) + (2^n - 1). Below -30 expm1 is -1 in float; x is held there. */
static inline float fast_expm1_nonpositive(float x) {
    x = x < -30.0f ? -30.0f : x;
    float two_n;
    const float r = fast_exp_reduce(x, &two_n);
    const float p = r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 +
                    r * (1.0f / 5040 + r * (1.0f / 40320))))))));
    return two_n * p + (two_n - 1.0f);
}

/* sigmoid and tanh from fast_exp, for the gates and SiLU: its clamp to [-87, 88] leaves them 0, 1 or -1 in float
 * where the argument is held. */
static inline float fast_sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }
static inline float fast_tanh(float x) { return 2.0f / (1.0f + fast_exp(-2.0f * x)) - 1.0f; }

#endif
