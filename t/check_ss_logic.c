/* check_ss_logic.c - the syncserver's pure parts: remote addresses and
 * overrides, first-seen times (settle rule), the visit plan (order, caps,
 * agent groups) and the back-off. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cycle.h"
#include "plan.h"
#include "remotes.h"
#include "settle.h"
#include "testutil.h"

static struct ss_conf base_conf(const char *address)
{
    struct ss_conf c = { 0 };

    c.address = (char *)address;
    c.port = 41121;
    c.connections = 4;
    c.interval = 10;
    return c;
}

/* build - remotes_build, expecting rc; returns the specs (or NULL) */
static struct remote_spec *build(const struct ss_conf *c, int want, size_t *n,
                                 char *err, size_t errlen)
{
    struct remote_spec *v = NULL;

    *n = 0;
    err[0] = '\0';
    ck_assert_int_eq(remotes_build(c, &v, n, err, errlen), want);
    return v;
}

/* ---- remotes --------------------------------------------------------------- */

START_TEST(test_remotes_parse_v4_name_v6_and_ports)
{
    struct ss_conf c = base_conf(" 10.142.50.10 , tentacle.example:41122,"
                                 "[::1],[fe80::1]:9 ");
    char err[256];
    size_t n;
    struct remote_spec *v = build(&c, 0, &n, err, sizeof(err));

    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(v[0].label, "10.142.50.10:41121");
    ck_assert_str_eq(v[1].host, "tentacle.example");
    ck_assert_uint_eq(v[1].port, 41122);
    ck_assert_str_eq(v[2].label, "[::1]:41121");
    ck_assert_str_eq(v[2].host, "::1");
    ck_assert_str_eq(v[3].label, "[fe80::1]:9");
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_null(strchr(v[i].tag, ':'));
        ck_assert_ptr_null(strchr(v[i].tag, '/'));
        ck_assert_int_ne(v[i].tag[0], '.');
    }
    remotes_free(v, n);
}
END_TEST

static const struct {
    const char *address, *expect;
} bad_addresses[] = {
    { "10.0.0.1,,10.0.0.2", "empty entry" },
    { "10.0.0.1,", "empty entry" },
    { "10.0.0.1:0", "port" },
    { "10.0.0.1:65536", "port" },
    { "10.0.0.1:41121x", "port" },
    { "fe80::1", "[address]" },
    { "[fe80::1", "IPv6" },
    { "[zz::1]", "IPv6" },
    { "[::1]x", "after ']'" },
    { "host/name", "not a host name" },
    { "a b", "not a host name" },
    { "10.0.0.1,10.0.0.1:41121", "listed twice" },
    { "", "no remote" },
};

START_TEST(test_remotes_refuse_bad_sync_address)
{
    struct ss_conf c = base_conf(bad_addresses[_i].address);
    char err[256];
    size_t n;

    build(&c, -EINVAL, &n, err, sizeof(err));
    ck_assert_msg(strstr(err, bad_addresses[_i].expect) != NULL,
                  "'%s': got '%s'", bad_addresses[_i].address, err);
    ck_assert_msg(strstr(err, "sync_address") != NULL, "%s", err);
}
END_TEST

START_TEST(test_remotes_override_matches_and_adds)
{
    struct ss_override ov[2] = {
        { .address = "10.0.0.2", .port = 41122, .password = "p2",
          .connections = 8, .interval = 30 },
        { .address = "[::1]:5000" },
    };
    struct ss_conf c = base_conf("10.0.0.1,10.0.0.2:41122");
    char err[256];
    size_t n;

    c.password = "global";
    c.overrides = ov;
    c.n_overrides = 2;
    struct remote_spec *v = build(&c, 0, &n, err, sizeof(err));
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[0].password, "global");
    ck_assert_uint_eq(v[0].connections, 4);
    ck_assert_str_eq(v[1].password, "p2");
    ck_assert_uint_eq(v[1].connections, 8);
    ck_assert_uint_eq(v[1].interval, 30);
    ck_assert_str_eq(v[2].label, "[::1]:5000");
    remotes_free(v, n);
}
END_TEST

START_TEST(test_remotes_cert_without_key_is_refused)
{
    struct ss_conf c = base_conf("10.0.0.1");
    char err[256];
    size_t n;

    c.cert = "/etc/pandora/ssl/cert.pem";
    build(&c, -EINVAL, &n, err, sizeof(err));
    ck_assert_msg(strstr(err, "sync_cert and sync_key") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "10.0.0.1:41121") != NULL, "%s", err);
}
END_TEST

START_TEST(test_remotes_tls_when_any_tls_key_is_set)
{
    struct ss_conf c = base_conf("10.0.0.1");
    char err[256];
    size_t n;
    struct remote_spec *v = build(&c, 0, &n, err, sizeof(err));

    ck_assert(!v[0].use_tls);
    remotes_free(v, n);
    c.ca = "/ca.pem";
    c.verify_name = true;
    v = build(&c, 0, &n, err, sizeof(err));
    ck_assert(v[0].use_tls);
    ck_assert_str_eq(v[0].verify_name, "10.0.0.1");
    remotes_free(v, n);
}
END_TEST

START_TEST(test_remotes_verify_name_without_ca_is_refused)
{
    struct ss_conf c = base_conf("10.0.0.1");
    char err[256];
    size_t n;

    c.cert = "/c.pem";
    c.key = "/k.pem";
    c.verify_name = true;
    build(&c, -EINVAL, &n, err, sizeof(err));
    ck_assert_msg(strstr(err, "sync_ca") != NULL, "%s", err);
}
END_TEST

/* ---- settle ---------------------------------------------------------------- */

START_TEST(test_settle_keeps_first_seen_and_forgets_unlisted)
{
    struct settle *s = settle_new();

    settle_begin(s);
    ck_assert_int_eq(settle_seen(s, "a.1.data", 100), 100);
    ck_assert_int_eq(settle_seen(s, "b.1.data", 100), 100);
    settle_end(s);
    settle_begin(s);
    ck_assert_int_eq(settle_seen(s, "a.1.data", 200), 100);
    settle_end(s);
    settle_begin(s);
    /* b was not listed last time: seen anew */
    ck_assert_int_eq(settle_seen(s, "b.1.data", 300), 300);
    settle_end(s);
    settle_free(s);
}
END_TEST

START_TEST(test_settle_survives_a_restart_and_skips_garbage)
{
    struct settle *s = settle_new(), *t = settle_new();
    size_t len;

    settle_begin(s);
    settle_seen(s, "sp ace.5.data", 42);
    settle_seen(s, "x.6.data", 43);
    ck_assert(settle_dirty(s));
    char *text = settle_dump(s, &len);
    ck_assert(!settle_dirty(s));
    size_t glen = len + 64;
    char *g = malloc(glen);
    int m = snprintf(g, glen, "%sgarbage\n-5 neg.data\n77\n99 torn", text);
    settle_load(t, g, (size_t)m);
    settle_begin(t);
    ck_assert_int_eq(settle_seen(t, "sp ace.5.data", 1000), 42);
    ck_assert_int_eq(settle_seen(t, "x.6.data", 1000), 43);
    ck_assert_int_eq(settle_seen(t, "torn", 1000), 1000);
    ck_assert_int_eq(settle_seen(t, "neg.data", 1000), 1000);
    free(g);
    free(text);
    settle_free(s);
    settle_free(t);
}
END_TEST

START_TEST(test_settle_remembers_delivered_names_across_a_restart)
{
    struct settle *s = settle_new(), *t = settle_new();
    size_t len;

    settle_begin(s);
    settle_seen(s, "kept.1.data", 10);
    settle_seen(s, "other.1.data", 10);
    ck_assert(!settle_was_delivered(s, "kept.1.data"));
    settle_delivered(s, "kept.1.data");
    ck_assert(settle_was_delivered(s, "kept.1.data"));
    ck_assert(!settle_was_delivered(s, "other.1.data"));
    char *text = settle_dump(s, &len);
    settle_load(t, text, len);
    ck_assert(settle_was_delivered(t, "kept.1.data"));
    ck_assert(!settle_was_delivered(t, "other.1.data"));
    /* once the remote no longer lists it, the mark goes */
    settle_begin(t);
    settle_end(t);
    ck_assert(!settle_was_delivered(t, "kept.1.data"));
    free(text);
    settle_free(s);
    settle_free(t);
}
END_TEST

START_TEST(test_settle_handles_many_names)
{
    struct settle *s = settle_new();
    char name[32];

    settle_begin(s);
    for (int i = 0; i < 50000; i++) {
        snprintf(name, sizeof(name), "agent%d.%d.data", i % 97, i);
        settle_seen(s, name, i);
    }
    settle_end(s);
    snprintf(name, sizeof(name), "agent%d.%d.data", 49999 % 97, 49999);
    ck_assert_int_eq(settle_seen(s, name, 0), 49999);
    settle_free(s);
}
END_TEST

/* ---- plan ------------------------------------------------------------------- */

START_TEST(test_plan_splits_agent_and_timestamp)
{
    time_t ts;

    ck_assert_uint_eq(plan_agent_ts("web01.1732440000.data", &ts), 5);
    ck_assert_int_eq(ts, 1732440000);
    ck_assert_uint_eq(plan_agent_ts("db_a.b_77.data", &ts), 6);
    ck_assert_int_eq(ts, 77);
    ck_assert_uint_eq(plan_agent_ts("nots.data", &ts), 0);
    ck_assert_uint_eq(plan_agent_ts(".5.data", &ts), 0);
    ck_assert_uint_eq(plan_agent_ts("x.5.dat", &ts), 0);
    ck_assert_uint_eq(plan_agent_ts("x.99999999999999999999.data", &ts), 0);
}
END_TEST

static regex_t data_re;

static void plan_with(struct plan *p, struct settle *s, const char **names,
                      size_t n, time_t now, unsigned settle_s, size_t max)
{
    ck_assert_int_eq(regcomp(&data_re, "\\.data$", REG_EXTENDED | REG_NOSUB),
                     0);
    plan_init(p);
    settle_begin(s);
    for (size_t i = 0; i < n; i++)
        plan_offer(p, &data_re, s, names[i], now, settle_s);
    ck_assert_int_eq(plan_finish(p, max), 0);
    regfree(&data_re);
}

START_TEST(test_plan_orders_agents_oldest_first_and_keeps_agent_order)
{
    const char *names[] = {
        "b.1732440300.data", "a.1732440200.data", "b.1732440100.data",
        "a.1732440400.data", "conf", "a.1732440050.conf", "c.1732440250.data",
    };
    struct plan p;
    struct settle *s = settle_new();

    plan_with(&p, s, names, 7, 1732449999, 0, 100);
    ck_assert_uint_eq(p.n, 5);
    ck_assert_uint_eq(p.ngroups, 3);
    /* b's oldest (..100) is older than a's (..200) and c's (..250) */
    ck_assert_str_eq(p.pulls[p.groups[0].first].name, "b.1732440100.data");
    ck_assert_str_eq(p.pulls[p.groups[0].first + 1].name, "b.1732440300.data");
    ck_assert_str_eq(p.pulls[p.groups[1].first].name, "a.1732440200.data");
    ck_assert_str_eq(p.pulls[p.groups[1].first + 1].name, "a.1732440400.data");
    ck_assert_str_eq(p.pulls[p.groups[2].first].name, "c.1732440250.data");
    ck_assert_int_eq(p.pulls[p.groups[2].first].mtime, 1732440250);
    ck_assert_int_eq(p.oldest, 1732440100);
    plan_free(&p);
    settle_free(s);
}
END_TEST

START_TEST(test_plan_caps_to_the_oldest_files)
{
    const char *names[] = { "a.1732440500.data", "b.1732440100.data",
                            "a.1732440300.data", "c.1732440200.data" };
    struct plan p;
    struct settle *s = settle_new();

    plan_with(&p, s, names, 4, 1732449999, 0, 2);
    ck_assert_uint_eq(p.n, 2);
    ck_assert_uint_eq(p.deferred, 2);
    ck_assert_str_eq(p.pulls[p.groups[0].first].name, "b.1732440100.data");
    ck_assert_str_eq(p.pulls[p.groups[1].first].name, "c.1732440200.data");
    plan_free(&p);
    settle_free(s);
}
END_TEST

START_TEST(test_plan_waits_for_unsettled_names)
{
    const char *names[] = { "a.1732440000.data" };
    struct plan p;
    struct settle *s = settle_new();

    plan_with(&p, s, names, 1, 1000, 10, 100);
    ck_assert_uint_eq(p.n, 0);
    ck_assert_uint_eq(p.unsettled, 1);
    plan_free(&p);
    plan_with(&p, s, names, 1, 1009, 10, 100);
    ck_assert_uint_eq(p.n, 0);
    plan_free(&p);
    plan_with(&p, s, names, 1, 1010, 10, 100);
    ck_assert_uint_eq(p.n, 1);
    plan_free(&p);
    settle_free(s);
}
END_TEST

START_TEST(test_plan_implausible_timestamp_sets_no_mtime)
{
    const char *names[] = { "host.7.data", "far.99999999999.data" };
    struct plan p;
    struct settle *s = settle_new();

    plan_with(&p, s, names, 2, 1732449999, 0, 100);
    ck_assert_uint_eq(p.n, 2);
    for (size_t i = 0; i < p.n; i++)
        ck_assert_int_eq(p.pulls[i].mtime, 0);
    plan_free(&p);
    settle_free(s);
}
END_TEST

/* ---- back-off --------------------------------------------------------------- */

START_TEST(test_backoff_doubles_caps_and_jitters)
{
    ck_assert_uint_eq(cycle_backoff_ms(10, 0, 0.0), 10000);
    ck_assert_uint_eq(cycle_backoff_ms(10, 0, 1.0), 10000);
    ck_assert_uint_eq(cycle_backoff_ms(10, 1, 0.5), 10000);
    ck_assert_uint_eq(cycle_backoff_ms(10, 2, 0.5), 20000);
    ck_assert_uint_eq(cycle_backoff_ms(10, 3, 0.5), 40000);
    ck_assert_uint_eq(cycle_backoff_ms(10, 50, 0.5), 300000);
    ck_assert_uint_eq(cycle_backoff_ms(10, 50, 0.0), 240000);
    ck_assert_uint_eq(cycle_backoff_ms(10, 50, 1.0), 360000);
    ck_assert_uint_eq(cycle_backoff_ms(600, 9, 0.5), 600000);
}
END_TEST

static Suite *logic_suite(void)
{
    Suite *s = suite_create("ss_logic");
    TCase *tc = tcase_create("remotes");

    tcase_add_test(tc, test_remotes_parse_v4_name_v6_and_ports);
    tcase_add_loop_test(tc, test_remotes_refuse_bad_sync_address, 0,
                        (int)(sizeof(bad_addresses) / sizeof(bad_addresses[0])));
    tcase_add_test(tc, test_remotes_override_matches_and_adds);
    tcase_add_test(tc, test_remotes_cert_without_key_is_refused);
    tcase_add_test(tc, test_remotes_tls_when_any_tls_key_is_set);
    tcase_add_test(tc, test_remotes_verify_name_without_ca_is_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("settle");
    tcase_add_test(tc, test_settle_keeps_first_seen_and_forgets_unlisted);
    tcase_add_test(tc, test_settle_survives_a_restart_and_skips_garbage);
    tcase_add_test(tc, test_settle_remembers_delivered_names_across_a_restart);
    tcase_add_test(tc, test_settle_handles_many_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("plan");
    tcase_add_test(tc, test_plan_splits_agent_and_timestamp);
    tcase_add_test(tc, test_plan_orders_agents_oldest_first_and_keeps_agent_order);
    tcase_add_test(tc, test_plan_caps_to_the_oldest_files);
    tcase_add_test(tc, test_plan_waits_for_unsettled_names);
    tcase_add_test(tc, test_plan_implausible_timestamp_sets_no_mtime);
    suite_add_tcase(s, tc);

    tc = tcase_create("backoff");
    tcase_add_test(tc, test_backoff_doubles_caps_and_jitters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(logic_suite());
}
