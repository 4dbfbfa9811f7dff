/*
 * pressure.h - back-pressure from the spool, with hysteresis.
 *
 * Pulling pauses for every remote when incomingdir holds sync_queue_limit
 * *.data files or its filesystem has less than sync_min_free MiB free, and
 * resumes only when the queue is down to 80 % of the limit and there is
 * 10 % more than the minimum free, so pause and resume do not flap.
 *
 * THREADS: shared by all remotes; every call takes the lock.
 */
#ifndef SS_PRESSURE_H
#define SS_PRESSURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <pandora/plugin.h>

struct pressure {
    pthread_mutex_t lock;
    struct pandora_spool_limits limits;
    bool paused;
    uint64_t data_files, free_mib; /* at the last check                 */
    char why[200];
};

void pressure_init(struct pressure *p, uint64_t queue_limit,
                   uint64_t min_free_mib);
void pressure_destroy(struct pressure *p);

/*
 * pressure_room - how many more files may be pulled now: 0 while paused,
 * UINT64_MAX when no limit is set. Logs the pause and the resume once.
 */
uint64_t pressure_room(struct pressure *p, struct pandora_ctx *ctx,
                       const struct pandora_host_api *api);

bool pressure_paused(struct pressure *p);

#endif
