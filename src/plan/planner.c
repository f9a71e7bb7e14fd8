#define _GNU_SOURCE /* qsort_r: sorting indices by a return array without a global */
#include "plan/planner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

WmStatus planner_init(WmPlanner *p, const WmPlanSettings *s, WmError *err) {
    memset(p, 0, sizeof *p);
    p->settings = *s;
    if (s->kind == WM_PLAN_ACTOR) return wm_error_set(err, WM_ERR_ARG, "planner: the actor acts without a search");
    if (s->horizon < 1 || s->candidates < 1 || s->iterations < 1 || s->action_dim < 1 || s->top_k < 1 ||
        s->top_k > s->candidates)
        return wm_error_set(err, WM_ERR_ARG, "planner: horizon %d, %d candidates, top %d, %d iterations", s->horizon,
                            s->candidates, s->top_k, s->iterations);
    const size_t plan = (size_t)s->horizon * s->action_dim, all = plan * s->candidates;
    p->mean = calloc(plan, sizeof *p->mean);
    p->std = calloc(plan, sizeof *p->std);
    p->candidates = malloc(all * sizeof *p->candidates);
    p->noise = malloc(all * sizeof *p->noise);
    p->returns = malloc((size_t)s->candidates * sizeof *p->returns);
    if (p->settings.members < 1) p->settings.members = 1;
    p->member_returns = malloc((size_t)s->candidates * p->settings.members * sizeof *p->member_returns);
    p->order = malloc((size_t)s->candidates * sizeof *p->order);
    if (!p->mean || !p->std || !p->candidates || !p->noise || !p->returns || !p->member_returns || !p->order) {
        planner_free(p);
        return wm_error_set(err, WM_ERR_NOMEM, "planner: out of memory for %d candidates", s->candidates);
    }
    return WM_OK;
}

void planner_free(WmPlanner *p) {
    free(p->mean), free(p->std), free(p->candidates), free(p->noise), free(p->returns), free(p->order);
    free(p->member_returns);
    memset(p, 0, sizeof *p);
}

void planner_reset(WmPlanner *p) { p->has_plan = 0; }

static float clip(float a) { return a < -1.0f ? -1.0f : a > 1.0f ? 1.0f : a; }

/* For qsort_r over indices: NaN sorts last, so it is never among the best. */
static int by_return_descending(const void *a, const void *b, void *returns) {
    const float x = ((const float *)returns)[*(const int *)a], y = ((const float *)returns)[*(const int *)b];
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
    return (x < y) - (x > y);
}

/* Each candidate's score from its K returns: mean - lambda_var x variance (K = 1: the return itself). */
static void score(WmPlanner *p) {
    const int count = p->settings.candidates, K = p->settings.members;
    for (int n = 0; n < count; n++) {
        double sum = 0.0, sq = 0.0;
        for (int k = 0; k < K; k++) {
            const double r = p->member_returns[(size_t)k * count + n];
            sum += r, sq += r * r;
        }
        const double mean = sum / K, var = K > 1 ? sq / K - mean * mean : 0.0;
        p->returns[n] = (float)(mean - p->settings.variance_penalty * (var > 0 ? var : 0));
    }
}

void planner_set_proposal(WmPlanner *p, WmPlanProposal propose, void *ctx, int count) {
    p->propose = propose, p->propose_ctx = ctx;
    p->proposals = count < p->settings.candidates ? count : p->settings.candidates - 1;
}

WmStatus planner_act(WmPlanner *p, WmPlanObjective objective, void *ctx, WmRng *rng, float *action, WmError *err) {
    const WmPlanSettings *s = &p->settings;
    const int count = s->candidates, A = s->action_dim;
    const size_t plan = (size_t)s->horizon * A;
    /* The starting distribution: zero mean, or the last plan shifted by a step (its last action repeated). */
    if (p->has_plan && s->kind != WM_PLAN_SHOOTING) {
        memmove(p->mean, p->mean + A, (plan - A) * sizeof *p->mean);
    } else {
        memset(p->mean, 0, plan * sizeof *p->mean);
    }
    for (size_t j = 0; j < plan; j++) p->std[j] = s->init_std;
    const int iterations = s->kind == WM_PLAN_SHOOTING ? 1 : s->iterations;
    int best = -1;
    for (int it = 0; it < iterations; it++) {
        if (s->kind == WM_PLAN_SHOOTING) {
            rng_fill_uniform(rng, p->candidates, plan * count);
            for (size_t j = 0; j < plan * count; j++) p->candidates[j] = 2.0f * p->candidates[j] - 1.0f;
        } else {
            /* The proposals fill the first candidates once per decision and stay there for every iteration: they
             * start from the same state each time, and drawing them anew cost as much as the search (TD-MPC2 draws
             * its policy's trajectories once per decision too). */
            const int kept = it > 0 && p->propose ? p->proposals : 0;
            rng_fill_normal(rng, p->noise, plan * count, 0.0f, 1.0f);
            for (int n = kept; n < count; n++)
                for (size_t j = 0; j < plan; j++)
                    p->candidates[n * plan + j] = clip(p->mean[j] + p->std[j] * p->noise[n * plan + j]);
        }
        if (p->propose && it == 0 && p->propose(p->propose_ctx, p->candidates, p->proposals, err)) return err->status;
        if (objective(ctx, p->candidates, count, p->member_returns, err)) return err->status;
        score(p);
        best = -1;
        for (int n = 0; n < count; n++)
            if (!isnan(p->returns[n]) && (best < 0 || p->returns[n] > p->returns[best])) best = n;
        if (best < 0) return wm_error_set(err, WM_ERR_NUMERIC, "planner: every candidate's return is NaN");
        p->last_best = p->returns[best];
        if (s->kind == WM_PLAN_CEM) {
            for (int n = 0; n < count; n++) p->order[n] = n;
            qsort_r(p->order, (size_t)count, sizeof *p->order, by_return_descending, p->returns);
            const int k = s->top_k;
            for (size_t j = 0; j < plan; j++) {
                double sum = 0.0, sq = 0.0;
                for (int i = 0; i < k; i++) {
                    const double a = p->candidates[(size_t)p->order[i] * plan + j];
                    sum += a, sq += a * a;
                }
                const double mean = sum / k, var = sq / k - mean * mean;
                p->mean[j] = (float)mean, p->std[j] = (float)sqrt(var > 0 ? var : 0);
            }
        } else if (s->kind == WM_PLAN_MPPI) {
            const double top = p->returns[best];
            double total = 0.0;
            for (int n = 0; n < count; n++) {
                const double w = isnan(p->returns[n]) ? 0.0 : exp((p->returns[n] - top) / s->mppi_lambda);
                p->returns[n] = (float)w; /* reused as the weights */
                total += w;
            }
            for (size_t j = 0; j < plan; j++) {
                double sum = 0.0;
                for (int n = 0; n < count; n++) sum += p->returns[n] * p->candidates[(size_t)n * plan + j];
                p->mean[j] = clip((float)(sum / total));
            }
        }
    }
    if (s->kind == WM_PLAN_SHOOTING) memcpy(p->mean, p->candidates + (size_t)best * plan, plan * sizeof *p->mean);
    for (int a = 0; a < A; a++) action[a] = clip(p->mean[a]);
    p->has_plan = 1;
    return WM_OK;
}
