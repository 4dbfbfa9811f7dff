/* statusclient.c - ask the running daemon's status listener (--status,
 * --poll): one HTTP/1.0 request over a plain socket. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "hostconf.h"
#include "httpd.h"
#include "io.h"
#include "render_table.h"
#include "status.h"
#include "statusclient.h"
#include "statusjson.h"
#include "strbuf.h"
#include "xalloc.h"

#define SC_REPLY_MAX (64u << 20)    /* a model of 10000 remotes fits */

/* Where the daemon is asked, for the request and for messages. */
struct sc_target {
    const struct hostconf *hc;
    const char *file;           /* pandora_hostd.conf, for messages */
    char host[INET6_ADDRSTRLEN + 8];    /* "127.0.0.1:41180" */
    struct sockaddr_storage sa;
    socklen_t sa_len;
};

struct sc_reply {
    unsigned code;
    char *raw;                  /* the whole reply */
    const char *body;           /* inside raw */
    size_t body_len;
};

/* sc_fail - "pandora_hostd: <text>" on stderr; returns `code` */
static int sc_fail(int code, const char *text)
{
    fprintf(stderr, "pandora_hostd: %s\n", text);
    return code;
}

/* sc_address - the listener's address; a wildcard is asked on loopback */
static int sc_address(struct sc_target *t, struct pandora_error *e)
{
    const struct hostconf_status *c = &t->hc->status;
    struct sockaddr_storage *sa = &t->sa;
    socklen_t *len = &t->sa_len;
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
    char ip[INET6_ADDRSTRLEN];
    bool loopback;

    if (httpd_addr_parse(c->listen, c->port, sa, len, &loopback) < 0)
        return error_set(e, -EINVAL, "%s: status.listen \"%s\" is not an IP "
                         "address", t->file, c->listen);
    if (sa->ss_family == AF_INET && v4->sin_addr.s_addr == htonl(INADDR_ANY))
        v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sa->ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr))
        v6->sin6_addr = in6addr_loopback;
    if (sa->ss_family == AF_INET)
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
    else
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
    snprintf(t->host, sizeof(t->host), sa->ss_family == AF_INET6
             ? "[%s]:%u" : "%s:%u", ip, c->port);
    return 0;
}

/* sc_connect_wait - finish a non-blocking connect within the timeout */
static int sc_connect_wait(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int err = 0;
    socklen_t len = sizeof(err);

    int n = poll(&p, 1, STATUSCLIENT_TIMEOUT * 1000);
    if (n == 0)
        return -ETIMEDOUT;
    if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

/* sc_connect - a connected socket with send/receive timeouts */
static int sc_connect(struct sc_target *t, int *fd_r, struct pandora_error *e)
{
    struct timeval tv = { .tv_sec = STATUSCLIENT_TIMEOUT };
    int fd = socket(t->sa.ss_family,
                    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0)
        return error_sys(e, -errno, "cannot create a socket");
    int rc = connect(fd, (struct sockaddr *)&t->sa, t->sa_len) == 0 ? 0
                                                                    : -errno;
    if (rc == -EINPROGRESS)
        rc = sc_connect_wait(fd);
    if (rc == 0 && fcntl(fd, F_SETFL, 0) < 0)
        rc = -errno;
    if (rc < 0) {
        close(fd);
        return error_sys(e, rc, "cannot reach pandora_hostd's status "
                         "listener at %s (status.listen, status.port in %s); "
                         "start pandora_hostd, or check those settings",
                         t->host, t->file);
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    *fd_r = fd;
    return 0;
}

/* sc_read_all - the reply until the server closes, bounded */
static int sc_read_all(int fd, struct strbuf *in)
{
    char buf[16384];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT
                                                           : -errno;
        if (in->len + (size_t)n > SC_REPLY_MAX)
            return -EFBIG;
        strbuf_put(in, buf, (size_t)n);
    }
}

/* sc_parse - status code and body of a raw reply */
static int sc_parse(struct sc_reply *r, size_t len)
{
    const char *end = r->raw != NULL ? strstr(r->raw, "\r\n\r\n") : NULL;

    if (end == NULL || strncmp(r->raw, "HTTP/1.", 7) != 0 || len < 12 ||
        r->raw[8] != ' ')
        return -EBADMSG;
    r->code = (unsigned)strtoul(r->raw + 9, NULL, 10);
    r->body = end + 4;
    r->body_len = len - (size_t)(r->body - r->raw);
    return r->code >= 100 && r->code <= 599 ? 0 : -EBADMSG;
}

/* sc_request_text - the request; it may hold the token: wipe it after */
static int sc_request_text(const struct sc_target *t, const char *method,
                           const char *path, const char *extra,
                           struct strbuf *req, struct pandora_error *e)
{
    char *token = NULL;
    const char *tf = t->hc->status.token_file;

    if (tf != NULL) {
        int rc = httpd_token_load(tf, &token, e);
        if (rc < 0)
            return rc;
    }
    strbuf_printf(req, "%s %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: "
                  "pandora_hostd/%s\r\nConnection: close\r\n%s", method,
                  path, t->host, PACKAGE_VERSION, extra);
    if (token != NULL) {
        strbuf_puts(req, "Authorization: Bearer ");
        strbuf_puts(req, token);
        strbuf_puts(req, "\r\n");
        httpd_token_free(token);
    }
    strbuf_puts(req, "\r\n");
    return 0;
}

/* sc_request - one request and its whole reply */
static int sc_request(struct sc_target *t, const char *method,
                      const char *path, const char *extra,
                      struct sc_reply *r, struct pandora_error *e)
{
    struct strbuf req = STRBUF_INIT, in = STRBUF_INIT;
    int fd = -1;
    int rc = sc_request_text(t, method, path, extra, &req, e);

    if (rc == 0)
        rc = sc_connect(t, &fd, e);
    if (rc == 0 && (rc = io_write_all(fd, req.p, req.len)) < 0)
        error_sys(e, rc, "cannot send the request to %s", t->host);
    if (rc == 0 && (rc = sc_read_all(fd, &in)) < 0)
        error_sys(e, rc, "no complete reply from the status listener at %s",
                  t->host);
    if (fd >= 0)
        close(fd);
    if (req.p != NULL)
        explicit_bzero(req.p, req.len);
    strbuf_free(&req);
    size_t len = in.len;
    r->raw = strbuf_take(&in, NULL);
    if (rc == 0 && (rc = sc_parse(r, len)) < 0)
        error_set(e, rc, "the reply from %s is not HTTP; is status.port "
                  "another service's port?", t->host);
    return rc;
}

/* sc_target_init - where to ask, or why not */
static int sc_target_init(struct sc_target *t, const struct hostconf *hc,
                          struct pandora_error *e)
{
    t->hc = hc;
    t->file = hc->path != NULL ? hc->path
                               : "pandora_hostd.conf (not found: defaults)";
    if (!hc->status.enabled)
        return error_set(e, -ENOTCONN, "the status listener is disabled in "
                         "%s (status.enabled = false); enable it and reload "
                         "pandora_hostd to use --status and --poll", t->file);
    return sc_address(t, e);
}

/* sc_refused - a message for a reply other than the expected one */
static int sc_refused(const struct sc_target *t, const struct sc_reply *r,
                      int code)
{
    struct pandora_error e = { "" };
    size_t n = strcspn(r->body, "\r\n");

    if (r->code == 401)
        error_set(&e, 0, "the status listener at %s refused the token from "
                  "status.token_file %s; the daemon reads it at start and "
                  "on SIGHUP", t->host, t->hc->status.token_file
                  ? t->hc->status.token_file : "(none set)");
    else if (r->code == 503)
        error_set(&e, 0, "pandora_hostd is busy (%.*s)", (int)(n > 120 ? 120
                  : n), r->body);
    else
        error_set(&e, 0, "the status listener at %s answered %u: %.*s",
                  t->host, r->code, (int)(n > 160 ? 160 : n), r->body);
    return sc_fail(code, e.text);
}

/* sc_show - the model as a table or the JSON as received */
static int sc_show(const struct sc_reply *r, bool json, FILE *out)
{
    struct pandora_error e = { "" };
    struct pandora_status *st = NULL;
    const char *term = getenv("TERM");

    if (status_from_json(r->body, r->body_len, &st, &e) < 0)
        return sc_fail(STATUSCLIENT_UNREACHABLE, e.text);
    unsigned problems = render_table_problems(st);
    if (json) {
        fwrite(r->body, 1, r->body_len, out);
        fputc('\n', out);
    } else {
        unsigned flags = isatty(fileno(out)) && getenv("NO_COLOR") == NULL &&
                         term != NULL && strcmp(term, "dumb") != 0
                             ? RENDER_TABLE_COLOR : 0;
        char *text = NULL;
        render_table(st, time(NULL), flags, &text, NULL);
        fputs(text, out);
        free(text);
    }
    status_free(st);
    return problems > 0 ? STATUSCLIENT_PROBLEM : STATUSCLIENT_OK;
}

int statusclient_status(const struct hostconf *hc, bool json, FILE *out)
{
    struct pandora_error e = { "" };
    struct sc_target t;
    struct sc_reply r = { 0 };
    int rc = sc_target_init(&t, hc, &e);

    if (rc == 0)
        rc = sc_request(&t, "GET", "/status.json", "", &r, &e);
    if (rc < 0)
        rc = sc_fail(STATUSCLIENT_UNREACHABLE, e.text);
    else if (r.code != 200)
        rc = sc_refused(&t, &r, STATUSCLIENT_UNREACHABLE);
    else
        rc = sc_show(&r, json, out);
    free(r.raw);
    return rc;
}

/* sc_path_escape - a remote's name as one path segment */
static void sc_path_escape(struct strbuf *sb, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
            strbuf_putc(sb, (char)c);
        else
            strbuf_printf(sb, "%%%02X", c);
    }
}

int statusclient_poll(const struct hostconf *hc, const char *name, FILE *out)
{
    struct pandora_error e = { "" };
    struct strbuf path = STRBUF_INIT;
    struct sc_target t;
    struct sc_reply r = { 0 };
    int rc = sc_target_init(&t, hc, &e);

    strbuf_puts(&path, "/remotes/");
    sc_path_escape(&path, name);
    strbuf_puts(&path, "/poll");
    if (rc == 0)
        rc = sc_request(&t, "POST", path.p, HTTPD_POLL_HEADER ": "
                        HTTPD_POLL_VALUE "\r\nContent-Length: 0\r\n", &r, &e);
    if (rc < 0) {
        rc = sc_fail(STATUSCLIENT_UNREACHABLE, e.text);
    } else if (r.code == 202) {
        fwrite(r.body, 1, r.body_len, out);
        rc = STATUSCLIENT_OK;
    } else {
        rc = sc_refused(&t, &r, r.code == 404 ? STATUSCLIENT_PROBLEM
                                              : STATUSCLIENT_UNREACHABLE);
    }
    free(r.raw);
    strbuf_free(&path);
    return rc;
}
