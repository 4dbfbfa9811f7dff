/* check_status.c - the status model and its JSON: exact shape, escaping,
 * replaced keys, untrusted writers, bounds, health. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "status.h"
#include "testutil.h"

#define T_STARTED 1732440000    /* 2024-11-24T09:20:00Z */

/* to_json - render st, checking the length agrees with the string */
static char *to_json(const struct pandora_status *st, time_t now)
{
    char *json = NULL;
    size_t len = 0;

    ck_assert_int_eq(status_to_json(st, now, &json, &len), 0);
    ck_assert_ptr_nonnull(json);
    ck_assert_uint_eq(len, strlen(json));
    return json;
}

/* service_json - the model of one service "svc" written by `write` */
static char *service_json(void (*write)(struct pandora_status *st))
{
    struct pandora_status *st = status_new("h", "1", T_STARTED);

    status_service(st, "svc", "mod", true, NULL);
    write(st);
    char *json = to_json(st, T_STARTED);
    status_free(st);
    return json;
}

/* fields_of - the text between "fields":{ and the next "},\"tables\"" */
static char *fields_of(const char *json)
{
    const char *a = strstr(json, "\"fields\":{");
    ck_assert_ptr_nonnull(a);
    a += strlen("\"fields\":{");
    const char *b = strstr(a, "},\"tables\":");
    ck_assert_ptr_nonnull(b);
    return strndup(a, (size_t)(b - a));
}

static const char fixed_json[] =
    "{\"host\":{\"name\":\"central\",\"version\":\"0.1.0\","
    "\"started\":\"2024-11-24T09:20:00Z\",\"uptime_seconds\":100},"
    "\"services\":["
    "{\"name\":\"syncserver\",\"module\":\"syncserver\",\"running\":true,"
    "\"reason\":null,"
    "\"fields\":{\"remotes\":2,\"cycle_seconds\":1.5,\"mode\":\"safe\"},"
    "\"tables\":{\"remotes\":["
    "{\"id\":\"dmz1\",\"state\":\"idle\",\"offset_seconds\":-3,"
    "\"bytes_pulled_total\":18446744073709551615,\"verified\":true,"
    "\"last_success\":\"2024-11-24T09:21:00Z\"},"
    "{\"id\":\"dmz2\",\"last_success\":null,\"verified\":false}]}},"
    "{\"name\":\"tick\",\"module\":\"tick\",\"running\":false,"
    "\"reason\":\"start failed: no such file\",\"fields\":{},\"tables\":{}}"
    "]}";

/* fixed_model - the model fixed_json describes */
static struct pandora_status *fixed_model(void)
{
    struct pandora_status *st = status_new("central", "0.1.0", T_STARTED);

    status_service(st, "syncserver", "syncserver", true, NULL);
    status_uint(st, "remotes", 2);
    status_double(st, "cycle_seconds", 1.5);
    status_row(st, "remotes", "dmz1");
    status_string(st, "state", "idle");
    status_int(st, "offset_seconds", -3);
    status_uint(st, "bytes_pulled_total", UINT64_MAX);
    status_bool(st, "verified", true);
    status_time(st, "last_success", T_STARTED + 60);
    status_row(st, "remotes", "dmz2");
    status_time(st, "last_success", 0);
    status_bool(st, "verified", false);
    status_row(st, NULL, NULL);
    status_string(st, "mode", "safe");
    status_service(st, "tick", "tick", false, "start failed: no such file");
    return st;
}

START_TEST(test_status_fixed_model_renders_exact_json)
{
    struct pandora_status *st = fixed_model();
    char *json = to_json(st, T_STARTED + 100);

    ck_assert_str_eq(json, fixed_json);
    free(json);
    status_free(st);
}
END_TEST

/* python_accepts - does python3's json module parse text? -1: no python3 */
static int python_accepts(const char *text)
{
    char *dir = tu_tmpdir();
    char *path = NULL;
    int status = 0;

    ck_assert_int_ge(asprintf(&path, "%s/status.json", dir), 0);
    tu_write(NULL, path, text);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execlp("python3", "python3", "-c",
               "import json, sys; json.load(open(sys.argv[1], "
               "encoding='utf-8', errors='strict'))", path, (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    tu_rmtree(dir);
    free(dir);
    free(path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
        return -1;
    return WEXITSTATUS(status) == 0;
}

START_TEST(test_status_json_is_accepted_by_python_if_present)
{
    struct pandora_status *st = fixed_model();

    status_service(st, "odd", "\xff\xfe", false, "a\"b\\c\n\x01\xed\xa0\x80");
    status_double(st, "nan", NAN);
    char *json = to_json(st, T_STARTED);
    int ok = python_accepts(json);
    if (ok >= 0)
        ck_assert_msg(ok == 1, "python3 rejects: %s", json);
    free(json);
    status_free(st);
}
END_TEST

static void write_nasty_strings(struct pandora_status *st)
{
    status_string(st, "quote", "say \"hi\"\\");
    status_string(st, "lines", "a\nb\r\tc\x01\x1f");
    status_string(st, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    status_string(st, "bad", "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82");
    status_string(st, "null", NULL);
    status_string(st, "k\"ey\n", "v");
}

START_TEST(test_status_strings_are_escaped)
{
    char *json = service_json(write_nasty_strings);
    char *fields = fields_of(json);

    ck_assert_str_eq(fields,
        "\"quote\":\"say \\\"hi\\\"\\\\\","
        "\"lines\":\"a\\u000ab\\u000d\\u0009c\\u0001\\u001f\","
        "\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
        "\"bad\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
        "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
        "d\xef\xbf\xbd\xef\xbf\xbd\","
        "\"null\":null,"
        "\"k\\\"ey\\u000a\":\"v\"");
    free(fields);
    free(json);
}
END_TEST

START_TEST(test_status_host_and_service_names_are_escaped)
{
    struct pandora_status *st = status_new("h\"x", "1\n", 0);

    status_service(st, "s\\", "m\x02", false, "r\xff");
    char *json = to_json(st, T_STARTED);
    ck_assert_str_eq(json,
        "{\"host\":{\"name\":\"h\\\"x\",\"version\":\"1\\u000a\","
        "\"started\":null,\"uptime_seconds\":0},\"services\":["
        "{\"name\":\"s\\\\\",\"module\":\"m\\u0002\",\"running\":false,"
        "\"reason\":\"r\xef\xbf\xbd\",\"fields\":{},\"tables\":{}}]}");
    free(json);
    status_free(st);
}
END_TEST

static void write_non_finite(struct pandora_status *st)
{
    status_double(st, "nan", NAN);
    status_double(st, "inf", INFINITY);
    status_double(st, "ninf", -INFINITY);
    status_double(st, "tenth", 0.1);
    status_double(st, "third", 1.0 / 3.0);
    status_double(st, "sum", 0.1 + 0.2);
    status_double(st, "big", 1e300);
    status_double(st, "whole", 42.0);
}

START_TEST(test_status_non_finite_is_null_and_finite_round_trips)
{
    char *json = service_json(write_non_finite);
    char *fields = fields_of(json);

    ck_assert_str_eq(fields,
        "\"nan\":null,\"inf\":null,\"ninf\":null,\"tenth\":0.1,"
        "\"third\":0.3333333333333333,\"sum\":0.30000000000000004,"
        "\"big\":1e+300,\"whole\":42");
    ck_assert(strtod("0.3333333333333333", NULL) == 1.0 / 3.0);
    free(fields);
    free(json);
}
END_TEST

static void write_times(struct pandora_status *st)
{
    status_time(st, "never", 0);
    status_time(st, "epoch_plus_1", 1);
    status_time(st, "y2038", 2147483648);
}

START_TEST(test_status_time_0_is_null_and_others_are_utc)
{
    char *json = service_json(write_times);
    char *fields = fields_of(json);

    ck_assert_str_eq(fields,
        "\"never\":null,\"epoch_plus_1\":\"1970-01-01T00:00:01Z\","
        "\"y2038\":\"2038-01-19T03:14:08Z\"");
    free(fields);
    free(json);
}
END_TEST

START_TEST(test_status_uptime_is_now_minus_started)
{
    struct pandora_status *st = status_new("h", "1", T_STARTED);
    char *json = to_json(st, T_STARTED + 86400);

    ck_assert_msg(strstr(json, "\"uptime_seconds\":86400}") != NULL, "%s",
                  json);
    ck_assert_msg(strstr(json, "\"services\":[]}") != NULL, "%s", json);
    free(json);
    status_free(st);
}
END_TEST

static void write_twice(struct pandora_status *st)
{
    status_string(st, "state", "idle");
    status_uint(st, "runs", 1);
    status_uint(st, "state", 7);            /* type may change too */
    status_row(st, "remotes", "a");
    status_string(st, "state", "up");
    status_string(st, "state", "down");
    status_row(st, "remotes", "b");
    status_bool(st, "ok", true);
    status_row(st, "remotes", "a");        /* back to row a: same row */
    status_bool(st, "ok", false);
}

START_TEST(test_status_same_key_twice_keeps_one_entry)
{
    char *json = service_json(write_twice);

    ck_assert_msg(strstr(json, "\"fields\":{\"state\":7,\"runs\":1},"
                              "\"tables\":{\"remotes\":["
                              "{\"id\":\"a\",\"state\":\"down\",\"ok\":false},"
                              "{\"id\":\"b\",\"ok\":true}]}") != NULL,
                  "%s", json);
    free(json);
}
END_TEST

START_TEST(test_status_writes_before_service_are_ignored)
{
    struct pandora_status *st = status_new("h", "1", 0);

    status_row(st, "remotes", "a");
    status_string(st, "k", "v");
    status_int(st, "i", 1);
    status_uint(st, "u", 1);
    status_double(st, "d", 1);
    status_bool(st, "b", true);
    status_time(st, "t", 1);
    status_service(st, NULL, "mod", true, NULL); /* refused: no name */
    status_string(st, "k", "v");
    char *json = to_json(st, 0);
    ck_assert_str_eq(json, "{\"host\":{\"name\":\"h\",\"version\":\"1\","
                     "\"started\":null,\"uptime_seconds\":0},"
                     "\"services\":[]}");
    free(json);
    status_free(st);
}
END_TEST

static void write_null_keys(struct pandora_status *st)
{
    status_string(st, NULL, "v");
    status_int(st, NULL, 1);
    status_row(st, "remotes", NULL);        /* no row: writes dropped */
    status_string(st, "k", "v");
    status_row(st, "remotes", "a");
    status_bool(st, NULL, true);
    status_string(st, "id", "forged");      /* a row's id is its id */
}

START_TEST(test_status_null_key_or_id_is_ignored)
{
    char *json = service_json(write_null_keys);

    ck_assert_msg(strstr(json, "\"fields\":{},\"tables\":{\"remotes\":"
                              "[{\"id\":\"a\"}]}") != NULL, "%s", json);
    free(json);
}
END_TEST

START_TEST(test_status_null_model_is_ignored)
{
    char *json = NULL;

    status_service(NULL, "s", "m", true, NULL);
    status_row(NULL, "t", "r");
    status_string(NULL, "k", "v");
    status_free(NULL);
    ck_assert_int_eq(status_to_json(NULL, 0, &json, NULL), -EINVAL);
    ck_assert(status_healthy(NULL, NULL));
}
END_TEST

static void write_too_many_rows(struct pandora_status *st)
{
    char id[32];

    for (int i = 0; i < 10005; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        status_row(st, "remotes", id);
        status_int(st, "n", i);
    }
    status_row(st, "remotes", "r0");        /* an existing row still works */
    status_string(st, "last", "yes");
}

START_TEST(test_status_row_limit_is_enforced_and_marked)
{
    char *json = service_json(write_too_many_rows);

    ck_assert_msg(strstr(json, "\"fields\":{\"truncated\":true}") != NULL,
                  "%.200s", json);
    ck_assert_ptr_nonnull(strstr(json, "{\"id\":\"r9999\",\"n\":9999}"));
    ck_assert_ptr_null(strstr(json, "\"r10000\""));
    ck_assert_ptr_null(strstr(json, "\"n\":10000"));
    ck_assert_ptr_nonnull(strstr(json, "{\"id\":\"r0\",\"n\":0,"
                                       "\"last\":\"yes\"}"));
    free(json);
}
END_TEST

static void write_too_many_fields(struct pandora_status *st)
{
    char key[32];

    status_row(st, "remotes", "a");
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "f%d", i);
        status_int(st, key, i);
    }
    status_int(st, "f0", -1);               /* replacing still works */
}

START_TEST(test_status_field_limit_is_enforced_and_marked)
{
    char *json = service_json(write_too_many_fields);

    ck_assert_msg(strstr(json, "\"fields\":{\"truncated\":true}") != NULL,
                  "%.200s", json);
    ck_assert_ptr_nonnull(strstr(json, "{\"id\":\"a\",\"f0\":-1,"));
    ck_assert_ptr_nonnull(strstr(json, ",\"f255\":255}"));
    ck_assert_ptr_null(strstr(json, "\"f256\""));
    free(json);
}
END_TEST

static void write_within_limits(struct pandora_status *st)
{
    status_row(st, "remotes", "a");
    status_int(st, "n", 1);
}

START_TEST(test_status_within_limits_is_not_marked)
{
    char *json = service_json(write_within_limits);

    ck_assert_ptr_null(strstr(json, "truncated"));
    free(json);
}
END_TEST

START_TEST(test_status_all_running_is_healthy)
{
    struct pandora_status *st = status_new("h", "1", 0);
    const char *reason = "unset";

    ck_assert(status_healthy(st, &reason));
    ck_assert_ptr_null(reason);
    status_service(st, "a", "m", true, NULL);
    status_service(st, "b", "m", true, NULL);
    ck_assert(status_healthy(st, &reason));
    ck_assert_ptr_null(reason);
    status_free(st);
}
END_TEST

START_TEST(test_status_stopped_service_is_unhealthy_with_reason)
{
    struct pandora_status *st = status_new("h", "1", 0);
    const char *reason = NULL;

    status_service(st, "a", "m", true, NULL);
    status_service(st, "syncserver", "syncserver", false,
                   "sync_cert without sync_key");
    status_service(st, "c", "m", false, "later");
    ck_assert(!status_healthy(st, &reason));
    ck_assert_str_eq(reason, "service syncserver is not running: "
                     "sync_cert without sync_key");
    status_free(st);
}
END_TEST

static TCase *status_tcase(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, 20);
    return tc;
}

static Suite *status_suite(void)
{
    Suite *s = suite_create("status");
    TCase *tc;

    tc = status_tcase("json");
    tcase_add_test(tc, test_status_fixed_model_renders_exact_json);
    tcase_add_test(tc, test_status_json_is_accepted_by_python_if_present);
    tcase_add_test(tc, test_status_strings_are_escaped);
    tcase_add_test(tc, test_status_host_and_service_names_are_escaped);
    tcase_add_test(tc, test_status_non_finite_is_null_and_finite_round_trips);
    tcase_add_test(tc, test_status_time_0_is_null_and_others_are_utc);
    tcase_add_test(tc, test_status_uptime_is_now_minus_started);
    suite_add_tcase(s, tc);

    tc = status_tcase("writer");
    tcase_add_test(tc, test_status_same_key_twice_keeps_one_entry);
    tcase_add_test(tc, test_status_writes_before_service_are_ignored);
    tcase_add_test(tc, test_status_null_key_or_id_is_ignored);
    tcase_add_test(tc, test_status_null_model_is_ignored);
    suite_add_tcase(s, tc);

    tc = status_tcase("bounds");
    tcase_add_test(tc, test_status_row_limit_is_enforced_and_marked);
    tcase_add_test(tc, test_status_field_limit_is_enforced_and_marked);
    tcase_add_test(tc, test_status_within_limits_is_not_marked);
    suite_add_tcase(s, tc);

    tc = status_tcase("health");
    tcase_add_test(tc, test_status_all_running_is_healthy);
    tcase_add_test(tc, test_status_stopped_service_is_unhealthy_with_reason);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(status_suite());
}
