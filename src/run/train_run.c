#include "run/train_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/fs.h"
#include "data/env_remote.h"
#include "run/loops.h"

void train_note(const WmTrainObserver *observer, const char *format, ...) {
    if (observer->note == NULL) return;
    char line[8192];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    observer->note(observer->ctx, line);
}

int train_stop_requested(const WmTrainObserver *observer) {
    return observer->stop_requested && observer->stop_requested(observer->ctx);
}

void train_report(const WmTrainObserver *observer, const WmTrainProgress *progress) {
    if (observer->progress) observer->progress(observer->ctx, progress);
}

int loop_logs_at(const WmConfig *config, long step) {
    return step % config->run.log_every == 0 || step == config->run.steps;
}

WmStatus loop_after_step(const WmLoopTail *tail, long step, int also_due, int *stopped, WmError *err) {
    const WmConfig *c = tail->config;
    *stopped = comm_any(tail->comm, train_stop_requested(tail->observer)); /* every rank stops at one step */
    if ((*stopped || also_due || step % c->run.checkpoint_every == 0 || step == c->run.steps) &&
        tail->save(tail->save_ctx, err))
        return err->status;
    if (*stopped)
        train_note(tail->observer, "stopped at step %ld on a signal; checkpoint written, the same command resumes", step);
    return WM_OK;
}

/* Rank 0 takes the run's lock; every rank learns whether it got it. */
static WmStatus lock_run(const WmComm *comm, const WmRunPaths *paths, int *lock, WmError *err) {
    *lock = -1;
    if (comm->rank == 0) run_lock(paths, lock, err);
    if (comm_any(comm, err->status != WM_OK) && err->status == WM_OK)
        wm_error_set(err, WM_ERR_PEER, "stopped: rank 0 could not take %s", paths->lock);
    return err->status;
}


/* Whether `dir` holds a recorded episode (episode_N, not a half-written .tmp). */
static int holds_episodes(const char *dir) {
    char **names = NULL;
    int count = 0, found = 0;
    WmError err = {0};
    if (!fs_is_dir(dir) || fs_list_dir(dir, &names, &count, &err)) return 0;
    for (int i = 0; i < count && !found; i++)
        found = strncmp(names[i], "episode_", 8) == 0 && strstr(names[i], ".tmp") == NULL;
    fs_free_list(names, count);
    return found;
}

WmStatus run_train(const WmTrainOptions *o, const WmTrainObserver *observer, WmError *err) {
    if (o->run == NULL || (o->data == NULL) == (o->env == NULL))
        return wm_error_set(err, WM_ERR_ARG, "--run and one of --data DIR (offline) or --env NAME (online) are required");
    WmRunPaths paths;
    run_paths(&paths, o->run);
    const WmComm single = comm_single(), *comm = o->comm ? o->comm : &single;
    const int directory_was_new = !fs_exists(paths.dir);
    int lock;
    /* The lock comes before anything in the directory is read, so that two starts cannot both take it for new. */
    if (lock_run(comm, &paths, &lock, err)) return err->status;
    const int resuming = fs_exists(paths.config);
    const WmConfigRequest request = {o->config_path, o->sets, o->set_count, o->steps, o->env};
    WmConfig config;
    WmStatus status = run_resolve_config(&paths, resuming, &request, &config, err);
    /* In a data-parallel job every rank has looked at the run directory before rank 0 writes into it. */
    if (status == WM_OK) status = comm_barrier(comm, err);
    if (status == WM_OK)
        status = o->env ? train_online(o, &config, &paths, observer, err)
                        : train_offline(o, &config, &paths, observer, err);
    /* A first start that failed leaves no run directory that a second start would take for a resume; but a remote
     * system's episodes cannot be recorded again, so a run that holds some stays, and the same command resumes it
     * with them (online.c). */
    const int keeps_episodes = o->env && env_remote_is_name(o->env) && holds_episodes(paths.episodes);
    if (status && !resuming && comm->rank == 0 && !keeps_episodes) run_discard(&paths, directory_was_new);
    run_unlock(&lock);
    return status;
}
