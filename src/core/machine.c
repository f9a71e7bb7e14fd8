#include "core/machine.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void machine_cpu_model(char *out, size_t size) {
    snprintf(out, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            snprintf(out, size, "%s", colon + 2);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

void machine_build_id(char *out, size_t size) {
    struct stat s;
    if (stat("/proc/self/exe", &s) != 0) {
        snprintf(out, size, "unknown build");
        return;
    }
    snprintf(out, size, "%lld-%lld.%09ld", (long long)s.st_size, (long long)s.st_mtim.tv_sec, (long)s.st_mtim.tv_nsec);
}
