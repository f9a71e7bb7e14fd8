/* libFuzzer: the YAML config and --set, with the round-trip property: a config that reads and validates is
 * written as YAML that reads back to the same config. Lines of the input that hold '=' are also tried as --set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (text == NULL) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    WmConfig config, back;
    WmError err = {0};
    config_defaults(&config);
    if (config_load_yaml_text(&config, text, "fuzz", &err) != WM_OK) {
        config_defaults(&config);
        memset(&err, 0, sizeof err);
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            if (strchr(line, '=')) config_set_assignment(&config, line, &err), memset(&err, 0, sizeof err);
    }
    free(text);
    if (config_validate(&config, &err) != WM_OK) return 0;
    char *yaml = config_to_yaml_string(&config);
    config_defaults(&back);
    if (yaml == NULL || config_load_yaml_text(&back, yaml, "round trip", &err) != WM_OK ||
        memcmp(&config, &back, sizeof config) != 0)
        abort(); /* what we write, we must read back to the same config */
    free(yaml);
    return 0;
}
