/* check_fake_host.c - a module tested through the fake host: no daemon, no
 * dlopen. The tick module is linked in (TICK_STATIC). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "testutil.h"

extern const struct pandora_module tick_module;

START_TEST(test_fake_host_tick_registers_its_service)
{
    struct fake_host *fh = fake_host_new("tick 1\n");

    ck_assert_int_eq(fake_host_load(fh, &tick_module), 0);
    ck_assert_str_eq(tick_module.name, "tick");
    fake_host_free(fh);
}
END_TEST

START_TEST(test_fake_host_tick_run_once_delivers_into_incomingdir)
{
    struct pandora_error err = { "" };
    struct fake_host *fh = fake_host_new("tick 1\ntick_files 4\n"
                                         "tick_size 100\ntick_message hi\n");

    ck_assert_int_eq(fake_host_load(fh, &tick_module), 0);
    ck_assert_msg(fake_host_configure(fh, "tick", &err) == 0, "%s", err.text);
    ck_assert_msg(fake_host_run_once(fh, "tick", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(tu_count(fake_host_incomingdir(fh), "tick_"), 4);
    ck_assert(fake_host_log_has(fh, "[INFO] run 1 message=hi"));
    ck_assert(fake_host_log_has(fh, "run 1 delivered 4 file(s)"));
    fake_host_free(fh);
}
END_TEST

START_TEST(test_fake_host_tick_timer_runs_only_when_the_test_says)
{
    struct pandora_error err = { "" };
    struct fake_host *fh = fake_host_new("tick 1\ntick_files 1\n");

    ck_assert_int_eq(fake_host_load(fh, &tick_module), 0);
    ck_assert_int_eq(fake_host_configure(fh, "tick", &err), 0);
    ck_assert_int_eq(fake_host_start(fh, "tick", &err), 0);
    ck_assert_uint_eq(fake_host_timer_count(fh), 1);
    ck_assert_uint_eq(tu_count(fake_host_incomingdir(fh), "tick_"), 0);
    ck_assert_uint_eq(fake_host_run_timers(fh), 1);
    ck_assert_uint_eq(fake_host_run_timers(fh), 1);
    ck_assert_uint_eq(tu_count(fake_host_incomingdir(fh), "tick_"), 2);
    char *json = fake_host_status_json(fh);
    ck_assert_msg(strstr(json, "\"files_delivered_total\":2") != NULL, "%s",
                  json);
    free(json);
    fake_host_stop(fh, "tick");
    ck_assert_uint_eq(fake_host_timer_count(fh), 0);
    fake_host_free(fh);
}
END_TEST

START_TEST(test_fake_host_tick_configure_rejects_files_without_size)
{
    struct pandora_error err = { "" };
    struct fake_host *fh = fake_host_new("tick 1\ntick_files 2\ntick_size 0\n");

    ck_assert_int_eq(fake_host_load(fh, &tick_module), 0);
    ck_assert_int_eq(fake_host_configure(fh, "tick", &err), -EINVAL);
    ck_assert_msg(strstr(err.text, "tick_size") != NULL, "%s", err.text);
    fake_host_free(fh);
}
END_TEST

START_TEST(test_fake_host_tick_stops_a_batch_when_the_host_is_stopping)
{
    struct pandora_error err = { "" };
    struct fake_host *fh = fake_host_new("tick 1\ntick_files 50\n");

    ck_assert_int_eq(fake_host_load(fh, &tick_module), 0);
    ck_assert_int_eq(fake_host_configure(fh, "tick", &err), 0);
    fake_host_set_stopping(fh, true);
    ck_assert_int_ne(fake_host_run_once(fh, "tick", &err), 0);
    ck_assert_uint_eq(tu_count(fake_host_incomingdir(fh), "tick_"), 0);
    ck_assert_uint_eq(tu_count(fake_host_incomingdir(fh), ".pandora-tmp."), 0);
    fake_host_free(fh);
}
END_TEST

static Suite *fake_host_suite(void)
{
    Suite *s = suite_create("fake_host");
    TCase *tc = tcase_create("tick");

    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_fake_host_tick_registers_its_service);
    tcase_add_test(tc, test_fake_host_tick_run_once_delivers_into_incomingdir);
    tcase_add_test(tc, test_fake_host_tick_timer_runs_only_when_the_test_says);
    tcase_add_test(tc, test_fake_host_tick_configure_rejects_files_without_size);
    tcase_add_test(tc,
        test_fake_host_tick_stops_a_batch_when_the_host_is_stopping);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(fake_host_suite());
}
