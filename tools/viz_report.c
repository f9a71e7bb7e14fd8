/* wm-viz report --run R --out DIR: one self-contained HTML page of a run (DIR/index.html, every picture inline as
 * a data URI, no network): the summary of wm info, the training curves, reconstructions and open-loop predictions
 * of recorded episodes (the run's dataset, or its own episodes when online), one evaluation episode when the run
 * knows its environment, and the resolved config. The pictures come from the other wm-viz commands and wm eval,
 * run as they are, and stay in DIR beside the page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/fs.h"
#include "core/safetensors.h"
#include "run/checkpoint.h"
#include "run/run_dir.h"
#include "viz.h"

static int report_usage(FILE *out, int code) {
    fprintf(out, "usage: wm-viz report --run R --out DIR [--data D] [--planner P] [--no-eval]\n"
                 "  --data D     recorded episodes for the reconstructions (default: the run's dataset, or R/episodes)\n"
                 "  --planner P  for the evaluation episode (default: actor when the run has one, else cem)\n"
                 "  --no-eval    leave the evaluation episode out (a CEM episode takes about a minute)\n"
                 "example: wm-viz report --run runs/cp-actor --out runs/cp-actor/report\n");
    return code;
}

/* A picture as <img src="data:...;base64,...">. */
static void write_image(FILE *html, const char *path, const char *mime, const char *alt) {
    char *bytes = NULL;
    size_t size = 0;
    WmError err = {0};
    if (fs_read_all(path, &bytes, &size, &err)) {
        fprintf(html, "<p class=\"missing\">%s: not made (%s)</p>\n", alt, err.message);
        return;
    }
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fprintf(html, "<img alt=\"%s\" src=\"data:%s;base64,", alt, mime);
    const unsigned char *b = (const unsigned char *)bytes;
    for (size_t i = 0; i < size; i += 3) {
        const unsigned v = (unsigned)b[i] << 16 | (i + 1 < size ? (unsigned)b[i + 1] << 8 : 0) | (i + 2 < size ? b[i + 2] : 0);
        fputc(B64[v >> 18 & 63], html), fputc(B64[v >> 12 & 63], html);
        fputc(i + 1 < size ? B64[v >> 6 & 63] : '=', html), fputc(i + 2 < size ? B64[v & 63] : '=', html);
    }
    fprintf(html, "\">\n");
    free(bytes);
}

static void write_escaped(FILE *html, const char *text) {
    for (const char *c = text; *c; c++) {
        if (*c == '<') fputs("&lt;", html);
        else if (*c == '>') fputs("&gt;", html);
        else if (*c == '&') fputs("&amp;", html);
        else fputc(*c, html);
    }
}

/* What the page shows and where its pictures go. */
typedef struct {
    const char *run, *out, *planner; /* planner: for the evaluation episode */
    int evaluate, no_eval;
    char dataset[4200], env[WM_CONFIG_TEXT_MAX];
    char curves[4300], recon[4300], open_png[4300], open_gif[4300], episode[4300];
    WmConfig config;
} Report;

/* The run's environment and dataset, from its latest checkpoint; --data over the dataset. */
static void read_run(Report *r, const WmRunPaths *paths, const char *data) {
    WmSafetensors file;
    WmCheckpointInfo info = {0};
    WmError ignored = {0};
    if (fs_exists(paths->latest) && safetensors_open(&file, paths->latest, &ignored) == WM_OK) {
        if (checkpoint_read_info(&file, &info, &ignored) == WM_OK) snprintf(r->env, sizeof r->env, "%s", info.env);
        const char *source = safetensors_meta(&file, WM_META_DATA);
        if (source) snprintf(r->dataset, sizeof r->dataset, "%s", source);
        safetensors_close(&file);
    }
    if (data) snprintf(r->dataset, sizeof r->dataset, "%s", data);
    else if (!r->dataset[0]) snprintf(r->dataset, sizeof r->dataset, "%s", paths->episodes);
}

/* A picture that could not be made is a line on stderr and a note on the page; the page is written anyway. */
static void made(const char *what, WmStatus status, WmError *err) {
    if (status) fprintf(stderr, "wm-viz report: %s: %s\n", what, err->message);
    *err = (WmError){0};
}

static void make_pictures(Report *r) {
    snprintf(r->curves, sizeof r->curves, "%s/curves.png", r->out);
    snprintf(r->recon, sizeof r->recon, "%s/recon.png", r->out);
    snprintf(r->open_png, sizeof r->open_png, "%s/openloop.png", r->out);
    snprintf(r->open_gif, sizeof r->open_gif, "%s/openloop.gif", r->out);
    snprintf(r->episode, sizeof r->episode, "%s/episode.gif", r->out);
    WmError err = {0};
    fflush(stdout);
    made("curves", viz_curves_write(r->run, r->curves, &err), &err);
    const VizReconRequest recon = {r->run, r->dataset, r->recon, NULL, 2, 10};
    made("reconstructions", viz_recon_write(&recon, &err), &err);
    VizOpenloopRequest open = viz_openloop_defaults();
    open.run = r->run, open.data = r->dataset, open.out = r->open_png;
    made("open-loop strip", viz_openloop_write(&open, &err), &err);
    open.out = r->open_gif;
    made("open-loop animation", viz_openloop_write(&open, &err), &err);
    r->evaluate = !r->no_eval && r->env[0];
    if (!r->evaluate) return;
    const EvalRequest eval = {.run = r->run, .env = r->env, .planner = r->planner, .gif = r->episode, .episodes = 1,
                              .seed = 1};
    made("evaluation episode", eval_run(&eval, &err), &err);
}

static void write_sections(FILE *html, const Report *r) {
    fprintf(html, "<section id=\"summary\"><h2>Summary</h2><pre>");
    char *summary = NULL;
    size_t summary_size = 0;
    FILE *text = open_memstream(&summary, &summary_size);
    if (text) {
        info_run(r->run, text);
        fclose(text);
        write_escaped(html, summary);
        free(summary);
    }
    fprintf(html, "</pre></section>\n<section id=\"curves\"><h2>Training curves</h2>\n");
    write_image(html, r->curves, "image/png", "training curves");
    fprintf(html, "</section>\n<section id=\"reconstructions\"><h2>Reconstructions</h2><p>Episodes of ");
    write_escaped(html, r->dataset);
    fprintf(html, ": truth above the model's reconstruction.</p>\n");
    write_image(html, r->recon, "image/png", "reconstructions");
    const VizOpenloopRequest open = viz_openloop_defaults();
    fprintf(html, "</section>\n<section id=\"openloop\"><h2>Open-loop prediction</h2><p>The model observes %ld "
                  "frames, then imagines %ld from the recorded actions alone.</p>\n", open.context, open.horizon);
    write_image(html, r->open_png, "image/png", "open-loop prediction");
    write_image(html, r->open_gif, "image/gif", "open-loop prediction, every step");
    fprintf(html, "</section>\n<section id=\"episode\"><h2>An evaluation episode</h2>\n");
    if (r->evaluate) {
        fprintf(html, "<p>One episode of %s with the %s.</p>\n", r->env, r->planner);
        write_image(html, r->episode, "image/gif", "evaluation episode");
    } else {
        fprintf(html, "<p>%s</p>\n", r->no_eval ? "Left out (--no-eval)." : "The run does not record its environment.");
    }
    fprintf(html, "</section>\n<section id=\"config\"><h2>Configuration</h2><pre>");
    char *config_text = config_to_yaml_string(&r->config);
    if (config_text) write_escaped(html, config_text);
    free(config_text);
    fprintf(html, "</pre></section>\n");
}

static WmStatus write_page(const Report *r, const char *path, WmError *err) {
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *html = fopen(tmp, "w");
    if (html == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot create", tmp);
    fprintf(html, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wm run %s</title>\n"
                  "<style>body{font-family:sans-serif;margin:2em;max-width:1500px;color:#222}img{max-width:100%%;"
                  "border:1px solid #ddd}pre{background:#f6f6f6;padding:1em;overflow:auto}section{margin-bottom:2em}"
                  ".missing{color:#a00}</style></head>\n<body>\n<h1>wm run ", r->run);
    write_escaped(html, r->run);
    fprintf(html, "</h1>\n");
    write_sections(html, r);
    /* For a test in a browser: how many pictures decoded. */
    fprintf(html, "<script>window.addEventListener('load',function(){var n=0;"
                  "document.querySelectorAll('img').forEach(function(i){if(i.complete&&i.naturalWidth>0)n++;});"
                  "document.body.setAttribute('data-images-rendered',n);"
                  "document.body.setAttribute('data-images',document.images.length);});</script>\n</body></html>\n");
    return fs_commit_stream(html, tmp, path, err);
}

int viz_report(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return report_usage(stdout, 0);
    Report *r = calloc(1, sizeof *r);
    const char *data = NULL;
    WmError err = {0};
    const CliOption options[] = {
        {"--run", CLI_TEXT, &r->run, 0, 0},         {"--out", CLI_TEXT, &r->out, 0, 0},
        {"--data", CLI_TEXT, &data, 0, 0},          {"--planner", CLI_TEXT, &r->planner, 0, 0},
        {"--no-eval", CLI_FLAG, &r->no_eval, 0, 0},
    };
    if (cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err) == WM_OK &&
        (!r->run || !r->out))
        wm_error_set(&err, WM_ERR_ARG, "--run and --out are required");
    if (err.status) {
        fprintf(stderr, "wm-viz report: %s\n", err.message);
        free(r);
        return report_usage(stderr, 2);
    }
    WmRunPaths paths;
    run_paths(&paths, r->run);
    char page[4300];
    snprintf(page, sizeof page, "%s/index.html", r->out);
    if (run_read_config(&paths, NULL, 0, &r->config, &err) == WM_OK && fs_make_dirs(r->out, &err) == WM_OK) {
        if (!r->planner) r->planner = r->config.actor.enabled ? "actor" : "cem";
        read_run(r, &paths, data);
        make_pictures(r);
        if (write_page(r, page, &err) == WM_OK) printf("wm-viz report: %s\n", page);
    }
    if (err.status) fprintf(stderr, "wm-viz report: %s\n", err.message);
    free(r);
    return err.status ? 1 : 0;
}
