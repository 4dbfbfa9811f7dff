/*
 * pull.c - one pull thread of a visit (see pull.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pull.h"

/* Files per group commit. Small enough that a stop or back-pressure is
 * honoured quickly, large enough to amortise the flushes. */
#define PULL_CHUNK 128

enum file_state {
    F_SKIP,       /* not transferred (refused, vanished, not reached)   */
    F_ADDED,      /* RECV'd into this chunk's batch                      */
    F_PRESTAGED,  /* staged by an earlier visit                          */
};

enum mv_state {
    MV_NOT_DONE,  /* never moved: the remote still has it                */
    MV_DONE,      /* moved (or already gone): publish the staged copy    */
    MV_REFUSED,   /* the remote kept it: drop the staged copy            */
    MV_UNKNOWN,   /* the connection died during MV: leave it staged      */
};

struct puller {
    struct pull_work *w;
    struct remote *r;
    struct ss *ss;
    struct tn_conn *conn;
    bool answered;          /* pull_answered() was called               */
    int tmpfd;
    /* the chunk being worked on */
    struct pull *files[PULL_CHUNK];
    enum file_state state[PULL_CHUNK];
    enum mv_state mv[PULL_CHUNK];
    uint64_t size[PULL_CHUNK];
    size_t n;
};

/* ---- small helpers ---------------------------------------------------- */

void pull_answered(struct pull_work *w, bool *done)
{
    if (*done)
        return;
    *done = true;
    pthread_mutex_lock(&w->lock);
    w->nanswered++;
    pthread_cond_broadcast(&w->answered);
    pthread_mutex_unlock(&w->lock);
}

void pull_note_error(struct pull_work *w, const struct tn_error *e)
{
    pthread_mutex_lock(&w->lock);
    w->errors++;
    w->last = *e;
    pthread_mutex_unlock(&w->lock);
}

/* note_delivered - count it, and remember the name: a remote that fails to
 * delete what it sent lists it again, and it must not be delivered twice */
static void note_delivered(struct pull_work *w, const char *name,
                           uint64_t bytes)
{
    pthread_mutex_lock(&w->lock);
    w->files++;
    w->bytes += bytes;
    settle_delivered(w->r->settle, name);
    pthread_mutex_unlock(&w->lock);
}

static void halt(struct pull_work *w)
{
    pthread_mutex_lock(&w->lock);
    w->halt = true;
    pthread_mutex_unlock(&w->lock);
}

int pull_scratch_open(struct ss *ss)
{
    int fd = open(ss->api->state_dir(ss->ctx), O_TMPFILE | O_RDWR | O_CLOEXEC,
                  0600);

    if (fd < 0)
        fd = memfd_create("syncserver", MFD_CLOEXEC);
    return fd;
}

static int tmp_reset(int fd)
{
    if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
        return -errno;
    return 0;
}

static int tmp_rewind(int fd)
{
    return lseek(fd, 0, SEEK_SET) < 0 ? -errno : 0;
}

static void local_error(struct puller *p, const char *what,
                        const struct pandora_error *e)
{
    SS_LOG(p->ss, PANDORA_LOG_ERROR, "%s: %s: %s", p->r->spec->label, what,
           e->text);
    struct tn_error te = { .kind = TN_E_LOCAL };
    snprintf(te.text, sizeof(te.text), "%.60s: %.190s", what, e->text);
    pull_note_error(p->w, &te);
}

/* file_error - one file refused or lost: log it with its reason */
static void file_error(struct puller *p, const struct tn_error *e)
{
    if (e->kind == TN_F_MISSING) {
        /* taken by someone else, or a listing that lies: one summary line
         * per visit (cycle.c), details only at debug level */
        SS_LOG(p->ss, PANDORA_LOG_DEBUG, "%s", e->text);
        pthread_mutex_lock(&p->w->lock);
        p->w->vanished++;
        pthread_mutex_unlock(&p->w->lock);
        return;
    }
    SS_LOG(p->ss, PANDORA_LOG_ERROR, "%s", e->text);
    pull_note_error(p->w, e);
}

/* ---- connections -------------------------------------------------------- */

static void record_tls(struct remote *r, const struct tn_conn *c)
{
    const struct tls_facts *f = tn_tls(c);

    pthread_mutex_lock(&r->lock);
    r->h.connected_once = true;
    if (f != NULL)
        r->h.facts = *f;
    pthread_mutex_unlock(&r->lock);
    time_t now = time(NULL);
    if (f != NULL && f->peer_expiry != 0 &&
        f->peer_expiry - now < 30 * 86400 && now - r->warned_expiry > 86400) {
        r->warned_expiry = now;
        SS_LOG(r->ss, PANDORA_LOG_WARNING,
               "%s: the remote's certificate (%s) expires in %lld day(s): "
               "renew it on the Tentacle server",
               r->spec->label, f->subject,
               (long long)(f->peer_expiry - now) / 86400);
    }
}

int pull_open(struct remote *r, struct tn_conn **conn_r, struct tn_error *err)
{
    unsigned attempts = r->ss->conf->retries ? r->ss->conf->retries : 1;
    int rc = TN_FAIL;

    for (unsigned i = 0; i < attempts && !ss_should_stop(r->ss); i++) {
        if (i > 0) {
            struct timespec ts = { 0, 200000000L * (long)i };
            nanosleep(&ts, NULL);
        }
        rc = tn_open(&r->tn, conn_r, err);
        if (rc == TN_OK) {
            record_tls(r, *conn_r);
            return TN_OK;
        }
        /* refusals that a retry cannot change */
        if (err->kind == TN_E_UNTRUSTED || err->kind == TN_E_AUTH ||
            err->kind == TN_E_CERT_REQUIRED || err->kind == TN_E_UNKNOWN_CA ||
            err->kind == TN_E_RESOLVE || err->kind == TN_E_REFUSED ||
            err->kind == TN_E_NO_LIST)
            break;
    }
    return rc;
}

/* ensure_conn - a live connection, reopened if needed */
static bool ensure_conn(struct puller *p)
{
    struct tn_error e = { 0 };

    if (p->conn != NULL && tn_alive(p->conn))
        return true;
    tn_close(p->conn);
    p->conn = NULL;
    if (pull_open(p->r, &p->conn, &e) == TN_OK)
        return true;
    SS_LOG(p->ss, PANDORA_LOG_ERROR, "%s", e.text);
    pull_note_error(p->w, &e);
    pthread_mutex_lock(&p->w->lock);
    p->w->failed = true;
    p->w->halt = true;
    pthread_mutex_unlock(&p->w->lock);
    return false;
}

/* conn_lost - the connection died mid-chunk: log, count */
static void conn_lost(struct puller *p, const struct tn_error *e)
{
    SS_LOG(p->ss, PANDORA_LOG_ERROR, "%s", e->text);
    pull_note_error(p->w, e);
    pthread_mutex_lock(&p->w->lock);
    p->w->failed = true; /* the visit did not do what it planned */
    pthread_mutex_unlock(&p->w->lock);
}

/* get - tn_get, and the first reply lets the visit open one more
 * connection (cycle.c opens them one after another: a stock server's small
 * accept queue drops simultaneous connection attempts) */
static int get(struct puller *p, enum tn_get_cmd cmd, const char *name,
               tn_sink_fn *sink, void *data, uint64_t *size_r,
               struct tn_error *e)
{
    int rc = tn_get(p->conn, cmd, name, sink, data, size_r, e);

    pull_answered(p->w, &p->answered);
    return rc;
}

/* ---- sinks ------------------------------------------------------------- */

static int sink_tmp(void *data, uint64_t size)
{
    struct puller *p = data;

    (void)size;
    return tmp_reset(p->tmpfd) == 0 ? p->tmpfd : TN_SINK_DECLINE;
}

struct mv_sink {
    struct puller *p;
    uint64_t expect;   /* staged size; UINT64_MAX: unknown, trust staged */
    bool changed;
};

/* sink_mv_safe - the staged copy is good unless the size changed since
 * RECV: then keep the newer bytes (PROTOCOL.md §7) */
static int sink_mv_safe(void *data, uint64_t size)
{
    struct mv_sink *m = data;

    if (m->expect == UINT64_MAX || size == m->expect)
        return TN_SINK_DISCARD;
    m->changed = true;
    return sink_tmp(m->p, size);
}

/* ---- safe mode ---------------------------------------------------------- */

/* safe_recv - RECV the chunk's new files into the batch */
static void safe_recv(struct puller *p, struct pandora_spool_batch *b)
{
    for (size_t i = 0; i < p->n; i++)
        p->state[i] = p->files[i]->staged ? F_PRESTAGED : F_SKIP;
    for (size_t i = 0; i < p->n; i++) {
        struct tn_error e = { 0 };
        struct pandora_error pe = { "" };
        if (p->files[i]->staged)
            continue;
        /* a 0-byte file or a failure ends a connection: take another */
        if (!ensure_conn(p))
            break;
        int rc = get(p, TN_RECV, p->files[i]->name, sink_tmp, p, &p->size[i],
                     &e);
        if (rc == TN_FILE)
            file_error(p, &e);
        if (rc == TN_FAIL)
            conn_lost(p, &e);
        if (rc != TN_OK)
            continue;
        if (tmp_rewind(p->tmpfd) < 0 ||
            p->ss->api->spool_batch_add(p->ss->ctx, b, p->files[i]->name,
                                        p->tmpfd, p->files[i]->mtime,
                                        &pe) < 0) {
            local_error(p, "cannot stage a pulled file", &pe);
            halt(p->w);
            continue;
        }
        p->state[i] = F_ADDED;
    }
}

/* restage - the file changed between RECV and MV: the MV's bytes replace
 * the staged copy (a staging rename overwrites it atomically) */
static int restage(struct puller *p, size_t i)
{
    struct ss *ss = p->ss;
    struct pandora_spool_batch *b = NULL;
    struct pandora_error pe = { "" };
    int rc = tmp_rewind(p->tmpfd);

    if (rc == 0)
        rc = ss->api->spool_batch_open(ss->ctx, NULL, p->r->spec->tag, &b, &pe);
    if (rc == 0)
        rc = ss->api->spool_batch_add(ss->ctx, b, p->files[i]->name,
                                      p->tmpfd, p->files[i]->mtime, &pe);
    if (rc == 0)
        rc = ss->api->spool_batch_stage(ss->ctx, b, &pe);
    ss->api->spool_batch_close(ss->ctx, b);
    if (rc < 0)
        local_error(p, "cannot keep the newer copy of a changed file", &pe);
    else
        SS_LOG(ss, PANDORA_LOG_WARNING,
               "%s: %s changed while it was pulled (%llu bytes, then "
               "%llu): the newer copy is delivered",
               p->r->spec->label, p->files[i]->name,
               (unsigned long long)p->size[i],
               (unsigned long long)lseek(p->tmpfd, 0, SEEK_END));
    return rc;
}

/* safe_move_one - MV one staged file: the remote deletes it */
static enum mv_state safe_move_one(struct puller *p, size_t i)
{
    struct mv_sink m = { p, UINT64_MAX, false };
    struct tn_error e = { 0 };
    uint64_t size = 0;

    if (p->state[i] == F_ADDED)
        m.expect = p->size[i];
    int rc = get(p, TN_MV, p->files[i]->name, sink_mv_safe, &m, &size, &e);
    if (rc == TN_FAIL) {
        conn_lost(p, &e);
        return MV_UNKNOWN;
    }
    if (rc == TN_FILE && e.kind == TN_F_MISSING) {
        SS_LOG(p->ss, PANDORA_LOG_WARNING,
               "%s: %s was removed from the remote after it was staged; "
               "delivering the staged copy",
               p->r->spec->label, p->files[i]->name);
        return MV_DONE;
    }
    if (rc == TN_FILE) {
        file_error(p, &e);
        return MV_REFUSED;
    }
    if (m.changed && restage(p, i) == 0)
        p->size[i] = size;
    if (p->state[i] == F_PRESTAGED)
        p->size[i] = size;
    return MV_DONE;
}

/* safe_move - MV the staged files in order; after a dead connection the
 * rest is not moved (the remote still has them). True when every file was
 * moved and all were new: the whole batch can be published at once. */
static bool safe_move(struct puller *p)
{
    bool clean = true;

    for (size_t i = 0; i < p->n; i++)
        p->mv[i] = MV_NOT_DONE;
    for (size_t i = 0; i < p->n; i++) {
        if (p->state[i] == F_SKIP)
            continue;
        if (!ensure_conn(p)) {
            clean = false;
            break;
        }
        p->mv[i] = safe_move_one(p, i);
        if (p->mv[i] != MV_DONE || p->state[i] == F_PRESTAGED)
            clean = false;
    }
    return clean;
}

static void on_published(void *data, const char *name, int rc)
{
    struct puller *p = data;

    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->files[i]->name, name) != 0)
            continue;
        if (rc == 0)
            note_delivered(p->w, name, p->size[i]);
        break;
    }
    if (rc == -EEXIST) {
        SS_LOG(p->ss, PANDORA_LOG_WARNING,
               "%s: %s still awaits ingestion in incomingdir: the new copy "
               "stays staged and is delivered once the data server took "
               "the old one", p->r->spec->label, name);
        pthread_mutex_lock(&p->w->lock);
        p->w->kept++;
        pthread_mutex_unlock(&p->w->lock);
    } else if (rc < 0) {
        SS_LOG(p->ss, PANDORA_LOG_ERROR, "%s: cannot publish %s: %s",
               p->r->spec->label, name, strerror(-rc));
    }
}

/* publish_one - the slow path after a partial chunk: per-file decisions */
static void publish_one(struct puller *p, size_t i)
{
    struct ss *ss = p->ss;
    struct pandora_error pe = { "" };
    const char *tag = p->r->spec->tag, *name = p->files[i]->name;
    int rc = 0;

    switch (p->mv[i]) {
    case MV_DONE:
        rc = ss->api->spool_staged_publish(ss->ctx, NULL, tag, name,
                                           p->files[i]->mtime, &pe);
        if (rc == 0 || rc == -EEXIST)
            on_published(p, name, rc);
        else
            local_error(p, "cannot publish a staged file", &pe);
        break;
    case MV_REFUSED:
    case MV_NOT_DONE:
        /* the remote still has it: the next visit pulls it again */
        if (p->state[i] != F_SKIP &&
            ss->api->spool_staged_discard(ss->ctx, NULL, tag, name, &pe) < 0)
            local_error(p, "cannot drop a staged copy", &pe);
        break;
    case MV_UNKNOWN:
        /* the next visit's recovery looks at the listing and decides */
        break;
    }
}

static void safe_chunk(struct puller *p)
{
    struct ss *ss = p->ss;
    struct pandora_spool_batch *b = NULL;
    struct pandora_error pe = { "" };

    if (ss->api->spool_batch_open(ss->ctx, NULL, p->r->spec->tag, &b,
                                  &pe) < 0) {
        local_error(p, "cannot start a spool batch", &pe);
        halt(p->w);
        return;
    }
    safe_recv(p, b);
    if (ss->api->spool_batch_stage(ss->ctx, b, &pe) < 0) {
        local_error(p, "cannot stage pulled files", &pe);
        ss->api->spool_batch_close(ss->ctx, b);
        halt(p->w);
        return;
    }
    if (safe_move(p)) {
        if (ss->api->spool_batch_publish(ss->ctx, b, on_published, p,
                                         &pe) < 0)
            local_error(p, "cannot publish pulled files", &pe);
        ss->api->spool_batch_close(ss->ctx, b);
        return;
    }
    /* staged files stay staged across close */
    ss->api->spool_batch_close(ss->ctx, b);
    for (size_t i = 0; i < p->n; i++)
        publish_one(p, i);
}

/* ---- fast mode ---------------------------------------------------------- */

static void fast_chunk(struct puller *p)
{
    struct ss *ss = p->ss;
    struct pandora_spool_batch *b = NULL;
    struct pandora_error pe = { "" };
    bool any_prestaged = false;

    if (ss->api->spool_batch_open(ss->ctx, NULL, p->r->spec->tag, &b,
                                  &pe) < 0) {
        local_error(p, "cannot start a spool batch", &pe);
        halt(p->w);
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        p->state[i] = p->files[i]->staged ? F_PRESTAGED : F_SKIP;
        p->mv[i] = MV_NOT_DONE;
    }
    for (size_t i = 0; i < p->n && ensure_conn(p); i++) {
        struct tn_error e = { 0 };
        if (p->files[i]->staged) {
            any_prestaged = true;
            p->mv[i] = safe_move_one(p, i);
            continue;
        }
        int rc = get(p, TN_MV, p->files[i]->name, sink_tmp, p, &p->size[i],
                     &e);
        if (rc == TN_FILE)
            file_error(p, &e);
        if (rc == TN_FAIL)
            conn_lost(p, &e); /* in fast mode a cut MV loses the file */
        if (rc != TN_OK)
            continue;
        if (tmp_rewind(p->tmpfd) < 0 ||
            ss->api->spool_batch_add(ss->ctx, b, p->files[i]->name, p->tmpfd,
                                     p->files[i]->mtime, &pe) < 0) {
            local_error(p, "cannot write a pulled file (it was already "
                        "moved off the remote: fast mode loses it)", &pe);
            halt(p->w);
            continue;
        }
    }
    if (ss->api->spool_batch_publish(ss->ctx, b, on_published, p, &pe) < 0)
        local_error(p, "cannot publish pulled files", &pe);
    ss->api->spool_batch_close(ss->ctx, b);
    for (size_t i = 0; any_prestaged && i < p->n; i++)
        if (p->state[i] == F_PRESTAGED)
            publish_one(p, i);
}

/* ---- the loop ------------------------------------------------------------- */

static const struct pull_group *take_group(struct pull_work *w);

/* take_chunk - the next up to `max` files: the rest of the current group,
 * then whole further groups (one chunk keeps each agent's order, and
 * fewer, larger chunks mean fewer flushes) */
static size_t take_chunk(struct puller *p, const struct pull_group **g,
                         size_t *pos, size_t max)
{
    size_t n = 0;

    while (n < max && n < PULL_CHUNK) {
        if (*g == NULL || *pos == (*g)->count) {
            *g = take_group(p->w);
            *pos = 0;
            if (*g == NULL)
                break;
        }
        p->files[n++] = &p->w->plan->pulls[(*g)->first + (*pos)++];
    }
    p->n = n;
    return n;
}

/* chunk_budget - files the next chunk may hold, 0 to stop */
static size_t chunk_budget(struct puller *p)
{
    struct pull_work *w = p->w;
    struct ss *ss = p->ss;

    if (ss_should_stop(ss))
        return 0;
    pthread_mutex_lock(&w->lock);
    bool stop = w->halt || w->bytes >= ss->conf->max_bytes;
    pthread_mutex_unlock(&w->lock);
    if (stop)
        return 0;
    uint64_t room = pressure_room(&ss->pressure, ss->ctx, ss->api);
    if (room == 0) {
        halt(w);
        return 0;
    }
    /* share the room between the threads, so together they stay near
     * the limit */
    uint64_t share = room == UINT64_MAX ? PULL_CHUNK : room / w->nthreads;
    return share == 0 ? 1 : share > PULL_CHUNK ? PULL_CHUNK : (size_t)share;
}

static const struct pull_group *take_group(struct pull_work *w)
{
    const struct pull_group *g = NULL;

    pthread_mutex_lock(&w->lock);
    if (!w->halt && w->next_group < w->plan->ngroups)
        g = &w->plan->groups[w->next_group++];
    pthread_mutex_unlock(&w->lock);
    return g;
}

void pull_run(struct pull_work *w, struct tn_conn **conn)
{
    struct puller p = { .w = w, .r = w->r, .ss = w->r->ss, .conn = *conn };
    const struct pull_group *g = NULL;

    p.tmpfd = pull_scratch_open(p.ss);
    if (p.tmpfd < 0) {
        struct pandora_error pe;
        snprintf(pe.text, sizeof(pe.text), "no scratch file in %s: %s",
                 p.ss->api->state_dir(p.ss->ctx), strerror(errno));
        local_error(&p, "cannot pull", &pe);
        halt(w);
        pull_answered(w, &p.answered);
        return;
    }
    size_t pos = 0, max;
    while ((max = chunk_budget(&p)) > 0 && take_chunk(&p, &g, &pos, max)) {
        if (p.ss->conf->delivery == SS_FAST)
            fast_chunk(&p);
        else
            safe_chunk(&p);
    }
    close(p.tmpfd);
    pull_answered(w, &p.answered);
    *conn = p.conn;
}
