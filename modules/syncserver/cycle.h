/*
 * cycle.h - one visit to one remote: connect, recover what an earlier run
 * left staged, list, plan, pull over up to `connections` connections,
 * record the outcome in the remote's health and choose the next delay
 * (the interval, or a capped exponential back-off with jitter).
 */
#ifndef SS_CYCLE_H
#define SS_CYCLE_H

#include <stdbool.h>

#include "ss.h"

/* cycle_visit - one visit; returns 0 when it succeeded. Fills the
 * remote's health. THREADS: one visit per remote at a time. */
int cycle_visit(struct remote *r);

/* cycle_task - the remote's timer task: a visit, then the delay in ms */
unsigned cycle_task(void *remote);

/* cycle_backoff_ms - delay after `failures` consecutive failed visits:
 * interval doubled per failure, capped at max(interval, 300 s), +-20 %
 * jitter from `rnd` (0..1) */
unsigned cycle_backoff_ms(unsigned interval_s, unsigned failures, double rnd);

#endif
