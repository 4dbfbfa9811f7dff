/*
 * cycle.c - one visit to a remote (see cycle.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "confsync.h"
#include "cycle.h"
#include "plan.h"
#include "pull.h"

/* A listing is read with this bound; the rest counts as backlog. */
#define CYCLE_MAX_NAMES 100000
#define CYCLE_FAILING_AFTER 3
#define CYCLE_BACKOFF_CAP_S 300

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned cycle_backoff_ms(unsigned interval_s, unsigned failures, double rnd)
{
    double base = interval_s > 0 ? interval_s : 1;
    double cap = base > CYCLE_BACKOFF_CAP_S ? base : CYCLE_BACKOFF_CAP_S;
    double d = base;

    for (unsigned i = 1; i < failures && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    if (failures > 0)
        d *= 0.8 + 0.4 * rnd;
    return (unsigned)(d * 1000);
}

/* ---- staged copies from an earlier run ---------------------------------- */

struct staged_set {
    char **names;
    size_t n, cap;
    bool *listed;
};

static void staged_add(void *data, const char *name)
{
    struct staged_set *s = data;

    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->names, cap * sizeof(*v));
        if (v == NULL)
            return;
        s->names = v;
        s->cap = cap;
    }
    s->names[s->n] = strdup(name);
    if (s->names[s->n] != NULL)
        s->n++;
}

static void staged_free(struct staged_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
    free(s->listed);
}

static ssize_t staged_find(const struct staged_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return (ssize_t)i;
    return -1;
}

/* recover_unlisted - staged copies whose remote file is gone were moved
 * before a crash: publish them */
static void recover_unlisted(struct remote *r, const struct staged_set *s)
{
    struct ss *ss = r->ss;

    for (size_t i = 0; i < s->n; i++) {
        struct pandora_error e = { "" };
        time_t ts;
        if (s->listed[i])
            continue;
        plan_agent_ts(s->names[i], &ts);
        int rc = ss->api->spool_staged_publish(ss->ctx, NULL, r->spec->tag,
                                               s->names[i], ts, &e);
        if (rc == 0)
            SS_LOG(ss, PANDORA_LOG_INFO, "%s: recovered %s (pulled before "
                   "an interruption)", r->spec->label, s->names[i]);
        else if (rc != -EEXIST)
            SS_LOG(ss, PANDORA_LOG_ERROR, "%s: cannot recover %s: %s",
                   r->spec->label, s->names[i], e.text);
    }
}

/* ---- the listing -------------------------------------------------------- */

struct listing {
    struct remote *r;
    struct plan *plan;
    struct staged_set *staged;
    time_t now;
    unsigned unsafe, stuck;
    char unsafe_example[64], stuck_example[64];
};

/* add_staged - a staged copy whose remote file is still listed: the MV
 * is still to be done, whatever the settle rule says */
static void add_staged(struct listing *l, const char *name)
{
    struct plan *p = l->plan;

    if (plan_offer(p, &l->r->ss->pull_re, l->r->settle, name, l->now, 0) &&
        p->n > 0 && strcmp(p->pulls[p->n - 1].name, name) == 0)
        p->pulls[p->n - 1].staged = true;
}

static int on_name(void *data, const char *name, size_t len)
{
    struct listing *l = data;
    struct ss *ss = l->r->ss;
    ssize_t k = staged_find(l->staged, name);

    (void)len;
    if (k >= 0) {
        l->staged->listed[k] = true;
        add_staged(l, name);
        return 0;
    }
    if (regexec(&ss->pull_re, name, 0, NULL, 0) != 0)
        return 0;
    if (settle_was_delivered(l->r->settle, name)) {
        /* delivered already, yet listed again: MV did not delete it */
        settle_seen(l->r->settle, name, l->now);
        if (l->stuck++ == 0)
            snprintf(l->stuck_example, sizeof(l->stuck_example), "%s", name);
        return 0;
    }
    if (!ss->api->spool_name_is_safe(name)) {
        if (l->unsafe++ == 0)
            snprintf(l->unsafe_example, sizeof(l->unsafe_example), "%s",
                     name);
        return 0;
    }
    plan_offer(l->plan, &ss->pull_re, l->r->settle, name, l->now,
               ss->conf->settle);
    return 0;
}

/* load_settle - first-seen times from the state file, once */
static void load_settle(struct remote *r)
{
    struct ss *ss = r->ss;
    char file[300], *buf = NULL;
    size_t len = 0;
    struct pandora_error e = { "" };

    if (r->settle_loaded)
        return;
    r->settle_loaded = true;
    snprintf(file, sizeof(file), "settle-%s", r->spec->tag);
    int rc = ss->api->state_load(ss->ctx, file, &buf, &len, &e);
    if (rc == 0)
        settle_load(r->settle, buf, len);
    else if (rc != -ENOENT)
        SS_LOG(ss, PANDORA_LOG_WARNING, "%s: first-seen times not read "
               "(%s): files already listed wait sync_settle again",
               r->spec->label, e.text);
    free(buf);
}

static void save_settle(struct remote *r)
{
    struct ss *ss = r->ss;
    char file[300];
    size_t len;
    struct pandora_error e = { "" };

    if (!settle_dirty(r->settle))
        return;
    char *buf = settle_dump(r->settle, &len);
    if (buf == NULL)
        return;
    snprintf(file, sizeof(file), "settle-%s", r->spec->tag);
    if (ss->api->state_save(ss->ctx, file, buf, len, &e) < 0)
        SS_LOG(ss, PANDORA_LOG_WARNING, "%s: cannot save first-seen times: "
               "%s", r->spec->label, e.text);
    free(buf);
}

/* list - LS <>, the settle rule, the plan; recovery of staged copies */
static int list(struct remote *r, struct tn_conn *c, struct plan *plan,
                struct tn_error *err)
{
    struct ss *ss = r->ss;
    struct staged_set staged = { 0 };
    struct listing l = { .r = r, .plan = plan, .staged = &staged,
                         .now = time(NULL) };
    struct pandora_error e = { "" };
    size_t more = 0, dropped = 0;

    if (ss->api->spool_staged_list(ss->ctx, NULL, r->spec->tag, staged_add,
                                   &staged, &e) < 0)
        SS_LOG(ss, PANDORA_LOG_ERROR, "%s: %s", r->spec->label, e.text);
    staged.listed = calloc(staged.n ? staged.n : 1, sizeof(bool));
    load_settle(r);
    settle_begin(r->settle);
    int rc = staged.listed ? tn_ls(c, "", CYCLE_MAX_NAMES, on_name, &l, &more,
                                   &dropped, err)
                           : TN_FAIL;
    if (rc == TN_OK) {
        if (more == 0) {
            settle_end(r->settle);
            recover_unlisted(r, &staged);
        }
        save_settle(r);
        plan->listed += more;
        plan->stuck = l.stuck;
        if (l.unsafe > 0)
            SS_LOG(ss, PANDORA_LOG_WARNING, "%s: %u listed file(s) have "
                   "names that cannot be delivered safely (e.g. '%s'); "
                   "they stay on the remote", r->spec->label, l.unsafe,
                   l.unsafe_example);
        if (l.stuck > 0)
            SS_LOG(ss, PANDORA_LOG_ERROR, "%s: %u file(s) delivered already "
                   "are still listed (e.g. '%s'): the remote sent them but "
                   "did not delete them; they are not pulled again. Check "
                   "that tentacle_server may delete files in its storage "
                   "directory, then remove them there", r->spec->label,
                   l.stuck, l.stuck_example);
        if (dropped > 0)
            SS_LOG(ss, PANDORA_LOG_DEBUG, "%s: ignored %zu invalid name(s) "
                   "in the listing", r->spec->label, dropped);
    }
    staged_free(&staged);
    if (rc == TN_OK && plan_finish(plan, ss->conf->max_files) < 0)
        rc = TN_FAIL;
    return rc;
}

/* ---- pulling ---------------------------------------------------------- */

struct pull_thread {
    pthread_t tid;
    struct pull_work *w;
    struct tn_conn *conn;
};

static void *pull_thread_main(void *arg)
{
    struct pull_thread *t = arg;

    pull_run(t->w, &t->conn);
    tn_close(t->conn);
    t->conn = NULL;
    return NULL;
}

/* wait_answered - until `count` threads had their first reply (or ended),
 * at most the remote's timeout */
static void wait_answered(struct pull_work *w, unsigned count)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += w->r->tn.timeout_ms / 1000 + 1;
    pthread_mutex_lock(&w->lock);
    while (w->nanswered < count &&
           pthread_cond_timedwait(&w->answered, &w->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&w->lock);
}

/* pull_all - up to `connections` pull threads; this thread's (the first)
 * reuses c. Each further connection is opened only once the previous one
 * was answered: a stock tentacle_server's accept queue is short, and
 * connection attempts it drops cost a one-second SYN retransmit. */
static void pull_all(struct pull_work *w, struct tn_conn **c)
{
    unsigned n = w->r->spec->connections;
    struct pull_thread *t;

    if (n > w->plan->ngroups)
        n = (unsigned)w->plan->ngroups;
    if (n == 0)
        return;
    w->nthreads = n;
    w->nanswered = 1; /* ours: the listing was answered */
    t = calloc(n, sizeof(*t));
    if (t == NULL)
        n = w->nthreads = 1;
    for (unsigned i = 1; i < n; i++) {
        t[i].w = w;
        if (pthread_create(&t[i].tid, NULL, pull_thread_main, &t[i]) != 0) {
            t[i].w = NULL;
            break;
        }
        wait_answered(w, i + 1);
    }
    pull_run(w, c);
    for (unsigned i = 1; t != NULL && i < n; i++)
        if (t[i].w != NULL)
            pthread_join(t[i].tid, NULL);
    free(t);
}

/* ---- health -------------------------------------------------------------- */

static void record(struct remote *r, int rc, const struct tn_error *err,
                   const struct pull_work *w, const struct plan *plan,
                   double secs)
{
    time_t now = time(NULL);

    pthread_mutex_lock(&r->lock);
    struct health *h = &r->h;
    h->cycle_seconds = secs;
    h->files_last = w->files;
    h->bytes_last = w->bytes;
    h->files_total += w->files;
    h->bytes_total += w->bytes;
    h->errors_total += w->errors + (rc != 0);
    if (rc == 0) {
        h->last_success = now;
        h->failures = 0;
        h->backlog_files = plan->listed > w->files ? plan->listed - w->files
                                                   : 0;
        h->backlog_unsettled = plan->unsettled;
        h->backlog_oldest = h->backlog_files ? plan->oldest : 0;
    } else {
        h->failures++;
    }
    if (err->kind != TN_E_NONE) {
        snprintf(h->last_error, sizeof(h->last_error), "%s", err->text);
        h->last_error_time = now;
    }
    if (pressure_paused(&r->ss->pressure))
        h->state = HEALTH_PAUSED;
    else if (rc == 0)
        h->state = HEALTH_OK;
    else
        h->state = h->failures >= CYCLE_FAILING_AFTER ? HEALTH_FAILING
                                                      : HEALTH_RETRYING;
    pthread_mutex_unlock(&r->lock);
}

int cycle_visit(struct remote *r)
{
    struct ss *ss = r->ss;
    struct plan plan;
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct pull_work w = { .r = r, .plan = &plan, .nthreads = 1 };
    double t0 = now_mono();
    int rc;

    plan_init(&plan);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.answered, NULL);
    if (pressure_room(&ss->pressure, ss->ctx, ss->api) == 0) {
        rc = 0; /* paused: nothing is wrong with the remote */
    } else {
        rc = pull_open(r, &c, &err) == TN_OK ? list(r, c, &plan, &err)
                                             : TN_FAIL;
        if (rc == TN_OK) {
            pull_all(&w, &c);
            save_settle(r); /* names delivered in this visit */
        } else if (err.kind != TN_E_NONE) /* NONE: stopped before trying */
            SS_LOG(ss, PANDORA_LOG_ERROR, "%s", err.text);
    }
    /* config phase: also while pulling is paused (configuration is small
     * and agents wait for it); not when the remote just failed us */
    if (ss->conf->config && rc == TN_OK && !w.failed && !ss_should_stop(ss))
        confsync_visit(r, &c, &plan);
    tn_close(c);
    if (rc == TN_OK && w.failed)
        rc = TN_FAIL;
    if (err.kind == TN_E_NONE && w.last.kind != TN_E_NONE)
        err = w.last;
    record(r, rc, &err, &w, &plan, now_mono() - t0);
    if (w.vanished > 0)
        SS_LOG(ss, PANDORA_LOG_INFO, "%s: %llu listed file(s) were gone when "
               "asked for (taken by another client, or a listing that does "
               "not match the storage)", r->spec->label,
               (unsigned long long)w.vanished);
    if (w.files > 0 || rc != 0)
        SS_LOG(ss, PANDORA_LOG_INFO, "%s: visit %s: %llu file(s), %llu "
               "byte(s) in %.2f s; %llu listed file(s) left on the remote",
               r->spec->label, rc == 0 ? "done" : "failed",
               (unsigned long long)w.files, (unsigned long long)w.bytes,
               now_mono() - t0,
               (unsigned long long)(plan.listed > w.files
                                        ? plan.listed - w.files : 0));
    plan_free(&plan);
    pthread_cond_destroy(&w.answered);
    pthread_mutex_destroy(&w.lock);
    return rc == 0 ? 0 : -EIO;
}

unsigned cycle_task(void *data)
{
    struct remote *r = data;
    int rc = cycle_visit(r);
    unsigned ms;

    pthread_mutex_lock(&r->lock);
    ms = cycle_backoff_ms(r->spec->interval, rc == 0 ? 0 : r->h.failures,
                          (double)rand_r(&r->seed) / RAND_MAX);
    r->h.next_attempt = time(NULL) + ms / 1000;
    pthread_mutex_unlock(&r->lock);
    return ms > 0 ? ms : 1;
}
