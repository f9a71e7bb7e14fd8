/* wm bench WHAT: dispatch to one benchmark. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    int (*usage)(FILE *out, int code);
    const char *summary;
} BENCHES[] = {
    {"ops", bench_ops, bench_ops_usage, "GFLOP/s of every layer against dnnl_sgemm"},
    {"train", bench_train, bench_train_usage, "one training step at B = 50 and 16, L = 50, against PyTorch"},
    {"plan", bench_plan, bench_plan_usage, "ms per decision of CEM and MPPI, 1000 x 12 x 10, against PyTorch"},
    {"data", bench_data, bench_data_usage, "read a dataset into the replay store; sample batches"},
};
enum { BENCH_COUNT = sizeof BENCHES / sizeof BENCHES[0] };

int command_bench(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out, "usage: wm bench WHAT [options]   (wm bench WHAT --help)\n");
        for (int i = 0; i < BENCH_COUNT; i++) fprintf(out, "  %-6s %s\n", BENCHES[i].name, BENCHES[i].summary);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; i < BENCH_COUNT; i++) {
        if (strcmp(argv[1], BENCHES[i].name) != 0) continue;
        if (cli_wants_help(argc - 1, argv + 1)) return BENCHES[i].usage(stdout, 0);
        return BENCHES[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "wm bench: unknown benchmark '%s'\n", argv[1]);
    return 2;
}
