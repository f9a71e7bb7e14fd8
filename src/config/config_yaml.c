/* Reading a config file with libyaml: a mapping of sections to mappings of scalars or flow lists of scalars.
 * Each value goes through config_set, so the file obeys the same table, bounds and messages as --set. */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "config/config.h"

typedef struct {
    yaml_parser_t parser;
    const char *path;
    WmError *err;
} YamlReader;

static WmStatus next_event(YamlReader *r, yaml_event_t *event) {
    if (!yaml_parser_parse(&r->parser, event))
        return wm_error_set(r->err, WM_ERR_FORMAT, "%s:%zu: %s", r->path, r->parser.problem_mark.line + 1,
                            r->parser.problem ? r->parser.problem : "malformed YAML");
    return WM_OK;
}

static WmStatus expect(YamlReader *r, yaml_event_t *event, yaml_event_type_t type, const char *what) {
    if (next_event(r, event)) return r->err->status;
    if (event->type != type) {
        const size_t line = event->start_mark.line + 1;
        yaml_event_delete(event);
        return wm_error_set(r->err, WM_ERR_FORMAT, "%s:%zu: expected %s", r->path, line, what);
    }
    return WM_OK;
}

/* A value: a scalar, or a sequence of scalars joined as "a,b,c". */
static WmStatus read_value(YamlReader *r, char *out, size_t size, size_t *line) {
    yaml_event_t event;
    if (next_event(r, &event)) return r->err->status;
    *line = event.start_mark.line + 1;
    if (event.type == YAML_SCALAR_EVENT) {
        if (event.data.scalar.length >= size) {
            yaml_event_delete(&event);
            return wm_error_set(r->err, WM_ERR_FORMAT, "%s:%zu: a value longer than %zu characters", r->path, *line,
                                size - 1);
        }
        snprintf(out, size, "%s", (const char *)event.data.scalar.value);
        yaml_event_delete(&event);
        return WM_OK;
    }
    if (event.type != YAML_SEQUENCE_START_EVENT) {
        yaml_event_delete(&event);
        return wm_error_set(r->err, WM_ERR_FORMAT, "%s:%zu: expected a value or a list", r->path, *line);
    }
    yaml_event_delete(&event);
    size_t used = 0;
    out[0] = '\0';
    for (;;) {
        if (next_event(r, &event)) return r->err->status;
        if (event.type == YAML_SEQUENCE_END_EVENT) break;
        if (event.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&event);
            return wm_error_set(r->err, WM_ERR_FORMAT, "%s:%zu: a list holds plain values only", r->path, *line);
        }
        used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%s%s", used ? "," : "",
                                 (const char *)event.data.scalar.value);
        yaml_event_delete(&event);
    }
    yaml_event_delete(&event);
    if (used == 0) snprintf(out, size, "[]");
    return WM_OK;
}

static WmStatus read_section(YamlReader *r, WmConfig *config, const char *section) {
    yaml_event_t event;
    if (expect(r, &event, YAML_MAPPING_START_EVENT, "a mapping of keys under the section")) return r->err->status;
    yaml_event_delete(&event);
    for (;;) {
        if (next_event(r, &event)) return r->err->status;
        if (event.type == YAML_MAPPING_END_EVENT) break;
        if (event.type != YAML_SCALAR_EVENT) {
            const size_t line = event.start_mark.line + 1;
            yaml_event_delete(&event);
            return wm_error_set(r->err, WM_ERR_FORMAT, "%s:%zu: expected a key under '%s'", r->path, line, section);
        }
        char name[160], value[WM_CONFIG_VALUE_MAX], where[4200];
        snprintf(name, sizeof name, "%s.%s", section, (const char *)event.data.scalar.value);
        yaml_event_delete(&event);
        size_t line = 0;
        if (read_value(r, value, sizeof value, &line)) return r->err->status;
        snprintf(where, sizeof where, "%s:%zu", r->path, line);
        if (config_set(config, name, value, where, r->err)) return r->err->status;
    }
    yaml_event_delete(&event);
    return WM_OK;
}

/* The parser's input is set; reads the stream into config. */
static WmStatus read_stream(YamlReader *r, WmConfig *config);

WmStatus config_load_yaml(WmConfig *config, const char *path, WmError *err) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot open the config file", path);
    YamlReader r = {.path = path, .err = err};
    yaml_parser_initialize(&r.parser);
    yaml_parser_set_input_file(&r.parser, file);
    const WmStatus status = read_stream(&r, config);
    yaml_parser_delete(&r.parser);
    fclose(file);
    return status;
}

WmStatus config_load_yaml_text(WmConfig *config, const char *text, const char *where, WmError *err) {
    YamlReader r = {.path = where, .err = err};
    yaml_parser_initialize(&r.parser);
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, strlen(text));
    const WmStatus status = read_stream(&r, config);
    yaml_parser_delete(&r.parser);
    return status;
}

static WmStatus read_stream(YamlReader *r, WmConfig *config) {
    const char *path = r->path;
    WmError *err = r->err;
    yaml_event_t event;
    if (expect(r, &event, YAML_STREAM_START_EVENT, "a YAML stream")) goto done;
    yaml_event_delete(&event);
    if (next_event(r, &event)) goto done;
    if (event.type == YAML_STREAM_END_EVENT) goto done_event; /* an empty file overrides nothing */
    yaml_event_delete(&event);
    if (expect(r, &event, YAML_MAPPING_START_EVENT, "a mapping of sections (run:, data:, model:, ...)")) goto done;
    yaml_event_delete(&event);
    for (;;) {
        if (next_event(r, &event)) goto done;
        if (event.type == YAML_MAPPING_END_EVENT) break;
        if (event.type != YAML_SCALAR_EVENT) {
            wm_error_set(err, WM_ERR_FORMAT, "%s:%zu: expected a section name", path, event.start_mark.line + 1);
            goto done_event;
        }
        char section[64];
        snprintf(section, sizeof section, "%s", (const char *)event.data.scalar.value);
        yaml_event_delete(&event);
        if (read_section(r, config, section)) goto done;
    }
done_event:
    yaml_event_delete(&event);
done:
    return err->status;
}
