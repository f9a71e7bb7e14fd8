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

/* Runs one of the picture commands, its output kept out of the page's way; 0 when it worked. */
static int make(int (*command)(int, char **), char **args) {
    int argc = 0;
    while (args[argc]) argc++;
    fflush(stdout);
    return command(argc, args);
}

int viz_report(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return report_usage(stdout, 0);
    const char *run = NULL, *out = NULL, *data = NULL, *planner = NULL;
    int no_eval = 0;
    WmError err = {0};
    const CliOption options[] = {
        {"--run", CLI_TEXT, &run, 0, 0},         {"--out", CLI_TEXT, &out, 0, 0},
        {"--data", CLI_TEXT, &data, 0, 0},       {"--planner", CLI_TEXT, &planner, 0, 0},
        {"--no-eval", CLI_FLAG, &no_eval, 0, 0},
    };
    if (cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err) == WM_OK &&
        (!run || !out))
        wm_error_set(&err, WM_ERR_ARG, "--run and --out are required");
    if (err.status) {
        fprintf(stderr, "wm-viz report: %s\n", err.message);
        return report_usage(stderr, 2);
    }
    WmRunPaths paths;
    run_paths(&paths, run);
    WmConfig config;
    WmCheckpointInfo info = {0};
    WmSafetensors file;
    char dataset[4200] = "", env[64] = "";
    if (run_read_config(&paths, NULL, 0, &config, &err) || fs_make_dirs(out, &err)) {
        fprintf(stderr, "wm-viz report: %s\n", err.message);
        return 1;
    }
    if (fs_exists(paths.latest) && safetensors_open(&file, paths.latest, &err) == WM_OK) {
        if (checkpoint_read_info(&file, &info, &err) == WM_OK) snprintf(env, sizeof env, "%s", info.env);
        const char *source = safetensors_meta(&file, WM_META_DATA);
        if (source) snprintf(dataset, sizeof dataset, "%s", source);
        safetensors_close(&file);
    }
    if (data) snprintf(dataset, sizeof dataset, "%s", data);
    else if (!dataset[0]) snprintf(dataset, sizeof dataset, "%s", paths.episodes);
    char curves[4300], recon[4300], open_png[4300], open_gif[4300], episode[4300], html_path[4300], tmp[4400];
    snprintf(curves, sizeof curves, "%s/curves.png", out);
    snprintf(recon, sizeof recon, "%s/recon.png", out);
    snprintf(open_png, sizeof open_png, "%s/openloop.png", out);
    snprintf(open_gif, sizeof open_gif, "%s/openloop.gif", out);
    snprintf(episode, sizeof episode, "%s/episode.gif", out);
    snprintf(html_path, sizeof html_path, "%s/index.html", out);
    const char *chosen = planner ? planner : config.actor.enabled ? "actor" : "cem";
    char *curve_args[] = {"curves", "--run", (char *)run, "--out", curves, NULL};
    char *recon_args[] = {"recon", "--run", (char *)run, "--data", dataset, "--episodes", "2", "--out", recon, NULL};
    char *open_args[] = {"openloop", "--run", (char *)run, "--data", dataset, "--out", open_png, NULL};
    char *gif_args[] = {"openloop", "--run", (char *)run, "--data", dataset, "--out", open_gif, NULL};
    char *eval_args[] = {"eval", "--run", (char *)run, "--env", env, "--episodes", "1", "--planner", (char *)chosen,
                         "--gif", episode, NULL};
    make(viz_curves, curve_args);
    make(viz_recon, recon_args);
    make(viz_openloop, open_args);
    make(viz_openloop, gif_args);
    const int evaluate = !no_eval && env[0];
    if (evaluate) make(command_eval, eval_args);

    snprintf(tmp, sizeof tmp, "%s.tmp", html_path);
    FILE *html = fopen(tmp, "w");
    if (html == NULL) {
        fprintf(stderr, "wm-viz report: %s: cannot create\n", tmp);
        return 1;
    }
    fprintf(html, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wm run %s</title>\n"
                  "<style>body{font-family:sans-serif;margin:2em;max-width:1500px;color:#222}img{max-width:100%%;"
                  "border:1px solid #ddd}pre{background:#f6f6f6;padding:1em;overflow:auto}section{margin-bottom:2em}"
                  ".missing{color:#a00}</style></head>\n<body>\n<h1>wm run ", run);
    write_escaped(html, run);
    fprintf(html, "</h1>\n<section id=\"summary\"><h2>Summary</h2><pre>");
    char *summary = NULL;
    size_t summary_size = 0;
    FILE *text = open_memstream(&summary, &summary_size);
    if (text) {
        info_run(run, text);
        fclose(text);
        write_escaped(html, summary);
        free(summary);
    }
    fprintf(html, "</pre></section>\n<section id=\"curves\"><h2>Training curves</h2>\n");
    write_image(html, curves, "image/png", "training curves");
    fprintf(html, "</section>\n<section id=\"reconstructions\"><h2>Reconstructions</h2><p>Episodes of ");
    write_escaped(html, dataset);
    fprintf(html, ": truth above the model's reconstruction.</p>\n");
    write_image(html, recon, "image/png", "reconstructions");
    fprintf(html, "</section>\n<section id=\"openloop\"><h2>Open-loop prediction</h2><p>The model observes 5 "
                  "frames, then imagines 45 from the recorded actions alone.</p>\n");
    write_image(html, open_png, "image/png", "open-loop prediction");
    write_image(html, open_gif, "image/gif", "open-loop prediction, every step");
    fprintf(html, "</section>\n<section id=\"episode\"><h2>An evaluation episode</h2>\n");
    if (evaluate) {
        fprintf(html, "<p>One episode of %s with the %s.</p>\n", env, chosen);
        write_image(html, episode, "image/gif", "evaluation episode");
    } else {
        fprintf(html, "<p>%s</p>\n", no_eval ? "Left out (--no-eval)." : "The run does not record its environment.");
    }
    fprintf(html, "</section>\n<section id=\"config\"><h2>Configuration</h2><pre>");
    char *config_text = config_to_yaml_string(&config);
    if (config_text) write_escaped(html, config_text);
    free(config_text);
    /* For a test in a browser: how many pictures decoded. */
    fprintf(html, "</pre></section>\n<script>window.addEventListener('load',function(){var n=0;"
                  "document.querySelectorAll('img').forEach(function(i){if(i.complete&&i.naturalWidth>0)n++;});"
                  "document.body.setAttribute('data-images-rendered',n);"
                  "document.body.setAttribute('data-images',document.images.length);});</script>\n</body></html>\n");
    if (fclose(html) != 0 || fs_commit(tmp, html_path, &err)) {
        fprintf(stderr, "wm-viz report: %s\n", err.status ? err.message : "write failed");
        return 1;
    }
    printf("wm-viz report: %s\n", html_path);
    return 0;
}
