/*
 * plan.h - from a remote's listing to the ordered list of files one visit
 * pulls: sync_pull_regex, the settle rule, oldest agent timestamp first,
 * per-visit file cap, files grouped per agent in timestamp order (one
 * group is handled by one connection, so an agent's files are delivered
 * in order).
 */
#ifndef SS_PLAN_H
#define SS_PLAN_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "settle.h"

struct pull {
    char *name;
    time_t order;    /* agent timestamp, else first-seen time               */
    time_t mtime;    /* agent timestamp to set on delivery, 0: none         */
    bool staged;     /* a staged copy exists from an earlier visit          */
    size_t agent_len;/* name[0..agent_len) is the agent                     */
};

struct pull_group {
    size_t first, count;   /* into plan.pulls                               */
};

struct plan {
    struct pull *pulls;
    size_t n, cap;
    struct pull_group *groups;
    size_t ngroups;
    /* what the listing held beyond this visit (for the status page) */
    uint64_t listed;       /* names matching sync_pull_regex                */
    uint64_t unsettled;    /* of those, not settled yet                     */
    uint64_t deferred;     /* settled, left for a later visit (caps)        */
    uint64_t stuck;        /* delivered already but still listed            */
    time_t oldest;         /* oldest agent timestamp left or planned, 0     */
};

/* plan_agent_ts - split "agent.<ts>.data" (or "_<ts>"): returns the agent
 * length and sets *ts_r; 0 when the name has no timestamp. */
size_t plan_agent_ts(const char *name, time_t *ts_r);

void plan_init(struct plan *p);
void plan_free(struct plan *p);

/*
 * plan_offer - one name from the listing: kept if it matches re and has
 * been listed for settle_s seconds (first-seen times in st). Returns true
 * when the name matched re.
 */
bool plan_offer(struct plan *p, const regex_t *re, struct settle *st,
                const char *name, time_t now, unsigned settle_s);

/* plan_finish - keep the max_files oldest, group them per agent, order
 * the groups by their oldest file. */
int plan_finish(struct plan *p, size_t max_files);

#endif
