/* hosttest - a temporary host setup for the host-level suites: incomingdir,
 * state dir, both config files and a log file, in one tu_tmpdir(). */
#ifndef T_HOSTTEST_H
#define T_HOSTTEST_H

#include <stdbool.h>

struct host;

struct hosttest {
    char *dir;        /* the temporary root */
    char *incoming;   /* dir/in */
    char *server;     /* dir/server.conf */
    char *hostconf;   /* dir/hostd.conf */
    char *log;        /* dir/log */
};

/* ht_setup - directories, an empty log; configs written by ht_write_*. */
void ht_setup(struct hosttest *ht);
void ht_teardown(struct hosttest *ht);

/* ht_write_server - pandora_server.conf: incomingdir line first, then
 * `body` (so body's first line is line 2). */
void ht_write_server(struct hosttest *ht, const char *body);
/* ht_write_hostconf - modules = [ <modules> ]; module_dir = TEST_MODULEDIR;
 * state_dir in dir; then `extra`. */
void ht_write_hostconf(struct hosttest *ht, const char *modules,
                       const char *extra);

/* ht_build - host_build on the files; asserts success. */
struct host *ht_build(struct hosttest *ht);
/* ht_log_has - does the log contain `text`? */
bool ht_log_has(struct hosttest *ht, const char *text);
/* ht_status_json - the host's status as JSON (caller frees). */
char *ht_status_json(struct host *h);
/* ht_wait_for - poll cond(arg) every 10 ms for up to `seconds`. */
bool ht_wait_for(bool (*cond)(void *arg), void *arg, unsigned seconds);

#endif
