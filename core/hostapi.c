/*
 * hostapi.c - the table of host functions given to modules. Each entry is a
 * thin, defensive adapter from a module's context to a core unit: modules
 * are not fully trusted, so arguments are checked here.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "error.h"
#include "host.h"
#include "hostapi.h"
#include "io.h"
#include "log.h"
#include "sched.h"
#include "service.h"
#include "spool.h"
#include "status.h"
#include "xalloc.h"

/* State files are small; a bigger one is corrupt or not ours. */
#define HOSTAPI_STATE_MAX (64u << 20)

static void api_logv(struct pandora_ctx *ctx, enum pandora_log_level level,
                     const char *fmt, va_list ap)
{
    if ((unsigned)level > PANDORA_LOG_DEBUG)
        level = PANDORA_LOG_ERROR;
    log_vwrite(level, ctx->desc->name, fmt, ap);
}

static void api_log(struct pandora_ctx *ctx, enum pandora_log_level level,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    api_logv(ctx, level, fmt, ap);
    va_end(ap);
}

/* api_service_register - only during init; names unique host-wide */
static int api_service_register(struct pandora_ctx *ctx,
                                const struct pandora_service_ops *ops,
                                void *data, pandora_free_fn *data_free)
{
    struct pandora_error err = { "" };
    const char *module = ctx->desc->name;

    if (!ctx->registering) {
        log_error("module %s: service_register called outside init(); "
                  "services can only be registered while the module loads",
                  module);
        return -EBUSY;
    }
    if (service_ops_check(ops, &err) < 0) {
        log_error("module %s: refused a service: %s", module, err.text);
        return -EINVAL;
    }
    const char *owner = host_service_owner(ctx->host, ops->name);
    for (struct service *s = ctx->services; owner == NULL && s; s = s->next)
        if (strcmp(s->ops->name, ops->name) == 0)
            owner = module;
    if (owner != NULL) {
        log_error("module %s: service name '%s' is already registered by "
                  "module %s; each service needs its own name",
                  module, ops->name, owner);
        return -EEXIST;
    }
    struct service *svc = xcalloc(1, sizeof(*svc));
    svc->ctx = ctx;
    svc->ops = ops;
    svc->data = data;
    svc->data_free = data_free;
    struct service **tail = &ctx->services;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = svc;
    return 0;
}

static const char *api_conf_get_string(struct pandora_ctx *ctx,
                                       const char *key, const char *def)
{
    const struct conf *conf = host_conf(ctx->host);
    const char *v = conf != NULL && key != NULL ? conf_get(conf, key, NULL)
                                                : NULL;
    return v != NULL ? v : def;
}

static int api_conf_get_uint(struct pandora_ctx *ctx, const char *key,
                             unsigned def, unsigned min, unsigned max,
                             unsigned *value_r, struct pandora_error *error_r)
{
    const struct conf *conf = host_conf(ctx->host);

    if (conf == NULL || key == NULL) {
        *value_r = def;
        return 0;
    }
    return conf_get_uint(conf, key, def, min, max, value_r, error_r);
}

static const char *api_servername(struct pandora_ctx *ctx)
{
    return host_servername(ctx->host);
}

static const char *api_incomingdir(struct pandora_ctx *ctx)
{
    return host_incomingdir(ctx->host);
}

static const char *api_state_dir(struct pandora_ctx *ctx)
{
    return ctx->state_dir;
}

static int api_timer_add(struct pandora_ctx *ctx, unsigned first_ms,
                         unsigned interval_ms, pandora_task_fn *fn, void *data,
                         struct pandora_timer **timer_r)
{
    struct sched *sched = host_sched(ctx->host);

    if (sched == NULL || fn == NULL || timer_r == NULL)
        return -EINVAL;
    return sched_timer_add(sched, first_ms, interval_ms, fn, data, timer_r);
}

static void api_timer_poke(struct pandora_ctx *ctx, struct pandora_timer *t)
{
    if (t != NULL && host_sched(ctx->host) != NULL)
        sched_timer_poke(host_sched(ctx->host), t);
}

static void api_timer_cancel(struct pandora_ctx *ctx, struct pandora_timer *t)
{
    if (t != NULL && host_sched(ctx->host) != NULL)
        sched_timer_cancel(host_sched(ctx->host), t);
}

static bool api_stopping(struct pandora_ctx *ctx)
{
    return host_stopping(ctx->host);
}

/* api_spool - the open spool, or an error saying it is not open */
static struct spool *api_spool(struct pandora_ctx *ctx,
                               struct pandora_error *error_r)
{
    struct spool *spool = host_spool(ctx->host);

    if (spool == NULL)
        error_set(error_r, -EAGAIN,
                  "the spool is not open (the host is not running)");
    return spool;
}

static int api_spool_deliver(struct pandora_ctx *ctx, const char *subdir,
                             const char *name, int src_fd, time_t mtime,
                             struct pandora_error *error_r)
{
    struct spool *spool = api_spool(ctx, error_r);

    return spool ? spool_deliver(spool, subdir, name, src_fd, mtime, error_r)
                 : -EAGAIN;
}

static int api_spool_pressure(struct pandora_ctx *ctx,
                              const struct pandora_spool_limits *limits,
                              struct pandora_spool_state *state_r,
                              struct pandora_error *error_r)
{
    struct spool *spool = api_spool(ctx, error_r);

    return spool ? spool_pressure(spool, limits, state_r, error_r) : -EAGAIN;
}

static int api_batch_open(struct pandora_ctx *ctx, const char *subdir,
                          const char *tag, struct pandora_spool_batch **batch_r,
                          struct pandora_error *error_r)
{
    struct spool *spool = api_spool(ctx, error_r);

    return spool ? spool_batch_open(spool, subdir, tag, batch_r, error_r)
                 : -EAGAIN;
}

static int api_batch_add(struct pandora_ctx *ctx,
                         struct pandora_spool_batch *batch, const char *name,
                         int src_fd, time_t mtime,
                         struct pandora_error *error_r)
{
    return spool_batch_add(batch, name, src_fd, mtime, error_r);
}

static int api_batch_stage(struct pandora_ctx *ctx,
                           struct pandora_spool_batch *batch,
                           struct pandora_error *error_r)
{
    return spool_batch_stage(batch, error_r);
}

static int api_batch_publish(struct pandora_ctx *ctx,
                             struct pandora_spool_batch *batch,
                             pandora_spool_result_fn *fn, void *data,
                             struct pandora_error *error_r)
{
    return spool_batch_publish(batch, fn, data, error_r);
}

static void api_batch_close(struct pandora_ctx *ctx,
                            struct pandora_spool_batch *batch)
{
    spool_batch_close(batch);
}

static int api_staged_list(struct pandora_ctx *ctx, const char *subdir,
                           const char *tag, pandora_spool_staged_fn *fn,
                           void *data, struct pandora_error *error_r)
{
    struct spool *spool = api_spool(ctx, error_r);

    return spool ? spool_staged_list(spool, subdir, tag, fn, data, error_r)
                 : -EAGAIN;
}

static int api_staged_publish(struct pandora_ctx *ctx, const char *subdir,
                              const char *tag, const char *name, time_t mtime,
                              struct pandora_error *error_r)
{
    struct spool *spool = api_spool(ctx, error_r);

    return spool ? spool_staged_publish(spool, subdir, tag, name, mtime,
                                        error_r)
                 : -EAGAIN;
}

static int api_staged_discard(struct pandora_ctx *ctx, const char *subdir,
                              const char *tag, const char *name,
                              struct pandora_error *error_r)
{
    struct spool *spool = api_spool(ctx, error_r);

    return spool ? spool_staged_discard(spool, subdir, tag, name, error_r)
                 : -EAGAIN;
}

/* api_state_path - relpath must be one plain, safe file name */
static char *api_state_path(struct pandora_ctx *ctx, const char *relpath,
                            struct pandora_error *error_r)
{
    if (relpath == NULL || !spool_name_is_safe(relpath)) {
        error_set(error_r, -EINVAL,
                  "module %s: state file name '%s' is not a plain file name",
                  ctx->desc->name, relpath ? relpath : "(null)");
        return NULL;
    }
    if (ctx->state_dir == NULL) {
        error_set(error_r, -EAGAIN, "module %s has no state directory yet",
                  ctx->desc->name);
        return NULL;
    }
    return xasprintf("%s/%s", ctx->state_dir, relpath);
}

static int api_state_save(struct pandora_ctx *ctx, const char *relpath,
                          const void *buf, size_t len,
                          struct pandora_error *error_r)
{
    char *path = api_state_path(ctx, relpath, error_r);

    if (path == NULL)
        return -EINVAL;
    free(path);
    return spool_replace_file(ctx->state_dir, relpath, buf, len, error_r);
}

static int api_state_load(struct pandora_ctx *ctx, const char *relpath,
                          char **buf_r, size_t *len_r,
                          struct pandora_error *error_r)
{
    char *path = api_state_path(ctx, relpath, error_r);

    if (path == NULL)
        return -EINVAL;
    int rc = io_read_file(path, HOSTAPI_STATE_MAX, buf_r, len_r, error_r);
    free(path);
    return rc;
}

static const struct pandora_host_api hostapi = {
    .abi_major = PANDORA_ABI_MAJOR,
    .abi_minor = PANDORA_ABI_MINOR,
    .size = sizeof(struct pandora_host_api),
    .log = api_log,
    .logv = api_logv,
    .service_register = api_service_register,
    .conf_get_string = api_conf_get_string,
    .conf_get_uint = api_conf_get_uint,
    .servername = api_servername,
    .incomingdir = api_incomingdir,
    .state_dir = api_state_dir,
    .timer_add = api_timer_add,
    .timer_poke = api_timer_poke,
    .timer_cancel = api_timer_cancel,
    .stopping = api_stopping,
    .spool_deliver = api_spool_deliver,
    .spool_pressure = api_spool_pressure,
    .spool_batch_open = api_batch_open,
    .spool_batch_add = api_batch_add,
    .spool_batch_stage = api_batch_stage,
    .spool_batch_publish = api_batch_publish,
    .spool_batch_close = api_batch_close,
    .spool_staged_list = api_staged_list,
    .spool_staged_publish = api_staged_publish,
    .spool_staged_discard = api_staged_discard,
    .spool_name_is_safe = spool_name_is_safe,
    .state_save = api_state_save,
    .state_load = api_state_load,
    .status_row = status_row,
    .status_string = status_string,
    .status_int = status_int,
    .status_uint = status_uint,
    .status_double = status_double,
    .status_bool = status_bool,
    .status_time = status_time,
};

const struct pandora_host_api *hostapi_table(void)
{
    return &hostapi;
}
