/* wm-viz scores: wm's learning curves over published ones. A reference file in the form of
 * ../shared/reference/dmc_vision.csv (task, method, seeds, then the mean return at 10k ... 1000k environment steps,
 * empty where a method has no figure) gives each method's curve; the runs give wm's: every evaluation logged in
 * metrics.jsonl (eval_return at env_steps), averaged per 10k-step bucket, then over the runs of a task (several
 * seeds), the band from their lowest to their highest. One panel per task, and a table at 50k, 100k and the last
 * step every run of the task reached. */
#include <cairo.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config/config.h"
#include "core/fs.h"
#include "run/metrics.h"
#include "run/run_dir.h"
#include "viz.h"
#include "viz_plot.h"

enum { COLUMNS_MAX = 32, ROWS_MAX = 256, RUNS_MAX = 64, BUCKETS_MAX = 200, TABLE_METHODS = 3 };
#define BUCKET_STEPS 10000.0
/* DeepMind Control's episodes: 1000 environment steps, whatever the action repeat (for runs that logged no
 * env_steps). */
#define DMC_EPISODE_STEPS 1000.0

static const char *const METHODS[TABLE_METHODS] = {"dreamerv3", "drqv2", "curl"};
static const char *const METHOD_NAMES[TABLE_METHODS] = {"DreamerV3", "DrQ-v2", "CURL"};

typedef struct {
    char task[64], method[32];
    double values[COLUMNS_MAX]; /* NAN where empty */
} ReferenceRow;

typedef struct {
    double steps[COLUMNS_MAX];
    int columns, count;
    ReferenceRow rows[ROWS_MAX];
} Reference;

/* "10k" or "1000k" -> steps. */
static int column_steps(const char *text, double *steps) {
    char *end = NULL;
    const double value = strtod(text, &end);
    if (end == text || (strcmp(end, "k") != 0 && *end != '\0')) return -1;
    *steps = *end == 'k' ? value * 1000.0 : value;
    return 0;
}

/* Splits a CSV line (no quoting in these files) in place; returns the field count. */
static int split_fields(char *line, char **fields, int most) {
    int count = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *field = line; count < most; field++) {
        fields[count++] = field;
        field = strchr(field, ',');
        if (field == NULL) break;
        *field = '\0';
    }
    return count;
}

static WmStatus reference_read(const char *path, Reference *ref, WmError *err) {
    FILE *f = fopen(path, "r");
    if (f == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot open the reference file", path);
    char line[2048], *fields[COLUMNS_MAX + 3];
    int number = 0;
    ref->count = ref->columns = 0;
    while (err->status == WM_OK && fgets(line, sizeof line, f)) {
        const int n = split_fields(line, fields, COLUMNS_MAX + 3);
        if (++number == 1) {
            if (n < 4 || strcmp(fields[0], "task") != 0 || strcmp(fields[1], "method") != 0)
                wm_error_set(err, WM_ERR_FORMAT, "%s:1: expected a header task,method,seeds,10k,...", path);
            for (int c = 3; c < n && err->status == WM_OK; c++)
                if (column_steps(fields[c], &ref->steps[ref->columns++]))
                    wm_error_set(err, WM_ERR_FORMAT, "%s:1: column %d: '%s' is not a step count", path, c + 1,
                                 fields[c]);
            continue;
        }
        if (n == 1 && fields[0][0] == '\0') continue;
        if (n != ref->columns + 3 || ref->count == ROWS_MAX) {
            wm_error_set(err, WM_ERR_FORMAT, "%s:%d: %d fields, the header has %d", path, number, n, ref->columns + 3);
            break;
        }
        ReferenceRow *row = &ref->rows[ref->count++];
        snprintf(row->task, sizeof row->task, "%s", fields[0]);
        snprintf(row->method, sizeof row->method, "%s", fields[1]);
        for (int c = 0; c < ref->columns && err->status == WM_OK; c++) {
            char *end = NULL;
            row->values[c] = fields[c + 3][0] ? strtod(fields[c + 3], &end) : NAN;
            if (fields[c + 3][0] && (*end != '\0' || !isfinite(row->values[c])))
                wm_error_set(err, WM_ERR_FORMAT, "%s:%d: '%s' is not a number", path, number, fields[c + 3]);
        }
    }
    fclose(f);
    if (err->status == WM_OK && ref->count == 0) wm_error_set(err, WM_ERR_FORMAT, "%s: no rows", path);
    return err->status;
}

/* A method's figure at `steps` on a task: its column, or linear between the neighbouring figures; NAN if none. */
static double reference_at(const Reference *ref, const char *task, const char *method, double steps) {
    for (int r = 0; r < ref->count; r++) {
        const ReferenceRow *row = &ref->rows[r];
        if (strcmp(row->task, task) != 0 || strcmp(row->method, method) != 0) continue;
        int below = -1, above = -1;
        for (int c = 0; c < ref->columns; c++) {
            if (isnan(row->values[c])) continue;
            if (ref->steps[c] <= steps) below = c;
            if (ref->steps[c] >= steps && above < 0) above = c;
        }
        if (below < 0 || above < 0) return NAN;
        if (below == above) return row->values[below];
        const double t = (steps - ref->steps[below]) / (ref->steps[above] - ref->steps[below]);
        return row->values[below] + t * (row->values[above] - row->values[below]);
    }
    return NAN;
}

/* One run: its task, its evaluations per 10k-step bucket, its length. */
typedef struct {
    char task[WM_CONFIG_TEXT_MAX];
    double sum[BUCKETS_MAX];
    int count[BUCKETS_MAX];
    int last_bucket; /* the highest bucket with an evaluation */
    double wall_s, updates;
    const char *path;
} RunCurve;

static WmStatus add_evaluation(void *ctx, const cJSON *object, const char *text, int number, WmError *err) {
    (void)text;
    RunCurve *run = ctx;
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(object, "step"),
                *wall = cJSON_GetObjectItemCaseSensitive(object, "wall_s");
    if (cJSON_IsNumber(step)) run->updates = fmax(run->updates, step->valuedouble);
    if (cJSON_IsNumber(wall)) run->wall_s = fmax(run->wall_s, wall->valuedouble);
    const cJSON *ret = cJSON_GetObjectItemCaseSensitive(object, "eval_return"),
                *env_steps = cJSON_GetObjectItemCaseSensitive(object, "env_steps"),
                *episodes = cJSON_GetObjectItemCaseSensitive(object, "episodes");
    if (!cJSON_IsNumber(ret)) return WM_OK;
    double steps;
    if (cJSON_IsNumber(env_steps)) steps = env_steps->valuedouble;
    else if (cJSON_IsNumber(episodes)) steps = episodes->valuedouble * DMC_EPISODE_STEPS;
    else
        return wm_error_set(err, WM_ERR_FORMAT, "%s:%d: an evaluation without env_steps or episodes", run->path,
                            number);
    const int bucket = (int)ceil(steps / BUCKET_STEPS - 1e-9);
    if (bucket < 1 || bucket >= BUCKETS_MAX) return WM_OK;
    run->sum[bucket] += ret->valuedouble, run->count[bucket]++;
    if (bucket > run->last_bucket) run->last_bucket = bucket;
    return WM_OK;
}

static WmStatus run_curve_read(const char *dir, RunCurve *run, WmError *err) {
    memset(run, 0, sizeof *run);
    run->path = dir;
    WmRunPaths paths;
    run_paths(&paths, dir);
    WmConfig config;
    config_defaults(&config);
    if (!fs_exists(paths.config)) return wm_error_set(err, WM_ERR_ARG, "%s: not a run (no config.yaml)", dir);
    if (config_load_yaml(&config, paths.config, err) || metrics_read(paths.metrics, add_evaluation, run, err))
        return err->status;
    snprintf(run->task, sizeof run->task, "%s", config.data.env);
    if (run->last_bucket == 0) return wm_error_set(err, WM_ERR_FORMAT, "%s: no evaluation logged yet", paths.metrics);
    return WM_OK;
}

static double run_at(const RunCurve *run, int bucket) {
    return run->count[bucket] ? run->sum[bucket] / run->count[bucket] : NAN;
}

/* wm's curve on one task: per bucket, the mean over the runs that evaluated there, and their lowest and highest. */
static int task_curve(RunCurve *const *runs, int count, const char *name, PlotSeries *s) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "wm (%d run%s)", count, count == 1 ? "" : "s");
    for (int b = 1; b < BUCKETS_MAX; b++) {
        double sum = 0.0, low = INFINITY, high = -INFINITY;
        int seen = 0;
        for (int r = 0; r < count; r++) {
            const double v = run_at(runs[r], b);
            if (isnan(v)) continue;
            sum += v, seen++, low = fmin(low, v), high = fmax(high, v);
        }
        if (seen && plot_series_add_band(s, b * BUCKET_STEPS, sum / seen, low, high)) return -1;
    }
    (void)name;
    return 0;
}

/* A method's curve up to `limit` steps (the panel shows wm's range, 100k at least). */
static int reference_curve(const Reference *ref, const char *task, int method, double limit, PlotSeries *s) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", METHOD_NAMES[method]);
    for (int r = 0; r < ref->count; r++) {
        if (strcmp(ref->rows[r].task, task) != 0 || strcmp(ref->rows[r].method, METHODS[method]) != 0) continue;
        for (int c = 0; c < ref->columns; c++)
            if (!isnan(ref->rows[r].values[c]) && ref->steps[c] <= limit &&
                plot_series_add(s, ref->steps[c], ref->rows[r].values[c]))
                return -1;
    }
    return 0;
}

/* "612 +- 40" (mean +- half the range over the runs) or "—". */
static void format_return(char *out, size_t size, RunCurve *const *runs, int count, int bucket) {
    double sum = 0.0, low = INFINITY, high = -INFINITY;
    int seen = 0;
    for (int r = 0; r < count; r++) {
        const double v = run_at(runs[r], bucket);
        if (!isnan(v)) sum += v, seen++, low = fmin(low, v), high = fmax(high, v);
    }
    if (!seen) snprintf(out, size, "—");
    else if (seen == 1) snprintf(out, size, "%.0f", sum);
    else snprintf(out, size, "%.0f +- %.0f", sum / seen, (high - low) / 2);
}

static void format_reference(char *out, size_t size, double value) {
    if (isnan(value)) snprintf(out, size, "—");
    else snprintf(out, size, "%.0f", value);
}

/* The table's rows for one task: 50k, 100k and the last bucket every run reached. */
static void print_task(const Reference *ref, const char *task, RunCurve *const *runs, int count) {
    int last = BUCKETS_MAX;
    double wall = 0.0, updates = 0.0;
    for (int r = 0; r < count; r++) {
        last = runs[r]->last_bucket < last ? runs[r]->last_bucket : last;
        wall += runs[r]->wall_s / count, updates += runs[r]->updates / count;
    }
    const int buckets[3] = {5, 10, last};
    for (int i = 0; i < 3; i++) {
        if ((i < 2 && buckets[i] > last) || (i == 2 && (last == 5 || last == 10))) continue;
        char ours[48], theirs[TABLE_METHODS][24];
        format_return(ours, sizeof ours, runs, count, buckets[i]);
        for (int m = 0; m < TABLE_METHODS; m++)
            format_reference(theirs[m], sizeof theirs[m],
                             reference_at(ref, task, METHODS[m], buckets[i] * BUCKET_STEPS));
        printf("| %s | %dk | %s (%d) | %s | %s | %s | %d h %02d min | %.0f |\n", task, buckets[i] * 10, ours, count,
               theirs[0], theirs[1], theirs[2], (int)(wall / 3600), (int)fmod(wall / 60, 60), updates);
    }
}

static WmStatus draw_tasks(const Reference *ref, RunCurve *runs, int count, const char *out, WmError *err) {
    const char *tasks[RUNS_MAX];
    int task_count = 0;
    for (int r = 0; r < count; r++) {
        int t = 0;
        while (t < task_count && strcmp(tasks[t], runs[r].task) != 0) t++;
        if (t == task_count) tasks[task_count++] = runs[r].task;
    }
    const int columns = task_count < 3 ? task_count : 3, rows = (task_count + columns - 1) / columns;
    cairo_surface_t *surface =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, columns * PLOT_PANEL_W, rows * PLOT_PANEL_H);
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    printf("| task | environment steps | wm (runs) | DreamerV3 | DrQ-v2 | CURL | wm's wall time | wm's updates |\n"
           "|---|---|---|---|---|---|---|---|\n");
    for (int t = 0; t < task_count && err->status == WM_OK; t++) {
        RunCurve *mine[RUNS_MAX];
        int n = 0;
        for (int r = 0; r < count; r++)
            if (strcmp(runs[r].task, tasks[t]) == 0) mine[n++] = &runs[r];
        PlotSeries series[1 + TABLE_METHODS];
        PlotSeries *lines[1 + TABLE_METHODS];
        int failed = task_curve(mine, n, tasks[t], &series[0]), reached = 10;
        for (int r = 0; r < n; r++) reached = mine[r]->last_bucket > reached ? mine[r]->last_bucket : reached;
        for (int m = 0; m < TABLE_METHODS; m++)
            failed |= reference_curve(ref, tasks[t], m, reached * BUCKET_STEPS, &series[1 + m]);
        for (int l = 0; l <= TABLE_METHODS; l++) lines[l] = &series[l];
        if (failed) wm_error_set(err, WM_ERR_NOMEM, "wm-viz scores: out of memory");
        else plot_panel(cr, (t % columns) * PLOT_PANEL_W, (t / columns) * PLOT_PANEL_H, tasks[t], "environment steps",
                        lines, 1 + TABLE_METHODS);
        for (int l = 0; l <= TABLE_METHODS; l++) plot_series_free(&series[l]);
        if (err->status == WM_OK) print_task(ref, tasks[t], mine, n);
    }
    cairo_destroy(cr);
    if (err->status == WM_OK) plot_write_png(surface, out, err);
    cairo_surface_destroy(surface);
    return err->status;
}

static int scores_usage(FILE *out, int code) {
    fprintf(out,
            "usage: wm-viz scores --reference FILE --out DIR RUN...\n"
            "  wm's evaluations (eval_return at env_steps in each RUN's metrics.jsonl; several runs of a task are\n"
            "  averaged, the band their lowest to highest) over the reference methods' curves, one panel per\n"
            "  task, into DIR/scores.png; prints the table at 50k, 100k and the last step every run reached\n"
            "  FILE: task,method,seeds,10k,...,1000k rows of mean returns (../shared/reference/dmc_vision.csv)\n"
            "example: wm-viz scores --reference data/reference/dmc_vision.csv --out runs/scores runs/re-1 runs/re-2\n");
    return code;
}

int viz_scores(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return scores_usage(stdout, 0);
    const char *reference = NULL, *out = NULL;
    CliList dirs = {.count = 0};
    WmError err = {0};
    const CliOption options[] = {
        {"--reference", CLI_TEXT, &reference, 0, 0},
        {"--out", CLI_TEXT, &out, 0, 0},
        {NULL, CLI_LIST, &dirs, 0, 0},
    };
    cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err);
    const int count = dirs.count;
    if (err.status == WM_OK && (!reference || !out || count < 1))
        wm_error_set(&err, WM_ERR_ARG, "--reference, --out and at least one run are required");
    if (err.status == WM_OK && count > RUNS_MAX) wm_error_set(&err, WM_ERR_ARG, "at most %d runs", RUNS_MAX);
    if (err.status) {
        fprintf(stderr, "wm-viz scores: %s\n", err.message);
        return scores_usage(stderr, 2);
    }
    static Reference ref;
    static RunCurve runs[RUNS_MAX];
    char png[4200];
    snprintf(png, sizeof png, "%s/scores.png", out);
    if (reference_read(reference, &ref, &err) == WM_OK && fs_make_dirs(out, &err) == WM_OK) {
        for (int r = 0; r < count && err.status == WM_OK; r++) run_curve_read(dirs.items[r], &runs[r], &err);
        if (err.status == WM_OK && draw_tasks(&ref, runs, count, png, &err) == WM_OK)
            printf("\nwm-viz scores: %s: %d run%s\n", png, count, count == 1 ? "" : "s");
    }
    if (err.status == WM_OK) return 0;
    fprintf(stderr, "wm-viz scores: %s\n", err.message);
    return 1;
}
