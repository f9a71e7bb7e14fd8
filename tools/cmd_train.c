/* wm train --config C --run R (--data DIR | --env NAME): offline training on recorded episodes, or PlaNet's online
 * loop, resumable (src/run/train_run.h). This file parses, prints and picks the exit code. */
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "core/comm.h"
#include "progress.h"
#include "run/run_dir.h"
#include "run/train_run.h"
#include "stop_signal.h"

static int train_usage(FILE *out, int code) {
    fprintf(out, "usage: wm train --run R (--data DIR | --env NAME) [--config C] [--steps N] [--set k=v ...]\n"
                 "                [--threads N] [--skip-bad]\n"
                 "  --run R       run directory; an existing one is resumed from R/latest.safetensors\n"
                 "  --data DIR    recorded episodes (never written to): offline training\n"
                 "  --env NAME    a built-in environment: the online loop (seed episodes, then train / collect with\n"
                 "                the planner and exploration noise / evaluate), episodes kept in R/episodes\n"
                 "  --config C    YAML overriding configs/default.yaml's keys (a new run only)\n"
                 "  --steps N     total gradient steps (run.steps; default 5000)\n"
                 "  --set k=v     any config key, applied last (wm config --keys lists them)\n"
                 "  --threads N   OpenMP/oneDNN threads (default: all cores); results are bit-identical for the\n"
                 "                same count\n"
                 "  --skip-bad    pass malformed episodes of --data over instead of stopping (default: stop)\n"
                 "under mpirun -np N, N ranks train one model data-parallel: each samples data.batch sequences\n"
                 "(a global batch of N x data.batch), gradients are averaged every step, rank 0 writes the run\n"
                 "example: wm train --config configs/cartpole-actor.yaml --run runs/cp-actor --env cartpole-swingup\n");
    return code;
}

static void format_eta(char *out, size_t size, double seconds) {
    if (seconds >= 3600) snprintf(out, size, "%dh%02dm", (int)(seconds / 3600), (int)(seconds / 60) % 60);
    else snprintf(out, size, "%dm%02ds", (int)(seconds / 60), (int)seconds % 60);
}

static void print_note(void *ctx, const char *line) {
    (void)ctx;
    progress_done();
    fprintf(stderr, "wm train: %s\n", line);
}

/* On a terminal one line, rewritten every step; in a log one plain line per run.log_every. */
static void print_progress(void *ctx, const WmTrainProgress *p) {
    (void)ctx;
    char eta[32], text[512], returns[96] = "";
    format_eta(eta, sizeof eta, p->eta_seconds);
    const WmLosses *l = p->losses;
    if (p->online) {
        if (p->train_return == p->train_return) /* not NaN: an episode was collected */
            snprintf(returns, sizeof returns, "  return %.0f", p->train_return);
        if (p->eval_return == p->eval_return)
            snprintf(returns + strlen(returns), sizeof returns - strlen(returns), "  eval %.0f", p->eval_return);
        snprintf(text, sizeof text, "step %ld/%ld  %.2f/s  ETA %s  ep %ld%s  loss %.1f  kl %.2f", p->step, p->total,
                 p->steps_per_second, eta, p->episodes, returns, l->loss, l->kl);
    } else {
        snprintf(text, sizeof text, "step %ld/%ld  %.2f/s  ETA %s  loss %.1f  image %.1f  reward %.3f  kl %.2f",
                 p->step, p->total, p->steps_per_second, eta, l->loss, l->image_nll, l->reward_nll, l->kl);
    }
    if (progress_is_terminal()) progress_line("%s", text);
    else if (p->logged) fprintf(stderr, "wm train: %s\n", text);
}

static int stop_requested(void *ctx) {
    (void)ctx;
    return stop_signal_received();
}

int command_train(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return train_usage(stdout, 0);
    WmTrainOptions train = {0};
    CliList sets = {0};
    long threads = 0;
    WmError err = {0};
    const CliOption options[] = {
        {"--config", CLI_TEXT, &train.config_path, 0, 0}, {"--run", CLI_TEXT, &train.run, 0, 0},
        {"--data", CLI_TEXT, &train.data, 0, 0},          {"--env", CLI_TEXT, &train.env, 0, 0},
        {"--steps", CLI_LONG, &train.steps, 1, 1000000000}, {"--threads", CLI_LONG, &threads, 1, 1024},
        {"--set", CLI_LIST, &sets, 0, 0},             {"--skip-bad", CLI_FLAG, &train.skip_bad, 0, 0},
    };
    if (cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err) == WM_OK &&
        (train.run == NULL || (train.data == NULL) == (train.env == NULL)))
        wm_error_set(&err, WM_ERR_ARG, "--run and one of --data DIR (offline) or --env NAME (online) are required");
    if (err.status == WM_OK && cli_check_env("--env", train.env, &err) == WM_OK) cli_check_sets(&sets, &err);
    if (err.status) {
        fprintf(stderr, "wm train: %s\n", err.message);
        return train_usage(stderr, 2);
    }
    if (threads > 0) omp_set_num_threads((int)threads);
    train.sets = sets.items, train.set_count = sets.count;
    stop_signal_install(); /* the loop checkpoints and stops at the next step */
    /* Under mpirun, one rank of a data-parallel job; rank 0 alone prints progress and notes. */
    WmComm comm;
    if (comm_join(&comm, &err)) {
        fprintf(stderr, "wm train: %s\n", err.message);
        return 1;
    }
    train.comm = &comm;
    const WmTrainObserver observer = {NULL, comm.rank == 0 ? print_note : NULL,
                                      comm.rank == 0 ? print_progress : NULL, stop_requested};
    if (run_train(&train, &observer, &err) == WM_OK) {
        comm_leave(&comm);
        return 0;
    }
    progress_done();
    char rank[32] = "";
    if (comm.size > 1) snprintf(rank, sizeof rank, "rank %d: ", comm.rank);
    fprintf(stderr, "wm train: %s%s\n", rank, err.message);
    if (err.status == WM_ERR_NUMERIC) {
        WmRunPaths paths;
        run_paths(&paths, train.run);
        fprintf(stderr, "wm train: %sthe last good checkpoint is %s\n", rank, paths.latest);
    }
    /* The other ranks may be waiting in a collective for this one: end the job, not only this rank. A rank stopped
     * because another failed leaves quietly, so that the failing one's own line gets out before its abort. */
    if (err.status != WM_ERR_PEER) comm_abort(&comm, 1);
    comm_leave(&comm);
    return 1;
}
