/* wm config: the configuration a command would run with, resolved (defaults, then a run's config.yaml or a
 * --config file, then --set), printed as YAML without running anything; or, with --keys, every key of the one
 * table with its type, range, default and help. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "config/config.h"
#include "run/run_dir.h"

static int config_usage(FILE *out, int code) {
    fprintf(out, "usage: wm config [--config C | --run R] [--set k=v ...] [--keys]\n"
                 "  --config C   a YAML file over the defaults (as wm train --config)\n"
                 "  --run R      a run's config.yaml over the defaults (as wm eval and wm plan read it)\n"
                 "  --set k=v    any key, applied last\n"
                 "  --keys       list every key: type, range, default and help\n"
                 "example: wm config --config configs/cartpole.yaml --set data.batch=32\n");
    return code;
}

static void list_keys(void) {
    for (int i = 0; i < config_key_count(); i++) {
        char range[256];
        config_key_range(i, range, sizeof range);
        printf("%-32s %s; default %s\n    %s\n", config_key_name(i), range, config_key_default(i), config_key_help(i));
    }
}

int command_config(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return config_usage(stdout, 0);
    const char *path = NULL, *run = NULL;
    int keys = 0;
    CliList sets = {0};
    WmError err = {0};
    const CliOption options[] = {
        {"--config", CLI_TEXT, &path, 0, 0}, {"--run", CLI_TEXT, &run, 0, 0},
        {"--set", CLI_LIST, &sets, 0, 0},     {"--keys", CLI_FLAG, &keys, 0, 0},
    };
    if (cli_parse_options(argc, argv, options, (int)(sizeof options / sizeof options[0]), &err) == WM_OK && path && run)
        wm_error_set(&err, WM_ERR_ARG, "--config and --run: one or the other");
    if (err.status == WM_OK) cli_check_sets(&sets, &err);
    if (err.status) {
        fprintf(stderr, "wm config: %s\n", err.message);
        return config_usage(stderr, 2);
    }
    if (keys) {
        list_keys();
        return 0;
    }
    WmConfig config;
    WmRunPaths paths;
    run_paths(&paths, run ? run : ".");
    const WmConfigRequest request = {path, sets.items, sets.count, 0, NULL};
    const WmStatus status = run ? run_read_config(&paths, sets.items, sets.count, &config, &err)
                                : run_resolve_config(&paths, 0, &request, &config, &err);
    if (status) {
        fprintf(stderr, "wm config: %s\n", err.message);
        return 1;
    }
    config_write_yaml(&config, stdout);
    return 0;
}
