#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int progress_is_terminal(void) { return isatty(STDERR_FILENO); }

/* The terminal's width, or 80 when it does not say. */
static int terminal_columns(void) {
    struct winsize size;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
    return 80;
}

void progress_line(const char *fmt, ...) {
    if (!progress_is_terminal()) return;
    char line[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    /* One column short of the width: a full line would wrap on some terminals and scroll the screen. */
    const int room = terminal_columns() - 1;
    fprintf(stderr, "\r\033[K%.*s", room > 0 ? room : 0, line);
    fflush(stderr);
}

void progress_done(void) {
    if (progress_is_terminal()) fputs("\r\033[K", stderr);
}
