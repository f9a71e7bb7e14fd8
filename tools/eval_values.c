/* wm eval --values: the value and the imagined rewards against the real episode (eval_values.h). */
#include "eval_values.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "ops/concat.h"

WmStatus eval_values_open(EvalValues *v, WmRunAgent *acting, const char *run, const char *checkpoint,
                          const char *path, WmError *err) {
    memset(v, 0, sizeof *v);
    arena_init(&v->arena, "the value and the reward head over an episode");
    if (run_agent_load_value(acting, run, checkpoint, err)) return err->status;
    v->agent = &acting->agent, v->value = &acting->value;
    v->horizon = (int)acting->config.actor.horizon, v->gamma = (float)acting->config.actor.gamma;
    if (plan_model_init(&v->imagination, &acting->model, 1, v->horizon, 0, 0, (uint64_t)acting->config.run.seed, err))
        return err->status;
    const size_t length = strlen(path) + 5;
    v->path = malloc(length), v->tmp = malloc(length);
    if (!v->path || !v->tmp) return wm_error_set(err, WM_ERR_NOMEM, "out of memory");
    snprintf(v->path, length, "%s", path);
    snprintf(v->tmp, length, "%s.tmp", path);
    if ((v->csv = fopen(v->tmp, "w")) == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot create", v->tmp);
    fprintf(v->csv, "episode,t,reward,reward_head,value,target,imagined,real\n");
    return WM_OK;
}

WmStatus eval_values_record(EvalValues *v, WmError *err) {
    const int D = v->agent->model->rssm.deter, S = v->agent->model->rssm.stoch;
    if (v->decisions == v->room) {
        const int room = v->room ? 2 * v->room : 256;
        float *h = realloc(v->h, (size_t)room * D * sizeof *h);
        if (h) v->h = h;
        float *z = realloc(v->z, (size_t)room * S * sizeof *z);
        if (z) v->z = z;
        if (!h || !z) return wm_error_set(err, WM_ERR_NOMEM, "out of memory for the episode's states");
        v->room = room;
    }
    memcpy(v->h + (size_t)v->decisions * D, v->agent->h, (size_t)D * sizeof *v->h);
    memcpy(v->z + (size_t)v->decisions * S, v->agent->z, (size_t)S * sizeof *v->z);
    v->decisions++;
    return WM_OK;
}

static void pair_add(EvalPair *p, double x, double y) {
    p->n += 1, p->x += x, p->y += y, p->xx += x * x, p->yy += y * y, p->xy += x * y;
}

/* An MLP head on the features of every recorded state, read as one number per state (NULL on failure). */
static const float *head_on_states(EvalValues *v, const WmMlp *net, const WmParams *params, const WmRegression *out,
                                   const float *features, WmError *err) {
    float *outs[WM_MLP_LAYERS_MAX];
    if (mlp_forward(net, params, &v->arena, outs, features, v->decisions, err)) return NULL;
    const float *numbers = regression_read(out, &v->arena, outs[net->count - 1], v->decisions);
    if (numbers == NULL) arena_check(&v->arena, err);
    return numbers;
}

/* v(s_t) and the reward head's r(s_t) for every recorded state, from the arena. */
static WmStatus heads_of_states(EvalValues *v, const float **values, const float **rewards, WmError *err) {
    const WmWorldModel *m = v->agent->model;
    const int D = m->rssm.deter, S = m->rssm.stoch;
    arena_reset(&v->arena);
    float *features = arena_floats(&v->arena, (size_t)v->decisions * (D + S));
    if (features == NULL) return arena_check(&v->arena, err);
    const float *parts[2] = {v->h, v->z};
    const int widths[2] = {D, S};
    concat_forward(features, parts, widths, 2, v->decisions);
    *values = head_on_states(v, &v->value->net, &v->value->params, &v->value->out, features, err);
    if (*values) *rewards = head_on_states(v, &m->reward, &m->params, &m->reward_out, features, err);
    return err->status;
}

/* The reward head's sum over the horizon from state t with the actions taken after it (the members' mean). */
static WmStatus imagined_rewards(EvalValues *v, const WmEpisode *episode, int t, double *sum, WmError *err) {
    const int D = v->agent->model->rssm.deter, S = v->agent->model->rssm.stoch, K = v->imagination.members;
    float returns[WM_RSSM_MEMBERS_MAX];
    plan_model_start(&v->imagination, v->h + (size_t)t * D, v->z + (size_t)t * S);
    if (plan_model_returns(&v->imagination, episode->actions + (size_t)(t + 1) * episode->action_dim, 1, returns, err))
        return err->status;
    *sum = 0.0;
    for (int k = 0; k < K; k++) *sum += returns[k] / K;
    return WM_OK;
}

static void write_field(FILE *csv, int valid, double x) {
    if (valid) fprintf(csv, ",%.6g", x);
    else fputc(',', csv);
}

WmStatus eval_values_episode(EvalValues *v, const WmEpisode *episode, int index, WmError *err) {
    const int n = v->horizon, T = v->decisions;
    const float *values = NULL, *rewards = NULL;
    if (T > 0 && heads_of_states(v, &values, &rewards, err)) return err->status;
    for (int t = 0; t < T; t++) {
        if (t > 0) pair_add(&v->reward_head, rewards[t], episode->rewards[t]);
        /* Decision t chose actions[t + 1] and received rewards[t + 1]. */
        const int has_target = t + n < T, has_real = t + n < episode->length;
        double target = 0.0, real = 0.0, imagined = 0.0, discount = 1.0;
        for (int k = 1; k <= n && has_real; k++) real += episode->rewards[t + k];
        /* v(s_t) holds r_t, the reward on arriving at s_t, as the value's lambda-returns do (train/imagined.h). */
        for (int k = 0; k < n && has_target; k++, discount *= v->gamma) target += discount * episode->rewards[t + k];
        if (has_target) target += discount * values[t + n];
        if (has_real && imagined_rewards(v, episode, t, &imagined, err)) return err->status;
        if (has_target) pair_add(&v->value_target, values[t], target);
        if (has_real) pair_add(&v->imagined_real, imagined, real);
        fprintf(v->csv, "%d,%d,%.6g", index, t, episode->rewards[t]);
        write_field(v->csv, t > 0, rewards[t]);
        write_field(v->csv, 1, values[t]);
        write_field(v->csv, has_target, target);
        write_field(v->csv, has_real, imagined);
        write_field(v->csv, has_real, real);
        fputc('\n', v->csv);
    }
    v->decisions = 0;
    return WM_OK;
}

static void print_pair(const char *x_name, const char *y_name, const EvalPair *p) {
    if (p->n < 2) {
        printf("  %s against %s: fewer than 2 states reach that far\n", x_name, y_name);
        return;
    }
    const double mx = p->x / p->n, my = p->y / p->n, vx = fmax(p->xx / p->n - mx * mx, 0.0),
                 vy = fmax(p->yy / p->n - my * my, 0.0), cov = p->xy / p->n - mx * my,
                 mse = fmax((p->xx - 2.0 * p->xy + p->yy) / p->n, 0.0);
    printf("  %s: mean %.3f, std across states %.3f; %s: mean %.3f, std %.3f; correlation %.3f, RMS error %.3f\n",
           x_name, mx, sqrt(vx), y_name, my, sqrt(vy), vx > 0 && vy > 0 ? cov / sqrt(vx * vy) : NAN, sqrt(mse));
}

WmStatus eval_values_finish(EvalValues *v, WmError *err) {
    FILE *csv = v->csv;
    v->csv = NULL;
    if (fs_commit_stream(csv, v->tmp, v->path, err)) return err->status;
    printf("values against the real episodes (%s), n = %d steps, gamma %g, over %.0f states:\n", v->path, v->horizon,
           v->gamma, v->imagined_real.n);
    print_pair("reward head on the filtered state", "the reward received", &v->reward_head);
    print_pair("imagined reward over n steps (the actions taken)", "real", &v->imagined_real);
    print_pair("value v(s_t)", "its real n-step target", &v->value_target);
    return WM_OK;
}

void eval_values_free(EvalValues *v) {
    if (v->csv) {
        fclose(v->csv);
        remove(v->tmp);
    }
    if (v->imagination.model) plan_model_free(&v->imagination);
    arena_free(&v->arena);
    free(v->h), free(v->z), free(v->path), free(v->tmp);
    memset(v, 0, sizeof *v);
}
