/* wm plan --run R --frames SOURCE: the camera path. Each frame is folded into the latent state with the action
 * printed last, the planner chooses the next action, and one line of space-separated floats goes to stdout,
 * flushed. SOURCE is `-` (raw RGB24 frames on stdin, --frame-size WxH), a directory of PNG frames (sorted by name),
 * or a V4L2 camera (tools/frame_source.c). Frames of another size than the model's are resized. A model that takes a
 * state vector beside each frame reads it from the PNG directory's steps.csv (columns state_0..), row by frame. Per-frame latency
 * goes to R/plan_metrics.jsonl (a warning, not a refusal, when it cannot be written). A closed stdout, Ctrl-C,
 * SIGTERM or SIGHUP ends it cleanly, with the metrics flushed and the summary line. */
#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "frame_source.h"
#include "core/clock.h"
#include "core/fs.h"
#include "data/episode.h"
#include "data/frame_resize.h"
#include "run/acting.h"
#include "run/metrics.h"
#include "run/run_dir.h"
#include "stop_signal.h"

static int plan_usage(FILE *out, int code) {
    fprintf(out, "usage: wm plan --run R --frames SOURCE [--frame-size WxH] [--planner P] [--action-dim A] [--threads N]\n"
                 "  SOURCE: - (raw RGB24 on stdin; needs --frame-size), a directory of PNG frames, or a V4L2 device\n"
                 "          such as /dev/video0 (--frame-size is what the camera is asked for; default 640x480)\n"
                 "  --action-dim A   the actions the model was trained with (default: the run's checkpoint)\n"
                 "  --set k=v        a config key over the run's (plan.candidates=500, plan.precision=fp32, ...)\n"
                 "  --checkpoint C   latest (default) or step_N, from R/checkpoints\n"
                 "  --planner P      shooting, cem, mppi or actor (default: the run's plan.planner)\n"
                 "example: ffmpeg -i clip.mp4 -pix_fmt rgb24 -s 64x64 -f rawvideo - | wm plan --run runs/cp --frames - --frame-size 64x64\n");
    return code;
}

typedef struct {
    const char *run, *source, *frame_size, *planner, *checkpoint;
    long threads, action_dim;
    int in_width, in_height; /* from --frame-size; 0 when not given */
    CliList sets;
} PlanRequest;

static WmStatus parse_options(int argc, char **argv, PlanRequest *r, WmError *err) {
    *r = (PlanRequest){.threads = omp_get_max_threads()};
    const CliOption options[] = {
        {"--run", CLI_TEXT, &r->run, 0, 0},
        {"--frames", CLI_TEXT, &r->source, 0, 0},
        {"--frame-size", CLI_TEXT, &r->frame_size, 0, 0},
        {"--planner", CLI_TEXT, &r->planner, 0, 0},
        {"--action-dim", CLI_LONG, &r->action_dim, 1, 64},
        {"--threads", CLI_LONG, &r->threads, 1, 1024},
        {"--set", CLI_LIST, &r->sets, 0, 0},
        {"--checkpoint", CLI_TEXT, &r->checkpoint, 0, 0},
    };
    if (cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), err)) return err->status;
    char extra;
    if (!r->run || !r->source) return wm_error_set(err, WM_ERR_ARG, "--run and --frames are required");
    if (cli_check_sets(&r->sets, err)) return err->status;
    if (r->frame_size && (sscanf(r->frame_size, "%dx%d%c", &r->in_width, &r->in_height, &extra) != 2 ||
                          r->in_width < 1 || r->in_height < 1 || r->in_width > 8192 || r->in_height > 8192))
        return wm_error_set(err, WM_ERR_ARG, "--frame-size %s: not WxH (e.g. 64x64)", r->frame_size);
    if (strcmp(r->source, "-") == 0 && !r->frame_size)
        return wm_error_set(err, WM_ERR_ARG, "--frames -: needs --frame-size WxH (e.g. 64x64)");
    if (r->planner && config_choice_value("plan.planner", r->planner) < 0)
        return wm_error_set(err, WM_ERR_ARG, "--planner: '%s' is not shooting, cem, mppi or actor", r->planner);
    return WM_OK;
}

/* A model with states: the PNG directory's episode, read for its steps.csv states (frames.length rows). */
static WmStatus read_states(const PlanRequest *r, const WmWorldModel *model, WmEpisode *states, WmError *err) {
    const int S = (int)model->config.state_dim;
    if (!fs_is_dir(r->source))
        return wm_error_set(err, WM_ERR_ARG, "--frames %s: the model takes %d state number%s beside each frame; give a "
                            "PNG directory whose steps.csv has columns state_0..", r->source, S, wm_plural(S));
    WmFrameSize size = {(int)model->config.height, (int)model->config.width, 0};
    WmError read = {0};
    if (episode_read(r->source, &size, states, &read))
        return wm_error_set(err, read.status, "--frames %s: the model takes %d state number%s beside each frame, from "
                            "steps.csv: %s", r->source, S, wm_plural(S), read.message);
    if (states->state_dim != S)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: steps.csv has %d state column%s, the model takes %d", r->source,
                            states->state_dim, wm_plural(states->state_dim), S);
    return WM_OK;
}

/* Acts on every frame until the source ends, a stop signal or a closed stdout (*stdout_closed, not an error);
 * `states` (the frames' rows, or NULL) goes beside them. */
static WmStatus act_on_frames(WmAgent *agent, const WmWorldModel *model, FrameSource *frames,
                              const WmEpisode *states, FILE *metrics, int *stdout_closed, WmError *err) {
    const int dim = model->action_dim, H = (int)model->config.height, W = (int)model->config.width;
    uint8_t *frame = malloc((size_t)H * W * 3);
    float *action = malloc((size_t)dim * sizeof *action);
    if (frame == NULL || action == NULL) wm_error_set(err, WM_ERR_NOMEM, "out of memory for a frame");
    const double start = wm_clock_seconds();
    for (long index = 0; err->status == WM_OK && !stop_signal_received(); index++) {
        const int got = frame_source_next(frames, err);
        if (got < 0 && stop_signal_received()) *err = (WmError){0};
        if (got <= 0) break;
        const double t0 = wm_clock_seconds();
        frame_resize_rgb(frame, H, W, frames->pixels, frames->height, frames->width);
        if (states && index >= states->length) {
            wm_error_set(err, WM_ERR_FORMAT, "--frames: frame %ld has no row in steps.csv (%d rows)", index,
                         states->length);
            break;
        }
        const float *state = states ? states->states + (size_t)index * states->state_dim : NULL;
        if (agent_observe(agent, frame, state, err) || agent_act(agent, action, err)) break;
        const double latency = wm_clock_seconds() - t0;
        for (int a = 0; a < dim; a++) printf(a ? " %.6f" : "%.6f", action[a]);
        printf("\n");
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "wm plan: stdout closed after %ld frames (%s); stopping\n", index + 1, strerror(errno));
            *stdout_closed = 1;
            break;
        }
        if (metrics) {
            cJSON *line = metrics_line();
            metrics_add(line, "frame", (double)index), metrics_add(line, "latency_ms", round_to(latency * 1e3, 3));
            metrics_add(line, "wall_s", round_to(wm_clock_seconds() - start, 3));
            metrics_write(metrics, line);
        }
    }
    free(frame);
    free(action);
    return err->status;
}

int command_plan(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return plan_usage(stdout, 0);
    PlanRequest r;
    WmError err = {0};
    if (parse_options(argc, argv, &r, &err)) {
        fprintf(stderr, "wm plan: %s\n", err.message);
        return plan_usage(stderr, 2);
    }
    omp_set_num_threads((int)r.threads);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout shows up as a write error, handled below */
    stop_signal_install(); /* the frame in hand is finished; the metrics and summary still go out */
    WmRunAgent acting;
    memset(&acting, 0, sizeof acting);
    FrameSource frames;
    int made_source = 0, stdout_closed = 0;
    WmEpisode states;
    memset(&states, 0, sizeof states);
    FILE *metrics = NULL;
    /* The planner's streams from the run's own seed. */
    if (run_agent_open(&acting, r.run, r.checkpoint, r.sets.items, r.sets.count, r.planner, (int)r.action_dim, -1,
                       &err) == WM_OK) {
        WmRunPaths paths;
        run_paths(&paths, r.run);
        /* Acting matters more than its log: a run directory that cannot be written to is a warning. */
        metrics = fopen(paths.plan_metrics, "a");
        if (metrics == NULL)
            fprintf(stderr, "wm plan: warning: %s: cannot open for appending; no latency log\n", paths.plan_metrics);
        const int with_states = acting.model.config.state_dim > 0;
        if (!with_states || read_states(&r, &acting.model, &states, &err) == WM_OK) {
            made_source = 1; /* frame_source_close also cleans up after a failed open */
            if (frame_source_open(&frames, r.source, r.in_width, r.in_height, &err) == WM_OK) {
                frames.stop_requested = stop_signal_received;
                act_on_frames(&acting.agent, &acting.model, &frames, with_states ? &states : NULL, metrics,
                              &stdout_closed, &err);
            }
        }
    }
    const WmAgent *agent = &acting.agent;
    if (err.status == WM_OK && !stdout_closed) {
        if (stop_signal_received()) fprintf(stderr, "wm plan: stopped on a signal\n");
        fprintf(stderr, "wm plan: %ld frames, %.3f ms per decision\n", agent->decisions,
                agent->decisions ? 1e3 * agent->plan_seconds / agent->decisions : 0.0);
    }
    if (err.status) fprintf(stderr, "wm plan: %s\n", err.message);
    if (metrics) fclose(metrics);
    run_agent_close(&acting);
    episode_free(&states);
    if (made_source) frame_source_close(&frames);
    return err.status ? 1 : 0;
}
