/* peer_conn.c - one test peer connection: TLS, PASS, then the command loop
 *
 * Matching follows the stock server's Perl regexes: /^SEND <(.*)> SIZE (\d+)$/,
 * /^RECV <(.*)>$/, /^LS <(.*)>$/, /^MV <(.*)>$/, /^QUIT$/, where "." never matches
 * "\n" and "$" also matches before one final "\n". The loop ends on an empty
 * command or "0" (Perl false), QUIT, and anything unknown: a silent close.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"

#define CHUNK 65536

/* payload - progress of one MV/RECV payload */
struct payload {
    unsigned long long size;            /* the SIZE we announced */
    unsigned long long done;
    const char *path;                   /* for --unlink-before-last-byte */
    bool unlinked;
};

/* perl_len - the command length up to where Perl's "$" can match (before a final "\n") */
static size_t perl_len(const struct conn *c)
{
    if (c->cmd_len > 0 && c->cmd[c->cmd_len - 1] == '\n')
        return c->cmd_len - 1;
    return c->cmd_len;
}

/* match_name - /^<verb> <(.*)>$/: the name, NUL-terminated in place, or NULL */
static char *match_name(struct conn *c, const char *verb)
{
    size_t vlen = strlen(verb), len = perl_len(c);

    if (len < vlen + 3 || memcmp(c->cmd, verb, vlen) != 0 || c->cmd[vlen] != ' ' ||
        c->cmd[vlen + 1] != '<' || c->cmd[len - 1] != '>')
        return NULL;
    if (memchr(c->cmd + vlen + 2, '\n', len - vlen - 3) != NULL)
        return NULL;
    c->cmd[len - 1] = '\0';
    return c->cmd + vlen + 2;
}

/* match_send - /^SEND <(.*)> SIZE (\d+)$/: name (in place) and the digits, or -1 */
static int match_send(struct conn *c, char **name, char **digits)
{
    static const char mid[] = "> SIZE ";
    size_t len = perl_len(c), d = len;

    while (d > 0 && c->cmd[d - 1] >= '0' && c->cmd[d - 1] <= '9')
        d--;
    if (d == len || d < 6 + sizeof(mid) - 1 || memcmp(c->cmd, "SEND <", 6) != 0 ||
        memcmp(c->cmd + d - (sizeof(mid) - 1), mid, sizeof(mid) - 1) != 0)
        return -1;
    if (memchr(c->cmd + 6, '\n', d - (sizeof(mid) - 1) - 6) != NULL)
        return -1;
    c->cmd[d - (sizeof(mid) - 1)] = '\0';
    c->cmd[len] = '\0';
    *name = c->cmd + 6;
    *digits = c->cmd + d;
    return 0;
}

/* read_ack - read the client's answer to a SIZE line: 1 accepted, 0 declined, -1 gone */
static int read_ack(struct conn *c, const char *want)
{
    if (io_recv_command(c) < 0)
        return -1;
    peer_log_cmd(c->id, "ack", c->cmd, c->cmd_len);
    if (strcmp(c->cmd, want) == 0 && strlen(want) == c->cmd_len)
        return 1;
    peer_log(c->id, "declined: the file is kept, no reply");
    return 0;
}

/* payload_piece - one write of a payload, with the stall/unlink-early knobs */
static int payload_piece(struct conn *c, const char *data, size_t len, struct payload *pl)
{
    const struct faults *f = &c->p->f;
    bool last = pl->done + len >= pl->size;

    unsigned long long half = pl->size / 2;

    if (fault_on(c) && f->stall == STALL_PAYLOAD && pl->done + len > half) {
        size_t keep = pl->done < half ? (size_t)(half - pl->done) : 0;

        if (keep > 0 && io_write(c, data, keep, false) < 0)
            return -1;
        return io_stall(c, "payload");
    }
    if (last && !pl->unlinked && fault_on(c) && f->unlink_early && pl->path != NULL) {
        peer_log(c->id, "fault unlink-before-last-byte");
        unlink(pl->path);
        pl->unlinked = true;
    }
    pl->done += len;
    return io_write(c, data, len, last);
}

/* next_piece - the end of the next piece in buf[off, have): a line, or what must go */
static size_t next_piece(const char *buf, size_t off, size_t have, bool eof)
{
    const char *nl = memchr(buf + off, '\n', have - off);

    if (nl != NULL)
        return (size_t)(nl - buf) + 1;
    if ((eof && off < have) || (off == 0 && have == CHUNK))
        return have;
    return 0;
}

/* send_lines - the MV payload: one write per line, read until EOF like Perl's <FILE> */
static int send_lines(struct conn *c, int fd, struct payload *pl)
{
    char *buf = malloc(CHUNK);
    size_t have = 0;
    bool eof = false;
    int rc = 0;

    if (buf == NULL)
        return -1;
    while (rc == 0 && !(eof && have == 0)) {
        size_t off = 0, end;

        if (!eof) {
            ssize_t n = read(fd, buf + have, CHUNK - have);

            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                eof = true;
            else
                have += (size_t)n;
        }
        while (rc == 0 && (end = next_piece(buf, off, have, eof)) != 0) {
            rc = payload_piece(c, buf + off, end - off, pl);
            off = end;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    free(buf);
    return rc;
}

/* send_blocks - the RECV payload: PEER_BLOCK-byte writes until EOF */
static int send_blocks(struct conn *c, int fd, struct payload *pl)
{
    char buf[PEER_BLOCK];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        if (payload_piece(c, buf, (size_t)n, pl) < 0)
            return -1;
    }
}

/* open_regular - open path for reading if it is a regular file; -1 otherwise */
static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);  /* never block on a FIFO */

    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* finish_mv - after the MV payload: crash/unlink knobs, else unlink (no confirmation) */
static void finish_mv(struct conn *c, struct payload *pl)
{
    const struct faults *f = &c->p->f;

    if (fault_on(c) && f->crash_before_unlink) {
        peer_log(c->id, "fault crash-before-unlink: exiting now");
        _exit(3);
    }
    if (fault_on(c) && f->unlink_fail) {
        peer_log(c->id, "fault unlink-fail: %s kept", pl->path);
        return;
    }
    if (!pl->unlinked && unlink(pl->path) == 0)
        peer_log(c->id, "unlinked %llu bytes", pl->done);
}

/* cmd_mv - MV <name>: SIZE, ack, one write per line, then unlink */
static int cmd_mv(struct conn *c, const char *name)
{
    char path[PATH_MAX];
    struct payload pl = { .path = path };
    struct stat st;
    int fd, rc;

    if (!peer_name_valid(name, strlen(name)) || peer_path(c->p, name, path, sizeof(path)) < 0 ||
        (fault_on(c) && c->p->f.garbage == GARBAGE_MVERR))
        return io_reply(c, "MV ERR");
    fd = open_regular(path, &st);
    if (fd < 0)
        return io_reply(c, "MV ERR");
    pl.size = (unsigned long long)st.st_size;
    rc = fault_size_line(c, "MV", pl.size);
    if (rc == 0)
        rc = read_ack(c, "MV OK");
    if (rc == 1) {
        io_reply_delay(c);
        rc = send_lines(c, fd, &pl);
        if (rc == 0) {
            finish_mv(c, &pl);
            rc = fault_extra_line(c, "MV");
        }
    }
    close(fd);
    return rc < 0 ? -1 : 0;
}

/* cmd_recv - RECV <name>: SIZE, ack, PEER_BLOCK-byte writes; the file is kept */
static int cmd_recv(struct conn *c, const char *name)
{
    char path[PATH_MAX];
    struct payload pl = { .path = NULL };
    struct stat st;
    int fd, rc;

    if (!peer_name_valid(name, strlen(name)))
        return io_reply(c, "RECV ERR (file has an invalid file name)");
    if (peer_path(c->p, name, path, sizeof(path)) < 0 || (fd = open_regular(path, &st)) < 0)
        return io_reply(c, "RECV ERR (file does not exist)");
    pl.size = (unsigned long long)st.st_size;
    rc = fault_size_line(c, "RECV", pl.size);
    if (rc == 0)
        rc = read_ack(c, "RECV OK");
    if (rc == 1) {
        io_reply_delay(c);
        rc = send_blocks(c, fd, &pl);
        if (rc == 0)
            rc = fault_extra_line(c, "RECV");
    }
    close(fd);
    return rc < 0 ? -1 : 0;
}

/* listing - LS entries as one buffer: shuffled readdir, invalid names hidden */
struct listing {
    char **names;
    size_t n, cap;
    char *evil;                         /* --evil-names block, already "\n"-separated */
    size_t evil_len;
    size_t bytes;                       /* names + evil, with their "\n"s */
};

/* listing_add - keep a copy of one name */
static int listing_add(struct listing *l, const char *name, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap * 2 + 64;
        char **n = realloc(l->names, cap * sizeof(*n));

        if (n == NULL)
            return -1;
        l->names = n;
        l->cap = cap;
    }
    l->names[l->n] = strndup(name, len);
    return l->names[l->n] != NULL ? (int)(l->n++, 0) : -1;
}

/* listing_free - release a listing */
static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->evil);
}

/* listing_read - readdir dir into l, hiding invalid names, then shuffle */
static int listing_read(struct conn *c, const char *dir, struct listing *l)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned int seed = (unsigned int)(peer_now_ms() ^ (long long)c->id * 2654435761LL);

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (peer_name_valid(e->d_name, strlen(e->d_name)) &&
            listing_add(l, e->d_name, strlen(e->d_name)) < 0)
            break;
    closedir(d);
    if (!c->p->ls_sorted)
        for (size_t i = l->n; i > 1; i--) {
            size_t j = (size_t)rand_r(&seed) % i;
            char *t = l->names[i - 1];

            l->names[i - 1] = l->names[j];
            l->names[j] = t;
        }
    if (c->faulty && c->p->f.evil_names) {
        l->evil = malloc(8192);
        if (l->evil != NULL)
            l->evil_len = fault_evil_names(l->evil, 8192);
    }
    return 0;
}

/* listing_send - the names (and --evil-names) as one write, then any --huge-ls entries */
static int listing_send(struct conn *c, const struct listing *l, unsigned long long total)
{
    unsigned long long huge = total - l->bytes;
    char *buf = malloc(l->bytes > CHUNK ? l->bytes : CHUNK);
    unsigned long next = 0;
    size_t o = 0;
    int rc;

    if (buf == NULL)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        size_t n = strlen(l->names[i]);

        memcpy(buf + o, l->names[i], n);
        buf[o + n] = '\n';
        o += n + 1;
    }
    if (l->evil_len > 0)
        memcpy(buf + o, l->evil, l->evil_len);
    io_reply_delay(c);
    rc = io_write(c, buf, l->bytes, huge == 0);
    while (rc == 0 && huge > 0) {
        o = fault_huge_ls(c, buf, CHUNK, &next);
        huge -= o;
        rc = io_write(c, buf, o, huge == 0);
    }
    free(buf);
    return rc;
}

/* cmd_ls - LS <arg>: the arg only picks the directory (via -i) */
static int cmd_ls(struct conn *c, const char *arg)
{
    char dir[PATH_MAX];
    const char *sub = peer_route_dir(c->p, arg);
    struct listing l = { 0 };
    unsigned long long total = 0;
    int rc;

    if (!peer_name_valid(arg, strlen(arg)))
        return io_reply(c, "LS ERR");
    snprintf(dir, sizeof(dir), "%s%s%s", c->p->storage, sub != NULL ? "/" : "", sub ? sub : "");
    if (listing_read(c, dir, &l) < 0) {
        listing_free(&l);
        return io_reply(c, "LS ERR");
    }
    for (size_t i = 0; i < l.n; i++)
        l.bytes += strlen(l.names[i]) + 1;
    l.bytes += l.evil_len;
    total = l.bytes;
    if (c->faulty && c->p->f.huge_ls > 0)
        total += fault_huge_ls_size(c);
    rc = fault_size_line(c, "LS", total);
    if (rc == 0)
        rc = read_ack(c, "LS OK");
    if (rc == 1) {
        rc = listing_send(c, &l, total);
        if (rc == 0)
            rc = fault_extra_line(c, "LS");
    }
    listing_free(&l);
    return rc < 0 ? -1 : 0;
}

/* store_payload - receive size bytes into fd as they arrive (non-atomic, like Perl) */
static int store_payload(struct conn *c, int fd, unsigned long long size)
{
    char buf[16384];

    while (size > 0) {
        size_t want = size < sizeof(buf) ? (size_t)size : sizeof(buf);
        ssize_t n = io_read_some(c, buf, want);

        if (n <= 0)
            return -1;
        if (write(fd, buf, (size_t)n) != n) {
            c->why = "cannot write the stored file";
            return -1;
        }
        size -= (unsigned long long)n;
    }
    return 0;
}

/* send_checks - the stock server's refusals in its order; 1 refused (replied), 0 go on */
static int send_checks(struct conn *c, const char *name, const char *digits,
                       const char *path, unsigned long long *size)
{
    struct stat st;

    if (!peer_name_valid(name, strlen(name)))
        return io_reply(c, "SEND ERR (invalid file name)") < 0 ? -1 : 1;
    if (parse_ull(digits, ULLONG_MAX, size) < 0 || *size == 0 || *size > c->p->max_size)
        return io_reply(c, "SEND ERR (file is too big)") < 0 ? -1 : 1;
    if (!c->p->overwrite && stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return io_reply(c, "SEND ERR (file already exists)") < 0 ? -1 : 1;
    return 0;
}

/* cmd_send - SEND <name> SIZE n: checks, "SEND OK", data, "SEND OK" */
static int cmd_send(struct conn *c, const char *name, const char *digits)
{
    const struct faults *f = &c->p->f;
    char path[PATH_MAX];
    unsigned long long size = 0;
    int fd, rc;

    if (peer_path(c->p, name, path, sizeof(path)) < 0)
        path[0] = '\0';
    rc = send_checks(c, name, digits, path, &size);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (fault_on(c) && f->send_fail == SEND_FAIL_BEFORE_OK) {
        peer_log(c->id, "fault send-fail before_ok");
        c->why = "fault send-fail before_ok";
        return -1;
    }
    if (io_reply(c, "SEND OK") < 0)
        return -1;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        c->why = "cannot create the file";      /* Perl's error() ends the connection */
        return -1;
    }
    rc = store_payload(c, fd, size);
    close(fd);
    if (rc < 0)
        return -1;
    peer_log(c->id, "stored %llu bytes", size);
    if (fault_on(c) && f->send_fail == SEND_FAIL_AFTER_DATA) {
        peer_log(c->id, "fault send-fail after_data");
        c->why = "fault send-fail after_data";
        return -1;
    }
    if (io_reply(c, "SEND OK") < 0)
        return -1;
    return fault_extra_line(c, "SEND");
}

/* is_quit - /^QUIT$/ */
static bool is_quit(const struct conn *c)
{
    return perl_len(c) == 4 && memcmp(c->cmd, "QUIT", 4) == 0;
}

/* tls_alert_fault - --tls-fault alert: a fatal alert instead of the first reply */
static int tls_alert_fault(struct conn *c)
{
    peer_log(c->id, "fault tls alert internal_error after the handshake");
    gnutls_alert_send(c->tls, GNUTLS_AL_FATAL, GNUTLS_A_INTERNAL_ERROR);
    c->why = "fault tls alert";
    return -1;
}

/* dispatch - run one command; -1 ends the connection (silently) */
static int dispatch(struct conn *c)
{
    const struct peer *p = c->p;
    char *name, *digits;

    if (fault_on(c) && p->f.stall == STALL_REPLY)
        return io_stall(c, "reply");
    if (fault_on(c) && p->f.tls == TLS_FAULT_ALERT && c->tls != NULL)
        return tls_alert_fault(c);
    if (match_send(c, &name, &digits) == 0)
        return cmd_send(c, name, digits);
    if ((name = match_name(c, "RECV")) != NULL)
        return cmd_recv(c, name);
    if (p->insecure && (name = match_name(c, "LS")) != NULL)
        return cmd_ls(c, name);
    if (p->insecure && (name = match_name(c, "MV")) != NULL)
        return cmd_mv(c, name);
    c->why = is_quit(c) ? "quit" : "unknown command";
    return -1;
}

/* authenticate - -x: the first line must be PASS with the right digest */
static int authenticate(struct conn *c)
{
    size_t len;

    if (io_recv_command(c) < 0)
        return -1;
    peer_log_cmd(c->id, "cmd", c->cmd, c->cmd_len);
    fault_begin_command(c);
    if (fault_on(c) && c->p->f.stall == STALL_REPLY)
        return io_stall(c, "reply");
    len = perl_len(c);
    if (len < 5 || memcmp(c->cmd, "PASS ", 5) != 0 || memchr(c->cmd, '\n', len) != NULL) {
        c->why = "no PASS first";
        return -1;
    }
    if (len != 5 + 32 || memcmp(c->cmd + 5, c->p->digest, 32) != 0) {
        c->why = "wrong password";
        return -1;
    }
    return io_reply(c, "PASS OK");
}

/* serve - the life of one connection until it ends */
static void serve(struct conn *c)
{
    const struct peer *p = c->p;

    if (c->faulty && p->f.stall == STALL_HANDSHAKE) {
        io_stall(c, "handshake");
        return;
    }
    if (p->cert != NULL && tls_accept(c) < 0)
        return;
    if (p->digest[0] != '\0' && authenticate(c) < 0)
        return;
    while (!c->dead && io_recv_command(c) == 0) {
        c->ncmds++;
        peer_log_cmd(c->id, "cmd", c->cmd, c->cmd_len);
        if (c->cmd_len == 0 || (c->cmd_len == 1 && c->cmd[0] == '0')) {
            c->why = "empty or \"0\" command";
            break;
        }
        fault_begin_command(c);
        if (dispatch(c) < 0)
            break;
    }
}

/* conn_main - thread body: serve, then free the slot */
void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct peer *p = c->p;

    serve(c);
    peer_log(c->id, "close reason=\"%s\" cmds=%lu sent=%llu early=%lu", c->why ? c->why : "?",
             c->ncmds, c->sent, c->early);
    tls_end(c);
    pthread_mutex_lock(&p->lock);
    if (c->fd >= 0)
        close(c->fd);
    for (struct conn **pp = &p->conns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    p->active--;
    p->early_total += c->early;
    pthread_cond_broadcast(&p->idle_cond);
    pthread_mutex_unlock(&p->lock);
    if (write(p->wake_fd[1], "x", 1) < 0) {
        /* the pipe is non-blocking; a full pipe already wakes the main loop */
    }
    free(c->cmd);
    free(c);
    return NULL;
}
