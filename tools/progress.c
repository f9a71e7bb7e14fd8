#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void progress_line(const char *fmt, ...) {
    if (!isatty(STDERR_FILENO)) return;
    va_list args;
    va_start(args, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fflush(stderr);
}

void progress_done(void) {
    if (isatty(STDERR_FILENO)) fputs("\r\033[K", stderr);
}
