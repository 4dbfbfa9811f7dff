/*
 * tick.c - a small but real test service: every tick_interval_ms it logs
 * its message and delivers tick_files files of tick_size bytes through one
 * spool batch (group commit). The daemon tests use it to observe reloads,
 * stops and crashes; check_fake_host drives it without a daemon.
 *
 * Built as t/modules/tick.so (exports `pandora_module`), or linked into a
 * test with -DTICK_STATIC (exports `tick_module`).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <pandora/plugin.h>

struct tick_extra {
    char *name;
    unsigned weight;
};

struct tick_conf {
    unsigned interval_ms;
    char *message;
    unsigned files;
    uint64_t size;
    char *prefix;
    char *password;
    unsigned slow_ms;
    void *extras;
    size_t n_extras;
};

struct tick {
    struct pandora_ctx *ctx;
    const struct pandora_host_api *api;
    pthread_mutex_t lock;
    const struct tick_conf *conf;  /* borrowed from the host, under lock */
    struct pandora_timer *timer;
    unsigned long runs, files_total, seq;
};

static const struct pandora_conf_item tick_items[] = {
    { .key = "tick_interval_ms", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct tick_conf, interval_ms), .def = "1000",
      .min = 10, .max = 3600000, .help = "milliseconds between runs" },
    { .key = "tick_message", .type = PANDORA_CONF_STRING,
      .offset = offsetof(struct tick_conf, message), .def = "hello" },
    { .key = "tick_files", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct tick_conf, files), .def = "1", .min = 0,
      .max = 100000 },
    { .key = "tick_size", .type = PANDORA_CONF_SIZE,
      .offset = offsetof(struct tick_conf, size), .def = "64", .min = 0,
      .max = 16777216 },
    { .key = "tick_prefix", .type = PANDORA_CONF_STRING,
      .offset = offsetof(struct tick_conf, prefix), .def = "tick" },
    { .key = "tick_password", .type = PANDORA_CONF_SECRET,
      .offset = offsetof(struct tick_conf, password) },
    { .key = "tick_slow_ms", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct tick_conf, slow_ms), .def = "0", .min = 0,
      .max = 10000, .help = "pause between two files of a batch" },
    PANDORA_CONF_ITEMS_END
};

static const struct pandora_conf_item tick_extra_items[] = {
    { .key = "name", .type = PANDORA_CONF_STRING,
      .offset = offsetof(struct tick_extra, name) },
    { .key = "weight", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct tick_extra, weight), .def = "1", .min = 1,
      .max = 100 },
    PANDORA_CONF_ITEMS_END
};

static const struct pandora_conf_list tick_lists[] = {
    { .name = "extras", .items = tick_extra_items,
      .elem_size = sizeof(struct tick_extra),
      .array_offset = offsetof(struct tick_conf, extras),
      .count_offset = offsetof(struct tick_conf, n_extras) },
    PANDORA_CONF_LISTS_END
};

/* tick_body - an fd holding `size` bytes: the file's name, repeated */
static int tick_body(const char *name, uint64_t size)
{
    int fd = memfd_create("tick", MFD_CLOEXEC);
    char line[300];
    int n = snprintf(line, sizeof(line), "%s\n", name);

    if (fd < 0)
        return -errno;
    for (uint64_t off = 0; off < size;) {
        size_t chunk = size - off < (uint64_t)n ? (size_t)(size - off)
                                                : (size_t)n;
        if (write(fd, line, chunk) != (ssize_t)chunk) {
            close(fd);
            return -EIO;
        }
        off += chunk;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static void tick_published(void *data, const char *name, int rc)
{
    unsigned long *ok = data;

    if (rc == 0)
        (*ok)++;
}

/* tick_batch - stage and publish `files` files as one group commit */
static int tick_batch(struct tick *t, const char *prefix, unsigned files,
                      uint64_t size, unsigned slow_ms, unsigned long *ok)
{
    const struct pandora_host_api *api = t->api;
    struct pandora_error err = { "" };
    struct pandora_spool_batch *b = NULL;
    int rc = api->spool_batch_open(t->ctx, NULL, "tick", &b, &err);

    for (unsigned i = 0; rc == 0 && i < files; i++) {
        char name[256];
        pthread_mutex_lock(&t->lock);
        unsigned long seq = ++t->seq;
        pthread_mutex_unlock(&t->lock);
        snprintf(name, sizeof(name), "%s_%ld_%lu.data", prefix,
                 (long)getpid(), seq);
        int fd = tick_body(name, size);
        if (fd < 0) {
            rc = fd;
            break;
        }
        rc = api->spool_batch_add(t->ctx, b, name, fd, 0, &err);
        close(fd);
        if (slow_ms > 0)
            usleep(slow_ms * 1000u);
        if (api->stopping(t->ctx))
            rc = -ECANCELED;
    }
    if (rc == 0)
        rc = api->spool_batch_publish(t->ctx, b, tick_published, ok, &err);
    if (rc < 0 && rc != -ECANCELED)
        api->log(t->ctx, PANDORA_LOG_ERROR, "delivery failed: %s", err.text);
    api->spool_batch_close(t->ctx, b);
    return rc;
}

/* tick_run - one run; returns the delay before the next */
static unsigned tick_run(void *data)
{
    struct tick *t = data;
    unsigned long ok = 0;

    pthread_mutex_lock(&t->lock);
    const struct tick_conf *c = t->conf;
    char *message = strdup(c->message);
    char *prefix = strdup(c->prefix);
    unsigned files = c->files, slow = c->slow_ms, next = c->interval_ms;
    uint64_t size = c->size;
    unsigned long run = ++t->runs;
    pthread_mutex_unlock(&t->lock);

    if (message != NULL && prefix != NULL) {
        t->api->log(t->ctx, PANDORA_LOG_INFO, "run %lu message=%s", run,
                    message);
        if (files > 0 && tick_batch(t, prefix, files, size, slow, &ok) == 0)
            t->api->log(t->ctx, PANDORA_LOG_INFO, "run %lu delivered %lu "
                        "file(s)", run, ok);
    }
    pthread_mutex_lock(&t->lock);
    t->files_total += ok;
    pthread_mutex_unlock(&t->lock);
    free(message);
    free(prefix);
    return next;
}

static void tick_recover_one(void *data, const char *name)
{
    struct tick *t = data;
    struct pandora_error err = { "" };

    if (t->api->spool_staged_publish(t->ctx, NULL, "tick", name, 0, &err) == 0)
        t->api->log(t->ctx, PANDORA_LOG_INFO, "recovered staged file %s",
                    name);
    else
        t->api->log(t->ctx, PANDORA_LOG_ERROR, "cannot recover %s: %s", name,
                    err.text);
}

static int tick_configure(struct pandora_ctx *ctx, void *data,
                          const void *conf, struct pandora_error *error_r)
{
    const struct tick_conf *c = conf;

    if (c->files > 0 && c->size == 0) {
        snprintf(error_r->text, sizeof(error_r->text),
                 "tick_size must be at least 1 when tick_files is not 0");
        return -EINVAL;
    }
    return 0;
}

static int tick_start(struct pandora_ctx *ctx, void *data, const void *conf,
                      struct pandora_error *error_r)
{
    struct tick *t = data;
    const struct tick_conf *c = conf;

    t->conf = c;
    t->api->spool_staged_list(ctx, NULL, "tick", tick_recover_one, t, error_r);
    return t->api->timer_add(ctx, 0, c->interval_ms, tick_run, t, &t->timer);
}

static void tick_stop(struct pandora_ctx *ctx, void *data,
                      const struct timespec *deadline)
{
    struct tick *t = data;

    t->api->timer_cancel(ctx, t->timer);
    t->timer = NULL;
}

static int tick_reconfigure(struct pandora_ctx *ctx, void *data,
                            const void *conf, struct pandora_error *error_r)
{
    struct tick *t = data;

    pthread_mutex_lock(&t->lock);
    t->conf = conf;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

static int tick_run_once(struct pandora_ctx *ctx, void *data, const void *conf,
                         struct pandora_error *error_r)
{
    struct tick *t = data;
    unsigned long before = t->files_total;

    t->conf = conf;
    tick_run(t);
    if (t->files_total - before < ((const struct tick_conf *)conf)->files) {
        snprintf(error_r->text, sizeof(error_r->text),
                 "only %lu of %u files were delivered",
                 t->files_total - before, ((const struct tick_conf *)conf)->files);
        return -EIO;
    }
    return 0;
}

static int tick_poll(struct pandora_ctx *ctx, void *data, const char *target)
{
    struct tick *t = data;

    if (target != NULL && strcmp(target, "demo") != 0)
        return -ENOENT;
    t->api->timer_poke(ctx, t->timer);
    return 0;
}

static void tick_status(struct pandora_ctx *ctx, void *data,
                        struct pandora_status *st)
{
    struct tick *t = data;
    const struct pandora_host_api *api = t->api;

    pthread_mutex_lock(&t->lock);
    api->status_uint(st, "runs_total", t->runs);
    api->status_uint(st, "files_delivered_total", t->files_total);
    api->status_string(st, "message", t->conf ? t->conf->message : "");
    api->status_row(st, "remotes", "demo");
    api->status_string(st, "state", "ok");
    pthread_mutex_unlock(&t->lock);
}

static const struct pandora_service_ops tick_ops = {
    .name = "tick",
    .enable_key = "tick",
    .items = tick_items,
    .lists = tick_lists,
    .conf_size = sizeof(struct tick_conf),
    .configure = tick_configure,
    .start = tick_start,
    .stop = tick_stop,
    .reconfigure = tick_reconfigure,
    .run_once = tick_run_once,
    .poll = tick_poll,
    .status = tick_status,
};

static void tick_free(void *data)
{
    struct tick *t = data;

    pthread_mutex_destroy(&t->lock);
    free(t);
}

static int tick_init(struct pandora_ctx *ctx, const struct pandora_host_api *api)
{
    struct tick *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return -ENOMEM;
    t->ctx = ctx;
    t->api = api;
    pthread_mutex_init(&t->lock, NULL);
    int rc = api->service_register(ctx, &tick_ops, t, tick_free);
    if (rc < 0)
        tick_free(t);   /* refused, so still ours */
    return rc;
}

#ifdef TICK_STATIC
#define TICK_DESCRIPTOR tick_module
extern const struct pandora_module tick_module;
#else
#define TICK_DESCRIPTOR pandora_module
extern const struct pandora_module pandora_module;
#endif

const struct pandora_module TICK_DESCRIPTOR = {
    PANDORA_MODULE_ABI,
    .name = "tick",
    .version = PACKAGE_VERSION,
    .init = tick_init,
};
