/* tentacle_peer.c - the project's Tentacle test server: options, listener, -c slots
 *
 * Test-only. Imitates the stock Perl tentacle_server 0.6.2 on the wire (see peer.h
 * and t/peer/README). One thread per connection. The -c slots are taken before
 * accept(), like the stock server's semaphore: a client beyond -c completes its TCP
 * connect through the listen backlog but is not answered (not even TLS) and runs no
 * idle timer until a slot frees. SIGTERM/SIGINT end it cleanly (exit 0).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"

/* peer_now_ms - monotonic milliseconds */
long long peer_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* peer_sleep_ms - sleep ms milliseconds (restarted after signals) */
void peer_sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* usage - the option summary (README has the details) */
static void usage(FILE *to)
{
    fputs("usage: tentacle_peer -s STORAGE [options]\n"
          "  -a ADDR  -p PORT (0: pick one, print it)  -s DIR  -I  -o  -i 're:dir;...'\n"
          "  -x PWD  -e CERT -k KEY [-f CA]  -c N  -m BYTES  -t S  -r N\n"
          "  --idle-ms MS --log FILE|- --port-file FILE --delay-ms MS --backlog N\n"
          "  --ls-sorted --no-tickets\n"
          "  faults: --drop-after N [--drop-rst] --stall accept|handshake|reply|payload\n"
          "    --drip MS [--drip-bytes N] --wrong-size +K|-K|2^64|neg|nonnum --huge-line N\n"
          "    --huge-ls N --evil-names --garbage mverr|extra|lssize\n"
          "    --tls-fault refuse|1.2only|1.3only|alert --hold N --unlink-fail\n"
          "    --unlink-before-last-byte --crash-before-unlink --send-fail before_ok|after_data\n"
          "    --slow-upload NAME:BYTES:MS  scope: --fault-conns N --fault-cmd PREFIX --fault-nth N\n",
          to);
}

static const struct option long_opts[] = {
    { "idle-ms", required_argument, NULL, 0 }, { "log", required_argument, NULL, 0 },
    { "port-file", required_argument, NULL, 0 }, { "delay-ms", required_argument, NULL, 0 },
    { "backlog", required_argument, NULL, 0 }, { "ls-sorted", no_argument, NULL, 0 },
    { "no-tickets", no_argument, NULL, 0 }, { "help", no_argument, NULL, 'h' },
    { "drop-after", required_argument, NULL, 0 }, { "drop-rst", no_argument, NULL, 0 },
    { "stall", required_argument, NULL, 0 }, { "drip", required_argument, NULL, 0 },
    { "drip-bytes", required_argument, NULL, 0 }, { "wrong-size", required_argument, NULL, 0 },
    { "huge-line", required_argument, NULL, 0 }, { "huge-ls", required_argument, NULL, 0 },
    { "evil-names", no_argument, NULL, 0 }, { "garbage", required_argument, NULL, 0 },
    { "tls-fault", required_argument, NULL, 0 }, { "hold", required_argument, NULL, 0 },
    { "unlink-fail", no_argument, NULL, 0 },
    { "unlink-before-last-byte", no_argument, NULL, 0 },
    { "crash-before-unlink", no_argument, NULL, 0 },
    { "send-fail", required_argument, NULL, 0 }, { "slow-upload", required_argument, NULL, 0 },
    { "fault-conns", required_argument, NULL, 0 }, { "fault-cmd", required_argument, NULL, 0 },
    { "fault-nth", required_argument, NULL, 0 }, { NULL, 0, NULL, 0 },
};

/* num - a numeric option value in 0..max, or exit 2 */
static unsigned long long num(const char *what, const char *arg, unsigned long long max)
{
    unsigned long long v;

    if (parse_ull(arg, max, &v) < 0) {
        fprintf(stderr, "tentacle_peer: %s: '%s' is not a number in 0..%llu\n", what, arg, max);
        exit(2);
    }
    return v;
}

/* long_option - the options without a letter; 0 ok, -1 bad */
static int long_option(struct peer *p, const char *name, const char *arg, const char **log,
                       unsigned *idle)
{
    if (strcmp(name, "idle-ms") == 0)
        *idle = (unsigned)num("--idle-ms", arg, 86400000);
    else if (strcmp(name, "log") == 0)
        *log = arg;
    else if (strcmp(name, "port-file") == 0)
        p->port_file = arg;
    else if (strcmp(name, "delay-ms") == 0)
        p->delay_ms = (unsigned)num("--delay-ms", arg, 600000);
    else if (strcmp(name, "backlog") == 0)
        p->backlog = (int)num("--backlog", arg, 4096);
    else if (strcmp(name, "ls-sorted") == 0)
        p->ls_sorted = true;
    else if (strcmp(name, "no-tickets") == 0)
        p->tickets = false;
    else
        return fault_option(p, name, arg) == 0 ? 0 : -1;
    return 0;
}

/* short_option - the stock server's letters; 0 ok, -1 bad */
static int short_option(struct peer *p, int ch, const char *arg, unsigned *t, unsigned *r,
                        const char **pwd, const char **routes)
{
    switch (ch) {
    case 'a': p->addr = arg; break;
    case 'p': p->port = (unsigned)num("-p", arg, 65535); break;
    case 's': p->storage = arg; break;
    case 'I': p->insecure = true; break;
    case 'o': p->overwrite = true; break;
    case 'i': *routes = arg; break;
    case 'x': *pwd = arg; break;
    case 'e': p->cert = arg; break;
    case 'k': p->key = arg; break;
    case 'f': p->ca = arg; break;
    case 'c': p->slots = (unsigned)num("-c", arg, 100000); break;
    case 'm': p->max_size = num("-m", arg, ~0ULL); break;
    case 't': *t = (unsigned)num("-t", arg, 86400); break;
    case 'r': *r = (unsigned)num("-r", arg, 1000); break;
    case 'v': case 'q': break;          /* accepted for compatibility */
    default: return -1;
    }
    return 0;
}

/* parse_options - fill p from argv; exits 2 on a usage error */
static void parse_options(struct peer *p, int argc, char **argv, const char **log)
{
    const char *pwd = NULL, *routes = NULL;
    unsigned t = 1, r = 3, idle = 0;
    int ch, idx;

    while ((ch = getopt_long(argc, argv, "a:p:s:Ioi:x:e:k:f:c:m:t:r:vqh", long_opts, &idx)) != -1) {
        int rc;

        if (ch == 'h') {
            usage(stdout);
            exit(0);
        }
        rc = ch == 0 ? long_option(p, long_opts[idx].name, optarg, log, &idle)
                     : short_option(p, ch, optarg, &t, &r, &pwd, &routes);
        if (rc < 0) {
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc || p->storage == NULL || (p->cert == NULL) != (p->key == NULL) ||
        (p->ca != NULL && p->cert == NULL) || p->slots < 1 || p->max_size < 1) {
        fprintf(stderr, "tentacle_peer: need -s; -e and -k go together; -f needs -e; -c, -m >= 1\n");
        exit(2);
    }
    p->idle_ms = idle > 0 ? idle : t * (r + 1) * 1000;
    if (pwd != NULL && peer_pass_digest(pwd, p->digest) < 0)
        exit(1);
    if (routes != NULL && peer_routes_parse(p, routes) < 0)
        exit(2);
}

/* write_port_file - the bound port, written atomically so scripts never see half of it */
static int write_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    FILE *f;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -1;
    f = fopen(tmp, "we");
    if (f == NULL)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

/* open_listener - bind -a/-p and listen with the configured backlog */
static int open_listener(struct peer *p)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    int one = 1, fd;

    if (inet_pton(AF_INET, p->addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)p->port);
        len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, p->addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p->port);
        len = sizeof(*in6);
    } else {
        fprintf(stderr, "tentacle_peer: -a %s is not an IP address\n", p->addr);
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, p->backlog) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        fprintf(stderr, "tentacle_peer: cannot listen on %s port %u: %s\n", p->addr, p->port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    p->port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
    p->listen_fd = fd;
    return 0;
}

/* peer_name - "ip:port" of a connected socket */
static void peer_name(int fd, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    snprintf(out, outlen, "%s:%u", ip, port);
}

/* accept_one - take one waiting connection into a free slot and start its thread */
static void accept_one(struct peer *p)
{
    char from[80];
    pthread_attr_t attr;
    pthread_t tid;
    struct conn *c;
    int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0)
        return;                         /* EAGAIN, or the client already left */
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return;
    }
    c->p = p;
    c->fd = fd;
    pthread_mutex_lock(&p->lock);
    c->id = ++p->next_id;
    c->faulty = p->f.only_conns == 0 || c->id <= p->f.only_conns;
    c->next = p->conns;
    p->conns = c;
    if (++p->active > p->max_active)
        p->max_active = p->active;
    peer_name(fd, from, sizeof(from));
    peer_log(c->id, "open from=%s active=%u max=%u", from, p->active, p->max_active);
    pthread_mutex_unlock(&p->lock);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&tid, &attr, conn_main, c) != 0) {
        c->why = "no thread";
        conn_main(c);                   /* frees the slot and c */
    }
    pthread_attr_destroy(&attr);
}

/* slot_free - whether a slot is free for the next accept (--hold slots count as busy) */
static bool slot_free(struct peer *p)
{
    bool free_slot;

    pthread_mutex_lock(&p->lock);
    free_slot = p->active + p->f.hold < p->slots;
    pthread_mutex_unlock(&p->lock);
    return free_slot;
}

/* serve_loop - accept while slots are free, until a signal arrives on sigfd */
static void serve_loop(struct peer *p, int sigfd)
{
    char drain[64];

    while (!p->stopping) {
        bool can = p->f.stall != STALL_ACCEPT && slot_free(p);
        struct pollfd fds[3] = {
            { .fd = sigfd, .events = POLLIN },
            { .fd = p->wake_fd[0], .events = POLLIN },
            { .fd = p->listen_fd, .events = POLLIN },
        };

        if (poll(fds, can ? 3 : 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents != 0)
            p->stopping = 1;
        else if (fds[1].revents != 0)
            while (read(p->wake_fd[0], drain, sizeof(drain)) > 0)
                ;
        else if (can && fds[2].revents != 0)
            accept_one(p);
    }
}

/* shutdown_all - wake every connection thread and wait (bounded) for them to end */
static bool shutdown_all(struct peer *p)
{
    struct timespec until;
    bool done;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&p->lock);
    for (struct conn *c = p->conns; c != NULL; c = c->next)
        if (c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
    while (p->active > 0)
        if (pthread_cond_timedwait(&p->idle_cond, &p->lock, &until) == ETIMEDOUT)
            break;
    done = p->active == 0;
    pthread_mutex_unlock(&p->lock);
    return done;
}

/* setup_signals - ignore SIGPIPE; route SIGTERM/SIGINT/SIGHUP to a signalfd */
static int setup_signals(void)
{
    struct sigaction sa = { .sa_handler = SIG_IGN };
    sigset_t set;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);     /* before any thread: all inherit it */
    return signalfd(-1, &set, SFD_CLOEXEC);
}

/* announce - print the port (-p 0) and write --port-file once listening */
static int announce(const struct peer *p, bool picked)
{
    if (picked) {
        printf("%u\n", p->port);
        fflush(stdout);
    }
    peer_log(0, "listening on %s port %u slots=%u idle_ms=%u tls=%s", p->addr, p->port,
             p->slots, p->idle_ms, p->cert ? (p->ca ? "mutual" : "yes") : "no");
    if (p->port_file != NULL && write_port_file(p->port_file, p->port) < 0) {
        fprintf(stderr, "tentacle_peer: cannot write --port-file %s: %s\n", p->port_file,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* start - everything before the accept loop; 0 ok */
static int start(struct peer *p, const char *log, int *sigfd)
{
    struct stat st;

    if (stat(p->storage, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "tentacle_peer: -s %s is not a directory\n", p->storage);
        return -1;
    }
    if (log != NULL && peer_log_open(log) < 0) {
        fprintf(stderr, "tentacle_peer: cannot open --log %s: %s\n", log, strerror(errno));
        return -1;
    }
    if (p->cert != NULL && tls_setup(p) < 0)
        return -1;
    *sigfd = setup_signals();
    if (*sigfd < 0 || pipe2(p->wake_fd, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    if (open_listener(p) < 0)
        return -1;
    return fault_slow_upload_start(p);
}

/* main - parse, listen, serve until SIGTERM/SIGINT */
int main(int argc, char **argv)
{
    struct peer p = {
        .addr = "127.0.0.1", .port = 41121, .slots = 10, .backlog = 1,
        .max_size = 2000000, .tickets = true, .listen_fd = -1, .wake_fd = { -1, -1 },
        .lock = PTHREAD_MUTEX_INITIALIZER, .idle_cond = PTHREAD_COND_INITIALIZER,
        .f = { .drop_after = -1, .drip_bytes = 1 },
    };
    const char *log = NULL;
    int sigfd = -1, rc = 1;
    bool picked;

    parse_options(&p, argc, argv, &log);
    picked = p.port == 0;
    if (start(&p, log, &sigfd) == 0 && announce(&p, picked) == 0) {
        serve_loop(&p, sigfd);
        rc = 0;
    }
    if (p.listen_fd >= 0)
        close(p.listen_fd);
    fault_slow_upload_stop();
    if (!shutdown_all(&p)) {
        peer_log(0, "exit with %u connection(s) still running", p.active);
        _exit(rc);
    }
    peer_log(0, "summary connections=%lu max_active=%u early_total=%lu", p.next_id,
             p.max_active, p.early_total);
    peer_log_close();
    tls_cleanup(&p);
    peer_routes_free(&p);
    return rc;
}
