/*
 * tentacle.c - the Tentacle protocol client: one connection, lock-step.
 *
 * The wire facts are in PROTOCOL.md; the comments here only say why the
 * code is shaped as it is. In short: the stock server takes everything it
 * has read up to a final "\n" as one command, so we never send a line
 * before the previous reply is complete; it explains nothing (a refusal is
 * a silent close), so we track where a close happened and, at the first
 * command, probe to tell a missing -I from a password or TLS problem; it
 * writes MV payloads one line per write() without TCP_NODELAY, so we set
 * TCP_QUICKACK after every read or each MV stalls ~40 ms on delayed ACKs.
 *
 * Every wait is a poll() on a non-blocking socket with a deadline of
 * timeout_ms from the last progress; a transfer also has an overall
 * deadline (timeout_ms plus its size at 64 KiB/s) so a remote dripping a
 * byte now and then cannot hold a connection forever.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tentacle.h"

#define REPLY_MAX 256                   /* longest reply line we accept   */
#define NAME_MAX_LEN 255
#define LS_MAX_BYTES (64ULL << 20)
#define FLOOR_RATE 65536ULL             /* bytes/s a transfer must keep   */
#define BLOCK_MIN 1024
#define BLOCK_MAX (1U << 20)
#define TIMEOUT_DEFAULT_MS 10000
#define TLS_PROBE_MAX_MS 3000           /* a TLS server answers in 1 RTT  */
#define PROBE_NAME "sync-probe.none"

/* Low-level I/O results besides a byte count. */
enum { IO_EOF = -1, IO_TIMEOUT = -2, IO_FAILED = -3 /* err is filled */ };

/* Where a reply was awaited, to explain a silent close. */
enum stage { ST_PASS, ST_COMMAND };

struct tn_conn {
    const struct tn_remote *r;
    char label[128];
    int fd;
    gnutls_session_t tls;               /* NULL: plain, or already closed  */
    bool tls_used;
    struct tls_facts facts;
    bool alive;
    bool eof;                           /* the remote closed (seen early)  */
    bool authed;                        /* PASS OK received                */
    bool probing;                       /* a probe: explain nothing        */
    unsigned long replies;              /* command replies (PASS excluded) */
    unsigned long long rx;              /* raw bytes received              */
    int first_byte;                     /* first raw byte received, or -1  */
    int sys_errno;                      /* errno of the last failed pull/push */
    unsigned timeout_ms;
    long long op_deadline;              /* whole-transfer deadline, 0 none */
    char *buf;                          /* reads: lines, then payload      */
    size_t cap, off, len;
};

static const char invalid_chars[] = "?[]/\\=+<>:;',*~";

/* now_ms - monotonic milliseconds */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* step_deadline - a wait starting now: timeout_ms, within the transfer's */
static long long step_deadline(const struct tn_conn *c)
{
    long long d = now_ms() + c->timeout_ms;

    return c->op_deadline != 0 && c->op_deadline < d ? c->op_deadline : d;
}

/* transfer_ms - the extra time allowed for size bytes at FLOOR_RATE */
static long long transfer_ms(uint64_t size)
{
    return (long long)(size / FLOOR_RATE * 1000 + size % FLOOR_RATE * 1000 / FLOOR_RATE);
}

/* wait_fd - poll fd until events or deadline: 1 ready, 0 timeout, -1 errno */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        struct pollfd p = { .fd = fd, .events = events };
        int r;

        if (left <= 0)
            return 0;
        r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (r > 0)
            return 1;                   /* POLLERR/POLLHUP too: the call says */
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* quickack - ACK the next segment at once (see the file comment) */
static void quickack(int fd)
{
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* vset_err - "<label>: <text>" into err; the return value fits the kind */
static int vset_err(struct tn_error *err, const char *label, enum tn_kind kind,
                    const char *fmt, va_list ap)
{
    int n = snprintf(err->text, sizeof(err->text), "%s: ", label);

    if (n < 0 || (size_t)n >= sizeof(err->text))
        n = (int)strlen(err->text);
    vsnprintf(err->text + n, sizeof(err->text) - (size_t)n, fmt, ap);
    err->kind = kind;
    return kind >= TN_F_MISSING ? TN_FILE : TN_FAIL;
}

/* conn_kill - drop the socket without a word: the connection is dead */
static void conn_kill(struct tn_conn *c)
{
    if (c->tls != NULL)
        gnutls_deinit(c->tls);          /* never bye(SHUT_RDWR): it can hang */
    c->tls = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->alive = false;
}

/* fail - a connection-level failure: kill, fill err, TN_FAIL */
__attribute__((format(printf, 4, 5)))
static int fail(struct tn_conn *c, struct tn_error *err, enum tn_kind kind, const char *fmt, ...)
{
    va_list ap;

    conn_kill(c);
    va_start(ap, fmt);
    vset_err(err, c->label, kind, fmt, ap);
    va_end(ap);
    return TN_FAIL;
}

/* file_err - one file refused; the connection state is left as it is */
__attribute__((format(printf, 4, 5)))
static int file_err(struct tn_conn *c, struct tn_error *err, enum tn_kind kind,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset_err(err, c->label, kind, fmt, ap);
    va_end(ap);
    return TN_FILE;
}

/* io_failed - an I/O error that is not a plain close: IO_FAILED with err */
__attribute__((format(printf, 4, 5)))
static int io_failed(struct tn_conn *c, struct tn_error *err, enum tn_kind kind,
                     const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset_err(err, c->label, kind, fmt, ap);
    va_end(ap);
    return IO_FAILED;
}

/* is_reset - errnos that mean the remote closed: part of the silent close */
static bool is_reset(int e)
{
    return e == ECONNRESET || e == EPIPE || e == ECONNABORTED;
}

/* ---- TLS transport: our own pull/push so every read sets TCP_QUICKACK ---- */

/* note_rx - count received bytes and keep the first one (TLS or not?) */
static void note_rx(struct tn_conn *c, const void *buf, ssize_t n)
{
    if (n <= 0)
        return;
    if (c->rx == 0)
        c->first_byte = *(const unsigned char *)buf;
    c->rx += (unsigned long long)n;
    quickack(c->fd);
}

/* tls_pull - GnuTLS reads through here: recv(), then TCP_QUICKACK */
static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
    struct tn_conn *c = ptr;
    ssize_t n = recv(c->fd, buf, len, 0);

    if (n < 0) {
        c->sys_errno = errno;
        gnutls_transport_set_errno(c->tls, errno);
    }
    note_rx(c, buf, n);
    return n;
}

/* tls_push - GnuTLS writes through here; MSG_NOSIGNAL, a close is EPIPE */
static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
    struct tn_conn *c = ptr;
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

    if (n < 0) {
        c->sys_errno = errno;
        gnutls_transport_set_errno(c->tls, errno);
    }
    return n;
}

/* tls_pull_timeout - GnuTLS asks this only with its own timeouts, which we
 * leave off; provided so it never polls a wrong descriptor */
static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    struct tn_conn *c = ptr;
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    int r;

    do
        r = poll(&p, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)(ms > INT_MAX ? INT_MAX : ms));
    while (r < 0 && errno == EINTR);
    return r;
}

/* tls_wait - wait for the direction GnuTLS is blocked on */
static int tls_wait(struct tn_conn *c, long long deadline)
{
    return wait_fd(c->fd, gnutls_record_get_direction(c->tls) == 1 ? POLLOUT : POLLIN, deadline);
}

/* has_client_cert - whether our credentials carry a client certificate */
static bool has_client_cert(const struct tn_conn *c)
{
    return c->r->tls != NULL && tls_cred_client_expiry(c->r->tls) != 0;
}

/* alert_error - a fatal alert from the remote, mapped to what it means */
static int alert_error(struct tn_conn *c, struct tn_error *err)
{
    gnutls_alert_description_t a = gnutls_alert_get(c->tls);
    const char *name = gnutls_alert_get_name(a);
    bool asked = gnutls_certificate_client_get_request_status(c->tls) != 0;

    if (name == NULL)
        name = "unknown alert";
    switch (a) {
    case GNUTLS_A_CERTIFICATE_REQUIRED:
        return io_failed(c, err, TN_E_CERT_REQUIRED,
                         "remote requires a client certificate (set sync_cert/sync_key)");
    case GNUTLS_A_UNKNOWN_CA:
        return io_failed(c, err, TN_E_UNKNOWN_CA,
                         "remote rejected our certificate (unknown CA): use one signed by "
                         "the CA of its -f option");
    case GNUTLS_A_BAD_CERTIFICATE:
    case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
    case GNUTLS_A_CERTIFICATE_REVOKED:
    case GNUTLS_A_CERTIFICATE_EXPIRED:
    case GNUTLS_A_CERTIFICATE_UNKNOWN:
    case GNUTLS_A_ACCESS_DENIED:
        if (!has_client_cert(c))
            return io_failed(c, err, TN_E_CERT_REQUIRED,
                             "remote requires a client certificate (set sync_cert/sync_key); "
                             "alert: %s", name);
        return io_failed(c, err, TN_E_UNKNOWN_CA, "remote rejected our certificate: %s", name);
    case GNUTLS_A_HANDSHAKE_FAILURE:
        if (asked && !has_client_cert(c))  /* TLS 1.2 says "no cert" so */
            return io_failed(c, err, TN_E_CERT_REQUIRED,
                             "remote requires a client certificate (set sync_cert/sync_key)");
        break;
    default:
        break;
    }
    return io_failed(c, err, TN_E_TLS, "remote sent the TLS alert \"%s\"", name);
}

/* untrusted - the remote's certificate failed our verification */
static int untrusted(struct tn_conn *c, struct tn_error *err)
{
    unsigned int status = gnutls_session_get_verify_cert_status(c->tls);
    gnutls_datum_t out = { NULL, 0 };
    int rc;

    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) < 0)
        out.data = NULL;
    while (out.data != NULL && out.size > 0 && (out.data[out.size - 1] == ' ' ||
                                                out.data[out.size - 1] == '\0'))
        out.data[--out.size] = '\0';   /* it ends in ".  " */
    rc = io_failed(c, err, TN_E_UNTRUSTED,
                   "remote certificate not trusted: %s (check sync_ca, sync_crl, sync_verify_name)",
                   out.data != NULL ? (const char *)out.data : "verification failed");
    gnutls_free(out.data);
    return rc;
}

/* looks_tls - whether the first byte received starts a TLS record */
static bool looks_tls(const struct tn_conn *c)
{
    return c->first_byte == 0x15 || c->first_byte == 0x16;   /* alert, handshake */
}

/* handshake_error - why a handshake failed, from what the remote did */
static int handshake_error(struct tn_conn *c, int rc, struct tn_error *err)
{
    bool asked = gnutls_certificate_client_get_request_status(c->tls) != 0;

    if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
        return untrusted(c, err);
    if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED)
        return alert_error(c, err);
    if (c->rx == 0 || !looks_tls(c))
        return io_failed(c, err, TN_E_NOT_TLS,
                         "no TLS answer: remote not using TLS (drop sync_ca/sync_cert/sync_key "
                         "for it)");
    if (rc == GNUTLS_E_PREMATURE_TERMINATION || rc == GNUTLS_E_PULL_ERROR ||
        rc == GNUTLS_E_PUSH_ERROR) {
        if (asked && has_client_cert(c))
            return io_failed(c, err, TN_E_UNKNOWN_CA,
                             "remote closed after our certificate: it rejected it (unknown CA?)");
        if (asked)
            return io_failed(c, err, TN_E_CERT_REQUIRED,
                             "remote requires a client certificate (set sync_cert/sync_key)");
    }
    return io_failed(c, err, TN_E_TLS, "TLS handshake failed: %s", gnutls_strerror(rc));
}

/* handshake - run the handshake under one deadline; IO_* or 0 */
static int handshake(struct tn_conn *c, struct tn_error *err)
{
    long long deadline = now_ms() + c->timeout_ms;

    for (;;) {
        int rc = gnutls_handshake(c->tls), w;

        if (rc == 0)
            return 0;
        if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED) {
            if (!gnutls_error_is_fatal(rc) && now_ms() < deadline)
                continue;               /* a warning alert: go on */
            return handshake_error(c, rc, err);
        }
        w = tls_wait(c, deadline);
        if (w == 0 && c->rx == 0)
            return io_failed(c, err, TN_E_NOT_TLS,
                             "no TLS answer within %u ms: remote not using TLS, or all its -c "
                             "slots busy", c->timeout_ms);
        if (w == 0)
            return io_failed(c, err, TN_E_TIMEOUT, "TLS handshake unfinished after %u ms",
                             c->timeout_ms);
        if (w < 0)
            return io_failed(c, err, TN_E_LOCAL, "poll failed: %s", strerror(errno));
    }
}

/* is_ip_literal - never send SNI for an address (RFC 6066) */
static bool is_ip_literal(const char *name)
{
    struct in_addr a4;

    return strchr(name, ':') != NULL || inet_pton(AF_INET, name, &a4) == 1;
}

/* tls_session - a client session on c->fd with our transport functions */
static int tls_session(struct tn_conn *c, gnutls_certificate_credentials_t x509,
                       struct tn_error *err)
{
    const char *errpos = NULL;
    int rc = gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);

    if (rc < 0) {
        c->tls = NULL;
        return io_failed(c, err, TN_E_LOCAL, "gnutls_init failed: %s", gnutls_strerror(rc));
    }
    /* the default priority still allows TLS 1.0 on some systems; the stock
     * server only speaks 1.2 and 1.3 */
    rc = gnutls_set_default_priority_append(c->tls, "-VERS-TLS1.1:-VERS-TLS1.0", &errpos, 0);
    if (rc == 0)
        rc = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, x509);
    if (rc < 0)
        return io_failed(c, err, TN_E_LOCAL, "TLS setup failed: %s", gnutls_strerror(rc));
    gnutls_transport_set_ptr(c->tls, c);
    gnutls_transport_set_pull_function(c->tls, tls_pull);
    gnutls_transport_set_push_function(c->tls, tls_push);
    gnutls_transport_set_pull_timeout_function(c->tls, tls_pull_timeout);
    gnutls_handshake_set_timeout(c->tls, 0);    /* our deadline rules */
    return 0;
}

/* tls_start - session, verification, SNI, handshake, facts */
static int tls_start(struct tn_conn *c, struct tn_error *err)
{
    const struct tn_remote *r = c->r;
    const char *sni = r->verify_name != NULL ? r->verify_name : r->host;
    int rc = tls_session(c, tls_cred_gnutls(r->tls), err);

    c->tls_used = true;
    if (rc < 0)
        return rc;
    /* verify_name is borrowed for the connection's life, as GnuTLS needs */
    if (tls_cred_verifies(r->tls))
        gnutls_session_set_verify_cert(c->tls, r->verify_name, 0);
    if (!is_ip_literal(sni))
        gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, sni, strlen(sni));
    rc = handshake(c, err);
    if (rc == 0)
        tls_session_facts(c->tls, tls_cred_verifies(r->tls), &c->facts);
    return rc;
}

/* ---- byte I/O under deadlines ---- */

/* plain_recv - one recv(); bytes, IO_EOF, IO_TIMEOUT or IO_FAILED */
static ssize_t plain_recv(struct tn_conn *c, void *buf, size_t len, long long deadline,
                          struct tn_error *err)
{
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        int w;

        if (n > 0) {
            note_rx(c, buf, n);
            return n;
        }
        if (n == 0 || is_reset(errno))
            return IO_EOF;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return io_failed(c, err, TN_E_CLOSED, "connection lost: %s", strerror(errno));
        w = wait_fd(c->fd, POLLIN, deadline);
        if (w == 0)
            return IO_TIMEOUT;
        if (w < 0)
            return io_failed(c, err, TN_E_LOCAL, "poll failed: %s", strerror(errno));
    }
}

/* tls_recv - one gnutls_record_recv(), looping on AGAIN (TLS 1.3 tickets
 * give spurious ones); alerts are checked on every read because TLS 1.3
 * reports a refused client certificate only here */
static ssize_t tls_recv(struct tn_conn *c, void *buf, size_t len, long long deadline,
                        struct tn_error *err)
{
    for (;;) {
        ssize_t n = gnutls_record_recv(c->tls, buf, len);
        int w;

        if (n > 0)
            return n;
        if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
            return IO_EOF;              /* payloads are length-framed */
        if (n == GNUTLS_E_FATAL_ALERT_RECEIVED)
            return alert_error(c, err);
        if (n == GNUTLS_E_PULL_ERROR && is_reset(c->sys_errno))
            return IO_EOF;
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            if (gnutls_record_check_pending(c->tls) > 0)
                continue;
            w = tls_wait(c, deadline);
            if (w == 0)
                return IO_TIMEOUT;
            if (w < 0)
                return io_failed(c, err, TN_E_LOCAL, "poll failed: %s", strerror(errno));
            continue;
        }
        if (!gnutls_error_is_fatal((int)n) && now_ms() < deadline)
            continue;                   /* warning alert, rehandshake request */
        if (!gnutls_error_is_fatal((int)n))
            return IO_TIMEOUT;
        return io_failed(c, err, TN_E_TLS, "TLS receive failed: %s", gnutls_strerror((int)n));
    }
}

/* conn_recv - at most len bytes, waiting until timeout_ms after the last
 * progress (or the transfer deadline) */
static ssize_t conn_recv(struct tn_conn *c, void *buf, size_t len, struct tn_error *err)
{
    long long deadline = step_deadline(c);

    if (c->eof)
        return IO_EOF;
    if (c->tls != NULL)
        return tls_recv(c, buf, len, deadline, err);
    return plain_recv(c, buf, len, deadline, err);
}

/* send_some - one send attempt; bytes, 0 (retry after waiting), or IO_* */
static ssize_t send_some(struct tn_conn *c, const char *p, size_t len, struct tn_error *err)
{
    ssize_t n;

    if (c->tls == NULL) {
        n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return n > 0 ? n : 0;
        if (is_reset(errno))
            return IO_EOF;
        return io_failed(c, err, TN_E_CLOSED, "connection lost: %s", strerror(errno));
    }
    n = gnutls_record_send(c->tls, p, len);
    if (n >= 0 || n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        return n > 0 ? n : 0;
    if (n == GNUTLS_E_PUSH_ERROR && is_reset(c->sys_errno))
        return IO_EOF;
    return io_failed(c, err, TN_E_TLS, "TLS send failed: %s", gnutls_strerror((int)n));
}

/* conn_send - all of data; a deadline of timeout_ms from the last progress.
 * After GNUTLS_E_AGAIN the same pointer and length are passed again, as
 * GnuTLS requires. */
static int conn_send(struct tn_conn *c, const void *data, size_t len, struct tn_error *err)
{
    const char *p = data;
    long long deadline = step_deadline(c);

    while (len > 0) {
        ssize_t n = send_some(c, p, len, err);
        int w;

        if (n < 0)
            return (int)n;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            deadline = step_deadline(c);
            continue;
        }
        w = c->tls != NULL ? tls_wait(c, deadline) : wait_fd(c->fd, POLLOUT, deadline);
        if (w == 0)
            return IO_TIMEOUT;
        if (w < 0)
            return io_failed(c, err, TN_E_LOCAL, "poll failed: %s", strerror(errno));
    }
    return 0;
}

/* tls_check_quiet - the TLS side of check_quiet */
static int tls_check_quiet(struct tn_conn *c, struct tn_error *err)
{
    char b;
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    ssize_t n;

    if (gnutls_record_check_pending(c->tls) > 0)
        return io_failed(c, err, TN_E_PROTOCOL, "protocol error: remote sent unasked data");
    if (poll(&p, 1, 0) <= 0)
        return 0;
    n = gnutls_record_recv(c->tls, &b, 1);
    if (n > 0)
        return io_failed(c, err, TN_E_PROTOCOL, "protocol error: remote sent unasked data");
    if (n == GNUTLS_E_FATAL_ALERT_RECEIVED)
        return alert_error(c, err);
    if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION ||
        (n == GNUTLS_E_PULL_ERROR && is_reset(c->sys_errno)))
        c->eof = true;
    return 0;                           /* AGAIN: a session ticket was read */
}

/* check_quiet - before a command: nothing may be waiting from the remote.
 * Extra bytes mean it sent more than it announced; a close (idle expiry,
 * or a TLS 1.3 alert for our certificate) is noted for the explanation. */
static int check_quiet(struct tn_conn *c, struct tn_error *err)
{
    char b;
    ssize_t n;

    if (c->off < c->len)
        return io_failed(c, err, TN_E_PROTOCOL,
                         "protocol error: remote sent %zu bytes nobody asked for", c->len - c->off);
    if (c->eof)
        return 0;
    if (c->tls != NULL)
        return tls_check_quiet(c, err);
    n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return io_failed(c, err, TN_E_PROTOCOL, "protocol error: remote sent unasked data");
    if (n == 0 || (n < 0 && is_reset(errno)))
        c->eof = true;
    return 0;
}

/* read_line - one reply line (without "\n") into out[REPLY_MAX + 1];
 * returns its length or IO_*. A longer line is a protocol error, read no
 * further: the buffer never grows. */
static int read_line(struct tn_conn *c, char *out, struct tn_error *err)
{
    for (;;) {
        char *start = c->buf + c->off;
        char *nl = memchr(start, '\n', c->len - c->off);
        size_t have = nl != NULL ? (size_t)(nl - start) : c->len - c->off;
        ssize_t n;

        if (have > REPLY_MAX)
            return io_failed(c, err, TN_E_PROTOCOL,
                             "protocol error: reply line over %d bytes", REPLY_MAX);
        if (nl != NULL) {
            if (memchr(start, '\0', have) != NULL)
                return io_failed(c, err, TN_E_PROTOCOL, "protocol error: NUL in a reply line");
            memcpy(out, start, have);
            out[have] = '\0';
            c->off += have + 1;
            return (int)have;
        }
        if (c->off > 0) {
            memmove(c->buf, start, have);
            c->off = 0;
            c->len = have;
        }
        n = conn_recv(c, c->buf + c->len, c->cap - c->len, err);
        if (n < 0)
            return (int)n;
        if (c->tls == NULL && c->rx == (unsigned long long)n && looks_tls(c) && n > 1 &&
            (unsigned char)c->buf[c->len + 1] == 0x03)
            return io_failed(c, err, TN_E_NEEDS_TLS,
                             "remote answered with TLS: it requires TLS (set sync_ca or "
                             "sync_cert/sync_key)");
        c->len += (size_t)n;
    }
}

/* ---- connections ---- */

/* conn_new - an unconnected connection object for r */
static struct tn_conn *conn_new(const struct tn_remote *r)
{
    struct tn_conn *c = calloc(1, sizeof(*c));
    size_t block = r->block_size;

    if (c == NULL)
        return NULL;
    c->cap = block < BLOCK_MIN ? BLOCK_MIN : block > BLOCK_MAX ? BLOCK_MAX : block;
    c->buf = malloc(c->cap);
    if (c->buf == NULL) {
        free(c);
        return NULL;
    }
    c->r = r;
    c->fd = -1;
    c->first_byte = -1;
    c->timeout_ms = r->timeout_ms > 0 ? r->timeout_ms : TIMEOUT_DEFAULT_MS;
    if (r->label != NULL)
        snprintf(c->label, sizeof(c->label), "%s", r->label);
    else
        snprintf(c->label, sizeof(c->label), strchr(r->host, ':') ? "[%s]:%u" : "%s:%u",
                 r->host, r->port);
    return c;
}

/* conn_free - kill and release */
static void conn_free(struct tn_conn *c)
{
    conn_kill(c);
    free(c->buf);
    free(c);
}

/* connect_one - a non-blocking connect to one address; 0 or -errno */
static int connect_one(const struct addrinfo *ai, unsigned timeout_ms, int *fd_r)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    int soerr = 0, w, e;
    socklen_t sl = sizeof(soerr);

    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            e = errno;
            close(fd);
            return -e;
        }
        w = wait_fd(fd, POLLOUT, now_ms() + timeout_ms);
        if (w <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
            e = w == 0 ? ETIMEDOUT : w < 0 ? errno : soerr != 0 ? soerr : errno;
            close(fd);
            return -e;
        }
    }
    *fd_r = fd;
    return 0;
}

/* connect_error - the one explanation for every address having failed */
static int connect_error(struct tn_conn *c, int last, bool timed_out, bool all_refused,
                         struct tn_error *err)
{
    if (all_refused)
        return fail(c, err, TN_E_REFUSED,
                    "connection refused: no tentacle_server listening (check sync_address/"
                    "sync_port)");
    if (timed_out)
        return fail(c, err, TN_E_CONNECT_TIMEOUT,
                    "connect timed out after %u ms (filtered, or far past the remote -c)",
                    c->timeout_ms);
    /* unreachable networks and the like: no TCP answer either */
    return fail(c, err, TN_E_CONNECT_TIMEOUT, "cannot connect: %s (check sync_address)",
                strerror(-last));
}

/* open_socket - resolve, then each address in turn until one connects */
static int open_socket(struct tn_conn *c, struct tn_error *err)
{
    const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                    .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char port[8];
    bool timed_out = false, all_refused = true;
    int rc, last = -ECONNREFUSED, one = 1;

    snprintf(port, sizeof(port), "%u", c->r->port);
    rc = getaddrinfo(c->r->host, port, &hints, &res);
    if (rc != 0)
        return fail(c, err, TN_E_RESOLVE, "cannot resolve %s: %s", c->r->host,
                    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
    for (const struct addrinfo *ai = res; ai != NULL && c->fd < 0; ai = ai->ai_next) {
        rc = connect_one(ai, c->timeout_ms, &c->fd);
        if (rc < 0) {
            last = rc;
            timed_out |= rc == -ETIMEDOUT;
            all_refused &= rc == -ECONNREFUSED;
        }
    }
    freeaddrinfo(res);
    if (c->fd < 0)
        return connect_error(c, last, timed_out, all_refused, err);
    /* each write is a whole line or block that the remote waits for */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    quickack(c->fd);
    c->alive = true;
    return TN_OK;
}

/* ---- explaining silent closes (PROTOCOL.md §4) ---- */

/* tls_probe - does the remote answer a ClientHello? A "\n" follows it so
 * a plain server sees a complete (bad) command and closes at once instead
 * of waiting for its idle timeout; a TLS server has answered by then. */
static bool tls_probe(const struct tn_remote *r)
{
    struct tn_conn *c = conn_new(r);
    gnutls_certificate_credentials_t x509 = NULL;
    struct tn_error e;
    long long deadline;
    bool newline_sent = false;

    if (c == NULL)
        return false;
    if (c->timeout_ms > TLS_PROBE_MAX_MS)
        c->timeout_ms = TLS_PROBE_MAX_MS;
    deadline = now_ms() + c->timeout_ms;
    if (open_socket(c, &e) == TN_OK && gnutls_certificate_allocate_credentials(&x509) == 0 &&
        tls_session(c, x509, &e) == 0) {
        while (c->rx == 0) {
            int rc = gnutls_handshake(c->tls);

            if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)
                break;
            if (!newline_sent && gnutls_record_get_direction(c->tls) == 0) {
                (void)!send(c->fd, "\n", 1, MSG_NOSIGNAL);
                newline_sent = true;
                continue;
            }
            if (tls_wait(c, deadline) <= 0)
                break;
        }
    }
    bool answered = c->rx > 0 && looks_tls(c);

    conn_free(c);                       /* the session before its credentials */
    if (x509 != NULL)
        gnutls_certificate_free_credentials(x509);
    return answered;
}

static int conn_open(const struct tn_remote *r, bool probing, struct tn_conn **conn_r,
                     struct tn_error *err);
static int exchange(struct tn_conn *c, const char *cmd, const char *line, size_t len,
                    enum stage st, char *reply, struct tn_error *err);

/* recv_probe - on a fresh connection (PASS if set), does RECV get a reply? */
static bool recv_probe(const struct tn_remote *r)
{
    static const char line[] = "RECV <" PROBE_NAME ">\n";
    struct tn_conn *p = NULL;
    struct tn_error e;
    char reply[REPLY_MAX + 1];
    bool answered;

    if (conn_open(r, true, &p, &e) != TN_OK)
        return false;
    answered = exchange(p, "RECV", line, sizeof(line) - 1, ST_COMMAND, reply, &e) == TN_OK;
    conn_free(p);                       /* no QUIT: it would be taken as an ack */
    return answered;
}

/* auth_or_tls - a close that a password or TLS explains; plain
 * connections ask the remote whether it speaks TLS */
static int auth_or_tls(struct tn_conn *c, const char *what, struct tn_error *err)
{
    bool plain = c->r->tls == NULL;

    conn_kill(c);
    if (plain && tls_probe(c->r))
        return fail(c, err, TN_E_NEEDS_TLS,
                    "remote closed at once: it requires TLS (set sync_ca or sync_cert/sync_key)");
    if (c->r->password != NULL)
        return fail(c, err, TN_E_AUTH,
                    "remote closed after PASS: wrong sync_password, or remote runs without "
                    "-x%s", plain ? "" : ", or it rejected our certificate");
    return fail(c, err, TN_E_AUTH,
                "remote closed at once after %s: it needs a sync_password (-x)%s", what,
                plain ? "" : ", or it rejected our certificate");
}

/* first_close - a silent close at the connection's first command */
static int first_close(struct tn_conn *c, const char *cmd, struct tn_error *err)
{
    bool listing = strcmp(cmd, "LS") == 0 || strcmp(cmd, "MV") == 0;

    conn_kill(c);
    if (listing && recv_probe(c->r))
        return fail(c, err, TN_E_NO_LIST,
                    "remote refused %s: tentacle_server not started with -I", cmd);
    if (c->authed)
        return fail(c, err, TN_E_CLOSED,
                    "remote closed at %s right after accepting PASS (protocol error?)", cmd);
    return auth_or_tls(c, cmd, err);
}

/* explain_close - a silent close while a reply was awaited */
static int explain_close(struct tn_conn *c, const char *cmd, enum stage st, struct tn_error *err)
{
    if (c->probing)
        return fail(c, err, TN_E_CLOSED, "remote closed at %s", cmd);
    if (st == ST_PASS)
        return auth_or_tls(c, cmd, err);
    if (c->replies == 0)
        return first_close(c, cmd, err);
    return fail(c, err, TN_E_CLOSED,
                "remote closed the connection at %s (idle timeout, or a restart); reconnect", cmd);
}

/* explain_timeout - no reply in time; on plain TCP a first reply that
 * never comes is the -c limit (a TLS handshake already proved a slot) */
static int explain_timeout(struct tn_conn *c, const char *cmd, enum stage st,
                           struct tn_error *err)
{
    if (c->tls == NULL && c->replies == 0 && (st == ST_PASS || !c->authed))
        return fail(c, err, TN_E_NO_ANSWER,
                    "no answer to %s within %u ms: all tentacle_server -c slots busy", cmd,
                    c->timeout_ms);
    return fail(c, err, TN_E_TIMEOUT, "no reply to %s within %u ms", cmd, c->timeout_ms);
}

/* io_result - turn an IO_* of the command/reply step into TN_* */
static int io_result(struct tn_conn *c, int rc, const char *cmd, enum stage st,
                     struct tn_error *err)
{
    if (rc == IO_EOF)
        return explain_close(c, cmd, st, err);
    if (rc == IO_TIMEOUT)
        return explain_timeout(c, cmd, st, err);
    conn_kill(c);                       /* IO_FAILED: err is filled */
    return TN_FAIL;
}

/* closed_unasked - the remote closed before we sent cmd, so cmd is not the
 * cause: right after a TLS 1.3 handshake that asked for our certificate it
 * is a rejection without an alert; otherwise the idle timeout */
static int closed_unasked(struct tn_conn *c, const char *cmd, struct tn_error *err)
{
    bool fresh = c->replies == 0 && !c->authed && !c->probing;
    bool asked = c->tls != NULL && gnutls_certificate_client_get_request_status(c->tls) != 0;

    if (fresh && asked && has_client_cert(c))
        return fail(c, err, TN_E_UNKNOWN_CA,
                    "remote closed right after the handshake: it rejected our certificate "
                    "(unknown CA?)");
    if (fresh && asked)
        return fail(c, err, TN_E_CERT_REQUIRED,
                    "remote requires a client certificate (set sync_cert/sync_key)");
    return fail(c, err, TN_E_CLOSED,
                "remote closed the connection before %s (idle timeout, or a restart); reconnect",
                cmd);
}

/* exchange - send one command line (one send), read its reply line. Never
 * called before the previous reply was read completely. */
static int exchange(struct tn_conn *c, const char *cmd, const char *line, size_t len,
                    enum stage st, char *reply, struct tn_error *err)
{
    int rc = check_quiet(c, err);

    if (rc == 0 && c->eof)
        return closed_unasked(c, cmd, err);
    if (rc == 0)
        rc = conn_send(c, line, len, err);
    if (rc == 0)
        rc = read_line(c, reply, err);
    if (rc < 0)
        return io_result(c, rc, cmd, st, err);
    if (st == ST_COMMAND)
        c->replies++;
    return TN_OK;
}

/* send_pass - PASS <digest>, which must get PASS OK */
static int send_pass(struct tn_conn *c, struct tn_error *err)
{
    char line[64], digest[33], reply[REPLY_MAX + 1];
    int n, rc;

    tn_pass_digest(c->r->password, digest);
    n = snprintf(line, sizeof(line), "PASS %s\n", digest);
    rc = exchange(c, "PASS", line, (size_t)n, ST_PASS, reply, err);
    if (rc != TN_OK)
        return rc;
    if (strcmp(reply, "PASS OK") != 0)
        return fail(c, err, TN_E_PROTOCOL, "protocol error: PASS answered with a %zu-byte line",
                    strlen(reply));
    c->authed = true;
    return TN_OK;
}

/* conn_open - tn_open; a probing connection explains no close itself */
static int conn_open(const struct tn_remote *r, bool probing, struct tn_conn **conn_r,
                     struct tn_error *err)
{
    struct tn_conn *c;
    int rc;

    if (r == NULL || r->host == NULL || r->port == 0 || r->port > 65535) {
        err->kind = TN_E_LOCAL;
        snprintf(err->text, sizeof(err->text), "%s: no host or port to connect to",
                 r != NULL && r->label != NULL ? r->label : "?");
        return TN_FAIL;
    }
    c = conn_new(r);
    if (c == NULL) {
        err->kind = TN_E_LOCAL;
        snprintf(err->text, sizeof(err->text), "%s: out of memory", r->label ? r->label : r->host);
        return TN_FAIL;
    }
    c->probing = probing;
    rc = open_socket(c, err);
    if (rc == TN_OK && r->tls != NULL && tls_start(c, err) < 0)
        rc = TN_FAIL;                   /* err is filled */
    if (rc == TN_OK && r->password != NULL)
        rc = send_pass(c, err);
    if (rc != TN_OK) {
        conn_free(c);
        return TN_FAIL;
    }
    *conn_r = c;
    return TN_OK;
}

/* ---- public calls ---- */

int tn_open(const struct tn_remote *r, struct tn_conn **conn_r, struct tn_error *err)
{
    struct tn_error dummy;

    return conn_open(r, false, conn_r, err != NULL ? err : &dummy);
}

void tn_close(struct tn_conn *c)
{
    static const char quit[] = "QUIT\n";

    if (c == NULL)
        return;
    /* one try, no waiting: the server answers QUIT by closing anyway */
    if (c->alive && c->tls == NULL)
        (void)!send(c->fd, quit, sizeof(quit) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    else if (c->alive)
        (void)gnutls_record_send(c->tls, quit, sizeof(quit) - 1);
    conn_free(c);
}

bool tn_alive(const struct tn_conn *c)
{
    return c != NULL && c->alive;
}

const struct tls_facts *tn_tls(const struct tn_conn *c)
{
    return c != NULL && c->tls_used ? &c->facts : NULL;
}

/* usable - the common entry check of the commands */
static int usable(struct tn_conn *c, struct tn_error *err)
{
    if (c == NULL) {
        err->kind = TN_E_LOCAL;
        snprintf(err->text, sizeof(err->text), "no connection");
        return TN_FAIL;
    }
    if (!c->alive) {
        err->kind = TN_E_CLOSED;
        snprintf(err->text, sizeof(err->text), "%s: connection already closed", c->label);
        return TN_FAIL;
    }
    return TN_OK;
}

/* parse_size - "<word> SIZE <n>": digits only, no sign, no overflow */
static bool parse_size(const char *reply, const char *word, uint64_t *size_r)
{
    size_t wl = strlen(word);
    const char *p = reply + wl + 6;
    uint64_t v = 0;

    if (strncmp(reply, word, wl) != 0 || strncmp(reply + wl, " SIZE ", 6) != 0 || *p == '\0')
        return false;
    for (; *p != '\0'; p++) {
        unsigned d = (unsigned)(*p - '0');

        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *size_r = v;
    return true;
}

/* is_err_line - "<word> ERR" alone or followed by " (reason)" */
static bool is_err_line(const char *reply, const char *word)
{
    size_t wl = strlen(word);

    return strncmp(reply, word, wl) == 0 && strncmp(reply + wl, " ERR", 4) == 0 &&
           (reply[wl + 4] == '\0' || reply[wl + 4] == ' ');
}

/* printable - a copy of a remote line fit for a log (control bytes as '?') */
static const char *printable(char *dst, size_t cap, const char *src)
{
    size_t i = 0;

    for (; src[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
    dst[i] = '\0';
    return dst;
}

/* bad_reply - a reply that is neither the SIZE/OK line nor an ERR line */
static int bad_reply(struct tn_conn *c, const char *cmd, const char *reply, struct tn_error *err)
{
    char shown[64];

    return fail(c, err, TN_E_PROTOCOL, "protocol error: unexpected reply to %s: \"%s\"", cmd,
                printable(shown, sizeof(shown), reply));
}

/* decline - a non-OK ack keeps the file remotely; the next command could
 * merge with it, so the connection is closed */
static void decline(struct tn_conn *c, const char *word)
{
    char line[16];
    struct tn_error scratch;
    int n = snprintf(line, sizeof(line), "%s NO\n", word);

    (void)conn_send(c, line, (size_t)n, &scratch);
    conn_kill(c);
}

/* payload_fn - a consumer of payload bytes (the listing parser, the sink) */
typedef int payload_fn(struct tn_conn *c, void *ctx, const char *data, size_t len,
                       struct tn_error *err);

/* read_payload - exactly size bytes to fn, buffered bytes first; reads
 * never ask for more than what is left, so nothing after it is eaten */
static int read_payload(struct tn_conn *c, uint64_t size, payload_fn *fn, void *ctx,
                        const char *what, struct tn_error *err)
{
    uint64_t done = 0;

    while (done < size) {
        uint64_t left = size - done;
        size_t n;
        int rc;

        if (c->off == c->len) {
            ssize_t got = conn_recv(c, c->buf, left < c->cap ? (size_t)left : c->cap, err);

            if (got == IO_EOF)
                return fail(c, err, TN_E_CUT, "%s cut at %llu/%llu bytes", what,
                            (unsigned long long)done, (unsigned long long)size);
            if (got == IO_TIMEOUT && c->op_deadline != 0 && now_ms() >= c->op_deadline)
                return fail(c, err, TN_E_TIMEOUT, "%s too slow: %llu/%llu bytes, under 64 KiB/s",
                            what, (unsigned long long)done, (unsigned long long)size);
            if (got == IO_TIMEOUT)
                return fail(c, err, TN_E_TIMEOUT, "%s stalled at %llu/%llu bytes for %u ms", what,
                            (unsigned long long)done, (unsigned long long)size, c->timeout_ms);
            if (got < 0) {
                conn_kill(c);
                return TN_FAIL;
            }
            c->off = 0;
            c->len = (size_t)got;
        }
        n = c->len - c->off < left ? c->len - c->off : (size_t)left;
        rc = fn(c, ctx, c->buf + c->off, n, err);
        if (rc != TN_OK)
            return rc;
        c->off += n;
        done += n;
    }
    if (c->off < c->len)
        return fail(c, err, TN_E_PROTOCOL,
                    "protocol error: remote sent more than the %llu bytes of %s it announced",
                    (unsigned long long)size, what);
    return TN_OK;
}

/* send_ack - the OK that starts a payload; a close here cuts it at 0.
 * Without a payload nothing answers the OK, so we cannot know when the
 * remote has read it, and a next line could merge with it ("MV OK\nLS <>"
 * is one bad command that keeps the file): the connection ends here. */
static int send_ack(struct tn_conn *c, const char *word, const char *what, uint64_t size,
                    struct tn_error *err)
{
    char line[16];
    int n = snprintf(line, sizeof(line), "%s OK\n", word);
    int rc = conn_send(c, line, (size_t)n, err);

    if (rc == 0 && size == 0)
        conn_kill(c);                   /* no QUIT either: it would merge too */
    if (rc == IO_EOF)
        return fail(c, err, TN_E_CUT, "%s cut at 0/%llu bytes", what, (unsigned long long)size);
    if (rc == IO_TIMEOUT)
        return fail(c, err, TN_E_TIMEOUT, "cannot send %s OK within %u ms", word, c->timeout_ms);
    if (rc < 0) {
        conn_kill(c);
        return TN_FAIL;
    }
    return TN_OK;
}

/* ---- LS ---- */

struct ls_state {
    char name[NAME_MAX_LEN + 1];
    size_t len;
    bool too_long;
    size_t max_names, passed, more, dropped;
    bool stopped;                       /* fn asked for no more calls */
    tn_name_fn *fn;
    void *data;
};

/* ls_name_end - one complete listing entry: drop, pass on or count */
static void ls_name_end(struct ls_state *st)
{
    bool dot = !st->too_long && ((st->len == 1 && st->name[0] == '.') ||
                                 (st->len == 2 && st->name[0] == '.' && st->name[1] == '.'));

    if (dot)
        ;                               /* readdir noise, not a refusal */
    else if (st->too_long || !tn_name_valid(st->name, st->len))
        st->dropped++;
    else if (st->stopped || st->passed >= st->max_names)
        st->more++;
    else {
        st->name[st->len] = '\0';
        st->passed++;
        if (st->fn(st->data, st->name, st->len) != 0)
            st->stopped = true;
    }
    st->len = 0;
    st->too_long = false;
}

/* ls_consume - split listing bytes on "\n"; a name may span reads */
static int ls_consume(struct tn_conn *c, void *ctx, const char *data, size_t len,
                      struct tn_error *err)
{
    struct ls_state *st = ctx;

    (void)c;
    (void)err;
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - data) : len;
        size_t room = NAME_MAX_LEN - st->len;

        if (st->too_long || n > room) {
            st->too_long = true;        /* keep reading, keep nothing */
        } else {
            memcpy(st->name + st->len, data, n);
            st->len += n;
        }
        if (nl == NULL)
            break;
        ls_name_end(st);
        data += n + 1;
        len -= n + 1;
    }
    return TN_OK;
}

int tn_ls(struct tn_conn *c, const char *arg, size_t max_names, tn_name_fn *fn, void *data,
          size_t *more_r, size_t *dropped_r, struct tn_error *err)
{
    struct ls_state st = { .max_names = max_names, .fn = fn, .data = data };
    char line[NAME_MAX_LEN + 8], reply[REPLY_MAX + 1];
    struct tn_error dummy;
    long long start = now_ms();
    uint64_t size = 0;
    int n, rc;

    err = err != NULL ? err : &dummy;
    if (more_r != NULL)
        *more_r = 0;
    if (dropped_r != NULL)
        *dropped_r = 0;
    if ((rc = usable(c, err)) != TN_OK)
        return rc;
    arg = arg != NULL ? arg : "";
    if (fn == NULL)
        st.max_names = 0;               /* only count */
    if (*arg != '\0' && !tn_name_valid(arg, strlen(arg)))
        return file_err(c, err, TN_F_INVALID, "invalid LS argument: not sent");
    n = snprintf(line, sizeof(line), "LS <%s>\n", arg);
    rc = exchange(c, "LS", line, (size_t)n, ST_COMMAND, reply, err);
    if (rc != TN_OK)
        return rc;
    if (is_err_line(reply, "LS"))
        return file_err(c, err, TN_F_REFUSED, "remote refused LS <%s>", arg);
    if (!parse_size(reply, "LS", &size))
        return bad_reply(c, "LS", reply, err);
    if (size > LS_MAX_BYTES) {
        decline(c, "LS");
        return fail(c, err, TN_E_PROTOCOL,
                    "protocol error: listing of %llu bytes is over the 64 MiB bound: declined",
                    (unsigned long long)size);
    }
    c->op_deadline = start + c->timeout_ms + transfer_ms(size);
    rc = send_ack(c, "LS", "listing", size, err);
    if (rc == TN_OK)
        rc = read_payload(c, size, ls_consume, &st, "listing", err);
    c->op_deadline = 0;
    if (rc != TN_OK)
        return rc;
    if (st.len > 0 || st.too_long)
        ls_name_end(&st);               /* a last entry without "\n" */
    if (more_r != NULL)
        *more_r = st.more;
    if (dropped_r != NULL)
        *dropped_r = st.dropped;
    return TN_OK;
}

/* ---- MV / RECV ---- */

/* write_all - to the caller's sink fd, through short writes */
static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

struct sink_state {
    int fd;                             /* TN_SINK_DISCARD: drop the bytes */
    const char *name;
};

/* sink_consume - payload bytes into the sink fd; a failure is ours */
static int sink_consume(struct tn_conn *c, void *ctx, const char *data, size_t len,
                        struct tn_error *err)
{
    struct sink_state *s = ctx;
    int rc;

    if (s->fd < 0)
        return TN_OK;
    rc = write_all(s->fd, data, len);
    if (rc < 0)
        return fail(c, err, TN_E_LOCAL, "cannot store %s locally: %s", s->name, strerror(-rc));
    return TN_OK;
}

/* get_err_line - MV ERR / RECV ERR (...) as a file-level result */
static int get_err_line(struct tn_conn *c, const char *word, const char *name, const char *reply,
                        struct tn_error *err)
{
    const char *why = reply + strlen(word) + 4;
    char shown[64];

    if (*why == '\0' || strcmp(why, " (file does not exist)") == 0)
        return file_err(c, err, TN_F_MISSING,
                        "%s vanished (or a remote -i rule routes it elsewhere)", name);
    if (strcmp(why, " (file has an invalid file name)") == 0)
        return file_err(c, err, TN_F_INVALID, "remote calls %s an invalid file name", name);
    return file_err(c, err, TN_F_REFUSED, "remote refused %s:%s", name,
                    printable(shown, sizeof(shown), why));
}

/* get_sized - after "<word> SIZE n": decide, ack, stream the payload */
static int get_sized(struct tn_conn *c, const char *word, const char *name, uint64_t size,
                     tn_sink_fn *sink, void *data, struct tn_error *err)
{
    struct sink_state s = { .name = name };
    int rc;

    if (size > c->r->max_file_size) {
        decline(c, word);
        return file_err(c, err, TN_F_TOO_BIG,
                        "%s is %llu B, over sync_max_file_size (%llu B): declined, left on the "
                        "remote", name, (unsigned long long)size,
                        (unsigned long long)c->r->max_file_size);
    }
    s.fd = sink != NULL ? sink(data, size) : TN_SINK_DISCARD;
    if (s.fd == TN_SINK_DECLINE) {
        decline(c, word);
        return file_err(c, err, TN_F_REFUSED, "%s (%llu B) declined: left on the remote", name,
                        (unsigned long long)size);
    }
    if (s.fd < TN_SINK_DECLINE) {
        decline(c, word);
        return fail(c, err, TN_E_LOCAL, "no local place for %s (%llu B): %s; left on the remote",
                    name, (unsigned long long)size, strerror(-s.fd));
    }
    rc = send_ack(c, word, name, size, err);
    if (rc == TN_OK)
        rc = read_payload(c, size, sink_consume, &s, name, err);
    return rc;
}

int tn_get(struct tn_conn *c, enum tn_get_cmd cmd, const char *name, tn_sink_fn *sink,
           void *data, uint64_t *size_r, struct tn_error *err)
{
    const char *word = cmd == TN_MV ? "MV" : "RECV";
    char line[NAME_MAX_LEN + 16], reply[REPLY_MAX + 1];
    struct tn_error dummy;
    long long start = now_ms();
    uint64_t size = 0;
    int n, rc;

    err = err != NULL ? err : &dummy;
    if ((rc = usable(c, err)) != TN_OK)
        return rc;
    if (name == NULL || !tn_name_valid(name, strlen(name)))
        return file_err(c, err, TN_F_INVALID, "invalid file name: %s not sent", word);
    n = snprintf(line, sizeof(line), "%s <%s>\n", word, name);
    rc = exchange(c, word, line, (size_t)n, ST_COMMAND, reply, err);
    if (rc != TN_OK)
        return rc;
    if (is_err_line(reply, word))
        return get_err_line(c, word, name, reply, err);
    if (!parse_size(reply, word, &size))
        return bad_reply(c, word, reply, err);
    if (size_r != NULL)
        *size_r = size;
    c->op_deadline = start + c->timeout_ms + transfer_ms(size);
    rc = get_sized(c, word, name, size, sink, data, err);
    c->op_deadline = 0;
    return rc;
}

/* ---- SEND ---- */

/* send_err_line - SEND ERR (...) as a file-level result */
static int send_err_line(struct tn_conn *c, const char *name, uint64_t size, const char *reply,
                         struct tn_error *err)
{
    const char *why = reply + 8;
    char shown[64];

    if (strcmp(why, " (file is too big)") == 0)
        return file_err(c, err, TN_F_TOO_BIG, "remote refuses %s (%llu B): over -m, or empty",
                        name, (unsigned long long)size);
    if (strcmp(why, " (file already exists)") == 0)
        return file_err(c, err, TN_F_EXISTS, "remote runs without -o: cannot update %s", name);
    if (strcmp(why, " (invalid file name)") == 0)
        return file_err(c, err, TN_F_INVALID, "remote calls %s an invalid file name", name);
    return file_err(c, err, TN_F_REFUSED, "remote refused %s:%s", name,
                    printable(shown, sizeof(shown), why));
}

/* send_payload - size bytes from fd in block_size pieces */
static int send_payload(struct tn_conn *c, const char *name, int fd, uint64_t size,
                        struct tn_error *err)
{
    uint64_t done = 0;

    c->off = c->len = 0;                /* check_quiet proved it empty */
    while (done < size) {
        uint64_t left = size - done;
        ssize_t n = read(fd, c->buf, left < c->cap ? (size_t)left : c->cap);
        int rc;

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(c, err, TN_E_LOCAL, "cannot read %s at %llu/%llu bytes: %s", name,
                        (unsigned long long)done, (unsigned long long)size,
                        n == 0 ? "the file shrank" : strerror(errno));
        rc = conn_send(c, c->buf, (size_t)n, err);
        if (rc == IO_EOF)
            return fail(c, err, TN_E_CUT, "%s cut at %llu/%llu bytes: the remote copy may be "
                        "partial", name, (unsigned long long)done, (unsigned long long)size);
        if (rc == IO_TIMEOUT)
            return fail(c, err, TN_E_TIMEOUT, "sending %s stalled at %llu/%llu bytes", name,
                        (unsigned long long)done, (unsigned long long)size);
        if (rc < 0) {
            conn_kill(c);
            return TN_FAIL;
        }
        done += (uint64_t)n;
    }
    return TN_OK;
}

/* send_confirm - the second SEND OK, which alone says the file is stored */
static int send_confirm(struct tn_conn *c, const char *name, struct tn_error *err)
{
    char reply[REPLY_MAX + 1];
    int rc = read_line(c, reply, err);

    if (rc == IO_EOF)
        return fail(c, err, TN_E_CUT, "remote closed before confirming %s: the remote copy may "
                    "be partial", name);
    if (rc == IO_TIMEOUT)
        return fail(c, err, TN_E_TIMEOUT, "no confirmation of %s within %u ms", name,
                    c->timeout_ms);
    if (rc < 0) {
        conn_kill(c);
        return TN_FAIL;
    }
    c->replies++;
    if (strcmp(reply, "SEND OK") != 0)
        return bad_reply(c, "SEND", reply, err);
    return TN_OK;
}

int tn_send(struct tn_conn *c, const char *name, int fd, uint64_t size, struct tn_error *err)
{
    char line[NAME_MAX_LEN + 40], reply[REPLY_MAX + 1];
    struct tn_error dummy;
    long long start = now_ms();
    int n, rc;

    err = err != NULL ? err : &dummy;
    if ((rc = usable(c, err)) != TN_OK)
        return rc;
    if (name == NULL || !tn_name_valid(name, strlen(name)))
        return file_err(c, err, TN_F_INVALID, "invalid file name: SEND not sent");
    if (size == 0)
        return file_err(c, err, TN_F_TOO_BIG,
                        "%s is empty: the remote refuses empty files (not sent)", name);
    n = snprintf(line, sizeof(line), "SEND <%s> SIZE %llu\n", name, (unsigned long long)size);
    rc = exchange(c, "SEND", line, (size_t)n, ST_COMMAND, reply, err);
    if (rc != TN_OK)
        return rc;
    if (is_err_line(reply, "SEND"))
        return send_err_line(c, name, size, reply, err);
    if (strcmp(reply, "SEND OK") != 0)
        return bad_reply(c, "SEND", reply, err);
    if (c->off < c->len)
        return bad_reply(c, "SEND", "(extra bytes after SEND OK)", err);
    c->op_deadline = start + c->timeout_ms + transfer_ms(size);
    rc = send_payload(c, name, fd, size, err);
    if (rc == TN_OK)
        rc = send_confirm(c, name, err);
    c->op_deadline = 0;
    return rc;
}

/* ---- names and the password ---- */

bool tn_name_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > NAME_MAX_LEN)
        return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];

        if (ch < 0x20 || ch == 0x7f || strchr(invalid_chars, ch) != NULL)
            return false;
    }
    return true;
}

void tn_pass_digest(const char *password, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16], twice[16];
    const char *pwd = password != NULL ? password : "";

    if (gnutls_hash_fast(GNUTLS_DIG_MD5, pwd, strlen(pwd), raw) < 0 ||
        gnutls_hash_fast(GNUTLS_DIG_MD5, raw, sizeof(raw), twice) < 0) {
        out[0] = '\0';                  /* no MD5 (FIPS mode): PASS will fail */
        return;
    }
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[twice[i] >> 4];
        out[2 * i + 1] = hex[twice[i] & 15];
    }
    out[32] = '\0';
}
