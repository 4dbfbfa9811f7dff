/* fake_host.c - a recording host table for module unit tests. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "conf.h"
#include "confitem.h"
#include "fake_host.h"
#include "io.h"
#include "spool.h"
#include "status.h"
#include "testutil.h"

#define FAKE_MAX_SERVICES 8
#define FAKE_MAX_TIMERS 64

struct pandora_timer {
    pandora_task_fn *fn;
    void *data;
    bool live;
};

struct fake_service {
    const struct pandora_service_ops *ops;
    void *data;
    pandora_free_fn *data_free;
    void *conf;
    bool running;
};

struct pandora_ctx {
    struct fake_host *fh;
};

struct fake_host {
    struct pandora_ctx ctx;
    struct pandora_host_api api;
    char *dir, *incoming, *state;
    struct conf *conf;
    struct spool *spool;
    bool registering, stopping;
    char *log;
    size_t log_len;
    FILE *log_fp;
    struct fake_service svc[FAKE_MAX_SERVICES];
    size_t n_svc;
    struct pandora_timer timers[FAKE_MAX_TIMERS];
    size_t n_timers;
};

static struct fake_host *fh_of(struct pandora_ctx *ctx)
{
    return ctx->fh;
}

static void fake_logv(struct pandora_ctx *ctx, enum pandora_log_level level,
                      const char *fmt, va_list ap)
{
    static const char *const names[] = { "ERROR", "WARNING", "INFO", "DEBUG" };
    FILE *fp = fh_of(ctx)->log_fp;

    fprintf(fp, "[%s] ", (unsigned)level < 4 ? names[level] : "?");
    vfprintf(fp, fmt, ap);
    fputc('\n', fp);
    fflush(fp);
}

static void fake_log(struct pandora_ctx *ctx, enum pandora_log_level level,
                     const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fake_logv(ctx, level, fmt, ap);
    va_end(ap);
}

static int fake_register(struct pandora_ctx *ctx,
                         const struct pandora_service_ops *ops, void *data,
                         pandora_free_fn *data_free)
{
    struct fake_host *fh = fh_of(ctx);

    if (!fh->registering)
        return -EBUSY;
    if (fh->n_svc == FAKE_MAX_SERVICES)
        return -ENOSPC;
    for (size_t i = 0; i < fh->n_svc; i++)
        if (strcmp(fh->svc[i].ops->name, ops->name) == 0)
            return -EEXIST;
    fh->svc[fh->n_svc++] = (struct fake_service){ ops, data, data_free,
                                                  NULL, false };
    return 0;
}

static const char *fake_conf_get_string(struct pandora_ctx *ctx,
                                        const char *key, const char *def)
{
    const char *v = conf_get(fh_of(ctx)->conf, key, NULL);

    return v ? v : def;
}

static int fake_conf_get_uint(struct pandora_ctx *ctx, const char *key,
                              unsigned def, unsigned min, unsigned max,
                              unsigned *value_r, struct pandora_error *error_r)
{
    return conf_get_uint(fh_of(ctx)->conf, key, def, min, max, value_r,
                         error_r);
}

static const char *fake_servername(struct pandora_ctx *ctx)
{
    return "fakehost";
}

static const char *fake_incomingdir(struct pandora_ctx *ctx)
{
    return fh_of(ctx)->incoming;
}

static const char *fake_state_dir(struct pandora_ctx *ctx)
{
    return fh_of(ctx)->state;
}

static int fake_timer_add(struct pandora_ctx *ctx, unsigned first_ms,
                          unsigned interval_ms, pandora_task_fn *fn,
                          void *data, struct pandora_timer **timer_r)
{
    struct fake_host *fh = fh_of(ctx);

    if (fh->n_timers == FAKE_MAX_TIMERS)
        return -ENOSPC;
    struct pandora_timer *t = &fh->timers[fh->n_timers++];
    *t = (struct pandora_timer){ fn, data, true };
    *timer_r = t;
    return 0;
}

static void fake_timer_poke(struct pandora_ctx *ctx, struct pandora_timer *t)
{
}

static void fake_timer_cancel(struct pandora_ctx *ctx, struct pandora_timer *t)
{
    if (t != NULL)
        t->live = false;
}

static bool fake_stopping(struct pandora_ctx *ctx)
{
    return fh_of(ctx)->stopping;
}

static int fake_deliver(struct pandora_ctx *ctx, const char *subdir,
                        const char *name, int fd, time_t mtime,
                        struct pandora_error *e)
{
    return spool_deliver(fh_of(ctx)->spool, subdir, name, fd, mtime, e);
}

static int fake_pressure(struct pandora_ctx *ctx,
                         const struct pandora_spool_limits *limits,
                         struct pandora_spool_state *state_r,
                         struct pandora_error *e)
{
    return spool_pressure(fh_of(ctx)->spool, limits, state_r, e);
}

static int fake_batch_open(struct pandora_ctx *ctx, const char *subdir,
                           const char *tag, struct pandora_spool_batch **b_r,
                           struct pandora_error *e)
{
    return spool_batch_open(fh_of(ctx)->spool, subdir, tag, b_r, e);
}

static int fake_batch_add(struct pandora_ctx *ctx,
                          struct pandora_spool_batch *b, const char *name,
                          int fd, time_t mtime, struct pandora_error *e)
{
    return spool_batch_add(b, name, fd, mtime, e);
}

static int fake_batch_stage(struct pandora_ctx *ctx,
                            struct pandora_spool_batch *b,
                            struct pandora_error *e)
{
    return spool_batch_stage(b, e);
}

static int fake_batch_publish(struct pandora_ctx *ctx,
                              struct pandora_spool_batch *b,
                              pandora_spool_result_fn *fn, void *data,
                              struct pandora_error *e)
{
    return spool_batch_publish(b, fn, data, e);
}

static void fake_batch_close(struct pandora_ctx *ctx,
                             struct pandora_spool_batch *b)
{
    spool_batch_close(b);
}

static int fake_staged_list(struct pandora_ctx *ctx, const char *subdir,
                            const char *tag, pandora_spool_staged_fn *fn,
                            void *data, struct pandora_error *e)
{
    return spool_staged_list(fh_of(ctx)->spool, subdir, tag, fn, data, e);
}

static int fake_staged_publish(struct pandora_ctx *ctx, const char *subdir,
                               const char *tag, const char *name, time_t mtime,
                               struct pandora_error *e)
{
    return spool_staged_publish(fh_of(ctx)->spool, subdir, tag, name, mtime,
                                e);
}

static int fake_staged_discard(struct pandora_ctx *ctx, const char *subdir,
                               const char *tag, const char *name,
                               struct pandora_error *e)
{
    return spool_staged_discard(fh_of(ctx)->spool, subdir, tag, name, e);
}

static int fake_state_save(struct pandora_ctx *ctx, const char *rel,
                           const void *buf, size_t len,
                           struct pandora_error *e)
{
    if (!spool_name_is_safe(rel))
        return -EINVAL;
    return spool_replace_file(fh_of(ctx)->state, rel, buf, len, e);
}

static int fake_state_load(struct pandora_ctx *ctx, const char *rel,
                           char **buf_r, size_t *len_r,
                           struct pandora_error *e)
{
    char *path = NULL;

    if (!spool_name_is_safe(rel))
        return -EINVAL;
    ck_assert_int_ge(asprintf(&path, "%s/%s", fh_of(ctx)->state, rel), 0);
    int rc = io_read_file(path, 64u << 20, buf_r, len_r, e);
    free(path);
    return rc;
}

static const struct pandora_host_api fake_api_template = {
    .abi_major = PANDORA_ABI_MAJOR,
    .abi_minor = PANDORA_ABI_MINOR,
    .size = sizeof(struct pandora_host_api),
    .log = fake_log,
    .logv = fake_logv,
    .service_register = fake_register,
    .conf_get_string = fake_conf_get_string,
    .conf_get_uint = fake_conf_get_uint,
    .servername = fake_servername,
    .incomingdir = fake_incomingdir,
    .state_dir = fake_state_dir,
    .timer_add = fake_timer_add,
    .timer_poke = fake_timer_poke,
    .timer_cancel = fake_timer_cancel,
    .stopping = fake_stopping,
    .spool_deliver = fake_deliver,
    .spool_pressure = fake_pressure,
    .spool_batch_open = fake_batch_open,
    .spool_batch_add = fake_batch_add,
    .spool_batch_stage = fake_batch_stage,
    .spool_batch_publish = fake_batch_publish,
    .spool_batch_close = fake_batch_close,
    .spool_staged_list = fake_staged_list,
    .spool_staged_publish = fake_staged_publish,
    .spool_staged_discard = fake_staged_discard,
    .spool_name_is_safe = spool_name_is_safe,
    .state_save = fake_state_save,
    .state_load = fake_state_load,
    .status_row = status_row,
    .status_string = status_string,
    .status_int = status_int,
    .status_uint = status_uint,
    .status_double = status_double,
    .status_bool = status_bool,
    .status_time = status_time,
};

struct fake_host *fake_host_new(const char *server_conf)
{
    struct fake_host *fh = calloc(1, sizeof(*fh));
    struct pandora_error err = { "" };

    ck_assert_ptr_nonnull(fh);
    fh->ctx.fh = fh;
    fh->api = fake_api_template;
    fh->dir = tu_tmpdir();
    ck_assert_int_ge(asprintf(&fh->incoming, "%s/in", fh->dir), 0);
    ck_assert_int_ge(asprintf(&fh->state, "%s/state", fh->dir), 0);
    ck_assert_int_eq(mkdir(fh->incoming, 0750), 0);
    ck_assert_int_eq(mkdir(fh->state, 0750), 0);
    ck_assert_msg(conf_parse("fake.conf", server_conf, strlen(server_conf),
                             &fh->conf, &err) == 0, "%s", err.text);
    ck_assert_msg(spool_open(fh->incoming, &fh->spool, &err) == 0, "%s",
                  err.text);
    fh->log_fp = open_memstream(&fh->log, &fh->log_len);
    return fh;
}

static struct fake_service *fake_find(struct fake_host *fh, const char *name)
{
    for (size_t i = 0; i < fh->n_svc; i++)
        if (strcmp(fh->svc[i].ops->name, name) == 0)
            return &fh->svc[i];
    ck_abort_msg("no service named %s was registered", name);
    return NULL;
}

int fake_host_load(struct fake_host *fh, const struct pandora_module *mod)
{
    fh->registering = true;
    int rc = mod->init(&fh->ctx, &fh->api);
    fh->registering = false;
    return rc;
}

int fake_host_configure(struct fake_host *fh, const char *name,
                        struct pandora_error *error_r)
{
    struct fake_service *s = fake_find(fh, name);
    void *c = calloc(1, s->ops->conf_size ? s->ops->conf_size : 1);
    int rc = 0;

    if (s->ops->items != NULL)
        rc = confitem_apply(s->ops->items, fh->conf, c, error_r);
    if (rc == 0 && s->ops->configure != NULL)
        rc = s->ops->configure(&fh->ctx, s->data, c, error_r);
    if (rc != 0) {
        if (s->ops->items != NULL)
            confitem_free(s->ops->items, c);
        free(c);
        return rc;
    }
    s->conf = c;
    return 0;
}

int fake_host_start(struct fake_host *fh, const char *name,
                    struct pandora_error *error_r)
{
    struct fake_service *s = fake_find(fh, name);
    int rc = s->ops->start(&fh->ctx, s->data, s->conf, error_r);

    s->running = rc == 0;
    return rc;
}

void fake_host_stop(struct fake_host *fh, const char *name)
{
    struct fake_service *s = fake_find(fh, name);
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += 5;
    if (s->running)
        s->ops->stop(&fh->ctx, s->data, &deadline);
    s->running = false;
}

int fake_host_run_once(struct fake_host *fh, const char *name,
                       struct pandora_error *error_r)
{
    struct fake_service *s = fake_find(fh, name);

    return s->ops->run_once(&fh->ctx, s->data, s->conf, error_r);
}

unsigned fake_host_run_timers(struct fake_host *fh)
{
    unsigned ran = 0;

    for (size_t i = 0; i < fh->n_timers; i++) {
        if (!fh->timers[i].live)
            continue;
        fh->timers[i].fn(fh->timers[i].data);
        ran++;
    }
    return ran;
}

unsigned fake_host_timer_count(const struct fake_host *fh)
{
    unsigned n = 0;

    for (size_t i = 0; i < fh->n_timers; i++)
        n += fh->timers[i].live;
    return n;
}

bool fake_host_log_has(const struct fake_host *fh, const char *text)
{
    fflush(fh->log_fp);
    return fh->log != NULL && strstr(fh->log, text) != NULL;
}

char *fake_host_status_json(struct fake_host *fh)
{
    struct pandora_status *st = status_new("fakehost", "test", time(NULL));
    char *json = NULL;
    size_t len = 0;

    for (size_t i = 0; i < fh->n_svc; i++) {
        struct fake_service *s = &fh->svc[i];
        status_service(st, s->ops->name, "test", s->running, "");
        if (s->running && s->ops->status != NULL)
            s->ops->status(&fh->ctx, s->data, st);
    }
    ck_assert_int_eq(status_to_json(st, time(NULL), &json, &len), 0);
    status_free(st);
    return json;
}

const char *fake_host_incomingdir(const struct fake_host *fh)
{
    return fh->incoming;
}

const char *fake_host_state_dir(const struct fake_host *fh)
{
    return fh->state;
}

void fake_host_set_stopping(struct fake_host *fh, bool stopping)
{
    fh->stopping = stopping;
}

void fake_host_free(struct fake_host *fh)
{
    if (fh == NULL)
        return;
    for (size_t i = 0; i < fh->n_svc; i++) {
        struct fake_service *s = &fh->svc[i];
        if (s->running)
            fake_host_stop(fh, s->ops->name);
        if (s->data_free != NULL)
            s->data_free(s->data);
        if (s->conf != NULL && s->ops->items != NULL)
            confitem_free(s->ops->items, s->conf);
        free(s->conf);
    }
    spool_close(fh->spool);
    conf_free(fh->conf);
    fclose(fh->log_fp);
    free(fh->log);
    tu_rmtree(fh->dir);
    free(fh->dir);
    free(fh->incoming);
    free(fh->state);
    free(fh);
}
