#include "run/train_run.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/fs.h"
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

WmStatus run_train(const WmTrainOptions *o, const WmTrainObserver *observer, WmError *err) {
    if (o->run == NULL || (o->data == NULL) == (o->env == NULL))
        return wm_error_set(err, WM_ERR_ARG, "--run and one of --data DIR (offline) or --env NAME (online) are required");
    WmRunPaths paths;
    run_paths(&paths, o->run);
    WmConfig config;
    const int resuming = fs_exists(paths.config), directory_was_new = !fs_exists(paths.dir);
    if ((resuming && run_check_resume_config(&paths, o->config_path, err)) ||
        run_resolve_config(&paths, resuming, o->config_path, o->sets, o->set_count, o->steps, &config, err))
        return err->status;
    if (o->env) snprintf(config.data.env, sizeof config.data.env, "%s", o->env); /* the run's task, in its config */
    /* In a data-parallel job every rank has looked at the run directory before rank 0 writes into it. */
    const WmComm single = comm_single(), *comm = o->comm ? o->comm : &single;
    if (comm_barrier(comm, err)) return err->status;
    const WmStatus status = o->env ? train_online(o, &config, &paths, observer, err)
                                   : train_offline(o, &config, &paths, observer, err);
    /* A first start that failed leaves no run directory that a second start would take for a resume. */
    if (status && !resuming && comm->rank == 0) run_discard(&paths, directory_was_new);
    return status;
}
