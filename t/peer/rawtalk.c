/* rawtalk.c - scripted raw TCP conversations for the peer's self-test (test-only)
 *
 * Usage: rawtalk [-t TIMEOUT_MS] HOST PORT STEP...
 * Steps, run in order on one plain connection:
 *   send:TEXT    one write() of TEXT; C escapes \n \r \t \\ \xNN are decoded
 *   line         read one line, print "line: <escaped>"
 *   expect:TEXT  read one line, which must equal TEXT (escapes decoded)
 *   bytes:N      read exactly N bytes, print "bytes: <escaped>"
 *   eof          the server must close within the timeout, sending nothing more
 *   sleep:MS     pause
 * On a failed step it prints "EOF", "TIMEOUT" or "MISMATCH: ..." and exits 1;
 * 0 when every step passed; 2 on usage or connect errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct talk {
    int fd;
    unsigned timeout_ms;
    char buf[65536];
    size_t len;
};

/* number - strict decimal or -1 */
static long long number(const char *s, unsigned long long max)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    return errno != 0 || *end != '\0' || v > max ? -1 : (long long)v;
}

/* unescape - decode C escapes of s into out; returns the length */
static size_t unescape(const char *s, char *out)
{
    size_t o = 0;

    for (; *s != '\0'; s++) {
        if (*s != '\\' || s[1] == '\0') {
            out[o++] = *s;
            continue;
        }
        s++;
        if (*s == 'n')
            out[o++] = '\n';
        else if (*s == 'r')
            out[o++] = '\r';
        else if (*s == 't')
            out[o++] = '\t';
        else if (*s == 'x' && s[1] != '\0' && s[2] != '\0') {
            char hex[3] = { s[1], s[2], '\0' };

            out[o++] = (char)strtoul(hex, NULL, 16);
            s += 2;
        } else
            out[o++] = *s;
    }
    return o;
}

/* print_escaped - data with control bytes escaped */
static void print_escaped(const char *tag, const char *data, size_t len)
{
    printf("%s: ", tag);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)data[i];

        if (ch == '\n')
            fputs("\\n", stdout);
        else if (ch < 0x20 || ch >= 0x7f || ch == '\\')
            printf("\\x%02x", ch);
        else
            putchar(ch);
    }
    putchar('\n');
}

/* fill - read more within the timeout: 1 data, 0 EOF, -1 timeout or error */
static int fill(struct talk *t)
{
    struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
    ssize_t n;

    if (t->len == sizeof(t->buf))
        return -1;
    if (poll(&pfd, 1, (int)t->timeout_ms) <= 0)
        return -1;
    n = recv(t->fd, t->buf + t->len, sizeof(t->buf) - t->len, 0);
    if (n < 0)
        return errno == ECONNRESET ? 0 : -1;
    t->len += (size_t)n;
    return n > 0 ? 1 : 0;
}

/* take - wait until n bytes (or a line when n == 0) are buffered; report failures */
static int take(struct talk *t, size_t n, size_t *got)
{
    for (;;) {
        char *nl = n == 0 ? memchr(t->buf, '\n', t->len) : NULL;

        if (n == 0 && nl != NULL) {
            *got = (size_t)(nl - t->buf) + 1;
            return 0;
        }
        if (n > 0 && t->len >= n) {
            *got = n;
            return 0;
        }
        int r = fill(t);
        if (r <= 0) {
            if (t->len > 0)
                print_escaped("partial", t->buf, t->len);
            puts(r == 0 ? "EOF" : "TIMEOUT");
            return -1;
        }
    }
}

/* consume - drop the first n buffered bytes */
static void consume(struct talk *t, size_t n)
{
    memmove(t->buf, t->buf + n, t->len - n);
    t->len -= n;
}

/* step - run one step; 0 passed */
static int step(struct talk *t, const char *s)
{
    char *tmp = malloc(strlen(s) + 1);
    size_t got = 0;
    long long v;
    int rc = 0;

    if (tmp == NULL)
        return -1;
    if (strncmp(s, "send:", 5) == 0) {
        size_t n = unescape(s + 5, tmp);
        rc = send(t->fd, tmp, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
        if (rc < 0)
            puts("SEND FAILED");
    } else if (strcmp(s, "line") == 0 || strncmp(s, "expect:", 7) == 0) {
        rc = take(t, 0, &got);
        if (rc == 0 && s[0] == 'e') {
            size_t n = unescape(s + 7, tmp);
            if (got - 1 != n || memcmp(t->buf, tmp, n) != 0) {
                print_escaped("MISMATCH", t->buf, got - 1);
                rc = -1;
            }
        }
        if (rc == 0)
            print_escaped("line", t->buf, got - 1);
        if (rc == 0)
            consume(t, got);
    } else if (strncmp(s, "bytes:", 6) == 0 && (v = number(s + 6, sizeof(t->buf))) >= 0) {
        rc = take(t, (size_t)v, &got);
        if (rc == 0 && v > 0) {
            print_escaped("bytes", t->buf, got);
            consume(t, got);
        }
    } else if (strcmp(s, "eof") == 0) {
        int r = 0;

        while (t->len == 0 && (r = fill(t)) > 0)
            ;
        if (t->len > 0) {
            print_escaped("DATA", t->buf, t->len);
            rc = -1;
        } else {
            puts(r == 0 ? "EOF" : "TIMEOUT");
            rc = r == 0 ? 0 : -1;
        }
    } else if (strncmp(s, "sleep:", 6) == 0 && (v = number(s + 6, 600000)) >= 0) {
        struct timespec ts = { .tv_sec = v / 1000, .tv_nsec = (v % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    } else {
        fprintf(stderr, "rawtalk: bad step '%s'\n", s);
        rc = -2;
    }
    free(tmp);
    return rc;
}

/* main - connect and run the steps */
int main(int argc, char **argv)
{
    static struct talk t = { .fd = -1, .timeout_ms = 3000 };
    struct sockaddr_in sa = { .sin_family = AF_INET };
    struct sigaction ign = { .sa_handler = SIG_IGN };
    int i = 1;
    long long v;

    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, NULL);
    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        if ((v = number(argv[2], 600000)) < 0)
            return 2;
        t.timeout_ms = (unsigned)v;
        i = 3;
    }
    if (argc - i < 2 || inet_pton(AF_INET, argv[i], &sa.sin_addr) != 1 ||
        (v = number(argv[i + 1], 65535)) <= 0) {
        fputs("usage: rawtalk [-t TIMEOUT_MS] IPV4 PORT STEP...\n", stderr);
        return 2;
    }
    sa.sin_port = htons((unsigned short)v);
    t.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (t.fd < 0 || connect(t.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("rawtalk: connect");
        return 2;
    }
    for (i += 2; i < argc; i++) {
        int rc = step(&t, argv[i]);

        if (rc != 0) {
            close(t.fd);
            return rc == -2 ? 2 : 1;
        }
    }
    close(t.fd);
    return 0;
}
