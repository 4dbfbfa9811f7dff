/* check_sched.c - timers and workers: periodic runs, returned delays, pokes,
 * no overlap, parallelism and its bound, cancel, shutdown. Nothing here
 * measures speed: waits are bounded by generous limits, and "did not run"
 * is shown against a witness timer that proves time went by. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "sched.h"
#include "testutil.h"

#define WAIT_MS 10000u          /* bound for anything that must happen */
#define HOUR_MS 3600000u
#define WITNESS_RUNS 30u        /* witness runs that show time went by */

/*
 * probe - shared state of test tasks. A task counts its run, records how
 * many tasks of this probe are inside at once, waits while `hold` is set
 * (or, if cooperative, until the scheduler is stopping), then returns
 * `delay`.
 */
struct probe {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned runs;
    unsigned inside, max_inside;
    bool hold;
    bool cooperative;
    struct sched *sched;
    unsigned pause_ms;
    unsigned delay;
};

/* probe_init - a probe whose tasks return `delay` */
static void probe_init(struct probe *p, unsigned delay)
{
    pthread_condattr_t attr;

    *p = (struct probe){ .delay = delay };
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &attr);
    pthread_condattr_destroy(&attr);
}

/* probe_fini - release a probe's lock and condition */
static void probe_fini(struct probe *p)
{
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
}

/* probe_sleep_ms - widen the window in which an overlap would show */
static void probe_sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000,
                           .tv_nsec = (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* probe_held - locked: must the task keep waiting? */
static bool probe_held(const struct probe *p)
{
    if (p->cooperative)
        return !sched_stopping(p->sched);
    return p->hold;
}

/* probe_task - the task every probe timer runs */
static unsigned probe_task(void *arg)
{
    struct probe *p = arg;
    struct timespec tick;
    unsigned delay;

    pthread_mutex_lock(&p->lock);
    p->runs++;
    if (++p->inside > p->max_inside)
        p->max_inside = p->inside;
    pthread_cond_broadcast(&p->cond);
    while (probe_held(p)) {
        /* short slices: sched_stopping() changes without signalling us */
        sched_deadline_in(&tick, 5);
        pthread_cond_timedwait(&p->cond, &p->lock, &tick);
    }
    pthread_mutex_unlock(&p->lock);
    if (p->pause_ms != 0)
        probe_sleep_ms(p->pause_ms);
    pthread_mutex_lock(&p->lock);
    p->inside--;
    delay = p->delay;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return delay;
}

/* runs_at_least, inside_at_least, inside_at_most - probe_wait predicates */
static bool runs_at_least(const struct probe *p, unsigned n)
{
    return p->runs >= n;
}

static bool inside_at_least(const struct probe *p, unsigned n)
{
    return p->inside >= n;
}

static bool inside_at_most(const struct probe *p, unsigned n)
{
    return p->inside <= n;
}

/* probe_wait - wait up to ms for pred(p, n); returns whether it holds */
static bool probe_wait(struct probe *p,
                       bool (*pred)(const struct probe *, unsigned),
                       unsigned n, unsigned ms)
{
    struct timespec deadline;
    int rc = 0;
    bool ok;

    sched_deadline_in(&deadline, ms);
    pthread_mutex_lock(&p->lock);
    while (!pred(p, n) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&p->cond, &p->lock, &deadline);
    ok = pred(p, n);
    pthread_mutex_unlock(&p->lock);
    return ok;
}

/* probe_get - a locked read of one counter */
static unsigned probe_get(struct probe *p, const unsigned *field)
{
    pthread_mutex_lock(&p->lock);
    unsigned v = *field;
    pthread_mutex_unlock(&p->lock);
    return v;
}

/* probe_release - let held tasks return */
static void probe_release(struct probe *p)
{
    pthread_mutex_lock(&p->lock);
    p->hold = false;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* new_sched - a scheduler with `workers` workers, or the test fails */
static struct sched *new_sched(unsigned workers)
{
    struct pandora_error err = { "" };
    struct sched *s = NULL;

    ck_assert_msg(sched_create(workers, &s, &err) == 0, "%s", err.text);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* add_timer - sched_timer_add for a probe, or the test fails */
static struct pandora_timer *add_timer(struct sched *s, unsigned first_ms,
                                       unsigned interval_ms, struct probe *p)
{
    struct pandora_timer *t = NULL;

    ck_assert_int_eq(sched_timer_add(s, first_ms, interval_ms, probe_task, p,
                                     &t), 0);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* witness_time_passes - a 1 ms timer runs WITNESS_RUNS times: proof that
 * the scheduler had ample time to run anything else that was due */
static void witness_time_passes(struct sched *s)
{
    struct probe w;

    probe_init(&w, 0);
    struct pandora_timer *t = add_timer(s, 0, 1, &w);
    ck_assert(probe_wait(&w, runs_at_least, WITNESS_RUNS, WAIT_MS));
    sched_timer_cancel(s, t);
    probe_fini(&w);
}

/* ---- timing: intervals, returned delays, pokes ---- */

START_TEST(test_sched_periodic_timer_runs_repeatedly)
{
    struct sched *s = new_sched(2);
    struct probe p;

    probe_init(&p, 0);
    add_timer(s, 0, 5, &p);
    ck_assert(probe_wait(&p, runs_at_least, 5, WAIT_MS));
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

START_TEST(test_sched_returned_delay_postpones_next_run)
{
    struct sched *s = new_sched(2);
    struct probe p;

    probe_init(&p, HOUR_MS);
    add_timer(s, 0, 1, &p);
    ck_assert(probe_wait(&p, runs_at_least, 1, WAIT_MS));
    witness_time_passes(s);
    ck_assert_uint_eq(probe_get(&p, &p.runs), 1);
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

START_TEST(test_sched_returned_delay_shortens_interval)
{
    struct sched *s = new_sched(2);
    struct probe p;

    probe_init(&p, 1);
    add_timer(s, 0, HOUR_MS, &p);
    ck_assert(probe_wait(&p, runs_at_least, 5, WAIT_MS));
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

START_TEST(test_sched_first_delay_is_respected)
{
    struct sched *s = new_sched(2);
    struct probe p;

    probe_init(&p, 0);
    add_timer(s, HOUR_MS, 1, &p);
    witness_time_passes(s);
    ck_assert_uint_eq(probe_get(&p, &p.runs), 0);
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

START_TEST(test_sched_poke_runs_idle_timer_before_its_interval)
{
    struct sched *s = new_sched(2);
    struct probe p;

    probe_init(&p, 0);
    struct pandora_timer *t = add_timer(s, HOUR_MS, HOUR_MS, &p);
    sched_timer_poke(s, t);
    ck_assert(probe_wait(&p, runs_at_least, 1, WAIT_MS));
    ck_assert(probe_wait(&p, inside_at_most, 0, WAIT_MS));
    sched_timer_poke(s, t);
    ck_assert(probe_wait(&p, runs_at_least, 2, WAIT_MS));
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

START_TEST(test_sched_zero_interval_timer_waits_for_poke)
{
    struct sched *s = new_sched(2);
    struct probe p;

    probe_init(&p, 0);
    struct pandora_timer *t = add_timer(s, 0, 0, &p);
    ck_assert(probe_wait(&p, runs_at_least, 1, WAIT_MS));
    witness_time_passes(s);
    ck_assert_uint_eq(probe_get(&p, &p.runs), 1);
    sched_timer_poke(s, t);
    ck_assert(probe_wait(&p, runs_at_least, 2, WAIT_MS));
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

/* ---- overlap: a timer never runs twice at once ---- */

START_TEST(test_sched_timer_never_overlaps_itself_under_poke_spam)
{
    struct sched *s = new_sched(4);
    struct timespec limit, now;
    struct probe p;

    probe_init(&p, 0);
    p.pause_ms = 2;
    struct pandora_timer *t = add_timer(s, 0, 1, &p);
    sched_deadline_in(&limit, WAIT_MS);
    do {
        for (int i = 0; i < 100; i++)
            sched_timer_poke(s, t);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (!probe_wait(&p, runs_at_least, 30, 0) &&
             now.tv_sec < limit.tv_sec);
    ck_assert_uint_ge(probe_get(&p, &p.runs), 30);
    ck_assert_uint_eq(probe_get(&p, &p.max_inside), 1);
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

START_TEST(test_sched_pokes_while_running_give_one_more_run)
{
    struct sched *s = new_sched(2);
    struct probe p;

    probe_init(&p, 0);
    p.hold = true;
    struct pandora_timer *t = add_timer(s, 0, HOUR_MS, &p);
    ck_assert(probe_wait(&p, inside_at_least, 1, WAIT_MS));
    for (int i = 0; i < 50; i++)
        sched_timer_poke(s, t);
    probe_release(&p);
    ck_assert(probe_wait(&p, runs_at_least, 2, WAIT_MS));
    ck_assert(probe_wait(&p, inside_at_most, 0, WAIT_MS));
    witness_time_passes(s);
    ck_assert_uint_eq(probe_get(&p, &p.runs), 2);
    ck_assert_uint_eq(probe_get(&p, &p.max_inside), 1);
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

/* ---- parallel: blocked tasks and the worker bound ---- */

START_TEST(test_sched_blocked_task_does_not_delay_other_timers)
{
    struct sched *s = new_sched(2);
    struct probe blocked, busy;

    probe_init(&blocked, 0);
    probe_init(&busy, 0);
    blocked.hold = true;
    add_timer(s, 0, 1, &blocked);
    ck_assert(probe_wait(&blocked, inside_at_least, 1, WAIT_MS));
    add_timer(s, 0, 1, &busy);
    ck_assert(probe_wait(&busy, runs_at_least, 50, WAIT_MS));
    ck_assert_uint_eq(probe_get(&blocked, &blocked.runs), 1);
    ck_assert_uint_eq(probe_get(&blocked, &blocked.inside), 1);
    probe_release(&blocked);
    sched_destroy(s);
    probe_fini(&blocked);
    probe_fini(&busy);
}
END_TEST

START_TEST(test_sched_worker_count_bounds_parallel_tasks)
{
    struct sched *s = new_sched(2);
    struct probe p;

    probe_init(&p, 0);
    p.hold = true;
    for (int i = 0; i < 5; i++)
        add_timer(s, 0, HOUR_MS, &p);
    ck_assert(probe_wait(&p, inside_at_least, 2, WAIT_MS));
    /* a window in which a third task could start if the bound leaked */
    ck_assert(!probe_wait(&p, inside_at_least, 3, 300));
    probe_release(&p);
    ck_assert(probe_wait(&p, runs_at_least, 5, WAIT_MS));
    ck_assert_uint_eq(probe_get(&p, &p.max_inside), 2);
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

/* ---- cancel ---- */

/* canceller - cancels a timer on its own thread and records what it saw */
struct canceller {
    struct sched *sched;
    struct pandora_timer *timer;
    struct probe *probe;
    atomic_bool calling, returned;
    unsigned inside_after;      /* probe->inside right after cancel */
    unsigned runs_after;
};

/* canceller_main - the canceller's thread */
static void *canceller_main(void *arg)
{
    struct canceller *c = arg;

    atomic_store(&c->calling, true);
    sched_timer_cancel(c->sched, c->timer);
    c->inside_after = probe_get(c->probe, &c->probe->inside);
    c->runs_after = probe_get(c->probe, &c->probe->runs);
    atomic_store(&c->returned, true);
    return NULL;
}

START_TEST(test_sched_cancel_waits_for_running_task)
{
    struct sched *s = new_sched(2);
    struct canceller c = { .sched = s };
    struct probe p;
    pthread_t tid;

    probe_init(&p, 0);
    p.hold = true;
    c.probe = &p;
    c.timer = add_timer(s, 0, 1, &p);
    atomic_init(&c.calling, false);
    atomic_init(&c.returned, false);
    ck_assert(probe_wait(&p, inside_at_least, 1, WAIT_MS));
    sched_timer_poke(s, c.timer);       /* a pending rerun must not survive */
    ck_assert_int_eq(pthread_create(&tid, NULL, canceller_main, &c), 0);
    for (int i = 0; i < 1000 && !atomic_load(&c.calling); i++)
        probe_sleep_ms(10);
    ck_assert(atomic_load(&c.calling));
    /* while the task is held, cancel must still be waiting */
    ck_assert(!probe_wait(&p, inside_at_most, 0, 500));
    ck_assert(!atomic_load(&c.returned));
    probe_release(&p);
    ck_assert_int_eq(pthread_join(tid, NULL), 0);
    ck_assert_uint_eq(c.inside_after, 0);
    ck_assert_uint_eq(c.runs_after, 1);
    witness_time_passes(s);
    ck_assert_uint_eq(probe_get(&p, &p.runs), c.runs_after);
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

START_TEST(test_sched_cancelled_periodic_timer_runs_no_more)
{
    struct sched *s = new_sched(2);
    struct probe p;

    probe_init(&p, 0);
    struct pandora_timer *t = add_timer(s, 0, 1, &p);
    ck_assert(probe_wait(&p, runs_at_least, 3, WAIT_MS));
    sched_timer_cancel(s, t);
    unsigned runs = probe_get(&p, &p.runs);
    ck_assert_uint_eq(probe_get(&p, &p.inside), 0);
    witness_time_passes(s);
    ck_assert_uint_eq(probe_get(&p, &p.runs), runs);
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

START_TEST(test_sched_cancelled_queued_timer_never_runs)
{
    struct sched *s = new_sched(1);
    struct probe blocker, victim;

    probe_init(&blocker, HOUR_MS);
    probe_init(&victim, 0);
    blocker.hold = true;
    add_timer(s, 0, HOUR_MS, &blocker);
    ck_assert(probe_wait(&blocker, inside_at_least, 1, WAIT_MS));
    /* due at once but the only worker is busy: it waits in the queue */
    struct pandora_timer *t = add_timer(s, 0, 1, &victim);
    sched_timer_poke(s, t);
    sched_timer_cancel(s, t);
    probe_release(&blocker);
    witness_time_passes(s);
    ck_assert_uint_eq(probe_get(&victim, &victim.runs), 0);
    sched_destroy(s);
    probe_fini(&blocker);
    probe_fini(&victim);
}
END_TEST

/* cancelling_task - a task that cancels another (running) timer */
struct cancelling_task {
    struct sched *sched;
    struct pandora_timer *victim;
    struct probe done;          /* runs counts finished cancels */
};

/* cancelling_task_run - cancel the victim, count it, sleep an hour */
static unsigned cancelling_task_run(void *arg)
{
    struct cancelling_task *ct = arg;

    sched_timer_cancel(ct->sched, ct->victim);
    pthread_mutex_lock(&ct->done.lock);
    ct->done.runs++;
    pthread_cond_broadcast(&ct->done.cond);
    pthread_mutex_unlock(&ct->done.lock);
    return HOUR_MS;
}

START_TEST(test_sched_cancel_from_another_task_does_not_deadlock)
{
    struct sched *s = new_sched(2);
    struct cancelling_task ct = { .sched = s };
    struct pandora_timer *t = NULL;
    struct probe victim;

    probe_init(&victim, 0);
    probe_init(&ct.done, 0);
    victim.hold = true;
    ct.victim = add_timer(s, 0, 1, &victim);
    ck_assert(probe_wait(&victim, inside_at_least, 1, WAIT_MS));
    ck_assert_int_eq(sched_timer_add(s, 0, HOUR_MS, cancelling_task_run, &ct,
                                     &t), 0);
    ck_assert(!probe_wait(&ct.done, runs_at_least, 1, 200));
    probe_release(&victim);
    ck_assert(probe_wait(&ct.done, runs_at_least, 1, WAIT_MS));
    ck_assert_uint_eq(probe_get(&victim, &victim.inside), 0);
    sched_destroy(s);
    probe_fini(&victim);
    probe_fini(&ct.done);
}
END_TEST

/* ---- shutdown ---- */

START_TEST(test_sched_shutdown_lets_cooperative_task_return)
{
    struct sched *s = new_sched(2);
    struct timespec deadline;
    struct probe p;

    probe_init(&p, 0);
    p.cooperative = true;
    p.sched = s;
    add_timer(s, 0, 1, &p);
    ck_assert(probe_wait(&p, inside_at_least, 1, WAIT_MS));
    ck_assert(!sched_stopping(s));
    sched_deadline_in(&deadline, WAIT_MS);
    ck_assert_int_eq(sched_shutdown(s, &deadline), 0);
    ck_assert(sched_stopping(s));
    ck_assert_uint_eq(probe_get(&p, &p.inside), 0);
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

START_TEST(test_sched_shutdown_times_out_on_task_that_refuses)
{
    struct sched *s = new_sched(2);
    struct timespec deadline;
    struct probe p;

    probe_init(&p, 0);
    p.hold = true;
    add_timer(s, 0, 1, &p);
    ck_assert(probe_wait(&p, inside_at_least, 1, WAIT_MS));
    sched_deadline_in(&deadline, 200);
    ck_assert_int_eq(sched_shutdown(s, &deadline), -ETIMEDOUT);
    ck_assert(sched_stopping(s));
    ck_assert_uint_eq(probe_get(&p, &p.inside), 1);
    /* the abandoned task returns after destroy: it must find its memory */
    sched_destroy(s);
    probe_release(&p);
    ck_assert(probe_wait(&p, inside_at_most, 0, WAIT_MS));
    probe_fini(&p);
}
END_TEST

START_TEST(test_sched_shutdown_runs_no_new_tasks)
{
    struct sched *s = new_sched(2);
    struct pandora_timer *t2 = NULL;
    struct timespec deadline;
    struct probe p;

    probe_init(&p, 0);
    struct pandora_timer *t = add_timer(s, 0, 1, &p);
    ck_assert(probe_wait(&p, runs_at_least, 3, WAIT_MS));
    sched_deadline_in(&deadline, WAIT_MS);
    ck_assert_int_eq(sched_shutdown(s, &deadline), 0);
    unsigned runs = probe_get(&p, &p.runs);
    sched_timer_poke(s, t);
    ck_assert(!probe_wait(&p, runs_at_least, runs + 1, 200));
    ck_assert_int_eq(sched_timer_add(s, 0, 1, probe_task, &p, &t2),
                     -ESHUTDOWN);
    ck_assert_ptr_null(t2);
    sched_timer_cancel(s, t);
    sched_destroy(s);
    probe_fini(&p);
}
END_TEST

/* ---- setup: creation and deadlines ---- */

START_TEST(test_sched_create_refuses_zero_workers)
{
    struct pandora_error err = { "" };
    struct sched *s = NULL;

    ck_assert_int_eq(sched_create(0, &s, &err), -EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.text, "workers") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_sched_deadline_in_is_later_by_the_delay)
{
    struct timespec before, deadline;

    clock_gettime(CLOCK_MONOTONIC, &before);
    sched_deadline_in(&deadline, 2500);
    ck_assert_int_ge(deadline.tv_nsec, 0);
    ck_assert_int_lt(deadline.tv_nsec, 1000000000L);
    long long gap_ms = (long long)(deadline.tv_sec - before.tv_sec) * 1000 +
                       (deadline.tv_nsec - before.tv_nsec) / 1000000;
    ck_assert_int_ge(gap_ms, 2500);
}
END_TEST

START_TEST(test_sched_destroy_accepts_null)
{
    sched_destroy(NULL);
}
END_TEST

/* sched_suite - one TCase per aspect */
static Suite *sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *tc;

    tc = tcase_create("timing");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sched_periodic_timer_runs_repeatedly);
    tcase_add_test(tc, test_sched_returned_delay_postpones_next_run);
    tcase_add_test(tc, test_sched_returned_delay_shortens_interval);
    tcase_add_test(tc, test_sched_first_delay_is_respected);
    tcase_add_test(tc, test_sched_poke_runs_idle_timer_before_its_interval);
    tcase_add_test(tc, test_sched_zero_interval_timer_waits_for_poke);
    suite_add_tcase(s, tc);

    tc = tcase_create("overlap");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sched_timer_never_overlaps_itself_under_poke_spam);
    tcase_add_test(tc, test_sched_pokes_while_running_give_one_more_run);
    suite_add_tcase(s, tc);

    tc = tcase_create("parallel");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sched_blocked_task_does_not_delay_other_timers);
    tcase_add_test(tc, test_sched_worker_count_bounds_parallel_tasks);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancel");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sched_cancel_waits_for_running_task);
    tcase_add_test(tc, test_sched_cancelled_periodic_timer_runs_no_more);
    tcase_add_test(tc, test_sched_cancelled_queued_timer_never_runs);
    tcase_add_test(tc, test_sched_cancel_from_another_task_does_not_deadlock);
    suite_add_tcase(s, tc);

    tc = tcase_create("shutdown");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sched_shutdown_lets_cooperative_task_return);
    tcase_add_test(tc, test_sched_shutdown_times_out_on_task_that_refuses);
    tcase_add_test(tc, test_sched_shutdown_runs_no_new_tasks);
    suite_add_tcase(s, tc);

    tc = tcase_create("setup");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_sched_create_refuses_zero_workers);
    tcase_add_test(tc, test_sched_deadline_in_is_later_by_the_delay);
    tcase_add_test(tc, test_sched_destroy_accepts_null);
    suite_add_tcase(s, tc);
    return s;
}

/* main - 99 when nothing ran (a stray CK_RUN_CASE), else pass/fail */
int main(void)
{
    return tu_run_suite(sched_suite());
}
