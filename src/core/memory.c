#include "core/memory.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* A "Key:   N kB" line of a /proc file, in bytes; 0 when it is not there. */
static size_t proc_kib(const char *path, const char *key) {
    FILE *in = fopen(path, "r");
    if (in == NULL) return 0;
    char line[256];
    size_t value = 0;
    const size_t n = strlen(key);
    while (fgets(line, sizeof line, in))
        if (strncmp(line, key, n) == 0) {
            unsigned long long kib = 0;
            if (sscanf(line + n, " %llu", &kib) == 1) value = (size_t)kib * 1024;
            break;
        }
    fclose(in);
    return value;
}

size_t memory_available(void) {
    size_t available = proc_kib("/proc/meminfo", "MemAvailable:");
    if (available == 0) available = SIZE_MAX;
    struct rlimit limit;
    if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        const size_t used = proc_kib("/proc/self/status", "VmSize:");
        const size_t left = limit.rlim_cur > used ? (size_t)limit.rlim_cur - used : 0;
        if (left < available) available = left;
    }
    return available;
}

WmStatus memory_check(const char *what, size_t bytes, WmError *err) {
    const size_t available = memory_available();
    if (bytes <= available) return WM_OK;
    return wm_error_set(err, WM_ERR_NOMEM, "%s needs %.2f GiB; %.2f GiB are available (free memory, or ulimit -v)",
                        what, bytes / 1073741824.0, available / 1073741824.0);
}
