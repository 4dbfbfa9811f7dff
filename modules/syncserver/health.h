/*
 * health.h - what one remote's status row shows (DESIGN.md 2.3 "health").
 *
 * THREADS: a struct health is written by its remote's cycle and read by the
 * status callback; both hold `lock` (owned by the remote).
 */
#ifndef SS_HEALTH_H
#define SS_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <pandora/plugin.h>

#include "tls.h"

enum health_state {
    HEALTH_WAITING,   /* no visit finished yet                          */
    HEALTH_OK,
    HEALTH_RETRYING,  /* failed lately, fewer than 3 times in a row     */
    HEALTH_FAILING,   /* 3 or more failed visits in a row               */
    HEALTH_PAUSED,    /* pulling paused by back-pressure                */
};

struct health {
    enum health_state state;
    time_t last_success, last_error_time, next_attempt;
    char last_error[256];
    unsigned failures;               /* consecutive failed visits       */
    uint64_t files_last, bytes_last, files_total, bytes_total;
    uint64_t errors_total;           /* per-file and per-visit errors   */
    uint64_t backlog_files;          /* matching names left remotely    */
    uint64_t backlog_unsettled;
    time_t backlog_oldest;           /* oldest agent timestamp left     */
    double cycle_seconds;
    bool tls;
    struct tls_facts facts;          /* valid when tls and connected    */
    bool connected_once;
    /* config sync (confsync.c) */
    uint64_t push_files_last, push_files_total;
    uint64_t push_bytes_last, push_bytes_total;
    uint64_t push_pending;           /* differ from the remote, to go   */
    uint64_t push_failed;            /* refused or unreadable, last visit */
    uint64_t config_pulled_total;    /* agent-created confs brought home */
    uint64_t config_conflicts_total; /* remote and centre copies differed */
    char last_push_error[256];
    time_t last_push_error_time;
};

const char *health_state_name(enum health_state s);

/* health_write - the row's fields through the host's status writer */
void health_write(const struct pandora_host_api *api,
                  struct pandora_status *st, const struct health *h,
                  time_t now);

#endif
