/* wm: learn a world model from camera images and act with it. This file only dispatches subcommands. */
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} WmCommand;

static const WmCommand COMMANDS[] = {
    {"collect", command_collect, "record episodes from a built-in pixel environment"},
    {"train", command_train, "train the world model on recorded episodes (resumes an existing run)"},
    {"eval", command_eval, "closed-loop episodes in a built-in environment with the planner"},
    {"plan", command_plan, "one action line per camera frame (raw RGB24 on stdin, or PNG frames)"},
    {"info", command_info, "what an episode, a dataset or a checkpoint holds, and whether it is valid"},
    {"bench", command_bench, "measure speed: train, plan, ops, data (wm bench --help)"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: wm COMMAND [options]   (wm COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
}

int main(int argc, char **argv) {
    /* oneDNN allocates and frees large scratch buffers on every call; glibc would map and unmap them each time and
     * fault the pages in again (a third of a training step's time here). Keep freed memory in the heap instead. */
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "wm: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
