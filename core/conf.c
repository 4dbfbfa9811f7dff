/* conf.c - pandora_server.conf, read the way the Perl server reads it. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "confitem.h"
#include "error.h"
#include "io.h"
#include "xalloc.h"

/* The real file is a few hundred lines; anything this big is not it. */
#define CONF_MAX_BYTES (16u * 1024u * 1024u)

struct conf_entry {
    char *key;          /* ASCII lower case */
    char *value;
    unsigned line;
    size_t seq;         /* order of appearance: the last one wins */
};

struct conf {
    char *path;
    struct conf_entry *entries; /* sorted by key, one per key */
    size_t n;
};

/* conf_is_space - the whitespace Perl's \s matches on one line */
static bool conf_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool conf_is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char conf_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* conf_keycmp - compare a stored (lower-case) key with one in any case */
static int conf_keycmp(const char *stored, const char *key)
{
    const unsigned char *a = (const unsigned char *)stored;
    const unsigned char *b = (const unsigned char *)key;

    for (;; a++, b++) {
        unsigned char lb = (unsigned char)conf_lower((char)*b);
        if (*a != lb || *a == '\0')
            return (int)*a - (int)lb;
    }
}

/* conf_utf8_seq - length of the valid UTF-8 sequence at s, or 0 */
static size_t conf_utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;    /* bounds of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;                          /* continuation, overlong, > U+10FFFF */
    if (c == 0xE0)
        lo = 0xA0;                         /* overlong 3-byte form */
    else if (c == 0xED)
        hi = 0x9F;                         /* UTF-16 surrogates */
    else if (c == 0xF0)
        lo = 0x90;                         /* overlong 4-byte form */
    else if (c == 0xF4)
        hi = 0x8F;                         /* beyond U+10FFFF */
    if (avail < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* conf_check_line - a considered line must be NUL-free UTF-8 text */
static int conf_check_line(const char *path, unsigned lineno, const char *s,
                           size_t len, struct pandora_error *error_r)
{
    const unsigned char *u = (const unsigned char *)s;

    if (memchr(s, '\0', len) != NULL)
        return error_set(error_r, -EINVAL,
                         "%s:%u: the line contains a NUL byte; the file must "
                         "be plain UTF-8 text", path, lineno);
    for (size_t i = 0; i < len;) {
        size_t n = conf_utf8_seq(u + i, len - i);
        if (n == 0)
            return error_set(error_r, -EINVAL,
                             "%s:%u: invalid UTF-8 at column %zu; save the "
                             "file as UTF-8", path, lineno, i + 1);
        i += n;
    }
    return 0;
}

/* conf_add_line - split "key<ws>value" and append it when it has a value */
static void conf_add_line(struct conf *conf, size_t *cap, unsigned lineno,
                          const char *s, size_t len)
{
    size_t k = 0;

    while (k < len && !conf_is_space(s[k]))
        k++;
    size_t v = k;
    while (v < len && conf_is_space(s[v]))
        v++;
    size_t end = len;
    while (end > v && conf_is_space(s[end - 1]))
        end--;
    if (end == v)
        return;                            /* a key without a value */
    if (conf->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        conf->entries = xreallocarray(conf->entries, *cap,
                                      sizeof(*conf->entries));
    }
    struct conf_entry *e = &conf->entries[conf->n];
    e->key = xstrndup(s, k);
    for (char *p = e->key; *p != '\0'; p++)
        *p = conf_lower(*p);
    e->value = xstrndup(s + v, end - v);
    e->line = lineno;
    e->seq = conf->n++;
}

/* conf_entry_cmp - by key, then by order of appearance */
static int conf_entry_cmp(const void *pa, const void *pb)
{
    const struct conf_entry *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);

    if (c != 0)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* conf_index - sort, then keep only the last occurrence of each key */
static void conf_index(struct conf *conf)
{
    size_t out = 0;

    if (conf->n > 1)
        qsort(conf->entries, conf->n, sizeof(*conf->entries), conf_entry_cmp);
    for (size_t i = 0; i < conf->n; i++) {
        struct conf_entry *e = &conf->entries[i];
        if (i + 1 < conf->n && strcmp(e->key, conf->entries[i + 1].key) == 0) {
            free(e->key);
            free(e->value);
            continue;
        }
        conf->entries[out++] = *e;
    }
    conf->n = out;
}

int conf_parse(const char *path, const char *text, size_t len,
               struct conf **conf_r, struct pandora_error *error_r)
{
    struct conf *conf = xcalloc(1, sizeof(*conf));
    size_t cap = 0;
    unsigned lineno = 0;

    conf->path = xstrdup(path != NULL ? path : "pandora_server.conf");
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t linelen = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
        const char *line = text + pos;

        pos += linelen + 1;
        if (lineno < UINT_MAX)
            lineno++;
        if (linelen == 0 || !conf_is_letter(line[0]))
            continue;                      /* Pandora ignores it: so do we */
        int rc = conf_check_line(conf->path, lineno, line, linelen, error_r);
        if (rc < 0) {
            conf_free(conf);
            return rc;
        }
        conf_add_line(conf, &cap, lineno, line, linelen);
    }
    conf_index(conf);
    *conf_r = conf;
    return 0;
}

int conf_load(const char *path, struct conf **conf_r,
              struct pandora_error *error_r)
{
    char *text = NULL;
    size_t len = 0;
    /* One byte over the limit, so a file of exactly the limit still fits. */
    int rc = io_read_file(path, CONF_MAX_BYTES + 1, &text, &len, NULL);

    if (rc == -ENOENT)
        return error_set(error_r, rc,
                         "cannot read %s: %s; give the right file with -c or "
                         "server_conf in pandora_hostd.conf", path,
                         strerror(-rc));
    if (rc == -EFBIG)
        return error_set(error_r, rc,
                         "%s is larger than 16 MiB: not a pandora_server.conf",
                         path);
    if (rc < 0)
        return error_sys(error_r, rc, "cannot read %s", path);
    rc = conf_parse(path, text, len, conf_r, error_r);
    free(text);
    return rc;
}

void conf_free(struct conf *conf)
{
    if (conf == NULL)
        return;
    for (size_t i = 0; i < conf->n; i++) {
        free(conf->entries[i].key);
        free(conf->entries[i].value);
    }
    free(conf->entries);
    free(conf->path);
    free(conf);
}

const char *conf_path(const struct conf *conf)
{
    return conf->path;
}

const char *conf_get(const struct conf *conf, const char *key,
                     unsigned *line_r)
{
    size_t lo = 0, hi = conf != NULL && key != NULL ? conf->n : 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = conf_keycmp(conf->entries[mid].key, key);
        if (c == 0) {
            if (line_r != NULL)
                *line_r = conf->entries[mid].line;
            return conf->entries[mid].value;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int conf_get_uint(const struct conf *conf, const char *key, unsigned def,
                  unsigned min, unsigned max, unsigned *value_r,
                  struct pandora_error *error_r)
{
    unsigned line = 0;
    const char *text = conf_get(conf, key, &line);
    /* One parser for every whole number; [0, 0] would read as "no range"
     * in an item, so that degenerate range is checked below. */
    const struct pandora_conf_item item = {
        .key = key, .type = PANDORA_CONF_UINT, .offset = 0,
        .min = min, .max = max,
    };
    unsigned v = 0;
    char why[160];

    if (min > max)
        return error_set(error_r, -EINVAL, "%s: conf_get_uint called with "
                         "min %u > max %u", key, min, max);
    if (text == NULL) {
        *value_r = def;
        return 0;
    }
    if (confitem_parse(&item, text, &v, why, sizeof(why)) < 0)
        return error_set(error_r, -EINVAL, "%s:%u: %s: %s", conf->path, line,
                         key, why);
    if (v > max)
        return error_set(error_r, -EINVAL, "%s:%u: %s: expected 0, got a "
                         "larger number", conf->path, line, key);
    *value_r = v;
    return 0;
}
