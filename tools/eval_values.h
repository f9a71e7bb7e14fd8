/* wm eval --values FILE: what the run's value and its model's imagined rewards say of the states the episodes really
 * went through, beside what those episodes really gave. For every decision t (the filtered state s_t after frame
 * t), with n = the imagination's horizon (actor.horizon) and gamma its discount (actor.gamma):
 *   reward    the reward received on arriving at frame t, beside the reward head's r(s_t) on the filtered state:
 *             what the head makes of a state it has seen;
 *   imagined  the reward head's sum over n steps imagined from s_t with the actions really taken next (the prior's
 *             mode, as the planners imagine): the model's own account of the next n rewards;
 *   real      the sum of those n rewards as the environment gave them;
 *   value     v(s_t);
 *   target    sum_{k<n} gamma^k r_{t+k} + gamma^n v(s_{t+n}): the value's n-step target on the real trajectory,
 *             the same form as the lambda-return the value learns in imagination (which holds r_t, the reward on
 *             arriving at s_t).
 * One CSV row per decision (a field is empty where the episode ends before t + n), and a summary of each pair over
 * every state: the means, the standard deviations across states, the correlation and the RMS error. A value whose
 * spread across states is small beside its target's cannot tell the actor which states are better. */
#ifndef WM_TOOLS_EVAL_VALUES_H
#define WM_TOOLS_EVAL_VALUES_H

#include <stdio.h>

#include "data/episode.h"
#include "plan/agent.h"
#include "plan/plan_model.h"
#include "run/acting.h"

/* Sums over the valid states of one pair (x, y): enough for the means, spreads, correlation and RMS error. */
typedef struct {
    double n, x, y, xx, yy, xy;
} EvalPair;

typedef struct {
    const WmAgent *agent;
    const WmValue *value;
    WmPlanModel imagination; /* one candidate: the actions really taken, n steps */
    WmArena arena;           /* the value and the reward head over an episode's states */
    int horizon;
    float gamma;
    float *h, *z; /* (room, D), (room, S): the filtered state at each decision of the episode in hand */
    int decisions, room;
    FILE *csv;
    char *path, *tmp;
    EvalPair reward_head, imagined_real, value_target;
} EvalValues;

/* Loads the run's value (the run must have trained the actor) and opens `path` as a temporary file. */
WmStatus eval_values_open(EvalValues *v, WmRunAgent *acting, const char *run, const char *checkpoint,
                          const char *path, WmError *err);
/* Called after every decision: keeps the agent's filtered state. */
WmStatus eval_values_record(EvalValues *v, WmError *err);
/* After an episode: its rows and sums; the next episode's states start afresh. */
WmStatus eval_values_episode(EvalValues *v, const WmEpisode *episode, int index, WmError *err);
/* Prints the summary and commits the CSV (written to a temporary name, fsynced, renamed). */
WmStatus eval_values_finish(EvalValues *v, WmError *err);
void eval_values_free(EvalValues *v);

#endif
