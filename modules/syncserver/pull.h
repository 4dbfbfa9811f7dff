/*
 * pull.h - transfer a visit's planned files over one connection and
 * deliver them through the host spool, in `safe` or `fast` mode.
 *
 * safe: RECV each file of a chunk into a temporary, stage the chunk
 *       durably (one flush round), MV each (the remote deletes it; the
 *       bytes are dropped unless the size changed since RECV, in which case
 *       the newer copy replaces the staged one), then publish the chunk.
 *       A crash leaves staged copies that cycle.c's recovery publishes
 *       (remote file gone) or completes (remote file still there).
 * fast: MV each file of a chunk into the spool's temporaries and publish
 *       the chunk: half the bytes, but a crash after MV loses the file.
 *
 * THREADS: a struct pull_work is shared by the pull threads of one visit;
 * its counters, its group cursor and the remote's settle state (while the
 * threads run) are under `lock`.
 */
#ifndef SS_PULL_H
#define SS_PULL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "plan.h"
#include "ss.h"

struct pull_work {
    struct remote *r;
    struct plan *plan;
    unsigned nthreads;
    pthread_mutex_t lock;
    pthread_cond_t answered;              /* a thread's first reply came   */
    unsigned nanswered;                   /* threads answered or finished  */
    size_t next_group;
    uint64_t files, bytes, errors, kept; /* kept: staged, awaiting ingestion */
    uint64_t vanished;                    /* listed, gone when asked for   */
    bool halt;                            /* take no more work             */
    bool failed;                          /* a connection failure happened */
    struct tn_error last;                 /* the last error, for health    */
};

/*
 * pull_run - one pull thread: take agent groups until none is left or the
 * work halts. *conn is used (reopened when it dies, within sync_retries)
 * and left open or NULL for the caller to close.
 */
void pull_run(struct pull_work *w, struct tn_conn **conn);

/*
 * pull_open - tn_open with sync_retries attempts; the last error in err.
 * Records the TLS facts in the remote's health.
 */
int pull_open(struct remote *r, struct tn_conn **conn_r,
              struct tn_error *err);

/* pull_answered - the thread's connection got its first reply (or the
 * thread ends): the next connection may be opened. Once per thread. */
void pull_answered(struct pull_work *w, bool *done);

/* pull_scratch_open - an unnamed scratch file for transfers: in the state
 * directory (page cache, never flushed), else in memory; -1 on failure */
int pull_scratch_open(struct ss *ss);

/* pull_note_error - count and remember an error (under w->lock) */
void pull_note_error(struct pull_work *w, const struct tn_error *e);

#endif
