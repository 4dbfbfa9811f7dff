/* status.c - the status model written by services and its JSON rendering. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "xalloc.h"

/* Bounds that keep a looping module from exhausting the host's memory. */
#define STATUS_FIELDS_MAX 256   /* per row and per service */
#define STATUS_ROWS_MAX 10000   /* per table */
#define STATUS_TABLES_MAX 64    /* per service */

/* status_grow - make room for one more element in a doubling array */
static void *status_grow(void *v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return v;
    *cap = *cap ? *cap * 2 : 8;
    return xreallocarray(v, *cap, size);
}

/* status_dup - xstrdup that keeps NULL */
static char *status_dup(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

/* status_hash - FNV-1a, to skip most string compares among 10000 rows */
static uint32_t status_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* status_fields_free - free every field and the array */
static void status_fields_free(struct status_fields *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].key);
        if (f->v[i].type == STATUS_STRING)
            free(f->v[i].v.s);
    }
    free(f->v);
}

/* status_table_free - a table and its rows */
static void status_table_free(struct status_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->rows[i]->id);
        status_fields_free(&t->rows[i]->fields);
        free(t->rows[i]);
    }
    free(t->rows);
    free(t->name);
    free(t);
}

/* status_service_free - a service, its fields and tables */
static void status_service_free(struct status_service *svc)
{
    for (size_t i = 0; i < svc->ntables; i++)
        status_table_free(svc->tables[i]);
    free(svc->tables);
    status_fields_free(&svc->fields);
    free(svc->name);
    free(svc->module);
    free(svc->reason);
    free(svc->unhealthy);
    free(svc);
}

/* status_new - an empty model for one snapshot */
struct pandora_status *status_new(const char *hostname, const char *version,
                                  time_t started)
{
    struct pandora_status *st = xcalloc(1, sizeof(*st));

    st->hostname = status_dup(hostname);
    st->version = status_dup(version);
    st->started = started;
    return st;
}

/* status_free - the whole model; NULL is fine */
void status_free(struct pandora_status *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n; i++)
        status_service_free(st->services[i]);
    free(st->services);
    free(st->hostname);
    free(st->version);
    free(st);
}

/* status_service - append a service and direct writes to its own fields */
void status_service(struct pandora_status *st, const char *name,
                    const char *module, bool running, const char *reason)
{
    if (st == NULL)
        return;
    st->svc = NULL;
    st->target = NULL;
    if (name == NULL)
        return;
    struct status_service *svc = xcalloc(1, sizeof(*svc));
    svc->name = xstrdup(name);
    svc->module = status_dup(module);
    svc->reason = status_dup(reason);
    svc->running = running;
    if (!running)
        svc->unhealthy = reason != NULL
            ? xasprintf("service %s is not running: %s", name, reason)
            : xasprintf("service %s is not running", name);
    st->services = status_grow(st->services, st->n, &st->cap,
                               sizeof(*st->services));
    st->services[st->n++] = svc;
    st->svc = svc;
    st->target = &svc->fields;
}

/* status_fields_find - the field named key, or NULL */
static struct status_field *status_fields_find(struct status_fields *f,
                                               const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].key, key) == 0)
            return &f->v[i];
    return NULL;
}

/* status_fields_put - the slot for key, emptied for a new value; a new key
 * is refused (NULL) once `limit` fields exist */
static struct status_field *status_fields_put(struct status_fields *f,
                                              const char *key, size_t limit)
{
    struct status_field *fld = status_fields_find(f, key);

    if (fld != NULL) {
        if (fld->type == STATUS_STRING)
            free(fld->v.s);
        return fld;
    }
    if (f->n >= limit)
        return NULL;
    f->v = status_grow(f->v, f->n, &f->cap, sizeof(*f->v));
    fld = &f->v[f->n++];
    fld->key = xstrdup(key);
    return fld;
}

/* status_truncated - mark the service: part of what it wrote was dropped.
 * Exempt from the field limit, so the mark is never itself dropped. */
static void status_truncated(struct pandora_status *st)
{
    struct status_field *fld = status_fields_put(&st->svc->fields,
                                                 "truncated", SIZE_MAX);

    fld->type = STATUS_BOOL;
    fld->v.b = true;
}

/* status_slot - where the next field write goes, or NULL to ignore it */
static struct status_field *status_slot(struct pandora_status *st,
                                        const char *key)
{
    if (st == NULL || st->target == NULL || key == NULL)
        return NULL;
    /* A row's "id" member is its id; a second one would be ambiguous. */
    if (st->target != &st->svc->fields && strcmp(key, "id") == 0)
        return NULL;
    struct status_field *fld = status_fields_put(st->target, key,
                                                 STATUS_FIELDS_MAX);
    if (fld == NULL)
        status_truncated(st);
    return fld;
}

/* status_table - the service's table `name`, created if the limit allows */
static struct status_table *status_table(struct pandora_status *st,
                                         const char *name)
{
    struct status_service *svc = st->svc;

    for (size_t i = 0; i < svc->ntables; i++)
        if (strcmp(svc->tables[i]->name, name) == 0)
            return svc->tables[i];
    if (svc->ntables >= STATUS_TABLES_MAX)
        return NULL;
    struct status_table *t = xcalloc(1, sizeof(*t));
    t->name = xstrdup(name);
    svc->tables = status_grow(svc->tables, svc->ntables, &svc->cap,
                              sizeof(*svc->tables));
    svc->tables[svc->ntables++] = t;
    return t;
}

/* status_table_row - row `id` of t (one row per id), created if the limit
 * allows */
static struct status_row *status_table_row(struct status_table *t,
                                           const char *id)
{
    uint32_t h = status_hash(id);

    for (size_t i = t->n; i-- > 0;)
        if (t->rows[i]->hash == h && strcmp(t->rows[i]->id, id) == 0)
            return t->rows[i];
    if (t->n >= STATUS_ROWS_MAX)
        return NULL;
    struct status_row *row = xcalloc(1, sizeof(*row));
    row->id = xstrdup(id);
    row->hash = h;
    t->rows = status_grow(t->rows, t->n, &t->cap, sizeof(*t->rows));
    t->rows[t->n++] = row;
    return row;
}

/* status_row - direct writes to a row (table NULL: the service's fields) */
void status_row(struct pandora_status *st, const char *table, const char *id)
{
    if (st == NULL || st->svc == NULL)
        return;
    st->target = NULL;
    if (table == NULL) {
        st->target = &st->svc->fields;
        return;
    }
    if (id == NULL)
        return;
    struct status_table *t = status_table(st, table);
    struct status_row *row = t != NULL ? status_table_row(t, id) : NULL;
    if (row == NULL) {
        status_truncated(st);
        return;
    }
    st->target = &row->fields;
}

/* status_key_is_secret - see status.h; matched anywhere in the key, in
 * any case ("sync_password", "api_token", "PrivateKey") */
bool status_key_is_secret(const char *key)
{
    static const char *const words[] = { "password", "passwd", "secret",
                                         "token", "passphrase", "private_key",
                                         "privatekey", NULL };

    for (size_t i = 0; key != NULL && words[i] != NULL; i++)
        if (strcasestr(key, words[i]) != NULL)
            return true;
    return false;
}

/* status_string - a string field (copied); NULL renders as null; a
 * secret's value is never kept */
void status_string(struct pandora_status *st, const char *key,
                   const char *value)
{
    struct status_field *fld = status_slot(st, key);

    if (fld != NULL) {
        fld->type = STATUS_STRING;
        fld->v.s = value != NULL && status_key_is_secret(key)
                       ? xstrdup(STATUS_SECRET_MASK)
                       : status_dup(value);
    }
}

/* status_int - a signed integer field */
void status_int(struct pandora_status *st, const char *key, int64_t value)
{
    struct status_field *fld = status_slot(st, key);

    if (fld != NULL) {
        fld->type = STATUS_INT;
        fld->v.i = value;
    }
}

/* status_uint - an unsigned integer field */
void status_uint(struct pandora_status *st, const char *key, uint64_t value)
{
    struct status_field *fld = status_slot(st, key);

    if (fld != NULL) {
        fld->type = STATUS_UINT;
        fld->v.u = value;
    }
}

/* status_double - a floating point field; non-finite renders as null */
void status_double(struct pandora_status *st, const char *key, double value)
{
    struct status_field *fld = status_slot(st, key);

    if (fld != NULL) {
        fld->type = STATUS_DOUBLE;
        fld->v.d = value;
    }
}

/* status_bool - a boolean field */
void status_bool(struct pandora_status *st, const char *key, bool value)
{
    struct status_field *fld = status_slot(st, key);

    if (fld != NULL) {
        fld->type = STATUS_BOOL;
        fld->v.b = value;
    }
}

/* status_time - a time field; 0 ("never") renders as null */
void status_time(struct pandora_status *st, const char *key, time_t value)
{
    struct status_field *fld = status_slot(st, key);

    if (fld != NULL) {
        fld->type = STATUS_TIME;
        fld->v.t = value;
    }
}

/* ---- JSON ---- */

struct jbuf {
    char *p;
    size_t len, cap;
};

/* jb_put - append n bytes, keeping the buffer NUL-terminated */
static void jb_put(struct jbuf *jb, const char *s, size_t n)
{
    if (jb->len + n + 1 > jb->cap) {
        while (jb->len + n + 1 > jb->cap)
            jb->cap = jb->cap ? jb->cap * 2 : 1024;
        jb->p = xrealloc(jb->p, jb->cap);
    }
    memcpy(jb->p + jb->len, s, n);
    jb->len += n;
    jb->p[jb->len] = '\0';
}

/* jb_puts - append a C string */
static void jb_puts(struct jbuf *jb, const char *s)
{
    jb_put(jb, s, strlen(s));
}

/* jb_printf - append formatted text (short: numbers and stamps) */
static void jb_printf(struct jbuf *jb, const char *fmt, ...)
    PANDORA_PRINTF(2, 3);
static void jb_printf(struct jbuf *jb, const char *fmt, ...)
{
    char buf[64];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        jb_put(jb, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* status_utf8_len - length of the valid UTF-8 sequence at s (n bytes
 * left), or 0 for an invalid one: overlong, surrogate, above U+10FFFF or
 * cut short */
size_t status_utf8_len(const unsigned char *s, size_t n)
{
    uint32_t cp, min;
    size_t len;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, cp = s[0] & 0x0f, min = 0x800;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* json_string - a JSON string (RFC 8259); each byte of invalid UTF-8
 * becomes U+FFFD so the output is always valid UTF-8; NULL is null */
static void json_string(struct jbuf *jb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (s == NULL) {
        jb_puts(jb, "null");
        return;
    }
    size_t left = strlen(s);
    jb_put(jb, "\"", 1);
    while (left > 0) {
        size_t n = status_utf8_len(p, left);
        if (n == 0) {
            jb_puts(jb, "\xef\xbf\xbd");
            n = 1;
        } else if (*p == '"' || *p == '\\') {
            jb_put(jb, "\\", 1);
            jb_put(jb, (const char *)p, 1);
        } else if (*p < 0x20) {
            jb_printf(jb, "\\u%04x", *p);
        } else {
            jb_put(jb, (const char *)p, n);
        }
        p += n;
        left -= n;
    }
    jb_put(jb, "\"", 1);
}

/* json_double - the shortest of %.15g..%.17g that reads back equal;
 * JSON has no NaN or infinity, so those are null */
static void json_double(struct jbuf *jb, double d)
{
    char buf[40];

    if (!isfinite(d)) {
        jb_puts(jb, "null");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    /* A process locale with a decimal comma must not break the JSON. */
    for (char *c = buf; *c != '\0'; c++)
        if (*c == ',')
            *c = '.';
    jb_puts(jb, buf);
}

/* json_time - "YYYY-MM-DDTHH:MM:SSZ", or null for 0 ("never") */
static void json_time(struct jbuf *jb, time_t t)
{
    char buf[64];
    struct tm tm;

    if (t == 0 || gmtime_r(&t, &tm) == NULL ||
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        jb_puts(jb, "null");
        return;
    }
    json_string(jb, buf);
}

/* json_value - one field's value */
static void json_value(struct jbuf *jb, const struct status_field *fld)
{
    switch (fld->type) {
    case STATUS_STRING:
        json_string(jb, fld->v.s);
        break;
    case STATUS_INT:
        jb_printf(jb, "%" PRId64, fld->v.i);
        break;
    case STATUS_UINT:
        jb_printf(jb, "%" PRIu64, fld->v.u);
        break;
    case STATUS_DOUBLE:
        json_double(jb, fld->v.d);
        break;
    case STATUS_BOOL:
        jb_puts(jb, fld->v.b ? "true" : "false");
        break;
    case STATUS_TIME:
        json_time(jb, fld->v.t);
        break;
    }
}

/* json_key - "key": */
static void json_key(struct jbuf *jb, const char *key)
{
    json_string(jb, key);
    jb_put(jb, ":", 1);
}

/* json_members - the fields as object members, each preceded by a comma
 * unless `first` */
static void json_members(struct jbuf *jb, const struct status_fields *f,
                         bool first)
{
    for (size_t i = 0; i < f->n; i++) {
        if (!first || i > 0)
            jb_put(jb, ",", 1);
        json_key(jb, f->v[i].key);
        json_value(jb, &f->v[i]);
    }
}

/* json_table - "name":[{"id":..,fields..},..] */
static void json_table(struct jbuf *jb, const struct status_table *t)
{
    json_key(jb, t->name);
    jb_put(jb, "[", 1);
    for (size_t i = 0; i < t->n; i++) {
        jb_puts(jb, i > 0 ? ",{\"id\":" : "{\"id\":");
        json_string(jb, t->rows[i]->id);
        json_members(jb, &t->rows[i]->fields, false);
        jb_put(jb, "}", 1);
    }
    jb_put(jb, "]", 1);
}

/* json_service - one element of "services" */
static void json_service(struct jbuf *jb, const struct status_service *svc)
{
    jb_puts(jb, "{\"name\":");
    json_string(jb, svc->name);
    jb_puts(jb, ",\"module\":");
    json_string(jb, svc->module);
    jb_puts(jb, svc->running ? ",\"running\":true" : ",\"running\":false");
    jb_puts(jb, ",\"reason\":");
    json_string(jb, svc->reason);
    jb_puts(jb, ",\"fields\":{");
    json_members(jb, &svc->fields, true);
    jb_puts(jb, "},\"tables\":{");
    for (size_t i = 0; i < svc->ntables; i++) {
        if (i > 0)
            jb_put(jb, ",", 1);
        json_table(jb, svc->tables[i]);
    }
    jb_puts(jb, "}}");
}

/* json_host - the "host" object */
static void json_host(struct jbuf *jb, const struct pandora_status *st,
                      time_t now)
{
    time_t up = st->started != 0 && now > st->started ? now - st->started : 0;

    jb_puts(jb, "{\"name\":");
    json_string(jb, st->hostname);
    jb_puts(jb, ",\"version\":");
    json_string(jb, st->version);
    jb_puts(jb, ",\"started\":");
    json_time(jb, st->started);
    jb_printf(jb, ",\"uptime_seconds\":%jd}", (intmax_t)up);
}

/* status_to_json - see status.h */
int status_to_json(const struct pandora_status *st, time_t now, char **json_r,
                   size_t *len_r)
{
    struct jbuf jb = { NULL, 0, 0 };

    if (st == NULL || json_r == NULL)
        return -EINVAL;
    jb_puts(&jb, "{\"host\":");
    json_host(&jb, st, now);
    jb_puts(&jb, ",\"services\":[");
    for (size_t i = 0; i < st->n; i++) {
        if (i > 0)
            jb_put(&jb, ",", 1);
        json_service(&jb, st->services[i]);
    }
    jb_puts(&jb, "]}");
    *json_r = jb.p;
    if (len_r != NULL)
        *len_r = jb.len;
    return 0;
}

/* status_field_get - see status.h */
const struct status_field *status_field_get(const struct status_fields *f,
                                            const char *key)
{
    for (size_t i = 0; f != NULL && i < f->n; i++)
        if (strcmp(f->v[i].key, key) == 0)
            return &f->v[i];
    return NULL;
}

/* status_healthy - see status.h; *reason_r is NULL when healthy */
bool status_healthy(const struct pandora_status *st, const char **reason_r)
{
    for (size_t i = 0; st != NULL && i < st->n; i++) {
        if (!st->services[i]->running) {
            if (reason_r != NULL)
                *reason_r = st->services[i]->unhealthy;
            return false;
        }
    }
    if (reason_r != NULL)
        *reason_r = NULL;
    return true;
}
