/* The core: arenas, the parameter block, the counter-based RNG, deterministic reductions and Adam. */
#include <check.h>

#include "check_run.h"
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/measured_choice.h"
#include "core/params.h"
#include "core/reduce.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "optim/adam.h"

/* One step of three allocations and a scoped scratch: the first step measures, the next runs in one block. */
static void arena_step(WmArena *arena, float **a, float **b, float **c) {
    arena_reset(arena);
    *a = arena_floats(arena, 3), *b = arena_floats(arena, 5);
    const size_t mark = arena_mark(arena);
    ck_assert_ptr_nonnull(arena_alloc(arena, 500));
    arena_rewind(arena, mark);
    ck_assert_uint_eq(arena->used, mark);
    *c = arena_floats(arena, 20);
}

START_TEST(arena_measures_its_first_step_then_holds_it_in_one_block) {
    WmArena arena;
    WmError err = {0};
    arena_init(&arena, "activations");
    float *a, *b, *c;
    arena_step(&arena, &a, &b, &c);
    ck_assert_uint_eq((uintptr_t)a % WM_ALIGN, 0);
    ck_assert_uint_eq((uintptr_t)b % WM_ALIGN, 0);
    ck_assert_uint_eq(arena.peak, 128 + 512); /* a, b and the 500 bytes, each padded to the alignment */
    ck_assert_int_eq(arena.spill_count, 3);   /* measuring: a, b and c, the scratch already handed back */
    arena_step(&arena, &a, &b, &c);
    ck_assert_uint_eq(arena.capacity, 128 + 512);
    ck_assert_int_eq(arena.spill_count, 0);
    ck_assert_ptr_eq((char *)a, (char *)arena.base);
    ck_assert_ptr_eq((char *)b, (char *)a + WM_ALIGN);
    ck_assert_ptr_eq((char *)c, (char *)b + WM_ALIGN);
    /* A longer step than the measured one is served past the block, and the block grows to it at the next reset. */
    ck_assert_ptr_nonnull(arena_alloc(&arena, 2000));
    ck_assert_int_eq(arena_check(&arena, &err), WM_OK);
    ck_assert_uint_eq(arena.peak, 256 + 2048);
    arena_reset(&arena);
    ck_assert_uint_eq(arena.capacity, 256 + 2048);
    ck_assert_uint_eq(arena.used, 0);
    /* More than the machine has is one line naming the arena, and nothing is taken. */
    ck_assert_ptr_null(arena_alloc(&arena, (size_t)1 << 62));
    ck_assert_int_eq(arena_check(&arena, &err), WM_ERR_NOMEM);
    ck_assert_msg(strstr(err.message, "activations needs") && strstr(err.message, "GiB are available"), "%s",
                  err.message);
    ck_assert_uint_eq(arena.used, 0);
    arena_free(&arena);
}
END_TEST

/* A timing trial whose bf16 run takes `bf16_ms` (or fails when negative) against 2 ms in fp32. */
typedef struct {
    double bf16_ms;
    int runs[2];
} FakeTrial;

static WmStatus fake_run(void *ctx, int bf16, WmError *err) {
    FakeTrial *t = ctx;
    t->runs[bf16]++;
    if (bf16 && t->bf16_ms < 0) return wm_error_set(err, WM_ERR_DNNL, "no bf16 here");
    usleep((useconds_t)(1e3 * (bf16 ? t->bf16_ms : 2.0)));
    return WM_OK;
}

START_TEST(measured_choices_pick_the_faster_and_are_cached_per_key) {
    char dir[] = "/tmp/wm-measured-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    setenv("XDG_CACHE_HOME", dir, 1);
    WmError err = {0};
    WmMeasuredPrecision m;
    FakeTrial faster = {.bf16_ms = 0.5}, slower = {.bf16_ms = 6.0}, missing = {.bf16_ms = -1};
    ck_assert_int_eq(measured_precision_time(fake_run, &faster, 3, &m, &err), WM_OK);
    ck_assert(m.bf16 && m.bf16_seconds < m.fp32_seconds && faster.runs[0] == 3 && faster.runs[1] == 3);
    ck_assert_int_eq(measured_precision_time(fake_run, &slower, 3, &m, &err), WM_OK);
    ck_assert(!m.bf16 && m.bf16_seconds > m.fp32_seconds);
    ck_assert_int_eq(measured_precision_time(fake_run, &missing, 3, &m, &err), WM_OK);
    ck_assert(!m.bf16 && m.bf16_seconds == 0.0 && missing.runs[1] == 1); /* tried once, then left out */
    /* The cache: timed once, then read; another key is timed on its own; a put replaces the key's line. */
    FakeTrial first = {.bf16_ms = 0.5};
    ck_assert_int_eq(measured_precision_choose("shape a", fake_run, &first, 2, &m, &err), WM_OK);
    ck_assert(m.bf16 && !m.cached && first.runs[0] == 2);
    FakeTrial again = {.bf16_ms = 6.0};
    ck_assert_int_eq(measured_precision_choose("shape a", fake_run, &again, 2, &m, &err), WM_OK);
    ck_assert(m.bf16 && m.cached && again.runs[0] == 0 && again.runs[1] == 0);
    ck_assert_int_eq(measured_precision_choose("shape b", fake_run, &again, 2, &m, &err), WM_OK);
    ck_assert(!m.bf16 && !m.cached);
    char key[1024], value[64];
    measured_choice_key(key, sizeof key, "shape a");
    measured_choice_put(key, "fp32 1 2");
    ck_assert(measured_choice_get(key, value, sizeof value) && strcmp(value, "fp32 1 2") == 0);
    measured_choice_key(key, sizeof key, "shape b");
    ck_assert(measured_choice_get(key, value, sizeof value) && strncmp(value, "fp32 ", 5) == 0);
    char path[256], line[2048];
    snprintf(path, sizeof path, "%s/wm/measured_choices.tsv", dir);
    FILE *f = fopen(path, "r");
    int lines = 0;
    while (f && fgets(line, sizeof line, f)) lines++;
    if (f) fclose(f);
    ck_assert_int_eq(lines, 2);
    remove(path);
    snprintf(path, sizeof path, "%s/wm", dir);
    rmdir(path), rmdir(dir);
    unsetenv("XDG_CACHE_HOME");
}
END_TEST

START_TEST(params_share_aligned_blocks) {
    WmParams params;
    WmError err = {0};
    params_init(&params);
    int shape_a[] = {3, 5}, shape_b[] = {7};
    int a = params_declare(&params, "encoder.conv1.weight", 2, shape_a, &err);
    int b = params_declare(&params, "encoder.conv1.bias", 1, shape_b, &err);
    ck_assert_int_eq(a, 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(params_declare(&params, "encoder.conv1.bias", 1, shape_b, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "declared twice"));
    WmError fresh = {0};
    ck_assert_int_eq(params_allocate(&params, &fresh), WM_OK);
    ck_assert_uint_eq(params.infos[b].offset % 16, 0);
    ck_assert_uint_eq(params.infos[b].offset, 16);
    ck_assert_uint_eq(params.total, 32);
    ck_assert_int_eq(params_find(&params, "encoder.conv1.bias"), 1);
    ck_assert_int_eq(params_find(&params, "nothing"), -1);
    ck_assert_ptr_eq(params_grad(&params, b), params.grad + 16);
    for (size_t i = 0; i < params.total; i++) ck_assert_float_eq(params.value[i], 0.0f);
    params_free(&params);
}
END_TEST

/* Known answers from the Philox paper's reference implementation (Random123 kat_vectors). */
START_TEST(rng_philox_known_answers) {
    static const uint32_t cases[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
         0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
         0x24126ea1},
    };
    for (int c = 0; c < 3; c++) {
        uint32_t out[4];
        rng_philox4x32(cases[c], cases[c] + 4, out);
        for (int j = 0; j < 4; j++) ck_assert_uint_eq(out[j], cases[c][6 + j]);
    }
}
END_TEST

START_TEST(rng_streams_are_reproducible_and_thread_independent) {
    enum { N = 200003 };
    float *one = malloc(N * sizeof *one), *two = malloc(N * sizeof *two), *other = malloc(N * sizeof *other);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    WmRng rng = rng_stream(7, 3);
    rng_fill_normal(&rng, one, N, 0.0f, 1.0f);
    omp_set_num_threads(threads > 1 ? threads : 2);
    rng = rng_stream(7, 3);
    rng_fill_normal(&rng, two, N, 0.0f, 1.0f);
    omp_set_num_threads(threads);
    ck_assert_int_eq(memcmp(one, two, N * sizeof *one), 0);
    ck_assert_uint_eq(rng.counter, (N + 1) / 2);

    WmRng next = rng_stream(7, 4);
    rng_fill_normal(&next, other, N, 0.0f, 1.0f);
    int same = 0;
    for (int i = 0; i < N; i++) same += one[i] == other[i];
    ck_assert_int_lt(same, 10);

    double mean = 0.0, var = 0.0;
    for (int i = 0; i < N; i++) mean += one[i];
    mean /= N;
    for (int i = 0; i < N; i++) var += (one[i] - mean) * (one[i] - mean);
    var /= N;
    ck_assert_double_lt(fabs(mean), 0.01);
    ck_assert_double_lt(fabs(var - 1.0), 0.02);

    /* Drawing in two pieces continues the stream: the counter is the whole state. */
    WmRng whole = rng_stream(9, 0), pieces = rng_stream(9, 0);
    rng_fill_uniform(&whole, one, 1000);
    rng_fill_uniform(&pieces, two, 400);
    rng_fill_uniform(&pieces, two + 400, 600);
    ck_assert_int_eq(memcmp(one, two, 1000 * sizeof *one), 0);
    for (int i = 0; i < 1000; i++) ck_assert(one[i] >= 0.0f && one[i] < 1.0f);

    int counts[10] = {0};
    WmRng ints = rng_stream(1, 1);
    for (int i = 0; i < 10000; i++) counts[rng_below(&ints, 10)]++;
    for (int k = 0; k < 10; k++) ck_assert_int_gt(counts[k], 850);
    free(one), free(two), free(other);
}
END_TEST

START_TEST(reduction_is_thread_count_independent) {
    enum { N = 1000001 };
    float *x = malloc(N * sizeof *x);
    WmRng rng = rng_stream(5, 5);
    rng_fill_normal(&rng, x, N, 0.0f, 3.0f);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    double single = reduce_sum_squares(x, N);
    omp_set_num_threads(2);
    double parallel = reduce_sum_squares(x, N);
    omp_set_num_threads(threads);
    ck_assert_int_eq(memcmp(&single, &parallel, sizeof single), 0);
    ck_assert_double_eq_tol(single / N, 9.0, 0.1);
    free(x);
}
END_TEST

/* numpy.quantile([3, -1, 7, 2, 10], [0, 0.05, 0.5, 0.95, 1]) = [-1, -0.4, 3, 9.4, 10]; NaN sorts last. */
START_TEST(quantiles_match_numpy) {
    float x[6] = {3, NAN, -1, 7, 2, 10};
    reduce_sort(x, 6);
    ck_assert(isnan(x[5]));
    const double q[5] = {0, 0.05, 0.5, 0.95, 1}, expected[5] = {-1, -0.4, 3, 9.4, 10};
    for (int i = 0; i < 5; i++) ck_assert_double_eq_tol(reduce_quantile_sorted(x, 5, q[i]), expected[i], 1e-12);
    const float one = 4.5f;
    ck_assert_double_eq(reduce_quantile_sorted(&one, 1, 0.95), 4.5);
}
END_TEST

/* One step by hand: p = 1, g = 0.5, lr 0.1, betas 0.9 / 0.999, eps 1e-4.
 * m = 0.05, v = 0.00025, m_hat = 0.5, v_hat = 0.25, p' = 1 - 0.1 * 0.5 / (0.5 + 1e-4) = 0.90001999600... */
START_TEST(adam_matches_a_hand_computed_step) {
    WmAdam adam = {.learning_rate = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-4f, .clip_norm = 0.0f};
    float value = 1.0f, m = 0.0f, v = 0.0f, grad = 0.5f;
    adam_update(&adam, &value, &m, &v, &grad, 1, 1.0f);
    ck_assert_float_eq_tol(m, 0.05f, 1e-7f);
    ck_assert_float_eq_tol(v, 0.00025f, 1e-8f); /* (1 - 0.999f) is not exact in fp32 */
    ck_assert_float_eq_tol(value, 0.900019996f, 1e-6f);
    /* Second step, g = -0.25: m = 0.02, v = 0.000312250, m_hat = 0.02/0.19, v_hat = 0.00031225/0.001999 */
    adam.step = 1;
    grad = -0.25f;
    adam_update(&adam, &value, &m, &v, &grad, 1, 1.0f);
    double m_hat = 0.02 / 0.19, v_hat = 0.00031225 / (1.0 - 0.999 * 0.999);
    ck_assert_float_eq_tol(value, 0.900019996f - (float)(0.1 * m_hat / (sqrt(v_hat) + 1e-4)), 1e-6f);
}
END_TEST

START_TEST(adam_clips_by_global_norm) {
    WmParams params;
    WmError err = {0};
    params_init(&params);
    int shape[] = {2};
    params_declare(&params, "a", 1, shape, &err);
    params_declare(&params, "b", 1, shape, &err);
    ck_assert_int_eq(params_allocate(&params, &err), WM_OK);
    float *ga = params_grad(&params, 0), *gb = params_grad(&params, 1);
    ga[0] = 3.0f, gb[1] = 4.0f; /* global norm 5 */
    WmAdam adam = adam_defaults();
    adam.clip_norm = 1.0f;
    double norm = adam_step(&adam, &params);
    ck_assert_double_eq_tol(norm, 5.0, 1e-9);
    ck_assert_int_eq(adam.step, 1);
    /* The first moment holds (1 - beta1) * the clipped gradient. */
    ck_assert_float_eq_tol(params.adam_m[params.infos[0].offset], 0.1f * 0.6f, 1e-7f);
    ck_assert_float_eq_tol(params.adam_m[params.infos[1].offset + 1], 0.1f * 0.8f, 1e-7f);
    /* Step one of Adam moves every parameter with a gradient by about lr, whatever the scale. */
    ck_assert_float_eq_tol(params_value(&params, 0)[0], -1e-3f, 1e-6f);
    ck_assert_float_eq(params_value(&params, 0)[1], 0.0f);
    /* A non-finite gradient updates nothing and is reported through the norm. */
    ga[1] = NAN;
    float before = params_value(&params, 0)[0];
    ck_assert(!isfinite(adam_step(&adam, &params)));
    ck_assert_float_eq(params_value(&params, 0)[0], before);
    ck_assert_int_eq(adam.step, 1);
    params_free(&params);
}
END_TEST

/* DreamerV3's adaptive clipping: a tensor whose gradient is more than agc times its own norm is scaled to that,
 * one under it is not, and a tensor at zero may move by the 1e-3 floor; the step is Adam's on each tensor's own
 * scaled gradient. */
START_TEST(adam_clips_each_tensor_by_its_own_norm) {
    WmParams params;
    WmError err = {0};
    params_init(&params);
    int shape[] = {2};
    for (int i = 0; i < 3; i++) params_declare(&params, i == 0 ? "a" : i == 1 ? "b" : "c", 1, shape, &err);
    ck_assert_int_eq(params_allocate(&params, &err), WM_OK);
    float *a = params_value(&params, 0), *b = params_value(&params, 1);
    a[0] = 3.0f, a[1] = 4.0f; /* norm 5: limit 1.5 */
    b[0] = 10.0f;             /* norm 10: limit 3 */
    float *ga = params_grad(&params, 0), *gb = params_grad(&params, 1), *gc = params_grad(&params, 2);
    ga[0] = 6.0f, ga[1] = 8.0f; /* norm 10 > 1.5: scaled by 0.15 */
    gb[1] = 2.0f;               /* norm 2 < 3: kept */
    gc[0] = 1.0f;               /* norm 1 > 0.3 x 1e-3 */
    WmAdam adam = adam_defaults();
    adam.clip_norm = 0.0f, adam.agc = 0.3f;
    ck_assert_double_eq_tol(adam_step(&adam, &params), sqrt(100.0 + 4.0 + 1.0), 1e-6);
    const float *m = params.adam_m;
    ck_assert_float_eq_tol(m[params.infos[0].offset], 0.1f * 6.0f * 0.15f, 1e-7f);
    ck_assert_float_eq_tol(m[params.infos[0].offset + 1], 0.1f * 8.0f * 0.15f, 1e-7f);
    ck_assert_float_eq_tol(m[params.infos[1].offset + 1], 0.1f * 2.0f, 1e-7f);
    ck_assert_float_eq_tol(m[params.infos[2].offset], 0.1f * 3e-4f, 1e-10f);
    params_free(&params);
}
END_TEST

/* ---- safetensors: one strict check of the header against the file, before any tensor is read ---- */

/* A file of an 8-byte length, `header` padded with spaces to a multiple of 8 (as writers do), and `data_bytes` of
 * data; the length field says `short_by` bytes less than the padded header. */
static const char *write_raw(const char *header, long short_by, size_t data_bytes) {
    static char path[128];
    snprintf(path, sizeof path, "/tmp/wm_test_core_%d.safetensors", (int)getpid());
    FILE *f = fopen(path, "wb");
    const size_t padded = (strlen(header) + 7) / 8 * 8;
    const uint64_t n = padded - (size_t)short_by;
    for (int i = 0; i < 8; i++) fputc((int)(n >> (8 * i)) & 255, f);
    fputs(header, f);
    for (size_t i = strlen(header); i < padded; i++) fputc(' ', f);
    for (size_t i = 0; i < data_bytes; i++) fputc(0, f);
    fclose(f);
    return path;
}

static const char *refusal(const char *header, long header_bytes, size_t data_bytes) {
    static WmError err;
    memset(&err, 0, sizeof err);
    WmSafetensors f;
    if (safetensors_open(&f, write_raw(header, header_bytes, data_bytes), &err) == WM_OK) {
        safetensors_close(&f);
        return NULL;
    }
    return err.message;
}

START_TEST(safetensors_headers_are_checked_against_the_file) {
    /* A good one: two tensors tiling 24 bytes (header padded with spaces to 8). */
    const char *good = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                       "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[16,24]}}";
    ck_assert_msg(refusal(good, 0, 24) == NULL, "%s", refusal(good, 0, 24));
    const struct {
        const char *header;
        long short_by;
        size_t data;
        const char *expected;
    } cases[] = {
        /* rank 5 whose dims multiply to a small count: once a crash in wm info */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,4],\"data_offsets\":[0,16]}}", 0, 16, "rank 5"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 0, 4, "not a whole number"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 0, 8, "not a whole number"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e30],\"data_offsets\":[0,4]}}", 0, 4, "not a whole number"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}", 0, 4,
         "overflows"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 0, 4, "does not fit the shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0, 12, "the file holds 12"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 0, 6, "not aligned"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 0, 8, "starts at byte 4"},
        /* a length a few bytes short, inside the padding: every range shifts */
        {"{      \"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 4, "cover"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"__metadata__\":{\"k\":3}}", 0, 4,
         "not a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *message = refusal(cases[i].header, cases[i].short_by, cases[i].data);
        ck_assert_msg(message != NULL, "case %zu was accepted", i);
        ck_assert_msg(strstr(message, cases[i].expected) != NULL, "case %zu: %s", i, message);
    }
    remove(write_raw("", 0, 0));
}
END_TEST

static Suite *core_suite(void) {
    Suite *suite = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, arena_measures_its_first_step_then_holds_it_in_one_block);
    tcase_add_test(tc, measured_choices_pick_the_faster_and_are_cached_per_key);
    tcase_add_test(tc, params_share_aligned_blocks);
    tcase_add_test(tc, rng_philox_known_answers);
    tcase_add_test(tc, rng_streams_are_reproducible_and_thread_independent);
    tcase_add_test(tc, reduction_is_thread_count_independent);
    tcase_add_test(tc, quantiles_match_numpy);
    tcase_add_test(tc, adam_matches_a_hand_computed_step);
    tcase_add_test(tc, adam_clips_by_global_norm);
    tcase_add_test(tc, adam_clips_each_tensor_by_its_own_norm);
    tcase_add_test(tc, safetensors_headers_are_checked_against_the_file);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return check_run(core_suite()); }
