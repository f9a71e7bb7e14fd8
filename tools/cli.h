/* Command-line helpers shared by the subcommands: strict number parsing and option matching. */
#ifndef WM_TOOLS_CLI_H
#define WM_TOOLS_CLI_H

#include "core/error.h"

/* Parses all of text as a base-10 integer within [lo, hi]; the error names the option. */
WmStatus cli_parse_long(const char *option, const char *text, long lo, long hi, long *out, WmError *err);

/* For "--name VALUE": when argv[*i] is the option, stores the value, advances *i and returns 1. A missing value is
 * an error (returns -1). Returns 0 when argv[*i] is another option. */
int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value, WmError *err);

/* True when any argument is -h or --help. */
int cli_wants_help(int argc, char **argv);

#endif
