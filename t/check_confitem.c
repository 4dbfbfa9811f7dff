/* check_confitem.c - typed settings tables, against a syncserver-like table. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "confitem.h"
#include "testutil.h"

#define SECRET "hunter2-secret"

struct ss_conf {
    bool enabled;
    char *address;
    unsigned port;
    unsigned timeout;
    unsigned interval;
    int delivery;
    bool config;
    char *pull_regex;
    uint64_t max_file_size;
    char *ca;
    char *password;
    char *incomingdir;
};

static const char *const delivery_choices[] = { "safe", "fast", NULL };

static const struct pandora_conf_item ss_items[] = {
    { .key = "syncserver", .type = PANDORA_CONF_BOOL,
      .offset = offsetof(struct ss_conf, enabled), .def = "0" },
    { .key = "sync_address", .type = PANDORA_CONF_STRING,
      .offset = offsetof(struct ss_conf, address) },
    { .key = "sync_port", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct ss_conf, port), .def = "41121", .min = 1,
      .max = 65535 },
    { .key = "sync_timeout", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct ss_conf, timeout), .def = "10", .min = 1,
      .max = 3600 },
    { .key = "sync_interval", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct ss_conf, interval), .def = "10", .min = 1,
      .max = 86400, .fallback = "server_threshold" },
    { .key = "sync_delivery", .type = PANDORA_CONF_ENUM,
      .offset = offsetof(struct ss_conf, delivery), .def = "safe",
      .choices = delivery_choices },
    { .key = "sync_config", .type = PANDORA_CONF_BOOL,
      .offset = offsetof(struct ss_conf, config), .def = "1" },
    { .key = "sync_pull_regex", .type = PANDORA_CONF_REGEX,
      .offset = offsetof(struct ss_conf, pull_regex), .def = "\\.data$" },
    { .key = "sync_max_file_size", .type = PANDORA_CONF_SIZE,
      .offset = offsetof(struct ss_conf, max_file_size), .def = "52428800",
      .min = 1, .max = UINT64_C(1) << 40 },
    { .key = "sync_ca", .type = PANDORA_CONF_FILE,
      .offset = offsetof(struct ss_conf, ca) },
    { .key = "sync_password", .type = PANDORA_CONF_SECRET,
      .offset = offsetof(struct ss_conf, password) },
    { .key = "incomingdir", .type = PANDORA_CONF_PATH,
      .offset = offsetof(struct ss_conf, incomingdir),
      .def = "/var/spool/pandora/data_in" },
    PANDORA_CONF_ITEMS_END
};

static char *tmpdir;

static void setup(void)
{
    tmpdir = tu_tmpdir();
}

static void teardown(void)
{
    tu_rmtree(tmpdir);
    free(tmpdir);
}

/* load - write text as tmpdir/pandora_server.conf and read it back */
static struct conf *load(const char *text)
{
    struct pandora_error err = { "" };
    struct conf *conf = NULL;
    char *path = NULL;

    tu_write(tmpdir, "pandora_server.conf", text);
    ck_assert_int_ge(asprintf(&path, "%s/pandora_server.conf", tmpdir), 0);
    ck_assert_msg(conf_load(path, &conf, &err) == 0, "%s", err.text);
    free(path);
    return conf;
}

/* apply - the syncserver table over text; the test fails on an error */
static void apply(const char *text, struct ss_conf *c)
{
    struct pandora_error err = { "" };
    struct conf *conf = load(text);

    memset(c, 0, sizeof(*c));
    ck_assert_msg(confitem_apply(ss_items, conf, c, &err) == 0, "%s",
                  err.text);
    conf_free(conf);
}

static char *print(const struct pandora_conf_item *items, const void *c)
{
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);

    confitem_print(fp, items, c, "  ");
    fclose(fp);
    return out;
}

START_TEST(test_confitem_absent_keys_take_their_defaults)
{
    struct ss_conf c;

    apply("servername central\n", &c);
    ck_assert(!c.enabled);
    ck_assert_ptr_null(c.address);
    ck_assert_uint_eq(c.port, 41121);
    ck_assert_uint_eq(c.timeout, 10);
    ck_assert_uint_eq(c.interval, 10);
    ck_assert_int_eq(c.delivery, 0);
    ck_assert(c.config);
    ck_assert_pstr_eq(c.pull_regex, "\\.data$");
    ck_assert_uint_eq(c.max_file_size, 52428800);
    ck_assert_ptr_null(c.ca);
    ck_assert_ptr_null(c.password);
    ck_assert_pstr_eq(c.incomingdir, "/var/spool/pandora/data_in");
    confitem_free(ss_items, &c);
}
END_TEST

START_TEST(test_confitem_every_type_is_parsed_into_the_struct)
{
    char *text = NULL;
    struct ss_conf c;

    tu_write(tmpdir, "ca.pem", "-----BEGIN CERTIFICATE-----\n");
    ck_assert_int_ge(asprintf(&text,
        "SyncServer On\n"
        "sync_address 10.142.50.10, [fd00::1]:41122\n"
        "sync_port 41122\n"
        "sync_timeout 3600\n"
        "sync_interval 1\n"
        "sync_delivery FAST\n"
        "sync_config false\n"
        "sync_pull_regex ^web[0-9]+\\..*\\.data$\n"
        "sync_max_file_size 1099511627776\n"
        "sync_ca %s/ca.pem\n"
        "sync_password " SECRET "\n"
        "incomingdir /srv/pandora/data_in\n", tmpdir), 0);
    apply(text, &c);
    ck_assert(c.enabled);
    ck_assert_pstr_eq(c.address, "10.142.50.10, [fd00::1]:41122");
    ck_assert_uint_eq(c.port, 41122);
    ck_assert_uint_eq(c.timeout, 3600);
    ck_assert_uint_eq(c.interval, 1);
    ck_assert_int_eq(c.delivery, 1);
    ck_assert(!c.config);
    ck_assert_pstr_eq(c.pull_regex, "^web[0-9]+\\..*\\.data$");
    ck_assert_uint_eq(c.max_file_size, UINT64_C(1) << 40);
    ck_assert_msg(c.ca != NULL && strstr(c.ca, "/ca.pem") != NULL, "%s",
                  c.ca);
    ck_assert_pstr_eq(c.password, SECRET);
    ck_assert_pstr_eq(c.incomingdir, "/srv/pandora/data_in");
    confitem_free(ss_items, &c);
    ck_assert_ptr_null(c.password);
    free(text);
}
END_TEST

/* Every spelling of a switch, in any case. */
static const struct { const char *text; bool on; } bool_words[] = {
    { "1", true }, { "yes", true }, { "ON", true }, { "True", true },
    { "0", false }, { "NO", false }, { "off", false }, { "FaLsE", false },
};

START_TEST(test_confitem_bool_accepts_every_spelling_in_any_case)
{
    char text[64];
    struct ss_conf c;

    snprintf(text, sizeof(text), "syncserver %s\n", bool_words[_i].text);
    apply(text, &c);
    ck_assert_int_eq(c.enabled, bool_words[_i].on);
    confitem_free(ss_items, &c);
}
END_TEST

START_TEST(test_confitem_last_occurrence_decides)
{
    struct ss_conf c;

    apply("sync_port not-a-number\nsync_port 41123\n", &c);
    ck_assert_uint_eq(c.port, 41123);
    confitem_free(ss_items, &c);
}
END_TEST

START_TEST(test_confitem_fallback_key_is_used_when_the_key_is_absent)
{
    struct ss_conf c;

    apply("server_threshold 30\n", &c);
    ck_assert_uint_eq(c.interval, 30);
    confitem_free(ss_items, &c);
    apply("server_threshold 30\nsync_interval 45\n", &c);
    ck_assert_uint_eq(c.interval, 45);
    confitem_free(ss_items, &c);
}
END_TEST

START_TEST(test_confitem_print_masks_secrets_and_marks_unset)
{
    struct ss_conf c;

    apply("sync_password " SECRET "\nsync_delivery fast\nsyncserver 1\n", &c);
    char *out = print(ss_items, &c);
    ck_assert_msg(strstr(out, "  sync_password ********\n") != NULL, "%s",
                  out);
    ck_assert_msg(strstr(out, "hunter2") == NULL, "%s", out);
    ck_assert_msg(strstr(out, "  sync_ca (unset)\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "  sync_delivery fast\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "  sync_port 41121\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "  syncserver 1\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "  sync_max_file_size 52428800\n") != NULL,
                  "%s", out);
    free(out);
    confitem_free(ss_items, &c);
    /* An unset secret says so rather than pretending one is there. */
    apply("syncserver 1\n", &c);
    out = print(ss_items, &c);
    ck_assert_msg(strstr(out, "  sync_password (unset)\n") != NULL, "%s",
                  out);
    free(out);
    confitem_free(ss_items, &c);
}
END_TEST

START_TEST(test_confitem_equal_notices_any_changed_value)
{
    struct ss_conf a, b;
    static const char *const changes[] = {
        "sync_port 41122\n", "sync_password other\n", "sync_delivery fast\n",
        "sync_config 0\n", "sync_max_file_size 7\n", "sync_address x\n",
    };

    apply("sync_password " SECRET "\n", &a);
    apply("SYNC_PASSWORD " SECRET "\n", &b);
    ck_assert(confitem_equal(ss_items, &a, &b));
    confitem_free(ss_items, &b);
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "sync_password " SECRET "\n%s",
                 changes[i]);
        apply(text, &b);
        ck_assert_msg(!confitem_equal(ss_items, &a, &b), "%s", changes[i]);
        confitem_free(ss_items, &b);
    }
    confitem_free(ss_items, &a);
}
END_TEST

START_TEST(test_confitem_parse_replaces_a_previous_string)
{
    struct ss_conf c;
    char why[200];

    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(confitem_parse(&ss_items[1], "first", &c, why,
                                    sizeof(why)), 0);
    ck_assert_int_eq(confitem_parse(&ss_items[1], "second", &c, why,
                                    sizeof(why)), 0);
    ck_assert_pstr_eq(c.address, "second");
    /* a failed parse keeps the old value */
    ck_assert_int_eq(confitem_parse(&ss_items[1], "", &c, why, sizeof(why)),
                     -EINVAL);
    ck_assert_pstr_eq(c.address, "second");
    ck_assert_msg(strstr(why, "non-empty") != NULL, "%s", why);
    confitem_free(ss_items, &c);
    ck_assert_ptr_null(c.address);
}
END_TEST

START_TEST(test_confitem_empty_secret_is_refused_without_echo)
{
    struct ss_conf c;
    char why[200];

    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(confitem_parse(&ss_items[10], "", &c, why, sizeof(why)),
                     -EINVAL);
    ck_assert_msg(strstr(why, "expected a non-empty secret") != NULL, "%s",
                  why);
    ck_assert_ptr_null(c.password);
}
END_TEST

START_TEST(test_confitem_failed_apply_leaves_nothing_allocated)
{
    struct pandora_error err = { "" };
    struct conf *conf = load("sync_address a\nsync_password " SECRET "\n"
                             "incomingdir relative\n");
    struct ss_conf c;

    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(confitem_apply(ss_items, conf, &c, &err), -EINVAL);
    ck_assert_ptr_null(c.address);
    ck_assert_ptr_null(c.password);
    ck_assert_ptr_null(c.pull_regex);
    conf_free(conf);
}
END_TEST

START_TEST(test_confitem_default_that_does_not_parse_blames_the_table)
{
    static const struct pandora_conf_item items[] = {
        { .key = "broken_port", .type = PANDORA_CONF_UINT, .offset = 0,
          .def = "eighty", .min = 1, .max = 65535 },
        PANDORA_CONF_ITEMS_END
    };
    struct pandora_error err = { "" };
    struct conf *conf = load("servername x\n");
    unsigned v = 0;

    ck_assert_int_eq(confitem_apply(items, conf, &v, &err), -EINVAL);
    ck_assert_msg(strstr(err.text, "broken_port") != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "invalid default in the module's table")
                  != NULL, "%s", err.text);
    ck_assert_int_eq(confitem_table_check(items, &err), -EINVAL);
    ck_assert_msg(strstr(err.text, "broken_port") != NULL, "%s", err.text);
    conf_free(conf);
}
END_TEST

/*
 * Bad pandora_server.conf values. Each text follows a three-line preamble
 * (a comment, servername and the secret), so its line N is file line N + 3.
 */
#define PREAMBLE "# pandora_server.conf\nservername central\n" \
                 "sync_password " SECRET "\n"
#define PREAMBLE_LINES 3

static const struct bad_value {
    const char *text;
    unsigned line;       /* of the bad line within text */
    const char *key;     /* named in the message */
    const char *word;    /* from the expected form */
} bad_values[] = {
    { "sync_port 41121 # x\n", 1, "sync_port", "whole number" },
    { "sync_port -1\n", 1, "sync_port", "whole number" },
    { "sync_port 0x10\n", 1, "sync_port", "whole number" },
    { "sync_port 1e3\n", 1, "sync_port", "whole number" },
    { "sync_port 0\n", 1, "sync_port", "from 1 to 65535" },
    { "sync_port 65536\n", 1, "sync_port", "from 1 to 65535" },
    { "sync_port 99999999999999999999999\n", 1, "sync_port", "whole number" },
    { "sync_port +41121\n", 1, "sync_port", "whole number" },
    { "# c\n  indented\nsync_port 41 121\n", 3, "sync_port", "whole number" },
    { "SYNC_PORT 70000\n", 1, "sync_port", "whole number" },
    { "sync_port 41121\nsync_port 41121x\n", 2, "sync_port", "whole number" },
    { "sync_timeout 0\n", 1, "sync_timeout", "from 1 to 3600" },
    { "sync_timeout 3601\n", 1, "sync_timeout", "from 1 to 3600" },
    { "sync_timeout 10s\n", 1, "sync_timeout", "whole number" },
    { "sync_timeout ten\n", 1, "sync_timeout", "whole number" },
    { "sync_interval 1.5\n", 1, "sync_interval", "whole number" },
    { "\nserver_threshold soon\n", 2, "server_threshold", "whole number" },
    { "sync_delivery slow\n", 1, "sync_delivery", "one of safe, fast" },
    { "sync_delivery safe,fast\n", 1, "sync_delivery", "one of safe, fast" },
    { "sync_delivery 1\n", 1, "sync_delivery", "one of safe, fast" },
    { "sync_pull_regex (\n", 1, "sync_pull_regex", "regular expression" },
    { "sync_pull_regex [a-\n", 1, "sync_pull_regex", "regular expression" },
    { "sync_pull_regex a{2,1}\n", 1, "sync_pull_regex", "regular expression" },
    { "sync_pull_regex \\.data$\\\n", 1, "sync_pull_regex",
      "regular expression" },
    { "sync_max_file_size -5\n", 1, "sync_max_file_size", "whole number" },
    { "sync_max_file_size 50M\n", 1, "sync_max_file_size", "whole number" },
    { "sync_max_file_size 18446744073709551616\n", 1, "sync_max_file_size",
      "whole number" },
    { "sync_max_file_size 0\n", 1, "sync_max_file_size", "whole number" },
    { "sync_ca ssl/cacert.pem\n", 1, "sync_ca", "absolute path" },
    { "sync_ca /nonexistent/cacert.pem\n", 1, "sync_ca", "readable file" },
    { "sync_ca /\n", 1, "sync_ca", "regular file" },
    { "syncserver maybe\n", 1, "syncserver", "1 or 0" },
    { "syncserver 2\n", 1, "syncserver", "1 or 0" },
    { "syncserver enabled\n", 1, "syncserver", "1 or 0" },
    { "sync_config yes please\n", 1, "sync_config", "1 or 0" },
    { "incomingdir data_in\n", 1, "incomingdir", "absolute path" },
    { "incomingdir ./data_in\n", 1, "incomingdir", "absolute path" },
    { "sync_interval 0\n", 1, "sync_interval", "from 1 to 86400" },
};

START_TEST(test_confitem_bad_value_names_file_line_key_and_form)
{
    const struct bad_value *b = &bad_values[_i];
    struct pandora_error err = { "" };
    char *text = NULL, *want = NULL;
    struct ss_conf c;

    ck_assert_int_ge(asprintf(&text, PREAMBLE "%s", b->text), 0);
    struct conf *conf = load(text);
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(confitem_apply(ss_items, conf, &c, &err), -EINVAL);
    ck_assert_int_ge(asprintf(&want, "pandora_server.conf:%u: %s",
                              b->line + PREAMBLE_LINES, b->key), 0);
    ck_assert_msg(strstr(err.text, tmpdir) != NULL, "no file: %s", err.text);
    ck_assert_msg(strstr(err.text, want) != NULL, "want '%s': %s", want,
                  err.text);
    ck_assert_msg(strstr(err.text, b->word) != NULL, "want '%s': %s", b->word,
                  err.text);
    ck_assert_msg(strstr(err.text, "hunter2") == NULL, "secret: %s",
                  err.text);
    ck_assert_ptr_null(c.password);
    conf_free(conf);
    free(text);
    free(want);
}
END_TEST

/* Tables a module might get wrong; each must be refused, not crash. */
static const char *const no_choices[] = { NULL };
static const char *const empty_choice[] = { "safe", "", NULL };

static const struct pandora_conf_item bad_tables[][3] = {
    { { .key = NULL, .type = PANDORA_CONF_UINT }, PANDORA_CONF_ITEMS_END },
    { { .key = "Sync_Port", .type = PANDORA_CONF_UINT },
      PANDORA_CONF_ITEMS_END },
    { { .key = "sync port", .type = PANDORA_CONF_UINT },
      PANDORA_CONF_ITEMS_END },
    { { .key = "", .type = PANDORA_CONF_STRING }, PANDORA_CONF_ITEMS_END },
    { { .key = "_x", .type = PANDORA_CONF_STRING }, PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_STRING },
      { .key = "a", .type = PANDORA_CONF_UINT }, PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = (enum pandora_conf_type)99 },
      PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_END }, PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_UINT, .min = 10, .max = 1 },
      PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_UINT, .max = UINT64_C(1) << 33 },
      PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_ENUM }, PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_ENUM, .choices = no_choices },
      PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_ENUM, .choices = empty_choice },
      PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_ENUM, .choices = delivery_choices,
        .def = "slow" }, PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_UINT, .def = "5", .min = 10,
        .max = 20 }, PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_REGEX, .def = "(" },
      PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_PATH, .def = "relative" },
      PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_BOOL, .def = "perhaps" },
      PANDORA_CONF_ITEMS_END },
    { { .key = "a", .type = PANDORA_CONF_UINT, .fallback = "Bad Key" },
      PANDORA_CONF_ITEMS_END },
};

START_TEST(test_confitem_table_check_refuses_a_malformed_table)
{
    struct pandora_error err = { "" };

    ck_assert_int_eq(confitem_table_check(bad_tables[_i], &err), -EINVAL);
    ck_assert_msg(err.text[0] != '\0', "no message");
}
END_TEST

START_TEST(test_confitem_table_check_accepts_a_good_table)
{
    struct pandora_error err = { "" };
    static const struct pandora_conf_item later_file[] = {
        /* a FILE default need not exist when the module registers */
        { .key = "sync_crl", .type = PANDORA_CONF_FILE, .offset = 0,
          .def = "/nonexistent/crl.pem" },
        PANDORA_CONF_ITEMS_END
    };

    ck_assert_msg(confitem_table_check(ss_items, &err) == 0, "%s", err.text);
    ck_assert_msg(confitem_table_check(later_file, &err) == 0, "%s",
                  err.text);
    ck_assert_int_eq(confitem_table_check(NULL, &err), -EINVAL);
}
END_TEST

static Suite *confitem_suite(void)
{
    Suite *s = suite_create("confitem");
    TCase *tc = tcase_create("values");

    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_confitem_absent_keys_take_their_defaults);
    tcase_add_test(tc, test_confitem_every_type_is_parsed_into_the_struct);
    tcase_add_loop_test(tc, test_confitem_bool_accepts_every_spelling_in_any_case,
                        0, sizeof(bool_words) / sizeof(bool_words[0]));
    tcase_add_test(tc, test_confitem_last_occurrence_decides);
    tcase_add_test(tc,
                   test_confitem_fallback_key_is_used_when_the_key_is_absent);
    tcase_add_test(tc, test_confitem_parse_replaces_a_previous_string);
    tcase_add_test(tc, test_confitem_empty_secret_is_refused_without_echo);
    tcase_add_test(tc, test_confitem_failed_apply_leaves_nothing_allocated);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_confitem_bad_value_names_file_line_key_and_form,
                        0, sizeof(bad_values) / sizeof(bad_values[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("output");
    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_confitem_print_masks_secrets_and_marks_unset);
    tcase_add_test(tc, test_confitem_equal_notices_any_changed_value);
    suite_add_tcase(s, tc);

    tc = tcase_create("tables");
    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc,
                   test_confitem_default_that_does_not_parse_blames_the_table);
    tcase_add_loop_test(tc, test_confitem_table_check_refuses_a_malformed_table,
                        0, sizeof(bad_tables) / sizeof(bad_tables[0]));
    tcase_add_test(tc, test_confitem_table_check_accepts_a_good_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(confitem_suite());
}
