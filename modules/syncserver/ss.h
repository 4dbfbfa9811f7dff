/*
 * ss.h - the syncserver service and its remotes, shared by the module's
 * files (not installed, not part of any ABI).
 *
 * OWNERSHIP: struct ss owns its remotes; each remote owns its TLS
 * credentials, settle state and timer. The conf and the specs' strings are
 * borrowed from the host until the service stops.
 *
 * THREADS: a remote's cycle runs on one host worker at a time (its timer
 * never overlaps itself) and may start pull threads for the duration of a
 * visit. `lock` guards the health row, which the status callback reads from
 * any thread.
 */
#ifndef SS_SS_H
#define SS_SS_H

#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <pandora/plugin.h>

#include "health.h"
#include "pressure.h"
#include "remotes.h"
#include "settle.h"
#include "ssconf.h"
#include "tentacle.h"

struct ss;

struct remote {
    struct ss *ss;
    const struct remote_spec *spec;
    struct tn_remote tn;
    struct tls_cred *cred;        /* NULL: plain TCP                   */
    struct pandora_timer *timer;
    struct settle *settle;        /* cycle thread only                 */
    bool settle_loaded;           /* cycle thread only                 */
    time_t warned_expiry;         /* cycle thread only                 */
    unsigned seed;                /* back-off jitter, under lock       */
    pthread_mutex_t lock;
    struct health h;              /* under lock                        */
};

struct ss {
    struct pandora_ctx *ctx;
    const struct pandora_host_api *api;
    const struct ss_conf *conf;
    regex_t pull_re;
    bool re_ok;
    struct remote_spec *specs;
    struct remote *remotes;
    size_t n;
    struct pressure pressure;
    atomic_bool quit;             /* stop() was called: visits return  */
};

#define SS_LOG(ss, level, ...) ((ss)->api->log((ss)->ctx, (level), __VA_ARGS__))

/* ss_should_stop - the service or the host is stopping */
bool ss_should_stop(const struct ss *ss);

#endif
