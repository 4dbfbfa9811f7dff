/* render_table.c - the status model as an aligned text table. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "render_table.h"
#include "strbuf.h"
#include "xalloc.h"

/* A text cell's content for one row; sb is empty when nothing applies. */
typedef void tcell_fn(struct strbuf *sb, const struct status_row *row,
                      time_t now);

struct tcol {
    const char *title;
    const char *keys[8];        /* fields shown here, NULL-terminated */
    tcell_fn *cell;
};

/* tget - the row's field `key`, or NULL */
static const struct status_field *tget(const struct status_row *row,
                                       const char *key)
{
    return status_field_get(&row->fields, key);
}

/* tcount - a non-negative number field, or false */
static bool tcount(const struct status_row *row, const char *key,
                   uint64_t *v_r)
{
    const struct status_field *f = tget(row, key);
    double d;

    if (f == NULL || !render_number(f, &d) || d < 0)
        return false;
    *v_r = f->type == STATUS_UINT ? f->v.u : (uint64_t)d;
    return true;
}

static void tc_id(struct strbuf *sb, const struct status_row *row, time_t now)
{
    strbuf_puts(sb, row->id);
}

static void tc_state(struct strbuf *sb, const struct status_row *row,
                     time_t now)
{
    const char *state = render_row_state(row);

    if (state == NULL)
        strbuf_puts(sb, "-");
    else if (strcmp(state, "failing") == 0)
        strbuf_puts(sb, "FAILING");
    else
        strbuf_puts(sb, state);
}

/* tc_time - a time field as "3 min ago" / "in 40 s" / "never" */
static void tc_time(struct strbuf *sb, const struct status_row *row,
                    const char *key, time_t now)
{
    const struct status_field *f = tget(row, key);
    time_t t;

    if (f != NULL && render_time_of(f, &t))
        render_when(sb, t, now);
}

static void tc_success(struct strbuf *sb, const struct status_row *row,
                       time_t now)
{
    tc_time(sb, row, "last_success", now);
}

static void tc_next(struct strbuf *sb, const struct status_row *row,
                    time_t now)
{
    const struct status_field *f = tget(row, "next_attempt");
    time_t t;

    if (f != NULL && render_time_of(f, &t) && t != 0 && t <= now)
        strbuf_puts(sb, "due");
    else
        tc_time(sb, row, "next_attempt", now);
}

static void tc_failures(struct strbuf *sb, const struct status_row *row,
                        time_t now)
{
    uint64_t n;

    if (tcount(row, "consecutive_failures", &n))
        strbuf_printf(sb, "%" PRIu64, n);
}

/* tc_transfer - "LAST/TOTAL files, TOTAL bytes" from four keys */
static void tc_transfer(struct strbuf *sb, const struct status_row *row,
                        const char *const keys[4])
{
    uint64_t last = 0, total = 0, bytes = 0;
    bool hl = tcount(row, keys[0], &last), ht = tcount(row, keys[2], &total);

    if (!hl && !ht)
        return;
    if (hl)
        strbuf_printf(sb, "%" PRIu64 "/", last);
    strbuf_printf(sb, ht ? "%" PRIu64 : "-", total);
    if (tcount(row, keys[3], &bytes)) {
        strbuf_puts(sb, " (");
        render_bytes(sb, bytes);
        strbuf_puts(sb, ")");
    }
}

static void tc_pulled(struct strbuf *sb, const struct status_row *row,
                      time_t now)
{
    static const char *const keys[4] = {
        "files_pulled_last_cycle", "bytes_pulled_last_cycle",
        "files_pulled_total", "bytes_pulled_total" };

    tc_transfer(sb, row, keys);
}

static void tc_pushed(struct strbuf *sb, const struct status_row *row,
                      time_t now)
{
    static const char *const keys[4] = {
        "files_pushed_last_cycle", "bytes_pushed_last_cycle",
        "files_pushed_total", "bytes_pushed_total" };

    tc_transfer(sb, row, keys);
}

static void tc_backlog(struct strbuf *sb, const struct status_row *row,
                       time_t now)
{
    uint64_t files = 0, age = 0;

    if (tcount(row, "backlog_files", &files))
        strbuf_printf(sb, "%" PRIu64, files);
    if (tcount(row, "backlog_oldest_age_seconds", &age) && age > 0) {
        strbuf_puts(sb, ", oldest ");
        render_duration(sb, (int64_t)age);
    }
}

static void tc_cycle(struct strbuf *sb, const struct status_row *row,
                     time_t now)
{
    const struct status_field *f = tget(row, "cycle_seconds");

    if (f != NULL)
        render_value(sb, f, now);
}

static void tc_tls(struct strbuf *sb, const struct status_row *row,
                   time_t now)
{
    const struct status_field *tls = tget(row, "tls");
    const struct status_field *ver = tget(row, "tls_version");
    const struct status_field *verified = tget(row, "peer_verified");
    const struct status_field *days = tget(row, "peer_cert_days_left");
    double v;

    if (tls != NULL && render_number(tls, &v) && v == 0) {
        strbuf_puts(sb, "no");
        return;
    }
    strbuf_puts(sb, ver != NULL && ver->type == STATUS_STRING && ver->v.s
                        ? ver->v.s : "yes");
    if (verified != NULL && render_number(verified, &v))
        strbuf_puts(sb, v != 0 ? " verified" : " UNVERIFIED");
    if (days != NULL && render_number(days, &v))
        strbuf_printf(sb, v < 0 ? ", cert EXPIRED" : ", cert %.0f d", v);
}

static const struct tcol tcols[] = {
    { "REMOTE", { NULL }, tc_id },
    { "STATE", { "state" }, tc_state },
    { "LAST SUCCESS", { "last_success" }, tc_success },
    { "FAILS", { "consecutive_failures" }, tc_failures },
    { "NEXT", { "next_attempt" }, tc_next },
    { "PULLED LAST/TOTAL", { "files_pulled_last_cycle",
                             "bytes_pulled_last_cycle", "files_pulled_total",
                             "bytes_pulled_total" }, tc_pulled },
    { "PUSHED LAST/TOTAL", { "files_pushed_last_cycle",
                             "bytes_pushed_last_cycle", "files_pushed_total",
                             "bytes_pushed_total" }, tc_pushed },
    { "BACKLOG", { "backlog_files", "backlog_oldest_age_seconds" },
      tc_backlog },
    { "CYCLE", { "cycle_seconds" }, tc_cycle },
    { "TLS", { "tls", "tls_version", "peer_verified", "peer_cert_days_left" },
      tc_tls },
    { NULL, { NULL }, NULL },
};

#define TCOLS (sizeof(tcols) / sizeof(tcols[0]) - 1)

/* Fields shown on the error line under a row, so not under "other". */
static const char *const tdetail_keys[] = { "last_error", "last_error_time",
                                            "errors_total", "address", "port",
                                            "paused_by_backpressure",
                                            "tls_cipher", "peer_subject",
                                            "backlog_bytes",
                                            "backlog_unsettled_files", NULL };

/* tclaimed - is key shown in a column or a detail line? */
static bool tclaimed(const char *key)
{
    for (size_t c = 0; c < TCOLS; c++)
        for (size_t k = 0; tcols[c].keys[k] != NULL; k++)
            if (strcmp(tcols[c].keys[k], key) == 0)
                return true;
    for (size_t k = 0; tdetail_keys[k] != NULL; k++)
        if (strcmp(tdetail_keys[k], key) == 0)
            return true;
    return false;
}

/* tsafe - s made terminal-safe into sb: control characters (C0, DEL, C1)
 * and invalid UTF-8 as '?'; returns the width in characters */
static size_t tsafe(struct strbuf *sb, const char *s)
{
    size_t left = s != NULL ? strlen(s) : 0, width = 0;
    const unsigned char *p = (const unsigned char *)s;

    while (left > 0) {
        size_t n = status_utf8_len(p, left);
        bool c1 = n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
        if (n == 0 || *p < 0x20 || *p == 0x7f || c1)
            strbuf_putc(sb, '?');
        else
            strbuf_put(sb, (const char *)p, n);
        n = n ? n : 1;
        p += n;
        left -= n;
        width++;
    }
    return width;
}

/* A table's cells, made safe, and each column's width. */
struct tgrid {
    bool show[TCOLS];
    size_t width[TCOLS];
    char **cells;               /* rows * TCOLS, NULL where not shown */
    size_t rows;
};

/* tpresent - does any row of t have one of column c's keys? */
static bool tpresent(const struct status_table *t, size_t c)
{
    if (c < 2)
        return true;
    for (size_t r = 0; r < t->n; r++)
        for (size_t k = 0; tcols[c].keys[k] != NULL; k++)
            if (tget(t->rows[r], tcols[c].keys[k]) != NULL)
                return true;
    return false;
}

static void tgrid_fill(struct tgrid *g, const struct status_table *t,
                       time_t now)
{
    g->rows = t->n;
    g->cells = xcalloc(t->n * TCOLS + 1, sizeof(*g->cells));
    for (size_t c = 0; c < TCOLS; c++) {
        g->show[c] = tpresent(t, c);
        g->width[c] = strlen(tcols[c].title);
    }
    for (size_t r = 0; r < t->n; r++) {
        for (size_t c = 0; c < TCOLS; c++) {
            struct strbuf raw = STRBUF_INIT, safe = STRBUF_INIT;
            if (!g->show[c])
                continue;
            tcols[c].cell(&raw, t->rows[r], now);
            size_t w = tsafe(&safe, raw.len ? raw.p : "-");
            g->width[c] = w > g->width[c] ? w : g->width[c];
            g->cells[r * TCOLS + c] = strbuf_take(&safe, NULL);
            strbuf_free(&raw);
        }
    }
}

static void tgrid_free(struct tgrid *g)
{
    for (size_t i = 0; i < g->rows * TCOLS; i++)
        free(g->cells[i]);
    free(g->cells);
}

/* tcolor - the ANSI colour of a state, or NULL */
static const char *tcolor(const char *state)
{
    const char *c = render_state_class(state);

    if (strcmp(c, "failing") == 0)
        return "\033[1;31m";
    if (strcmp(c, "retrying") == 0)
        return "\033[33m";
    if (strcmp(c, "ok") == 0)
        return "\033[32m";
    if (strcmp(c, "paused") == 0)
        return "\033[34m";
    return NULL;
}

/* tpad - text, then spaces up to width (text is already safe) */
static void tpad(struct strbuf *out, const char *text, size_t width,
                 const char *color)
{
    size_t w = 0;

    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        w += (*p & 0xc0) != 0x80;
    if (color != NULL)
        strbuf_puts(out, color);
    strbuf_puts(out, text);
    if (color != NULL)
        strbuf_puts(out, "\033[0m");
    for (; w < width; w++)
        strbuf_putc(out, ' ');
}

/* tline - one line of the grid: titles (row NULL) or a row's cells */
static void tline(struct strbuf *out, const struct tgrid *g, size_t r,
                  const struct status_row *row, unsigned flags)
{
    strbuf_puts(out, "  ");
    for (size_t c = 0; c < TCOLS; c++) {
        if (!g->show[c])
            continue;
        const char *color = row != NULL && c == 1 &&
                            (flags & RENDER_TABLE_COLOR)
                                ? tcolor(render_row_state(row)) : NULL;
        tpad(out, row != NULL ? g->cells[r * TCOLS + c] : tcols[c].title,
             g->width[c] + 2, color);
    }
    while (out->len > 0 && out->p[out->len - 1] == ' ')
        out->p[--out->len] = '\0';
    strbuf_putc(out, '\n');
}

/* tdetail_error - "    error 3 min ago: text" */
static void tdetail_error(struct strbuf *out, const struct status_row *row,
                          time_t now)
{
    const struct status_field *e = tget(row, "last_error");
    const struct status_field *at = tget(row, "last_error_time");
    time_t t = 0;

    if (e == NULL || e->type != STATUS_STRING || e->v.s == NULL ||
        e->v.s[0] == '\0')
        return;
    strbuf_puts(out, "      last error");
    if (at != NULL && render_time_of(at, &t) && t != 0) {
        strbuf_putc(out, ' ');
        render_when(out, t, now);
    }
    strbuf_puts(out, ": ");
    tsafe(out, e->v.s);
    strbuf_putc(out, '\n');
}

/* tdetail_other - "    other: key=value, ..." for fields shown nowhere */
static void tdetail_other(struct strbuf *out, const struct status_row *row,
                          time_t now)
{
    bool first = true;

    for (size_t i = 0; i < row->fields.n; i++) {
        const struct status_field *f = &row->fields.v[i];
        struct strbuf v = STRBUF_INIT;
        if (tclaimed(f->key))
            continue;
        strbuf_puts(out, first ? "      " : ", ");
        tsafe(out, f->key);
        strbuf_putc(out, '=');
        render_value(&v, f, now);
        tsafe(out, v.p);
        strbuf_free(&v);
        first = false;
    }
    if (!first)
        strbuf_putc(out, '\n');
}

static void ttable(struct strbuf *out, const struct status_table *t,
                   time_t now, unsigned flags)
{
    struct tgrid g = { .rows = 0 };

    strbuf_puts(out, "  ");
    tsafe(out, t->name);
    strbuf_printf(out, ": %zu\n", t->n);
    if (t->n == 0)
        return;
    tgrid_fill(&g, t, now);
    tline(out, &g, 0, NULL, flags);
    for (size_t r = 0; r < t->n; r++) {
        tline(out, &g, r, t->rows[r], flags);
        tdetail_error(out, t->rows[r], now);
        tdetail_other(out, t->rows[r], now);
    }
    tgrid_free(&g);
}

/* tfields - "  key value, key value" for a service's own fields */
static void tfields(struct strbuf *out, const struct status_fields *f,
                    time_t now)
{
    for (size_t i = 0; i < f->n; i++) {
        struct strbuf v = STRBUF_INIT;
        strbuf_puts(out, i == 0 ? "  " : ", ");
        tsafe(out, f->v[i].key);
        strbuf_putc(out, ' ');
        render_value(&v, &f->v[i], now);
        tsafe(out, v.p);
        strbuf_free(&v);
    }
    if (f->n > 0)
        strbuf_putc(out, '\n');
}

static void tservice(struct strbuf *out, const struct status_service *svc,
                     time_t now, unsigned flags)
{
    bool color = (flags & RENDER_TABLE_COLOR) != 0;

    strbuf_puts(out, "\nservice ");
    tsafe(out, svc->name);
    strbuf_puts(out, " (module ");
    tsafe(out, svc->module != NULL ? svc->module : "?");
    if (svc->running) {
        strbuf_puts(out, "): running\n");
    } else {
        strbuf_printf(out, "): %sNOT RUNNING%s: ", color ? "\033[1;31m" : "",
                      color ? "\033[0m" : "");
        tsafe(out, svc->reason != NULL && svc->reason[0] != '\0'
                       ? svc->reason : "no reason given");
        strbuf_putc(out, '\n');
    }
    tfields(out, &svc->fields, now);
    for (size_t i = 0; i < svc->ntables; i++)
        ttable(out, svc->tables[i], now, flags);
}

int render_table(const struct pandora_status *st, time_t now, unsigned flags,
                 char **text_r, size_t *len_r)
{
    struct strbuf out = STRBUF_INIT;

    if (st == NULL || text_r == NULL)
        return -EINVAL;
    strbuf_puts(&out, "pandora_hostd ");
    tsafe(&out, st->version);
    strbuf_puts(&out, " on ");
    tsafe(&out, st->hostname);
    strbuf_puts(&out, ": up ");
    render_duration(&out, render_uptime_seconds(st, now));
    strbuf_puts(&out, " (since ");
    render_utc(&out, st->started);
    strbuf_puts(&out, ")\n");
    for (size_t i = 0; i < st->n; i++)
        tservice(&out, st->services[i], now, flags);
    *text_r = strbuf_take(&out, len_r);
    return 0;
}

unsigned render_table_problems(const struct pandora_status *st)
{
    unsigned n = 0;

    for (size_t s = 0; st != NULL && s < st->n; s++) {
        const struct status_service *svc = st->services[s];
        n += !svc->running;
        for (size_t t = 0; t < svc->ntables; t++)
            for (size_t r = 0; r < svc->tables[t]->n; r++) {
                const char *state = render_row_state(svc->tables[t]->rows[r]);
                n += state != NULL && strcmp(state, "failing") == 0;
            }
    }
    return n;
}
