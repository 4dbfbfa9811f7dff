/*
 * pressure.c - the spool's "not now", with hysteresis (see pressure.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "pressure.h"

void pressure_init(struct pressure *p, uint64_t queue_limit,
                   uint64_t min_free_mib)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->limits.queue_limit = queue_limit;
    p->limits.min_free_mib = min_free_mib;
}

void pressure_destroy(struct pressure *p)
{
    pthread_mutex_destroy(&p->lock);
}

/* resume_limits - the stricter limits a paused spool must get under */
static struct pandora_spool_limits resume_limits(const struct pressure *p)
{
    struct pandora_spool_limits l = p->limits;

    if (l.queue_limit > 0)
        l.queue_limit = l.queue_limit * 8 / 10 > 0 ? l.queue_limit * 8 / 10
                                                   : 1;
    if (l.min_free_mib > 0)
        l.min_free_mib += l.min_free_mib / 10 > 0 ? l.min_free_mib / 10 : 1;
    return l;
}

static uint64_t room_left(const struct pressure *p)
{
    if (p->paused)
        return 0;
    if (p->limits.queue_limit == 0)
        return UINT64_MAX;
    return p->data_files < p->limits.queue_limit
               ? p->limits.queue_limit - p->data_files
               : 0;
}

uint64_t pressure_room(struct pressure *p, struct pandora_ctx *ctx,
                       const struct pandora_host_api *api)
{
    struct pandora_spool_state st = { 0, 0 };
    struct pandora_error e = { "" };

    if (p->limits.queue_limit == 0 && p->limits.min_free_mib == 0)
        return UINT64_MAX;
    pthread_mutex_lock(&p->lock);
    struct pandora_spool_limits l = p->paused ? resume_limits(p) : p->limits;
    int rc = api->spool_pressure(ctx, &l, &st, &e);
    p->data_files = st.data_files;
    p->free_mib = st.free_mib;
    bool was = p->paused;
    if (rc == -EAGAIN || rc == 0)
        p->paused = rc == -EAGAIN;
    else
        api->log(ctx, PANDORA_LOG_ERROR, "cannot check the spool: %s", e.text);
    if (p->paused && !was)
        api->log(ctx, PANDORA_LOG_WARNING,
                 "pulling paused: %s (%llu data files waiting, %llu MiB "
                 "free); remote files stay on the remotes until the data "
                 "server catches up",
                 e.text, (unsigned long long)st.data_files,
                 (unsigned long long)st.free_mib);
    else if (!p->paused && was)
        api->log(ctx, PANDORA_LOG_INFO,
                 "pulling resumed (%llu data files waiting, %llu MiB free)",
                 (unsigned long long)st.data_files,
                 (unsigned long long)st.free_mib);
    uint64_t room = room_left(p);
    pthread_mutex_unlock(&p->lock);
    return room;
}

bool pressure_paused(struct pressure *p)
{
    pthread_mutex_lock(&p->lock);
    bool paused = p->paused;
    pthread_mutex_unlock(&p->lock);
    return paused;
}
