/* The embeddable policy (wm.h) over the run layer: a run opened to act (run/acting.h) and a frame buffer at the
 * model's size. */
#include "wm.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/frame_resize.h"
#include "run/acting.h"

struct wm_agent {
    WmRunAgent acting;
    uint8_t *frame; /* (H, W, 3) at the model's size */
    WmError err;
};

const char *wm_version(void) { return WM_VERSION; }

int wm_agent_open(wm_agent **out, const char *run, const char *planner, int threads, char *error, size_t error_size) {
    *out = NULL;
    wm_agent *a = calloc(1, sizeof *a);
    if (a == NULL) {
        if (error_size) snprintf(error, error_size, "wm: out of memory");
        return -1;
    }
    if (threads > 0) omp_set_num_threads(threads);
    if (run == NULL) wm_error_set(&a->err, WM_ERR_ARG, "wm_agent_open: no run directory given");
    else if (planner && config_choice_value("plan.planner", planner) < 0)
        wm_error_set(&a->err, WM_ERR_ARG, "wm_agent_open: planner '%s' is not shooting, cem, mppi or actor", planner);
    else run_agent_open(&a->acting, run, NULL, NULL, 0, planner, 0, -1, &a->err);
    if (a->err.status == WM_OK) {
        const WmModelConfig *c = &a->acting.model.config;
        a->frame = malloc((size_t)c->height * c->width * 3);
        if (a->frame == NULL) wm_error_set(&a->err, WM_ERR_NOMEM, "wm_agent_open: out of memory");
    }
    if (a->err.status) {
        if (error_size) snprintf(error, error_size, "%s", a->err.message);
        wm_agent_close(a);
        return -1;
    }
    *out = a;
    return 0;
}

int wm_agent_action_dim(const wm_agent *a) { return a->acting.model.action_dim; }

void wm_agent_reset(wm_agent *a) { agent_reset(&a->acting.agent); }

int wm_agent_state_dim(const wm_agent *a) { return (int)a->acting.model.config.state_dim; }

int wm_agent_act_state(wm_agent *a, const uint8_t *rgb, int width, int height, const float *state, int state_dim,
                       float *action, int capacity) {
    const WmModelConfig *c = &a->acting.model.config;
    const int A = a->acting.model.action_dim;
    memset(&a->err, 0, sizeof a->err);
    if (rgb == NULL || width < 1 || height < 1 || width > 8192 || height > 8192)
        wm_error_set(&a->err, WM_ERR_ARG, "wm_agent_act: a frame of %dx%d", width, height);
    else if (capacity < A)
        wm_error_set(&a->err, WM_ERR_ARG, "wm_agent_act: room for %d action values, the model has %d", capacity, A);
    else if (state_dim != c->state_dim || (state_dim > 0 && state == NULL))
        wm_error_set(&a->err, WM_ERR_ARG, "wm_agent_act: %d state numbers, the model takes %ld%s", state == NULL ? 0 :
                     state_dim, c->state_dim, c->state_dim ? " (wm_agent_act_state)" : "");
    for (int i = 0; a->err.status == WM_OK && i < state_dim; i++)
        if (!isfinite(state[i])) wm_error_set(&a->err, WM_ERR_ARG, "wm_agent_act: state[%d] is not finite", i);
    if (a->err.status) return -1;
    frame_resize_rgb(a->frame, (int)c->height, (int)c->width, rgb, height, width);
    if (agent_observe(&a->acting.agent, a->frame, state_dim ? state : NULL, &a->err) ||
        agent_act(&a->acting.agent, action, &a->err))
        return -1;
    return A;
}

int wm_agent_act(wm_agent *a, const uint8_t *rgb, int width, int height, float *action, int capacity) {
    return wm_agent_act_state(a, rgb, width, height, NULL, 0, action, capacity);
}

const char *wm_agent_error(const wm_agent *a) { return a->err.message; }

void wm_agent_close(wm_agent *a) {
    if (a == NULL) return;
    run_agent_close(&a->acting);
    free(a->frame);
    free(a);
}
