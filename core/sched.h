/*
 * sched - timers and a bounded worker pool.
 *
 * One timer thread keeps the timers in due order; due timers go to a queue
 * that `workers` threads take from. A timer is never queued while it runs
 * (no overlap); its next run is scheduled when the task returns, after the
 * delay the task returns (0: the timer's interval). One blocked task holds
 * one worker and delays no other timer's scheduling.
 *
 * THREADS: all functions are thread-safe; sched_timer_cancel must not be
 * called from the timer's own task (it would wait for itself).
 */
#ifndef CORE_SCHED_H
#define CORE_SCHED_H

#include <stdbool.h>
#include <time.h>

#include <pandora/plugin.h>

struct sched;

int sched_create(unsigned workers, struct sched **sched_r,
                 struct pandora_error *error_r);

/* As api->timer_add / timer_poke / timer_cancel (plugin.h). */
int sched_timer_add(struct sched *sched, unsigned first_ms,
                    unsigned interval_ms, pandora_task_fn *fn, void *data,
                    struct pandora_timer **timer_r);
void sched_timer_poke(struct sched *sched, struct pandora_timer *timer);
void sched_timer_cancel(struct sched *sched, struct pandora_timer *timer);

/* sched_stopping - true once sched_shutdown has begun. */
bool sched_stopping(const struct sched *sched);

/*
 * sched_shutdown - run no new tasks; wait for running ones until `deadline`
 * (CLOCK_MONOTONIC). 0 if all finished, -ETIMEDOUT if some still run (their
 * threads are left to finish or die with the process).
 * sched_destroy - free everything; after a timed-out shutdown it only frees
 * what no running task can still touch.
 */
int sched_shutdown(struct sched *sched, const struct timespec *deadline);
void sched_destroy(struct sched *sched);

/* timespec helpers used with deadlines */
void sched_deadline_in(struct timespec *ts, unsigned ms);

#endif
