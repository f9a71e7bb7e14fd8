/* Command-line helpers shared by the subcommands: strict number parsing and option matching. */
#ifndef WM_TOOLS_CLI_H
#define WM_TOOLS_CLI_H

#include "core/error.h"

/* Parses all of text as a base-10 integer within [lo, hi]; the error names the option. */
WmStatus cli_parse_long(const char *option, const char *text, long lo, long hi, long *out, WmError *err);

/* True when s ends with suffix (file kinds by extension). */
int cli_ends_with(const char *s, const char *suffix);

/* True when any argument is -h or --help. */
int cli_wants_help(int argc, char **argv);

/* A table of options, parsed in one call: "--name VALUE" for text and numbers, "--name" alone for a flag, and
 * "--name VALUE" repeated for a list (--set k=v ...). A list with no name takes the arguments that are not options
 * (wm-viz scores RUN...). */
typedef enum { CLI_TEXT, CLI_LONG, CLI_FLAG, CLI_LIST } CliKind;
enum { CLI_LIST_MAX = 64 };
typedef struct {
    const char *items[CLI_LIST_MAX];
    int count;
} CliList;
typedef struct {
    const char *name;
    CliKind kind;
    void *out;    /* const char **, long *, int * or CliList * */
    long lo, hi;  /* CLI_LONG's bounds */
} CliOption;

/* Parses argv[1..] against the table; an unknown option or a bad value is an error naming it. */
WmStatus cli_parse_options(int argc, char **argv, const CliOption *options, int count, WmError *err);

/* Usage checks of values the library would refuse later anyway, so that every command line mistake exits 2 before
 * anything runs: each --set assignment against the key table, an --env name against the built-in environments. */
WmStatus cli_check_sets(const CliList *sets, WmError *err);
WmStatus cli_check_env(const char *option, const char *name, WmError *err);

/* A subcommand of a binary (wm COMMAND, wm-viz COMMAND, wm bench WHAT): its entry point takes argv from the
 * command's name on and returns the exit code, its --help included. */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} CliCommand;

/* `program` COMMAND [options]: runs the command argv[1] names. No command, or an unknown one, prints the list to
 * stderr and returns 2; --help, -h or help prints it to stdout and returns 0. */
int cli_dispatch(const char *program, const CliCommand *commands, int count, int argc, char **argv);
/* "--version": prints "program VERSION (commit)" and returns 1; otherwise 0. */
int cli_version(const char *program, int argc, char **argv);

#endif
