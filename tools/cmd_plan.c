/* wm plan --run R --frames SOURCE: the camera path. Each frame is folded into the latent state with the action
 * printed last, the planner chooses the next action, and one line of space-separated floats goes to stdout,
 * flushed. SOURCE is `-` (raw RGB24 frames on stdin, --frame-size WxH), or a directory of PNG frames (sorted by
 * name). Frames of another size than the model's are resized. Per-frame latency goes to R/plan_metrics.jsonl. */
#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/clock.h"
#include "core/fs.h"
#include "core/safetensors.h"
#include "data/episode_png.h"
#include "data/frame_resize.h"
#include "plan/agent.h"
#include "run_dir.h"

static int plan_usage(FILE *out, int code) {
    fprintf(out, "usage: wm plan --run R --frames SOURCE [--frame-size WxH] [--planner P] [--action-dim A] [--threads N]\n"
                 "  SOURCE: - (raw RGB24 on stdin; needs --frame-size), or a directory of PNG frames\n"
                 "  --action-dim A   the actions the model was trained with (default: the run's checkpoint)\n");
    return code;
}

/* The checkpoint's action_dim, read from its metadata. */
static WmStatus run_action_dim(const char *run, int *action_dim, WmError *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/latest.safetensors", run);
    WmSafetensors file;
    if (!fs_exists(path)) return wm_error_set(err, WM_ERR_ARG, "%s: no checkpoint yet (latest.safetensors)", run);
    if (safetensors_open(&file, path, err)) return err->status;
    const char *text = safetensors_meta(&file, "action_dim");
    *action_dim = text ? atoi(text) : 0;
    safetensors_close(&file);
    if (*action_dim < 1) return wm_error_set(err, WM_ERR_FORMAT, "%s: no action_dim in its metadata", path);
    return WM_OK;
}

int command_plan(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return plan_usage(stdout, 0);
    const char *run = NULL, *source = NULL, *frame_size = NULL, *planner_name = NULL;
    long threads = omp_get_max_threads(), action_dim = 0;
    WmError err = {0};
    const CliOption options[] = {
        {"--run", CLI_TEXT, &run, 0, 0},
        {"--frames", CLI_TEXT, &source, 0, 0},
        {"--frame-size", CLI_TEXT, &frame_size, 0, 0},
        {"--planner", CLI_TEXT, &planner_name, 0, 0},
        {"--action-dim", CLI_LONG, &action_dim, 1, 64},
        {"--threads", CLI_LONG, &threads, 1, 1024},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    int in_width = 0, in_height = 0;
    char extra;
    if (err.status == WM_OK && (!run || !source)) wm_error_set(&err, WM_ERR_ARG, "--run and --frames are required");
    if (err.status == WM_OK && strcmp(source, "-") == 0 &&
        (!frame_size || sscanf(frame_size, "%dx%d%c", &in_width, &in_height, &extra) != 2 || in_width < 1 ||
         in_height < 1 || in_width > 8192 || in_height > 8192))
        wm_error_set(&err, WM_ERR_ARG, "--frames -: needs --frame-size WxH (e.g. 64x64)");
    if (err.status == WM_OK && strcmp(source, "-") != 0 && !fs_is_dir(source))
        wm_error_set(&err, WM_ERR_ARG, "--frames %s: not '-' nor a directory of PNG frames (V4L2 devices are not "
                     "supported in this version)", source);
    if (err.status == WM_OK && planner_name && plan_kind_from_name(planner_name) < 0)
        wm_error_set(&err, WM_ERR_ARG, "--planner: '%s' is not shooting, cem or mppi", planner_name);
    if (err.status) {
        fprintf(stderr, "wm plan: %s\n", err.message);
        return plan_usage(stderr, 2);
    }
    omp_set_num_threads((int)threads);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout shows up as a write error, handled below */
    WmTrainer trainer;
    WmAgent agent;
    int opened = 0, made_agent = 0, code = 1, count = 0;
    char **names = NULL;
    uint8_t *raw = NULL, *frame = NULL;
    FILE *metrics = NULL;
    int dim = (int)action_dim;
    if (dim == 0 && run_action_dim(run, &dim, &err)) goto done;
    if (run_open(run, dim, 1, 2, &trainer, &err)) goto done;
    opened = 1;
    const WmConfig *c = &trainer.model.config;
    const int H = (int)c->data.height, W = (int)c->data.width;
    WmConfig planning = *c;
    if (planner_name) snprintf(planning.plan.planner, sizeof planning.plan.planner, "%s", planner_name);
    const WmPlanSettings settings = plan_settings_from_config(&planning, dim);
    if (agent_init(&agent, &trainer.model, &settings, (uint64_t)c->run.seed, &err)) goto done;
    made_agent = 1;
    agent_reset(&agent);
    char metrics_path[4200];
    snprintf(metrics_path, sizeof metrics_path, "%s/plan_metrics.jsonl", run);
    metrics = fopen(metrics_path, "a");
    frame = malloc((size_t)H * W * 3);
    if (metrics == NULL || frame == NULL) {
        wm_error_set(&err, WM_ERR_IO, "%s: cannot open for appending", metrics_path);
        goto done;
    }
    const int from_stdin = strcmp(source, "-") == 0;
    if (from_stdin) {
        raw = malloc((size_t)in_width * in_height * 3);
    } else {
        char **all = NULL;
        int all_count = 0;
        if (fs_list_dir(source, &all, &all_count, &err)) goto done;
        names = calloc((size_t)all_count + 1, sizeof *names);
        for (int i = 0; i < all_count; i++)
            if (cli_ends_with(all[i], ".png")) names[count++] = all[i];
            else free(all[i]);
        free(all);
        if (count == 0) {
            wm_error_set(&err, WM_ERR_ARG, "%s: no .png frames", source);
            goto done;
        }
    }
    float action[64];
    const double start = wm_clock_seconds();
    for (long index = 0;; index++) {
        int got_height = in_height, got_width = in_width;
        uint8_t *pixels = raw;
        if (from_stdin) {
            const size_t bytes = (size_t)in_width * in_height * 3, got = fread(raw, 1, bytes, stdin);
            if (got == 0 && feof(stdin)) break;
            if (got < bytes) {
                wm_error_set(&err, WM_ERR_FORMAT, "stdin: frame %ld is truncated: %zu of %zu bytes (is --frame-size "
                             "%dx%d right?)", index, got, bytes, in_width, in_height);
                goto done;
            }
        } else {
            if (index == count) break;
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", source, names[index]);
            free(raw);
            raw = NULL;
            if (png_read_rgb(path, &raw, &got_height, &got_width, &err)) goto done;
            pixels = raw;
        }
        const double t0 = wm_clock_seconds();
        frame_resize_rgb(frame, H, W, pixels, got_height, got_width);
        if (agent_observe(&agent, frame, &err) || agent_act(&agent, action, &err)) goto done;
        const double latency = wm_clock_seconds() - t0;
        for (int a = 0; a < dim; a++) printf(a ? " %.6f" : "%.6f", action[a]);
        printf("\n");
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "wm plan: stdout closed after %ld frames (%s); stopping\n", index + 1, strerror(errno));
            code = 0;
            goto done;
        }
        fprintf(metrics, "{\"frame\":%ld,\"latency_ms\":%.3f,\"wall_s\":%.3f}\n", index, latency * 1e3,
                wm_clock_seconds() - start);
    }
    fprintf(stderr, "wm plan: %ld frames, %.1f ms per decision\n", agent.decisions,
            agent.decisions ? 1e3 * agent.plan_seconds / agent.decisions : 0.0);
    code = 0;
done:
    if (code) fprintf(stderr, "wm plan: %s\n", err.message);
    if (metrics) fclose(metrics);
    if (made_agent) agent_free(&agent);
    if (opened) trainer_free(&trainer);
    for (int i = 0; i < count; i++) free(names[i]);
    free(names), free(raw), free(frame);
    return code;
}
