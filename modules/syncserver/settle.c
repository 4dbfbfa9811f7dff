/*
 * settle.c - first-seen times per name, in a chained hash table keyed by
 * name, with a generation counter to forget names a listing no longer has.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settle.h"

struct entry {
    struct entry *next;
    time_t first;
    unsigned long gen;
    bool delivered;
    char name[];
};

struct settle {
    struct entry **slots;
    size_t nslots, count;
    unsigned long gen;
    bool dirty;
};

/* FNV-1a: names are short; this is not exposed to collisions that matter
 * (a hostile listing is bounded to 100000 names per visit) */
static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return (size_t)h;
}

struct settle *settle_new(void)
{
    struct settle *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->nslots = 1024;
    s->slots = calloc(s->nslots, sizeof(*s->slots));
    if (s->slots == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void settle_free(struct settle *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nslots; i++) {
        for (struct entry *e = s->slots[i], *next; e != NULL; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(s->slots);
    free(s);
}

/* grow - double the table when it is full on average */
static void grow(struct settle *s)
{
    size_t n = s->nslots * 2;
    struct entry **slots = calloc(n, sizeof(*slots));

    if (slots == NULL)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < s->nslots; i++) {
        for (struct entry *e = s->slots[i], *next; e != NULL; e = next) {
            next = e->next;
            size_t j = hash(e->name) % n;
            e->next = slots[j];
            slots[j] = e;
        }
    }
    free(s->slots);
    s->slots = slots;
    s->nslots = n;
}

static struct entry **lookup(struct settle *s, const char *name)
{
    struct entry **pp = &s->slots[hash(name) % s->nslots];

    while (*pp != NULL && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* put - insert or find; NULL when out of memory */
static struct entry *put(struct settle *s, const char *name, time_t first,
                         bool delivered)
{
    struct entry **pp = lookup(s, name);

    if (*pp != NULL)
        return *pp;
    size_t len = strlen(name);
    struct entry *e = malloc(sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->name, name, len + 1);
    e->first = first;
    e->gen = s->gen;
    e->delivered = delivered;
    e->next = NULL;
    *pp = e;
    s->dirty = true;
    if (++s->count > s->nslots)
        grow(s);
    return e;
}

void settle_load(struct settle *s, const char *text, size_t len)
{
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        char line[320];
        size_t n = (size_t)(line_end - p);

        if (nl != NULL && n < sizeof(line)) {
            memcpy(line, p, n);
            line[n] = '\0';
            char *stop;
            long long t = strtoll(line, &stop, 10);
            if (stop != line && t > 0 && stop[0] == ' ' &&
                (stop[1] == '0' || stop[1] == '1') && stop[2] == ' ' &&
                stop[3] != '\0')
                put(s, stop + 3, (time_t)t, stop[1] == '1');
        }
        p = line_end + (nl != NULL);
    }
    s->dirty = false;
}

void settle_begin(struct settle *s)
{
    s->gen++;
}

time_t settle_seen(struct settle *s, const char *name, time_t now)
{
    struct entry *e = put(s, name, now, false);

    if (e == NULL)
        return now;
    e->gen = s->gen;
    return e->first;
}

void settle_end(struct settle *s)
{
    for (size_t i = 0; i < s->nslots; i++) {
        struct entry **pp = &s->slots[i];
        while (*pp != NULL) {
            struct entry *e = *pp;
            if (e->gen != s->gen) {
                *pp = e->next;
                free(e);
                s->count--;
                s->dirty = true;
            } else {
                pp = &e->next;
            }
        }
    }
}

void settle_delivered(struct settle *s, const char *name)
{
    struct entry *e = *lookup(s, name);

    if (e != NULL && !e->delivered) {
        e->delivered = true;
        s->dirty = true;
    }
}

bool settle_was_delivered(struct settle *s, const char *name)
{
    struct entry *e = *lookup(s, name);

    return e != NULL && e->delivered;
}

bool settle_dirty(const struct settle *s)
{
    return s->dirty;
}

char *settle_dump(struct settle *s, size_t *len_r)
{
    size_t cap = 64, len = 0;
    char *buf = malloc(cap);

    for (size_t i = 0; buf != NULL && i < s->nslots; i++) {
        for (struct entry *e = s->slots[i]; e != NULL; e = e->next) {
            size_t need = strlen(e->name) + 26;
            if (len + need >= cap) {
                while (len + need >= cap)
                    cap *= 2;
                char *nb = realloc(buf, cap);
                if (nb == NULL) {
                    free(buf);
                    return NULL;
                }
                buf = nb;
            }
            len += (size_t)snprintf(buf + len, cap - len, "%lld %d %s\n",
                                    (long long)e->first, e->delivered,
                                    e->name);
        }
    }
    if (buf != NULL)
        s->dirty = false;
    *len_r = len;
    return buf;
}
