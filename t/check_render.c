/* check_render.c - the status model rendered from one fixed model: JSON
 * read back field by field, Prometheus metrics sample by sample (and by
 * promtool when installed), the HTML page and the terminal table; escaping
 * of hostile strings; secrets never shown. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "render.h"
#include "render_html.h"
#include "render_metrics.h"
#include "render_table.h"
#include "status.h"
#include "statusjson.h"
#include "strbuf.h"
#include "testutil.h"

#define T_STARTED 1732440000    /* 2024-11-24T09:20:00Z */
#define T_NOW (T_STARTED + 100)
#define SECRET "hunter2-do-not-show"
#define EVIL_ID "evil\"\\\n<b>:1"
#define EVIL_ERROR "<script>alert(1)</script> & \"quoted\"\n\x1b[31mred\xff"

/* row_ok - a healthy TLS remote with every known field */
static void row_ok(struct pandora_status *st)
{
    status_row(st, "remotes", "10.0.0.1:41121");
    status_string(st, "address", "10.0.0.1");
    status_uint(st, "port", 41121);
    status_string(st, "state", "ok");
    status_time(st, "last_success", T_NOW - 12);
    status_string(st, "last_error", NULL);
    status_time(st, "last_error_time", 0);
    status_uint(st, "consecutive_failures", 0);
    status_time(st, "next_attempt", T_NOW + 48);
    status_uint(st, "files_pulled_last_cycle", 3);
    status_uint(st, "bytes_pulled_last_cycle", 1536);
    status_uint(st, "files_pulled_total", 1200);
    status_uint(st, "bytes_pulled_total", 5u << 20);
    status_uint(st, "errors_total", 0);
    status_uint(st, "backlog_files", 7);
    status_uint(st, "backlog_unsettled_files", 1);
    status_int(st, "backlog_oldest_age_seconds", 90);
    status_double(st, "cycle_seconds", 1.5);
    status_bool(st, "paused_by_backpressure", false);
    status_bool(st, "tls", true);
    status_string(st, "tls_version", "TLS1.3");
    status_string(st, "tls_cipher", "TLS_AES_256_GCM_SHA384");
    status_bool(st, "peer_verified", true);
    status_string(st, "peer_subject", "CN=buffer1,O=ACME");
    status_int(st, "peer_cert_days_left", 12);
}

/* row_failing - a failing remote with hostile text everywhere */
static void row_failing(struct pandora_status *st)
{
    status_row(st, "remotes", EVIL_ID);
    status_string(st, "address", "10.0.0.2");
    status_uint(st, "port", 1);
    status_string(st, "state", "failing");
    status_time(st, "last_success", 0);
    status_string(st, "last_error", EVIL_ERROR);
    status_time(st, "last_error_time", T_NOW - 180);
    status_uint(st, "consecutive_failures", 5);
    status_time(st, "next_attempt", T_NOW + 120);
    status_uint(st, "files_pulled_total", 0);
    status_uint(st, "errors_total", 9);
    status_bool(st, "tls", false);
    status_string(st, "weird_extra", "x<y");
    status_string(st, "api_token", SECRET);
}

/* fixed_model - two services: syncserver (one ok, one failing remote) and
 * a stopped tick */
static struct pandora_status *fixed_model(void)
{
    struct pandora_status *st = status_new("central", "0.1.0", T_STARTED);

    status_service(st, "syncserver", "syncserver", true, NULL);
    status_uint(st, "remotes", 2);
    status_bool(st, "paused_by_backpressure", false);
    status_string(st, "sync_password", SECRET);
    row_ok(st);
    row_failing(st);
    status_service(st, "tick", "tick", false, "stopped");
    return st;
}

/* ---- JSON ---- */

/* utf8_clean - s with each byte of invalid UTF-8 as U+FFFD, as JSON
 * carries it (malloc'd) */
static char *utf8_clean(const char *s)
{
    struct strbuf sb = STRBUF_INIT;
    size_t left = strlen(s);
    const unsigned char *p = (const unsigned char *)s;

    while (left > 0) {
        size_t n = status_utf8_len(p, left);
        if (n == 0)
            strbuf_puts(&sb, "\xef\xbf\xbd");
        else
            strbuf_put(&sb, (const char *)p, n);
        p += n ? n : 1;
        left -= n ? n : 1;
    }
    return strbuf_take(&sb, NULL);
}

/* same_field - a field read back from JSON equals the original */
static void same_field(const struct status_field *a,
                       const struct status_field *b)
{
    double x, y;
    time_t ta, tb;

    ck_assert_str_eq(a->key, b->key);
    if (a->type == STATUS_STRING || b->type == STATUS_STRING) {
        if (render_time_of(a, &ta) && render_time_of(b, &tb)) {
            ck_assert_int_eq(ta, tb);
            return;
        }
        ck_assert_int_eq(a->type, b->type);
        char *clean = a->v.s != NULL ? utf8_clean(a->v.s) : NULL;
        ck_assert_pstr_eq(clean, b->v.s);
        free(clean);
        return;
    }
    ck_assert_msg(render_number(a, &x) && render_number(b, &y), "%s", a->key);
    ck_assert_msg(x == y, "%s: %g != %g", a->key, x, y);
}

static void same_fields(const struct status_fields *a,
                        const struct status_fields *b)
{
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        same_field(&a->v[i], &b->v[i]);
}

static void same_service(const struct status_service *a,
                         const struct status_service *b)
{
    ck_assert_str_eq(a->name, b->name);
    ck_assert_pstr_eq(a->module, b->module);
    ck_assert_int_eq(a->running, b->running);
    ck_assert_pstr_eq(a->reason, b->reason);
    same_fields(&a->fields, &b->fields);
    ck_assert_uint_eq(a->ntables, b->ntables);
    for (size_t t = 0; t < a->ntables; t++) {
        ck_assert_str_eq(a->tables[t]->name, b->tables[t]->name);
        ck_assert_uint_eq(a->tables[t]->n, b->tables[t]->n);
        for (size_t r = 0; r < a->tables[t]->n; r++) {
            ck_assert_str_eq(a->tables[t]->rows[r]->id,
                             b->tables[t]->rows[r]->id);
            same_fields(&a->tables[t]->rows[r]->fields,
                        &b->tables[t]->rows[r]->fields);
        }
    }
}

START_TEST(test_render_json_reads_back_field_by_field)
{
    struct pandora_error err = { "" };
    struct pandora_status *st = fixed_model(), *back = NULL;
    char *json = NULL, *again = NULL;
    size_t len = 0;

    ck_assert_int_eq(status_to_json(st, T_NOW, &json, &len), 0);
    ck_assert_int_eq(status_from_json(json, len, &back, &err), 0);
    ck_assert_str_eq(back->hostname, "central");
    ck_assert_str_eq(back->version, "0.1.0");
    ck_assert_int_eq(back->started, T_STARTED);
    ck_assert_uint_eq(back->n, st->n);
    for (size_t i = 0; i < st->n; i++)
        same_service(st->services[i], back->services[i]);
    ck_assert_int_eq(status_to_json(back, T_NOW, &again, NULL), 0);
    ck_assert_str_eq(again, json);
    free(again);
    free(json);
    status_free(back);
    status_free(st);
}
END_TEST

START_TEST(test_render_secret_keys_are_masked_in_the_model)
{
    struct pandora_status *st = fixed_model();
    char *json = NULL;

    ck_assert(status_key_is_secret("sync_password"));
    ck_assert(status_key_is_secret("API_Token"));
    ck_assert(!status_key_is_secret("peer_subject"));
    ck_assert_int_eq(status_to_json(st, T_NOW, &json, NULL), 0);
    ck_assert_ptr_null(strstr(json, SECRET));
    ck_assert_ptr_nonnull(strstr(json, "\"sync_password\":\"********\""));
    free(json);
    status_free(st);
}
END_TEST

static const char *const bad_json[] = {
    "", "{", "[1]", "{\"host\":{}} x", "{\"services\":[{}]}",
    "{\"services\":[{\"name\":\"s\",\"running\":\"yes\"}]}",
    "{\"services\":[{\"name\":\"s\",\"tables\":{\"t\":[{\"a\":1}]}}]}",
    "{\"host\":{\"name\":\"a\x01\"}}", "{\"host\":{\"name\":\"\\u12\"}}",
    "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]"
    "]]]]]]]]]]]]]]]]}",
    "{\"host\":{\"name\":tru}}", "{\"x\":-}",
};

START_TEST(test_render_malformed_json_is_refused_with_a_reason)
{
    struct pandora_error err = { "" };
    struct pandora_status *st = NULL;
    const char *text = bad_json[_i];

    ck_assert_int_eq(status_from_json(text, strlen(text), &st, &err),
                     -EBADMSG);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err.text, "status.json") != NULL, "%s", err.text);
}
END_TEST

/* ---- metrics ---- */

/* metrics_of - the fixed model's exposition */
static char *metrics_of(const struct pandora_status *st)
{
    char *text = NULL;
    size_t len = 0;

    ck_assert_int_eq(render_metrics(st, T_NOW, &text, &len), 0);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert(len > 0 && text[len - 1] == '\n');
    return text;
}

/* sample_value - the value of the sample line "name{labels}" (exact
 * prefix up to the space), or NULL */
static const char *sample_value(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *l = text; l != NULL && *l; l = strchr(l, '\n')) {
        if (*l == '\n')
            l++;
        if (strncmp(l, series, n) == 0 && l[n] == ' ')
            return l + n + 1;
    }
    return NULL;
}

/* The samples of the fixed model, one by one. */
static const struct {
    const char *series;
    const char *value;          /* NULL: must be absent */
} expected_samples[] = {
    { "pandora_hostd_info{servername=\"central\",version=\"0.1.0\"}", "1" },
    { "pandora_hostd_start_time_seconds", "1732440000" },
    { "pandora_hostd_uptime_seconds", "100" },
    { "pandora_service_up{service=\"syncserver\",module=\"syncserver\"}",
      "1" },
    { "pandora_service_up{service=\"tick\",module=\"tick\"}", "0" },
    { "pandora_service_remotes{service=\"syncserver\"}", "2" },
    { "pandora_service_paused_by_backpressure{service=\"syncserver\"}", "0" },
    { "pandora_remote_state{service=\"syncserver\",remote=\"10.0.0.1:41121\","
      "state=\"ok\"}", "1" },
    { "pandora_remote_state{service=\"syncserver\",remote=\"10.0.0.1:41121\","
      "state=\"failing\"}", "0" },
    { "pandora_remote_state{service=\"syncserver\","
      "remote=\"evil\\\"\\\\\\n<b>:1\",state=\"failing\"}", "1" },
    { "pandora_remote_files_pulled_total{service=\"syncserver\","
      "remote=\"10.0.0.1:41121\"}", "1200" },
    { "pandora_remote_bytes_pulled_total{service=\"syncserver\","
      "remote=\"10.0.0.1:41121\"}", "5242880" },
    { "pandora_remote_bytes_pulled_last_cycle{service=\"syncserver\","
      "remote=\"10.0.0.1:41121\"}", "1536" },
    { "pandora_remote_consecutive_failures{service=\"syncserver\","
      "remote=\"evil\\\"\\\\\\n<b>:1\"}", "5" },
    { "pandora_remote_errors_total{service=\"syncserver\","
      "remote=\"evil\\\"\\\\\\n<b>:1\"}", "9" },
    { "pandora_remote_last_success_timestamp_seconds{service=\"syncserver\","
      "remote=\"10.0.0.1:41121\"}", "1732440088" },
    { "pandora_remote_last_success_timestamp_seconds{service=\"syncserver\","
      "remote=\"evil\\\"\\\\\\n<b>:1\"}", NULL },
    { "pandora_remote_next_attempt_timestamp_seconds{service=\"syncserver\","
      "remote=\"10.0.0.1:41121\"}", "1732440148" },
    { "pandora_remote_backlog_oldest_age_seconds{service=\"syncserver\","
      "remote=\"10.0.0.1:41121\"}", "90" },
    { "pandora_remote_cycle_seconds{service=\"syncserver\","
      "remote=\"10.0.0.1:41121\"}", "1.5" },
    { "pandora_remote_tls{service=\"syncserver\","
      "remote=\"10.0.0.1:41121\"}", "1" },
    { "pandora_remote_tls{service=\"syncserver\","
      "remote=\"evil\\\"\\\\\\n<b>:1\"}", "0" },
    { "pandora_remote_peer_verified{service=\"syncserver\","
      "remote=\"10.0.0.1:41121\"}", "1" },
    { "pandora_remote_peer_cert_seconds_left{service=\"syncserver\","
      "remote=\"10.0.0.1:41121\"}", "1036800" },
    { "pandora_remote_info{service=\"syncserver\",remote=\"10.0.0.1:41121\","
      "address=\"10.0.0.1\",tls_version=\"TLS1.3\","
      "tls_cipher=\"TLS_AES_256_GCM_SHA384\","
      "peer_subject=\"CN=buffer1,O=ACME\"}", "1" },
    { "pandora_remote_info{service=\"syncserver\","
      "remote=\"evil\\\"\\\\\\n<b>:1\",address=\"10.0.0.2\","
      "weird_extra=\"x<y\"}", "1" },
    { "pandora_service_info{service=\"syncserver\"}", NULL },
};

START_TEST(test_render_metrics_sample_by_sample)
{
    struct pandora_status *st = fixed_model();
    char *text = metrics_of(st);
    size_t n = sizeof(expected_samples) / sizeof(expected_samples[0]);

    for (size_t i = 0; i < n; i++) {
        const char *v = sample_value(text, expected_samples[i].series);
        if (expected_samples[i].value == NULL) {
            ck_assert_msg(v == NULL, "unexpected %s", expected_samples[i].series);
            continue;
        }
        ck_assert_msg(v != NULL, "missing %s in\n%s",
                      expected_samples[i].series, text);
        size_t len = strcspn(v, "\n");
        ck_assert_msg(strlen(expected_samples[i].value) == len &&
                      strncmp(v, expected_samples[i].value, len) == 0,
                      "%s = %.*s, expected %s", expected_samples[i].series,
                      (int)len, v, expected_samples[i].value);
    }
    free(text);
    status_free(st);
}
END_TEST

/* family_of - the metric name of a sample line, into buf */
static void family_of(const char *line, char *buf, size_t size)
{
    size_t n = strcspn(line, "{ ");

    ck_assert_uint_lt(n, size);
    memcpy(buf, line, n);
    buf[n] = '\0';
}

/* next_line - the line at *p (NUL-terminated copy in buf); false at the
 * end */
static bool next_line(const char **p, char *buf, size_t size)
{
    size_t n = strcspn(*p, "\n");

    if (**p == '\0')
        return false;
    ck_assert_uint_lt(n, size);
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p += n + ((*p)[n] == '\n');
    return true;
}

START_TEST(test_render_metrics_families_are_declared_and_contiguous)
{
    struct pandora_status *st = fixed_model();
    char *text = metrics_of(st);
    char current[256] = "", name[256], line[4096];
    struct strbuf seen = STRBUF_INIT;
    const char *p = text;

    strbuf_puts(&seen, " ");
    while (next_line(&p, line, sizeof(line))) {
        if (strncmp(line, "# HELP ", 7) == 0) {
            family_of(line + 7, name, sizeof(name));
            char key[300];
            snprintf(key, sizeof(key), " %s ", name);
            ck_assert_msg(strstr(seen.p, key) == NULL, "%s declared twice",
                          name);
            strbuf_puts(&seen, key + 1);
            snprintf(current, sizeof(current), "%s", name);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            family_of(line + 7, name, sizeof(name));
            ck_assert_str_eq(name, current);
            bool counter = strstr(line, " counter") != NULL;
            size_t nl = strlen(name);
            ck_assert_int_eq(counter, nl > 6 &&
                                      strcmp(name + nl - 6, "_total") == 0);
            continue;
        }
        family_of(line, name, sizeof(name));
        ck_assert_msg(strcmp(name, current) == 0, "%s outside its family %s",
                      name, current);
        ck_assert_ptr_null(strstr(line, SECRET));
        ck_assert_ptr_null(strstr(line, "script"));  /* free text left out */
    }
    strbuf_free(&seen);
    free(text);
    status_free(st);
}
END_TEST

/* promtool_check - 1 passed, 0 failed, -1 promtool not installed */
static int promtool_check(const char *text)
{
    char *dir = tu_tmpdir();
    char path[4096];
    int status = 0;

    snprintf(path, sizeof(path), "%s/metrics.txt", dir);
    tu_write(NULL, path, text);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(path, O_RDONLY);
        if (fd < 0 || dup2(fd, 0) < 0)
            _exit(126);
        execlp("promtool", "promtool", "check", "metrics", (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    tu_rmtree(dir);
    free(dir);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
        return -1;
    return WEXITSTATUS(status) == 0;
}

START_TEST(test_render_metrics_pass_promtool_if_present)
{
    struct pandora_status *st = fixed_model();
    char *text = metrics_of(st);
    int rc = promtool_check(text);

    if (rc < 0)
        fprintf(stderr, "promtool not installed: lint skipped here (the "
                "daemon test requires it)\n");
    else
        ck_assert_msg(rc == 1, "promtool check metrics failed on:\n%s", text);
    free(text);
    status_free(st);
}
END_TEST

START_TEST(test_render_metrics_bad_names_and_negative_counters_left_out)
{
    struct pandora_status *st = status_new("h", "1", T_STARTED);
    char *text;

    status_service(st, "s", "m", true, NULL);
    status_uint(st, "Bad-Key", 1);
    status_int(st, "lost_total", -4);
    status_double(st, "ratio", NAN);
    status_uint(st, "up", 7);
    status_row(st, "Bad Table", "r");
    status_uint(st, "x", 1);
    text = metrics_of(st);
    ck_assert_ptr_null(strstr(text, "Bad"));
    ck_assert_ptr_null(strstr(text, "lost_total{"));
    ck_assert_ptr_nonnull(strstr(text, "pandora_service_ratio{service=\"s\"} "
                                       "NaN\n"));
    ck_assert_ptr_null(strstr(text, "pandora_service_up{service=\"s\"} 7"));
    free(text);
    status_free(st);
}
END_TEST

/* ---- HTML ---- */

static char *html_of(const struct pandora_status *st)
{
    char *html = NULL;
    size_t len = 0;

    ck_assert_int_eq(render_html(st, T_NOW, 10, &html, &len), 0);
    ck_assert_uint_eq(len, strlen(html));
    return html;
}

/* count - occurrences of needle */
static unsigned count(const char *hay, const char *needle)
{
    unsigned n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

START_TEST(test_render_html_is_self_contained_and_refreshes)
{
    struct pandora_status *st = fixed_model();
    char *html = html_of(st);

    ck_assert(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    ck_assert_ptr_nonnull(strstr(html, "<meta http-equiv=\"refresh\" "
                                       "content=\"10\">"));
    ck_assert_ptr_nonnull(strstr(html, "name=\"viewport\""));
    ck_assert_ptr_null(strstr(html, "http://"));
    ck_assert_ptr_null(strstr(html, "https://"));
    ck_assert_ptr_null(strstr(html, "src="));
    ck_assert_ptr_null(strstr(html, "<link"));
    ck_assert_ptr_null(strstr(html, "@import"));
    ck_assert_ptr_null(strstr(html, "url("));
    ck_assert_uint_eq(count(html, "<script"), 1);
    ck_assert_uint_eq(count(html, "<style"), 1);
    ck_assert_uint_eq(count(html, "<noscript>"), 1);
    free(html);
    status_free(st);
}
END_TEST

START_TEST(test_render_html_rows_carry_state_and_failing_stands_out)
{
    struct pandora_status *st = fixed_model();
    char *html = html_of(st);

    ck_assert_ptr_nonnull(strstr(html, "<tr class=\"row row-ok\" "
                                       "data-remote=\"10.0.0.1:41121\" "
                                       "data-state=\"ok\">"));
    ck_assert_ptr_nonnull(strstr(html, "<tr class=\"row row-failing\" "
                                       "data-remote=\"evil&quot;\\\n&lt;b&gt;"
                                       ":1\" data-state=\"failing\">"));
    ck_assert_ptr_nonnull(strstr(html, "tr.row-failing td{background:"));
    ck_assert_ptr_nonnull(strstr(html, "class=\"health bad\""));
    ck_assert_ptr_nonnull(strstr(html, "data-service=\"tick\" "
                                       "data-running=\"false\""));
    ck_assert_ptr_nonnull(strstr(html, "<p class=\"reason\">stopped</p>"));
    ck_assert_ptr_nonnull(strstr(html, "TLS1.3"));
    ck_assert_ptr_nonnull(strstr(html, "certificate expires in 12 days"));
    ck_assert_ptr_nonnull(strstr(html, "<th>Other</th>"));
    ck_assert_ptr_nonnull(strstr(html, "x&lt;y"));
    ck_assert_ptr_null(strstr(html, "<th>Pushed</th>"));  /* no such field */
    ck_assert_uint_eq(count(html, "<button type=\"button\" class=\"poll\""),
                      2);
    ck_assert_uint_eq(count(html, "\" hidden>Poll now</button>"), 2);
    free(html);
    status_free(st);
}
END_TEST

START_TEST(test_render_html_escapes_everything_from_the_model)
{
    struct pandora_status *st = fixed_model();
    char *html = html_of(st);

    ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(1)&lt;/script"
                                       "&gt; &amp; &quot;quoted&quot;\n"
                                       "\xef\xbf\xbd[31mred\xef\xbf\xbd"));
    ck_assert_ptr_null(strstr(html, "\x1b"));
    ck_assert_ptr_null(strstr(html, "<b>"));
    ck_assert_ptr_null(strstr(html, SECRET));
    free(html);
    status_free(st);
}
END_TEST

START_TEST(test_render_html_new_fields_get_their_column)
{
    struct pandora_status *st = fixed_model();

    status_service(st, "more", "more", true, NULL);
    status_row(st, "remotes", "r1");
    status_uint(st, "files_pushed_total", 4);
    status_uint(st, "bytes_pushed_total", 2048);
    char *html = html_of(st);
    ck_assert_ptr_nonnull(strstr(html, "<th>Pushed</th>"));
    ck_assert_ptr_nonnull(strstr(html, "4 files, 2.0 KiB"));
    free(html);
    status_free(st);
}
END_TEST

/* b64 - standard base64 of n bytes */
static void b64(const unsigned char *in, size_t n, char *out)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 |
                     (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = '\0';
}

/* csp_hash - "sha256-<base64>" of text */
static void csp_hash(const char *text, char *out)
{
    unsigned char d[32];

    ck_assert_int_eq(gnutls_hash_fast(GNUTLS_DIG_SHA256, text, strlen(text),
                                      d), 0);
    memcpy(out, "sha256-", 7);
    b64(d, sizeof(d), out + 7);
}

START_TEST(test_render_html_csp_hashes_match_the_inline_blocks)
{
    struct pandora_status *st = fixed_model();
    char *html = html_of(st);
    char want[80], block[8192];

    csp_hash(render_html_script, want);
    ck_assert_msg(strcmp(want, RENDER_HTML_SCRIPT_SHA256) == 0,
                  "script changed: set RENDER_HTML_SCRIPT_SHA256 to %s", want);
    csp_hash(render_html_style, want);
    ck_assert_msg(strcmp(want, RENDER_HTML_STYLE_SHA256) == 0,
                  "style changed: set RENDER_HTML_STYLE_SHA256 to %s", want);
    snprintf(block, sizeof(block), "<script>%s</script>", render_html_script);
    ck_assert_ptr_nonnull(strstr(html, block));
    snprintf(block, sizeof(block), "<style>%s</style>", render_html_style);
    ck_assert_ptr_nonnull(strstr(html, block));
    ck_assert_ptr_nonnull(strstr(render_html_script, "X-Pandora-Poll"));
    free(html);
    status_free(st);
}
END_TEST

/* ---- the terminal table ---- */

static char *table_of(const struct pandora_status *st, unsigned flags)
{
    char *text = NULL;
    size_t len = 0;

    ck_assert_int_eq(render_table(st, T_NOW, flags, &text, &len), 0);
    ck_assert_uint_eq(len, strlen(text));
    return text;
}

/* line_with - a line starting with `start` that also holds `also` */
static bool line_with(const char *text, const char *start, const char *also)
{
    size_t n = strlen(start);

    for (const char *l = text; *l; l += strcspn(l, "\n") + (l[strcspn(l,
                                                     "\n")] != '\0')) {
        size_t len = strcspn(l, "\n");
        if (strncmp(l, start, n) == 0 && memmem(l, len, also,
                                                strlen(also)) != NULL)
            return true;
    }
    return false;
}

START_TEST(test_render_table_shows_rows_errors_and_problems)
{
    struct pandora_status *st = fixed_model();
    char *text = table_of(st, 0);

    ck_assert_msg(strstr(text, "pandora_hostd 0.1.0 on central: up 1 min "
                               "40 s") != NULL, "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "REMOTE"));
    ck_assert_msg(line_with(text, "  10.0.0.1:41121 ", " ok "), "%s", text);
    ck_assert_msg(line_with(text, "  evil\"\\?<b>:1 ", " FAILING "), "%s",
                  text);
    ck_assert_ptr_nonnull(strstr(text, "last error 3 min 0 s ago: <script>"
                                       "alert(1)</script> & \"quoted\"?"
                                       "?[31mred?\n"));
    ck_assert_ptr_nonnull(strstr(text, "service tick (module tick): NOT "
                                       "RUNNING: stopped"));
    ck_assert_ptr_nonnull(strstr(text, "weird_extra=x<y"));
    ck_assert_ptr_null(strstr(text, "\x1b"));
    ck_assert_ptr_null(strstr(text, SECRET));
    ck_assert_uint_eq(render_table_problems(st), 2);
    free(text);
    status_free(st);
}
END_TEST

START_TEST(test_render_table_colours_only_when_asked)
{
    struct pandora_status *st = fixed_model();
    char *text = table_of(st, RENDER_TABLE_COLOR);

    ck_assert_ptr_nonnull(strstr(text, "\033[1;31mFAILING"));
    ck_assert_ptr_nonnull(strstr(text, "\033[32mok"));
    free(text);
    status_free(st);
}
END_TEST

START_TEST(test_render_table_healthy_model_has_no_problems)
{
    struct pandora_status *st = status_new("h", "1", T_STARTED);

    status_service(st, "s", "m", true, NULL);
    row_ok(st);
    ck_assert_uint_eq(render_table_problems(st), 0);
    status_free(st);
}
END_TEST

/* ---- formatting ---- */

static const struct {
    int64_t seconds;
    const char *text;
} durations[] = {
    { 0, "0 s" }, { 59, "59 s" }, { 60, "1 min 0 s" }, { 3599, "59 min 59 s" },
    { 3600, "1 h 0 min" }, { 90061, "1 d 1 h" }, { -5, "5 s" },
};

START_TEST(test_render_durations_read_naturally)
{
    struct strbuf sb = STRBUF_INIT;

    render_duration(&sb, durations[_i].seconds);
    ck_assert_str_eq(sb.p, durations[_i].text);
    strbuf_free(&sb);
}
END_TEST

START_TEST(test_render_bytes_and_times_read_naturally)
{
    struct strbuf sb = STRBUF_INIT;

    render_bytes(&sb, 512);
    strbuf_puts(&sb, "|");
    render_bytes(&sb, 1536);
    strbuf_puts(&sb, "|");
    render_bytes(&sb, 5u << 20);
    strbuf_puts(&sb, "|");
    render_when(&sb, 0, T_NOW);
    strbuf_puts(&sb, "|");
    render_when(&sb, T_NOW + 40, T_NOW);
    strbuf_puts(&sb, "|");
    render_utc(&sb, T_STARTED);
    ck_assert_str_eq(sb.p, "512 B|1.5 KiB|5.0 MiB|never|in 40 s|"
                           "2024-11-24 09:20:00 UTC");
    strbuf_free(&sb);
}
END_TEST

static TCase *render_tcase(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, 20);
    return tc;
}

static Suite *render_suite(void)
{
    Suite *s = suite_create("render");
    TCase *tc;

    tc = render_tcase("json");
    tcase_add_test(tc, test_render_json_reads_back_field_by_field);
    tcase_add_test(tc, test_render_secret_keys_are_masked_in_the_model);
    tcase_add_loop_test(tc, test_render_malformed_json_is_refused_with_a_reason,
                        0, sizeof(bad_json) / sizeof(bad_json[0]));
    suite_add_tcase(s, tc);

    tc = render_tcase("metrics");
    tcase_add_test(tc, test_render_metrics_sample_by_sample);
    tcase_add_test(tc, test_render_metrics_families_are_declared_and_contiguous);
    tcase_add_test(tc, test_render_metrics_pass_promtool_if_present);
    tcase_add_test(tc,
                   test_render_metrics_bad_names_and_negative_counters_left_out);
    suite_add_tcase(s, tc);

    tc = render_tcase("html");
    tcase_add_test(tc, test_render_html_is_self_contained_and_refreshes);
    tcase_add_test(tc, test_render_html_rows_carry_state_and_failing_stands_out);
    tcase_add_test(tc, test_render_html_escapes_everything_from_the_model);
    tcase_add_test(tc, test_render_html_new_fields_get_their_column);
    tcase_add_test(tc, test_render_html_csp_hashes_match_the_inline_blocks);
    suite_add_tcase(s, tc);

    tc = render_tcase("table");
    tcase_add_test(tc, test_render_table_shows_rows_errors_and_problems);
    tcase_add_test(tc, test_render_table_colours_only_when_asked);
    tcase_add_test(tc, test_render_table_healthy_model_has_no_problems);
    suite_add_tcase(s, tc);

    tc = render_tcase("format");
    tcase_add_loop_test(tc, test_render_durations_read_naturally, 0,
                        sizeof(durations) / sizeof(durations[0]));
    tcase_add_test(tc, test_render_bytes_and_times_read_naturally);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(render_suite());
}
