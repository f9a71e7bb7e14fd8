/* How much memory a process can still take: the smaller of what the kernel reports available (MemAvailable) and
 * what is left under the address-space limit (ulimit -v). Sizes are checked against it before allocating, so a
 * batch too large for the machine is one line with both figures, not an OOM kill. */
#ifndef WM_CORE_MEMORY_H
#define WM_CORE_MEMORY_H

#include <stddef.h>

#include "core/error.h"

/* Bytes that can still be allocated (SIZE_MAX when nothing says). */
size_t memory_available(void);
/* An error naming `what`, the bytes it needs and the bytes available, when `bytes` will not fit. */
WmStatus memory_check(const char *what, size_t bytes, WmError *err);

#endif
