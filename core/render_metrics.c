/* render_metrics.c - the status model as Prometheus text exposition. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "render_metrics.h"
#include "strbuf.h"
#include "xalloc.h"

/* One metric family: its samples are collected apart and written together,
 * because the exposition format wants them contiguous. */
struct mfamily {
    char *name;
    bool counter;
    char *help;
    struct strbuf samples;
};

struct metrics {
    struct mfamily **v;         /* in the order first seen */
    size_t n, cap;
    size_t *slots;              /* open addressing: index + 1, 0 empty */
    size_t nslots;              /* a power of two, at least 2 * n */
};

/* A sample being built: labels without braces, e.g. service="s",remote="r" */
struct msample {
    const char *prefix;         /* "pandora_service_", "pandora_remote_" */
    const char *owner;          /* "the service", "each remotes row" */
    const struct strbuf *labels;
};

/* metrics_hash - FNV-1a */
static size_t metrics_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* metrics_rehash - double the slot table once it is half full */
static void metrics_rehash(struct metrics *m)
{
    if (m->nslots >= 2 * (m->n + 1))
        return;
    free(m->slots);
    m->nslots = m->nslots ? m->nslots * 2 : 64;
    m->slots = xcalloc(m->nslots, sizeof(*m->slots));
    for (size_t i = 0; i < m->n; i++) {
        size_t s = metrics_hash(m->v[i]->name) & (m->nslots - 1);
        while (m->slots[s] != 0)
            s = (s + 1) & (m->nslots - 1);
        m->slots[s] = i + 1;
    }
}

/* metrics_family - the family `name`, created with type and help on first
 * use (later uses keep the first type and help) */
static struct mfamily *metrics_family(struct metrics *m, const char *name,
                                      bool counter, const char *help)
{
    metrics_rehash(m);
    size_t s = metrics_hash(name) & (m->nslots - 1);
    for (; m->slots[s] != 0; s = (s + 1) & (m->nslots - 1))
        if (strcmp(m->v[m->slots[s] - 1]->name, name) == 0)
            return m->v[m->slots[s] - 1];
    struct mfamily *f = xcalloc(1, sizeof(*f));
    f->name = xstrdup(name);
    f->counter = counter;
    f->help = xstrdup(help);
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 32;
        m->v = xreallocarray(m->v, m->cap, sizeof(*m->v));
    }
    m->v[m->n++] = f;
    m->slots[s] = m->n;
    return f;
}

static void metrics_free(struct metrics *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i]->name);
        free(m->v[i]->help);
        strbuf_free(&m->v[i]->samples);
        free(m->v[i]);
    }
    free(m->v);
    free(m->slots);
}

/* metrics_name_ok - lower_snake_case, as plugin.h asks of keys: valid in a
 * metric name and a label name */
static bool metrics_name_ok(const char *s)
{
    if (s == NULL || !((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* metrics_escape - a label value (\\, \", \n) or HELP text (\\, \n); each
 * byte of invalid UTF-8 becomes U+FFFD */
static void metrics_escape(struct strbuf *sb, const char *s, bool quote)
{
    size_t left = strlen(s);
    const unsigned char *p = (const unsigned char *)s;

    while (left > 0) {
        size_t n = status_utf8_len(p, left);
        if (n == 0) {
            strbuf_puts(sb, "\xef\xbf\xbd");
            n = 1;
        } else if (*p == '\\') {
            strbuf_puts(sb, "\\\\");
        } else if (*p == '\n') {
            strbuf_puts(sb, "\\n");
        } else if (*p == '"' && quote) {
            strbuf_puts(sb, "\\\"");
        } else {
            strbuf_put(sb, (const char *)p, n);
        }
        p += n;
        left -= n;
    }
}

/* metrics_label - append name="value" to a label list */
static void metrics_label(struct strbuf *labels, const char *name,
                          const char *value)
{
    if (labels->len > 0)
        strbuf_putc(labels, ',');
    strbuf_puts(labels, name);
    strbuf_puts(labels, "=\"");
    metrics_escape(labels, value != NULL ? value : "", true);
    strbuf_putc(labels, '"');
}

/* metrics_add - one sample line into its family */
static void metrics_add(struct metrics *m, const char *name, bool counter,
                        const char *help, const struct strbuf *labels,
                        const char *value)
{
    struct mfamily *f = metrics_family(m, name, counter, help);

    strbuf_puts(&f->samples, name);
    if (labels != NULL && labels->len > 0) {
        strbuf_putc(&f->samples, '{');
        strbuf_put(&f->samples, labels->p, labels->len);
        strbuf_putc(&f->samples, '}');
    }
    strbuf_putc(&f->samples, ' ');
    strbuf_puts(&f->samples, value);
    strbuf_putc(&f->samples, '\n');
}

/* metrics_double - the shortest text that reads back equal; NaN, +Inf,
 * -Inf as Prometheus spells them */
static void metrics_double(char *buf, size_t size, double d)
{
    if (isnan(d)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, size, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    for (char *c = buf; *c != '\0'; c++)
        if (*c == ',')
            *c = '.';           /* a locale with a decimal comma */
}

/* The non-base units a key may carry, and their factor to seconds. */
static const struct {
    const char *word;
    double factor;
} metrics_units[] = {
    { "days", 86400 }, { "hours", 3600 }, { "minutes", 60 },
    { "milliseconds", 0.001 }, { NULL, 0 },
};

/* metrics_base_unit - key with its first non-base time unit word replaced
 * by "seconds" into out; returns the factor (1 when nothing changed) */
static double metrics_base_unit(const char *key, struct strbuf *out)
{
    for (size_t i = 0; metrics_units[i].word != NULL; i++) {
        size_t wl = strlen(metrics_units[i].word);
        for (const char *p = strstr(key, metrics_units[i].word); p != NULL;
             p = strstr(p + 1, metrics_units[i].word)) {
            bool start = p == key || p[-1] == '_';
            bool end = p[wl] == '\0' || p[wl] == '_';
            if (!start || !end)
                continue;
            strbuf_put(out, key, (size_t)(p - key));
            strbuf_puts(out, "seconds");
            strbuf_puts(out, p + wl);
            return metrics_units[i].factor;
        }
    }
    strbuf_puts(out, key);
    return 1;
}

/* metrics_ends - s ends with suffix */
static bool metrics_ends(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* metrics_help - the known help text, else a generic sentence */
static char *metrics_help(const struct msample *ms, const char *key,
                          const char *note)
{
    const struct render_field *info = render_field_info(key);

    if (info != NULL)
        return xasprintf("%s%s", info->help, note);
    return xasprintf("Field %s of %s%s.", key, ms->owner, note);
}

/* metrics_time - <key>_timestamp_seconds; nothing while "never" */
static void metrics_time(struct metrics *m, const struct msample *ms,
                         const struct status_field *f)
{
    char value[32];

    if (f->v.t == 0)
        return;
    char *name = xasprintf("%s%s_timestamp_seconds", ms->prefix, f->key);
    char *help = metrics_help(ms, f->key, " (Unix time)");
    snprintf(value, sizeof(value), "%jd", (intmax_t)f->v.t);
    metrics_add(m, name, false, help, ms->labels, value);
    free(name);
    free(help);
}

/* metrics_value - a number as sample text, scaled; false for a counter
 * that went negative (a broken writer: left out) */
static bool metrics_value(const struct status_field *f, double factor,
                          bool counter, char *buf, size_t size)
{
    double v = 0;

    if (factor == 1 && f->type == STATUS_UINT) {
        snprintf(buf, size, "%" PRIu64, f->v.u);
        return true;
    }
    if (factor == 1 && f->type == STATUS_INT) {
        snprintf(buf, size, "%" PRId64, f->v.i);
        return !counter || f->v.i >= 0;
    }
    render_number(f, &v);
    metrics_double(buf, size, v * factor);
    return !counter || !(v < 0);
}

/* metrics_field - one numeric, flag or time field as a sample */
static void metrics_field(struct metrics *m, const struct msample *ms,
                          const struct status_field *f)
{
    struct strbuf key = STRBUF_INIT;
    char value[48];

    if (f->type == STATUS_STRING || !metrics_name_ok(f->key) ||
        strcmp(f->key, "info") == 0 || strcmp(f->key, "up") == 0)
        return;
    if (f->type == STATUS_TIME) {
        metrics_time(m, ms, f);
        return;
    }
    double factor = metrics_base_unit(f->key, &key);
    bool counter = metrics_ends(key.p, "_total");
    if (metrics_value(f, factor, counter, value, sizeof(value))) {
        char *name = xasprintf("%s%s", ms->prefix, key.p);
        char *help = metrics_help(ms, f->key, factor != 1
                                  ? " (converted to seconds)" : "");
        metrics_add(m, name, counter, help, ms->labels, value);
        free(name);
        free(help);
    }
    strbuf_free(&key);
}

/* metrics_free_text - strings that are prose, not a label's value */
static bool metrics_free_text(const char *key)
{
    return strstr(key, "error") != NULL || strstr(key, "message") != NULL ||
           strcmp(key, "state") == 0 || strcmp(key, "reason") == 0;
}

/* metrics_info - <prefix>info{labels, short strings...} 1 */
static void metrics_info(struct metrics *m, const struct msample *ms,
                         const struct status_fields *fields,
                         const char *row_label)
{
    struct strbuf labels = STRBUF_INIT;
    size_t added = 0;

    strbuf_put(&labels, ms->labels->p, ms->labels->len);
    for (size_t i = 0; i < fields->n; i++) {
        const struct status_field *f = &fields->v[i];
        if (f->type != STATUS_STRING || f->v.s == NULL ||
            !metrics_name_ok(f->key) || metrics_free_text(f->key) ||
            status_key_is_secret(f->key) ||
            strcmp(f->key, "service") == 0 || strcmp(f->key, "module") == 0 ||
            (row_label != NULL && strcmp(f->key, row_label) == 0))
            continue;
        metrics_label(&labels, f->key, f->v.s);
        added++;
    }
    if (added > 0) {
        char *name = xasprintf("%sinfo", ms->prefix);
        char *help = xasprintf("Text fields of %s, as labels; the value is "
                               "always 1.", ms->owner);
        metrics_add(m, name, false, help, &labels, "1");
        free(name);
        free(help);
    }
    strbuf_free(&labels);
}

/* metrics_state - <prefix>state{..., state="S"}: 1 for the row's state, 0
 * for each other known one, so an alert can match state="failing" */
static void metrics_state(struct metrics *m, const struct msample *ms,
                          const char *state)
{
    static const char *const known[] = { "waiting", "ok", "retrying",
                                         "failing", "paused", NULL };
    char *name = xasprintf("%sstate", ms->prefix);
    const char *help = "The current state: 1 for the state the row is in.";
    bool listed = false;

    for (size_t i = 0; known[i] != NULL; i++) {
        struct strbuf labels = STRBUF_INIT;
        bool on = strcmp(state, known[i]) == 0;
        listed |= on;
        strbuf_put(&labels, ms->labels->p, ms->labels->len);
        metrics_label(&labels, "state", known[i]);
        metrics_add(m, name, false, help, &labels, on ? "1" : "0");
        strbuf_free(&labels);
    }
    if (!listed) {
        struct strbuf labels = STRBUF_INIT;
        strbuf_put(&labels, ms->labels->p, ms->labels->len);
        metrics_label(&labels, "state", state);
        metrics_add(m, name, false, help, &labels, "1");
        strbuf_free(&labels);
    }
    free(name);
}

/* metrics_table - every row of one table of a service */
static void metrics_table(struct metrics *m, const struct status_service *svc,
                          const struct status_table *t)
{
    size_t len = strlen(t->name);
    /* "remotes" -> remote; names that would collide with ours are left to
     * the JSON */
    char *row = xstrndup(t->name, len > 1 && t->name[len - 1] == 's'
                                      ? len - 1 : len);
    if (!metrics_name_ok(t->name) || strcmp(row, "service") == 0 ||
        strcmp(row, "hostd") == 0) {
        free(row);
        return;
    }
    char *prefix = xasprintf("pandora_%s_", row);
    char *owner = xasprintf("each %s row", t->name);
    for (size_t r = 0; r < t->n; r++) {
        struct strbuf labels = STRBUF_INIT;
        metrics_label(&labels, "service", svc->name);
        metrics_label(&labels, row, t->rows[r]->id);
        struct msample ms = { prefix, owner, &labels };
        const char *state = render_row_state(t->rows[r]);
        if (state != NULL)
            metrics_state(m, &ms, state);
        for (size_t i = 0; i < t->rows[r]->fields.n; i++)
            metrics_field(m, &ms, &t->rows[r]->fields.v[i]);
        metrics_info(m, &ms, &t->rows[r]->fields, row);
        strbuf_free(&labels);
    }
    free(prefix);
    free(owner);
    free(row);
}

/* metrics_service - up, the service's own fields and its tables */
static void metrics_service(struct metrics *m,
                            const struct status_service *svc)
{
    struct strbuf labels = STRBUF_INIT;
    struct msample ms = { "pandora_service_", "the service", &labels };

    metrics_label(&labels, "service", svc->name);
    metrics_label(&labels, "module", svc->module);
    metrics_add(m, "pandora_service_up", false,
                "1 when the service runs, 0 when it is stopped, disabled "
                "or failed.", &labels, svc->running ? "1" : "0");
    strbuf_reset(&labels);
    metrics_label(&labels, "service", svc->name);
    for (size_t i = 0; i < svc->fields.n; i++)
        metrics_field(m, &ms, &svc->fields.v[i]);
    metrics_info(m, &ms, &svc->fields, NULL);
    strbuf_free(&labels);
    for (size_t i = 0; i < svc->ntables; i++)
        metrics_table(m, svc, svc->tables[i]);
}

/* metrics_host - the host's own families */
static void metrics_host(struct metrics *m, const struct pandora_status *st,
                         time_t now)
{
    struct strbuf labels = STRBUF_INIT;
    char value[32];

    metrics_label(&labels, "servername", st->hostname);
    metrics_label(&labels, "version", st->version);
    metrics_add(m, "pandora_hostd_info", false, "pandora_hostd's server "
                "name and version; the value is always 1.", &labels, "1");
    strbuf_free(&labels);
    if (st->started != 0) {
        snprintf(value, sizeof(value), "%jd", (intmax_t)st->started);
        metrics_add(m, "pandora_hostd_start_time_seconds", false,
                    "Time pandora_hostd started (Unix time).", NULL, value);
    }
    snprintf(value, sizeof(value), "%" PRId64,
             render_uptime_seconds(st, now));
    metrics_add(m, "pandora_hostd_uptime_seconds", false,
                "Seconds since pandora_hostd started.", NULL, value);
}

/* metrics_write - every family: HELP, TYPE, its samples */
static void metrics_write(const struct metrics *m, struct strbuf *out)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct mfamily *f = m->v[i];
        strbuf_printf(out, "# HELP %s ", f->name);
        metrics_escape(out, f->help, false);
        strbuf_printf(out, "\n# TYPE %s %s\n", f->name,
                      f->counter ? "counter" : "gauge");
        strbuf_put(out, f->samples.p, f->samples.len);
    }
}

int render_metrics(const struct pandora_status *st, time_t now, char **text_r,
                   size_t *len_r)
{
    struct metrics m = { 0 };
    struct strbuf out = STRBUF_INIT;

    if (st == NULL || text_r == NULL)
        return -EINVAL;
    metrics_host(&m, st, now);
    for (size_t i = 0; i < st->n; i++)
        metrics_service(&m, st->services[i]);
    metrics_write(&m, &out);
    metrics_free(&m);
    *text_r = strbuf_take(&out, len_r);
    return 0;
}
