#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/rng.h"

enum { PREFILL_STREAM = 9000 };
static const float GRAD_PREFILL = 0.25f;

void fill_normal(float *x, size_t n, float scale, unsigned stream) {
    WmRng rng = rng_stream(12345, stream);
    rng_fill_normal(&rng, x, n, 0.0f, scale);
}

void fill_uniform(float *x, size_t n, float lo, float hi, unsigned stream) {
    WmRng rng = rng_stream(12345, stream);
    rng_fill_uniform(&rng, x, n);
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * x[i];
}

double max_relative_error(const float *a, const float *b, size_t n) {
    double worst = 0.0, scale = 1e-6;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)a[i] - b[i]);
        if (!(diff <= worst)) worst = diff; /* NaN counts as the worst */
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
    }
    return worst / scale;
}

static double objective(GcProblem *p) {
    p->forward(p->ctx);
    double total = 0.0;
    for (int k = 0; k < p->output_count; k++)
        for (size_t i = 0; i < p->outputs[k].count; i++)
            total += (double)p->outputs[k].grad[i] * p->outputs[k].value[i];
    if (p->scalar != NULL) total += (double)*p->scalar_grad * *p->scalar;
    return total;
}

int gradcheck_run(GcProblem *p, char *report, size_t report_size) {
    for (int k = 0; k < p->output_count; k++) fill_normal(p->outputs[k].grad, p->outputs[k].count, 1.0f, 100 + k);
    if (p->scalar_grad != NULL) *p->scalar_grad = 0.75f;
    for (int k = 0; k < p->input_count; k++)
        for (size_t i = 0; i < p->inputs[k].count; i++) p->inputs[k].grad[i] = GRAD_PREFILL;
    p->forward(p->ctx);
    p->backward(p->ctx);

    int failed = 0, checked = 0;
    double worst_excess = -INFINITY;
    snprintf(report, report_size, "nothing checked");
    for (int k = 0; k < p->input_count; k++) {
        GcInput *in = &p->inputs[k];
        size_t step = 1;
        if (p->max_checks > 0 && in->count > (size_t)p->max_checks) step = in->count / (size_t)p->max_checks;
        for (size_t i = 0; i < in->count; i += step) {
            float saved = in->value[i];
            in->value[i] = (float)(saved + p->eps);
            double plus = objective(p);
            in->value[i] = (float)(saved - p->eps);
            double minus = objective(p);
            in->value[i] = saved;
            double numeric = (plus - minus) / (2.0 * p->eps);
            double analytic = (double)in->grad[i] - GRAD_PREFILL;
            double allowed = p->atol + p->rtol * fmax(fabs(numeric), fabs(analytic));
            double excess = fabs(numeric - analytic) - allowed;
            if (!(excess <= 0.0)) failed = 1;
            if (!(excess <= worst_excess)) {
                worst_excess = isnan(excess) ? INFINITY : excess;
                snprintf(report, report_size, "worst: input '%s' index %zu: numeric %.6g analytic %.6g (allowed %.3g)",
                         in->name, i, numeric, analytic, allowed);
            }
            checked++;
        }
    }
    p->forward(p->ctx); /* leave outputs consistent with the restored inputs */
    if (checked == 0) return 1;
    return failed;
}
