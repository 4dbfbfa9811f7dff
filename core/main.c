/*
 * main.c - pandora_hostd: command line, daemon life and the signal loop.
 *
 * Exit status: 0 success; 1 a configuration, module or runtime error (the
 * log says which); 2 bad command line.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "hostconf.h"
#include "log.h"
#include "pidfile.h"
#include "signals.h"

enum main_mode { MODE_RUN, MODE_CHECK, MODE_ONCE };

struct main_opts {
    struct host_paths paths;
    enum main_mode mode;
    bool foreground;
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
    enum { OPT_ONCE = 256 };
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "host-config", required_argument, NULL, 'H' },
        { "foreground", no_argument, NULL, 'f' },
        { "check-config", no_argument, NULL, 't' },
        { "once", no_argument, NULL, OPT_ONCE },
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
}

/* main_check - --check-config: print what would run, judge it */
static int main_check(struct host *h)
{
    unsigned failures = host_failures(h);

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

/* main_loop - wait for signals until TERM/INT */
static void main_loop(struct host **hp)
{
    for (;;) {
        int sig = signals_wait(1000);
        struct pandora_error err = { "" };

        if (sig == SIGTERM || sig == SIGINT) {
            log_info("received %s, stopping", strsignal(sig));
            return;
        }
        if (sig == SIGHUP) {
            log_info("received SIGHUP, reloading the configuration");
            if (host_reload(hp, &err) < 0)
                log_error("reload refused, the previous configuration keeps "
                          "running: %s", err.text);
            const struct hostconf *hc = host_hostconf(*hp);
            if (log_open(hc->log_file, &err) < 0)
                log_error("%s", err.text);
        } else if (sig == SIGUSR1) {
            log_info("received SIGUSR1, polling every service now");
            host_poll(*hp);
        } else {
            log_flush();
        }
    }
}

int main(int argc, char **argv)
{
    struct main_opts o = { .mode = MODE_RUN };
    struct pandora_error err = { "" };
    struct host *h = NULL;
    struct pidfile *pf = NULL;

    main_parse(argc, argv, &o);
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
    if (main_detach(&o, host_hostconf(h), &pf) < 0)
        return 1;
    if (host_start(h, &err) < 0) {
        log_error("%s", err.text);
        pidfile_remove(pf);
        host_free(h);
        return 1;
    }
    log_info("pandora_hostd %s started (pid %ld)", PACKAGE_VERSION,
             (long)getpid());
    main_loop(&h);
    host_stop(h);
    host_free(h);
    pidfile_remove(pf);
    log_info("pandora_hostd stopped");
    log_flush();
    log_close();
    return 0;
}
