/* render.c - known fields and human formatting shared by the renderers. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render.h"

/* The fields the host knows by name: DESIGN.md 2.3 "health" and the
 * syncserver module's health.c. Anything else is rendered as written. */
static const struct render_field render_fields[] = {
    { "remotes", "Remotes", RENDER_PLAIN,
      "Number of remotes the service polls." },
    { "paused_by_backpressure", "Paused by back-pressure", RENDER_PLAIN,
      "1 while pulling is paused because the spool is full (queue limit or "
      "free space)." },
    { "truncated", "Truncated", RENDER_PLAIN,
      "1 when the service wrote more status than the host keeps." },
    { "address", "Address", RENDER_PLAIN, "The remote's address." },
    { "port", "Port", RENDER_PLAIN, "The remote's port." },
    { "state", "State", RENDER_PLAIN,
      "waiting, ok, retrying, failing or paused." },
    { "last_success", "Last success", RENDER_TIME,
      "Time of the last successful cycle." },
    { "last_error", "Last error", RENDER_PLAIN, "The last error." },
    { "last_error_time", "Last error at", RENDER_TIME,
      "Time of the last error." },
    { "consecutive_failures", "Consecutive failures", RENDER_PLAIN,
      "Failed cycles since the last success." },
    { "next_attempt", "Next attempt", RENDER_TIME,
      "Time of the next scheduled cycle." },
    { "files_pulled_last_cycle", "Files pulled, last cycle", RENDER_PLAIN,
      "Files pulled from the remote in the last cycle." },
    { "bytes_pulled_last_cycle", "Bytes pulled, last cycle", RENDER_BYTES,
      "Bytes pulled from the remote in the last cycle." },
    { "files_pulled_total", "Files pulled", RENDER_PLAIN,
      "Files pulled from the remote since the host started." },
    { "bytes_pulled_total", "Bytes pulled", RENDER_BYTES,
      "Bytes pulled from the remote since the host started." },
    { "files_pushed_last_cycle", "Files pushed, last cycle", RENDER_PLAIN,
      "Configuration files pushed to the remote in the last cycle." },
    { "bytes_pushed_last_cycle", "Bytes pushed, last cycle", RENDER_BYTES,
      "Bytes pushed to the remote in the last cycle." },
    { "files_pushed_total", "Files pushed", RENDER_PLAIN,
      "Configuration files pushed to the remote since the host started." },
    { "bytes_pushed_total", "Bytes pushed", RENDER_BYTES,
      "Bytes pushed to the remote since the host started." },
    { "push_pending_files", "Push pending", RENDER_PLAIN,
      "Configuration files changed but not yet pushed to the remote." },
    { "push_failed_files", "Push failed", RENDER_PLAIN,
      "Configuration files the remote refused in the last cycle." },
    { "last_push_error", "Last push error", RENDER_PLAIN,
      "The last configuration push error." },
    { "last_push_error_time", "Last push error at", RENDER_TIME,
      "Time of the last configuration push error." },
    { "config_files_pulled_total", "Configs pulled", RENDER_PLAIN,
      "Agent-created .conf/.md5 files pulled from the remote since the host "
      "started." },
    { "config_conflicts_total", "Config conflicts", RENDER_PLAIN,
      "Configuration files that differ between the centre and the remote "
      "(the centre wins) since the host started." },
    { "errors_total", "Errors", RENDER_PLAIN,
      "Errors since the host started." },
    { "backlog_files", "Backlog files", RENDER_PLAIN,
      "Data files left on the remote at the last listing." },
    { "backlog_bytes", "Backlog bytes", RENDER_BYTES,
      "Bytes left on the remote at the last listing." },
    { "backlog_unsettled_files", "Unsettled files", RENDER_PLAIN,
      "Files listed on the remote but still within the settle time." },
    { "backlog_oldest_age_seconds", "Oldest backlog", RENDER_SECONDS,
      "Age of the oldest agent timestamp left on the remote." },
    { "cycle_seconds", "Cycle duration", RENDER_SECONDS,
      "Duration of the last cycle." },
    { "tls", "TLS", RENDER_PLAIN, "1 when the connection uses TLS." },
    { "tls_version", "TLS version", RENDER_PLAIN,
      "TLS protocol version of the last session." },
    { "tls_cipher", "Cipher", RENDER_PLAIN,
      "TLS cipher suite of the last session." },
    { "peer_verified", "Peer verified", RENDER_PLAIN,
      "1 when the remote's certificate chain was verified." },
    { "peer_subject", "Peer subject", RENDER_PLAIN,
      "Subject of the remote's certificate." },
    { "peer_cert_days_left", "Certificate expires in", RENDER_DAYS,
      "Time left until the remote's certificate expires." },
    { NULL, NULL, RENDER_PLAIN, NULL },
};

const struct render_field *render_field_info(const char *key)
{
    for (const struct render_field *f = render_fields; f->key; f++)
        if (strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

const char *render_label(const char *key)
{
    const struct render_field *f = render_field_info(key);

    return f != NULL ? f->label : key;
}

void render_bytes(struct strbuf *sb, uint64_t bytes)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB",
                                         "EiB" };
    double v = (double)bytes;
    size_t u = 0;

    if (bytes < 1024) {
        strbuf_printf(sb, "%" PRIu64 " B", bytes);
        return;
    }
    v /= 1024;
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    strbuf_printf(sb, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void render_duration(struct strbuf *sb, int64_t s)
{
    uint64_t a = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;

    if (a < 60)
        strbuf_printf(sb, "%" PRIu64 " s", a);
    else if (a < 3600)
        strbuf_printf(sb, "%" PRIu64 " min %" PRIu64 " s", a / 60, a % 60);
    else if (a < 86400)
        strbuf_printf(sb, "%" PRIu64 " h %" PRIu64 " min", a / 3600,
                      a % 3600 / 60);
    else
        strbuf_printf(sb, "%" PRIu64 " d %" PRIu64 " h", a / 86400,
                      a % 86400 / 3600);
}

void render_when(struct strbuf *sb, time_t t, time_t now)
{
    if (t == 0) {
        strbuf_puts(sb, "never");
    } else if (t == now) {
        strbuf_puts(sb, "just now");
    } else if (t < now) {
        render_duration(sb, (int64_t)now - (int64_t)t);
        strbuf_puts(sb, " ago");
    } else {
        strbuf_puts(sb, "in ");
        render_duration(sb, (int64_t)t - (int64_t)now);
    }
}

void render_utc(struct strbuf *sb, time_t t)
{
    char buf[64];
    struct tm tm;

    if (t == 0 || gmtime_r(&t, &tm) == NULL ||
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
        strbuf_puts(sb, "never");
        return;
    }
    strbuf_puts(sb, buf);
}

void render_utc_short(struct strbuf *sb, time_t t, time_t now)
{
    char buf[64];
    struct tm tm, today;

    if (t == 0 || gmtime_r(&t, &tm) == NULL ||
        gmtime_r(&now, &today) == NULL) {
        render_utc(sb, t);
        return;
    }
    bool same_day = tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday;
    if (strftime(buf, sizeof(buf), same_day ? "%H:%M:%S UTC"
                                            : "%Y-%m-%d %H:%M UTC", &tm) == 0)
        render_utc(sb, t);
    else
        strbuf_puts(sb, buf);
}

bool render_iso_time(const char *s, time_t *t_r)
{
    struct tm tm;

    if (s == NULL || strlen(s) != 20)
        return false;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0')
        return false;
    *t_r = timegm(&tm);
    return true;
}

bool render_time_of(const struct status_field *f, time_t *t_r)
{
    const struct render_field *info = render_field_info(f->key);

    if (f->type == STATUS_TIME) {
        *t_r = f->v.t;
        return true;
    }
    if (f->type != STATUS_STRING)
        return false;
    if (f->v.s == NULL && info != NULL && info->unit == RENDER_TIME) {
        *t_r = 0;                   /* a time read back from JSON's null */
        return true;
    }
    return render_iso_time(f->v.s, t_r);
}

bool render_number(const struct status_field *f, double *v_r)
{
    switch (f->type) {
    case STATUS_INT: *v_r = (double)f->v.i; return true;
    case STATUS_UINT: *v_r = (double)f->v.u; return true;
    case STATUS_DOUBLE: *v_r = f->v.d; return true;
    case STATUS_BOOL: *v_r = f->v.b ? 1 : 0; return true;
    case STATUS_TIME: *v_r = (double)f->v.t; return true;
    case STATUS_STRING: break;
    }
    return false;
}

/* render_seconds - a duration in seconds, fractions below a minute */
static void render_seconds(struct strbuf *sb, double s)
{
    if (!isfinite(s))
        strbuf_puts(sb, "-");
    else if (fabs(s) < 1 && s != 0)
        strbuf_printf(sb, "%.0f ms", s * 1000);
    else if (fabs(s) < 60 && s != floor(s))
        strbuf_printf(sb, "%.2f s", s);
    else
        render_duration(sb, (int64_t)s);
}

/* render_time_value - "2024-11-24 09:20:00 UTC (3 min ago)" or "never" */
static void render_time_value(struct strbuf *sb, time_t t, time_t now)
{
    render_utc(sb, t);
    if (t == 0)
        return;
    strbuf_puts(sb, " (");
    render_when(sb, t, now);
    strbuf_putc(sb, ')');
}

/* render_plain - a field by its type alone */
static void render_plain(struct strbuf *sb, const struct status_field *f,
                         time_t now)
{
    switch (f->type) {
    case STATUS_STRING: strbuf_puts(sb, f->v.s ? f->v.s : "-"); break;
    case STATUS_INT: strbuf_printf(sb, "%" PRId64, f->v.i); break;
    case STATUS_UINT: strbuf_printf(sb, "%" PRIu64, f->v.u); break;
    case STATUS_DOUBLE:
        if (isfinite(f->v.d))
            strbuf_printf(sb, "%.6g", f->v.d);
        else
            strbuf_puts(sb, "-");
        break;
    case STATUS_BOOL: strbuf_puts(sb, f->v.b ? "yes" : "no"); break;
    case STATUS_TIME: render_time_value(sb, f->v.t, now); break;
    }
}

void render_value(struct strbuf *sb, const struct status_field *f, time_t now)
{
    const struct render_field *info = render_field_info(f->key);
    double v;
    time_t t;

    if (info == NULL || info->unit == RENDER_PLAIN) {
        if (f->type == STATUS_STRING && render_time_of(f, &t) && f->v.s)
            render_time_value(sb, t, now);
        else
            render_plain(sb, f, now);
        return;
    }
    if (info->unit == RENDER_TIME && render_time_of(f, &t)) {
        render_time_value(sb, t, now);
    } else if (!render_number(f, &v)) {
        render_plain(sb, f, now);
    } else if (info->unit == RENDER_BYTES && v >= 0) {
        render_bytes(sb, f->type == STATUS_UINT ? f->v.u : (uint64_t)v);
    } else if (info->unit == RENDER_SECONDS) {
        render_seconds(sb, v);
    } else if (info->unit == RENDER_DAYS && isfinite(v)) {
        strbuf_printf(sb, "%.0f d", v);
    } else {
        render_plain(sb, f, now);
    }
}

int64_t render_uptime_seconds(const struct pandora_status *st, time_t now)
{
    if (st->started == 0 || now <= st->started)
        return 0;
    return (int64_t)now - (int64_t)st->started;
}

const char *render_state_class(const char *state)
{
    static const char *const known[] = { "ok", "waiting", "retrying",
                                         "failing", "paused", NULL };

    for (size_t i = 0; state != NULL && known[i] != NULL; i++)
        if (strcmp(state, known[i]) == 0)
            return known[i];
    return "other";
}

const char *render_row_state(const struct status_row *row)
{
    const struct status_field *f = status_field_get(&row->fields, "state");

    return f != NULL && f->type == STATUS_STRING ? f->v.s : NULL;
}
