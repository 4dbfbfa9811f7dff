/* render_html.c - the status page, from the status model. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "render_html.h"
#include "strbuf.h"
#include "xalloc.h"

/* Hidden buttons appear only when this runs; a reply other than 2xx is
 * shown next to the button. The URL is relative, so the page also works
 * behind a reverse proxy under a path. */
const char render_html_script[] =
    "\n\"use strict\";\n"
    "document.querySelectorAll(\"button.poll\").forEach(function (b) {\n"
    "  var out = b.nextElementSibling;\n"
    "  b.hidden = false;\n"
    "  b.addEventListener(\"click\", function () {\n"
    "    b.disabled = true;\n"
    "    out.textContent = \"requesting...\";\n"
    "    fetch(\"remotes/\" + encodeURIComponent(b.dataset.remote) + "
    "\"/poll\",\n"
    "          { method: \"POST\", headers: { \"X-Pandora-Poll\": \"1\" } })\n"
    "      .then(function (r) {\n"
    "        return r.text().then(function (t) {\n"
    "          out.textContent = r.ok ? \"poll requested\" : r.status + "
    "\": \" + t;\n"
    "          if (r.ok) setTimeout(function () { location.reload(); }, "
    "3000);\n"
    "        });\n"
    "      })\n"
    "      .catch(function (e) { out.textContent = \"failed: \" + e; })\n"
    "      .then(function () { b.disabled = false; });\n"
    "  });\n"
    "});\n"
    "document.documentElement.classList.add(\"js\");\n";

const char render_html_style[] =
    "\nbody{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "sans-serif;margin:0 auto;max-width:1500px;padding:.8rem;"
    "line-height:1.35;color:#1d1d1f;background:#fafafa}\n"
    "h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.15rem;margin:.2rem 0}"
    "h3{font-size:1rem;margin:.8rem 0 .3rem}\n"
    ".meta,small{color:#555}.meta{margin:.2rem 0}\n"
    ".health{padding:.5rem .8rem;border-radius:.3rem;font-weight:600}\n"
    ".health.ok{background:#e3f3e6;color:#1e4620}"
    ".health.bad{background:#c62828;color:#fff}\n"
    "section.service{background:#fff;border:1px solid #ccc;"
    "border-radius:.4rem;padding:.6rem .9rem;margin:1rem 0}\n"
    "section.service.down{border:3px solid #c62828}\n"
    ".reason{color:#b71c1c;font-weight:600}\n"
    ".badge{display:inline-block;padding:.05rem .5rem;border-radius:1rem;"
    "font-size:.85rem;font-weight:600;white-space:nowrap}\n"
    ".st-ok{background:#e3f3e6;color:#1e4620}"
    ".st-failing{background:#c62828;color:#fff}\n"
    ".st-retrying{background:#fff1d6;color:#7a4a00}"
    ".st-paused{background:#e8eaf6;color:#283593}\n"
    ".st-waiting,.st-other{background:#eee;color:#333}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%;font-size:.86rem}\n"
    "th,td{text-align:left;vertical-align:top;padding:.3rem .45rem;"
    "border-bottom:1px solid #ddd}\n"
    "th{background:#f0f0f0;white-space:nowrap}\n"
    "tr.row-failing td{background:#fde4e4}"
    "tr.row-failing td:first-child{border-left:5px solid #c62828}\n"
    "tr.row-retrying td:first-child{border-left:5px solid #ef6c00}\n"
    "tr.row-paused td:first-child{border-left:5px solid #3949ab}\n"
    ".err{color:#b71c1c}.warn{color:#a14a00;font-weight:600}"
    ".id{font-weight:600;white-space:nowrap}.nw{white-space:nowrap}\n"
    "dl.fields{display:flex;flex-wrap:wrap;gap:.2rem 1.5rem;margin:.4rem 0}"
    "dl.fields div{display:flex;gap:.4rem}dt{color:#555}"
    "dd{margin:0;font-weight:600}\n"
    "button.poll{font:inherit;padding:.15rem .6rem;cursor:pointer;"
    "white-space:nowrap}\n"
    "footer{margin:1rem 0;color:#555;font-size:.85rem}\n"
    "@media (max-width:760px){table,thead,tbody,td{display:block}"
    "thead{display:none}"
    "tr{display:grid;grid-template-columns:repeat(auto-fill,"
    "minmax(9.5rem,1fr));border:1px solid #ccc;border-radius:.4rem;"
    "margin:.6rem 0;background:#fff}"
    "td{border:0;padding:.25rem .5rem}td.wide{grid-column:1/-1}"
    ".id,.nw{white-space:normal;overflow-wrap:anywhere}"
    "tr.row td:first-child{border-left:0}tr.row-failing td{background:none}"
    "tr.row-failing{background:#fde4e4;border-left:5px solid #c62828}"
    "tr.row-retrying{border-left:5px solid #ef6c00}"
    "tr.row-paused{border-left:5px solid #3949ab}"
    "td::before{content:attr(data-label);display:block;font-size:.72rem;"
    "color:#666;text-transform:uppercase;letter-spacing:.03em}}\n";

/* A page being written: the output and the model's clock. */
struct page {
    struct strbuf *out;
    time_t now;
};

/* html_escape - text or an attribute value: & < > " ' escaped, C0 controls
 * other than tab and newline and each byte of invalid UTF-8 as U+FFFD */
static void html_escape(struct strbuf *sb, const char *s)
{
    size_t left = s != NULL ? strlen(s) : 0;
    const unsigned char *p = (const unsigned char *)s;

    while (left > 0) {
        size_t n = status_utf8_len(p, left);
        const char *rep = NULL;
        switch (n == 0 ? 0 : *p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\t': case '\n': break;
        default:
            if (n == 0 || *p < 0x20 || *p == 0x7f)
                rep = "\xef\xbf\xbd";
        }
        if (rep != NULL)
            strbuf_puts(sb, rep);
        else
            strbuf_put(sb, (const char *)p, n);
        p += n ? n : 1;
        left -= n ? n : 1;
    }
}

/* html_text - append escaped text */
static void html_text(struct page *pg, const char *s)
{
    html_escape(pg->out, s);
}

/* html_value - a field's human value, escaped */
static void html_value(struct page *pg, const struct status_field *f)
{
    struct strbuf v = STRBUF_INIT;

    render_value(&v, f, pg->now);
    html_escape(pg->out, v.p);
    strbuf_free(&v);
}

/* html_when - "3 min ago" with the UTC time under it */
static void html_when(struct page *pg, time_t t)
{
    struct strbuf v = STRBUF_INIT;

    render_when(&v, t, pg->now);
    html_text(pg, v.p);
    if (t != 0) {
        strbuf_reset(&v);
        render_utc_short(&v, t, pg->now);
        strbuf_puts(pg->out, "<br><small>");
        html_text(pg, v.p);
        strbuf_puts(pg->out, "</small>");
    }
    strbuf_free(&v);
}

/* ---- the row table: one column per group of known fields ---- */

struct html_col;
typedef void html_cell_fn(struct page *pg, const struct status_row *row,
                          const struct html_col *col);

struct html_col {
    const char *title;
    const char *keys[8];        /* the fields shown here (NULL-terminated) */
    html_cell_fn *cell;
    const char *td_class;       /* "nw": keep on one line; "wide": a whole
                                   line of a phone-width card */
};

/* col_get - the row's field `key`, or NULL */
static const struct status_field *col_get(const struct status_row *row,
                                          const char *key)
{
    return status_field_get(&row->fields, key);
}

/* col_uint - a non-negative count field, or false */
static bool col_uint(const struct status_row *row, const char *key,
                     uint64_t *v_r)
{
    const struct status_field *f = col_get(row, key);
    double d;

    if (f == NULL || !render_number(f, &d) || d < 0)
        return false;
    *v_r = f->type == STATUS_UINT ? f->v.u : (uint64_t)d;
    return true;
}

/* col_time - a time field (also one read back from JSON), or false */
static bool col_time(const struct status_row *row, const char *key,
                     time_t *t_r)
{
    const struct status_field *f = col_get(row, key);

    return f != NULL && render_time_of(f, t_r);
}

/* col_text - a non-empty string field, or NULL */
static const char *col_text(const struct status_row *row, const char *key)
{
    const struct status_field *f = col_get(row, key);

    return f != NULL && f->type == STATUS_STRING && f->v.s != NULL &&
           f->v.s[0] != '\0' ? f->v.s : NULL;
}

/* col_flag - a bool field: 1 true, 0 false, -1 absent */
static int col_flag(const struct status_row *row, const char *key)
{
    const struct status_field *f = col_get(row, key);
    double d;

    if (f == NULL || !render_number(f, &d))
        return -1;
    return d != 0;
}

/* cell_id_says - is the id just "address:port" ("[v6]:port")? */
static bool cell_id_says(const char *id, const char *addr, bool has_port,
                         uint64_t port)
{
    char *plain = has_port ? xasprintf("%s:%" PRIu64, addr, port)
                           : xstrdup(addr);
    char *v6 = has_port ? xasprintf("[%s]:%" PRIu64, addr, port)
                        : xstrdup(addr);
    bool same = strcmp(id, plain) == 0 || strcmp(id, v6) == 0;

    free(plain);
    free(v6);
    return same;
}

static void cell_id(struct page *pg, const struct status_row *row,
                    const struct html_col *col)
{
    const char *addr = col_text(row, "address");
    uint64_t port = 0;
    bool has_port = col_uint(row, "port", &port);

    strbuf_puts(pg->out, "<span class=\"id\">");
    html_text(pg, row->id);
    strbuf_puts(pg->out, "</span>");
    if (addr != NULL && !cell_id_says(row->id, addr, has_port, port)) {
        strbuf_puts(pg->out, "<br><small>");
        html_text(pg, addr);
        if (has_port)
            strbuf_printf(pg->out, " port %" PRIu64, port);
        strbuf_puts(pg->out, "</small>");
    }
}

static void cell_state(struct page *pg, const struct status_row *row,
                       const struct html_col *col)
{
    const char *state = render_row_state(row);

    strbuf_printf(pg->out, "<span class=\"badge st-%s\">",
                  render_state_class(state));
    html_text(pg, state != NULL ? state : "unknown");
    strbuf_puts(pg->out, "</span>");
    if (col_flag(row, "paused_by_backpressure") == 1)
        strbuf_puts(pg->out, "<br><small>paused by back-pressure: the "
                    "spool is full</small>");
}

static void cell_success(struct page *pg, const struct status_row *row,
                         const struct html_col *col)
{
    time_t t;

    if (col_time(row, "last_success", &t))
        html_when(pg, t);
}

static void cell_error(struct page *pg, const struct status_row *row,
                       const struct html_col *col)
{
    const char *text = col_text(row, "last_error");
    uint64_t total = 0;
    time_t t;

    if (text != NULL) {
        strbuf_puts(pg->out, "<span class=\"err\">");
        html_text(pg, text);
        strbuf_puts(pg->out, "</span>");
    } else {
        strbuf_puts(pg->out, "none");
    }
    if (col_time(row, "last_error_time", &t) && t != 0) {
        struct strbuf v = STRBUF_INIT;
        render_when(&v, t, pg->now);
        strbuf_puts(&v, ", ");
        render_utc_short(&v, t, pg->now);
        strbuf_puts(pg->out, "<br><small>");
        html_text(pg, v.p);
        strbuf_puts(pg->out, "</small>");
        strbuf_free(&v);
    }
    if (col_uint(row, "errors_total", &total))
        strbuf_printf(pg->out, "<br><small>%" PRIu64 " error%s since "
                      "start</small>", total, total == 1 ? "" : "s");
}

static void cell_failures(struct page *pg, const struct status_row *row,
                          const struct html_col *col)
{
    uint64_t n = 0;

    if (col_uint(row, "consecutive_failures", &n))
        strbuf_printf(pg->out, n > 0 ? "<span class=\"err\">%" PRIu64
                                       "</span>" : "%" PRIu64, n);
}

static void cell_next(struct page *pg, const struct status_row *row,
                      const struct html_col *col)
{
    time_t t;

    if (!col_time(row, "next_attempt", &t))
        return;
    if (t != 0 && t <= pg->now)
        strbuf_puts(pg->out, "due now");
    else if (t == 0)
        strbuf_puts(pg->out, "not scheduled");
    else
        html_when(pg, t);
}

/* cell_transfer - "last cycle: N files, B" and "total: ..." from the
 * column's keys: files_last, bytes_last, files_total, bytes_total */
static void cell_transfer(struct page *pg, const struct status_row *row,
                          const struct html_col *col)
{
    static const char *const what[] = { "last cycle", "total" };
    bool first = true;

    for (size_t i = 0; i < 2; i++) {
        uint64_t files = 0, bytes = 0;
        bool hf = col_uint(row, col->keys[2 * i], &files);
        bool hb = col_uint(row, col->keys[2 * i + 1], &bytes);
        if (!hf && !hb)
            continue;
        strbuf_printf(pg->out, "%s<small>%s:</small> ", first ? "" : "<br>",
                      what[i]);
        first = false;
        if (hf)
            strbuf_printf(pg->out, "%" PRIu64 " file%s", files,
                          files == 1 ? "" : "s");
        if (hb) {
            strbuf_puts(pg->out, hf ? ", " : "");
            render_bytes(pg->out, bytes);
        }
    }
}

static void cell_backlog(struct page *pg, const struct status_row *row,
                         const struct html_col *col)
{
    uint64_t files = 0, bytes = 0, unsettled = 0, age = 0;

    if (col_uint(row, "backlog_files", &files))
        strbuf_printf(pg->out, "%" PRIu64 " file%s", files,
                      files == 1 ? "" : "s");
    if (col_uint(row, "backlog_bytes", &bytes)) {
        strbuf_puts(pg->out, " (");
        render_bytes(pg->out, bytes);
        strbuf_puts(pg->out, ")");
    }
    if (col_uint(row, "backlog_unsettled_files", &unsettled) && unsettled)
        strbuf_printf(pg->out, "<br><small>%" PRIu64 " still settling"
                      "</small>", unsettled);
    if (col_uint(row, "backlog_oldest_age_seconds", &age) && age > 0) {
        strbuf_puts(pg->out, "<br><small>oldest ");
        render_duration(pg->out, (int64_t)age);
        strbuf_puts(pg->out, " old</small>");
    }
}

static void cell_cycle(struct page *pg, const struct status_row *row,
                       const struct html_col *col)
{
    const struct status_field *f = col_get(row, "cycle_seconds");

    if (f != NULL)
        html_value(pg, f);
}

/* cell_cert - days to the peer certificate's expiry, warned within 30 */
static void cell_cert(struct page *pg, const struct status_row *row)
{
    const struct status_field *f = col_get(row, "peer_cert_days_left");
    double days;

    if (f == NULL || !render_number(f, &days))
        return;
    if (days < 0)
        strbuf_puts(pg->out, "<br><span class=\"err\">certificate "
                    "EXPIRED</span>");
    else
        strbuf_printf(pg->out, "<br>%scertificate expires in %.0f "
                      "day%s%s", days < 30 ? "<span class=\"warn\">" : "",
                      days, days == 1 ? "" : "s", days < 30 ? "</span>" : "");
}

static void cell_tls(struct page *pg, const struct status_row *row,
                     const struct html_col *col)
{
    const char *version = col_text(row, "tls_version");
    const char *cipher = col_text(row, "tls_cipher");
    const char *subject = col_text(row, "peer_subject");
    int verified = col_flag(row, "peer_verified");

    if (col_flag(row, "tls") == 0) {
        strbuf_puts(pg->out, "<span class=\"warn\">no TLS</span>");
        return;
    }
    html_text(pg, version != NULL ? version : "TLS");
    if (cipher != NULL) {
        strbuf_puts(pg->out, "<br><small>");
        html_text(pg, cipher);
        strbuf_puts(pg->out, "</small>");
    }
    if (verified >= 0)
        strbuf_puts(pg->out, verified ? "<br>peer verified"
                             : "<br><span class=\"warn\">peer NOT "
                               "verified</span>");
    if (subject != NULL) {
        strbuf_puts(pg->out, "<br><small>");
        html_text(pg, subject);
        strbuf_puts(pg->out, "</small>");
    }
    cell_cert(pg, row);
}

/* The columns, in page order; a column is shown when any row has one of
 * its keys (the first two always). */
static const struct html_col html_cols[] = {
    { "Remote", { "address", "port" }, cell_id, "wide" },
    { "State", { "state", "paused_by_backpressure" }, cell_state, NULL },
    { "Last success", { "last_success" }, cell_success, NULL },
    { "Last error", { "last_error", "last_error_time", "errors_total" },
      cell_error, "wide" },
    { "Failures", { "consecutive_failures" }, cell_failures, NULL },
    { "Next attempt", { "next_attempt" }, cell_next, NULL },
    { "Pulled", { "files_pulled_last_cycle", "bytes_pulled_last_cycle",
                  "files_pulled_total", "bytes_pulled_total" },
      cell_transfer, "nw" },
    { "Pushed", { "files_pushed_last_cycle", "bytes_pushed_last_cycle",
                  "files_pushed_total", "bytes_pushed_total" },
      cell_transfer, "nw" },
    { "Backlog", { "backlog_files", "backlog_bytes",
                   "backlog_unsettled_files", "backlog_oldest_age_seconds" },
      cell_backlog, "nw" },
    { "Cycle", { "cycle_seconds" }, cell_cycle, "nw" },
    { "TLS", { "tls", "tls_version", "tls_cipher", "peer_verified",
               "peer_subject", "peer_cert_days_left" }, cell_tls, "wide" },
    { NULL, { NULL }, NULL, NULL },
};

/* col_claims - is key shown by one of the known columns? */
static bool col_claims(const char *key)
{
    for (const struct html_col *c = html_cols; c->title; c++)
        for (size_t k = 0; c->keys[k] != NULL; k++)
            if (strcmp(c->keys[k], key) == 0)
                return true;
    return false;
}

/* col_present - does any row of t have one of col's keys? */
static bool col_present(const struct status_table *t,
                        const struct html_col *col)
{
    if (col == &html_cols[0] || col == &html_cols[1])
        return true;
    for (size_t r = 0; r < t->n; r++)
        for (size_t k = 0; col->keys[k] != NULL; k++)
            if (col_get(t->rows[r], col->keys[k]) != NULL)
                return true;
    return false;
}

/* table_has_other - does any row have a field no column shows? */
static bool table_has_other(const struct status_table *t)
{
    for (size_t r = 0; r < t->n; r++)
        for (size_t i = 0; i < t->rows[r]->fields.n; i++)
            if (!col_claims(t->rows[r]->fields.v[i].key))
                return true;
    return false;
}

static void cell_other(struct page *pg, const struct status_row *row)
{
    bool first = true;

    for (size_t i = 0; i < row->fields.n; i++) {
        const struct status_field *f = &row->fields.v[i];
        if (col_claims(f->key))
            continue;
        strbuf_puts(pg->out, first ? "<small>" : "<br><small>");
        html_text(pg, render_label(f->key));
        strbuf_puts(pg->out, ":</small> ");
        html_value(pg, f);
        first = false;
    }
}

/* The columns a table shows: known ones present, Other, Poll. */
struct table_layout {
    bool show[sizeof(html_cols) / sizeof(html_cols[0])];
    bool other, poll;
};

/* html_td - open a cell, its label shown above it on narrow screens */
static void html_td(struct page *pg, const char *label, const char *cls)
{
    strbuf_puts(pg->out, "<td");
    if (cls != NULL)
        strbuf_printf(pg->out, " class=\"%s\"", cls);
    strbuf_puts(pg->out, " data-label=\"");
    html_text(pg, label);
    strbuf_puts(pg->out, "\">");
}

static void html_poll_cell(struct page *pg, const struct status_row *row)
{
    html_td(pg, "Poll", NULL);
    strbuf_puts(pg->out, "<button type=\"button\" class=\"poll\" "
                "data-remote=\"");
    html_text(pg, row->id);
    strbuf_puts(pg->out, "\" hidden>Poll now</button> "
                "<span class=\"poll-out\" role=\"status\"></span></td>");
}

static void html_row(struct page *pg, const struct status_row *row,
                     const struct table_layout *lay, const char *id_title)
{
    const char *state = render_row_state(row);

    strbuf_printf(pg->out, "<tr class=\"row row-%s\" data-remote=\"",
                  render_state_class(state));
    html_text(pg, row->id);
    strbuf_puts(pg->out, "\" data-state=\"");
    html_text(pg, state != NULL ? state : "");
    strbuf_puts(pg->out, "\">");
    for (size_t c = 0; html_cols[c].title != NULL; c++) {
        if (!lay->show[c])
            continue;
        html_td(pg, c == 0 ? id_title : html_cols[c].title,
                html_cols[c].td_class);
        html_cols[c].cell(pg, row, &html_cols[c]);
        strbuf_puts(pg->out, "</td>");
    }
    if (lay->other) {
        html_td(pg, "Other", "wide");
        cell_other(pg, row);
        strbuf_puts(pg->out, "</td>");
    }
    if (lay->poll)
        html_poll_cell(pg, row);
    strbuf_puts(pg->out, "</tr>\n");
}

/* html_heading - "Remotes" from "remotes", escaped */
static void html_heading(struct page *pg, const char *name)
{
    char *t = xstrdup(name);

    if (t[0] >= 'a' && t[0] <= 'z')
        t[0] = (char)(t[0] - 'a' + 'A');
    html_text(pg, t);
    free(t);
}

static void html_table_head(struct page *pg, const struct table_layout *lay,
                            const char *id_title)
{
    strbuf_puts(pg->out, "<thead><tr>");
    for (size_t c = 0; html_cols[c].title != NULL; c++) {
        if (!lay->show[c])
            continue;
        strbuf_puts(pg->out, "<th>");
        html_text(pg, c == 0 ? id_title : html_cols[c].title);
        strbuf_puts(pg->out, "</th>");
    }
    strbuf_puts(pg->out, lay->other ? "<th>Other</th>" : "");
    strbuf_puts(pg->out, lay->poll ? "<th>Poll</th>" : "");
    strbuf_puts(pg->out, "</tr></thead>\n");
}

static void html_table(struct page *pg, const struct status_table *t)
{
    struct table_layout lay = { .other = table_has_other(t) };
    bool remotes = strcmp(t->name, "remotes") == 0;
    const char *id_title = remotes ? "Remote" : "ID";

    lay.poll = remotes;
    for (size_t c = 0; html_cols[c].title != NULL; c++)
        lay.show[c] = col_present(t, &html_cols[c]);
    strbuf_puts(pg->out, "<h3>");
    html_heading(pg, t->name);
    strbuf_printf(pg->out, " (%zu)</h3>\n<div class=\"scroll\"><table "
                  "class=\"rows\" data-table=\"", t->n);
    html_text(pg, t->name);
    strbuf_puts(pg->out, "\">\n");
    html_table_head(pg, &lay, id_title);
    strbuf_puts(pg->out, "<tbody>\n");
    for (size_t r = 0; r < t->n; r++)
        html_row(pg, t->rows[r], &lay, id_title);
    strbuf_puts(pg->out, "</tbody></table></div>\n");
}

/* html_fields - a service's own fields as a definition list */
static void html_fields(struct page *pg, const struct status_fields *f)
{
    if (f->n == 0)
        return;
    strbuf_puts(pg->out, "<dl class=\"fields\">");
    for (size_t i = 0; i < f->n; i++) {
        strbuf_puts(pg->out, "<div><dt>");
        html_text(pg, render_label(f->v[i].key));
        strbuf_puts(pg->out, "</dt><dd data-field=\"");
        html_text(pg, f->v[i].key);
        strbuf_puts(pg->out, "\">");
        html_value(pg, &f->v[i]);
        strbuf_puts(pg->out, "</dd></div>");
    }
    strbuf_puts(pg->out, "</dl>\n");
}

static void html_service(struct page *pg, const struct status_service *svc)
{
    strbuf_printf(pg->out, "<section class=\"service %s\" data-service=\"",
                  svc->running ? "up" : "down");
    html_text(pg, svc->name);
    strbuf_printf(pg->out, "\" data-running=\"%s\">\n<h2>",
                  svc->running ? "true" : "false");
    html_text(pg, svc->name);
    strbuf_puts(pg->out, " <small>module ");
    html_text(pg, svc->module != NULL ? svc->module : "?");
    strbuf_puts(pg->out, svc->running
                ? "</small> <span class=\"badge st-ok\">running</span></h2>\n"
                : "</small> <span class=\"badge st-failing\">not running"
                  "</span></h2>\n");
    if (!svc->running) {
        strbuf_puts(pg->out, "<p class=\"reason\">");
        html_text(pg, svc->reason != NULL && svc->reason[0] != '\0'
                          ? svc->reason : "no reason given");
        strbuf_puts(pg->out, "</p>\n");
    }
    html_fields(pg, &svc->fields);
    for (size_t i = 0; i < svc->ntables; i++)
        html_table(pg, svc->tables[i]);
    strbuf_puts(pg->out, "</section>\n");
}

/* html_failing - rows in state "failing", over every table */
static size_t html_failing(const struct pandora_status *st)
{
    size_t n = 0;

    for (size_t s = 0; s < st->n; s++)
        for (size_t t = 0; t < st->services[s]->ntables; t++)
            for (size_t r = 0; r < st->services[s]->tables[t]->n; r++) {
                const char *state =
                    render_row_state(st->services[s]->tables[t]->rows[r]);
                n += state != NULL && strcmp(state, "failing") == 0;
            }
    return n;
}

static void html_head(struct page *pg, const struct pandora_status *st,
                      unsigned refresh, bool healthy, size_t failing)
{
    strbuf_puts(pg->out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
                "content=\"width=device-width, initial-scale=1\">\n");
    if (refresh > 0)
        strbuf_printf(pg->out, "<meta http-equiv=\"refresh\" "
                      "content=\"%u\">\n", refresh);
    strbuf_puts(pg->out, "<meta name=\"referrer\" content=\"no-referrer\">\n"
                "<title>");
    html_text(pg, st->hostname);
    if (!healthy)
        strbuf_puts(pg->out, ": SERVICE DOWN");
    else if (failing > 0)
        strbuf_printf(pg->out, ": %zu FAILING", failing);
    else
        strbuf_puts(pg->out, ": OK");
    strbuf_puts(pg->out, " - pandora_hostd status</title>\n<style>");
    strbuf_puts(pg->out, render_html_style);
    strbuf_puts(pg->out, "</style>\n</head>\n");
}

static void html_header(struct page *pg, const struct pandora_status *st,
                        unsigned refresh, const char *reason, size_t failing)
{
    strbuf_puts(pg->out, "<body>\n<header>\n<h1>pandora_hostd on "
                "<span id=\"host\">");
    html_text(pg, st->hostname);
    strbuf_puts(pg->out, "</span></h1>\n<p class=\"meta\">version ");
    html_text(pg, st->version);
    strbuf_puts(pg->out, " &middot; up ");
    render_duration(pg->out, render_uptime_seconds(st, pg->now));
    strbuf_puts(pg->out, " (since ");
    render_utc(pg->out, st->started);
    strbuf_puts(pg->out, ") &middot; page generated ");
    render_utc(pg->out, pg->now);
    if (refresh > 0)
        strbuf_printf(pg->out, " &middot; refreshes every %u s", refresh);
    strbuf_puts(pg->out, "</p>\n");
    if (reason != NULL) {
        strbuf_puts(pg->out, "<p id=\"health\" class=\"health bad\" "
                    "data-healthy=\"false\">");
        html_text(pg, reason);
    } else if (failing > 0) {
        strbuf_printf(pg->out, "<p id=\"health\" class=\"health bad\" "
                      "data-healthy=\"true\">%zu remote%s failing (every "
                      "service is running).", failing,
                      failing == 1 ? " is" : "s are");
    } else {
        strbuf_puts(pg->out, "<p id=\"health\" class=\"health ok\" "
                    "data-healthy=\"true\">All services are running.");
    }
    strbuf_puts(pg->out, "</p>\n</header>\n<main>\n");
}

static void html_footer(struct page *pg)
{
    strbuf_puts(pg->out, "</main>\n<footer>\n<noscript><p>The Poll now "
                "buttons need JavaScript; from a shell on this host run "
                "<code>pandora_hostd --poll REMOTE</code>.</p></noscript>\n"
                "<p>Machine-readable: <a href=\"status.json\">status.json"
                "</a> &middot; <a href=\"metrics\">metrics</a> (Prometheus) "
                "&middot; <a href=\"healthz\">healthz</a>. In a terminal: "
                "<code>pandora_hostd --status</code>.</p>\n</footer>\n"
                "<script>");
    strbuf_puts(pg->out, render_html_script);
    strbuf_puts(pg->out, "</script>\n</body>\n</html>\n");
}

int render_html(const struct pandora_status *st, time_t now,
                unsigned refresh_seconds, char **html_r, size_t *len_r)
{
    struct strbuf out = STRBUF_INIT;
    struct page pg = { &out, now };
    const char *reason = NULL;

    if (st == NULL || html_r == NULL)
        return -EINVAL;
    bool healthy = status_healthy(st, &reason);
    size_t failing = html_failing(st);
    html_head(&pg, st, refresh_seconds, healthy, failing);
    html_header(&pg, st, refresh_seconds, healthy ? NULL : reason, failing);
    for (size_t i = 0; i < st->n; i++)
        html_service(&pg, st->services[i]);
    html_footer(&pg);
    *html_r = strbuf_take(&out, len_r);
    return 0;
}
