/* check_conf.c - pandora_server.conf read with Pandora's rules. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "testutil.h"

#define PATH "/etc/pandora/pandora_server.conf"

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

/* parse - text (a C string) as PATH; the test fails on an error */
static struct conf *parse(const char *text)
{
    struct pandora_error err = { "" };
    struct conf *conf = NULL;

    ck_assert_msg(conf_parse(PATH, text, strlen(text), &conf, &err) == 0,
                  "%s", err.text);
    ck_assert_ptr_nonnull(conf);
    return conf;
}

/* parse_error - bytes that must be refused; returns the message */
static int parse_error(const char *text, size_t len, struct pandora_error *e)
{
    struct conf *conf = NULL;
    int rc = conf_parse(PATH, text, len, &conf, e);

    ck_assert_ptr_null(conf);
    return rc;
}

START_TEST(test_conf_keys_match_in_any_case)
{
    struct conf *conf = parse("ServerName Web01\nSYNC_PORT 41122\n");

    ck_assert_pstr_eq(conf_get(conf, "servername", NULL), "Web01");
    ck_assert_pstr_eq(conf_get(conf, "SERVERNAME", NULL), "Web01");
    ck_assert_pstr_eq(conf_get(conf, "sync_port", NULL), "41122");
    ck_assert_pstr_eq(conf_get(conf, "Sync_Port", NULL), "41122");
    conf_free(conf);
}
END_TEST

START_TEST(test_conf_last_occurrence_wins_with_its_line)
{
    unsigned line = 0;
    struct conf *conf = parse("sync_port 1\nverbosity 3\nSYNC_PORT 2\n"
                              "# sync_port 4\nsync_port 3\nother x\n");

    ck_assert_pstr_eq(conf_get(conf, "sync_port", &line), "3");
    ck_assert_uint_eq(line, 5);
    ck_assert_pstr_eq(conf_get(conf, "verbosity", &line), "3");
    ck_assert_uint_eq(line, 2);
    conf_free(conf);
}
END_TEST

START_TEST(test_conf_comments_and_indented_lines_are_ignored)
{
    struct conf *conf = parse("#servername commented\n"
                              "  servername indented\n"
                              "\tincomingdir /tab\n"
                              "1verbosity 9\n"
                              "_key value\n"
                              "\n"
                              "servername real\n");

    ck_assert_pstr_eq(conf_get(conf, "servername", NULL), "real");
    ck_assert_ptr_null(conf_get(conf, "incomingdir", NULL));
    ck_assert_ptr_null(conf_get(conf, "1verbosity", NULL));
    ck_assert_ptr_null(conf_get(conf, "_key", NULL));
    conf_free(conf);
}
END_TEST

START_TEST(test_conf_crlf_does_not_leak_into_values)
{
    unsigned line = 0;
    struct conf *conf = parse("servername web01\r\nsync_port 41121 \r\n"
                              "lonely\r\nverbosity\t3\r\n");

    ck_assert_pstr_eq(conf_get(conf, "servername", NULL), "web01");
    ck_assert_pstr_eq(conf_get(conf, "sync_port", NULL), "41121");
    ck_assert_pstr_eq(conf_get(conf, "verbosity", &line), "3");
    ck_assert_uint_eq(line, 4);
    ck_assert_ptr_null(conf_get(conf, "lonely", NULL));
    conf_free(conf);
}
END_TEST

START_TEST(test_conf_key_without_value_is_ignored)
{
    struct conf *conf = parse("servername first\nservername\n"
                              "servername   \t \nsync_ca\n");

    /* Pandora skips the empty ones, so the earlier value still counts. */
    ck_assert_pstr_eq(conf_get(conf, "servername", NULL), "first");
    ck_assert_ptr_null(conf_get(conf, "sync_ca", NULL));
    conf_free(conf);
}
END_TEST

START_TEST(test_conf_value_is_the_trimmed_rest_of_the_line)
{
    struct conf *conf = parse("sync_port 41121 # not a comment\n"
                              "sync_address   10.0.0.1 ,  10.0.0.2  \n"
                              "servername\tcentral\t\n"
                              "nonl value at end of file");

    ck_assert_pstr_eq(conf_get(conf, "sync_port", NULL),
                      "41121 # not a comment");
    ck_assert_pstr_eq(conf_get(conf, "sync_address", NULL),
                      "10.0.0.1 ,  10.0.0.2");
    ck_assert_pstr_eq(conf_get(conf, "servername", NULL), "central");
    ck_assert_pstr_eq(conf_get(conf, "nonl", NULL), "value at end of file");
    conf_free(conf);
}
END_TEST

START_TEST(test_conf_unknown_keys_are_kept_silently)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);

    for (int i = 0; i < 600; i++)
        fprintf(fp, "perl_server_key_%03d value %d\n", i, i);
    fclose(fp);
    struct conf *conf = parse(text);
    char key[64], want[32];
    for (int i = 0; i < 600; i++) {
        snprintf(key, sizeof(key), "PERL_SERVER_KEY_%03d", i);
        snprintf(want, sizeof(want), "value %d", i);
        ck_assert_pstr_eq(conf_get(conf, key, NULL), want);
    }
    ck_assert_ptr_null(conf_get(conf, "perl_server_key_600", NULL));
    ck_assert_ptr_null(conf_get(conf, "perl_server_key", NULL));
    conf_free(conf);
    free(text);
}
END_TEST

START_TEST(test_conf_utf8_values_are_kept_as_written)
{
    struct conf *conf = parse("servername Zürich-Ünïcode-服务器-🚀\n");

    ck_assert_pstr_eq(conf_get(conf, "servername", NULL),
                      "Zürich-Ünïcode-服务器-🚀");
    conf_free(conf);
}
END_TEST

START_TEST(test_conf_bad_bytes_in_ignored_lines_do_not_matter)
{
    static const char text[] = "# caf\xe9 latin-1 comment\n"
                               " indented \xff\n"
                               "#\0nul in a comment\n"
                               "servername ok\n";
    struct pandora_error err = { "" };
    struct conf *conf = NULL;

    ck_assert_msg(conf_parse(PATH, text, sizeof(text) - 1, &conf, &err) == 0,
                  "%s", err.text);
    ck_assert_pstr_eq(conf_get(conf, "servername", NULL), "ok");
    conf_free(conf);
}
END_TEST

START_TEST(test_conf_nul_byte_names_file_and_line)
{
    static const char text[] = "servername a\n# x\nsync_port 41\0" "121\n";
    struct pandora_error err = { "" };

    ck_assert_int_eq(parse_error(text, sizeof(text) - 1, &err), -EINVAL);
    ck_assert_msg(strstr(err.text, PATH ":3:") != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "NUL") != NULL, "%s", err.text);
}
END_TEST

/* Byte sequences that are not UTF-8, each on line 2 of a value. */
static const char *const bad_utf8[] = {
    "caf\xe9",                 /* Latin-1 */
    "\xc0\xaf",                /* overlong '/' */
    "\xe0\x80\xaf",            /* overlong, 3 bytes */
    "\xed\xa0\x80",            /* UTF-16 surrogate */
    "\xf4\x90\x80\x80",        /* beyond U+10FFFF */
    "\xf8\x88\x80\x80\x80",    /* 5-byte form */
    "\x80",                    /* lone continuation */
    "\xe2\x82",                /* truncated euro sign */
    "\xff",
};

START_TEST(test_conf_invalid_utf8_names_file_and_line)
{
    struct pandora_error err = { "" };
    char text[128];

    snprintf(text, sizeof(text), "servername a\nincomingdir /x/%s/y\n",
             bad_utf8[_i]);
    ck_assert_int_eq(parse_error(text, strlen(text), &err), -EINVAL);
    ck_assert_msg(strstr(err.text, PATH ":2:") != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "UTF-8") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_conf_load_reads_a_file)
{
    struct pandora_error err = { "" };
    struct conf *conf = NULL;

    tu_write(tmpdir, "pandora_server.conf", "servername disk\n");
    char *path = NULL;
    ck_assert_int_ge(asprintf(&path, "%s/pandora_server.conf", tmpdir), 0);
    ck_assert_msg(conf_load(path, &conf, &err) == 0, "%s", err.text);
    ck_assert_str_eq(conf_path(conf), path);
    ck_assert_pstr_eq(conf_get(conf, "servername", NULL), "disk");
    conf_free(conf);
    free(path);
}
END_TEST

START_TEST(test_conf_missing_file_names_path_and_what_to_do)
{
    struct pandora_error err = { "" };
    struct conf *conf = NULL;
    char *path = NULL;

    ck_assert_int_ge(asprintf(&path, "%s/nope.conf", tmpdir), 0);
    ck_assert_int_eq(conf_load(path, &conf, &err), -ENOENT);
    ck_assert_ptr_null(conf);
    ck_assert_msg(strstr(err.text, path) != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "-c") != NULL, "%s", err.text);
    free(path);
}
END_TEST

START_TEST(test_conf_file_over_16_mib_is_refused)
{
    struct pandora_error err = { "" };
    struct conf *conf = NULL;
    char *path = NULL;

    ck_assert_int_ge(asprintf(&path, "%s/huge.conf", tmpdir), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 16 * 1024 * 1024 + 1), 0);
    close(fd);
    ck_assert_int_eq(conf_load(path, &conf, &err), -EFBIG);
    ck_assert_ptr_null(conf);
    ck_assert_msg(strstr(err.text, path) != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "16 MiB") != NULL, "%s", err.text);
    free(path);
}
END_TEST

START_TEST(test_conf_get_uint_reads_a_value_in_range)
{
    struct pandora_error err = { "" };
    struct conf *conf = parse("sync_port 41122\nverbosity 0\n");
    unsigned v = 0;

    ck_assert_msg(conf_get_uint(conf, "SYNC_PORT", 41121, 1, 65535, &v,
                                &err) == 0, "%s", err.text);
    ck_assert_uint_eq(v, 41122);
    ck_assert_msg(conf_get_uint(conf, "verbosity", 5, 0, 10, &v, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(v, 0);
    conf_free(conf);
}
END_TEST

START_TEST(test_conf_get_uint_absent_key_gives_the_default)
{
    struct pandora_error err = { "" };
    struct conf *conf = parse("servername x\n");
    unsigned v = 0;

    ck_assert_int_eq(conf_get_uint(conf, "sync_port", 41121, 1, 65535, &v,
                                   &err), 0);
    ck_assert_uint_eq(v, 41121);
    conf_free(conf);
}
END_TEST

/* Values Pandora's Perl code would half-read; we refuse them clearly. */
static const char *const bad_uint[] = {
    "41121 # x", "-1", "0x10", "1e3", "+5", "10s", "1,000", "4.5",
    "99999999999999999999999", "4294967296", "65536", "0", "port",
    "\xef\xbc\x91\xef\xbc\x92" /* fullwidth 12 */,
};

START_TEST(test_conf_get_uint_refuses_a_bad_value)
{
    struct pandora_error err = { "" };
    char text[128];
    unsigned v = 7;

    snprintf(text, sizeof(text), "servername x\n  indented\nsync_port %s\n",
             bad_uint[_i]);
    struct conf *conf = parse(text);
    ck_assert_int_eq(conf_get_uint(conf, "sync_port", 41121, 1, 65535, &v,
                                   &err), -EINVAL);
    ck_assert_uint_eq(v, 7);
    char want[200];
    snprintf(want, sizeof(want), PATH ":3: sync_port: expected a whole number "
             "from 1 to 65535, got '%s'", bad_uint[_i]);
    ck_assert_msg(strstr(err.text, want) != NULL, "%s", err.text);
    conf_free(conf);
}
END_TEST

START_TEST(test_conf_get_uint_cuts_a_long_value_in_the_message)
{
    struct pandora_error err = { "" };
    char text[700] = "sync_timeout ";
    unsigned v = 0;

    memset(text + strlen(text), '9', 500);
    strncat(text, "x\n", sizeof(text) - strlen(text) - 1);
    struct conf *conf = parse(text);
    ck_assert_int_eq(conf_get_uint(conf, "sync_timeout", 10, 1, 3600, &v,
                                   &err), -EINVAL);
    ck_assert_msg(strstr(err.text, PATH ":1: sync_timeout: expected a whole "
                         "number from 1 to 3600, got '999") != NULL,
                  "%s", err.text);
    ck_assert_msg(strstr(err.text, "...'") != NULL, "%s", err.text);
    conf_free(conf);
}
END_TEST

static Suite *conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("syntax");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_conf_keys_match_in_any_case);
    tcase_add_test(tc, test_conf_last_occurrence_wins_with_its_line);
    tcase_add_test(tc, test_conf_comments_and_indented_lines_are_ignored);
    tcase_add_test(tc, test_conf_crlf_does_not_leak_into_values);
    tcase_add_test(tc, test_conf_key_without_value_is_ignored);
    tcase_add_test(tc, test_conf_value_is_the_trimmed_rest_of_the_line);
    tcase_add_test(tc, test_conf_unknown_keys_are_kept_silently);
    tcase_add_test(tc, test_conf_utf8_values_are_kept_as_written);
    tcase_add_test(tc, test_conf_bad_bytes_in_ignored_lines_do_not_matter);
    tcase_add_test(tc, test_conf_nul_byte_names_file_and_line);
    tcase_add_loop_test(tc, test_conf_invalid_utf8_names_file_and_line, 0,
                        sizeof(bad_utf8) / sizeof(bad_utf8[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_set_timeout(tc, 20);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_conf_load_reads_a_file);
    tcase_add_test(tc, test_conf_missing_file_names_path_and_what_to_do);
    tcase_add_test(tc, test_conf_file_over_16_mib_is_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("numbers");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_conf_get_uint_reads_a_value_in_range);
    tcase_add_test(tc, test_conf_get_uint_absent_key_gives_the_default);
    tcase_add_loop_test(tc, test_conf_get_uint_refuses_a_bad_value, 0,
                        sizeof(bad_uint) / sizeof(bad_uint[0]));
    tcase_add_test(tc, test_conf_get_uint_cuts_a_long_value_in_the_message);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(conf_suite());
}
