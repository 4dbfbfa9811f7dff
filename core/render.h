/*
 * render - what the three renderers of the status model (render_html,
 * render_metrics, render_table) share: the fields they know by name (label,
 * unit, help text) and human formatting of values.
 *
 * Fields are rendered generically by type; a known key gets its label and
 * unit (bytes, seconds, a time) so it can be placed well. Unknown keys are
 * shown as written, so a module can add fields without touching the host.
 *
 * THREADS: every function is reentrant.
 */
#ifndef CORE_RENDER_H
#define CORE_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "status.h"
#include "strbuf.h"

enum render_unit {
    RENDER_PLAIN,       /* a count, a name, a flag: shown as written */
    RENDER_BYTES,       /* shown as B, KiB, MiB... */
    RENDER_SECONDS,     /* a duration */
    RENDER_TIME,        /* a point in time (time field, or ISO string) */
    RENDER_DAYS,        /* a duration in days */
};

struct render_field {
    const char *key;
    const char *label;  /* short, for a column or a list */
    enum render_unit unit;
    const char *help;   /* one sentence, for # HELP and tooltips */
};

/* render_field_info - the known field `key`, or NULL. */
const struct render_field *render_field_info(const char *key);

/* render_label - a known field's label, else the key itself. */
const char *render_label(const char *key);

/*
 * render_value - a field's value as human text (not escaped): strings as
 * written ("-" for null), bools yes/no, times "2024-11-24 09:20:00 UTC (3
 * min ago)", bytes "1.5 MiB (1572864)", seconds "2 min 5 s".
 */
void render_value(struct strbuf *sb, const struct status_field *f, time_t now);

/* render_bytes - "0 B", "512 B", "1.5 KiB", "3.2 GiB" */
void render_bytes(struct strbuf *sb, uint64_t bytes);

/* render_duration - "0 s", "45 s", "2 min 5 s", "4 h 2 min", "3 d 4 h";
 * a negative duration is rendered as its absolute value */
void render_duration(struct strbuf *sb, int64_t seconds);

/* render_when - "never" (0), "3 min ago", "in 40 s", "just now" */
void render_when(struct strbuf *sb, time_t t, time_t now);

/* render_utc - "2024-11-24 09:20:00 UTC" ("never" for 0) */
void render_utc(struct strbuf *sb, time_t t);

/* render_utc_short - "09:20:00 UTC" on now's day, else "2024-11-24 09:20
 * UTC" ("never" for 0) */
void render_utc_short(struct strbuf *sb, time_t t, time_t now);

/* render_time_of - the time a field holds: a time field, or an ISO 8601
 * UTC string as status_to_json writes (a model read back from JSON);
 * false when it holds none ("never" is 0 and true). */
bool render_time_of(const struct status_field *f, time_t *t_r);

/* render_number - a numeric field (int, uint, double, bool, time) as a
 * double; false for strings. */
bool render_number(const struct status_field *f, double *v_r);

/* render_uptime_seconds - now - started, 0 when unknown or in the future */
int64_t render_uptime_seconds(const struct pandora_status *st, time_t now);

/* render_state_class - one of "ok", "waiting", "retrying", "failing",
 * "paused" for a row's `state` value, else "other" (never the value
 * itself: it is untrusted text). */
const char *render_state_class(const char *state);

/* render_row_state - a row's `state` string, or NULL. */
const char *render_row_state(const struct status_row *row);

/* render_iso_time - parse "YYYY-MM-DDTHH:MM:SSZ" exactly (the form
 * status_to_json writes) into *t_r; false for anything else */
bool render_iso_time(const char *s, time_t *t_r);

#endif
