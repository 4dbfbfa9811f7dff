/* agentsim.c - upload agent-like data files to a Tentacle server, like Pandora agents do
 *
 * Test-only. Sends N files "<agent>.<unix_ts>.data" with SEND <name> SIZE n over one
 * lock-step connection (plain or TLS, optional client certificate and password), at
 * a given rate. Bodies are plausible ~4 KB agent XML, deterministic from
 * (--seed, --agent, file number). Each file the server stored (second "SEND OK") is
 * written to the --manifest as "name<TAB>size<TAB>sha256hex".
 * Exit: 0 all sent, 1 some failed, 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tclient.h"

struct sim {
    struct tc_opts o;
    const char *agent;
    unsigned long long files, seed, size, ts, slow_ms, idle_ms;
    double rate;
    const char *manifest;
    bool quiet;
};

/* mix - splitmix64 step: the deterministic body generator */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* fnv1a - hash of the agent name, so agents with one seed differ */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* append - printf into buf at *len, never past cap */
__attribute__((format(printf, 4, 5)))
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*len >= cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
}

/* make_body - the agent XML for file number idx (about target bytes) */
static size_t make_body(const struct sim *s, unsigned long long idx, time_t ts, char *buf,
                        size_t cap)
{
    static const char *const mods[] = { "cpu_user", "cpu_system", "load_average",
                                        "memory_free", "disk_root_free", "net_in_bytes",
                                        "net_out_bytes", "proc_count", "swap_used",
                                        "tcp_established" };
    static const char *const units[] = { "%", "%", "", "MB", "%", "B/s", "B/s", "", "MB", "" };
    uint64_t st = s->seed ^ fnv1a(s->agent) ^ (idx * 0xD1B54A32D192ED03ULL);
    char when[32];
    struct tm tm;
    size_t len = 0;

    gmtime_r(&ts, &tm);
    strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S", &tm);
    append(buf, cap, &len, "<?xml version='1.0' encoding='UTF-8'?>\n"
           "<agent_data description='' group='Servers' os_name='Linux' os_version='6.1'"
           " interval='300' version='7.0NG.777' timestamp='%s' agent_name='%s'"
           " timezone_offset='0' address='10.%u.%u.%u' parent_agent_name='' agent_alias='%s'>\n",
           when, s->agent, (unsigned)(mix(&st) % 256), (unsigned)(mix(&st) % 256),
           (unsigned)(mix(&st) % 254 + 1), s->agent);
    for (unsigned m = 0; len + 290 < s->size && len + 290 < cap; m++) {
        unsigned k = (unsigned)(mix(&st) % 10);

        append(buf, cap, &len, "  <module>\n    <name><![CDATA[%s_%u]]></name>\n"
               "    <description><![CDATA[%s sampled by agentsim]]></description>\n"
               "    <type><![CDATA[generic_data]]></type>\n"
               "    <data><![CDATA[%llu]]></data>\n    <unit><![CDATA[%s]]></unit>\n"
               "  </module>\n", mods[k], m, mods[k],
               (unsigned long long)(mix(&st) % 100000), units[k]);
    }
    append(buf, cap, &len, "</agent_data>\n");
    return len;
}

/* sha256_hex - the manifest checksum */
static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];

    gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, md);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* send_payload - the data, in 256-byte pieces --slow-ms apart when asked */
static int send_payload(struct tc *c, const struct sim *s, const char *body, size_t len)
{
    struct timespec ts = { .tv_sec = (time_t)(s->slow_ms / 1000),
                           .tv_nsec = (long)(s->slow_ms % 1000) * 1000000L };

    if (s->slow_ms == 0)
        return tc_send(c, body, len);
    for (size_t o = 0; o < len; o += 256) {
        if (tc_send(c, body + o, len - o < 256 ? len - o : 256) < 0)
            return -1;
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* send_file - one SEND in lock-step: 1 stored, 0 refused (ERR line), -1 connection lost */
static int send_file(struct tc *c, const struct sim *s, const char *name, const char *body,
                     size_t len)
{
    char line[512], reply[300];

    snprintf(line, sizeof(line), "SEND <%s> SIZE %zu", name, len);
    if (tc_command(c, line, reply, sizeof(reply)) < 0)
        return -1;
    if (strcmp(reply, "SEND OK") != 0) {
        if (!s->quiet)
            fprintf(stderr, "agentsim: %s refused: %s\n", name, reply);
        return 0;
    }
    if (send_payload(c, s, body, len) < 0 || tc_line(c, reply, sizeof(reply)) < 0)
        return -1;
    if (strcmp(reply, "SEND OK") != 0) {
        snprintf(c->err, sizeof(c->err), "unexpected reply after the data: %.100s", reply);
        return -1;
    }
    return 1;
}

/* pace - wait until file i is due at --rate files/s */
static void pace(const struct sim *s, long long start_us, unsigned long long i)
{
    if (s->rate <= 0)
        return;
    long long due = start_us + (long long)((double)i * 1e6 / s->rate);
    long long left = due - tc_now_us();
    if (left > 0) {
        struct timespec ts = { .tv_sec = (time_t)(left / 1000000),
                               .tv_nsec = (long)(left % 1000000) * 1000L };
        nanosleep(&ts, NULL);
    }
}

/* upload_one - send file i, reconnecting once when the connection was lost */
static int upload_one(struct tc *c, const struct sim *s, unsigned long long i, FILE *man,
                      long long *last_us)
{
    char name[300], hex[65], *body = malloc(s->size + 4096);
    time_t ts = (time_t)(s->ts + i);
    size_t len;
    int rc = -1;

    if (body == NULL)
        return -1;
    snprintf(name, sizeof(name), "%s.%lld.data", s->agent, (long long)ts);
    len = make_body(s, i, ts, body, s->size + 4096);
    for (int attempt = 0; attempt < 2 && rc < 0; attempt++) {
        /* the server's idle timer would close a connection left quiet too long */
        if (c->fd >= 0 && tc_now_us() - *last_us > (long long)s->idle_ms * 1000)
            tc_close(c, true);
        if (c->fd < 0 && tc_connect(c, &s->o) < 0)
            break;
        rc = send_file(c, s, name, body, len);
        *last_us = tc_now_us();
        if (rc < 0)
            tc_close(c, false);
    }
    if (rc < 0 && !s->quiet)
        fprintf(stderr, "agentsim: %s not sent: %s\n", name, c->err);
    if (rc == 1 && man != NULL) {
        sha256_hex(body, len, hex);
        fprintf(man, "%s\t%zu\t%s\n", name, len, hex);
    }
    free(body);
    return rc;
}

static const struct option opts[] = {
    { "host", required_argument, NULL, 'a' }, { "port", required_argument, NULL, 'p' },
    { "port-file", required_argument, NULL, 'P' }, { "files", required_argument, NULL, 'n' },
    { "rate", required_argument, NULL, 'r' }, { "agent", required_argument, NULL, 'A' },
    { "seed", required_argument, NULL, 'S' }, { "size", required_argument, NULL, 'z' },
    { "ts", required_argument, NULL, 'T' }, { "manifest", required_argument, NULL, 'M' },
    { "tls", no_argument, NULL, 't' }, { "ca", required_argument, NULL, 'C' },
    { "cert", required_argument, NULL, 'c' }, { "key", required_argument, NULL, 'k' },
    { "password", required_argument, NULL, 'x' }, { "timeout-ms", required_argument, NULL, 'w' },
    { "slow-ms", required_argument, NULL, 'l' }, { "idle-ms", required_argument, NULL, 'i' },
    { "quiet", no_argument, NULL, 'q' }, { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* usage - option summary */
static void usage(FILE *to)
{
    fputs("usage: agentsim -p PORT|--port-file F [-a HOST] [-n FILES] [--rate FILES_PER_S]\n"
          "  [--agent NAME] [--seed N] [--size BYTES] [--ts UNIX_TS] [--manifest FILE]\n"
          "  [--tls [--ca CA] [--cert C --key K]] [--password PWD] [--timeout-ms MS]\n"
          "  [--slow-ms MS] [--idle-ms MS] [-q]\n", to);
}

/* number - a numeric option or exit 2 */
static unsigned long long number(const char *what, const char *arg, unsigned long long max)
{
    unsigned long long v;

    if (parse_ull(arg, max, &v) < 0) {
        fprintf(stderr, "agentsim: %s: '%s' is not a number in 0..%llu\n", what, arg, max);
        exit(2);
    }
    return v;
}

/* parse_rate - files per second, a non-negative decimal */
static double parse_rate(const char *arg)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (errno != 0 || *end != '\0' || end == arg || !(v >= 0)) {
        fprintf(stderr, "agentsim: --rate: '%s' is not a rate\n", arg);
        exit(2);
    }
    return v;
}

/* parse - fill s from argv */
static void parse(struct sim *s, int argc, char **argv)
{
    const char *port_file = NULL;
    int ch;

    while ((ch = getopt_long(argc, argv, "a:p:n:r:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'a': s->o.host = optarg; break;
        case 'p': s->o.port = (unsigned)number("--port", optarg, 65535); break;
        case 'P': port_file = optarg; break;
        case 'n': s->files = number("--files", optarg, 100000000); break;
        case 'r': s->rate = parse_rate(optarg); break;
        case 'A': s->agent = optarg; break;
        case 'S': s->seed = number("--seed", optarg, ~0ULL); break;
        case 'z': s->size = number("--size", optarg, 64 << 20); break;
        case 'T': s->ts = number("--ts", optarg, 1ULL << 40); break;
        case 'M': s->manifest = optarg; break;
        case 't': s->o.tls = true; break;
        case 'C': s->o.ca = optarg; break;
        case 'c': s->o.cert = optarg; break;
        case 'k': s->o.key = optarg; break;
        case 'x': s->o.password = optarg; break;
        case 'w': s->o.timeout_ms = (unsigned)number("--timeout-ms", optarg, 3600000); break;
        case 'l': s->slow_ms = number("--slow-ms", optarg, 60000); break;
        case 'i': s->idle_ms = number("--idle-ms", optarg, 3600000); break;
        case 'q': s->quiet = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (port_file != NULL && tc_read_port_file(port_file, &s->o.port) < 0) {
        fprintf(stderr, "agentsim: cannot read a port from %s\n", port_file);
        exit(2);
    }
    if (optind != argc || s->o.port == 0 || (s->o.cert == NULL) != (s->o.key == NULL) ||
        s->agent[0] == '\0' || !tc_name_ok(s->agent, strlen(s->agent))) {
        usage(stderr);
        exit(2);
    }
}

/* main - upload --files files, print a summary line */
int main(int argc, char **argv)
{
    struct sim s = {
        .o = { .host = "127.0.0.1", .timeout_ms = 10000, .quickack = true },
        .agent = "agent01", .files = 100, .seed = 1, .size = 3933,
        .ts = (unsigned long long)time(NULL), .idle_ms = 3000,
    };
    struct sigaction sa = { .sa_handler = SIG_IGN };
    unsigned long long sent = 0, failed = 0;
    long long start, last = 0;
    struct tc c;
    FILE *man = NULL;

    parse(&s, argc, argv);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    if (s.manifest != NULL && (man = fopen(s.manifest, "we")) == NULL) {
        fprintf(stderr, "agentsim: cannot write %s: %s\n", s.manifest, strerror(errno));
        return 2;
    }
    tc_init(&c);
    start = tc_now_us();
    for (unsigned long long i = 0; i < s.files; i++) {
        pace(&s, start, i);
        if (upload_one(&c, &s, i, man, &last) == 1)
            sent++;
        else
            failed++;
    }
    tc_close(&c, true);
    if (man != NULL && fclose(man) != 0) {
        fprintf(stderr, "agentsim: cannot write %s\n", s.manifest);
        failed++;
    }
    printf("sent=%llu failed=%llu seconds=%.3f\n", sent, failed,
           (double)(tc_now_us() - start) / 1e6);
    return failed == 0 ? 0 : 1;
}
