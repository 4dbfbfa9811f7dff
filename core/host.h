/*
 * host - the running host: both configuration files, the loaded modules and
 * their services, the spool and the scheduler; build, start, reload
 * (all-or-nothing), poll, stop.
 *
 * A broken module or service is logged (file and reason) and left out; the
 * others run, and host_failures() counts what was left out so --check-config
 * and --once can fail. A broken configuration *file* fails host_build.
 *
 * THREADS: the lifecycle functions run on the main thread. The accessors
 * used by the host API (host_conf...) may be called from workers.
 */
#ifndef CORE_HOST_H
#define CORE_HOST_H

#include <stdbool.h>
#include <stdio.h>

#include <pandora/plugin.h>

struct host;
struct conf;
struct spool;
struct sched;
struct hostconf;

struct host_paths {
    const char *server_conf; /* -c, or NULL: hostconf's server_conf */
    const char *host_conf;   /* -H, or the default path */
    bool host_conf_given;    /* -H was given: the file must exist */
};

/* Default paths and the host's pandora_server.conf defaults. */
#define HOST_DEFAULT_HOSTCONF PANDORACONFDIR "/pandora_hostd.conf"
#define HOST_DEFAULT_INCOMINGDIR "/var/spool/pandora/data_in"

/*
 * host_build - read both files, load and init every module, validate every
 * service's settings. Nothing is started and nothing is written.
 */
int host_build(const struct host_paths *paths, struct host **host_r,
               struct pandora_error *error_r);
unsigned host_failures(const struct host *host);

/* host_print - effective settings, secrets masked (--check-config). */
void host_print(const struct host *host, FILE *fp);

/*
 * host_start - open the spool (cleaning stale temporaries), create state
 * directories and the worker pool, start every enabled, valid service.
 * Fails only when nothing can work (incomingdir unusable).
 */
int host_start(struct host *host, struct pandora_error *error_r);

/*
 * host_run_once - like host_start, but run each enabled service's
 * run_once() on this thread instead of starting it. Returns the number of
 * services that failed (including those that failed to load or configure).
 */
unsigned host_run_once(struct host *host);

/*
 * host_reload - re-read both files. Any error (a file, a module, a
 * service's settings) refuses the whole reload and the running
 * configuration stays; error_r says why. *host_r may be replaced when the
 * module set or host-wide settings changed.
 */
int host_reload(struct host **host_r, struct pandora_error *error_r);

/* host_poll - ask every running service to work now (SIGUSR1). */
void host_poll(struct host *host);

/*
 * host_poll_target - ask every running service to work on `target` (a
 * remote's name) now: 0 when at least one knows it, else -ENOENT.
 * THREADS: any thread, while no lifecycle function runs (the status
 * listener holds main.c's read lock; reloads take the write lock).
 */
int host_poll_target(struct host *host, const char *target);

/* host_stop - graceful stop within stop_timeout; then host_free. */
void host_stop(struct host *host);
void host_free(struct host *host);

/* host_status - a snapshot of every service's state (caller frees with
 * status_free). THREADS: any thread once started, while no lifecycle
 * function runs (see host_poll_target). */
struct pandora_status *host_status(struct host *host);

const struct hostconf *host_hostconf(const struct host *host);

/* Accessors for the host API (hostapi.c). */
const struct conf *host_conf(const struct host *host);
const char *host_servername(const struct host *host);
const char *host_incomingdir(const struct host *host);
struct spool *host_spool(const struct host *host);
struct sched *host_sched(const struct host *host);
bool host_stopping(const struct host *host);
/* host_service_owner - the module name owning service `name`, or NULL. */
const char *host_service_owner(const struct host *host, const char *name);

#endif
