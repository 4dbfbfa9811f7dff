/* check_service.c - a service's life in the host: enable key, settings
 * errors, start, delivery, reload (all-or-nothing), poll, --once, stop. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "host.h"
#include "hosttest.h"
#include "testutil.h"

static struct hosttest ht;

static void setup(void)
{
    ht_setup(&ht);
}

static void teardown(void)
{
    ht_teardown(&ht);
}

/* service_status_has - does the status JSON contain text? */
static bool service_status_has(struct host *h, const char *text)
{
    char *json = ht_status_json(h);
    bool found = strstr(json, text) != NULL;

    free(json);
    return found;
}

static struct host *waiting_host;

static bool status_says_run_2(void *arg)
{
    return service_status_has(waiting_host, "\"runs_total\":2");
}

static bool incoming_has_files(void *arg)
{
    return tu_count(ht.incoming, (const char *)arg) > 0;
}

static bool log_has_text(void *arg)
{
    return ht_log_has(&ht, (const char *)arg);
}

static struct host *service_start_host(void)
{
    struct pandora_error err = { "" };
    struct host *h = ht_build(&ht);

    ck_assert_uint_eq(host_failures(h), 0);
    ck_assert_msg(host_start(h, &err) == 0, "%s", err.text);
    return h;
}

START_TEST(test_service_is_disabled_when_its_enable_key_is_absent)
{
    ht_write_server(&ht, "tick_message quiet\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = service_start_host();
    ck_assert(service_status_has(h, "\"running\":false"));
    ck_assert(service_status_has(h, "disabled (tick is not 1)"));
    host_stop(h);
    host_free(h);
    ck_assert_uint_eq(tu_count(ht.incoming, "tick"), 0);
}
END_TEST

START_TEST(test_service_bad_enable_value_names_file_line_and_key)
{
    ht_write_server(&ht, "# comment\ntick maybe\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = ht_build(&ht);
    ck_assert_uint_eq(host_failures(h), 1);
    ck_assert(ht_log_has(&ht, "server.conf:3: tick: "));
    host_free(h);
}
END_TEST

START_TEST(test_service_bad_setting_is_not_started_and_names_file_line_key)
{
    struct pandora_error err = { "" };

    ht_write_server(&ht, "tick 1\ntick_interval_ms soon\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = ht_build(&ht);
    ck_assert_uint_eq(host_failures(h), 1);
    ck_assert(ht_log_has(&ht, "server.conf:3: tick_interval_ms: expected"));
    ck_assert_int_eq(host_start(h, &err), 0);
    ck_assert(service_status_has(h, "\"running\":false"));
    host_stop(h);
    host_free(h);
    ck_assert_uint_eq(tu_count(ht.incoming, "tick"), 0);
}
END_TEST

START_TEST(test_service_cross_key_rule_from_configure_is_reported)
{
    ht_write_server(&ht, "tick 1\ntick_files 3\ntick_size 0\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = ht_build(&ht);
    ck_assert_uint_eq(host_failures(h), 1);
    ck_assert(ht_log_has(&ht, "tick_size must be at least 1"));
    host_free(h);
}
END_TEST

START_TEST(test_service_runs_and_delivers_complete_files)
{
    ht_write_server(&ht, "tick 1\ntick_files 5\ntick_size 1000\n"
                         "tick_interval_ms 3600000\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = service_start_host();
    ck_assert(ht_wait_for(log_has_text, "run 1 delivered 5 file(s)", 20));
    host_stop(h);
    host_free(h);
    ck_assert_uint_eq(tu_count(ht.incoming, "tick_"), 5);
    ck_assert_uint_eq(tu_count(ht.incoming, ".pandora-tmp."), 0);
}
END_TEST

START_TEST(test_service_reload_with_broken_settings_keeps_the_old_running)
{
    struct pandora_error err = { "" };

    ht_write_server(&ht, "tick 1\ntick_files 0\ntick_message first\n"
                         "tick_interval_ms 3600000\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = service_start_host();
    ht_write_server(&ht, "tick 1\ntick_files 0\ntick_message second\n"
                         "tick_interval_ms never\n");
    ck_assert_int_eq(host_reload(&h, &err), -EINVAL);
    ck_assert_msg(strstr(err.text, "server.conf:5: tick_interval_ms") != NULL,
                  "%s", err.text);
    ck_assert(service_status_has(h, "\"running\":true"));
    ck_assert(service_status_has(h, "\"message\":\"first\""));
    host_stop(h);
    host_free(h);
}
END_TEST

START_TEST(test_service_reload_with_broken_host_file_keeps_the_old_running)
{
    struct pandora_error err = { "" };

    ht_write_server(&ht, "tick 1\ntick_files 0\ntick_message first\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = service_start_host();
    tu_write(NULL, ht.hostconf, "workers = ;\n");
    ck_assert_int_lt(host_reload(&h, &err), 0);
    ck_assert_msg(strstr(err.text, "hostd.conf") != NULL, "%s", err.text);
    ck_assert(service_status_has(h, "\"running\":true"));
    host_stop(h);
    host_free(h);
}
END_TEST

START_TEST(test_service_reload_applies_new_settings_without_restart)
{
    struct pandora_error err = { "" };

    ht_write_server(&ht, "tick 1\ntick_files 0\ntick_message first\n"
                         "tick_interval_ms 3600000\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = service_start_host();
    ck_assert(ht_wait_for(log_has_text, "run 1 message=first", 20));
    ht_write_server(&ht, "tick 1\ntick_files 0\ntick_message second\n"
                         "tick_interval_ms 3600000\n");
    ck_assert_msg(host_reload(&h, &err) == 0, "%s", err.text);
    ck_assert(service_status_has(h, "\"message\":\"second\""));
    /* reconfigured in place: the timer was not restarted, so no new run */
    ck_assert(service_status_has(h, "\"runs_total\":1"));
    host_poll(h);
    ck_assert(ht_wait_for(log_has_text, "run 2 message=second", 20));
    host_stop(h);
    host_free(h);
}
END_TEST

START_TEST(test_service_reload_can_disable_and_enable_a_service)
{
    struct pandora_error err = { "" };

    ht_write_server(&ht, "tick 1\ntick_files 0\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = service_start_host();
    ht_write_server(&ht, "tick 0\ntick_files 0\n");
    ck_assert_msg(host_reload(&h, &err) == 0, "%s", err.text);
    ck_assert(service_status_has(h, "\"running\":false"));
    ht_write_server(&ht, "tick 1\ntick_files 0\n");
    ck_assert_msg(host_reload(&h, &err) == 0, "%s", err.text);
    ck_assert(service_status_has(h, "\"running\":true"));
    host_stop(h);
    host_free(h);
}
END_TEST

START_TEST(test_service_poll_runs_the_task_now)
{
    ht_write_server(&ht, "tick 1\ntick_files 0\ntick_interval_ms 3600000\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = service_start_host();
    ck_assert(ht_wait_for(log_has_text, "run 1 message=hello", 20));
    host_poll(h);
    waiting_host = h;
    ck_assert(ht_wait_for(status_says_run_2, NULL, 20));
    host_stop(h);
    host_free(h);
}
END_TEST

START_TEST(test_service_once_runs_one_cycle_and_reports_success)
{
    ht_write_server(&ht, "tick 1\ntick_files 3\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = ht_build(&ht);
    ck_assert_uint_eq(host_run_once(h), 0);
    host_stop(h);
    host_free(h);
    ck_assert_uint_eq(tu_count(ht.incoming, "tick_"), 3);
}
END_TEST

START_TEST(test_service_once_counts_a_service_that_failed_to_configure)
{
    ht_write_server(&ht, "tick 1\ntick_files 1\n");
    ht_write_hostconf(&ht, "\"tick\", \"configure_fails\"", NULL);
    struct host *h = ht_build(&ht);
    ck_assert_uint_eq(host_run_once(h), 1);
    host_stop(h);
    host_free(h);
    ck_assert_uint_eq(tu_count(ht.incoming, "tick_"), 1);
}
END_TEST

START_TEST(test_service_stop_abandons_a_slow_batch_without_visible_files)
{
    ht_write_server(&ht, "tick 1\ntick_files 100000\ntick_slow_ms 5\n"
                         "tick_interval_ms 3600000\n");
    ht_write_hostconf(&ht, "\"tick\"", NULL);
    struct host *h = service_start_host();
    ck_assert(ht_wait_for(incoming_has_files, ".pandora-tmp.", 20));
    host_stop(h);
    host_free(h);
    /* the batch never published: nothing under a name the data server
     * reads, and its temporaries are gone */
    ck_assert_uint_eq(tu_count(ht.incoming, "tick_"), 0);
    ck_assert_uint_eq(tu_count(ht.incoming, ".pandora-tmp."), 0);
}
END_TEST

START_TEST(test_service_check_config_prints_settings_with_secrets_masked)
{
    char *out = NULL;
    size_t len = 0;

    ht_write_server(&ht, "tick 1\ntick_password hunter2-secret\n"
                         "tick_message shown\n");
    ht_write_hostconf(&ht, "\"tick\"",
                      "tick = { extras = ( { name = \"alpha\"; weight = 7; } "
                      "); };");
    struct host *h = ht_build(&ht);
    FILE *fp = open_memstream(&out, &len);
    host_print(h, fp);
    fclose(fp);
    ck_assert_msg(strstr(out, "tick_password ********") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "hunter2") == NULL, "%s", out);
    ck_assert_msg(strstr(out, "tick_message shown") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "alpha") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "service tick (module tick): enabled") != NULL,
                  "%s", out);
    free(out);
    host_free(h);
}
END_TEST

START_TEST(test_service_section_for_unknown_service_is_refused)
{
    struct pandora_error err = { "" };
    struct host_paths paths = { ht.server, ht.hostconf, true };
    struct host *h = NULL;

    ht_write_server(&ht, "tick 1\n");
    ht_write_hostconf(&ht, "\"tick\"", "tock = { extras = (); };");
    ck_assert_int_eq(host_build(&paths, &h, &err), -EINVAL);
    ck_assert_ptr_null(h);
    ck_assert_msg(strstr(err.text, "tock") != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "hostd.conf:") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_service_missing_server_conf_is_a_clear_error)
{
    struct pandora_error err = { "" };
    struct host_paths paths = { ht.server, ht.hostconf, true };
    struct host *h = NULL;

    ht_write_hostconf(&ht, "\"tick\"", NULL);
    ck_assert_int_eq(host_build(&paths, &h, &err), -ENOENT);
    ck_assert_msg(strstr(err.text, "server.conf") != NULL, "%s", err.text);
}
END_TEST

static Suite *service_suite(void)
{
    Suite *s = suite_create("service");
    TCase *tc = tcase_create("settings");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_service_is_disabled_when_its_enable_key_is_absent);
    tcase_add_test(tc, test_service_bad_enable_value_names_file_line_and_key);
    tcase_add_test(tc,
        test_service_bad_setting_is_not_started_and_names_file_line_key);
    tcase_add_test(tc, test_service_cross_key_rule_from_configure_is_reported);
    tcase_add_test(tc,
        test_service_check_config_prints_settings_with_secrets_masked);
    tcase_add_test(tc, test_service_section_for_unknown_service_is_refused);
    tcase_add_test(tc, test_service_missing_server_conf_is_a_clear_error);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifecycle");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_service_runs_and_delivers_complete_files);
    tcase_add_test(tc,
        test_service_reload_with_broken_settings_keeps_the_old_running);
    tcase_add_test(tc,
        test_service_reload_with_broken_host_file_keeps_the_old_running);
    tcase_add_test(tc, test_service_reload_applies_new_settings_without_restart);
    tcase_add_test(tc, test_service_reload_can_disable_and_enable_a_service);
    tcase_add_test(tc, test_service_poll_runs_the_task_now);
    tcase_add_test(tc, test_service_once_runs_one_cycle_and_reports_success);
    tcase_add_test(tc,
        test_service_once_counts_a_service_that_failed_to_configure);
    tcase_add_test(tc,
        test_service_stop_abandons_a_slow_batch_without_visible_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(service_suite());
}
