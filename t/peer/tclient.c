/* tclient.c - lock-step Tentacle client shared by agentsim and baseline (test-only) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tclient.h"

#define TC_MAX_LINE 256                 /* longer reply lines are a protocol error */

/* tc_read_port_file - the port a peer wrote with --port-file */
int tc_read_port_file(const char *path, unsigned *port)
{
    char line[32] = "";
    unsigned long long v;
    FILE *f = fopen(path, "re");

    if (f == NULL)
        return -1;
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    if (parse_ull(line, 65535, &v) < 0 || v == 0)
        return -1;
    *port = (unsigned)v;
    return 0;
}

/* tc_now_us - monotonic microseconds */
long long tc_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* tc_name_ok - a name worth asking for: no invalid or control characters, <= 255 bytes */
bool tc_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];

        if (ch < 0x20 || ch == 0x7f || strchr("?[]/\\=+<>:;',*~", ch) != NULL)
            return false;
    }
    return true;
}

/* tc_init - an unconnected client */
void tc_init(struct tc *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* quickack - ask for an immediate ACK of what we just read (Linux resets it often) */
static void quickack(struct tc *c)
{
    int one = 1;

    if (c->quickack)
        setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* tls_pull - GnuTLS pull function: recv, then TCP_QUICKACK; a receive timeout is fatal */
static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
    struct tc *c = ptr;
    ssize_t n = recv(c->fd, buf, len, 0);

    if (n > 0)
        quickack(c);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        gnutls_transport_set_errno(c->s, ETIMEDOUT);
        return -1;
    }
    if (n < 0)
        gnutls_transport_set_errno(c->s, errno);
    return n;
}

/* tls_pull_timeout - GnuTLS wait function: poll our socket (the transport is not an fd) */
static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    struct tc *c = ptr;
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

    return poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

/* tls_push - GnuTLS push function: send without SIGPIPE */
static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
    struct tc *c = ptr;
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

    if (n < 0)
        gnutls_transport_set_errno(c->s, errno);
    return n;
}

/* tcp_connect - a blocking TCP connection with send/receive deadlines */
static int tcp_connect(struct tc *c, const struct tc_opts *o)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    struct timeval tv = { .tv_sec = o->timeout_ms / 1000,
                          .tv_usec = (suseconds_t)(o->timeout_ms % 1000) * 1000 };
    char port[16];
    int rc;

    snprintf(port, sizeof(port), "%u", o->port);
    rc = getaddrinfo(o->host, port, &hints, &res);
    if (rc != 0) {
        snprintf(c->err, sizeof(c->err), "cannot resolve %s: %s", o->host, gai_strerror(rc));
        return -1;
    }
    c->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        connect(c->fd, res->ai_addr, res->ai_addrlen) < 0) {
        snprintf(c->err, sizeof(c->err), "cannot connect to %s:%u: %s", o->host, o->port,
                 strerror(errno));
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return 0;
}

/* tls_creds - credentials: optional CA (chain check only) and client certificate */
static int tls_creds(struct tc *c, const struct tc_opts *o)
{
    int rc;

    if (gnutls_certificate_allocate_credentials(&c->cred) < 0)
        return -1;
    if (o->ca != NULL && (rc = gnutls_certificate_set_x509_trust_file(c->cred, o->ca,
                                                                       GNUTLS_X509_FMT_PEM)) <= 0) {
        snprintf(c->err, sizeof(c->err), "cannot load CA %s: %s", o->ca,
                 rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
        return -1;
    }
    if (o->cert != NULL && (rc = gnutls_certificate_set_x509_key_file2(
                                c->cred, o->cert, o->key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        snprintf(c->err, sizeof(c->err), "cannot load client cert %s / key %s: %s", o->cert,
                 o->key, gnutls_strerror(rc));
        return -1;
    }
    return 0;
}

/* tls_start - TLS 1.2/1.3 handshake over c->fd */
static int tls_start(struct tc *c, const struct tc_opts *o)
{
    const char *errpos = NULL;
    int rc;

    if (tls_creds(c, o) < 0 || gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL) < 0)
        return -1;
    gnutls_set_default_priority_append(c->s, "-VERS-TLS1.1:-VERS-TLS1.0", &errpos, 0);
    gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, c->cred);
    if (o->ca != NULL)
        gnutls_session_set_verify_cert(c->s, NULL, 0);
    gnutls_transport_set_ptr(c->s, c);
    gnutls_transport_set_pull_function(c->s, tls_pull);
    gnutls_transport_set_pull_timeout_function(c->s, tls_pull_timeout);
    gnutls_transport_set_push_function(c->s, tls_push);
    gnutls_handshake_set_timeout(c->s, o->timeout_ms);
    do {
        rc = gnutls_handshake(c->s);
    } while (rc < 0 && !gnutls_error_is_fatal(rc));
    if (rc < 0) {
        snprintf(c->err, sizeof(c->err), "TLS handshake with %s:%u failed: %s%s%s", o->host,
                 o->port, gnutls_strerror(rc), rc == GNUTLS_E_FATAL_ALERT_RECEIVED ? ": " : "",
                 rc == GNUTLS_E_FATAL_ALERT_RECEIVED
                     ? gnutls_alert_get_name(gnutls_alert_get(c->s)) : "");
        return -1;
    }
    return 0;
}

/* send_pass - PASS <md5(md5_raw(pwd)) hex>, expecting PASS OK */
static int send_pass(struct tc *c, const char *pwd)
{
    unsigned char raw[16], twice[16];
    char line[64], reply[TC_MAX_LINE + 1];
    int o = snprintf(line, sizeof(line), "PASS ");

    if (gnutls_hash_fast(GNUTLS_DIG_MD5, pwd, strlen(pwd), raw) < 0 ||
        gnutls_hash_fast(GNUTLS_DIG_MD5, raw, sizeof(raw), twice) < 0)
        return -1;
    for (int i = 0; i < 16; i++)
        o += snprintf(line + o, sizeof(line) - (size_t)o, "%02x", twice[i]);
    if (tc_command(c, line, reply, sizeof(reply)) < 0) {
        snprintf(c->err, sizeof(c->err), "remote closed after PASS: wrong password?");
        return -1;
    }
    if (strcmp(reply, "PASS OK") != 0) {
        snprintf(c->err, sizeof(c->err), "unexpected PASS reply");
        return -1;
    }
    return 0;
}

/* tc_connect - connect, TLS if asked, PASS if a password is set */
int tc_connect(struct tc *c, const struct tc_opts *o)
{
    c->quickack = o->quickack;
    c->off = c->len = 0;
    if (tcp_connect(c, o) < 0 || (o->tls && tls_start(c, o) < 0) ||
        (o->password != NULL && send_pass(c, o->password) < 0)) {
        char keep[sizeof(c->err)];

        memcpy(keep, c->err, sizeof(keep));
        tc_close(c, false);
        memcpy(c->err, keep, sizeof(keep));
        return -1;
    }
    return 0;
}

/* tc_close - QUIT (when asked and possible) and drop everything; no close_notify wait */
void tc_close(struct tc *c, bool quit)
{
    if (quit && c->fd >= 0)
        (void)tc_send(c, "QUIT\n", 5);
    if (c->s != NULL)
        gnutls_deinit(c->s);
    if (c->cred != NULL)
        gnutls_certificate_free_credentials(c->cred);
    if (c->fd >= 0)
        close(c->fd);
    tc_init(c);
}

/* tc_send - write all of data (one send/record when it fits) */
int tc_send(struct tc *c, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = c->s != NULL ? gnutls_record_send(c->s, p, len)
                                 : send(c->fd, p, len, MSG_NOSIGNAL);

        if (c->s != NULL && (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED))
            continue;
        if (c->s == NULL && n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(c->err, sizeof(c->err), "write failed: %s",
                     c->s != NULL ? gnutls_strerror((int)n) : strerror(errno));
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fill - read more into the buffer; 0 ok, -1 on EOF, timeout, error or alert */
static int fill(struct tc *c)
{
    ssize_t n;

    if (c->off > 0) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    for (;;) {
        if (c->s != NULL) {
            n = gnutls_record_recv(c->s, c->buf + c->len, sizeof(c->buf) - c->len);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                continue;               /* e.g. once per TLS 1.3 session ticket */
        } else {
            n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n > 0)
                quickack(c);
        }
        break;
    }
    if (n > 0) {
        c->len += (size_t)n;
        return 0;
    }
    if (n == 0 || (c->s != NULL && n == GNUTLS_E_PREMATURE_TERMINATION))
        snprintf(c->err, sizeof(c->err), "remote closed the connection");
    else if (c->s != NULL && n == GNUTLS_E_FATAL_ALERT_RECEIVED)
        snprintf(c->err, sizeof(c->err), "TLS alert from the remote: %s",
                 gnutls_alert_get_name(gnutls_alert_get(c->s)));
    else if (c->s != NULL)
        snprintf(c->err, sizeof(c->err), "read failed: %s", gnutls_strerror((int)n));
    else
        snprintf(c->err, sizeof(c->err), "read failed: %s",
                 errno == EAGAIN ? "timed out" : strerror(errno));
    return -1;
}

/* tc_line - one reply line without its "\n" (at most TC_MAX_LINE bytes) */
int tc_line(struct tc *c, char *out, size_t cap)
{
    for (;;) {
        char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);

        if (nl != NULL) {
            size_t n = (size_t)(nl - (c->buf + c->off));

            if (n >= cap || n > TC_MAX_LINE) {
                snprintf(c->err, sizeof(c->err), "reply line too long");
                return -1;
            }
            memcpy(out, c->buf + c->off, n);
            out[n] = '\0';
            c->off += n + 1;
            return 0;
        }
        if (c->len - c->off > TC_MAX_LINE) {
            snprintf(c->err, sizeof(c->err), "reply line too long");
            return -1;
        }
        if (fill(c) < 0)
            return -1;
    }
}

/* tc_read - exactly len payload bytes */
int tc_read(struct tc *c, void *out, size_t len)
{
    char *p = out;

    while (len > 0) {
        size_t have = c->len - c->off;

        if (have == 0) {
            if (fill(c) < 0)
                return -1;
            continue;
        }
        size_t n = have < len ? have : len;
        memcpy(p, c->buf + c->off, n);
        c->off += n;
        p += n;
        len -= n;
    }
    return 0;
}

/* tc_command - send one line (the "\n" is added), read the reply line */
int tc_command(struct tc *c, const char *line, char *reply, size_t cap)
{
    size_t n = strlen(line);
    char *msg = malloc(n + 1);
    int rc;

    if (msg == NULL)
        return -1;
    memcpy(msg, line, n);
    msg[n] = '\n';
    rc = tc_send(c, msg, n + 1);
    free(msg);
    if (rc < 0)
        return -1;
    return tc_line(c, reply, cap);
}
