#include "cli.h"

#include "build_id.h"
#include "config/config.h"
#include "data/env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

WmStatus cli_parse_long(const char *option, const char *text, long lo, long hi, long *out, WmError *err) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        return wm_error_set(err, WM_ERR_ARG, "%s: '%s' is not an integer", option, text);
    if (value < lo || value > hi)
        return wm_error_set(err, WM_ERR_ARG, "%s: %ld is out of range [%ld, %ld]", option, value, lo, hi);
    *out = value;
    return WM_OK;
}

/* For "--name VALUE": when argv[*i] is the option, stores the value, advances *i and returns 1. A missing value is
 * an error (returns -1). Returns 0 when argv[*i] is another option. */
static int option_value(int argc, char **argv, int *i, const char *name, const char **value, WmError *err) {
    if (name == NULL || strcmp(argv[*i], name) != 0) return 0;
    if (*i + 1 >= argc) {
        wm_error_set(err, WM_ERR_ARG, "%s needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

WmStatus cli_parse_options(int argc, char **argv, const CliOption *options, int count, WmError *err) {
    for (int i = 1; i < argc && err->status == WM_OK; i++) {
        int matched = 0;
        for (int k = 0; k < count && !matched && err->status == WM_OK; k++) {
            const CliOption *o = &options[k];
            if (o->kind == CLI_FLAG) {
                if (strcmp(argv[i], o->name) == 0) *(int *)o->out = 1, matched = 1;
                continue;
            }
            const char *value = NULL;
            const int got = option_value(argc, argv, &i, o->name, &value, err);
            if (got <= 0) continue;
            matched = 1;
            CliList *list = o->out;
            if (o->kind == CLI_TEXT) *(const char **)o->out = value;
            else if (o->kind == CLI_LONG) cli_parse_long(o->name, value, o->lo, o->hi, (long *)o->out, err);
            else if (list->count == CLI_LIST_MAX)
                wm_error_set(err, WM_ERR_ARG, "more than %d %s", CLI_LIST_MAX, o->name);
            else list->items[list->count++] = value;
        }
        for (int k = 0; k < count && !matched && argv[i][0] != '-'; k++) { /* a positional argument */
            CliList *list = options[k].out;
            if (options[k].name != NULL || options[k].kind != CLI_LIST) continue;
            if (list->count == CLI_LIST_MAX) wm_error_set(err, WM_ERR_ARG, "more than %d arguments", CLI_LIST_MAX);
            else list->items[list->count++] = argv[i];
            matched = 1;
        }
        if (!matched && err->status == WM_OK) wm_error_set(err, WM_ERR_ARG, "unknown option '%s'", argv[i]);
    }
    return err->status;
}

int cli_ends_with(const char *s, const char *suffix) {
    const size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void list_commands(FILE *out, const char *program, const CliCommand *commands, int count) {
    fprintf(out, "usage: %s COMMAND [options]   (%s COMMAND --help for its options)\n\ncommands:\n", program, program);
    for (int i = 0; i < count; i++) fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
}

int cli_dispatch(const char *program, const CliCommand *commands, int count, int argc, char **argv) {
    if (argc < 2) {
        list_commands(stderr, program, commands, count);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        list_commands(stdout, program, commands, count);
        return 0;
    }
    for (int i = 0; i < count; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n", program, argv[1]);
    list_commands(stderr, program, commands, count);
    return 2;
}

int cli_version(const char *program, int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--version") != 0) return 0;
    printf("%s %s (%s)\n", program, WM_VERSION, WM_BUILD_COMMIT);
    return 1;
}

WmStatus cli_check_sets(const CliList *sets, WmError *err) {
    WmConfig scratch;
    config_defaults(&scratch);
    for (int i = 0; i < sets->count; i++)
        if (config_set_assignment(&scratch, sets->items[i], err)) return err->status;
    return WM_OK;
}

WmStatus cli_check_env(const char *option, const char *name, WmError *err) {
    if (name == NULL || env_default_action_repeat(name) >= 0) return WM_OK;
    return wm_error_set(err, WM_ERR_ARG, "%s: unknown environment '%s' (known: %s)", option, name, env_names());
}
