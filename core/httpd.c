/* httpd.c - the status listener: routes, access control, limits. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "hostconf.h"
#include "httpd.h"
#include "io.h"
#include "log.h"
#include "render_html.h"
#include "render_metrics.h"
#include "status.h"
#include "xalloc.h"

#define HTTPD_TOKEN_MAX 4096
#define HTTPD_NAME_MAX 255      /* a remote's name in a poll path */

struct httpd {
    struct MHD_Daemon *mhd;
    struct httpd_source src;
    unsigned port;
    bool loopback;
    char *where;                /* "127.0.0.1:41180", for messages */
    /* The token may be replaced by the main thread (SIGHUP) while the
     * listener thread compares it: both under `lock`. */
    pthread_mutex_t lock;
    char *token;                /* NULL: no token required */
};

/* ---- addresses ---- */

/* httpd_v4_loopback - 127.0.0.0/8 */
static bool httpd_v4_loopback(const struct in_addr *a)
{
    return (ntohl(a->s_addr) >> 24) == 127;
}

/* httpd_v6_loopback - ::1, or an IPv4-mapped 127.x address */
static bool httpd_v6_loopback(const struct in6_addr *a)
{
    if (IN6_IS_ADDR_LOOPBACK(a))
        return true;
    return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
}

int httpd_addr_parse(const char *listen, unsigned port,
                     struct sockaddr_storage *sa_r, socklen_t *len_r,
                     bool *loopback_r)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa_r;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa_r;

    memset(sa_r, 0, sizeof(*sa_r));
    if (listen == NULL || port > 65535)
        return -EINVAL;
    if (strcasecmp(listen, "localhost") == 0)
        listen = "127.0.0.1";
    if (inet_pton(AF_INET, listen, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len_r = sizeof(*v4);
        *loopback_r = httpd_v4_loopback(&v4->sin_addr);
        return 0;
    }
    if (inet_pton(AF_INET6, listen, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len_r = sizeof(*v6);
        *loopback_r = httpd_v6_loopback(&v6->sin6_addr);
        return 0;
    }
    return -EINVAL;
}

/* httpd_format_where - "127.0.0.1:41180" or "[::1]:41180" */
static char *httpd_format_where(const char *listen, unsigned port)
{
    return strchr(listen, ':') != NULL ? xasprintf("[%s]:%u", listen, port)
                                       : xasprintf("%s:%u", listen, port);
}

/* ---- the token ---- */

void httpd_token_free(char *token)
{
    if (token != NULL) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
}

/* httpd_token_warn_mode - a token readable by every user is no secret */
static void httpd_token_warn_mode(const char *path)
{
    struct stat sb;

    if (stat(path, &sb) == 0 && (sb.st_mode & S_IROTH) != 0)
        log_warning("status.token_file %s is readable by every user; "
                    "chmod o-r it (e.g. 0640, owned by root and the group "
                    "pandora_hostd runs as)", path);
}

int httpd_token_load(const char *path, char **token_r,
                     struct pandora_error *error_r)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = io_read_file(path, HTTPD_TOKEN_MAX, &buf, &len, error_r);

    if (rc < 0)
        return error_sys(error_r, rc, "cannot read status.token_file %s; "
                         "check the path and that this user may read it",
                         path);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    bool ok = len > 0 && strlen(buf) == len;
    for (size_t i = 0; ok && i < len; i++)
        ok = buf[i] > 0x20 && buf[i] < 0x7f;
    if (!ok) {
        explicit_bzero(buf, len);
        free(buf);
        return error_set(error_r, -EINVAL, "status.token_file %s must hold "
                         "one line of printable characters without spaces "
                         "(e.g. from: openssl rand -hex 32)", path);
    }
    httpd_token_warn_mode(path);
    *token_r = buf;
    return 0;
}

/* httpd_token_equal - compare in time that depends only on the expected
 * token's length, so a client cannot find the token byte by byte */
static bool httpd_token_equal(const char *given, size_t glen,
                              const char *token)
{
    size_t tlen = strlen(token);
    volatile unsigned char diff = glen != tlen;

    for (size_t i = 0; i < tlen; i++)
        diff |= (unsigned char)token[i] ^
                (unsigned char)(i < glen ? given[i] : 0);
    return diff == 0;
}

/* httpd_b64 - the value of one base64 character, or -1 */
static int httpd_b64(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* httpd_unbase64 - decode into out (size >= strlen(in)); -1 if invalid */
static ssize_t httpd_unbase64(const char *in, char *out)
{
    size_t n = 0;
    unsigned acc = 0, bits = 0;

    for (; *in != '\0' && *in != '='; in++) {
        int v = httpd_b64(*in);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)(acc >> bits & 0xff);
        }
    }
    return (ssize_t)n;
}

/* httpd_basic_ok - "Basic base64(user:token)": any user name */
static bool httpd_basic_ok(const char *b64, const char *token)
{
    size_t cap = strlen(b64) + 1;
    char *plain = xmalloc(cap);
    ssize_t n = httpd_unbase64(b64, plain);
    bool ok = false;

    if (n > 0) {
        char *colon = memchr(plain, ':', (size_t)n);
        if (colon != NULL)
            ok = httpd_token_equal(colon + 1, (size_t)(plain + n - colon - 1),
                                   token);
    }
    explicit_bzero(plain, cap);
    free(plain);
    return ok;
}

/* httpd_host_ok - without a token, only Host: <IP address>[:port] or
 * localhost[:port]: a DNS name that resolves to us is a rebinding page */
static bool httpd_host_ok(struct MHD_Connection *c)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_HOST);
    char name[64];
    unsigned char addr[sizeof(struct in6_addr)];

    if (host == NULL)
        return true;                /* HTTP/1.0: no name was used */
    const char *end = host[0] == '[' ? strchr(host, ']') : strchr(host, ':');
    size_t n = end != NULL ? (size_t)(end - host) : strlen(host);
    if (host[0] == '[' && end == NULL)
        return false;
    if (host[0] == '[') {
        host++;
        n--;
    }
    if (n == 0 || n >= sizeof(name))
        return false;
    memcpy(name, host, n);
    name[n] = '\0';
    return strcasecmp(name, "localhost") == 0 ||
           inet_pton(AF_INET, name, addr) == 1 ||
           inet_pton(AF_INET6, name, addr) == 1;
}

/* httpd_authorized - does the request carry the token (h->lock held)? */
static bool httpd_authorized(const struct httpd *h, struct MHD_Connection *c)
{
    const char *auth = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

    if (auth == NULL)
        return false;
    if (strncasecmp(auth, "Bearer ", 7) == 0)
        return httpd_token_equal(auth + 7, strlen(auth + 7), h->token);
    if (strncasecmp(auth, "Basic ", 6) == 0)
        return httpd_basic_ok(auth + 6, h->token);
    return false;
}

/* httpd_access - 0 when the request may go on, else the status to refuse
 * it with: 401 without the token, 403 for a foreign Host */
static unsigned httpd_access(struct httpd *h, struct MHD_Connection *c)
{
    unsigned code = 0;

    pthread_mutex_lock(&h->lock);
    if (h->token != NULL && !httpd_authorized(h, c))
        code = MHD_HTTP_UNAUTHORIZED;
    else if (h->token == NULL && !httpd_host_ok(c))
        code = MHD_HTTP_FORBIDDEN;
    pthread_mutex_unlock(&h->lock);
    return code;
}

/* ---- replies ---- */

/* httpd_common_headers - on every reply: no caching, no sniffing, no
 * framing, no referrer */
static void httpd_common_headers(struct MHD_Response *r, bool html)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy",
                            html ? RENDER_HTML_CSP
                                 : "default-src 'none'; "
                                   "frame-ancestors 'none'");
}

/* A reply: body is copied (MUST_COPY) or handed over (MUST_FREE). */
struct reply {
    unsigned code;
    const char *ctype;
    char *body;
    size_t len;
    bool owned;                 /* body is malloc'd and handed to MHD */
    const char *allow;          /* 405: the methods allowed */
    bool challenge;             /* 401: ask for credentials */
};

static enum MHD_Result httpd_send(struct MHD_Connection *c,
                                  const struct reply *rp)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        rp->len, rp->body,
        rp->owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);

    if (r == NULL) {
        if (rp->owned)
            free(rp->body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rp->ctype);
    httpd_common_headers(r, strncmp(rp->ctype, "text/html", 9) == 0);
    if (rp->allow != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rp->allow);
    if (rp->challenge) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"pandora_hostd\"");
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Basic realm=\"pandora_hostd\", "
                                "charset=\"UTF-8\"");
    }
    if (rp->code == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "2");
    enum MHD_Result ret = MHD_queue_response(c, rp->code, r);
    MHD_destroy_response(r);        /* MHD keeps its own reference */
    return ret;
}

/* httpd_text - a short text/plain reply (copied) */
static enum MHD_Result httpd_text(struct MHD_Connection *c, unsigned code,
                                  const char *text)
{
    struct reply rp = { code, "text/plain; charset=utf-8", (char *)text,
                        strlen(text), false, NULL, false };

    return httpd_send(c, &rp);
}

/* httpd_printable - s with control bytes as '?', bounded: safe to echo in
 * a reply and to log */
static char *httpd_printable(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *out = xstrndup(s, n);

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            out[i] = '?';
    return out;
}

/* ---- routes ---- */

enum httpd_route { R_NONE, R_PAGE, R_JSON, R_METRICS, R_HEALTH, R_POLL };

/* httpd_route_of - the route of a path; for R_POLL *name_r points at the
 * remote's name inside url and *name_len_r is its length */
static enum httpd_route httpd_route_of(const char *url, const char **name_r,
                                       size_t *name_len_r)
{
    static const char pre[] = "/remotes/", post[] = "/poll";
    size_t len = strlen(url);

    if (strcmp(url, "/") == 0)
        return R_PAGE;
    if (strcmp(url, "/status.json") == 0)
        return R_JSON;
    if (strcmp(url, "/metrics") == 0)
        return R_METRICS;
    if (strcmp(url, "/healthz") == 0)
        return R_HEALTH;
    if (len <= sizeof(pre) - 1 + sizeof(post) - 1 ||
        strncmp(url, pre, sizeof(pre) - 1) != 0 ||
        strcmp(url + len - (sizeof(post) - 1), post) != 0)
        return R_NONE;
    *name_r = url + sizeof(pre) - 1;
    *name_len_r = len - (sizeof(pre) - 1) - (sizeof(post) - 1);
    return memchr(*name_r, '/', *name_len_r) == NULL ? R_POLL : R_NONE;
}

/* httpd_render - a GET route from a fresh snapshot */
static enum MHD_Result httpd_render(struct httpd *h, struct MHD_Connection *c,
                                    enum httpd_route route)
{
    struct pandora_status *st = h->src.snapshot(h->src.cls);
    struct reply rp = { MHD_HTTP_OK, NULL, NULL, 0, true, NULL, false };
    time_t now = time(NULL);
    const char *reason = NULL;

    if (st == NULL)
        return httpd_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the host is "
                          "reloading its configuration; try again in a "
                          "moment\n");
    if (route == R_PAGE) {
        rp.ctype = RENDER_HTML_CONTENT_TYPE;
        render_html(st, now, HTTPD_PAGE_REFRESH, &rp.body, &rp.len);
    } else if (route == R_JSON) {
        rp.ctype = "application/json";
        status_to_json(st, now, &rp.body, &rp.len);
    } else if (route == R_METRICS) {
        rp.ctype = RENDER_METRICS_CONTENT_TYPE;
        render_metrics(st, now, &rp.body, &rp.len);
    } else {
        rp.ctype = "text/plain; charset=utf-8";
        bool up = status_healthy(st, &reason);
        rp.code = up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
        rp.body = up ? xstrdup("ok\n") : xasprintf("%s\n", reason);
        rp.len = strlen(rp.body);
    }
    status_free(st);
    return httpd_send(c, &rp);
}

/* httpd_poll - POST /remotes/<name>/poll */
static enum MHD_Result httpd_poll(struct httpd *h, struct MHD_Connection *c,
                                  const char *name, size_t len)
{
    const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  HTTPD_POLL_HEADER);

    if (hdr == NULL || strcmp(hdr, HTTPD_POLL_VALUE) != 0)
        return httpd_text(c, MHD_HTTP_FORBIDDEN, "a poll request needs the "
                          "header " HTTPD_POLL_HEADER ": " HTTPD_POLL_VALUE
                          " (use the page's button or pandora_hostd "
                          "--poll NAME)\n");
    if (len > HTTPD_NAME_MAX)
        return httpd_text(c, MHD_HTTP_NOT_FOUND, "no such remote\n");
    char *target = xstrndup(name, len);
    char *shown = httpd_printable(target, HTTPD_NAME_MAX);
    int rc = strlen(target) == len ? h->src.poll(h->src.cls, target)
                                   : -ENOENT;
    char *text = rc == 0 ? xasprintf("poll of %s requested\n", shown)
               : rc == -ENOENT ? xasprintf("no remote named %s; see "
                                           "pandora_hostd --status\n", shown)
               : xasprintf("the host is reloading its configuration; try "
                           "again in a moment\n");
    unsigned code = rc == 0 ? MHD_HTTP_ACCEPTED
                  : rc == -ENOENT ? MHD_HTTP_NOT_FOUND
                  : MHD_HTTP_SERVICE_UNAVAILABLE;
    if (rc == 0)
        log_info("status listener: poll of %s requested", shown);
    enum MHD_Result ret = httpd_text(c, code, text);
    free(text);
    free(shown);
    free(target);
    return ret;
}

/* httpd_method_ok - is method allowed on route? */
static bool httpd_method_ok(enum httpd_route route, const char *method)
{
    if (route == R_POLL)
        return strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
           strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* httpd_refuse - 405 with Allow */
static enum MHD_Result httpd_refuse(struct MHD_Connection *c,
                                    enum httpd_route route)
{
    const char *text = "method not allowed here\n";
    struct reply rp = { MHD_HTTP_METHOD_NOT_ALLOWED,
                        "text/plain; charset=utf-8", (char *)text,
                        strlen(text), false,
                        route == R_POLL ? "POST" : "GET, HEAD", false };

    return httpd_send(c, &rp);
}

/* httpd_unauthorized - 401 with both challenges */
static enum MHD_Result httpd_unauthorized(struct MHD_Connection *c)
{
    const char *text = "a token is required: send Authorization: Bearer "
                       "<the token in status.token_file>\n";
    struct reply rp = { MHD_HTTP_UNAUTHORIZED, "text/plain; charset=utf-8",
                        (char *)text, strlen(text), false, NULL, true };

    return httpd_send(c, &rp);
}

/*
 * httpd_handler - MHD's access handler, on the listener thread. It answers
 * on its first call for every request: MHD then closes the connection
 * after the reply, which keeps idle sockets down; a POST body is never read.
 */
static enum MHD_Result httpd_handler(void *cls, struct MHD_Connection *c,
                                     const char *url, const char *method,
                                     const char *version,
                                     const char *upload_data,
                                     size_t *upload_data_size, void **con_cls)
{
    struct httpd *h = cls;
    const char *name = NULL;
    size_t name_len = 0;
    enum httpd_route route = httpd_route_of(url, &name, &name_len);

    if (log_get_verbosity() >= LOG_V_DEBUG) {
        char *shown = httpd_printable(url, 200);
        log_debug("status listener: %s %s", method, shown);
        free(shown);
    }
    unsigned refused = httpd_access(h, c);
    if (refused == MHD_HTTP_FORBIDDEN)
        return httpd_text(c, MHD_HTTP_FORBIDDEN, "the Host header must be "
                          "an IP address or localhost (this listener has no "
                          "status.token_file)\n");
    if (refused != 0)
        return httpd_unauthorized(c);
    if (route == R_NONE)
        return httpd_text(c, MHD_HTTP_NOT_FOUND, "not found; try /, "
                          "/status.json, /metrics or /healthz\n");
    if (!httpd_method_ok(route, method))
        return httpd_refuse(c, route);
    if (route == R_POLL)
        return httpd_poll(h, c, name, name_len);
    return httpd_render(h, c, route);
}

/* httpd_mhd_log - MHD's own messages (bind errors, limits) into our log */
static void httpd_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];

    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    log_info("status listener: %s", buf);
}

/* ---- start and stop ---- */

/* httpd_listen_socket - bound and listening, so errors carry errno */
static int httpd_listen_socket(const struct sockaddr_storage *sa,
                               socklen_t len, int *fd_r)
{
    int one = 1;
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (sa->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)sa, len) < 0 ||
        listen(fd, 64) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    *fd_r = fd;
    return 0;
}

/* httpd_bound_port - the port the kernel gave the socket */
static unsigned httpd_bound_port(int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);

    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    if (sa.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    return ntohs(((struct sockaddr_in *)&sa)->sin_port);
}

/* httpd_check_conf - the address, and a token wherever others can reach */
static int httpd_check_conf(const struct hostconf_status *conf,
                            const char *file, struct sockaddr_storage *sa,
                            socklen_t *len, bool *loopback,
                            struct pandora_error *e)
{
    if (httpd_addr_parse(conf->listen, conf->port, sa, len, loopback) < 0)
        return error_set(e, -EINVAL, "%s: status.listen \"%s\" is not an IP "
                         "address; use e.g. 127.0.0.1, ::1 or 0.0.0.0",
                         file, conf->listen ? conf->listen : "");
    if (!*loopback && conf->token_file == NULL)
        return error_set(e, -EINVAL, "%s: status.listen \"%s\" is not a "
                         "loopback address, so status.token_file is "
                         "required; set it to a file holding a bearer token, "
                         "or listen on 127.0.0.1", file, conf->listen);
    return 0;
}

static struct MHD_Daemon *httpd_mhd_start(struct httpd *h, int fd,
                                          const struct httpd_limits *l)
{
    return MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG,
        0, NULL, NULL, httpd_handler, h,
        MHD_OPTION_EXTERNAL_LOGGER, httpd_mhd_log, h,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)l->connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)l->per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)l->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)l->memory,
        MHD_OPTION_END);
}

int httpd_start(const struct hostconf_status *conf, const char *conf_path,
                const struct httpd_limits *limits,
                const struct httpd_source *src, struct httpd **httpd_r,
                struct pandora_error *error_r)
{
    static const struct httpd_limits defaults = HTTPD_LIMITS_DEFAULT;
    const char *file = conf_path != NULL ? conf_path : "pandora_hostd.conf";
    struct sockaddr_storage sa;
    socklen_t len = 0;
    bool loopback = false;
    int fd = -1;
    int rc = httpd_check_conf(conf, file, &sa, &len, &loopback, error_r);

    if (rc < 0)
        return rc;
    struct httpd *h = xcalloc(1, sizeof(*h));
    h->src = *src;
    h->loopback = loopback;
    pthread_mutex_init(&h->lock, NULL);
    if (conf->token_file != NULL)
        rc = httpd_token_load(conf->token_file, &h->token, error_r);
    if (rc == 0 && (rc = httpd_listen_socket(&sa, len, &fd)) < 0)
        error_sys(error_r, rc, "cannot listen on %s:%u for the status page "
                  "(status.listen, status.port in %s); pick another "
                  "status.port, or set status.enabled = false", conf->listen,
                  conf->port, file);
    if (rc == 0) {
        h->port = httpd_bound_port(fd);
        h->where = httpd_format_where(conf->listen, h->port);
        h->mhd = httpd_mhd_start(h, fd, limits ? limits : &defaults);
        if (h->mhd == NULL) {
            /* no close(fd): MHD closes a given listen socket when it
             * fails to start (0.9.75), and the number may be reused */
            rc = error_set(error_r, -EIO, "cannot start the status listener "
                           "on %s (see the log above)", h->where);
        }
    }
    if (rc < 0) {
        httpd_stop(h);
        return rc;
    }
    *httpd_r = h;
    return 0;
}

unsigned httpd_port(const struct httpd *h)
{
    return h->port;
}

const char *httpd_address(const struct httpd *h)
{
    return h->where;
}

int httpd_token_reload(struct httpd *h, const char *token_file,
                       struct pandora_error *error_r)
{
    char *token = NULL;

    if (token_file == NULL && !h->loopback)
        return error_set(error_r, -EINVAL, "status.token_file is required "
                         "while the status listener is not on loopback; the "
                         "previous token stays");
    if (token_file != NULL) {
        int rc = httpd_token_load(token_file, &token, error_r);
        if (rc < 0)
            return rc;
    }
    pthread_mutex_lock(&h->lock);
    char *old = h->token;
    h->token = token;
    pthread_mutex_unlock(&h->lock);
    httpd_token_free(old);
    return 0;
}

void httpd_stop(struct httpd *h)
{
    if (h == NULL)
        return;
    if (h->mhd != NULL)
        MHD_stop_daemon(h->mhd);    /* joins the listener thread */
    httpd_token_free(h->token);
    pthread_mutex_destroy(&h->lock);
    free(h->where);
    free(h);
}
