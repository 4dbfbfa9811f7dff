/*
 * plan.c - choose and order one visit's files (see plan.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* Agent timestamps outside this window are not used as mtimes (a name like
 * host.1.data carries a sequence number, not a time). */
#define PLAN_TS_MIN 946684800  /* 2000-01-01 */
#define PLAN_TS_SLACK 86400    /* up to a day in the future (clock skew)   */

size_t plan_agent_ts(const char *name, time_t *ts_r)
{
    size_t len = strlen(name), end, i;
    const size_t suffix = sizeof(".data") - 1;

    *ts_r = 0;
    if (len <= suffix || strcmp(name + len - suffix, ".data") != 0)
        return 0;
    end = len - suffix;
    i = end;
    while (i > 0 && isdigit((unsigned char)name[i - 1]))
        i--;
    if (i == end || end - i > 18 || i == 0 ||
        (name[i - 1] != '.' && name[i - 1] != '_'))
        return 0;
    long long v = 0;
    for (size_t k = i; k < end; k++)
        v = v * 10 + (name[k] - '0');
    *ts_r = (time_t)v;
    return i - 1;
}

void plan_init(struct plan *p)
{
    memset(p, 0, sizeof(*p));
}

void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->pulls[i].name);
    free(p->pulls);
    free(p->groups);
    plan_init(p);
}

static void note_oldest(struct plan *p, time_t t)
{
    if (t > 0 && (p->oldest == 0 || t < p->oldest))
        p->oldest = t;
}

bool plan_offer(struct plan *p, const regex_t *re, struct settle *st,
                const char *name, time_t now, unsigned settle_s)
{
    if (regexec(re, name, 0, NULL, 0) != 0)
        return false;
    p->listed++;
    time_t first = settle_seen(st, name, now), ts;
    size_t agent_len = plan_agent_ts(name, &ts);
    note_oldest(p, ts);
    if (settle_s > 0 && now - first < (time_t)settle_s) {
        p->unsettled++;
        return true;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        struct pull *v = realloc(p->pulls, cap * sizeof(*v));
        if (v == NULL)
            return true; /* planned next visit instead */
        p->pulls = v;
        p->cap = cap;
    }
    struct pull *f = &p->pulls[p->n];
    f->name = strdup(name);
    if (f->name == NULL)
        return true;
    bool plausible = ts >= PLAN_TS_MIN && ts <= now + PLAN_TS_SLACK;
    f->order = agent_len ? ts : first;
    f->mtime = plausible ? ts : 0;
    f->agent_len = agent_len ? agent_len : strlen(name);
    f->staged = false;
    p->n++;
    return true;
}

static int cmp_age(const void *a, const void *b)
{
    const struct pull *x = a, *y = b;

    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_agent(const void *a, const void *b)
{
    const struct pull *x = a, *y = b;
    size_t n = x->agent_len < y->agent_len ? x->agent_len : y->agent_len;
    int c = memcmp(x->name, y->name, n);

    if (c != 0)
        return c;
    if (x->agent_len != y->agent_len)
        return x->agent_len < y->agent_len ? -1 : 1;
    return cmp_age(a, b);
}

/* qsort_r context for ordering groups by their first (oldest) file */
static int cmp_group(const void *a, const void *b, void *data)
{
    const struct pull_group *x = a, *y = b;
    const struct pull *v = data;

    return cmp_age(&v[x->first], &v[y->first]);
}

static bool same_agent(const struct pull *x, const struct pull *y)
{
    return x->agent_len == y->agent_len &&
           memcmp(x->name, y->name, x->agent_len) == 0;
}

int plan_finish(struct plan *p, size_t max_files)
{
    p->groups = calloc(p->n ? p->n : 1, sizeof(*p->groups));
    if (p->groups == NULL)
        return -ENOMEM;
    if (p->n == 0)
        return 0; /* qsort must not see the NULL array */
    qsort(p->pulls, p->n, sizeof(*p->pulls), cmp_age);
    if (p->n > max_files) {
        p->deferred = p->n - max_files;
        for (size_t i = max_files; i < p->n; i++)
            free(p->pulls[i].name);
        p->n = max_files;
    }
    qsort(p->pulls, p->n, sizeof(*p->pulls), cmp_agent);
    p->ngroups = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (i == 0 || !same_agent(&p->pulls[i - 1], &p->pulls[i]))
            p->groups[p->ngroups++] = (struct pull_group){ i, 0 };
        p->groups[p->ngroups - 1].count++;
    }
    qsort_r(p->groups, p->ngroups, sizeof(*p->groups), cmp_group, p->pulls);
    return 0;
}
