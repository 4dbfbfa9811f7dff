/*
 * main.c - pandora_hostd: command line, daemon life, the status listener's
 * view of the host, and the signal loop.
 *
 * Exit status: 0 success; 1 a configuration, module or runtime error (the
 * log says which); 2 bad command line. --status: 0 all is well, 1 a remote
 * is failing or a service is down, 3 the daemon could not be asked;
 * --poll: 0 requested, 1 no such remote, 3 the daemon could not be asked.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "hostconf.h"
#include "httpd.h"
#include "log.h"
#include "pidfile.h"
#include "signals.h"
#include "statusclient.h"
#include "xalloc.h"

enum main_mode { MODE_RUN, MODE_CHECK, MODE_ONCE, MODE_STATUS, MODE_POLL };

struct main_opts {
    struct host_paths paths;
    enum main_mode mode;
    bool foreground;
    bool json;                  /* --status --json */
    const char *poll;           /* --poll NAME */
};

/* How long the listener waits for a reload to finish before it answers
 * 503: a request must never hang on the host. */
#define MAIN_LIVE_WAIT_MS 2000

/*
 * The running host as the status listener sees it. The main thread
 * reloads (and may replace) the host under the write lock; the listener
 * thread takes snapshots and polls under the read lock. Only the main
 * thread touches `httpd` and `status`.
 */
struct main_live {
    pthread_rwlock_t lock;
    struct host *host;
    struct httpd *httpd;
    struct hostconf_status status;  /* the listener's settings (copies) */
};

static void main_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: pandora_hostd [OPTION]...\n"
            "Run the Pandora FMS server host: load modules (such as "
            "syncserver)\nand run the services enabled in "
            "pandora_server.conf.\n\n"
            "  -c, --config FILE       pandora_server.conf (default: "
            "server_conf\n"
            "                          in pandora_hostd.conf, else %s/"
            "pandora_server.conf)\n"
            "  -H, --host-config FILE  pandora_hostd.conf (default: %s)\n"
            "  -f, --foreground        do not detach; log to stderr unless "
            "log_file is set\n"
            "  -t, --check-config      validate both files and every module, "
            "print the\n"
            "                          effective settings (secrets masked), "
            "exit 0 or 1\n"
            "      --once              run one cycle of every enabled service "
            "and exit;\n"
            "                          non-zero if any failed\n"
            "      --status [--json]   ask the running daemon (status.listen/"
            "port in\n"
            "                          pandora_hostd.conf) and print a table "
            "(or the\n"
            "                          JSON); exit 1 when a remote is failing "
            "or a\n"
            "                          service is down, 3 when it cannot be "
            "asked\n"
            "      --poll NAME         ask the running daemon to poll remote "
            "NAME now\n"
            "  -V, --version           print the version and exit\n"
            "  -h, --help              print this help and exit\n\n"
            "Signals: TERM/INT stop gracefully, HUP reloads both files (a "
            "broken\nconfiguration is refused and the running one kept), "
            "USR1 asks every\nservice to work now.\n",
            PANDORACONFDIR, HOST_DEFAULT_HOSTCONF);
}

/* main_parse - command line into opts; exits on --help, --version, errors */
static void main_parse(int argc, char **argv, struct main_opts *o)
{
    enum { OPT_ONCE = 256, OPT_STATUS, OPT_JSON, OPT_POLL };
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "host-config", required_argument, NULL, 'H' },
        { "foreground", no_argument, NULL, 'f' },
        { "check-config", no_argument, NULL, 't' },
        { "once", no_argument, NULL, OPT_ONCE },
        { "status", no_argument, NULL, OPT_STATUS },
        { "json", no_argument, NULL, OPT_JSON },
        { "poll", required_argument, NULL, OPT_POLL },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    o->paths.host_conf = HOST_DEFAULT_HOSTCONF;
    while ((c = getopt_long(argc, argv, "c:H:ftVh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->paths.server_conf = optarg; break;
        case 'H':
            o->paths.host_conf = optarg;
            o->paths.host_conf_given = true;
            break;
        case 'f': o->foreground = true; break;
        case 't': o->mode = MODE_CHECK; break;
        case OPT_ONCE: o->mode = MODE_ONCE; break;
        case OPT_STATUS: o->mode = MODE_STATUS; break;
        case OPT_JSON: o->json = true; break;
        case OPT_POLL: o->mode = MODE_POLL; o->poll = optarg; break;
        case 'V': printf("pandora_hostd %s\n", PACKAGE_VERSION); exit(0);
        case 'h': main_usage(stdout); exit(0);
        default: main_usage(stderr); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pandora_hostd: unexpected argument '%s'\n",
                argv[optind]);
        main_usage(stderr);
        exit(2);
    }
    if (o->json && o->mode != MODE_STATUS) {
        fprintf(stderr, "pandora_hostd: --json goes with --status\n");
        exit(2);
    }
}

/* main_check_token - a token file the listener could not read fails
 * --check-config too (the token itself is never printed) */
static unsigned main_check_token(const struct hostconf *hc)
{
    struct pandora_error err = { "" };
    char *token = NULL;

    if (!hc->status.enabled || hc->status.token_file == NULL)
        return 0;
    if (httpd_token_load(hc->status.token_file, &token, &err) < 0) {
        log_error("%s", err.text);
        return 1;
    }
    httpd_token_free(token);
    return 0;
}

/* main_check - --check-config: print what would run, judge it */
static int main_check(struct host *h)
{
    unsigned failures = host_failures(h) + main_check_token(host_hostconf(h));

    host_print(h, stdout);
    fflush(stdout);
    if (access(host_incomingdir(h), W_OK | X_OK) < 0)
        log_warning("incomingdir %s is not usable yet (%s); create it, "
                    "writable by the user pandora_hostd runs as, before "
                    "starting", host_incomingdir(h), strerror(errno));
    if (failures > 0) {
        log_error("configuration check failed: %u module(s) or service(s) "
                  "have errors (see above)", failures);
        return 1;
    }
    fprintf(stderr, "pandora_hostd: configuration OK\n");
    return 0;
}

/* main_detach - become a daemon unless --foreground; take the pid file */
static int main_detach(const struct main_opts *o, const struct hostconf *hc,
                       struct pidfile **pf_r)
{
    struct pandora_error err = { "" };

    if (!o->foreground && hc->log_file == NULL) {
        log_error("running as a daemon needs log_file in pandora_hostd.conf; "
                  "set it, or run with --foreground (as systemd does)");
        return -EINVAL;
    }
    if (pidfile_create(hc->pid_file, pf_r, &err) < 0) {
        if (o->foreground && err.text[0] != '\0' && !strstr(err.text, "holds")) {
            log_warning("%s; going on without a pid file", err.text);
            return 0;
        }
        log_error("%s", err.text);
        return -EEXIST;
    }
    if (o->foreground)
        return 0;
    if (daemon(0, 0) < 0) {
        log_error("cannot become a daemon: %s", strerror(errno));
        return -errno;
    }
    return pidfile_rewrite(*pf_r);
}

/* main_live_rdlock - the read lock, or false when a reload holds the
 * write lock for longer than the listener may wait */
static bool main_live_rdlock(struct main_live *live)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += MAIN_LIVE_WAIT_MS / 1000;
    until.tv_nsec += (MAIN_LIVE_WAIT_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return pthread_rwlock_timedrdlock(&live->lock, &until) == 0;
}

/* main_snapshot - httpd_source.snapshot, on the listener thread */
static struct pandora_status *main_snapshot(void *cls)
{
    struct main_live *live = cls;

    if (!main_live_rdlock(live))
        return NULL;
    struct pandora_status *st = host_status(live->host);
    pthread_rwlock_unlock(&live->lock);
    return st;
}

/* main_poll_target - httpd_source.poll, on the listener thread */
static int main_poll_target(void *cls, const char *target)
{
    struct main_live *live = cls;

    if (!main_live_rdlock(live))
        return -EAGAIN;
    int rc = host_poll_target(live->host, target);
    pthread_rwlock_unlock(&live->lock);
    return rc;
}

/* main_status_copy - keep the listener's settings to notice changes */
static void main_status_copy(struct hostconf_status *to,
                             const struct hostconf_status *from)
{
    free(to->listen);
    free(to->token_file);
    to->enabled = from->enabled;
    to->listen = from->listen ? xstrdup(from->listen) : NULL;
    to->port = from->port;
    to->token_file = from->token_file ? xstrdup(from->token_file) : NULL;
}

/* main_status_free - the copies main_status_copy made */
static void main_status_free(struct hostconf_status *s)
{
    free(s->listen);
    free(s->token_file);
    memset(s, 0, sizeof(*s));
}

/* main_status_same - would the listener bind and guard the same way? */
static bool main_status_same(const struct hostconf_status *a,
                             const struct hostconf_status *b)
{
    return a->enabled == b->enabled && a->port == b->port &&
           strcmp(a->listen ? a->listen : "", b->listen ? b->listen : "")
               == 0 &&
           (a->token_file == NULL) == (b->token_file == NULL) &&
           (a->token_file == NULL || strcmp(a->token_file, b->token_file)
                                         == 0);
}

/* main_listener_start - start the listener with `conf` (if enabled) */
static int main_listener_start(struct main_live *live,
                               const struct hostconf_status *conf,
                               const char *file, struct pandora_error *err)
{
    const struct httpd_source src = { main_snapshot, main_poll_target, live };

    main_status_copy(&live->status, conf);
    if (!conf->enabled) {
        log_info("status listener disabled (status.enabled = false)");
        return 0;
    }
    int rc = httpd_start(conf, file, NULL, &src, &live->httpd, err);
    if (rc == 0)
        log_info("status page at http://%s/ (also /status.json, /metrics, "
                 "/healthz)%s", httpd_address(live->httpd),
                 conf->token_file ? "; a bearer token is required" : "");
    return rc;
}

/* main_listener_reload - after a reload: restart the listener if its
 * settings changed (falling back to the old ones) or it is down, else
 * re-read the token */
static void main_listener_reload(struct main_live *live)
{
    const struct hostconf *hc = host_hostconf(live->host);
    struct pandora_error err = { "" };
    struct hostconf_status old = { .enabled = false };

    if (main_status_same(&live->status, &hc->status) &&
        (live->httpd != NULL || !hc->status.enabled)) {
        if (live->httpd != NULL && hc->status.token_file != NULL &&
            httpd_token_reload(live->httpd, hc->status.token_file, &err) < 0)
            log_error("%s; the previous token stays in force", err.text);
        return;
    }
    main_status_copy(&old, &live->status);
    httpd_stop(live->httpd);
    live->httpd = NULL;
    if (main_listener_start(live, &hc->status, hc->path, &err) < 0) {
        log_error("%s; keeping the previous status listener settings",
                  err.text);
        if (main_listener_start(live, &old, hc->path, &err) < 0)
            log_error("%s; the status listener is off until the next "
                      "reload", err.text);
    }
    main_status_free(&old);
}

/* main_reload - SIGHUP: both files, under the write lock (a rebuild
 * replaces the host the listener reads), then the listener */
static void main_reload(struct main_live *live)
{
    struct pandora_error err = { "" };

    log_info("received SIGHUP, reloading the configuration");
    pthread_rwlock_wrlock(&live->lock);
    int rc = host_reload(&live->host, &err);
    pthread_rwlock_unlock(&live->lock);
    if (rc < 0) {
        log_error("reload refused, the previous configuration keeps "
                  "running: %s", err.text);
        return;
    }
    const struct hostconf *hc = host_hostconf(live->host);
    if (log_open(hc->log_file, &err) < 0)
        log_error("%s", err.text);
    main_listener_reload(live);
}

/* main_loop - wait for signals until TERM/INT */
static void main_loop(struct main_live *live)
{
    for (;;) {
        int sig = signals_wait(1000);

        if (sig == SIGTERM || sig == SIGINT) {
            log_info("received %s, stopping", strsignal(sig));
            return;
        }
        if (sig == SIGHUP) {
            main_reload(live);
        } else if (sig == SIGUSR1) {
            log_info("received SIGUSR1, polling every service now");
            host_poll(live->host);
        } else {
            log_flush();
        }
    }
}

/* main_ask - --status / --poll: only pandora_hostd.conf is read */
static int main_ask(const struct main_opts *o)
{
    struct pandora_error err = { "" };
    struct hostconf *hc = NULL;

    if (hostconf_load(o->paths.host_conf, o->paths.host_conf_given, &hc,
                      &err) < 0) {
        fprintf(stderr, "pandora_hostd: %s\n", err.text);
        return STATUSCLIENT_UNREACHABLE;
    }
    int rc = o->mode == MODE_POLL ? statusclient_poll(hc, o->poll, stdout)
                                  : statusclient_status(hc, o->json, stdout);
    hostconf_free(hc);
    return rc;
}

/* main_run - the daemon: start, serve the status, loop, stop */
static int main_run(const struct main_opts *o, struct host *h)
{
    struct main_live live = { .host = h };
    struct pandora_error err = { "" };
    struct pidfile *pf = NULL;

    if (main_detach(o, host_hostconf(h), &pf) < 0)
        return 1;
    pthread_rwlock_init(&live.lock, NULL);
    /* the listener first: a taken port fails the start before any service
     * runs; its requests wait for the lock until the services have started */
    pthread_rwlock_wrlock(&live.lock);
    int rc = main_listener_start(&live, &host_hostconf(h)->status,
                                 host_hostconf(h)->path, &err);
    if (rc == 0)
        rc = host_start(h, &err);
    pthread_rwlock_unlock(&live.lock);
    if (rc == 0) {
        log_info("pandora_hostd %s started (pid %ld)", PACKAGE_VERSION,
                 (long)getpid());
        main_loop(&live);
    } else {
        log_error("%s", err.text);
    }
    /* the listener goes first: nothing may read the host while it stops */
    httpd_stop(live.httpd);
    main_status_free(&live.status);
    host_stop(live.host);
    host_free(live.host);
    pthread_rwlock_destroy(&live.lock);
    pidfile_remove(pf);
    if (rc == 0)
        log_info("pandora_hostd stopped");
    log_flush();
    log_close();
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct main_opts o = { .mode = MODE_RUN };
    struct pandora_error err = { "" };
    struct host *h = NULL;

    main_parse(argc, argv, &o);
    if (o.mode == MODE_STATUS || o.mode == MODE_POLL)
        return main_ask(&o);
    /* TLS key logging would leak session keys of every remote. */
    unsetenv("SSLKEYLOGFILE");
    if (signals_setup() < 0)
        log_fatal("cannot set up signal handling: %s", strerror(errno));
    if (host_build(&o.paths, &h, &err) < 0)
        log_fatal("%s", err.text);
    if (o.mode == MODE_CHECK) {
        int rc = main_check(h);
        host_free(h);
        return rc;
    }
    if (log_open(host_hostconf(h)->log_file, &err) < 0)
        log_fatal("%s", err.text);
    if (o.mode == MODE_ONCE) {
        unsigned failed = host_run_once(h);
        host_stop(h);
        host_free(h);
        log_flush();
        return failed > 0 ? 1 : 0;
    }
    return main_run(&o, h);
}
