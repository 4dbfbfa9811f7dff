/* host.c - the running host: build, start, reload, poll, stop. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "confitem.h"
#include "error.h"
#include "host.h"
#include "hostapi.h"
#include "hostconf.h"
#include "io.h"
#include "log.h"
#include "module.h"
#include "sched.h"
#include "service.h"
#include "spool.h"
#include "status.h"
#include "xalloc.h"

/* The keys of pandora_server.conf the host itself reads (CONFIG.md). */
struct host_settings {
    char *servername;
    char *incomingdir;
    unsigned verbosity;
};

static const struct pandora_conf_item host_items[] = {
    { .key = "servername", .type = PANDORA_CONF_STRING,
      .offset = offsetof(struct host_settings, servername),
      .help = "name used in logs and status (default: the hostname)" },
    { .key = "incomingdir", .type = PANDORA_CONF_PATH,
      .offset = offsetof(struct host_settings, incomingdir),
      .def = HOST_DEFAULT_INCOMINGDIR,
      .help = "where delivered files go" },
    { .key = "verbosity", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct host_settings, verbosity), .def = "0",
      .min = 0, .max = 10, .help = "log verbosity 0..10" },
    PANDORA_CONF_ITEMS_END
};

struct host {
    char *server_conf_arg;           /* -c as given, or NULL */
    char *host_conf_path;
    bool host_conf_given;
    struct hostconf *hc;
    struct conf *conf;
    struct host_settings set;
    struct pandora_ctx **mods;       /* loaded, initialised modules */
    size_t n_mods;
    unsigned failures;
    struct spool *spool;
    struct sched *sched;
    atomic_bool stopping;
    bool abandoned;                  /* a stop missed its deadline */
    struct timespec deadline;        /* of the current stop */
    time_t started;
    /* The generation replaced by the last reload, freed at the next one:
     * a worker may still hold a string from it for a moment. */
    struct conf *old_conf;
    struct hostconf *old_hc;
    struct host_settings old_set;
};

/* host_read_files - both configuration files and the host's own keys */
static int host_read_files(const struct host *h, struct hostconf **hc_r,
                           struct conf **conf_r, struct host_settings *set,
                           struct pandora_error *e)
{
    struct hostconf *hc = NULL;
    struct conf *conf = NULL;
    int rc = hostconf_load(h->host_conf_path, h->host_conf_given, &hc, e);

    if (rc < 0)
        return rc;
    const char *path = h->server_conf_arg ? h->server_conf_arg
                                          : hc->server_conf;
    rc = conf_load(path, &conf, e);
    if (rc == 0)
        rc = confitem_apply(host_items, conf, set, e);
    if (rc < 0) {
        conf_free(conf);
        hostconf_free(hc);
        return rc;
    }
    if (set->servername == NULL) {
        char name[256] = "";
        gethostname(name, sizeof(name) - 1);
        set->servername = xstrdup(name[0] ? name : "localhost");
    }
    *hc_r = hc;
    *conf_r = conf;
    return 0;
}

static void host_settings_free(struct host_settings *set)
{
    confitem_free(host_items, set);
    memset(set, 0, sizeof(*set));
}

/* host_module_paths - modules named in hostconf, else every *.so */
static char **host_module_paths(const struct hostconf *hc, size_t *n_r)
{
    char **paths = NULL;
    size_t n = 0;

    if (hc->modules != NULL) {
        paths = xcalloc(hc->n_modules + 1, sizeof(*paths));
        for (; n < hc->n_modules; n++)
            paths[n] = xasprintf("%s/%s.so", hc->module_dir, hc->modules[n]);
        *n_r = n;
        return paths;
    }
    struct dirent **list = NULL;
    int count = scandir(hc->module_dir, &list, NULL, alphasort);
    if (count < 0) {
        log_warning("cannot read module_dir %s: %s; no module is loaded",
                    hc->module_dir, strerror(errno));
        count = 0;
    }
    paths = xcalloc((size_t)count + 1, sizeof(*paths));
    for (int i = 0; i < count; i++) {
        size_t len = strlen(list[i]->d_name);
        if (list[i]->d_name[0] != '.' && len > 3 &&
            strcmp(list[i]->d_name + len - 3, ".so") == 0)
            paths[n++] = xasprintf("%s/%s", hc->module_dir, list[i]->d_name);
        free(list[i]);
    }
    free(list);
    *n_r = n;
    return paths;
}

/* host_module_named - a loaded module with this descriptor name */
static struct pandora_ctx *host_module_named(const struct host *h,
                                             const char *name)
{
    for (size_t i = 0; i < h->n_mods; i++)
        if (strcmp(h->mods[i]->desc->name, name) == 0)
            return h->mods[i];
    return NULL;
}

/* host_ctx_free - drop a module's services and the module itself */
static void host_ctx_free(struct pandora_ctx *ctx)
{
    struct service *next;

    for (struct service *s = ctx->services; s != NULL; s = next) {
        next = s->next;
        service_free(s);
    }
    if (ctx->initialised && ctx->desc->fini != NULL)
        ctx->desc->fini(ctx);
    module_unload(ctx->module);
    free(ctx->state_dir);
    free(ctx);
}

/* host_load_module - load, check and init one module; log and count any
 * failure (the other modules still load) */
static void host_load_module(struct host *h, const char *path)
{
    struct pandora_error err = { "" };
    struct module *m = NULL;

    if (module_load(path, &m, &err) < 0) {
        log_error("%s; the module is not started", err.text);
        h->failures++;
        return;
    }
    const struct pandora_module *desc = module_descriptor(m);
    if (host_module_named(h, desc->name) != NULL) {
        log_error("module %s: another module named '%s' is already loaded; "
                  "the module is not started", path, desc->name);
        module_unload(m);
        h->failures++;
        return;
    }
    struct pandora_ctx *ctx = xcalloc(1, sizeof(*ctx));
    ctx->host = h;
    ctx->module = m;
    ctx->desc = desc;
    ctx->state_dir = xasprintf("%s/%s", h->hc->state_dir, desc->name);
    ctx->registering = true;
    int rc = desc->init(ctx, hostapi_table());
    ctx->registering = false;
    if (rc != 0) {
        log_error("module %s (%s): init failed: %s; the module is not started",
                  desc->name, path, strerror(rc < 0 ? -rc : EINVAL));
        host_ctx_free(ctx);
        h->failures++;
        return;
    }
    ctx->initialised = true;
    h->mods = xreallocarray(h->mods, h->n_mods + 1, sizeof(*h->mods));
    h->mods[h->n_mods++] = ctx;
    log_debug("module %s %s loaded from %s", desc->name,
              desc->version ? desc->version : "", path);
}

#define HOST_FOREACH_SERVICE(h, svc)                                         \
    for (size_t _m = 0; _m < (h)->n_mods; _m++)                              \
        for (struct service *svc = (h)->mods[_m]->services; svc != NULL;     \
             svc = svc->next)

/* host_service_names - every registered service name (borrowed) */
static const char **host_service_names(const struct host *h, size_t *n_r)
{
    const char **names = NULL;
    size_t n = 0;

    HOST_FOREACH_SERVICE(h, svc) {
        names = xreallocarray(names, n + 1, sizeof(*names));
        names[n++] = svc->ops->name;
    }
    *n_r = n;
    return names;
}

/* host_warn_idle - a host with nothing enabled does nothing: say so, since
 * the usual cause (an enable key set for a module that is not installed,
 * e.g. only pandora-hostd) is otherwise silent */
static void host_warn_idle(const struct host *h, unsigned enabled)
{
    if (enabled > 0 || h->failures > 0)
        return;
    log_warning("no service is enabled, so there is nothing to do: %zu "
                "module(s) loaded from %s; enable a service in %s (e.g. "
                "'syncserver 1') and check that its module is installed",
                h->n_mods, h->hc->module_dir, conf_path(h->conf));
}

/* host_configure - validate every service against conf and hc */
static void host_configure(struct host *h)
{
    unsigned enabled = 0;

    HOST_FOREACH_SERVICE(h, svc) {
        struct pandora_error err = { "" };
        if (service_conf_build(svc, h->conf, h->hc, &svc->enabled, &svc->conf,
                               &err) < 0) {
            snprintf(svc->reason, sizeof(svc->reason), "%s", err.text);
            log_error("service %s (module %s, %s): %s; the service is not "
                      "started", svc->ops->name, svc->ctx->desc->name,
                      svc->ctx->module ? module_path(svc->ctx->module) : "",
                      err.text);
            h->failures++;
        } else if (!svc->enabled) {
            snprintf(svc->reason, sizeof(svc->reason), "disabled (%s is not 1)",
                     svc->ops->enable_key);
        } else {
            enabled++;
        }
    }
    host_warn_idle(h, enabled);
}

int host_build(const struct host_paths *paths, struct host **host_r,
               struct pandora_error *error_r)
{
    struct host *h = xcalloc(1, sizeof(*h));
    int rc;

    h->server_conf_arg = paths->server_conf ? xstrdup(paths->server_conf)
                                            : NULL;
    h->host_conf_path = xstrdup(paths->host_conf);
    h->host_conf_given = paths->host_conf_given;
    h->started = time(NULL);
    rc = host_read_files(h, &h->hc, &h->conf, &h->set, error_r);
    if (rc < 0) {
        host_free(h);
        return rc;
    }
    log_set_servername(h->set.servername);
    log_set_verbosity((int)h->set.verbosity);
    size_t n = 0;
    char **mpaths = host_module_paths(h->hc, &n);
    for (size_t i = 0; i < n; i++) {
        host_load_module(h, mpaths[i]);
        free(mpaths[i]);
    }
    free(mpaths);
    const char **names = host_service_names(h, &n);
    rc = hostconf_check_sections(h->hc, names, n, error_r);
    free(names);
    if (rc < 0) {
        host_free(h);
        return rc;
    }
    host_configure(h);
    *host_r = h;
    return 0;
}

unsigned host_failures(const struct host *host)
{
    return host->failures;
}

void host_print(const struct host *h, FILE *fp)
{
    fprintf(fp, "# pandora_hostd %s: effective settings (secrets masked)\n",
            PACKAGE_VERSION);
    fprintf(fp, "pandora_hostd.conf %s\n",
            h->hc->path ? h->hc->path : "(not found: built-in defaults)");
    hostconf_print(fp, h->hc);
    fprintf(fp, "pandora_server.conf %s\n", conf_path(h->conf));
    confitem_print(fp, host_items, &h->set, "  ");
    for (size_t i = 0; i < h->n_mods; i++) {
        const struct pandora_ctx *ctx = h->mods[i];
        fprintf(fp, "module %s %s (%s)\n", ctx->desc->name,
                ctx->desc->version ? ctx->desc->version : "",
                module_path(ctx->module));
        for (struct service *s = ctx->services; s != NULL; s = s->next)
            service_print(fp, s);
    }
}

/* host_open_runtime - spool, state directories and workers */
static int host_open_runtime(struct host *h, struct pandora_error *e)
{
    unsigned removed = 0;
    int rc = spool_open(h->set.incomingdir, &h->spool, e);

    if (rc < 0)
        return rc;
    rc = spool_clean_stale(h->spool, &removed, e);
    if (rc < 0)
        return rc;
    if (removed > 0)
        log_info("removed %u stale temporary file(s) left in %s by an "
                 "earlier run", removed, h->set.incomingdir);
    for (size_t i = 0; i < h->n_mods; i++) {
        struct pandora_error err = { "" };
        const char *dir = h->mods[i]->state_dir;
        if (io_mkdir_p(dir, 0750, &err) < 0 ||
            spool_clean_dir_stale(dir, &removed, &err) < 0)
            log_error("module %s: %s; check state_dir in "
                      "pandora_hostd.conf", h->mods[i]->desc->name, err.text);
        else if (removed > 0)
            log_info("removed %u stale temporary file(s) from %s", removed,
                     dir);
    }
    return sched_create(h->hc->workers, &h->sched, e);
}

int host_start(struct host *h, struct pandora_error *error_r)
{
    int rc = host_open_runtime(h, error_r);

    if (rc < 0)
        return rc;
    HOST_FOREACH_SERVICE(h, svc) {
        struct pandora_error err = { "" };
        if (!svc->enabled || svc->conf == NULL)
            continue;
        if (service_start(svc, &err) < 0) {
            log_error("%s", err.text);
            h->failures++;
        } else {
            log_info("service %s started", svc->ops->name);
        }
    }
    return 0;
}

unsigned host_run_once(struct host *h)
{
    struct pandora_error err = { "" };
    unsigned failed = h->failures;

    if (host_open_runtime(h, &err) < 0) {
        log_error("%s", err.text);
        return failed + 1;
    }
    HOST_FOREACH_SERVICE(h, svc) {
        if (!svc->enabled || svc->conf == NULL)
            continue;
        err.text[0] = '\0';
        int rc = svc->ops->run_once
                     ? svc->ops->run_once(svc->ctx, svc->data, svc->conf, &err)
                     : error_set(&err, -ENOTSUP, "--once is not supported");
        if (rc != 0) {
            log_error("service %s: one cycle failed: %s", svc->ops->name,
                      err.text[0] ? err.text : "no reason given");
            failed++;
        }
    }
    return failed;
}

/* host_structure_changed - settings a reload can only apply by rebuilding */
static bool host_structure_changed(const struct host *h,
                                   const struct hostconf *hc,
                                   const struct host_settings *set)
{
    const struct hostconf *old = h->hc;

    if (strcmp(old->module_dir, hc->module_dir) != 0 ||
        strcmp(old->state_dir, hc->state_dir) != 0 ||
        old->workers != hc->workers ||
        strcmp(h->set.incomingdir, set->incomingdir) != 0 ||
        (old->modules == NULL) != (hc->modules == NULL) ||
        old->n_modules != hc->n_modules)
        return true;
    for (size_t i = 0; i < hc->n_modules; i++)
        if (strcmp(old->modules[i], hc->modules[i]) != 0)
            return true;
    return false;
}

/* host_reload_rebuild - a new module set or runtime: build it completely,
 * and only if nothing failed, stop the old host and start the new one */
static int host_reload_rebuild(struct host **host_r, struct pandora_error *e)
{
    struct host *cur = *host_r, *next = NULL;
    struct host_paths paths = { cur->server_conf_arg, cur->host_conf_path,
                                cur->host_conf_given };
    int rc = host_build(&paths, &next, e);

    if (rc < 0)
        return rc;
    if (next->failures > 0) {
        unsigned n = next->failures;
        host_free(next);
        return error_set(e, -EINVAL, "%u module(s) or service(s) of the new "
                         "configuration failed (see the errors above)", n);
    }
    next->started = cur->started;     /* the process's uptime goes on */
    host_stop(cur);
    host_free(cur);
    *host_r = next;
    rc = host_start(next, e);
    if (rc < 0)
        log_fatal("reload: the new configuration cannot start: %s", e->text);
    return 0;
}

/* host_reload_in_place - same modules: validate every service first, then
 * hand each its new settings (unchanged ones keep running) */
static int host_reload_in_place(struct host *h, struct hostconf *hc,
                                struct conf *conf, struct host_settings *set,
                                struct pandora_error *e)
{
    size_t n = 0, i = 0;
    const char **names = host_service_names(h, &n);
    int rc = hostconf_check_sections(hc, names, n, e);
    bool *enabled = xcalloc(n + 1, sizeof(*enabled));
    void **confs = xcalloc(n + 1, sizeof(*confs));

    free(names);
    HOST_FOREACH_SERVICE(h, svc) {
        if (rc == 0) {
            struct service probe = *svc;
            rc = service_conf_build(&probe, conf, hc, &enabled[i], &confs[i],
                                    e);
        }
        i++;
    }
    if (rc < 0) {
        i = 0;
        HOST_FOREACH_SERVICE(h, svc)
            service_conf_free(svc->ops, confs[i++]);
        free(enabled);
        free(confs);
        return rc;
    }
    conf_free(h->old_conf);
    hostconf_free(h->old_hc);
    host_settings_free(&h->old_set);
    h->old_conf = h->conf;
    h->old_hc = h->hc;
    h->old_set = h->set;
    h->conf = conf;
    h->hc = hc;
    h->set = *set;
    log_set_servername(h->set.servername);

    struct timespec deadline;
    sched_deadline_in(&deadline, h->hc->stop_timeout * 1000u);
    i = 0;
    HOST_FOREACH_SERVICE(h, svc) {
        struct pandora_error err = { "" };
        if (service_apply(svc, enabled[i], confs[i], &deadline, &err) < 0)
            log_error("reload: %s", err.text);
        i++;
    }
    free(enabled);
    free(confs);
    return 0;
}

int host_reload(struct host **host_r, struct pandora_error *error_r)
{
    struct host *h = *host_r;
    struct hostconf *hc = NULL;
    struct conf *conf = NULL;
    struct host_settings set = { 0 };
    int rc = host_read_files(h, &hc, &conf, &set, error_r);

    if (rc < 0)
        return rc;
    if (host_structure_changed(h, hc, &set)) {
        conf_free(conf);
        hostconf_free(hc);
        host_settings_free(&set);
        rc = host_reload_rebuild(host_r, error_r);
    } else {
        rc = host_reload_in_place(h, hc, conf, &set, error_r);
        if (rc < 0) {
            conf_free(conf);
            hostconf_free(hc);
            host_settings_free(&set);
        }
    }
    if (rc == 0) {
        log_set_verbosity((int)(*host_r)->set.verbosity);
        log_info("configuration reloaded");
    }
    return rc;
}

void host_poll(struct host *h)
{
    HOST_FOREACH_SERVICE(h, svc)
        if (svc->running && svc->ops->poll != NULL)
            svc->ops->poll(svc->ctx, svc->data, NULL);
}

int host_poll_target(struct host *h, const char *target)
{
    int rc = -ENOENT;

    HOST_FOREACH_SERVICE(h, svc)
        if (svc->running && svc->ops->poll != NULL &&
            svc->ops->poll(svc->ctx, svc->data, target) == 0)
            rc = 0;
    return rc;
}

/* host_stopper - stop every service, then the workers (own thread, so a
 * module that ignores the deadline cannot hold the process) */
static void *host_stopper(void *arg)
{
    struct host *h = arg;

    for (size_t m = h->n_mods; m-- > 0;)
        for (struct service *s = h->mods[m]->services; s; s = s->next)
            service_stop(s, &h->deadline);
    if (h->sched != NULL && sched_shutdown(h->sched, &h->deadline) < 0)
        h->abandoned = true;
    return NULL;
}

void host_stop(struct host *h)
{
    pthread_t tid;
    struct timespec limit;

    atomic_store(&h->stopping, true);
    sched_deadline_in(&h->deadline, h->hc->stop_timeout * 1000u);
    if (pthread_create(&tid, NULL, host_stopper, h) != 0) {
        host_stopper(h);
    } else {
        /* pthread_timedjoin_np takes CLOCK_REALTIME; allow a little past
         * the deadline for the stopper's own bookkeeping */
        clock_gettime(CLOCK_REALTIME, &limit);
        limit.tv_sec += h->hc->stop_timeout + 1;
        if (pthread_timedjoin_np(tid, NULL, &limit) != 0) {
            pthread_detach(tid);
            h->abandoned = true;
        }
    }
    if (h->abandoned)
        log_warning("some tasks did not finish within stop_timeout (%u s); "
                    "they were abandoned", h->hc->stop_timeout);
}

void host_free(struct host *h)
{
    if (h == NULL)
        return;
    if (h->abandoned)
        return;     /* an abandoned task may still use all of it: exit soon */
    for (size_t m = h->n_mods; m-- > 0;)
        host_ctx_free(h->mods[m]);
    free(h->mods);
    sched_destroy(h->sched);
    spool_close(h->spool);
    conf_free(h->conf);
    conf_free(h->old_conf);
    hostconf_free(h->hc);
    hostconf_free(h->old_hc);
    host_settings_free(&h->set);
    host_settings_free(&h->old_set);
    free(h->server_conf_arg);
    free(h->host_conf_path);
    free(h);
}

struct pandora_status *host_status(struct host *h)
{
    struct pandora_status *st = status_new(h->set.servername, PACKAGE_VERSION,
                                           h->started);

    HOST_FOREACH_SERVICE(h, svc) {
        status_service(st, svc->ops->name, svc->ctx->desc->name, svc->running,
                       svc->reason);
        if (svc->running && svc->ops->status != NULL)
            svc->ops->status(svc->ctx, svc->data, st);
    }
    return st;
}

const struct hostconf *host_hostconf(const struct host *h)
{
    return h->hc;
}

const struct conf *host_conf(const struct host *h)
{
    return h->conf;
}

const char *host_servername(const struct host *h)
{
    return h->set.servername;
}

const char *host_incomingdir(const struct host *h)
{
    return h->set.incomingdir;
}

struct spool *host_spool(const struct host *h)
{
    return h->spool;
}

struct sched *host_sched(const struct host *h)
{
    return h->sched;
}

bool host_stopping(const struct host *h)
{
    return atomic_load(&((struct host *)h)->stopping);
}

const char *host_service_owner(const struct host *h, const char *name)
{
    HOST_FOREACH_SERVICE(h, svc)
        if (strcmp(svc->ops->name, name) == 0)
            return svc->ctx->desc->name;
    return NULL;
}
