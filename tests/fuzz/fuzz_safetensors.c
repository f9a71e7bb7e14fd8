/* libFuzzer: the safetensors reader and what a checkpoint's metadata holds: every tensor visited (its values
 * summed, as wm info does), the config in the metadata parsed. */
#include <string.h>

#include "config/config.h"
#include "core/safetensors.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void visit(void *ctx, const char *name, const char *dtype, int rank, const int64_t *shape, const void *data) {
    (void)name;
    double *sum = ctx;
    long long count = 1;
    for (int d = 0; d < rank; d++) count *= shape[d];
    if (strcmp(dtype, "F32") == 0)
        for (long long i = 0; i < count; i++) *sum += ((const float *)data)[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("checkpoint.safetensors", data, size);
    WmSafetensors file;
    WmError err = {0};
    if (path == NULL || safetensors_open(&file, path, &err)) return 0;
    double sum = 0.0;
    safetensors_each(&file, visit, &sum);
    const char *config_text = safetensors_meta(&file, "config");
    if (config_text) {
        WmConfig config;
        config_defaults(&config);
        config_load_yaml_text(&config, config_text, "fuzz", &err);
    }
    safetensors_close(&file);
    return 0;
}
