/* statusjson.c - /status.json back into a status model. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "render.h"
#include "status.h"
#include "statusjson.h"
#include "strbuf.h"
#include "xalloc.h"

#define JP_DEPTH_MAX 32         /* the format nests 5 deep */

/* The parser: a cursor over the text; the first error wins. */
struct jp {
    const char *start, *p, *end;
    int depth;
    bool failed;
    struct pandora_error *e;
};

/* jp_fail - record what was expected where; always returns false */
static bool jp_fail(struct jp *jp, const char *what)
{
    if (!jp->failed)
        error_set(jp->e, -EBADMSG, "the daemon's status.json is malformed "
                  "at byte %zu: expected %s", (size_t)(jp->p - jp->start),
                  what);
    jp->failed = true;
    return false;
}

static void jp_ws(struct jp *jp)
{
    while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
                               *jp->p == '\n' || *jp->p == '\r'))
        jp->p++;
}

/* jp_eat - skip blanks, then consume c if it is next */
static bool jp_eat(struct jp *jp, char c)
{
    jp_ws(jp);
    if (jp->p < jp->end && *jp->p == c) {
        jp->p++;
        return true;
    }
    return false;
}

/* jp_word - consume a literal (true, false, null) */
static bool jp_word(struct jp *jp, const char *w)
{
    size_t n = strlen(w);

    jp_ws(jp);
    if ((size_t)(jp->end - jp->p) >= n && memcmp(jp->p, w, n) == 0) {
        jp->p += n;
        return true;
    }
    return false;
}

/* jp_hex4 - four hex digits */
static bool jp_hex4(struct jp *jp, uint32_t *v)
{
    *v = 0;
    if (jp->end - jp->p < 4)
        return jp_fail(jp, "four hex digits after \\u");
    for (int i = 0; i < 4; i++) {
        char c = *jp->p++;
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return jp_fail(jp, "four hex digits after \\u");
        *v = *v << 4 | (uint32_t)d;
    }
    return true;
}

/* jp_utf8 - append code point cp as UTF-8 */
static void jp_utf8(struct strbuf *sb, uint32_t cp)
{
    char b[4];

    if (cp < 0x80) {
        strbuf_putc(sb, (char)cp);
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3f));
        strbuf_put(sb, b, 2);
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        strbuf_put(sb, b, 3);
    } else {
        b[0] = (char)(0xf0 | cp >> 18);
        b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        strbuf_put(sb, b, 4);
    }
}

/* jp_unicode - \uXXXX (a surrogate pair as one code point; a lone
 * surrogate as U+FFFD) */
static bool jp_unicode(struct jp *jp, struct strbuf *sb)
{
    uint32_t cp, lo;

    if (!jp_hex4(jp, &cp))
        return false;
    if (cp >= 0xd800 && cp <= 0xdbff && jp->end - jp->p >= 6 &&
        jp->p[0] == '\\' && jp->p[1] == 'u') {
        jp->p += 2;
        if (!jp_hex4(jp, &lo))
            return false;
        if (lo >= 0xdc00 && lo <= 0xdfff)
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        else
            cp = 0xfffd;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
        cp = 0xfffd;
    }
    jp_utf8(sb, cp);
    return true;
}

/* jp_escape - one escape after a backslash */
static bool jp_escape(struct jp *jp, struct strbuf *sb)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";

    if (jp->p >= jp->end)
        return jp_fail(jp, "an escape");
    char c = *jp->p++;
    if (c == 'u')
        return jp_unicode(jp, sb);
    const char *at = strchr(from, c);
    if (at == NULL || c == '\0')
        return jp_fail(jp, "a valid escape");
    strbuf_putc(sb, to[at - from]);
    return true;
}

/* jp_string - a string into a malloc'd buffer (*s_r) */
static bool jp_string(struct jp *jp, char **s_r)
{
    struct strbuf sb = STRBUF_INIT;

    if (!jp_eat(jp, '"'))
        return jp_fail(jp, "a string");
    while (jp->p < jp->end && *jp->p != '"') {
        unsigned char c = (unsigned char)*jp->p++;
        if (c < 0x20 || (c == '\\' && !jp_escape(jp, &sb))) {
            strbuf_free(&sb);
            return jp_fail(jp, "a string without raw control characters");
        }
        if (c != '\\')
            strbuf_putc(&sb, (char)c);
    }
    if (jp->p >= jp->end) {
        strbuf_free(&sb);
        return jp_fail(jp, "the end of a string");
    }
    jp->p++;
    *s_r = strbuf_take(&sb, NULL);     /* a \u0000 ends the C string */
    return true;
}

/* A scalar value, as the writer wants it. */
struct jval {
    enum { JV_NULL, JV_STRING, JV_INT, JV_UINT, JV_DOUBLE, JV_BOOL } type;
    char *s;
    int64_t i;
    uint64_t u;
    double d;
    bool b;
};

/* jp_number - a JSON number: an integer as int or uint, else a double */
static bool jp_number(struct jp *jp, struct jval *v)
{
    const char *s = jp->p;
    char buf[64];

    while (jp->p < jp->end && strchr("+-0123456789.eE", *jp->p) != NULL &&
           *jp->p != '\0')
        jp->p++;
    size_t n = (size_t)(jp->p - s);
    if (n == 0 || n >= sizeof(buf))
        return jp_fail(jp, "a value");
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end = NULL;
    errno = 0;
    bool integral = strpbrk(buf, ".eE") == NULL;
    if (integral && buf[0] == '-') {
        v->type = JV_INT;
        v->i = strtoll(buf, &end, 10);
    } else if (integral) {
        v->type = JV_UINT;
        v->u = strtoull(buf, &end, 10);
    }
    if (!integral || errno == ERANGE) {
        v->type = JV_DOUBLE;
        errno = 0;
        v->d = strtod(buf, &end);
    }
    return end != NULL && *end == '\0' ? true : jp_fail(jp, "a number");
}

/* jp_scalar - a string, number, bool or null; false for anything else */
static bool jp_scalar(struct jp *jp, struct jval *v)
{
    memset(v, 0, sizeof(*v));
    jp_ws(jp);
    if (jp->p >= jp->end)
        return jp_fail(jp, "a value");
    if (*jp->p == '"') {
        v->type = JV_STRING;
        return jp_string(jp, &v->s);
    }
    if (jp_word(jp, "null"))
        return true;
    if (jp_word(jp, "true")) {
        v->type = JV_BOOL;
        v->b = true;
        return true;
    }
    if (jp_word(jp, "false")) {
        v->type = JV_BOOL;
        return true;
    }
    if (*jp->p == '-' || (*jp->p >= '0' && *jp->p <= '9'))
        return jp_number(jp, v);
    return jp_fail(jp, "a value");
}

static bool jp_skip(struct jp *jp);

/* jp_skip_container - the rest of an object or array after its opener */
static bool jp_skip_container(struct jp *jp, char close, bool object)
{
    if (++jp->depth > JP_DEPTH_MAX)
        return jp_fail(jp, "less nesting");
    if (jp_eat(jp, close)) {
        jp->depth--;
        return true;
    }
    do {
        char *key = NULL;
        if (object && (!jp_string(jp, &key) || !jp_eat(jp, ':'))) {
            free(key);
            return jp_fail(jp, "\"name\": value");
        }
        free(key);
        if (!jp_skip(jp))
            return false;
    } while (jp_eat(jp, ','));
    jp->depth--;
    return jp_eat(jp, close) ? true : jp_fail(jp, "',' or the end");
}

/* jp_skip - any value */
static bool jp_skip(struct jp *jp)
{
    struct jval v;

    if (jp_eat(jp, '{'))
        return jp_skip_container(jp, '}', true);
    if (jp_eat(jp, '['))
        return jp_skip_container(jp, ']', false);
    bool ok = jp_scalar(jp, &v);
    free(v.s);
    return ok;
}

/* A callback for each member of an object: the cursor is at its value. */
typedef bool jp_member_fn(struct jp *jp, const char *key, void *data);

/* jp_object - call fn for each member of an object */
static bool jp_object(struct jp *jp, jp_member_fn *fn, void *data)
{
    if (!jp_eat(jp, '{'))
        return jp_fail(jp, "an object");
    if (jp_eat(jp, '}'))
        return true;
    do {
        char *key = NULL;
        if (!jp_string(jp, &key) || !jp_eat(jp, ':')) {
            free(key);
            return jp_fail(jp, "\"name\": value");
        }
        bool ok = fn(jp, key, data);
        free(key);
        if (!ok)
            return false;
    } while (jp_eat(jp, ','));
    return jp_eat(jp, '}') ? true : jp_fail(jp, "',' or '}'");
}

/* jp_write - one field through the writer */
static void jp_write(struct pandora_status *st, const char *key,
                     const struct jval *v)
{
    time_t t;

    switch (v->type) {
    case JV_NULL: status_string(st, key, NULL); break;
    case JV_STRING:
        if (render_iso_time(v->s, &t))
            status_time(st, key, t);
        else
            status_string(st, key, v->s);
        break;
    case JV_INT: status_int(st, key, v->i); break;
    case JV_UINT: status_uint(st, key, v->u); break;
    case JV_DOUBLE: status_double(st, key, v->d); break;
    case JV_BOOL: status_bool(st, key, v->b); break;
    }
}

/* jp_field - a member of "fields" or of a row ("id" is the row's id) */
static bool jp_field(struct jp *jp, const char *key, void *data)
{
    struct pandora_status *st = data;
    struct jval v;

    jp_ws(jp);
    if (jp->p < jp->end && (*jp->p == '{' || *jp->p == '['))
        return jp_skip(jp);     /* not in the format: leave it out */
    if (!jp_scalar(jp, &v))
        return false;
    if (strcmp(key, "id") != 0)
        jp_write(st, key, &v);
    free(v.s);
    return true;
}

/* jp_row_id - a row object's "id" (found by a first pass) */
static bool jp_find_id(struct jp *jp, const char *key, void *data)
{
    char **id = data;

    if (strcmp(key, "id") != 0 || *id != NULL)
        return jp_skip(jp);
    jp_ws(jp);
    return jp_string(jp, id);
}

/* A table being read: the model and the table's name. */
struct jp_table {
    struct pandora_status *st;
    const char *name;
};

/* jp_row - one row: its id first (a first pass), then its fields */
static bool jp_row(struct jp *jp, struct jp_table *t)
{
    struct jp probe = *jp;
    char *id = NULL;

    if (!jp_object(&probe, jp_find_id, &id) || id == NULL) {
        free(id);
        jp->p = probe.p;
        jp->failed = probe.failed;
        return jp_fail(jp, "a row with a string \"id\"");
    }
    status_row(t->st, t->name, id);
    free(id);
    return jp_object(jp, jp_field, t->st);
}

/* jp_table - "name": [ rows ] */
static bool jp_table(struct jp *jp, const char *key, void *data)
{
    struct jp_table t = { data, key };

    if (!jp_eat(jp, '['))
        return jp_fail(jp, "an array of rows");
    if (jp_eat(jp, ']'))
        return true;
    do {
        if (!jp_row(jp, &t))
            return false;
    } while (jp_eat(jp, ','));
    status_row(t.st, NULL, NULL);
    return jp_eat(jp, ']') ? true : jp_fail(jp, "',' or ']'");
}

/* The head of a service: what status_service() needs first. */
struct jp_head {
    char *name, *module, *reason;
    bool running;
};

/* jp_head_member - first pass over a service object */
static bool jp_head_member(struct jp *jp, const char *key, void *data)
{
    struct jp_head *h = data;
    char **slot = strcmp(key, "name") == 0 ? &h->name
                : strcmp(key, "module") == 0 ? &h->module
                : strcmp(key, "reason") == 0 ? &h->reason : NULL;
    struct jval v;

    if (strcmp(key, "running") == 0) {
        if (!jp_scalar(jp, &v) || v.type != JV_BOOL) {
            free(v.s);
            return jp_fail(jp, "\"running\": true or false");
        }
        h->running = v.b;
        return true;
    }
    if (slot == NULL)
        return jp_skip(jp);
    if (!jp_scalar(jp, &v) || (v.type != JV_STRING && v.type != JV_NULL)) {
        free(v.s);
        return jp_fail(jp, "a string or null");
    }
    free(*slot);
    *slot = v.s;
    return true;
}

/* jp_service_member - second pass: fields and tables */
static bool jp_service_member(struct jp *jp, const char *key, void *data)
{
    struct pandora_status *st = data;

    if (strcmp(key, "fields") == 0) {
        status_row(st, NULL, NULL);
        return jp_object(jp, jp_field, st);
    }
    if (strcmp(key, "tables") == 0)
        return jp_object(jp, jp_table, st);
    return jp_skip(jp);
}

/* jp_service - one element of "services" */
static bool jp_service(struct jp *jp, struct pandora_status *st)
{
    struct jp probe = *jp;
    struct jp_head h = { NULL, NULL, NULL, false };
    bool ok = jp_object(&probe, jp_head_member, &h);

    if (ok && h.name == NULL)
        ok = jp_fail(&probe, "a service with a \"name\"");
    if (ok) {
        status_service(st, h.name, h.module, h.running, h.reason);
        ok = jp_object(jp, jp_service_member, st);
    } else {
        jp->p = probe.p;
        jp->failed = true;
    }
    free(h.name);
    free(h.module);
    free(h.reason);
    return ok;
}

/* jp_host_member - "host": name, version, started */
static bool jp_host_member(struct jp *jp, const char *key, void *data)
{
    struct pandora_status *st = data;
    struct jval v;

    if (strcmp(key, "name") != 0 && strcmp(key, "version") != 0 &&
        strcmp(key, "started") != 0)
        return jp_skip(jp);
    if (!jp_scalar(jp, &v))
        return false;
    if (v.type == JV_STRING && strcmp(key, "started") == 0) {
        if (!render_iso_time(v.s, &st->started))
            st->started = 0;
        free(v.s);
    } else if (strcmp(key, "started") != 0) {
        char **slot = key[0] == 'n' ? &st->hostname : &st->version;
        free(*slot);
        *slot = v.type == JV_STRING ? v.s : NULL;
        if (v.type != JV_STRING)
            free(v.s);
    }
    return true;
}

/* jp_top_member - "host" and "services" */
static bool jp_top_member(struct jp *jp, const char *key, void *data)
{
    struct pandora_status *st = data;

    if (strcmp(key, "host") == 0)
        return jp_object(jp, jp_host_member, st);
    if (strcmp(key, "services") != 0)
        return jp_skip(jp);
    if (!jp_eat(jp, '['))
        return jp_fail(jp, "an array of services");
    if (jp_eat(jp, ']'))
        return true;
    do {
        if (!jp_service(jp, st))
            return false;
    } while (jp_eat(jp, ','));
    return jp_eat(jp, ']') ? true : jp_fail(jp, "',' or ']'");
}

int status_from_json(const char *text, size_t len, struct pandora_status **st_r,
                     struct pandora_error *error_r)
{
    struct jp jp = { text, text, text + len, 0, false, error_r };
    struct pandora_status *st = status_new(NULL, NULL, 0);

    if (text == NULL || memchr(text, '\0', len) != NULL) {
        status_free(st);
        return error_set(error_r, -EBADMSG, "the daemon's status.json "
                         "contains a NUL byte");
    }
    bool ok = jp_object(&jp, jp_top_member, st);
    jp_ws(&jp);
    if (ok && jp.p != jp.end)
        ok = jp_fail(&jp, "the end of the document");
    if (!ok) {
        status_free(st);
        return -EBADMSG;
    }
    status_service(st, NULL, NULL, false, NULL);    /* writes end here */
    *st_r = st;
    return 0;
}
