/* baseline.c - the simple sequential drain client the benchmark compares against
 *
 * Test-only. Like the reference client measured in PROTOCOL.md §6: one connection
 * (plain or TLS, optional client certificate and password), one "LS <>", then for
 * every listed name ending in ".data" (skipping ".", "..", invalid names) a lock-step
 * MV, written to "<out>/<name>.<pid>.part" and renamed to "<out>/<name>". TCP_QUICKACK is
 * set after every read unless --no-quickack. No fsync: it measures the protocol.
 * Prints "files=N bytes=B errors=E seconds=S files_per_s=R".
 * Exit: 0 ok, 1 a connection or write error, 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tclient.h"

#define MAX_LISTING (256ULL << 20)      /* a bigger listing is an error, not a crash */

struct base {
    struct tc_opts o;
    const char *out;
    unsigned long long limit;
    unsigned long long files, bytes, errors;
};

/* read_listing - LS <> in lock-step; returns the malloc'd listing, NUL-terminated */
static char *read_listing(struct tc *c, size_t *len)
{
    char reply[300];
    unsigned long long n;
    char *buf;

    if (tc_command(c, "LS <>", reply, sizeof(reply)) < 0)
        return NULL;
    if (strncmp(reply, "LS SIZE ", 8) != 0 || parse_ull(reply + 8, MAX_LISTING, &n) < 0) {
        snprintf(c->err, sizeof(c->err), "unexpected LS reply: %.100s", reply);
        return NULL;
    }
    buf = malloc(n + 1);
    if (buf == NULL)
        return NULL;
    if (tc_send(c, "LS OK\n", 6) < 0 || tc_read(c, buf, n) < 0) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* wanted - a listed name worth an MV: valid, not "."/"..", ending in ".data" */
static bool wanted(const char *name, size_t len)
{
    return tc_name_ok(name, len) && len > 5 && strcmp(name + len - 5, ".data") == 0 &&
           strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* copy_payload - n bytes from the connection into fd */
static int copy_payload(struct tc *c, int fd, unsigned long long n)
{
    char buf[16384];

    while (n > 0) {
        size_t want = n < sizeof(buf) ? (size_t)n : sizeof(buf);

        if (tc_read(c, buf, want) < 0)
            return -1;
        if (write(fd, buf, want) != (ssize_t)want) {
            snprintf(c->err, sizeof(c->err), "cannot write: %s", strerror(errno));
            return -1;
        }
        n -= want;
    }
    return 0;
}

/* move_one - MV one name into out/; 1 moved, 0 skipped (MV ERR), -1 fatal */
static int move_one(struct tc *c, struct base *b, const char *name)
{
    char line[300], reply[300], tmp[4096], dst[4096];
    unsigned long long n;
    int fd, rc;

    snprintf(line, sizeof(line), "MV <%s>", name);
    if (tc_command(c, line, reply, sizeof(reply)) < 0)
        return -1;
    if (strcmp(reply, "MV ERR") == 0)
        return 0;
    if (strncmp(reply, "MV SIZE ", 8) != 0 || parse_ull(reply + 8, 1ULL << 40, &n) < 0) {
        snprintf(c->err, sizeof(c->err), "unexpected MV reply: %.100s", reply);
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s/%s.%ld.part", b->out, name, (long)getpid());
    snprintf(dst, sizeof(dst), "%s/%s", b->out, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(c->err, sizeof(c->err), "cannot create %.300s: %s", tmp, strerror(errno));
        return -1;
    }
    rc = tc_send(c, "MV OK\n", 6) < 0 ? -1 : copy_payload(c, fd, n);
    if (close(fd) < 0 || rc < 0 || rename(tmp, dst) < 0) {
        if (rc == 0)
            snprintf(c->err, sizeof(c->err), "cannot publish %.300s: %s", dst, strerror(errno));
        unlink(tmp);
        return -1;
    }
    b->bytes += n;
    return 1;
}

/* drain - LS once, then MV every wanted name in listing order */
static int drain(struct tc *c, struct base *b)
{
    size_t len = 0;
    char *list = read_listing(c, &len), *name, *end;
    int rc = 0;

    if (list == NULL)
        return -1;
    for (name = list; rc >= 0 && name < list + len; name = end + 1) {
        end = memchr(name, '\n', (size_t)(list + len - name));
        if (end == NULL)
            end = list + len;
        *end = '\0';
        if (!wanted(name, (size_t)(end - name)))
            continue;
        if (b->limit > 0 && b->files >= b->limit)
            break;
        rc = move_one(c, b, name);
        if (rc == 1)
            b->files++;
        else if (rc == 0)
            b->errors++;
    }
    free(list);
    return rc < 0 ? -1 : 0;
}

static const struct option opts[] = {
    { "host", required_argument, NULL, 'a' }, { "port", required_argument, NULL, 'p' },
    { "port-file", required_argument, NULL, 'P' }, { "out", required_argument, NULL, 'o' },
    { "limit", required_argument, NULL, 'n' }, { "tls", no_argument, NULL, 't' },
    { "ca", required_argument, NULL, 'C' }, { "cert", required_argument, NULL, 'c' },
    { "key", required_argument, NULL, 'k' }, { "password", required_argument, NULL, 'x' },
    { "timeout-ms", required_argument, NULL, 'w' }, { "no-quickack", no_argument, NULL, 'Q' },
    { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
};

/* usage - option summary */
static void usage(FILE *to)
{
    fputs("usage: baseline -p PORT|--port-file F -o OUTDIR [-a HOST] [--limit N]\n"
          "  [--tls [--ca CA] [--cert C --key K]] [--password PWD] [--timeout-ms MS]\n"
          "  [--no-quickack]\n", to);
}

/* number - a numeric option or exit 2 */
static unsigned long long number(const char *what, const char *arg, unsigned long long max)
{
    unsigned long long v;

    if (parse_ull(arg, max, &v) < 0) {
        fprintf(stderr, "baseline: %s: '%s' is not a number in 0..%llu\n", what, arg, max);
        exit(2);
    }
    return v;
}

/* parse - fill b from argv */
static void parse(struct base *b, int argc, char **argv)
{
    const char *port_file = NULL;
    int ch;

    while ((ch = getopt_long(argc, argv, "a:p:o:n:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'a': b->o.host = optarg; break;
        case 'p': b->o.port = (unsigned)number("--port", optarg, 65535); break;
        case 'P': port_file = optarg; break;
        case 'o': b->out = optarg; break;
        case 'n': b->limit = number("--limit", optarg, ~0ULL); break;
        case 't': b->o.tls = true; break;
        case 'C': b->o.ca = optarg; break;
        case 'c': b->o.cert = optarg; break;
        case 'k': b->o.key = optarg; break;
        case 'x': b->o.password = optarg; break;
        case 'w': b->o.timeout_ms = (unsigned)number("--timeout-ms", optarg, 3600000); break;
        case 'Q': b->o.quickack = false; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (port_file != NULL && tc_read_port_file(port_file, &b->o.port) < 0) {
        fprintf(stderr, "baseline: cannot read a port from %s\n", port_file);
        exit(2);
    }
    if (optind != argc || b->o.port == 0 || b->out == NULL ||
        (b->o.cert == NULL) != (b->o.key == NULL)) {
        usage(stderr);
        exit(2);
    }
}

/* main - connect, drain, print the rate */
int main(int argc, char **argv)
{
    struct base b = { .o = { .host = "127.0.0.1", .timeout_ms = 10000, .quickack = true } };
    struct sigaction sa = { .sa_handler = SIG_IGN };
    struct tc c;
    long long start;
    double secs;
    int rc;

    parse(&b, argc, argv);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    tc_init(&c);
    start = tc_now_us();
    rc = tc_connect(&c, &b.o) < 0 ? -1 : drain(&c, &b);
    if (rc < 0)
        fprintf(stderr, "baseline: %s\n", c.err);
    tc_close(&c, rc == 0);
    secs = (double)(tc_now_us() - start) / 1e6;
    printf("files=%llu bytes=%llu errors=%llu seconds=%.3f files_per_s=%.1f\n", b.files,
           b.bytes, b.errors, secs, secs > 0 ? (double)b.files / secs : 0.0);
    return rc < 0 ? 1 : 0;
}
