/* check_httpd.c - the status listener on 127.0.0.1 (a kernel-picked port)
 * against a fixed snapshot source, spoken to over plain sockets: routes,
 * status codes, methods, the poll header, tokens, Host, limits. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hostconf.h"
#include "httpd.h"
#include "log.h"
#include "status.h"
#include "statusjson.h"
#include "strbuf.h"
#include "testutil.h"

#define ADDR "127.0.0.1"
#define TOKEN "t0k3n-Zq9xv7-s3cr3t"
#define IO_WAIT_MS 5000

/* ---- the fixed source; its callbacks run on the listener thread ---- */

static struct {
    pthread_mutex_t lock;
    bool busy, unhealthy;
    unsigned polls;
    char target[300];
} fake = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct pandora_status *fake_snapshot(void *cls)
{
    pthread_mutex_lock(&fake.lock);
    bool busy = fake.busy, unhealthy = fake.unhealthy;
    pthread_mutex_unlock(&fake.lock);
    if (busy)
        return NULL;
    struct pandora_status *st = status_new("central", "0.1.0", time(NULL));
    status_service(st, "syncserver", "syncserver", true, NULL);
    status_uint(st, "remotes", 2);
    status_row(st, "remotes", "10.0.0.1:41121");
    status_string(st, "state", "ok");
    status_uint(st, "files_pulled_total", 7);
    status_row(st, "remotes", "[::1]:41121");
    status_string(st, "state", "failing");
    status_string(st, "last_error", "connection refused");
    if (unhealthy)
        status_service(st, "tick", "tick", false, "stopped by a test");
    return st;
}

static int fake_poll(void *cls, const char *target)
{
    int rc = -ENOENT;

    pthread_mutex_lock(&fake.lock);
    if (fake.busy) {
        rc = -EAGAIN;
    } else if (strcmp(target, "10.0.0.1:41121") == 0 ||
               strcmp(target, "[::1]:41121") == 0) {
        fake.polls++;
        snprintf(fake.target, sizeof(fake.target), "%s", target);
        rc = 0;
    }
    pthread_mutex_unlock(&fake.lock);
    return rc;
}

static void fake_set(bool busy, bool unhealthy)
{
    pthread_mutex_lock(&fake.lock);
    fake.busy = busy;
    fake.unhealthy = unhealthy;
    pthread_mutex_unlock(&fake.lock);
}

/* fake_reset - a fresh source for each test (also under CK_FORK=no) */
static void fake_reset(void)
{
    pthread_mutex_lock(&fake.lock);
    fake.busy = fake.unhealthy = false;
    fake.polls = 0;
    fake.target[0] = '\0';
    pthread_mutex_unlock(&fake.lock);
}

static unsigned fake_polls(char *target, size_t size)
{
    pthread_mutex_lock(&fake.lock);
    unsigned n = fake.polls;
    if (target != NULL)
        snprintf(target, size, "%s", fake.target);
    pthread_mutex_unlock(&fake.lock);
    return n;
}

/* ---- the listener under test ---- */

static struct httpd *srv;
static char *dir;
static char listen_addr[] = ADDR;

/* start - a listener with `token_file` (or none) and `limits` (or the
 * defaults) */
static void start(const char *token_file, const struct httpd_limits *limits)
{
    struct hostconf_status conf = { true, listen_addr, 0, (char *)token_file };
    const struct httpd_source src = { fake_snapshot, fake_poll, NULL };
    struct pandora_error err = { "" };

    int rc = httpd_start(&conf, "test.conf", limits, &src, &srv, &err);
    ck_assert_msg(rc == 0, "httpd_start: %s", err.text);
    ck_assert_uint_gt(httpd_port(srv), 0);
}

static void setup(void)
{
    dir = tu_tmpdir();
    fake_reset();
    start(NULL, NULL);
}

static void setup_token(void)
{
    char path[4096];

    dir = tu_tmpdir();
    fake_reset();
    tu_write(dir, "token", TOKEN "\n");
    snprintf(path, sizeof(path), "%s/token", dir);
    start(path, NULL);
}

static void teardown(void)
{
    httpd_stop(srv);
    srv = NULL;
    tu_rmtree(dir);
    free(dir);
}

/* ---- a tiny HTTP client over plain sockets ---- */

struct resp {
    unsigned code;
    char *raw;          /* everything the server sent */
    const char *body;
};

static int connect_to(unsigned port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    inet_pton(AF_INET, ADDR, &sa.sin_addr);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
                  "connect: %s", strerror(errno));
    return fd;
}

/* closed_within - does the server close (EOF or reset) fd within ms? */
static bool closed_within(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char buf[4096];

    while (poll(&p, 1, ms) == 1) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            return true;
    }
    return false;
}

/* read_reply - until EOF, bounded in time */
static void read_reply(int fd, struct resp *r)
{
    struct strbuf in = STRBUF_INIT;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char buf[8192];

    for (;;) {
        ck_assert_msg(poll(&p, 1, IO_WAIT_MS) == 1, "no reply in time");
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        strbuf_put(&in, buf, (size_t)n);
    }
    r->raw = strbuf_take(&in, NULL);
    ck_assert_msg(strncmp(r->raw, "HTTP/1.", 7) == 0, "not HTTP: %s", r->raw);
    r->code = (unsigned)strtoul(r->raw + 9, NULL, 10);
    const char *end = strstr(r->raw, "\r\n\r\n");
    r->body = end != NULL ? end + 4 : "";
}

/* exchange - send a raw request, read the whole reply (a server that
 * answers before reading all of a huge request may cut the sending short:
 * the reply is what counts) */
static void exchange(const char *request, struct resp *r)
{
    int fd = connect_to(httpd_port(srv));
    size_t len = strlen(request), off = 0;

    while (off < len) {
        ssize_t n = send(fd, request + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    read_reply(fd, r);
    close(fd);
}

/* ask - METHOD PATH with a Host of our address and extra header lines */
static void ask(const char *method, const char *path, const char *extra,
                struct resp *r)
{
    char req[4096];

    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: %s:%u\r\n%s"
             "Connection: close\r\n\r\n", method, path, ADDR,
             httpd_port(srv), extra ? extra : "");
    exchange(req, r);
}

/* header - the value of a reply header (a copy in buf), or NULL */
static const char *header(const struct resp *r, const char *name, char *buf,
                          size_t size)
{
    size_t n = strlen(name);

    for (const char *l = strstr(r->raw, "\r\n"); l && l + 2 < r->body;
         l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':') {
            const char *v = l + 3 + n + strspn(l + 3 + n, " ");
            snprintf(buf, size, "%.*s", (int)strcspn(v, "\r\n"), v);
            return buf;
        }
    }
    return NULL;
}

static void resp_free(struct resp *r)
{
    free(r->raw);
}

/* ---- routes ---- */

START_TEST(test_httpd_page_is_html_with_rows_and_csp)
{
    struct resp r;
    char buf[1024];

    ask("GET", "/", NULL, &r);
    ck_assert_uint_eq(r.code, 200);
    ck_assert_str_eq(header(&r, "Content-Type", buf, sizeof(buf)),
                     "text/html; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(header(&r, "Content-Security-Policy", buf,
                                        sizeof(buf)), "default-src 'none'"));
    ck_assert_str_eq(header(&r, "Cache-Control", buf, sizeof(buf)),
                     "no-store");
    ck_assert_ptr_nonnull(strstr(r.body, "data-remote=\"10.0.0.1:41121\" "
                                         "data-state=\"ok\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-state=\"failing\""));
    resp_free(&r);
}
END_TEST

START_TEST(test_httpd_json_reads_back)
{
    struct pandora_error err = { "" };
    struct pandora_status *st = NULL;
    struct resp r;
    char buf[256];

    ask("GET", "/status.json", NULL, &r);
    ck_assert_uint_eq(r.code, 200);
    ck_assert_str_eq(header(&r, "Content-Type", buf, sizeof(buf)),
                     "application/json");
    ck_assert_msg(status_from_json(r.body, strlen(r.body), &st, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(st->n, 1);
    ck_assert_uint_eq(st->services[0]->tables[0]->n, 2);
    status_free(st);
    resp_free(&r);
}
END_TEST

START_TEST(test_httpd_metrics_are_prometheus_text)
{
    struct resp r;
    char buf[256];

    ask("GET", "/metrics", NULL, &r);
    ck_assert_uint_eq(r.code, 200);
    ck_assert_str_eq(header(&r, "Content-Type", buf, sizeof(buf)),
                     "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.body, "# TYPE pandora_remote_files_pulled"
                                         "_total counter\n"));
    resp_free(&r);
}
END_TEST

START_TEST(test_httpd_healthz_is_200_then_503_with_the_reason)
{
    struct resp r;

    ask("GET", "/healthz", NULL, &r);
    ck_assert_uint_eq(r.code, 200);
    ck_assert_str_eq(r.body, "ok\n");
    resp_free(&r);
    fake_set(false, true);
    ask("GET", "/healthz", NULL, &r);
    ck_assert_uint_eq(r.code, 503);
    ck_assert_str_eq(r.body, "service tick is not running: stopped by a "
                             "test\n");
    resp_free(&r);
}
END_TEST

START_TEST(test_httpd_head_has_headers_and_no_body)
{
    struct resp r;
    char buf[64];

    ask("HEAD", "/status.json", NULL, &r);
    ck_assert_uint_eq(r.code, 200);
    ck_assert_str_eq(r.body, "");
    ck_assert_uint_gt(strtoul(header(&r, "Content-Length", buf, sizeof(buf)),
                              NULL, 10), 0);
    resp_free(&r);
}
END_TEST

static const char *const unknown_paths[] = {
    "/nope", "/status.json/", "//", "/remotes//poll", "/remotes/a/b/poll",
    "/remotes/a/poll/x", "/remotes/", "/index.html", "/metrics.txt",
};

START_TEST(test_httpd_unknown_path_is_404)
{
    struct resp r;

    ask("GET", unknown_paths[_i], NULL, &r);
    ck_assert_uint_eq(r.code, 404);
    resp_free(&r);
}
END_TEST

static const struct {
    const char *method, *path, *allow;
} wrong_methods[] = {
    { "POST", "/", "GET, HEAD" },
    { "DELETE", "/metrics", "GET, HEAD" },
    { "OPTIONS", "/status.json", "GET, HEAD" },
    { "PUT", "/healthz", "GET, HEAD" },
    { "GET", "/remotes/10.0.0.1:41121/poll", "POST" },
    { "OPTIONS", "/remotes/10.0.0.1:41121/poll", "POST" },
};

START_TEST(test_httpd_wrong_method_is_405_with_allow)
{
    struct resp r;
    char buf[64];

    ask(wrong_methods[_i].method, wrong_methods[_i].path,
        "Content-Length: 0\r\n", &r);
    ck_assert_uint_eq(r.code, 405);
    ck_assert_str_eq(header(&r, "Allow", buf, sizeof(buf)),
                     wrong_methods[_i].allow);
    ck_assert_ptr_null(header(&r, "Access-Control-Allow-Origin", buf,
                              sizeof(buf)));
    ck_assert_uint_eq(fake_polls(NULL, 0), 0);
    resp_free(&r);
}
END_TEST

/* ---- poll ---- */

START_TEST(test_httpd_poll_without_the_header_is_403)
{
    struct resp r;

    ask("POST", "/remotes/10.0.0.1:41121/poll", "Content-Length: 0\r\n", &r);
    ck_assert_uint_eq(r.code, 403);
    ck_assert_ptr_nonnull(strstr(r.body, "X-Pandora-Poll: 1"));
    resp_free(&r);
    ask("POST", "/remotes/10.0.0.1:41121/poll",
        "X-Pandora-Poll: yes\r\nContent-Length: 0\r\n", &r);
    ck_assert_uint_eq(r.code, 403);
    resp_free(&r);
    ck_assert_uint_eq(fake_polls(NULL, 0), 0);
}
END_TEST

START_TEST(test_httpd_poll_with_the_header_reaches_the_source)
{
    struct resp r;
    char target[300];

    ask("POST", "/remotes/%5B%3A%3A1%5D%3A41121/poll",
        "X-Pandora-Poll: 1\r\nContent-Length: 0\r\n", &r);
    ck_assert_uint_eq(r.code, 202);
    ck_assert_str_eq(r.body, "poll of [::1]:41121 requested\n");
    ck_assert_uint_eq(fake_polls(target, sizeof(target)), 1);
    ck_assert_str_eq(target, "[::1]:41121");
    resp_free(&r);
}
END_TEST

START_TEST(test_httpd_poll_of_an_unknown_remote_is_404)
{
    struct resp r;

    ask("POST", "/remotes/nosuch%0Aline/poll",
        "X-Pandora-Poll: 1\r\nContent-Length: 0\r\n", &r);
    ck_assert_uint_eq(r.code, 404);
    ck_assert_str_eq(r.body, "no remote named nosuch?line; see pandora_hostd "
                             "--status\n");
    resp_free(&r);
}
END_TEST

START_TEST(test_httpd_busy_host_is_503_for_pages_and_polls)
{
    struct resp r;
    char buf[64];

    fake_set(true, false);
    ask("GET", "/status.json", NULL, &r);
    ck_assert_uint_eq(r.code, 503);
    ck_assert_str_eq(header(&r, "Retry-After", buf, sizeof(buf)), "2");
    resp_free(&r);
    ask("POST", "/remotes/10.0.0.1:41121/poll",
        "X-Pandora-Poll: 1\r\nContent-Length: 0\r\n", &r);
    ck_assert_uint_eq(r.code, 503);
    resp_free(&r);
}
END_TEST

/* ---- Host and tokens ---- */

static const struct {
    const char *host;
    unsigned code;
} hosts[] = {
    { "Host: 127.0.0.1\r\n", 200 }, { "Host: localhost:41180\r\n", 200 },
    { "Host: [::1]:41180\r\n", 200 }, { "Host: evil.example.com\r\n", 403 },
    { "Host: 127.0.0.1.nip.io:41180\r\n", 403 }, { "Host: [::1\r\n", 403 },
};

START_TEST(test_httpd_without_token_only_ip_hosts_are_served)
{
    char req[512];
    struct resp r;

    snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\n%sConnection: "
             "close\r\n\r\n", hosts[_i].host);
    exchange(req, &r);
    ck_assert_uint_eq(r.code, hosts[_i].code);
    resp_free(&r);
}
END_TEST

START_TEST(test_httpd_http10_without_host_is_served)
{
    struct resp r;

    exchange("GET /healthz HTTP/1.0\r\n\r\n", &r);
    ck_assert_uint_eq(r.code, 200);
    resp_free(&r);
}
END_TEST

START_TEST(test_httpd_token_is_required_and_never_echoed)
{
    struct resp r;
    char buf[256];

    ask("GET", "/", NULL, &r);
    ck_assert_uint_eq(r.code, 401);
    ck_assert_ptr_nonnull(header(&r, "WWW-Authenticate", buf, sizeof(buf)));
    ck_assert_ptr_null(strstr(r.raw, TOKEN));
    resp_free(&r);
    ask("GET", "/metrics", "Authorization: Bearer t0k3n-Zq9xv7-s3cr3\r\n", &r);
    ck_assert_uint_eq(r.code, 401);
    resp_free(&r);
    ask("GET", "/metrics", "Authorization: Bearer " TOKEN "x\r\n", &r);
    ck_assert_uint_eq(r.code, 401);
    resp_free(&r);
    ask("POST", "/remotes/10.0.0.1:41121/poll",
        "X-Pandora-Poll: 1\r\nContent-Length: 0\r\n", &r);
    ck_assert_uint_eq(r.code, 401);
    ck_assert_uint_eq(fake_polls(NULL, 0), 0);
    resp_free(&r);
}
END_TEST

START_TEST(test_httpd_bearer_and_basic_tokens_are_accepted)
{
    struct resp r;

    ask("GET", "/metrics", "Authorization: Bearer " TOKEN "\r\n", &r);
    ck_assert_uint_eq(r.code, 200);
    ck_assert_ptr_null(strstr(r.raw, TOKEN));
    resp_free(&r);
    /* base64("admin:t0k3n-Zq9xv7-s3cr3t") */
    ask("GET", "/", "Authorization: Basic "
        "YWRtaW46dDBrM24tWnE5eHY3LXMzY3IzdA==\r\n", &r);
    ck_assert_uint_eq(r.code, 200);
    resp_free(&r);
    /* with a token, the Host check is not needed */
    exchange("GET /healthz HTTP/1.1\r\nHost: status.example.com\r\n"
             "Authorization: bearer " TOKEN "\r\nConnection: close\r\n\r\n",
             &r);
    ck_assert_uint_eq(r.code, 200);
    resp_free(&r);
}
END_TEST

START_TEST(test_httpd_token_reload_replaces_the_token)
{
    struct pandora_error err = { "" };
    char path[4096];
    struct resp r;

    tu_write(dir, "token2", "n3w-t0k3n\n");
    snprintf(path, sizeof(path), "%s/token2", dir);
    ck_assert_int_eq(httpd_token_reload(srv, path, &err), 0);
    ask("GET", "/healthz", "Authorization: Bearer " TOKEN "\r\n", &r);
    ck_assert_uint_eq(r.code, 401);
    resp_free(&r);
    ask("GET", "/healthz", "Authorization: Bearer n3w-t0k3n\r\n", &r);
    ck_assert_uint_eq(r.code, 200);
    resp_free(&r);
    snprintf(path, sizeof(path), "%s/missing", dir);
    ck_assert_int_lt(httpd_token_reload(srv, path, &err), 0);
    ask("GET", "/healthz", "Authorization: Bearer n3w-t0k3n\r\n", &r);
    ck_assert_uint_eq(r.code, 200);                 /* the old one stays */
    resp_free(&r);
}
END_TEST

START_TEST(test_httpd_token_never_reaches_the_log)
{
    struct pandora_error err = { "" };
    char path[4096];
    struct resp r;

    snprintf(path, sizeof(path), "%s/log", dir);
    ck_assert_int_eq(log_open(path, &err), 0);
    log_set_verbosity(10);
    ask("GET", "/", "Authorization: Bearer wrong-" TOKEN "\r\n", &r);
    resp_free(&r);
    ask("POST", "/remotes/10.0.0.1:41121/poll", "Authorization: Bearer "
        TOKEN "\r\nX-Pandora-Poll: 1\r\nContent-Length: 0\r\n", &r);
    ck_assert_uint_eq(r.code, 202);
    resp_free(&r);
    log_flush();
    char *log = tu_read(dir, "log");
    ck_assert_ptr_nonnull(log);
    ck_assert_ptr_nonnull(strstr(log, "poll of 10.0.0.1:41121 requested"));
    ck_assert_ptr_null(strstr(log, TOKEN));
    free(log);
    log_open(NULL, &err);
}
END_TEST

/* ---- refusals at start ---- */

START_TEST(test_httpd_non_loopback_without_token_is_refused)
{
    char any[] = "0.0.0.0";
    struct hostconf_status conf = { true, any, 0, NULL };
    const struct httpd_source src = { fake_snapshot, fake_poll, NULL };
    struct pandora_error err = { "" };
    struct httpd *h = NULL;

    ck_assert_int_eq(httpd_start(&conf, "/etc/pandora/pandora_hostd.conf",
                                 NULL, &src, &h, &err), -EINVAL);
    ck_assert_ptr_null(h);
    ck_assert_msg(strstr(err.text, "/etc/pandora/pandora_hostd.conf") &&
                  strstr(err.text, "status.listen") &&
                  strstr(err.text, "status.token_file"), "%s", err.text);
}
END_TEST

static const struct {
    const char *text;       /* NULL: no such file */
    const char *says;
} bad_tokens[] = {
    { NULL, "cannot read status.token_file" },
    { "", "one line of printable characters" },
    { "\n", "one line of printable characters" },
    { "two words\n", "one line of printable characters" },
    { "a\nb\n", "one line of printable characters" },
};

START_TEST(test_httpd_bad_token_file_is_refused_by_name)
{
    char path[4096];
    struct pandora_error err = { "" };
    char *token = NULL;

    snprintf(path, sizeof(path), "%s/token", dir);
    if (bad_tokens[_i].text != NULL)
        tu_write(NULL, path, bad_tokens[_i].text);
    ck_assert_int_lt(httpd_token_load(path, &token, &err), 0);
    ck_assert_ptr_null(token);
    ck_assert_msg(strstr(err.text, path) && strstr(err.text,
                  bad_tokens[_i].says), "%s", err.text);
}
END_TEST

START_TEST(test_httpd_port_in_use_is_refused_with_advice)
{
    struct hostconf_status conf = { true, listen_addr, httpd_port(srv),
                                    NULL };
    const struct httpd_source src = { fake_snapshot, fake_poll, NULL };
    struct pandora_error err = { "" };
    struct httpd *h = NULL;

    ck_assert_int_eq(httpd_start(&conf, "x.conf", NULL, &src, &h, &err),
                     -EADDRINUSE);
    ck_assert_msg(strstr(err.text, "status.port") &&
                  strstr(err.text, "x.conf"), "%s", err.text);
}
END_TEST

static const struct {
    const char *listen;
    int rc;
    bool loopback;
} addrs[] = {
    { "127.0.0.1", 0, true }, { "127.1.2.3", 0, true }, { "::1", 0, true },
    { "localhost", 0, true }, { "::ffff:127.0.0.1", 0, true },
    { "0.0.0.0", 0, false }, { "::", 0, false }, { "10.1.2.3", 0, false },
    { "status.example.com", -EINVAL, false }, { "", -EINVAL, false },
    { "127.0.0.1:80", -EINVAL, false },
};

START_TEST(test_httpd_addresses_parse_and_loopback_is_known)
{
    struct sockaddr_storage sa;
    socklen_t len = 0;
    bool loopback = false;

    ck_assert_int_eq(httpd_addr_parse(addrs[_i].listen, 41180, &sa, &len,
                                      &loopback), addrs[_i].rc);
    if (addrs[_i].rc == 0)
        ck_assert_int_eq(loopback, addrs[_i].loopback);
}
END_TEST

/* ---- limits ---- */

START_TEST(test_httpd_huge_header_is_refused_and_the_listener_goes_on)
{
    struct strbuf req = STRBUF_INIT;
    struct resp r;

    strbuf_printf(&req, "GET / HTTP/1.1\r\nHost: %s\r\nX-Big: ", ADDR);
    for (int i = 0; i < 64 * 1024; i++)
        strbuf_putc(&req, 'a');
    strbuf_puts(&req, "\r\n\r\n");
    exchange(req.p, &r);
    ck_assert_msg(r.code == 431, "%u", r.code);
    resp_free(&r);
    strbuf_free(&req);
    ask("GET", "/healthz", NULL, &r);
    ck_assert_uint_eq(r.code, 200);
    resp_free(&r);
}
END_TEST

/* setup_limits - a listener that drops idle clients after 1 s and takes
 * two connections per address */
static void setup_limits(void)
{
    static const struct httpd_limits limits = { 8, 2, 1, 32 * 1024 };

    dir = tu_tmpdir();
    fake_reset();
    start(NULL, &limits);
}

/* setup_patient - two connections per address, idle ones kept 30 s */
static void setup_patient(void)
{
    static const struct httpd_limits limits = { 8, 2, 30, 32 * 1024 };

    dir = tu_tmpdir();
    fake_reset();
    start(NULL, &limits);
}

START_TEST(test_httpd_slow_client_is_dropped_and_others_served)
{
    int slow = connect_to(httpd_port(srv));
    struct resp r;

    ck_assert_int_eq(write(slow, "GET / HTTP/1.1\r\nHost: ", 22), 22);
    ask("GET", "/healthz", NULL, &r);       /* not held up by the slow one */
    ck_assert_uint_eq(r.code, 200);
    resp_free(&r);
    ck_assert_msg(closed_within(slow, IO_WAIT_MS), "an idle client was not "
                  "disconnected");
    close(slow);
}
END_TEST

START_TEST(test_httpd_connections_per_address_are_limited)
{
    int a = connect_to(httpd_port(srv)), b = connect_to(httpd_port(srv));
    int c = connect_to(httpd_port(srv));

    /* the third is closed at once (the idle timeout is 30 s): it gets no
     * reply */
    ck_assert_int_eq(write(c, "GET /healthz HTTP/1.0\r\n\r\n", 25), 25);
    char buf[64];
    struct pollfd p = { .fd = c, .events = POLLIN };
    ck_assert_int_eq(poll(&p, 1, IO_WAIT_MS), 1);
    ssize_t n = read(c, buf, sizeof(buf));
    ck_assert_msg(n <= 0, "the third connection was served: %.*s",
                  (int)(n > 0 ? n : 0), buf);
    close(a);
    close(b);
    close(c);
}
END_TEST

static TCase *httpd_tcase(const char *name, void (*set)(void))
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, set, teardown);
    tcase_set_timeout(tc, 30);
    return tc;
}

static Suite *httpd_suite(void)
{
    Suite *s = suite_create("httpd");
    TCase *tc;

    tc = httpd_tcase("routes", setup);
    tcase_add_test(tc, test_httpd_page_is_html_with_rows_and_csp);
    tcase_add_test(tc, test_httpd_json_reads_back);
    tcase_add_test(tc, test_httpd_metrics_are_prometheus_text);
    tcase_add_test(tc, test_httpd_healthz_is_200_then_503_with_the_reason);
    tcase_add_test(tc, test_httpd_head_has_headers_and_no_body);
    tcase_add_loop_test(tc, test_httpd_unknown_path_is_404, 0,
                        sizeof(unknown_paths) / sizeof(unknown_paths[0]));
    tcase_add_loop_test(tc, test_httpd_wrong_method_is_405_with_allow, 0,
                        sizeof(wrong_methods) / sizeof(wrong_methods[0]));
    suite_add_tcase(s, tc);

    tc = httpd_tcase("poll", setup);
    tcase_add_test(tc, test_httpd_poll_without_the_header_is_403);
    tcase_add_test(tc, test_httpd_poll_with_the_header_reaches_the_source);
    tcase_add_test(tc, test_httpd_poll_of_an_unknown_remote_is_404);
    tcase_add_test(tc, test_httpd_busy_host_is_503_for_pages_and_polls);
    suite_add_tcase(s, tc);

    tc = httpd_tcase("host", setup);
    tcase_add_loop_test(tc, test_httpd_without_token_only_ip_hosts_are_served,
                        0, sizeof(hosts) / sizeof(hosts[0]));
    tcase_add_test(tc, test_httpd_http10_without_host_is_served);
    suite_add_tcase(s, tc);

    tc = httpd_tcase("token", setup_token);
    tcase_add_test(tc, test_httpd_token_is_required_and_never_echoed);
    tcase_add_test(tc, test_httpd_bearer_and_basic_tokens_are_accepted);
    tcase_add_test(tc, test_httpd_token_reload_replaces_the_token);
    tcase_add_test(tc, test_httpd_token_never_reaches_the_log);
    suite_add_tcase(s, tc);

    tc = httpd_tcase("refusals", setup);
    tcase_add_test(tc, test_httpd_non_loopback_without_token_is_refused);
    tcase_add_loop_test(tc, test_httpd_bad_token_file_is_refused_by_name, 0,
                        sizeof(bad_tokens) / sizeof(bad_tokens[0]));
    tcase_add_test(tc, test_httpd_port_in_use_is_refused_with_advice);
    tcase_add_loop_test(tc, test_httpd_addresses_parse_and_loopback_is_known,
                        0, sizeof(addrs) / sizeof(addrs[0]));
    suite_add_tcase(s, tc);

    tc = httpd_tcase("limits", setup_limits);
    tcase_add_test(tc,
                   test_httpd_huge_header_is_refused_and_the_listener_goes_on);
    tcase_add_test(tc, test_httpd_slow_client_is_dropped_and_others_served);
    suite_add_tcase(s, tc);

    tc = httpd_tcase("connections", setup_patient);
    tcase_add_test(tc, test_httpd_connections_per_address_are_limited);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(httpd_suite());
}
