#include "cli.h"

#include <errno.h>
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

int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value, WmError *err) {
    if (strcmp(argv[*i], name) != 0) return 0;
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
