#include "core/error.h"

#include <math.h>
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

WmStatus wm_require_finite(double value, const char *counter, long done, const char *what, WmError *err) {
    if (isfinite(value)) return WM_OK;
    return wm_error_set(err, WM_ERR_NUMERIC, "%s %ld: %s is %s; no update was made", counter, done + 1, what,
                        isnan(value) ? "NaN" : "infinite");
}
