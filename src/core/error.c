#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

WmStatus wm_error_set(WmError *err, WmStatus status, const char *fmt, ...) {
    if (err == NULL || err->status != WM_OK) return status;
    err->status = status;
    va_list args;
    va_start(args, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, args);
    va_end(args);
    return status;
}
