/* wm: learn a world model from camera images and act with it. This file only dispatches subcommands. */
#include <limits.h>
#include <malloc.h>

#include "cli.h"
#include "commands.h"

static const CliCommand COMMANDS[] = {
    {"collect", command_collect, "record episodes from a built-in pixel environment"},
    {"train", command_train, "train the world model on recorded episodes (resumes an existing run)"},
    {"eval", command_eval, "closed-loop episodes in a built-in environment with the planner"},
    {"plan", command_plan, "one action line per camera frame (raw RGB24 on stdin, or PNG frames)"},
    {"info", command_info, "what an episode, a dataset, a checkpoint or a run holds, and whether it is valid"},
    {"config", command_config, "the resolved config of a command, or every key with its range (--keys)"},
    {"bench", command_bench, "measure speed: train, plan, ops, data (wm bench --help)"},
};

int main(int argc, char **argv) {
    /* oneDNN allocates and frees large scratch buffers on every call; glibc would map and unmap them each time and
     * fault the pages in again (a third of a training step's time here). Keep freed memory in the heap instead. */
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    if (cli_version("wm", argc, argv)) return 0;
    return cli_dispatch("wm", COMMANDS, (int)(sizeof COMMANDS / sizeof COMMANDS[0]), argc, argv);
}
