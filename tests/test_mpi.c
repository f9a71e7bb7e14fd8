/* Data parallelism over MPI, run by `mpirun -np 2`: two ranks at batch B, each on its own half of a batch, average
 * their gradients and end where one process at batch 2B ends, to floating-point tolerance (the sum's order
 * differs), and the two ranks hold the same parameters bit for bit. Every rank runs the same suite; each also
 * builds the one-process twin at 2B and compares against it. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "core/comm.h"
#include "train/trainer.h"

enum { ACTIONS = 2, BATCH = 2, LENGTH = 4, SIZE = 16 };

static WmComm job; /* joined once in main: MPI may be initialised only once per process */

static void tiny_config(WmConfig *c, int batch) {
    config_defaults(c);
    WmError err = {0};
    static const char *const SETS[] = {"data.height=16", "data.width=16", "model.depth=2", "model.encoder_kernels=[4,4]",
                                       "model.decoder_kernels=[6,6]", "model.deter=8", "model.stoch=4",
                                       "model.hidden=8", "model.reward_units=8", "data.length=4", "run.seed=5"};
    for (size_t i = 0; i < sizeof SETS / sizeof SETS[0]; i++)
        ck_assert_msg(config_set_assignment(c, SETS[i], &err) == WM_OK, "%s", err.message);
    c->data.batch = batch;
}

/* Sequence `column` of the global batch at step `step`: inputs as a function of (column, t, element) alone, so a
 * rank's half and the whole batch see the same numbers. Rows are time-major: row t * B + b. */
static float input_value(int step, int column, int t, size_t element, int salt) {
    const unsigned h = (unsigned)(step * 7919 + column * 104729 + t * 1299709 + salt * 15485863) ^ (unsigned)(element * 2654435761u);
    return (float)((h >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static void fill_input(WmWorldModel *m, int step, int batch, int first_column) {
    const size_t image = (size_t)3 * SIZE * SIZE, S = (size_t)m->rssm.stoch;
    for (int t = 0; t < LENGTH; t++)
        for (int b = 0; b < batch; b++) {
            const size_t row = (size_t)t * batch + b;
            const int column = first_column + b;
            for (size_t i = 0; i < image; i++) m->input.images[row * image + i] = input_value(step, column, t, i, 1);
            for (int a = 0; a < ACTIONS; a++) m->input.actions[row * ACTIONS + a] = input_value(step, column, t, a, 2);
            m->input.rewards[row] = input_value(step, column, t, 0, 3) + 0.5f;
            m->input.continues[row] = 1.0f;
            for (size_t s = 0; s < S; s++) m->input.noise[row * S + s] = 2.0f * input_value(step, column, t, s, 4);
        }
}

static double max_abs(const float *x, size_t n) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(x[i]));
    return worst;
}

static double max_difference(const float *x, const float *y, size_t n) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)x[i] - y[i]));
    return worst;
}

START_TEST(ranks_at_batch_b_match_one_process_at_n_times_b) {
    ck_assert_int_eq(job.size, 2);
    WmConfig part_config, whole_config;
    tiny_config(&part_config, BATCH);
    tiny_config(&whole_config, BATCH * job.size);
    WmTrainer part, whole;
    WmError err = {0};
    ck_assert_msg(trainer_create(&part, &part_config, ACTIONS, 0, &err) == WM_OK, "%s", err.message);
    ck_assert_msg(trainer_create(&whole, &whole_config, ACTIONS, 0, &err) == WM_OK, "%s", err.message);
    trainer_join(&part, &job);
    const WmParams *p = &part.model.params, *q = &whole.model.params;
    ck_assert_int_eq(p->total, q->total);
    ck_assert_int_eq(memcmp(p->value, q->value, p->total * sizeof(float)), 0); /* the same seed, the same start */
    for (int step = 0; step < 3; step++) {
        fill_input(&part.model, step, BATCH, job.rank * BATCH);
        fill_input(&whole.model, step, BATCH * job.size, 0);
        WmLosses a, b;
        ck_assert_msg(trainer_step_on_input(&part, &a, &err) == WM_OK, "%s", err.message);
        ck_assert_msg(trainer_step_on_input(&whole, &b, &err) == WM_OK, "%s", err.message);
        /* The job's loss and gradient are the whole batch's. */
        ck_assert_msg(fabs(a.loss - b.loss) <= 1e-5 * fabs(b.loss), "step %d: loss %.9g against %.9g", step, a.loss,
                      b.loss);
        ck_assert_msg(fabs(a.kl - b.kl) <= 1e-5 * fmax(1.0, fabs(b.kl)), "step %d: kl %.9g against %.9g", step, a.kl, b.kl);
        ck_assert_msg(fabs(part.grad_norm - whole.grad_norm) <= 1e-5 * whole.grad_norm,
                      "step %d: gradient norm %.9g against %.9g", step, part.grad_norm, whole.grad_norm);
        const double scale = max_abs(q->grad, q->total), gap = max_difference(p->grad, q->grad, p->total);
        ck_assert_msg(gap <= 1e-5 * scale, "step %d: gradients differ by %.3g (largest %.3g)", step, gap, scale);
        const double drift = max_difference(p->value, q->value, p->total);
        ck_assert_msg(drift <= 1e-5, "step %d: parameters differ by %.3g", step, drift);
        int same = 0;
        ck_assert(comm_same(&job, trainer_params_checksum(&part), &same, &err) == WM_OK);
        ck_assert_msg(same, "step %d: the ranks' parameters differ", step);
    }
    ck_assert(part.comm.reduce_seconds > 0.0); /* the gradient went through the allreduce */
    trainer_free(&part);
    trainer_free(&whole);
}
END_TEST

/* A rank whose parameters drifted is found at the next check, naming the step. */
START_TEST(a_rank_that_drifts_stops_the_job_at_the_check) {
    WmConfig c;
    tiny_config(&c, BATCH);
    WmTrainer t;
    WmError err = {0};
    ck_assert_msg(trainer_create(&t, &c, ACTIONS, 0, &err) == WM_OK, "%s", err.message);
    trainer_join(&t, &job);
    if (job.rank == 1) t.model.params.value[0] += 1e-3f;
    t.step = WM_SYNC_CHECK_EVERY - 1;
    fill_input(&t.model, 0, BATCH, job.rank * BATCH);
    WmLosses l;
    ck_assert_int_eq(trainer_step_on_input(&t, &l, &err), WM_ERR_NUMERIC);
    char expected[64];
    snprintf(expected, sizeof expected, "step %d: the 2 ranks' parameters differ", WM_SYNC_CHECK_EVERY);
    ck_assert_msg(strstr(err.message, expected) != NULL, "%s", err.message);
    trainer_free(&t);
}
END_TEST

int main(void) {
    WmError err = {0};
    if (comm_join(&job, &err) != WM_OK) {
        fprintf(stderr, "test_mpi: %s\n", err.message);
        return EXIT_FAILURE;
    }
    if (job.size != 2) {
        fprintf(stderr, "test_mpi: run it with mpirun -np 2 (this is rank %d of %d)\n", job.rank, job.size);
        comm_leave(&job);
        return EXIT_FAILURE;
    }
    Suite *suite = suite_create("mpi");
    TCase *tc = tcase_create("data parallel");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ranks_at_batch_b_match_one_process_at_n_times_b);
    tcase_add_test(tc, a_rank_that_drifts_stops_the_job_at_the_check);
    suite_add_tcase(suite, tc);
    const int status = check_run(suite);
    comm_leave(&job);
    return status;
}
