#include "core/measured_choice.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fs.h"
#include "core/machine.h"

enum { PATH_MAX_BYTES = 4200 };

static int cache_path(char *path, size_t size, char *dir, size_t dir_size) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(dir, dir_size, "%s/wm", xdg);
    else if (home && *home) snprintf(dir, dir_size, "%s/.cache/wm", home);
    else return 0;
    snprintf(path, size, "%s/measured_choices.tsv", dir);
    return 1;
}

void measured_choice_key(char *key, size_t size, const char *what) {
    char cpu[128], build[64];
    machine_cpu_model(cpu, sizeof cpu);
    machine_build_id(build, sizeof build);
    snprintf(key, size, "%s|%s|threads %d|%s", cpu, build, omp_get_max_threads(), what);
}

/* Whether the line of n bytes is `key`'s: the key, then a tab. */
static int is_key_line(const char *line, size_t n, const char *key, size_t key_length) {
    return n > key_length && strncmp(line, key, key_length) == 0 && line[key_length] == '\t';
}

/* The line of `text` whose key is `key`, or NULL; *length gets its length without the newline. */
static const char *find_line(const char *text, const char *key, size_t *length) {
    const size_t key_length = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        const size_t n = end ? (size_t)(end - line) : strlen(line);
        if (is_key_line(line, n, key, key_length)) {
            *length = n;
            return line;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

int measured_choice_get(const char *key, char *value, size_t size) {
    char path[PATH_MAX_BYTES + 32], dir[PATH_MAX_BYTES], *text = NULL;
    size_t bytes = 0, length = 0;
    WmError ignored = {0};
    if (!cache_path(path, sizeof path, dir, sizeof dir) || !fs_exists(path) ||
        fs_read_all(path, &text, &bytes, &ignored))
        return 0;
    const char *line = find_line(text, key, &length);
    const size_t key_length = strlen(key);
    if (line) snprintf(value, size, "%.*s", (int)(length - key_length - 1), line + key_length + 1);
    free(text);
    return line != NULL;
}

void measured_choice_put(const char *key, const char *value) {
    char path[PATH_MAX_BYTES + 32], dir[PATH_MAX_BYTES], tmp[PATH_MAX_BYTES + 64], *text = NULL;
    size_t bytes = 0;
    WmError ignored = {0};
    if (!cache_path(path, sizeof path, dir, sizeof dir) || fs_make_dirs(dir, &ignored)) return;
    if (fs_exists(path) && fs_read_all(path, &text, &bytes, &ignored)) return;
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *out = fopen(tmp, "w");
    if (out == NULL) {
        free(text);
        return;
    }
    /* Every other line as it was, then this key's. */
    const size_t key_length = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        const size_t n = end ? (size_t)(end - line) : strlen(line);
        if (!is_key_line(line, n, key, key_length)) fprintf(out, "%.*s\n", (int)n, line);
        line = end ? end + 1 : NULL;
    }
    fprintf(out, "%s\t%s\n", key, value);
    free(text);
    fs_commit_stream(out, tmp, path, &ignored);
}

WmStatus measured_precision_time(WmPrecisionRun run, void *ctx, int rounds, WmMeasuredPrecision *out, WmError *err) {
    *out = (WmMeasuredPrecision){0};
    int bf16_runs = 1;
    for (int r = 0; r < rounds; r++)
        for (int bf16 = 0; bf16 <= bf16_runs; bf16++) {
            WmError failed = {0};
            const double start = wm_clock_seconds();
            if (run(ctx, bf16, bf16 ? &failed : err)) {
                if (!bf16) return err->status;
                bf16_runs = 0, out->bf16_seconds = 0.0;
                continue;
            }
            const double seconds = wm_clock_seconds() - start;
            double *best = bf16 ? &out->bf16_seconds : &out->fp32_seconds;
            if (r == 0 || seconds < *best) *best = seconds;
        }
    out->bf16 = bf16_runs && out->bf16_seconds < out->fp32_seconds;
    return WM_OK;
}

WmStatus measured_precision_choose(const char *what, WmPrecisionRun run, void *ctx, int rounds,
                                   WmMeasuredPrecision *out, WmError *err) {
    char key[1024], value[128];
    measured_choice_key(key, sizeof key, what);
    if (measured_choice_get(key, value, sizeof value)) {
        char word[8];
        WmMeasuredPrecision m = {.cached = 1};
        if (sscanf(value, "%7s %lf %lf", word, &m.fp32_seconds, &m.bf16_seconds) == 3 &&
            (strcmp(word, "bf16") == 0 || strcmp(word, "fp32") == 0)) {
            m.bf16 = strcmp(word, "bf16") == 0;
            *out = m;
            return WM_OK;
        }
    }
    if (measured_precision_time(run, ctx, rounds, out, err)) return err->status;
    snprintf(value, sizeof value, "%s %.6g %.6g", out->bf16 ? "bf16" : "fp32", out->fp32_seconds, out->bf16_seconds);
    measured_choice_put(key, value);
    return WM_OK;
}

void measured_precision_describe(const WmMeasuredPrecision *m, char *out, size_t size) {
    if (m->bf16_seconds <= 0.0)
        snprintf(out, size, "fp32 (no bf16 path here%s)", m->cached ? ", cached" : "");
    else
        snprintf(out, size, "%s (%.1f ms against %.1f ms in %s, %s)", m->bf16 ? "bf16" : "fp32",
                 1e3 * (m->bf16 ? m->bf16_seconds : m->fp32_seconds), 1e3 * (m->bf16 ? m->fp32_seconds : m->bf16_seconds),
                 m->bf16 ? "fp32" : "bf16", m->cached ? "measured earlier on this machine" : "measured");
}
