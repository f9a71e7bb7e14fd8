/* wm-viz: what a world model learned, as pictures. This file only dispatches subcommands. */
#include <limits.h>
#include <malloc.h>

#include "cli.h"
#include "viz.h"

static const CliCommand COMMANDS[] = {
    {"recon", viz_recon, "true frames over the model's reconstructions"},
    {"openloop", viz_openloop, "observe a few frames, imagine the rest: truth, model, error (PNG or GIF)"},
    {"curves", viz_curves, "every logged loss term and evaluation figure over steps"},
    {"scores", viz_scores, "evaluation returns over environment steps beside published methods' curves, and a table"},
    {"dataset", viz_dataset, "a contact sheet of a dataset's frames"},
    {"report", viz_report, "one self-contained HTML page of a run: summary, curves, pictures, an episode, config"},
};

int main(int argc, char **argv) {
    mallopt(M_MMAP_MAX, 0); /* as in wm: oneDNN's per-call scratch stays in the heap */
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    if (cli_version("wm-viz", argc, argv)) return 0;
    return cli_dispatch("wm-viz", COMMANDS, (int)(sizeof COMMANDS / sizeof COMMANDS[0]), argc, argv);
}
