/*
 * syncserver.c - the module: the `syncserver` service, its configuration
 * keys and its lifecycle. Pulls agent data from Tentacle servers that
 * buffer it inside isolated networks (DESIGN.md 2.3).
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pandora/plugin.h>

#include "cycle.h"
#include "ss.h"

static const char *const delivery_modes[] = { "safe", "fast", NULL };
static const char *const config_scopes[] = { "all", "seen", NULL };

#define SS_ITEM(k, t, field, ...)                                            \
    { .key = (k), .type = (t), .offset = offsetof(struct ss_conf, field),    \
      __VA_ARGS__ }

static const struct pandora_conf_item ss_items[] = {
    SS_ITEM("sync_address", PANDORA_CONF_STRING, address,
            .help = "remotes: host, IPv4 or [IPv6], optional :port, "
                    "comma-separated"),
    SS_ITEM("sync_port", PANDORA_CONF_UINT, port, .def = "41121", .min = 1,
            .max = 65535, .help = "port of remotes that name none"),
    SS_ITEM("sync_ca", PANDORA_CONF_FILE, ca,
            .help = "CA certificate (PEM) that remotes' certificates must "
                    "verify against"),
    SS_ITEM("sync_cert", PANDORA_CONF_FILE, cert,
            .help = "our client certificate (PEM)"),
    SS_ITEM("sync_key", PANDORA_CONF_FILE, key,
            .help = "our client private key (PEM)"),
    SS_ITEM("sync_crl", PANDORA_CONF_FILE, crl,
            .help = "revoked certificates (PEM CRL)"),
    SS_ITEM("sync_retries", PANDORA_CONF_UINT, retries, .def = "3", .min = 1,
            .max = 100, .help = "attempts for a connection"),
    SS_ITEM("sync_timeout", PANDORA_CONF_UINT, timeout, .def = "10",
            .min = 1, .max = 3600,
            .help = "seconds a network operation may take"),
    SS_ITEM("sync_block_size", PANDORA_CONF_UINT, block_size, .def = "65535",
            .min = 1024, .max = 16777216,
            .help = "bytes per socket read or write"),
    SS_ITEM("sync_password", PANDORA_CONF_SECRET, password,
            .help = "tentacle_server -x password"),
    SS_ITEM("sync_interval", PANDORA_CONF_UINT, interval, .def = "10",
            .min = 1, .max = 86400, .fallback = "server_threshold",
            .help = "seconds between two visits of a remote"),
    SS_ITEM("sync_connections", PANDORA_CONF_UINT, connections, .def = "4",
            .min = 1, .max = 64,
            .help = "parallel connections per remote"),
    SS_ITEM("sync_delivery", PANDORA_CONF_ENUM, delivery, .def = "safe",
            .choices = delivery_modes,
            .help = "safe: RECV, stage durably, then MV; fast: MV only"),
    SS_ITEM("sync_config", PANDORA_CONF_BOOL, config, .def = "1",
            .help = "push conf/md5/collections/commands to remotes, pull "
                    "agent-created confs"),
    SS_ITEM("sync_config_scope", PANDORA_CONF_ENUM, config_scope,
            .def = "all", .choices = config_scopes,
            .help = "all: every agent's files to every remote; seen: an "
                    "agent's .conf/.md5 only to the remotes its data came "
                    "from"),
    SS_ITEM("sync_pull_regex", PANDORA_CONF_REGEX, pull_regex,
            .def = "\\.data$",
            .help = "files of a remote's root that are pulled"),
    SS_ITEM("sync_max_file_size", PANDORA_CONF_SIZE, max_file_size,
            .def = "52428800", .min = 1, .max = 1ULL << 40,
            .help = "bytes; larger files are refused and stay remote"),
    SS_ITEM("sync_queue_limit", PANDORA_CONF_SIZE, queue_limit, .def = "0",
            .min = 0, .max = 100000000,
            .help = "pause pulling while incomingdir holds this many .data "
                    "files (0: off)"),
    SS_ITEM("sync_min_free", PANDORA_CONF_SIZE, min_free, .def = "100",
            .min = 0, .max = 1ULL << 30,
            .help = "MiB; pause pulling below this free space"),
    SS_ITEM("sync_verify_name", PANDORA_CONF_BOOL, verify_name, .def = "0",
            .help = "also check the certificate's name against the address"),
    SS_ITEM("sync_settle", PANDORA_CONF_UINT, settle, .def = "10", .min = 0,
            .max = 86400,
            .help = "seconds a name must have been listed before it is "
                    "pulled"),
    SS_ITEM("sync_max_files", PANDORA_CONF_UINT, max_files, .def = "1000",
            .min = 1, .max = 1000000,
            .help = "most files pulled from one remote in one visit"),
    SS_ITEM("sync_max_bytes", PANDORA_CONF_SIZE, max_bytes,
            .def = "268435456", .min = 1, .max = 1ULL << 40,
            .help = "most bytes pulled from one remote in one visit"),
    PANDORA_CONF_ITEMS_END
};

#define OV_ITEM(k, t, field, ...)                                            \
    { .key = (k), .type = (t),                                               \
      .offset = offsetof(struct ss_override, field), __VA_ARGS__ }

static const struct pandora_conf_item ss_override_items[] = {
    OV_ITEM("address", PANDORA_CONF_STRING, address,
            .help = "the remote this entry sets or adds"),
    OV_ITEM("port", PANDORA_CONF_UINT, port, .min = 1, .max = 65535),
    OV_ITEM("password", PANDORA_CONF_SECRET, password),
    OV_ITEM("connections", PANDORA_CONF_UINT, connections, .min = 1,
            .max = 64),
    OV_ITEM("interval", PANDORA_CONF_UINT, interval, .min = 1, .max = 86400),
    OV_ITEM("ca", PANDORA_CONF_FILE, ca),
    OV_ITEM("cert", PANDORA_CONF_FILE, cert),
    OV_ITEM("key", PANDORA_CONF_FILE, key),
    OV_ITEM("crl", PANDORA_CONF_FILE, crl),
    OV_ITEM("verify_name", PANDORA_CONF_STRING, verify_name,
            .help = "the name the remote's certificate must carry"),
    PANDORA_CONF_ITEMS_END
};

static const struct pandora_conf_list ss_lists[] = {
    { .name = "remotes", .items = ss_override_items,
      .elem_size = sizeof(struct ss_override),
      .array_offset = offsetof(struct ss_conf, overrides),
      .count_offset = offsetof(struct ss_conf, n_overrides) },
    PANDORA_CONF_LISTS_END
};

bool ss_should_stop(const struct ss *ss)
{
    return atomic_load(&ss->quit) || ss->api->stopping(ss->ctx);
}

/* ---- building the remotes -------------------------------------------------- */

static int check_creds(const struct remote_spec *s, size_t n,
                       struct pandora_error *e)
{
    for (size_t i = 0; i < n; i++) {
        struct tls_cred *cred = NULL;
        char err[PANDORA_ERROR_MAX - 40];
        if (!s[i].use_tls)
            continue;
        if (tls_cred_load(&s[i].tls, &cred, err, sizeof(err)) < 0) {
            snprintf(e->text, sizeof(e->text), "%s: %s", s[i].label, err);
            return -EINVAL;
        }
        tls_cred_free(cred);
    }
    return 0;
}

static int ss_configure(struct pandora_ctx *ctx, void *data, const void *conf,
                        struct pandora_error *e)
{
    struct remote_spec *specs = NULL;
    size_t n = 0;
    int rc = remotes_build(conf, &specs, &n, e->text, sizeof(e->text));

    (void)ctx, (void)data;
    if (rc == 0)
        rc = check_creds(specs, n, e);
    remotes_free(specs, n);
    return rc;
}

static void remote_warnings(struct ss *ss, struct remote *r)
{
    time_t exp = r->cred ? tls_cred_client_expiry(r->cred) : 0;
    time_t now = time(NULL);

    if (r->spec->password != NULL && !r->spec->use_tls)
        SS_LOG(ss, PANDORA_LOG_WARNING, "%s: sync_password is used without "
               "TLS: its hash crosses the network in clear and can be "
               "replayed; set sync_ca (and sync_cert/sync_key)",
               r->spec->label);
    if (r->spec->use_tls && r->spec->tls.ca == NULL)
        SS_LOG(ss, PANDORA_LOG_WARNING, "%s: TLS without sync_ca: traffic "
               "is encrypted but the remote is NOT verified",
               r->spec->label);
    if (exp != 0 && exp - now < 30 * 86400)
        SS_LOG(ss, PANDORA_LOG_WARNING, "%s: our client certificate %s "
               "expires in %lld day(s): renew it", r->spec->label,
               r->spec->tls.cert, (long long)(exp - now) / 86400);
}

static int remote_init(struct ss *ss, struct remote *r,
                       const struct remote_spec *spec, struct pandora_error *e)
{
    const struct ss_conf *c = ss->conf;
    char err[PANDORA_ERROR_MAX - 40];

    r->ss = ss;
    r->spec = spec;
    pthread_mutex_init(&r->lock, NULL);
    r->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)r;
    r->h.tls = spec->use_tls;
    r->tn = (struct tn_remote){
        .label = spec->label, .host = spec->host, .port = spec->port,
        .password = spec->password, .verify_name = spec->verify_name,
        .timeout_ms = c->timeout * 1000, .block_size = c->block_size,
        .max_file_size = c->max_file_size,
    };
    r->settle = settle_new();
    if (r->settle == NULL)
        return -ENOMEM;
    if (spec->use_tls &&
        tls_cred_load(&spec->tls, &r->cred, err, sizeof(err)) < 0) {
        snprintf(e->text, sizeof(e->text), "%s: %s", spec->label, err);
        return -EINVAL;
    }
    r->tn.tls = r->cred;
    remote_warnings(ss, r);
    return 0;
}

static void remote_fini(struct remote *r)
{
    tls_cred_free(r->cred);
    settle_free(r->settle);
    pthread_mutex_destroy(&r->lock);
}

static void ss_teardown(struct ss *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        remote_fini(&ss->remotes[i]);
    free(ss->remotes);
    remotes_free(ss->specs, ss->n);
    if (ss->re_ok)
        regfree(&ss->pull_re);
    pressure_destroy(&ss->pressure);
    ss->remotes = NULL;
    ss->specs = NULL;
    ss->n = 0;
    ss->re_ok = false;
}

/* ss_setup - everything a run needs, from a validated conf */
static int ss_setup(struct ss *ss, const struct ss_conf *c,
                    struct pandora_error *e)
{
    size_t n = 0;
    int rc;

    ss->conf = c;
    atomic_store(&ss->quit, false);
    pressure_init(&ss->pressure, c->queue_limit, c->min_free);
    rc = remotes_build(c, &ss->specs, &n, e->text, sizeof(e->text));
    if (rc < 0)
        return rc;
    ss->remotes = calloc(n, sizeof(*ss->remotes));
    if (ss->remotes == NULL) {
        remotes_free(ss->specs, n);
        ss->specs = NULL;
        return -ENOMEM;
    }
    ss->n = n;
    if (regcomp(&ss->pull_re, c->pull_regex, REG_EXTENDED | REG_NOSUB) != 0) {
        snprintf(e->text, sizeof(e->text), "sync_pull_regex: '%s' is not a "
                 "valid extended regular expression", c->pull_regex);
        return -EINVAL;
    }
    ss->re_ok = true;
    for (size_t i = 0; i < n; i++) {
        rc = remote_init(ss, &ss->remotes[i], &ss->specs[i], e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

/* stagger_ms - first visit of remote i: spread over up to 5 s (or the
 * interval) so a restart does not hit every buffer at once */
static unsigned stagger_ms(const struct remote *r, size_t i, size_t n)
{
    unsigned span = r->spec->interval * 1000;

    if (span > 5000)
        span = 5000;
    return n > 1 ? (unsigned)(span * i / n) : 0;
}

static void cancel_timers(struct ss *ss)
{
    for (size_t i = 0; i < ss->n; i++) {
        if (ss->remotes[i].timer != NULL)
            ss->api->timer_cancel(ss->ctx, ss->remotes[i].timer);
        ss->remotes[i].timer = NULL;
    }
}

static int ss_start(struct pandora_ctx *ctx, void *data, const void *conf,
                    struct pandora_error *e)
{
    struct ss *ss = data;
    int rc = ss_setup(ss, conf, e);

    for (size_t i = 0; rc == 0 && i < ss->n; i++) {
        struct remote *r = &ss->remotes[i];
        rc = ss->api->timer_add(ctx, stagger_ms(r, i, ss->n),
                                r->spec->interval * 1000, cycle_task, r,
                                &r->timer);
        if (rc < 0)
            snprintf(e->text, sizeof(e->text), "cannot schedule %s: %s",
                     r->spec->label, strerror(-rc));
    }
    if (rc < 0) {
        cancel_timers(ss);
        ss_teardown(ss);
        return rc;
    }
    SS_LOG(ss, PANDORA_LOG_INFO, "pulling from %zu remote(s) every %u s, "
           "%s delivery, config sync %s", ss->n, ss->conf->interval,
           ss->conf->delivery == SS_FAST ? "fast" : "safe",
           !ss->conf->config ? "off"
           : ss->conf->config_scope == SS_SCOPE_SEEN ? "on (scope seen)"
                                                     : "on (scope all)");
    return 0;
}

static void ss_stop(struct pandora_ctx *ctx, void *data,
                    const struct timespec *deadline)
{
    struct ss *ss = data;

    (void)ctx, (void)deadline;
    atomic_store(&ss->quit, true);
    cancel_timers(ss);
    ss_teardown(ss);
}

struct once_thread {
    pthread_t tid;
    struct remote *r;
    int rc;
    bool started;
};

static void *once_main(void *arg)
{
    struct once_thread *t = arg;

    t->rc = cycle_visit(t->r);
    return NULL;
}

static int ss_run_once(struct pandora_ctx *ctx, void *data, const void *conf,
                       struct pandora_error *e)
{
    struct ss *ss = data;
    int rc = ss_setup(ss, conf, e);
    struct once_thread *t = rc == 0 ? calloc(ss->n, sizeof(*t)) : NULL;
    size_t failed = 0;

    (void)ctx;
    for (size_t i = 0; t != NULL && i < ss->n; i++) {
        t[i].r = &ss->remotes[i];
        t[i].started = pthread_create(&t[i].tid, NULL, once_main, &t[i]) == 0;
        if (!t[i].started)
            t[i].rc = cycle_visit(t[i].r);
    }
    for (size_t i = 0; t != NULL && i < ss->n; i++) {
        if (t[i].started)
            pthread_join(t[i].tid, NULL);
        failed += t[i].rc != 0;
    }
    if (rc == 0 && t == NULL)
        rc = -ENOMEM;
    if (rc == 0 && failed > 0) {
        snprintf(e->text, sizeof(e->text), "%zu of %zu remote(s) failed; "
                 "see the log above", failed, ss->n);
        rc = -EIO;
    }
    free(t);
    ss_teardown(ss);
    return rc;
}

static int ss_poll(struct pandora_ctx *ctx, void *data, const char *target)
{
    struct ss *ss = data;
    int rc = target ? -ENOENT : 0;

    for (size_t i = 0; i < ss->n; i++) {
        struct remote *r = &ss->remotes[i];
        if (target && strcmp(target, r->spec->label) != 0 &&
            strcmp(target, r->spec->host) != 0)
            continue;
        if (r->timer != NULL)
            ss->api->timer_poke(ctx, r->timer);
        rc = 0;
    }
    return rc;
}

static void ss_status(struct pandora_ctx *ctx, void *data,
                      struct pandora_status *st)
{
    struct ss *ss = data;
    time_t now = time(NULL);

    (void)ctx;
    ss->api->status_uint(st, "remotes", ss->n);
    ss->api->status_bool(st, "paused_by_backpressure",
                         ss->n ? pressure_paused(&ss->pressure) : false);
    for (size_t i = 0; i < ss->n; i++) {
        struct remote *r = &ss->remotes[i];
        ss->api->status_row(st, "remotes", r->spec->label);
        ss->api->status_string(st, "address", r->spec->host);
        ss->api->status_uint(st, "port", r->spec->port);
        pthread_mutex_lock(&r->lock);
        health_write(ss->api, st, &r->h, now);
        pthread_mutex_unlock(&r->lock);
    }
    ss->api->status_row(st, NULL, NULL);
}

static const struct pandora_service_ops ss_ops = {
    .name = "syncserver",
    .enable_key = "syncserver",
    .items = ss_items,
    .lists = ss_lists,
    .conf_size = sizeof(struct ss_conf),
    .configure = ss_configure,
    .start = ss_start,
    .stop = ss_stop,
    .run_once = ss_run_once,
    .poll = ss_poll,
    .status = ss_status,
};

static int ss_init(struct pandora_ctx *ctx, const struct pandora_host_api *api)
{
    struct ss *ss = calloc(1, sizeof(*ss));

    if (ss == NULL)
        return -ENOMEM;
    /* a TLS key log would hand every session key to whoever reads it */
    unsetenv("SSLKEYLOGFILE");
    ss->ctx = ctx;
    ss->api = api;
    int rc = api->service_register(ctx, &ss_ops, ss, free);
    if (rc < 0)
        free(ss);
    return rc;
}

__attribute__((visibility("default")))
const struct pandora_module pandora_module = {
    PANDORA_MODULE_ABI,
    .name = "syncserver",
    .version = PACKAGE_VERSION,
    .init = ss_init,
};
