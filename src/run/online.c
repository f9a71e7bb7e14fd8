/* wm train --env NAME: PlaNet's online loop. Seed episodes with random actions, then repeat: steps_per_episode
 * gradient steps (or, with online.train_ratio, as many as keep the replayed steps at that ratio to the steps
 * collected after the seed episodes, as DreamerV3 counts), one episode collected with the planner plus Gaussian
 * exploration noise, and every eval_every episodes (or eval_steps environment steps) eval_episodes without noise,
 * logged as eval_return (and with online.eval_samples as many of the actor's samples, eval_sample_return). Episodes
 * are kept under R/episodes. Every checkpoint also holds the environments', the exploration's and the agent's
 * random streams, so a resumed run (replay read back from R/episodes) continues bit for bit. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/fs.h"
#include "data/dataset.h"
#include "data/env_remote.h"
#include "data/episode_png.h"
#include "plan/plan_model.h"
#include "run/acting.h"
#include "run/loops.h"
#include "run/online.h"
#include "run/metrics.h"
#include "run/precision.h"

/* The evaluation environment's seed, apart from the collecting one's. */
enum { EVAL_SEED_OFFSET = 1000003 };


/* A round's bookkeeping: the time split of the round and of the run so far (for the ETA), the last returns. */
typedef struct {
    double start;                       /* the loop's first step */
    double round_model, round_imagine;  /* the trainer's times when the round began */
    double acting_seconds;              /* collection and evaluation so far */
    long rounds;
    double last_train, last_eval;       /* NaN before the first */
    WmPolicy explore, evaluate;
} Rounds;

/* The counts the loop paces itself by, for the index-th episode of `frames` frames (the first is the reset's). */
void online_count_episode(WmOnline *online, long index, int frames) {
    if (index >= online->config->online.seed_episodes) online->policy_frames += frames;
    online->env_steps += (long)(frames - 1) * online->env.action_repeat;
}

/* Saves an episode under the rank's episode directory and moves it into the replay store. */
WmStatus online_keep(WmOnline *online, WmTrainer *t, WmEpisode *episode, WmError *err) {
    char path[WM_RUN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/episode_%06ld", online->episodes_dir, online->episodes);
    const int frames = episode->length;
    if (episode_write_png_dir(path, episode, err) || replay_add(&t->replay, episode, err)) return err->status;
    online_count_episode(online, online->episodes++, frames);
    return WM_OK;
}

/* Plays one episode with `policy` into the replay and R/episodes; its return into *return_sum. */
static WmStatus play_and_keep(WmOnline *online, WmTrainer *t, const WmPolicy *policy,
                              double *return_sum, WmError *err) {
    WmEpisode episode = {0};
    if (env_rollout(&online->env, policy, &episode, NULL, err) == WM_OK) {
        if (return_sum) *return_sum = episode_return(&episode);
        online_keep(online, t, &episode, err);
    } else if (online->env.remote && episode.frames && episode.length >= 2) {
        /* A remote system's steps cannot be played again: what it sent before the failure is kept, cut there. */
        WmError keep_err = {0};
        online_keep(online, t, &episode, &keep_err);
    }
    episode_free(&episode);
    return err->status;
}

/* The random streams an online checkpoint keeps beside the trainer's, by metadata key. */
enum { ONLINE_STREAMS = 6 };
typedef struct {
    const char *key;
    WmRng *rng;
} OnlineStream;

/* How many there are: the actor's proposals have a stream only when the planner takes them. */
static int online_streams(WmOnline *online, WmAgent *agent, OnlineStream *out) {
    const OnlineStream streams[ONLINE_STREAMS] = {
        {WM_META_ONLINE_ENV, &online->env.rng},           {WM_META_ONLINE_EVAL_ENV, &online->eval_env.rng},
        {WM_META_ONLINE_EXPLORE, &online->explore},       {WM_META_ONLINE_AGENT, &agent->rng},
        {WM_META_ONLINE_OBJECTIVE, &agent->objective.rng}, {WM_META_ONLINE_PROPOSAL, &agent->proposal.rng},
    };
    memcpy(out, streams, sizeof streams);
    return agent->proposal.actor ? ONLINE_STREAMS : ONLINE_STREAMS - 1;
}

/* Each rank collects with its own copy of every stream (rng_stream_for_rank; rank 0's are the streams themselves). */
static void streams_for_rank(WmOnline *online, WmAgent *agent) {
    OnlineStream streams[ONLINE_STREAMS];
    const int count = online_streams(online, agent, streams);
    for (int i = 0; i < count; i++) /* the stream word only: where each stream stands is kept */
        streams[i].rng->stream = rng_stream_for_rank(streams[i].rng->seed, streams[i].rng->stream,
                                                     online->comm->rank).stream;
}

/* Episodes the last checkpoint does not count (from episode `known` on, and any half-written .tmp) were collected
 * by a start that was killed before it saved them; the streams restored from the checkpoint collect them again,
 * the same, so they go. Without this, the first of them would block the episode written in its place. A remote
 * system's episodes cannot be collected again: they stay, and only half-written ones go. *kept (may be NULL): the
 * whole episodes left. */
static WmStatus forget_unsaved_episodes(const WmOnline *online, long known, const WmTrainObserver *observer,
                                        long *kept, WmError *err) {
    char **names = NULL;
    int count = 0, forgotten = 0;
    long whole = 0;
    if (kept) *kept = 0;
    if (!fs_is_dir(online->episodes_dir)) return WM_OK;
    if (fs_list_dir(online->episodes_dir, &names, &count, err)) return err->status;
    for (int i = 0; i < count; i++) {
        long index;
        int end = 0;
        const size_t length = strlen(names[i]);
        const int half_written = length > 4 && strcmp(names[i] + length - 4, ".tmp") == 0;
        const int episode = sscanf(names[i], "episode_%ld%n", &index, &end) == 1 && names[i][end] == '\0';
        const int unsaved = episode && index >= known;
        if (half_written || (unsaved && online->env.remote == NULL)) {
            char path[WM_RUN_PATH_MAX + 300];
            snprintf(path, sizeof path, "%s/%s", online->episodes_dir, names[i]);
            fs_remove_shallow(path);
            forgotten += !half_written;
        } else {
            whole += episode;
        }
    }
    fs_free_list(names, count);
    if (kept) *kept = whole;
    if (forgotten)
        train_note(observer, "%d episode%s collected after the last checkpoint will be collected again", forgotten,
                   wm_plural(forgotten));
    return WM_OK;
}

/* This rank's episodes (sorted, so in the order collected) into the replay and the counts. */
static WmStatus read_back_episodes(WmOnline *online, WmTrainer *t, WmError *err) {
    WmDataset data;
    WmFrameSize size = {WM_ENV_SIZE, WM_ENV_SIZE, 0};
    if (dataset_read(online->episodes_dir, &size, 0, &data, err)) return err->status;
    for (int i = 0; i < data.count && err->status == WM_OK; i++) {
        online_count_episode(online, i, data.episodes[i].length);
        replay_add(&t->replay, &data.episodes[i], err);
    }
    online->episodes = data.count;
    dataset_free(&data);
    return err->status;
}

/* A resumed run: its streams and episode count from the checkpoint, then the replay from this rank's episodes. */
static WmStatus resume(WmOnline *online, WmTrainer *t, WmAgent *agent, const WmTrainObserver *observer, WmError *err) {
    const WmRunPaths *paths = online->paths;
    WmSafetensors f;
    if (safetensors_open(&f, paths->latest, err)) return err->status;
    long episodes = 0;
    char key[WM_META_TEXT_MAX];
    checkpoint_rank_key(key, sizeof key, WM_META_ONLINE_EPISODES, online->comm->rank);
    checkpoint_meta_long(&f, key, 0, 1L << 40, &episodes, err);
    OnlineStream streams[ONLINE_STREAMS];
    const int count = online_streams(online, agent, streams);
    for (int i = 0; i < count && err->status == WM_OK; i++) {
        checkpoint_rank_key(key, sizeof key, streams[i].key, online->comm->rank);
        checkpoint_rng_read(&f, key, streams[i].rng, err);
    }
    safetensors_close(&f);
    if (err->status || forget_unsaved_episodes(online, episodes, observer, NULL, err) ||
        read_back_episodes(online, t, err))
        return err->status;
    if (online->env.remote ? online->episodes < episodes : online->episodes != episodes)
        wm_error_set(err, WM_ERR_FORMAT, "%s: it knew %ld episodes, %s holds %ld", paths->latest, episodes,
                     online->episodes_dir, online->episodes);
    else if (online->episodes > episodes)
        train_note(observer, "%ld episode%s recorded after the last checkpoint (a remote system's) kept in the replay",
                   online->episodes - episodes, wm_plural(online->episodes - episodes));
    return err->status;
}

/* A checkpoint with every rank's online streams and episode count in its metadata (collective). */
WmStatus online_save(void *ctx, WmError *err) {
    WmOnline *online = ctx;
    OnlineStream streams[ONLINE_STREAMS];
    const int count = online_streams(online, online->agent, streams);
    char texts[ONLINE_STREAMS][WM_META_TEXT_MAX], episodes[32];
    WmMetaEntry own[ONLINE_STREAMS + 1];
    for (int i = 0; i < count; i++) {
        checkpoint_rng_format(texts[i], sizeof texts[i], streams[i].rng);
        own[i] = (WmMetaEntry){streams[i].key, texts[i]};
    }
    snprintf(episodes, sizeof episodes, "%ld", online->episodes);
    own[count] = (WmMetaEntry){WM_META_ONLINE_EPISODES, episodes};
    const WmMetaEntry shared[2] = {{WM_META_ENV, env_name(&online->env)},
                                   {WM_META_PLAN_PRECISION, online->agent->settings.bf16 ? "bf16" : "fp32"}};
    return run_save_checkpoint(online->paths, online->trainer, online->trainer->config.run.keep_checkpoints, shared,
                               2, own, count + 1, err);
}

/* online.eval_episodes without noise: the actor's mode (or the planner), or with `sample` the actor's draws, as
 * DreamerV3 evaluates; the mean and std of their returns. */
static WmStatus evaluate_episodes(WmOnline *online, Rounds *r, int sample, double *mean, double *std, WmError *err) {
    const long count = online->config->online.eval_episodes;
    double sum = 0.0, squares = 0.0;
    agent_set_sampling(online->agent, sample); /* the next round's collection sets it again */
    for (long i = 0; i < count; i++) {
        WmEpisode episode = {0};
        agent_reset(online->agent);
        WmEnv *env = online->made_eval_env ? &online->eval_env : &online->env;
        const WmStatus status = env_rollout(env, &r->evaluate, &episode, NULL, err);
        const double value = status == WM_OK ? episode_return(&episode) : 0.0;
        episode_free(&episode);
        if (status) return status;
        sum += value, squares += value * value;
    }
    *mean = sum / count;
    *std = count > 1 ? sqrt(fmax(0.0, squares / count - *mean * *mean)) : 0.0;
    return WM_OK;
}

/* Whether an evaluation is due after the round's episode (rank 0 evaluates): every online.eval_every episodes, or
 * whenever the environment steps cross a multiple of online.eval_steps (`before`: the steps before the episode). */
static int evaluation_due(const WmOnline *online, long before) {
    const WmConfig *config = online->config;
    if (online->comm->rank != 0) return 0;
    if (config->online.eval_steps > 0)
        return online->env_steps / config->online.eval_steps > before / config->online.eval_steps;
    return online->episodes % config->online.eval_every == 0;
}

/* One episode collected with the planner plus exploration noise, an evaluation when one is due, then the round's
 * metrics line (rank 0's). */
static WmStatus play_round(WmOnline *online, Rounds *r, FILE *metrics, WmError *err) {
    WmTrainer *t = online->trainer;
    const WmConfig *config = online->config;
    double train_return = 0.0, eval_return = 0.0, eval_std = 0.0, sample_return = 0.0, sample_std = 0.0;
    const double collect_start = wm_clock_seconds();
    const long steps_before = online->env_steps;
    agent_reset(online->agent);
    agent_set_sampling(online->agent, 1); /* the actor explores with a sample (and the noise); a planner ignores it */
    if (play_and_keep(online, t, &r->explore, &train_return, err)) return err->status;
    agent_set_sampling(online->agent, 0);
    const int evaluating = evaluation_due(online, steps_before);
    const int samples = evaluating && config->online.eval_samples && config->plan.planner == WM_PLAN_ACTOR;
    const double eval_start = wm_clock_seconds();
    if ((evaluating && evaluate_episodes(online, r, 0, &eval_return, &eval_std, err)) ||
        (samples && evaluate_episodes(online, r, 1, &sample_return, &sample_std, err)))
        return err->status;
    const double eval_done = wm_clock_seconds();
    r->acting_seconds += eval_done - collect_start, r->rounds++;
    r->last_train = train_return, r->last_eval = evaluating ? eval_return : r->last_eval;
    if (metrics) {
        cJSON *line = metrics_line();
        metrics_add(line, "step", (double)t->step), metrics_add(line, "wall_s", round_to(eval_done - r->start, 3));
        metrics_add(line, "episodes", (double)online->episodes), metrics_add(line, "train_return", train_return);
        metrics_add(line, "env_steps", (double)online->env_steps);
        if (evaluating) {
            metrics_add(line, "eval_return", eval_return), metrics_add(line, "eval_return_std", eval_std);
            metrics_add(line, "eval_episodes", (double)config->online.eval_episodes);
        }
        if (samples) {
            metrics_add(line, "eval_sample_return", sample_return);
            metrics_add(line, "eval_sample_return_std", sample_std);
        }
        if (online->precision.plans)
            metrics_add_word(line, "plan_precision", online->agent->settings.bf16 ? "bf16" : "fp32");
        /* The round's time split. */
        metrics_add(line, "train_s", round_to(t->model_seconds - r->round_model, 2));
        metrics_add(line, "imagine_s", round_to(t->imagine_seconds - r->round_imagine, 2));
        metrics_add(line, "collect_s", round_to(eval_start - collect_start, 2));
        metrics_add(line, "eval_s", round_to(eval_done - eval_start, 2));
        metrics_write(metrics, line);
    }
    r->round_model = t->model_seconds, r->round_imagine = t->imagine_seconds;
    return WM_OK;
}

/* The run directory, the collecting and evaluating environments and the episode directory. */
static WmStatus open_environments(WmOnline *online, WmError *err) {
    const WmConfig *config = online->config;
    const uint64_t seed = (uint64_t)config->run.seed;
    const int repeat = (int)config->data.action_repeat, rank = online->comm->rank;
    const char *env = online->options->env;
    if (config->data.height != WM_ENV_SIZE || config->data.width != WM_ENV_SIZE) /* frames go in as rendered */
        return wm_error_set(err, WM_ERR_ARG, "data.height and data.width are %ldx%ld; environments give %dx%d frames "
                            "(a remote one's resized to it), which the online loop trains on as they are",
                            config->data.height, config->data.width, WM_ENV_SIZE, WM_ENV_SIZE);
    if (rank == 0) snprintf(online->episodes_dir, sizeof online->episodes_dir, "%s", online->paths->episodes);
    else snprintf(online->episodes_dir, sizeof online->episodes_dir, "%s-rank%d", online->paths->episodes, rank);
    if ((rank == 0 && run_prepare(online->paths, config, err)) || env_create(&online->env, env, seed, repeat, err))
        return err->status;
    online->made_env = 1;
    env_set_timeout(&online->env, config->online.env_timeout);
    if (online->env.remote == NULL) { /* a remote system is one: it evaluates where it collects */
        if (env_create(&online->eval_env, env, seed + EVAL_SEED_OFFSET, repeat, err)) return err->status;
        online->made_eval_env = 1;
    }
    online->explore = rng_stream(seed, WM_STREAM_EXPLORE);
    return fs_make_dirs(online->episodes_dir, err);
}

/* The trainer, and the agent that acts with its model (and its actor and value, when imagination trains them). */
static WmStatus make_learner(WmOnline *online, WmError *err) {
    const WmConfig *config = online->config;
    const int A = env_action_dim(&online->env);
    WmConfig resolved;
    if (run_resolve_precision(online->paths, online->comm, config, A, 1, &resolved, &online->precision, err) ||
        trainer_create(online->trainer, &resolved, A, env_state_dim(&online->env), err))
        return err->status;
    online->made_trainer = 1;
    online->trainer->config = *config; /* the words as written: the checkpoints record what auto chose */
    trainer_join(online->trainer, online->comm);
    const WmPlanSettings settings = plan_settings_from_config(&resolved, A);
    const WmImagination *im = online->trainer->imagination;
    if (agent_init(online->agent, &online->trainer->model, &settings, im ? &im->actor : NULL, im ? &im->value : NULL,
                   (uint64_t)config->run.seed, err))
        return err->status;
    online->made_agent = 1;
    streams_for_rank(online, online->agent);
    return WM_OK;
}

/* Resumes from the run's checkpoint, or starts it with the seed episodes of random actions. */
static WmStatus resume_or_seed(WmOnline *online, WmError *err) {
    const WmRunPaths *paths = online->paths;
    WmTrainer *trainer = online->trainer;
    if (fs_exists(paths->latest)) {
        if (checkpoint_load_trainer(trainer, paths->latest, err) ||
            (online->comm->rank == 0 && run_trim_metrics(paths, trainer->step, err)) ||
            resume(online, trainer, online->agent, online->observer, err))
            return err->status;
        train_note(online->observer, "resuming %s from step %ld, %ld episode%s", online->options->run, trainer->step,
                   online->episodes, wm_plural(online->episodes));
        return WM_OK;
    }
    /* A first start killed before its first checkpoint: a remote system's episodes from it are kept and count
     * toward the seed episodes. */
    long kept; /* none but a remote system's: a simulated task's unsaved episodes are forgotten */
    if (forget_unsaved_episodes(online, 0, online->observer, &kept, err) ||
        (kept > 0 && read_back_episodes(online, trainer, err)))
        return err->status;
    if (online->episodes > 0)
        train_note(online->observer, "%ld episode%s recorded before a stop kept in the replay", online->episodes,
                   wm_plural(online->episodes));
    WmRandomPolicy random = {&online->explore, env_action_dim(&online->env)};
    const WmPolicy seed_policy = policy_random(&random);
    for (long i = online->episodes; i < online->config->online.seed_episodes; i++)
        if (play_and_keep(online, trainer, &seed_policy, NULL, err)) return err->status;
    return WM_OK;
}

static void announce(const WmOnline *online) {
    const WmConfig *config = online->config;
    char precision[400];
    run_precision_describe(&online->precision, precision, sizeof precision);
    train_note(online->observer, "%s", precision);
    if (config->online.train_ratio > 0.0)
        train_note(online->observer, "online on %s, %ld episode%s so far, %ld steps, an episode whenever %g steps "
                   "have been replayed per collected step (online.train_ratio)", online->options->env, online->episodes,
                   wm_plural(online->episodes), config->run.steps, config->online.train_ratio);
    else
        train_note(online->observer, "online on %s, %ld episode%s so far, %ld steps, an episode every %ld step%s",
                   online->options->env, online->episodes, wm_plural(online->episodes), config->run.steps,
                   config->online.steps_per_episode, wm_plural(config->online.steps_per_episode));
    const double hz = online->env.remote ? env_remote_spec(online->env.remote)->control_hz : 0.0;
    if (hz > 0.0 && config->online.mode == WM_ONLINE_SYNC)
        train_note(online->observer, "%s runs in real time at %g Hz, but this loop is synchronous: the environment "
                   "waits for each action while wm trains between episodes (online.mode: async keeps its pace)",
                   online->options->env, hz);
    if (online->comm->size > 1)
        train_note(online->observer, "%d ranks, each collecting its own episodes and sampling %ld sequences a step "
                   "(a global batch of %ld); the episode counts and returns shown are rank 0's", online->comm->size,
                   config->data.batch, config->data.batch * online->comm->size);
}

/* The progress line after a step: the ETA counts the steps left and the rounds' acting time. */
static void report_step(const WmOnline *online, const Rounds *r, long first_step, const WmLosses *losses) {
    const WmConfig *config = online->config;
    const WmTrainer *trainer = online->trainer;
    const double elapsed = wm_clock_seconds() - r->start,
                 per_step = (elapsed - r->acting_seconds) / (trainer->step - first_step);
    const long so_far = r->rounds ? (trainer->step - first_step) / r->rounds : 1, /* steps per round, by ratio */
               every = config->online.train_ratio > 0.0 ? (so_far > 0 ? so_far : 1) : config->online.steps_per_episode,
               rounds_left = config->run.steps / every - trainer->step / every;
    const WmTrainProgress progress = {
        .online = 1, .logged = loop_logs_at(config, trainer->step), .step = trainer->step,
        .total = config->run.steps, .episodes = online->episodes,
        .steps_per_second = (trainer->step - first_step) / elapsed,
        .eta_seconds = per_step * (config->run.steps - trainer->step) +
                       (r->rounds ? r->acting_seconds / r->rounds : 0.0) * (double)rounds_left,
        .train_return = r->last_train, .eval_return = r->last_eval, .losses = losses};
    train_report(online->observer, &progress);
}

/* Whether the round's training is done after `step` steps: every online.steps_per_episode, or once the replayed
 * steps reach online.train_ratio times the collected ones (summed over the ranks, so they all agree). */
static WmStatus round_ends(const WmOnline *online, long step, int *ends, WmError *err) {
    const WmConfig *config = online->config;
    if (config->online.train_ratio <= 0.0) {
        *ends = step % config->online.steps_per_episode == 0;
        return WM_OK;
    }
    double counts[2] = {(double)step * config->data.batch * config->data.length, (double)online->policy_frames};
    if (online->comm->size > 1 && comm_sum_doubles(online->comm, counts, 2, err)) return err->status;
    *ends = counts[0] >= config->online.train_ratio * counts[1];
    return WM_OK;
}

/* Steps to run.steps, or to a stop signal, a round of acting whenever round_ends says. */
static WmStatus train_rounds(WmOnline *online, WmError *err) {
    const WmConfig *config = online->config;
    WmTrainer *trainer = online->trainer;
    const long first_step = trainer->step;
    const double frames_per_step = (double)config->data.batch * config->data.length;
    WmAgentPolicy explorer = {online->agent, &online->explore, (float)config->online.exploration_noise, NULL, NULL},
                  evaluator = {online->agent, NULL, 0.0f, NULL, NULL};
    Rounds r = {wm_clock_seconds(), trainer->model_seconds, trainer->imagine_seconds, 0.0, 0, NAN, NAN,
                agent_policy(&explorer), agent_policy(&evaluator)};
    const WmLoopTail tail = {online->observer, online->comm, config, online_save, online};
    int stopped = 0;
    while (trainer->step < config->run.steps && !stopped) {
        WmLosses losses;
        if (trainer_step(trainer, &losses, err)) return err->status;
        report_step(online, &r, first_step, &losses);
        const double elapsed = wm_clock_seconds() - r.start;
        if (loop_logs_at(config, trainer->step) && online->metrics)
            run_write_step_metrics(online->metrics, trainer, &losses, elapsed,
                                   frames_per_step * (trainer->step - first_step) / elapsed, NULL);
        int ends = 0; /* a round, then a checkpoint */
        if (round_ends(online, trainer->step, &ends, err) || (ends && play_round(online, &r, online->metrics, err)) ||
            loop_after_step(&tail, trainer->step, ends, &stopped, err))
            return err->status;
    }
    if (!stopped)
        train_note(online->observer, "%s at step %ld, %ld episode%s (%.1f s): last train return %.1f, last eval "
                   "return %.1f", online->options->run, trainer->step, online->episodes, wm_plural(online->episodes),
                   wm_clock_seconds() - r.start, r.last_train, r.last_eval);
    return WM_OK;
}

WmStatus train_online(const WmTrainOptions *opts, const WmConfig *config, const WmRunPaths *paths,
                      const WmTrainObserver *observer, WmError *err) {
    WmTrainer trainer;
    WmAgent agent;
    const WmComm single = comm_single();
    WmOnline online = {.comm = opts->comm ? opts->comm : &single, .paths = paths, .options = opts, .config = config,
                     .observer = observer, .trainer = &trainer, .agent = &agent};
    if (open_environments(&online, err) == WM_OK && make_learner(&online, err) == WM_OK &&
        resume_or_seed(&online, err) == WM_OK &&
        (online.comm->rank != 0 || run_open_metrics(paths, &online.metrics, err) == WM_OK)) {
        announce(&online);
        if (config->online.mode == WM_ONLINE_ASYNC) online_train_async(&online, err);
        else train_rounds(&online, err);
    }
    if (online.metrics) fclose(online.metrics);
    if (online.made_agent) agent_free(&agent);
    if (online.made_trainer) trainer_free(&trainer);
    if (online.made_env) env_free(&online.env);
    if (online.made_eval_env) env_free(&online.eval_env);
    return err->status;
}
