/* online.mode async: DayDreamer's split of the online loop. An actor thread plays episodes at the environment's pace
 * with its own copy of the model (one OpenMP thread), and takes the learner's newest weights every
 * online.sync_every environment steps; the learner (the other threads) trains on the replay all the while. Each
 * step the actor records is handed over at once; the learner moves the episode in progress into the replay in
 * chunks of data.length steps and writes each finished episode to R/episodes. online.train_ratio caps the learner
 * (it waits for new steps rather than overfit a slow system's few), online.min_train_ratio says when it is behind.
 * One metrics line per finished episode: its return, the actor's decision latency (p50, p99) and missed deadlines
 * (decisions slower than the environment's period), the weights' age in learner steps and the replay ratio.
 *
 * The two threads meet only in the exchange below, under its lock. Timing decides which weights act on which
 * frame, so a run is not reproducible bit for bit the way a synchronous one is; a resume continues from the
 * checkpoint and the episodes on disk, its actor's streams drawn afresh from the seed and the episode count. */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/reduce.h"
#include "data/env_remote.h"
#include "data/episode_png.h"
#include "data/rollout.h"
#include "run/acting.h"
#include "run/loops.h"
#include "run/metrics.h"
#include "run/online.h"

enum {
    FINISHED_MAX = 8,      /* finished episodes the learner has not taken yet; the actor waits beyond */
    FIRST_ROWS = 256,      /* rows an episode in progress starts with; it doubles as it goes on */
    LATENCIES_MAX = 1 << 16 /* decisions an episode's latency percentiles are taken over (the first ones) */
};

/* How the actor did over one episode. */
typedef struct {
    double return_sum;
    long decisions, missed;
    double latency_p50, latency_p99; /* seconds */
    long weights_step;               /* the learner step of the weights it acted with last */
} ActorEpisode;

/* Where the actor and the learner meet; every field under `lock`. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t room; /* signalled when the learner takes finished episodes */
    WmEpisode current;   /* the episode in progress: rows [0, current_rows) are recorded */
    int current_rows;
    WmEpisode finished[FINISHED_MAX];
    ActorEpisode finished_stats[FINISHED_MAX];
    int finished_count;
    WmParams weights[3]; /* the learner's newest values: model, actor, value (those the run has) */
    long weights_step;
    int stop, actor_ended;
    WmError actor_err; /* why the actor ended, when it failed */
} Exchange;

/* The actor thread's own model, policy and streams. */
typedef struct {
    Exchange *ex;
    WmEnv *env;
    WmWorldModel model;
    WmActor actor;
    WmValue value;
    WmAgent agent;
    WmRng explore;
    WmAgentPolicy explorer;
    WmPolicy inner, policy;
    int has_actor, has_value, made_model, made_actor, made_value, made_agent;
    long sync_every, since_sync, weights_step;
    double period; /* 1 / control_hz; 0 when the environment waits for us */
    const WmEpisode *rollout; /* the episode env_rollout is filling */
    int handed;               /* its rows handed over so far */
    ActorEpisode stats;
    float *latencies;
} Actor;

/* The learner's side: the replay's copy of the episode in progress. */
typedef struct {
    WmOnline *online;
    Exchange *ex;
    int growing_rows; /* rows of the episode in progress in the replay (0: not there yet); they count toward the
                       * train ratio as a finished episode's frames do */
    WmEpisode stage; /* the episode in progress's new rows, copied out under the lock */
    double start;
    int noted_behind;
} Learner;

static void lock(Exchange *ex) { pthread_mutex_lock(&ex->lock); }
static void unlock(Exchange *ex) { pthread_mutex_unlock(&ex->lock); }

static void copy_values(WmParams *to, const WmParams *from) {
    memcpy(to->value, from->value, from->total * sizeof(float));
}

/* ---- the actor ---- */

/* The newest weights into the actor's copies (the planner's own copies refresh at its next decision). */
static void take_weights(Actor *a) {
    Exchange *ex = a->ex;
    lock(ex);
    copy_values(&a->model.params, &ex->weights[0]);
    if (a->has_actor) copy_values(&a->actor.params, &ex->weights[1]);
    if (a->has_value) copy_values(&a->value.params, &ex->weights[2]);
    a->weights_step = ex->weights_step;
    unlock(ex);
    a->agent.weights_stale = 1;
    a->since_sync = 0;
}

static WmStatus act_timed(void *ctx, const uint8_t *frame, const float *state, float *action, WmError *err) {
    Actor *a = ctx;
    lock(a->ex);
    const int stop = a->ex->stop;
    unlock(a->ex);
    if (stop) return wm_error_set(err, WM_ERR_STOPPED, "stopped");
    if (a->since_sync >= a->sync_every) take_weights(a);
    const double start = wm_clock_seconds();
    if (a->inner.act(a->inner.ctx, frame, state, action, err)) return err->status;
    const double latency = wm_clock_seconds() - start;
    if (a->stats.decisions < LATENCIES_MAX) a->latencies[a->stats.decisions] = (float)latency;
    a->stats.decisions++;
    a->stats.missed += a->period > 0.0 && latency > a->period;
    a->since_sync++;
    return WM_OK;
}

/* After each environment step: the rows recorded since the last hand-over join the exchange's episode. */
static void hand_over(void *ctx, int steps, double return_so_far) {
    Actor *a = ctx;
    Exchange *ex = a->ex;
    const int rows = steps + 1;
    WmError err = {0};
    lock(ex);
    if (rows > ex->current.length && episode_grow(&ex->current, 2 * rows, &err)) ex->actor_err = err, ex->stop = 1;
    else episode_copy_rows(&ex->current, a->rollout, a->handed, rows), ex->current_rows = rows, a->handed = rows;
    unlock(ex);
    a->stats.return_sum = return_so_far;
}

static WmStatus start_episode(Actor *a, WmError *err) {
    Exchange *ex = a->ex;
    lock(ex);
    episode_free(&ex->current);
    ex->current_rows = 0;
    const WmStatus status =
        episode_alloc(&ex->current, FIRST_ROWS, WM_ENV_SIZE, WM_ENV_SIZE, env_action_dim(a->env), err) ||
                episode_alloc_states(&ex->current, env_state_dim(a->env), err)
            ? err->status
            : WM_OK;
    unlock(ex);
    memset(&a->stats, 0, sizeof a->stats);
    a->handed = 0;
    agent_reset(&a->agent);
    agent_set_sampling(&a->agent, 1);
    return status;
}

static void percentiles(Actor *a) {
    const size_t n = (size_t)(a->stats.decisions < LATENCIES_MAX ? a->stats.decisions : LATENCIES_MAX);
    if (n == 0) return;
    reduce_sort(a->latencies, n);
    a->stats.latency_p50 = reduce_quantile_sorted(a->latencies, n, 0.5);
    a->stats.latency_p99 = reduce_quantile_sorted(a->latencies, n, 0.99);
}

/* The recorded rows become a finished episode for the learner (an episode cut by a stop keeps what it has). */
static void finish_episode(Actor *a) {
    Exchange *ex = a->ex;
    percentiles(a);
    a->stats.weights_step = a->weights_step;
    lock(ex);
    while (ex->finished_count == FINISHED_MAX && !ex->stop) pthread_cond_wait(&ex->room, &ex->lock);
    if (ex->current_rows >= 2 && ex->finished_count < FINISHED_MAX) {
        ex->current.length = ex->current_rows;
        ex->finished[ex->finished_count] = ex->current;
        ex->finished_stats[ex->finished_count++] = a->stats;
        memset(&ex->current, 0, sizeof ex->current);
    }
    ex->current_rows = 0;
    unlock(ex);
}

static void *actor_main(void *arg) {
    Actor *a = arg;
    Exchange *ex = a->ex;
    omp_set_num_threads(1); /* the actor's thread; the learner has the others */
    WmError err = {0};
    for (;;) {
        lock(ex);
        const int stop = ex->stop;
        unlock(ex);
        if (stop || start_episode(a, &err)) break;
        WmEpisode episode = {0};
        a->rollout = &episode;
        env_rollout(a->env, &a->policy, &episode, NULL, &err);
        finish_episode(a);
        episode_free(&episode);
        if (err.status) break;
    }
    lock(ex);
    if (err.status && err.status != WM_ERR_STOPPED) ex->actor_err = err;
    ex->actor_ended = 1;
    unlock(ex);
    return NULL;
}

/* The actor's model, actor and value (values only), its agent and streams: from the learner's as they are now. */
static WmStatus actor_make(Actor *a, WmOnline *online, Exchange *ex, WmError *err) {
    const WmTrainer *t = online->trainer;
    const WmConfig *config = online->config;
    const WmImagination *im = t->imagination;
    const uint64_t seed = (uint64_t)config->run.seed + (uint64_t)online->episodes; /* a resume draws afresh */
    a->ex = ex, a->env = &online->env, a->sync_every = config->online.sync_every;
    const double hz = online->env.remote ? env_remote_spec(online->env.remote)->control_hz : 0.0;
    a->period = hz > 0.0 ? 1.0 / hz : 0.0;
    a->latencies = malloc(LATENCIES_MAX * sizeof *a->latencies);
    if (a->latencies == NULL) return wm_error_set(err, WM_ERR_NOMEM, "async actor: out of memory");
    a->made_model = 1; /* world_model_free undoes a declaration cut short too */
    if (world_model_declare(&a->model, &t->model.config, t->model.action_dim, err) ||
        params_allocate_values(&a->model.params, err))
        return err->status;
    const int features = t->model.rssm.deter + t->model.rssm.stoch;
    a->has_actor = a->has_value = im != NULL;
    if (im) {
        a->made_actor = a->made_value = 1; /* as the model: freeing undoes a creation cut short */
        if (actor_create(&a->actor, &config->actor, features, t->model.action_dim, err) ||
            value_create(&a->value, &config->actor, features, err))
            return err->status;
    }
    take_weights(a);
    if (agent_init(&a->agent, &a->model, &online->agent->settings, im ? &a->actor : NULL, im ? &a->value : NULL,
                   seed, err))
        return err->status;
    a->made_agent = 1;
    a->explore = rng_stream(seed, WM_STREAM_EXPLORE);
    a->explorer = (WmAgentPolicy){&a->agent, &a->explore, (float)config->online.exploration_noise, NULL, NULL};
    a->inner = agent_policy(&a->explorer);
    a->policy = (WmPolicy){act_timed, hand_over, a};
    return WM_OK;
}

static void actor_free_all(Actor *a) {
    if (a->made_agent) agent_free(&a->agent);
    if (a->made_value) value_free(&a->value);
    if (a->made_actor) actor_free(&a->actor);
    if (a->made_model) world_model_free(&a->model);
    free(a->latencies);
}

/* ---- the learner ---- */

/* The learner's newest values into the exchange. */
static void publish_weights(const WmTrainer *t, Exchange *ex) {
    lock(ex);
    copy_values(&ex->weights[0], &t->model.params);
    if (t->imagination) {
        copy_values(&ex->weights[1], &t->imagination->actor.params);
        copy_values(&ex->weights[2], &t->imagination->value.params);
    }
    ex->weights_step = t->step;
    unlock(ex);
}

static double replay_ratio(const WmOnline *online, const Learner *l) {
    const WmConfig *c = online->config;
    const double collected = (double)online->policy_frames + (double)l->growing_rows;
    return collected > 0 ? (double)online->trainer->step * c->data.batch * c->data.length / collected : INFINITY;
}

/* One finished episode: the replay's copy of it completed (or the whole of it added), R/episodes, the counts and
 * its metrics line. Takes ownership of `episode`. */
static WmStatus keep_finished(Learner *l, WmEpisode *episode, const ActorEpisode *stats, WmError *err) {
    WmOnline *online = l->online;
    WmTrainer *t = online->trainer;
    char path[WM_RUN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/episode_%06ld", online->episodes_dir, online->episodes);
    const int frames = episode->length;
    if (episode_write_png_dir(path, episode, err)) return err->status;
    if (l->growing_rows > 0) replay_extend_newest(&t->replay, episode, frames, err);
    else replay_add(&t->replay, episode, err);
    if (err->status) return err->status;
    l->growing_rows = 0;
    online_count_episode(online, online->episodes++, frames);
    const double ratio = replay_ratio(online, l), floor = online->config->online.min_train_ratio;
    const int behind = floor > 0.0 && ratio < floor;
    if (behind && !l->noted_behind)
        train_note(online->observer, "the learner is behind: %.1f replayed steps per collected step, below "
                   "online.min_train_ratio = %g", ratio, floor);
    l->noted_behind |= behind;
    if (online->metrics) {
        cJSON *line = metrics_line();
        metrics_add(line, "step", (double)t->step);
        metrics_add(line, "wall_s", round_to(wm_clock_seconds() - l->start, 3));
        metrics_add(line, "episodes", (double)online->episodes), metrics_add(line, "train_return", stats->return_sum);
        metrics_add(line, "env_steps", (double)online->env_steps);
        metrics_add(line, "actor_decisions", (double)stats->decisions);
        metrics_add(line, "actor_latency_p50_ms", round_to(stats->latency_p50 * 1e3, 3));
        metrics_add(line, "actor_latency_p99_ms", round_to(stats->latency_p99 * 1e3, 3));
        metrics_add(line, "actor_missed_deadlines", (double)stats->missed);
        metrics_add(line, "weights_age", (double)(t->step - stats->weights_step));
        if (isfinite(ratio)) metrics_add(line, "replay_ratio", round_to(ratio, 2));
        metrics_add(line, "learner_behind", behind);
        metrics_write(online->metrics, line);
    }
    return WM_OK;
}

/* The episode in progress into the replay: added with its first `rows` rows from `stage`, or the replay's copy
 * extended to them. */
static WmStatus grow_in_replay(Learner *l, const WmEpisode *stage, int rows, WmError *err) {
    WmReplay *replay = &l->online->trainer->replay;
    if (l->growing_rows > 0) {
        replay_extend_newest(replay, stage, rows, err);
    } else {
        WmEpisode start = {0};
        if (episode_alloc(&start, rows, stage->height, stage->width, stage->action_dim, err) == WM_OK &&
            episode_alloc_states(&start, stage->state_dim, err) == WM_OK) {
            episode_copy_rows(&start, stage, 0, rows);
            replay_add(replay, &start, err);
        }
        episode_free(&start);
    }
    if (err->status) return err->status;
    l->growing_rows = rows;
    return WM_OK;
}

/* Room in the stage for `rows` rows of episodes shaped like `like`. */
static WmStatus stage_room(Learner *l, const WmEpisode *like, int rows, WmError *err) {
    if (rows <= l->stage.length) return WM_OK;
    if (l->stage.frames) return episode_grow(&l->stage, 2 * rows, err);
    if (episode_alloc(&l->stage, 2 * rows, like->height, like->width, like->action_dim, err)) return err->status;
    return episode_alloc_states(&l->stage, like->state_dim, err);
}

/* Takes what the actor recorded: finished episodes, and the episode in progress in chunks of data.length rows. Under
 * the lock only copies; the files are written after it, so the actor never waits on a disk. */
static WmStatus drain(Learner *l, WmError *err) {
    Exchange *ex = l->ex;
    WmEpisode finished[FINISHED_MAX];
    ActorEpisode stats[FINISHED_MAX];
    const int chunk = (int)l->online->config->data.length;
    lock(ex);
    const int count = ex->finished_count;
    memcpy(finished, ex->finished, (size_t)count * sizeof *finished);
    memcpy(stats, ex->finished_stats, (size_t)count * sizeof *stats);
    ex->finished_count = 0;
    pthread_cond_signal(&ex->room);
    /* An episode that was growing and has finished is finished[0]; the one in progress then starts from row 0. */
    const int base = count > 0 ? 0 : l->growing_rows, rows = ex->current_rows;
    const int more = rows - base >= chunk;
    if (more && stage_room(l, &ex->current, rows, err) == WM_OK) episode_copy_rows(&l->stage, &ex->current, base, rows);
    unlock(ex);
    for (int i = 0; i < count; i++) {
        if (err->status == WM_OK) keep_finished(l, &finished[i], &stats[i], err);
        episode_free(&finished[i]);
    }
    if (err->status == WM_OK && more) grow_in_replay(l, &l->stage, rows, err);
    return err->status;
}

/* Whether the learner waits for the actor: nothing to sample yet, or the replay ratio at online.train_ratio. */
static int learner_waits(const Learner *l) {
    const WmConfig *c = l->online->config;
    if (replay_chunk_count(&l->online->trainer->replay, (int)c->data.length) == 0) return 1;
    return c->online.train_ratio > 0.0 && replay_ratio(l->online, l) >= c->online.train_ratio;
}

static void nap(void) {
    const struct timespec pause = {0, 2000000}; /* 2 ms */
    nanosleep(&pause, NULL);
}

static WmStatus exchange_init(Exchange *ex, const WmTrainer *t, WmError *err) {
    memset(ex, 0, sizeof *ex);
    pthread_mutex_init(&ex->lock, NULL);
    pthread_cond_init(&ex->room, NULL);
    const WmParams *blocks[3] = {&t->model.params, t->imagination ? &t->imagination->actor.params : NULL,
                                 t->imagination ? &t->imagination->value.params : NULL};
    for (int i = 0; i < 3; i++) {
        if (blocks[i] == NULL) continue;
        ex->weights[i].total = blocks[i]->total;
        ex->weights[i].value = malloc(blocks[i]->total * sizeof(float));
        if (ex->weights[i].value == NULL) return wm_error_set(err, WM_ERR_NOMEM, "async: out of memory for weights");
    }
    publish_weights(t, ex);
    return WM_OK;
}

static void exchange_free(Exchange *ex) {
    episode_free(&ex->current);
    for (int i = 0; i < ex->finished_count; i++) episode_free(&ex->finished[i]);
    for (int i = 0; i < 3; i++) free(ex->weights[i].value);
    pthread_mutex_destroy(&ex->lock);
    pthread_cond_destroy(&ex->room);
}

static void stop_actor(Exchange *ex) {
    lock(ex);
    ex->stop = 1;
    pthread_cond_signal(&ex->room);
    unlock(ex);
}

/* Steps until run.steps, a stop, or the actor's failure; the last checkpoint after the actor's last episode. */
static WmStatus learn(Learner *l, WmError *err) {
    WmOnline *online = l->online;
    const WmConfig *config = online->config;
    WmTrainer *t = online->trainer;
    const long first_step = t->step;
    const double frames_per_step = (double)config->data.batch * config->data.length;
    const WmLoopTail tail = {online->observer, online->comm, config, online_save, online};
    int stopped = 0;
    while (t->step < config->run.steps && !stopped && err->status == WM_OK) {
        if (drain(l, err)) break;
        lock(l->ex);
        const int ended = l->ex->actor_ended;
        unlock(l->ex);
        if (ended) break;
        if (learner_waits(l)) {
            if (train_stop_requested(online->observer)) break;
            nap();
            continue;
        }
        WmLosses losses;
        if (trainer_step(t, &losses, err)) break;
        publish_weights(t, l->ex);
        const double elapsed = wm_clock_seconds() - l->start;
        const WmTrainProgress progress = {
            .online = 1, .logged = loop_logs_at(config, t->step), .step = t->step, .total = config->run.steps,
            .episodes = online->episodes, .steps_per_second = (t->step - first_step) / elapsed,
            .eta_seconds = elapsed / (t->step - first_step) * (config->run.steps - t->step), .train_return = NAN,
            .eval_return = NAN, .losses = &losses};
        train_report(online->observer, &progress);
        if (loop_logs_at(config, t->step) && online->metrics)
            run_write_step_metrics(online->metrics, t, &losses, elapsed,
                                   frames_per_step * (t->step - first_step) / elapsed, NULL);
        if (loop_after_step(&tail, t->step, 0, &stopped, err)) break;
    }
    return err->status;
}

WmStatus online_train_async(WmOnline *online, WmError *err) {
    if (online->comm->size > 1)
        return wm_error_set(err, WM_ERR_ARG, "online.mode: async runs in one process (this job has %d ranks)",
                            online->comm->size);
    Exchange ex;
    Actor actor;
    memset(&actor, 0, sizeof actor);
    Learner learner = {.online = online, .ex = &ex, .start = wm_clock_seconds()};
    const int threads = omp_get_max_threads();
    pthread_t thread;
    int started = 0;
    if (exchange_init(&ex, online->trainer, err) == WM_OK && actor_make(&actor, online, &ex, err) == WM_OK) {
        started = pthread_create(&thread, NULL, actor_main, &actor) == 0;
        if (!started) wm_error_set(err, WM_ERR_IO, "async: cannot start the actor's thread");
    }
    if (started) {
        if (threads > 1) omp_set_num_threads(threads - 1); /* the actor has one */
        train_note(online->observer, "async: the actor acts in its own thread%s, the learner trains on %d thread%s",
                   actor.period > 0.0 ? " at the environment's pace" : "", threads > 1 ? threads - 1 : 1,
                   wm_plural(threads > 1 ? threads - 1 : 1));
        WmError learn_err = {0};
        learn(&learner, &learn_err);
        stop_actor(&ex);
        pthread_join(thread, NULL);
        omp_set_num_threads(threads);
        /* What the actor recorded last, its episode cut by the stop included, goes to disk before the checkpoint. */
        WmError keep_err = {0};
        drain(&learner, &keep_err);
        WmError save_err = {0};
        online_save(online, &save_err);
        *err = learn_err.status ? learn_err
               : ex.actor_err.status ? ex.actor_err
               : keep_err.status ? keep_err
                                 : save_err;
        if (err->status == WM_OK)
            train_note(online->observer, "%s at step %ld, %ld episodes (async)", online->options->run,
                       online->trainer->step, online->episodes);
    }
    actor_free_all(&actor);
    exchange_free(&ex);
    episode_free(&learner.stage);
    return err->status;
}
