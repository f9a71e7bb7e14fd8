/* The configuration: configs/default.yaml declares every key with the built-in default, files and --set apply in
 * order, and every bad key or value is an error naming it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "config/config.h"
#include "core/fs.h"

static char path_buffer[4096];

static const char *source_path(const char *relative) {
    const char *root = getenv("WM_SOURCE_ROOT");
    snprintf(path_buffer, sizeof path_buffer, "%s/%s", root ? root : ".", relative);
    return path_buffer;
}

static const char *write_temp(const char *name, const char *text) {
    static char path[256];
    snprintf(path, sizeof path, "/tmp/wm_test_config_%d_%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(default_yaml_declares_every_key_with_its_default) {
    WmConfig built_in, from_file;
    config_defaults(&built_in);
    memset(&from_file, 0, sizeof from_file);
    WmError err = {0};
    ck_assert_msg(config_load_yaml(&from_file, source_path("configs/default.yaml"), &err) == WM_OK, "%s", err.message);
    ck_assert_msg(memcmp(&built_in, &from_file, sizeof built_in) == 0, "configs/default.yaml differs from the table");
    /* Every key written out, under its section. */
    char *text = NULL;
    size_t size = 0;
    ck_assert(fs_read_all(source_path("configs/default.yaml"), &text, &size, &err) == WM_OK);
    for (int i = 0; i < config_key_count(); i++) {
        const char *name = config_key_name(i), *dot = strchr(name, '.');
        char section[64], key[96];
        snprintf(section, sizeof section, "\n%.*s:\n", (int)(dot - name), name);
        snprintf(key, sizeof key, "\n  %s:", dot + 1);
        const char *at = strstr(text, section);
        ck_assert_msg(at != NULL, "default.yaml has no section for %s", name);
        ck_assert_msg(strstr(at, key) != NULL, "default.yaml does not declare %s", name);
        ck_assert_msg(strlen(config_key_help(i)) > 0, "%s has no help", name);
    }
    free(text);
}
END_TEST

START_TEST(written_yaml_reads_back_the_same) {
    WmConfig config, back;
    config_defaults(&config);
    WmError err = {0};
    ck_assert(config_set_assignment(&config, "optim.learning_rate=0.0003", &err) == WM_OK);
    ck_assert(config_set_assignment(&config, "model.encoder_kernels=4,4,4,4", &err) == WM_OK);
    ck_assert(config_set_assignment(&config, "loss.kl_balancing=true", &err) == WM_OK);
    char *yaml = config_to_yaml_string(&config);
    const char *path = write_temp("roundtrip.yaml", yaml);
    memset(&back, 0, sizeof back);
    ck_assert_msg(config_load_yaml(&back, path, &err) == WM_OK, "%s", err.message);
    ck_assert(memcmp(&config, &back, sizeof config) == 0);
    ck_assert_double_eq(back.optim.learning_rate, 0.0003);
    remove(path);
    free(yaml);
}
END_TEST

/* A word set twice, long then short, leaves the same bytes as set once: configs are compared whole (the fuzzer's
 * round trip found a stale tail after the terminator). */
START_TEST(a_word_set_twice_equals_it_set_once) {
    WmConfig twice, once;
    WmError err = {0};
    config_defaults(&twice);
    config_defaults(&once);
    ck_assert(config_set_assignment(&twice, "data.env=point-mass-easy", &err) == WM_OK);
    ck_assert(config_set_assignment(&twice, "data.env=reacher-easy", &err) == WM_OK);
    ck_assert(config_set_assignment(&once, "data.env=reacher-easy", &err) == WM_OK);
    ck_assert(memcmp(&twice, &once, sizeof twice) == 0);
}
END_TEST

/* Text that is not a plain word (YAML's own characters, an exec: command line with quotes and backslashes) is
 * written quoted and reads back the same. */
START_TEST(text_with_yaml_characters_round_trips) {
    static const char *const TEXTS[] = {"a: b", "{", "*ref", "exec:python3 \"my env.py\" --path C:\\x #1", "'", "- x"};
    for (size_t i = 0; i < sizeof TEXTS / sizeof TEXTS[0]; i++) {
        WmConfig config, back;
        WmError err = {0};
        config_defaults(&config);
        ck_assert_msg(config_set(&config, "data.env", TEXTS[i], "test", &err) == WM_OK, "%s", err.message);
        char *yaml = config_to_yaml_string(&config);
        const char *path = write_temp("text.yaml", yaml);
        config_defaults(&back);
        ck_assert_msg(config_load_yaml(&back, path, &err) == WM_OK, "%s: %s", TEXTS[i], err.message);
        ck_assert_str_eq(back.data.env, TEXTS[i]);
        ck_assert(memcmp(&config, &back, sizeof config) == 0);
        remove(path);
        free(yaml);
    }
}
END_TEST

/* The round trip, for every key: each set away from its default (the upper bound, a list of the bound, the last
 * choice, the other truth value, a word), written as YAML, read back to the same config. */
START_TEST(every_key_round_trips_through_yaml) {
    WmConfig config, back;
    config_defaults(&config);
    WmError err = {0};
    for (int i = 0; i < config_key_count(); i++) {
        char range[256], value[64], assignment[160];
        config_key_range(i, range, sizeof range);
        double lo, hi;
        if (config_key_choice(i, 0)) {
            int last = 0;
            while (config_key_choice(i, last + 1)) last++;
            snprintf(value, sizeof value, "%s", config_key_choice(i, last));
        } else if (sscanf(range, "integer in [%lf, %lf]", &lo, &hi) == 2) {
            snprintf(value, sizeof value, "%.0f", hi > 1e6 ? lo + 7 : hi);
        } else if (sscanf(range, "number in [%lf, %lf]", &lo, &hi) == 2) {
            snprintf(value, sizeof value, "%.17g", lo + (hi - lo) / 3.0);
        } else if (sscanf(range, "list of integers in [%lf, %lf]", &lo, &hi) == 2) {
            snprintf(value, sizeof value, "[%.0f, %.0f]", lo, hi);
        } else if (strcmp(range, "true or false") == 0) {
            snprintf(value, sizeof value, "%s", strcmp(config_key_default(i), "true") == 0 ? "false" : "true");
        } else {
            snprintf(value, sizeof value, "some-task_2.v1");
        }
        snprintf(assignment, sizeof assignment, "%s=%s", config_key_name(i), value);
        ck_assert_msg(config_set_assignment(&config, assignment, &err) == WM_OK, "%s: %s", assignment, err.message);
    }
    char *yaml = config_to_yaml_string(&config);
    const char *path = write_temp("every_key.yaml", yaml);
    config_defaults(&back);
    ck_assert_msg(config_load_yaml(&back, path, &err) == WM_OK, "%s", err.message);
    static const char *const EVERY[] = {"", NULL};
    char differences[2048];
    ck_assert_msg(config_differences(&config, &back, EVERY, differences, sizeof differences) == 0, "%s", differences);
    ck_assert(memcmp(&config, &back, sizeof config) == 0);
    remove(path);
    free(yaml);
}
END_TEST

START_TEST(layers_apply_in_order) {
    WmConfig config;
    config_defaults(&config);
    WmError err = {0};
    const char *path = write_temp("task.yaml", "# a task file\ndata:\n  action_repeat: 8\n  batch: 16\nloss:\n  free_nats: 2\n");
    ck_assert(config_load_yaml(&config, path, &err) == WM_OK);
    ck_assert(config_set_assignment(&config, "data.batch=32", &err) == WM_OK);
    ck_assert_int_eq(config.data.action_repeat, 8);
    ck_assert_int_eq(config.data.batch, 32);
    ck_assert_double_eq(config.loss.free_nats, 2.0);
    ck_assert_int_eq(config.data.length, 50);
    remove(path);
}
END_TEST

/* Each bad input and the words its message must hold. */
static const struct {
    const char *yaml, *set, *expect;
} BAD[] = {
    {"model:\n  detr: 200\n", NULL, ":2: unknown key 'model.detr'"},
    {"optim:\n  learning_rate: fast\n", NULL, ":2: optim.learning_rate: 'fast' is not a number"},
    {"data:\n  batch: 0\n", NULL, ":2: data.batch: 0 is out of range"},
    {"data:\n  batch: 2.5\n", NULL, "data.batch: '2.5' is not a whole number"},
    {"data:\n  dequantize: maybe\n", NULL, "data.dequantize: 'maybe' is not true or false"},
    {"data: [1, 2]\n", NULL, ":1: expected a mapping of keys under the section"},
    {"data:\n  batch: [1\n", NULL, "did not find expected"},
    {"- 1\n- 2\n", NULL, ":1: expected a mapping of sections"},
    {NULL, "model.stoch", "expected section.key=value"},
    {NULL, "model.stoch=-1", "--set: model.stoch: -1 is out of range"},
    {NULL, "nope.key=1", "--set: unknown key 'nope.key'"},
    {NULL, "model.encoder_kernels=[4,x]", "model.encoder_kernels: 'x' is not a number"},
    {NULL, "data.batch=0x10", "data.batch: '0x10' is not a number"}, /* strtod alone takes it as 16 */
    {NULL, "optim.eps=inf", "optim.eps: 'inf' is not a number"},
    {NULL, "data.batch= 4", "data.batch: ' 4' is not a number"},
    {NULL, "data.env=\xc3(", "holds a character outside printable ASCII"},
    {NULL, "data.env=a\tb", "holds a character outside printable ASCII"},
    {NULL, "plan.planner=cme", "plan.planner: 'cme' is not shooting, cem, mppi or actor"},
    {NULL, "model.detr=3", "did you mean model.deter?"},
};

START_TEST(bad_keys_and_values_are_named) {
    WmConfig config;
    config_defaults(&config);
    WmError err = {0};
    WmStatus status;
    if (BAD[_i].yaml != NULL) {
        const char *path = write_temp("bad.yaml", BAD[_i].yaml);
        status = config_load_yaml(&config, path, &err);
        ck_assert_ptr_nonnull(strstr(err.message, path));
        remove(path);
    } else {
        status = config_set_assignment(&config, BAD[_i].set, &err);
    }
    ck_assert_int_ne(status, WM_OK);
    ck_assert_msg(strstr(err.message, BAD[_i].expect) != NULL, "case %d: got '%s'", _i, err.message);
}
END_TEST

START_TEST(relations_between_keys_are_checked) {
    WmConfig config;
    config_defaults(&config);
    WmError err = {0};
    ck_assert(config_validate(&config, &err) == WM_OK);
    ck_assert(config_set_assignment(&config, "data.height=32", &err) == WM_OK);
    ck_assert(config_set_assignment(&config, "data.width=32", &err) == WM_OK);
    ck_assert(config_validate(&config, &err) != WM_OK);
    ck_assert_ptr_nonnull(strstr(err.message, "model.encoder_kernels"));
    WmError err2 = {0};
    config_defaults(&config);
    ck_assert(config_set_assignment(&config, "model.decoder_kernels=5,5,6", &err2) == WM_OK);
    ck_assert(config_validate(&config, &err2) != WM_OK);
    ck_assert_ptr_nonnull(strstr(err2.message, "the decoder makes 30x30 images, data is 64x64"));
}
END_TEST

int main(void) {
    Suite *suite = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, default_yaml_declares_every_key_with_its_default);
    tcase_add_test(tc, written_yaml_reads_back_the_same);
    tcase_add_test(tc, a_word_set_twice_equals_it_set_once);
    tcase_add_test(tc, text_with_yaml_characters_round_trips);
    tcase_add_test(tc, every_key_round_trips_through_yaml);
    tcase_add_test(tc, layers_apply_in_order);
    tcase_add_loop_test(tc, bad_keys_and_values_are_named, 0, (int)(sizeof BAD / sizeof BAD[0]));
    tcase_add_test(tc, relations_between_keys_are_checked);
    suite_add_tcase(suite, tc);
    return check_run(suite);
}
