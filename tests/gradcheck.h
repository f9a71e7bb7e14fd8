/* Central-difference gradient checking. The scalar under test is L = sum_k <w_k, out_k> (+ w_s * scalar), with
 * fixed random projections w, so every output element carries gradient. Backward must accumulate: the harness
 * pre-fills every input gradient with a constant and subtracts it afterwards, so an op that overwrites fails. */
#ifndef WM_TESTS_GRADCHECK_H
#define WM_TESTS_GRADCHECK_H

#include <stddef.h>

typedef struct {
    const char *name;
    float *value; /* perturbed in place and restored */
    float *grad;  /* where backward accumulates dL/dvalue */
    size_t count;
} GcInput;

typedef struct {
    float *value;
    float *grad; /* dL/dvalue: the harness fills it with the projection */
    size_t count;
} GcOutput;

typedef struct {
    void *ctx;
    void (*forward)(void *ctx);
    void (*backward)(void *ctx);
    GcInput inputs[8];
    int input_count;
    GcOutput outputs[8];
    int output_count;
    double *scalar;      /* optional: a loss the op returns as a double */
    float *scalar_grad;  /* its dL/dscalar, set by the harness */
    double eps;          /* perturbation */
    double atol, rtol;   /* pass when |numeric - analytic| <= atol + rtol * max(|numeric|, |analytic|) */
    int max_checks;      /* per input: checks an evenly spread subset when the input is larger */
} GcProblem;

/* Returns 0 when every checked element passes. Writes the worst element (input, index, both values) into report
 * either way, so a failing test says where. */
int gradcheck_run(GcProblem *problem, char *report, size_t report_size);

/* Test data helpers: N(0, scale) or U(lo, hi) from a fixed stream. */
void fill_normal(float *x, size_t n, float scale, unsigned stream);
void fill_uniform(float *x, size_t n, float lo, float hi, unsigned stream);
/* max |a - b| / max(max |b|, 1e-6): the relative error of a against a reference b. */
double max_relative_error(const float *a, const float *b, size_t n);

#endif
