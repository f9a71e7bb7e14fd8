/* The fuzz targets' one helper: the input as a file (the loaders read paths), named after the process so parallel
 * fuzzing jobs do not share it. */
#ifndef WM_TESTS_FUZZ_FILE_H
#define WM_TESTS_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static inline const char *fuzz_write(const char *name, const uint8_t *data, size_t size) {
    static char path[256];
    snprintf(path, sizeof path, "/tmp/wm_fuzz_%d_%s", (int)getpid(), name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) return NULL;
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    return path;
}

#endif
