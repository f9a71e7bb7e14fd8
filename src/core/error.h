/* Errors are values: a function that can fail returns a WmStatus and, on failure, writes one line into the
 * caller's WmError. Only the command-line edge prints it and chooses the exit code. */
#ifndef WM_CORE_ERROR_H
#define WM_CORE_ERROR_H

typedef enum {
    WM_OK = 0,
    WM_ERR_ARG,    /* a caller passed something out of range */
    WM_ERR_IO,     /* the operating system refused */
    WM_ERR_FORMAT, /* input data is malformed */
    WM_ERR_NOMEM,  /* an allocation or an arena ran out */
    WM_ERR_DNNL,   /* oneDNN returned a failure status */
    WM_ERR_NUMERIC, /* a non-finite value where a finite one is required */
    WM_ERR_PEER,    /* another rank of a data-parallel job failed, and says why itself */
    WM_ERR_STOPPED  /* the user asked to stop (a signal): not a failure, the caller winds up */
} WmStatus;

typedef struct {
    WmStatus status;
    char message[512];
} WmError;

/* Records the first failure only: the innermost cause is the one worth reading. Returns status. */
WmStatus wm_error_set(WmError *err, WmStatus status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A value a training update needs finite: WM_OK, or WM_ERR_NUMERIC with "<counter> <n>: <what> is NaN|infinite;
 * no update was made", counting updates from 1 (`done` were made before this one). */
WmStatus wm_require_finite(double value, const char *counter, long done, const char *what, WmError *err);

/* "s" unless n is 1: "%ld episode%s". */
static inline const char *wm_plural(long n) { return n == 1 ? "" : "s"; }

#endif
