/* wm bench WHAT: dispatch to one benchmark. */
#include "bench.h"
#include "cli.h"
#include "commands.h"

static const CliCommand BENCHES[] = {
    {"ops", bench_ops, "GFLOP/s of every layer against dnnl_sgemm"},
    {"train", bench_train, "one training step at B = 50 and 16, L = 50, against PyTorch"},
    {"plan", bench_plan, "ms per decision of CEM and MPPI, 1000 x 12 x 10, against PyTorch"},
    {"data", bench_data, "read a dataset into the replay store; sample batches"},
    {"env", bench_env, "ms per environment step and per frame drawn, per task"},
};

int command_bench(int argc, char **argv) {
    return cli_dispatch("wm bench", BENCHES, (int)(sizeof BENCHES / sizeof BENCHES[0]), argc, argv);
}
