/*
 * fake_host - a host table for testing a module without the daemon and
 * without dlopen: configuration from a string, a real spool in a temporary
 * directory, timers that run only when the test says so, and a log that
 * records every line.
 *
 * THREADS: single-threaded; timers run on the caller's thread.
 */
#ifndef T_FAKE_HOST_H
#define T_FAKE_HOST_H

#include <stdbool.h>

#include <pandora/plugin.h>

struct fake_host;

/* fake_host_new - pandora_server.conf from `server_conf` (incomingdir is
 * set to the fake's own directory). Aborts the test on failure. */
struct fake_host *fake_host_new(const char *server_conf);
void fake_host_free(struct fake_host *fh);

/* fake_host_load - call mod->init with the fake table. */
int fake_host_load(struct fake_host *fh, const struct pandora_module *mod);

/* fake_host_configure - validate service `name` like the host does (items,
 * then ops->configure); on success the conf is kept for start/run_once. */
int fake_host_configure(struct fake_host *fh, const char *name,
                        struct pandora_error *error_r);
int fake_host_start(struct fake_host *fh, const char *name,
                    struct pandora_error *error_r);
void fake_host_stop(struct fake_host *fh, const char *name);
int fake_host_run_once(struct fake_host *fh, const char *name,
                       struct pandora_error *error_r);

/* fake_host_run_timers - run every live timer once; returns how many ran. */
unsigned fake_host_run_timers(struct fake_host *fh);
unsigned fake_host_timer_count(const struct fake_host *fh);

/* fake_host_log_has - did any logged line contain text? */
bool fake_host_log_has(const struct fake_host *fh, const char *text);
/* fake_host_status_json - the services' status, rendered (caller frees). */
char *fake_host_status_json(struct fake_host *fh);

const char *fake_host_incomingdir(const struct fake_host *fh);
const char *fake_host_state_dir(const struct fake_host *fh);
void fake_host_set_stopping(struct fake_host *fh, bool stopping);

#endif
