/* peer_io.c - the test peer's socket I/O: framing, the idle timer, faulty writes
 *
 * Reads are at most PEER_BLOCK bytes and each one restarts the idle timer, like
 * the stock server's select()+sysread loop. A command is everything read until a
 * read ends in "\n", which is why pipelined commands merge into one bad command.
 * Every io_write() is one write() (plain) or one gnutls_record_send() (TLS), so
 * callers choose the segmentation the client sees.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"

/* plain_read - one recv() of at most len bytes once input arrives within idle_ms */
static ssize_t plain_read(struct conn *c, void *buf, size_t len)
{
    long long deadline = peer_now_ms() + c->p->idle_ms;

    for (;;) {
        long long left = deadline - peer_now_ms();
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int r;

        if (left <= 0) {
            c->why = "idle timeout";
            return 0;
        }
        r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            c->why = "poll error";
            return -1;
        }
        if (r == 0)
            continue;
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            c->why = n == 0 ? "eof" : "read error";
        return n;
    }
}

/* tls_read - one gnutls_record_recv(); GnuTLS' record timeout is the idle timer */
static ssize_t tls_read(struct conn *c, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = gnutls_record_recv(c->tls, buf, len);

        if (n > 0)
            return n;
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
            continue;
        if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
            c->why = "eof";
        else if (n == GNUTLS_E_TIMEDOUT)
            c->why = "idle timeout";
        else
            c->why = gnutls_strerror_name((int)n);
        if (n == GNUTLS_E_FATAL_ALERT_RECEIVED)
            peer_log(c->id, "tls-alert-received %s",
                     gnutls_alert_get_name(gnutls_alert_get(c->tls)));
        return n == 0 ? 0 : -1;
    }
}

/* io_read_some - one read of at most len bytes; >0 bytes, else the connection is over */
ssize_t io_read_some(struct conn *c, void *buf, size_t len)
{
    ssize_t n;

    if (c->dead)
        return -1;
    n = c->tls != NULL ? tls_read(c, buf, len) : plain_read(c, buf, len);
    if (n <= 0)
        c->dead = true;
    return n;
}

/* io_recv_command - read one command into c->cmd (without its final "\n") */
int io_recv_command(struct conn *c)
{
    c->cmd_len = 0;
    for (;;) {
        if (c->cmd_cap < c->cmd_len + PEER_BLOCK + 1) {
            size_t cap = c->cmd_cap * 2 + PEER_BLOCK + 1;
            char *n = realloc(c->cmd, cap);

            if (n == NULL) {
                c->why = "out of memory";
                return -1;
            }
            c->cmd = n;
            c->cmd_cap = cap;
        }
        ssize_t got = io_read_some(c, c->cmd + c->cmd_len, PEER_BLOCK);
        if (got <= 0)
            return -1;
        c->cmd_len += (size_t)got;
        if (c->cmd[c->cmd_len - 1] == '\n')
            break;
        if (c->cmd_len > PEER_MAX_COMMAND) {
            c->why = "command over the safety cap";
            c->dead = true;
            return -1;
        }
    }
    c->cmd[--c->cmd_len] = '\0';
    return 0;
}

/* check_early - log input that arrived before our reply was complete (not lock-step) */
static void check_early(struct conn *c)
{
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    if (n > 0 || (c->tls != NULL && gnutls_record_check_pending(c->tls) > 0)) {
        c->early++;
        peer_log(c->id, "early-input before the reply was complete (client not in lock-step)");
    }
}

/* raw_write - write all of data as one write()/record, looping only on short writes */
static int raw_write(struct conn *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n;

        if (c->tls != NULL) {
            n = gnutls_record_send(c->tls, data, len);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                continue;
        } else {
            n = send(c->fd, data, len, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
        }
        if (n <= 0) {
            c->why = "write error";
            c->dead = true;
            return -1;
        }
        data += n;
        len -= (size_t)n;
        c->sent += (unsigned long long)n;
    }
    return 0;
}

/* drip_write - write data in drip_bytes pieces, drip_ms apart */
static int drip_write(struct conn *c, const char *data, size_t len)
{
    while (len > 0) {
        size_t n = len < c->p->f.drip_bytes ? len : c->p->f.drip_bytes;

        if (raw_write(c, data, n) < 0)
            return -1;
        data += n;
        len -= n;
        if (len > 0)
            peer_sleep_ms(c->p->f.drip_ms);
    }
    return 0;
}

/* io_write - one application write; last marks the end of a reply (lock-step check) */
int io_write(struct conn *c, const void *data, size_t len, bool last)
{
    const struct faults *f = &c->p->f;

    if (c->dead)
        return -1;
    if (last)
        check_early(c);
    if (c->faulty && f->drop_after >= 0 &&
        c->sent + len > (unsigned long long)f->drop_after) {
        size_t keep = (size_t)((unsigned long long)f->drop_after - c->sent);

        if (keep > 0 && raw_write(c, data, keep) < 0)
            return -1;
        peer_log(c->id, "fault drop-after %lld bytes (%s)", f->drop_after,
                 f->drop_rst ? "rst" : "fin");
        c->why = "fault drop-after";
        io_kill(c, f->drop_rst);
        return -1;
    }
    if (c->faulty && f->drip_ms > 0)
        return drip_write(c, data, len);
    return raw_write(c, data, len);
}

/* io_reply_delay - the --delay-ms pause before a reply line or payload */
void io_reply_delay(struct conn *c)
{
    if (c->p->delay_ms > 0)
        peer_sleep_ms(c->p->delay_ms);
}

/* io_reply - send one reply line (the "\n" is added) as one write, after the delay */
int io_reply(struct conn *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) - 1)
        n = (int)strlen(line);
    peer_log_cmd(c->id, "reply", line, (size_t)n);
    line[n++] = '\n';
    io_reply_delay(c);
    return io_write(c, line, (size_t)n, true);
}

/* io_stall - stop answering; hold the connection (and its slot) until the client leaves */
int io_stall(struct conn *c, const char *where)
{
    char scratch[4096];

    peer_log(c->id, "fault stall %s: holding the connection until the client closes", where);
    for (;;) {
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            break;
        ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            break;
    }
    c->why = "stalled; client closed";
    c->dead = true;
    return -1;
}

/* io_kill - end the connection now: FIN, or RST when rst (linger 0) */
void io_kill(struct conn *c, bool rst)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };

    pthread_mutex_lock(&c->p->lock);
    if (c->fd >= 0) {
        if (rst)
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(c->fd);
        c->fd = -1;
    }
    pthread_mutex_unlock(&c->p->lock);
    c->dead = true;
}
