/*
 * settle.h - first-seen times of a remote's file names (the settle rule).
 *
 * Tentacle's LS gives names only, and agents upload non-atomically, so a
 * name is pulled only once it has been listed for sync_settle seconds by
 * our own clock. The times survive restarts: settle_dump()/settle_load()
 * give and take the state file's text ("<unix time> <0|1> <name>\n" per
 * name, 1 when the name was delivered already).
 *
 * THREADS: one struct settle belongs to one remote's cycle; no locking.
 */
#ifndef SS_SETTLE_H
#define SS_SETTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct settle;

struct settle *settle_new(void);
void settle_free(struct settle *s);

/* settle_load - merge a state file's text; malformed lines are skipped
 * (it is our own file: a torn write costs only a later pull). */
void settle_load(struct settle *s, const char *text, size_t len);

/* settle_begin - start a new listing: names not seen again before
 * settle_end() are forgotten there. */
void settle_begin(struct settle *s);

/* settle_seen - the name is in the listing; returns when it was first
 * seen (now if never before). */
time_t settle_seen(struct settle *s, const char *name, time_t now);

/* settle_end - forget names absent from this listing */
void settle_end(struct settle *s);

/* settle_delivered - the name was delivered: if a later listing still
 * shows it, the remote failed to delete it (settle_was_delivered) */
void settle_delivered(struct settle *s, const char *name);
bool settle_was_delivered(struct settle *s, const char *name);

/* True when the state changed since the last settle_dump(). */
bool settle_dirty(const struct settle *s);

/* settle_dump - the state file's text (malloc'd; caller frees). */
char *settle_dump(struct settle *s, size_t *len_r);

#endif
