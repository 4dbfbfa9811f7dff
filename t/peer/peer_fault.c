/* peer_fault.c - the test peer's fault knobs (PROTOCOL.md §8), all off by default
 *
 * Scope: a knob hits only connections 1..--fault-conns (all when 0). Command knobs
 * (stall reply/payload, wrong-size, huge-line, garbage, send-fail, unlink knobs,
 * tls alert) also need the command to start with --fault-cmd (any when unset) and,
 * with --fault-nth N, to be the Nth such command on its connection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

/* parse_num - a decimal option value into *out, or -1 with a message */
static int parse_num(const char *name, const char *arg, unsigned long long max,
                     unsigned long long *out)
{
    if (parse_ull(arg, max, out) < 0) {
        fprintf(stderr, "tentacle_peer: --%s: '%s' is not a number in 0..%llu\n", name, arg, max);
        return -1;
    }
    return 0;
}

/* pick - index of arg in the NULL-terminated words, or -1 with a message */
static int pick(const char *name, const char *arg, const char *const *words)
{
    for (int i = 0; words[i] != NULL; i++)
        if (strcmp(arg, words[i]) == 0)
            return i;
    fprintf(stderr, "tentacle_peer: --%s: unknown value '%s'\n", name, arg);
    return -1;
}

/* wrong_size_option - --wrong-size +K|-K|2^64|neg|nonnum */
static int wrong_size_option(struct faults *f, const char *arg)
{
    static const char *const words[] = { "2^64", "neg", "nonnum", NULL };
    unsigned long long k;

    if (arg[0] == '+' || arg[0] == '-') {
        if (parse_num("wrong-size", arg + 1, 1ULL << 40, &k) < 0)
            return -1;
        f->wrong_size = WS_DELTA;
        f->ws_delta = arg[0] == '-' ? -(long long)k : (long long)k;
        return 0;
    }
    int i = pick("wrong-size", arg, words);
    if (i < 0)
        return -1;
    f->wrong_size = (enum wrong_size)(WS_2P64 + i);
    return 0;
}

/* enum_option - the knobs taking one word */
static int enum_option(struct faults *f, const char *name, const char *arg)
{
    static const char *const stalls[] = { "accept", "handshake", "reply", "payload", NULL };
    static const char *const garbage[] = { "mverr", "extra", "lssize", NULL };
    static const char *const tls[] = { "refuse", "1.2only", "1.3only", "alert", NULL };
    static const char *const sendf[] = { "before_ok", "after_data", NULL };
    int i;

    if (strcmp(name, "stall") == 0 && (i = pick(name, arg, stalls)) >= 0)
        f->stall = (enum stall_mode)(STALL_ACCEPT + i);
    else if (strcmp(name, "garbage") == 0 && (i = pick(name, arg, garbage)) >= 0)
        f->garbage = (enum garbage_mode)(GARBAGE_MVERR + i);
    else if (strcmp(name, "tls-fault") == 0 && (i = pick(name, arg, tls)) >= 0)
        f->tls = (enum tls_fault)(TLS_FAULT_REFUSE + i);
    else if (strcmp(name, "send-fail") == 0 && (i = pick(name, arg, sendf)) >= 0)
        f->send_fail = (enum send_fail)(SEND_FAIL_BEFORE_OK + i);
    else
        return -1;
    return 0;
}

/* num_option - the knobs taking one number */
static int num_option(struct faults *f, const char *name, const char *arg)
{
    unsigned long long v;

    if (parse_num(name, arg, 1ULL << 40, &v) < 0)
        return -1;
    if (strcmp(name, "drop-after") == 0)
        f->drop_after = (long long)v;
    else if (strcmp(name, "drip") == 0)
        f->drip_ms = (unsigned)v;
    else if (strcmp(name, "drip-bytes") == 0 && v > 0)
        f->drip_bytes = (size_t)v;
    else if (strcmp(name, "huge-line") == 0 && v < (64ULL << 20))
        f->huge_line = (size_t)v;
    else if (strcmp(name, "huge-ls") == 0)
        f->huge_ls = (unsigned long)v;
    else if (strcmp(name, "hold") == 0 && v < 100000)
        f->hold = (unsigned)v;
    else if (strcmp(name, "fault-conns") == 0)
        f->only_conns = (unsigned long)v;
    else if (strcmp(name, "fault-nth") == 0)
        f->nth = (unsigned long)v;
    else {
        fprintf(stderr, "tentacle_peer: --%s: value %llu out of range\n", name, v);
        return -1;
    }
    return 0;
}

/* fault_option - apply one fault option; 0 done, 1 not a fault option, -1 bad value */
int fault_option(struct peer *p, const char *name, const char *arg)
{
    static const char *const nums[] = { "drop-after", "drip", "drip-bytes", "huge-line",
                                        "huge-ls", "hold", "fault-conns", "fault-nth", NULL };
    static const char *const words[] = { "stall", "garbage", "tls-fault", "send-fail", NULL };
    struct faults *f = &p->f;

    for (int i = 0; nums[i] != NULL; i++)
        if (strcmp(name, nums[i]) == 0)
            return num_option(f, name, arg);
    for (int i = 0; words[i] != NULL; i++)
        if (strcmp(name, words[i]) == 0)
            return enum_option(f, name, arg);
    if (strcmp(name, "wrong-size") == 0)
        return wrong_size_option(f, arg);
    if (strcmp(name, "fault-cmd") == 0)
        f->cmd_prefix = arg;
    else if (strcmp(name, "slow-upload") == 0)
        f->slow_upload = (char *)arg;
    else if (strcmp(name, "drop-rst") == 0)
        f->drop_rst = true;
    else if (strcmp(name, "evil-names") == 0)
        f->evil_names = true;
    else if (strcmp(name, "unlink-fail") == 0)
        f->unlink_fail = true;
    else if (strcmp(name, "unlink-before-last-byte") == 0)
        f->unlink_early = true;
    else if (strcmp(name, "crash-before-unlink") == 0)
        f->crash_before_unlink = true;
    else
        return 1;
    return 0;
}

/* fault_begin_command - decide whether command knobs hit the command just read */
void fault_begin_command(struct conn *c)
{
    const struct faults *f = &c->p->f;
    size_t plen;

    c->cmd_fault = false;
    if (!c->faulty)
        return;
    if (f->cmd_prefix != NULL) {
        plen = strlen(f->cmd_prefix);
        if (c->cmd_len < plen || memcmp(c->cmd, f->cmd_prefix, plen) != 0)
            return;
    }
    c->matched++;
    c->cmd_fault = f->nth == 0 || c->matched == f->nth;
}

/* fault_on - whether command knobs hit the current command */
bool fault_on(const struct conn *c)
{
    return c->cmd_fault;
}

/* huge_line - --huge-line: a reply line of n bytes without a size in it */
static int huge_line(struct conn *c, const char *cmd)
{
    size_t n = c->p->f.huge_line;
    char *line = malloc(n + 1);
    int rc, head;

    if (line == NULL)
        return -1;
    memset(line, 'x', n);
    head = snprintf(line, n, "%s SIZE ", cmd);
    if (head > 0 && (size_t)head < n)
        line[head] = '9';               /* snprintf's NUL lands inside the line */
    line[n] = '\n';
    peer_log(c->id, "fault huge-line %zu bytes", n);
    io_reply_delay(c);
    rc = io_write(c, line, n + 1, true);
    free(line);
    return rc;
}

/* fault_size_line - "<cmd> SIZE <size>", bent by wrong-size/garbage/huge-line when hit */
int fault_size_line(struct conn *c, const char *cmd, unsigned long long size)
{
    const struct faults *f = &c->p->f;
    const char *word = cmd;

    if (!c->cmd_fault)
        return io_reply(c, "%s SIZE %llu", cmd, size);
    if (f->huge_line > 0)
        return huge_line(c, cmd);
    if (f->garbage == GARBAGE_LSSIZE)
        word = "LS";
    switch (f->wrong_size) {
    case WS_DELTA:
        return io_reply(c, "%s SIZE %lld", word, (long long)size + f->ws_delta);
    case WS_2P64:
        return io_reply(c, "%s SIZE 18446744073709551616", word);
    case WS_NEG:
        return io_reply(c, "%s SIZE -%llu", word, size > 0 ? size : 1);
    case WS_NONNUM:
        return io_reply(c, "%s SIZE 12ab", word);
    case WS_NONE:
        break;
    }
    return io_reply(c, "%s SIZE %llu", word, size);
}

/* fault_extra_line - --garbage extra: an unasked-for line after a complete reply */
int fault_extra_line(struct conn *c, const char *cmd)
{
    if (!c->cmd_fault || c->p->f.garbage != GARBAGE_EXTRA)
        return 0;
    return io_reply(c, "%s OK", cmd);
}

/* The --evil-names entries: what a hostile remote could list (PROTOCOL.md §8). */
static const char *const evil[] = {
    "../evil.1.data", "/etc/evil.2.data", "a\nb.3.data", "ctl\001\177.4.data",
    "cr\r.5.data", "\377\376\300.6.data", ".hidden.7.data", "..8.data", "star*.9.data",
    "colon:10.data", "x~tmp", "", NULL,
};

/* fault_evil_names - append the evil entries (each + "\n") to buf; returns bytes */
size_t fault_evil_names(char *buf, size_t cap)
{
    size_t o = 0;
    char longname[320];

    for (int i = 0; evil[i] != NULL; i++) {
        size_t n = strlen(evil[i]);

        if (o + n + 1 > cap)
            return o;
        memcpy(buf + o, evil[i], n);
        o += n;
        buf[o++] = '\n';
    }
    memset(longname, 'l', 300);
    memcpy(longname + 300, ".11.data\n", 9);
    if (o + 309 <= cap) {
        memcpy(buf + o, longname, 309);
        o += 309;
    }
    return o;
}

/* huge_entry - the --huge-ls entry number i (with its "\n") into out; returns bytes */
static size_t huge_entry(unsigned long i, char *out, size_t cap)
{
    int n = snprintf(out, cap, "huge.%lu.data\n", i);

    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* fault_huge_ls_size - the listing bytes --huge-ls adds */
unsigned long long fault_huge_ls_size(const struct conn *c)
{
    unsigned long long total = 0;
    char tmp[64];

    for (unsigned long i = 0; i < c->p->f.huge_ls; i++)
        total += huge_entry(i, tmp, sizeof(tmp));
    return total;
}

/* fault_huge_ls - fill buf with --huge-ls entries from *next on; returns bytes */
size_t fault_huge_ls(const struct conn *c, char *buf, size_t cap, unsigned long *next)
{
    size_t o = 0;

    while (*next < c->p->f.huge_ls) {
        char tmp[64];
        size_t n = huge_entry(*next, tmp, sizeof(tmp));

        if (o + n > cap)
            break;
        memcpy(buf + o, tmp, n);
        o += n;
        (*next)++;
    }
    return o;
}

/* The --slow-upload writer: one file growing in storage, like a slow agent upload. */
static pthread_t slow_thread;
static bool slow_running;
static volatile int slow_stop;
static char slow_path[4096];
static unsigned long long slow_bytes;
static unsigned slow_ms;

/* slow_main - append 256-byte pieces slow_ms apart until slow_bytes are written */
static void *slow_main(void *arg)
{
    char piece[256];
    unsigned long long done = 0;
    int fd = open(slow_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    (void)arg;
    if (fd < 0)
        return NULL;
    memset(piece, 'g', sizeof(piece));
    piece[sizeof(piece) - 1] = '\n';
    while (!slow_stop && done < slow_bytes) {
        size_t n = slow_bytes - done < sizeof(piece) ? (size_t)(slow_bytes - done)
                                                      : sizeof(piece);
        if (write(fd, piece, n) != (ssize_t)n)
            break;
        done += n;
        peer_sleep_ms(slow_ms);
    }
    close(fd);
    peer_log(0, "slow-upload %s finished at %llu bytes", slow_path, done);
    return NULL;
}

/* fault_slow_upload_start - parse NAME:BYTES:MS and start the writer thread */
int fault_slow_upload_start(struct peer *p)
{
    char name[256];
    unsigned long long ms;
    const char *a = p->f.slow_upload, *b, *m;

    if (a == NULL)
        return 0;
    b = strchr(a, ':');
    m = b != NULL ? strchr(b + 1, ':') : NULL;
    if (b == NULL || m == NULL || (size_t)(b - a) >= sizeof(name) || b == a) {
        fprintf(stderr, "tentacle_peer: --slow-upload wants NAME:BYTES:MS\n");
        return -1;
    }
    snprintf(name, sizeof(name), "%.*s", (int)(b - a), a);
    char bytes[32];
    snprintf(bytes, sizeof(bytes), "%.*s", (int)(m - b - 1), b + 1);
    if (parse_num("slow-upload", bytes, 1ULL << 40, &slow_bytes) < 0 ||
        parse_num("slow-upload", m + 1, 3600000, &ms) < 0 ||
        peer_path(p, name, slow_path, sizeof(slow_path)) < 0)
        return -1;
    slow_ms = (unsigned)ms;
    if (pthread_create(&slow_thread, NULL, slow_main, NULL) != 0)
        return -1;
    slow_running = true;
    return 0;
}

/* fault_slow_upload_stop - stop and join the writer thread */
void fault_slow_upload_stop(void)
{
    if (!slow_running)
        return;
    slow_stop = 1;
    pthread_join(slow_thread, NULL);
    slow_running = false;
}
