/* wm-viz: what a world model learned, as pictures. This file only dispatches subcommands. */
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "viz.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} COMMANDS[] = {
    {"recon", viz_recon, "true frames over the model's reconstructions"},
    {"openloop", viz_openloop, "observe a few frames, imagine the rest: truth, model, error (PNG or GIF)"},
    {"curves", viz_curves, "every logged loss term and evaluation figure over steps"},
    {"dataset", viz_dataset, "a contact sheet of a dataset's frames"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: wm-viz COMMAND [options]   (wm-viz COMMAND --help)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
}

int main(int argc, char **argv) {
    mallopt(M_MMAP_MAX, 0); /* as in wm: oneDNN's per-call scratch stays in the heap */
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "wm-viz: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
