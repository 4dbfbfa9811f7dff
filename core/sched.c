/* sched.c - timers and a bounded worker pool (see sched.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "error.h"
#include "sched.h"
#include "xalloc.h"

/*
 * One mutex guards everything; `stopping` is also read without it by
 * sched_stopping(). A timer is in exactly one of these places:
 *   IDLE       in the heap, waiting for `due`
 *   PARKED     nowhere: interval 0 and its run returned 0, waits for a poke
 *   QUEUED     in the ready FIFO, waiting for a worker
 *   RUNNING    in a worker's hands; never queued again meanwhile
 *   CANCELLED  its last run ended; sched_timer_cancel frees it
 * and always on the `all` list, which owns it for sched_destroy.
 */
enum timer_state {
    TIMER_IDLE,
    TIMER_PARKED,
    TIMER_QUEUED,
    TIMER_RUNNING,
    TIMER_CANCELLED,
};

struct pandora_timer {
    pandora_task_fn *fn;
    void *data;
    unsigned interval_ms;
    enum timer_state state;
    bool rerun;                         /* poked while running */
    bool cancel;                        /* sched_timer_cancel is waiting */
    struct timespec due;
    uint64_t seq;                       /* equal `due`: first come first */
    size_t heap_pos;
    struct pandora_timer *ready_prev, *ready_next;
    struct pandora_timer *all_prev, *all_next;
};

struct sched {
    pthread_mutex_t lock;
    pthread_cond_t timer_cond;          /* the earliest due time changed */
    pthread_cond_t work_cond;           /* the FIFO got a timer */
    pthread_cond_t done_cond;           /* a run ended */
    struct pandora_timer **heap;
    size_t heap_len, heap_cap;
    struct pandora_timer *ready_head, *ready_tail;
    struct pandora_timer *all;
    uint64_t seq;
    unsigned running;                   /* tasks inside fn() */
    unsigned threads;                   /* threads that have not exited */
    unsigned n_tids;
    pthread_t *tids;                    /* [0] timer thread, then workers */
    atomic_bool stopping;
    bool detached;                      /* shutdown timed out: left alone */
    bool joined;
    bool destroyed;                     /* the last thread out frees */
};

/* ts_add_ms - advance ts by ms, keeping tv_nsec normalised */
static void ts_add_ms(struct timespec *ts, unsigned ms)
{
    ts->tv_sec += (time_t)(ms / 1000u);
    ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* ts_cmp - <0, 0, >0 as a is before, equal to, after b */
static int ts_cmp(const struct timespec *a, const struct timespec *b)
{
    if (a->tv_sec != b->tv_sec)
        return a->tv_sec < b->tv_sec ? -1 : 1;
    if (a->tv_nsec != b->tv_nsec)
        return a->tv_nsec < b->tv_nsec ? -1 : 1;
    return 0;
}

/* sched_deadline_in - now on CLOCK_MONOTONIC plus ms */
void sched_deadline_in(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts_add_ms(ts, ms);
}

/* timer_before - heap order: earlier due first, then earlier scheduled */
static bool timer_before(const struct pandora_timer *a,
                         const struct pandora_timer *b)
{
    int c = ts_cmp(&a->due, &b->due);

    return c < 0 || (c == 0 && a->seq < b->seq);
}

/* heap_set - put t at slot i and remember where it is */
static void heap_set(struct sched *s, size_t i, struct pandora_timer *t)
{
    s->heap[i] = t;
    t->heap_pos = i;
}

/* heap_up - move the timer at i towards the root while it is earlier */
static void heap_up(struct sched *s, size_t i)
{
    struct pandora_timer *t = s->heap[i];

    while (i > 0 && timer_before(t, s->heap[(i - 1) / 2])) {
        heap_set(s, i, s->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(s, i, t);
}

/* heap_down - move the timer at i towards the leaves while it is later */
static void heap_down(struct sched *s, size_t i)
{
    struct pandora_timer *t = s->heap[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_len)
            break;
        if (c + 1 < s->heap_len && timer_before(s->heap[c + 1], s->heap[c]))
            c++;
        if (!timer_before(s->heap[c], t))
            break;
        heap_set(s, i, s->heap[c]);
        i = c;
    }
    heap_set(s, i, t);
}

/* heap_push - add t in due order */
static void heap_push(struct sched *s, struct pandora_timer *t)
{
    if (s->heap_len == s->heap_cap) {
        s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 16;
        s->heap = xreallocarray(s->heap, s->heap_cap, sizeof(*s->heap));
    }
    heap_set(s, s->heap_len++, t);
    heap_up(s, t->heap_pos);
}

/* heap_remove - take t out from wherever it is in the heap */
static void heap_remove(struct sched *s, struct pandora_timer *t)
{
    size_t i = t->heap_pos;
    struct pandora_timer *last = s->heap[--s->heap_len];

    if (last == t)
        return;
    heap_set(s, i, last);
    heap_up(s, i);
    heap_down(s, last->heap_pos);
}

/* ready_push - append t to the FIFO and wake one worker */
static void ready_push(struct sched *s, struct pandora_timer *t)
{
    t->state = TIMER_QUEUED;
    t->ready_next = NULL;
    t->ready_prev = s->ready_tail;
    if (s->ready_tail != NULL)
        s->ready_tail->ready_next = t;
    else
        s->ready_head = t;
    s->ready_tail = t;
    pthread_cond_signal(&s->work_cond);
}

/* ready_remove - unlink t from the FIFO */
static void ready_remove(struct sched *s, struct pandora_timer *t)
{
    if (t->ready_prev != NULL)
        t->ready_prev->ready_next = t->ready_next;
    else
        s->ready_head = t->ready_next;
    if (t->ready_next != NULL)
        t->ready_next->ready_prev = t->ready_prev;
    else
        s->ready_tail = t->ready_prev;
    t->ready_prev = t->ready_next = NULL;
}

/* timer_schedule - make t due in ms; wake the timer thread if it is next */
static void timer_schedule(struct sched *s, struct pandora_timer *t,
                           unsigned ms)
{
    sched_deadline_in(&t->due, ms);
    t->seq = s->seq++;
    t->state = TIMER_IDLE;
    heap_push(s, t);
    if (s->heap[0] == t)
        pthread_cond_signal(&s->timer_cond);
}

/* timer_after_run - where t goes when its task returned `delay` */
static void timer_after_run(struct sched *s, struct pandora_timer *t,
                            unsigned delay)
{
    if (t->cancel)
        t->state = TIMER_CANCELLED;
    else if (t->rerun)
        ready_push(s, t);
    else if (delay == 0 && t->interval_ms == 0)
        t->state = TIMER_PARKED;
    else
        timer_schedule(s, t, delay != 0 ? delay : t->interval_ms);
    pthread_cond_broadcast(&s->done_cond);
}

/* all_unlink - t is no longer owned by the scheduler */
static void all_unlink(struct sched *s, struct pandora_timer *t)
{
    if (t->all_prev != NULL)
        t->all_prev->all_next = t->all_next;
    else
        s->all = t->all_next;
    if (t->all_next != NULL)
        t->all_next->all_prev = t->all_prev;
}

/* sched_free - release everything; no thread may still use s */
static void sched_free(struct sched *s)
{
    while (s->all != NULL) {
        struct pandora_timer *t = s->all;
        s->all = t->all_next;
        free(t);
    }
    free(s->heap);
    free(s->tids);
    pthread_cond_destroy(&s->timer_cond);
    pthread_cond_destroy(&s->work_cond);
    pthread_cond_destroy(&s->done_cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/*
 * sched_thread_exit - called by each thread, locked, as it leaves. After a
 * timed-out shutdown sched_destroy cannot free what an abandoned task's
 * thread will still touch, so whichever of them comes last frees it all.
 */
static void sched_thread_exit(struct sched *s)
{
    bool last = --s->threads == 0 && s->destroyed;

    pthread_mutex_unlock(&s->lock);
    if (last)
        sched_free(s);
}

/* sched_timer_main - move timers whose due time came into the FIFO */
static void *sched_timer_main(void *arg)
{
    struct sched *s = arg;
    struct timespec now, due;

    pthread_setname_np(pthread_self(), "hostd-timer");
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->stopping)) {
        if (s->heap_len == 0) {
            pthread_cond_wait(&s->timer_cond, &s->lock);
            continue;
        }
        struct pandora_timer *t = s->heap[0];
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ts_cmp(&t->due, &now) > 0) {
            /* A copy: t may be cancelled and freed while we wait. */
            due = t->due;
            pthread_cond_timedwait(&s->timer_cond, &s->lock, &due);
            continue;
        }
        heap_remove(s, t);
        ready_push(s, t);
    }
    sched_thread_exit(s);
    return NULL;
}

/* sched_worker_main - run queued tasks, one at a time, until stopping */
static void *sched_worker_main(void *arg)
{
    struct sched *s = arg;

    pthread_setname_np(pthread_self(), "hostd-worker");
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!atomic_load(&s->stopping) && s->ready_head == NULL)
            pthread_cond_wait(&s->work_cond, &s->lock);
        if (atomic_load(&s->stopping))
            break;
        struct pandora_timer *t = s->ready_head;
        ready_remove(s, t);
        t->state = TIMER_RUNNING;
        t->rerun = false;
        s->running++;
        pthread_mutex_unlock(&s->lock);
        unsigned delay = t->fn(t->data);
        pthread_mutex_lock(&s->lock);
        s->running--;
        timer_after_run(s, t, delay);
    }
    sched_thread_exit(s);
    return NULL;
}

/* sched_start_threads - the timer thread and `workers` workers; 0 or -errno */
static int sched_start_threads(struct sched *s, unsigned workers)
{
    sigset_t all, old;
    int rc = 0;

    /* New threads inherit this mask, so process signals reach only the main
     * thread. Faults stay deliverable: a crashing task must still crash
     * loudly (and let sanitizers print their report). */
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGTRAP);
    sigdelset(&all, SIGSYS);
    sigdelset(&all, SIGABRT);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    s->tids = xcalloc(workers + 1u, sizeof(*s->tids));
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i <= workers && rc == 0; i++) {
        rc = pthread_create(&s->tids[i], NULL,
                            i == 0 ? sched_timer_main : sched_worker_main, s);
        if (rc == 0) {
            s->n_tids++;
            s->threads++;
        }
    }
    pthread_mutex_unlock(&s->lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -rc;
}

/* sched_create - the scheduler with its timer thread and workers */
int sched_create(unsigned workers, struct sched **sched_r,
                 struct pandora_error *error_r)
{
    struct sched *s;
    pthread_condattr_t attr;
    int rc;

    if (workers == 0)
        return error_set(error_r, -EINVAL,
                         "the scheduler needs at least 1 worker; set workers "
                         "to 1 or more in pandora_hostd.conf");
    s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    /* Due times and deadlines are CLOCK_MONOTONIC: a clock step (NTP,
     * an admin's `date`) must neither fire nor freeze every timer. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->timer_cond, &attr);
    pthread_cond_init(&s->work_cond, &attr);
    pthread_cond_init(&s->done_cond, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&s->stopping, false);
    rc = sched_start_threads(s, workers);
    if (rc < 0) {
        sched_destroy(s);
        return error_sys(error_r, rc,
                         "cannot start the scheduler's %u worker threads; "
                         "lower workers in pandora_hostd.conf or raise the "
                         "process limits",
                         workers);
    }
    *sched_r = s;
    return 0;
}

/* sched_timer_add - a timer first due in first_ms; -ESHUTDOWN once
 * stopping */
int sched_timer_add(struct sched *s, unsigned first_ms, unsigned interval_ms,
                    pandora_task_fn *fn, void *data,
                    struct pandora_timer **timer_r)
{
    struct pandora_timer *t;

    if (fn == NULL || timer_r == NULL)
        return -EINVAL;
    t = xcalloc(1, sizeof(*t));
    t->fn = fn;
    t->data = data;
    t->interval_ms = interval_ms;
    pthread_mutex_lock(&s->lock);
    if (atomic_load(&s->stopping)) {
        pthread_mutex_unlock(&s->lock);
        free(t);
        return -ESHUTDOWN;
    }
    t->all_next = s->all;
    if (s->all != NULL)
        s->all->all_prev = t;
    s->all = t;
    /* Set before unlocking: with first_ms 0 the task may start at once
     * and read the handle the caller stored through timer_r. */
    *timer_r = t;
    timer_schedule(s, t, first_ms);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* sched_timer_poke - due now, or once more after the running task */
void sched_timer_poke(struct sched *s, struct pandora_timer *t)
{
    pthread_mutex_lock(&s->lock);
    switch (t->state) {
    case TIMER_IDLE:
        heap_remove(s, t);
        ready_push(s, t);
        break;
    case TIMER_PARKED:
        ready_push(s, t);
        break;
    case TIMER_RUNNING:
        t->rerun = true;
        break;
    case TIMER_QUEUED:
    case TIMER_CANCELLED:
        break;
    }
    pthread_mutex_unlock(&s->lock);
}

/* sched_timer_cancel - no new runs, wait out a running one, free */
void sched_timer_cancel(struct sched *s, struct pandora_timer *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    t->cancel = true;
    if (t->state == TIMER_IDLE)
        heap_remove(s, t);
    else if (t->state == TIMER_QUEUED)
        ready_remove(s, t);
    /* Waiting releases the lock, so other tasks (even the one calling us
     * from a worker) and the timer thread carry on meanwhile. */
    while (t->state == TIMER_RUNNING)
        pthread_cond_wait(&s->done_cond, &s->lock);
    all_unlink(s, t);
    pthread_mutex_unlock(&s->lock);
    free(t);
}

/* sched_stopping - lock-free, so tasks may ask as often as they like */
bool sched_stopping(const struct sched *s)
{
    return atomic_load(&s->stopping);
}

/* sched_wait_idle - locked: wait until no task runs or deadline (NULL:
 * forever) passes; true if none runs */
static bool sched_wait_idle(struct sched *s, const struct timespec *deadline)
{
    int rc = 0;

    while (s->running > 0 && rc != ETIMEDOUT) {
        if (deadline == NULL)
            pthread_cond_wait(&s->done_cond, &s->lock);
        else
            rc = pthread_cond_timedwait(&s->done_cond, &s->lock, deadline);
    }
    return s->running == 0;
}

/* sched_shutdown - as in sched.h; a NULL deadline waits as long as it takes */
int sched_shutdown(struct sched *s, const struct timespec *deadline)
{
    bool idle, join;

    pthread_mutex_lock(&s->lock);
    atomic_store(&s->stopping, true);
    pthread_cond_broadcast(&s->work_cond);
    pthread_cond_broadcast(&s->timer_cond);
    idle = sched_wait_idle(s, deadline);
    if (!idle && !s->detached && !s->joined) {
        /* The busy threads finish on their own; sched_thread_exit frees
         * what they share if sched_destroy ran first. */
        for (unsigned i = 0; i < s->n_tids; i++)
            pthread_detach(s->tids[i]);
        s->detached = true;
    }
    join = idle && !s->detached && !s->joined;
    if (join)
        s->joined = true;       /* a concurrent call must not join twice */
    pthread_mutex_unlock(&s->lock);
    for (unsigned i = 0; join && i < s->n_tids; i++)
        pthread_join(s->tids[i], NULL);
    return idle ? 0 : -ETIMEDOUT;
}

/* sched_destroy - shut down if not yet done, then free (see below) */
void sched_destroy(struct sched *s)
{
    bool last;

    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    bool shut = s->joined || s->detached;
    pthread_mutex_unlock(&s->lock);
    if (!shut)
        sched_shutdown(s, NULL);
    /* After a timed-out shutdown an abandoned task may still return into
     * its worker, which then touches the lock, the heap and its timer: the
     * last such thread frees everything (or, if its task never returns, it
     * stays allocated until the process exits). */
    pthread_mutex_lock(&s->lock);
    s->destroyed = true;
    last = s->threads == 0;
    pthread_mutex_unlock(&s->lock);
    if (last)
        sched_free(s);
}
