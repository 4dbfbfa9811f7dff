/* confitem.c - typed settings tables: parse, default, print, compare, free. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "confitem.h"
#include "error.h"
#include "xalloc.h"

/* Bounds for tables a module hands us: a missing terminator or a garbage
 * pointer must end in an error, not in a walk through memory. */
#define CONFITEM_MAX_ITEMS 1024
#define CONFITEM_MAX_CHOICES 64
#define CONFITEM_MAX_KEY 64
/* Bytes of a bad value echoed in a message (which has 256 in all). */
#define CONFITEM_QUOTE_MAX 48

/* Scratch space big enough for any item's value (table checks). */
union confitem_value {
    char *s;
    unsigned u;
    uint64_t size;
    bool b;
    int i;
};

/* ------------------------------------------------------------------------
 * Access to the conf struct. Offsets come from a module's table, so values
 * are copied with memcpy: a misaligned offset is then a wrong setting, not
 * undefined behaviour.
 */

static bool confitem_is_string(enum pandora_conf_type type)
{
    return type == PANDORA_CONF_STRING || type == PANDORA_CONF_SECRET ||
           type == PANDORA_CONF_PATH || type == PANDORA_CONF_FILE ||
           type == PANDORA_CONF_REGEX;
}

static char *confitem_get_str(const struct pandora_conf_item *it,
                              const void *out)
{
    char *s;

    memcpy(&s, (const char *)out + it->offset, sizeof(s));
    return s;
}

/* confitem_set_str - replace the string at the item's offset */
static void confitem_set_str(const struct pandora_conf_item *it, void *out,
                             char *s)
{
    free(confitem_get_str(it, out));
    memcpy((char *)out + it->offset, &s, sizeof(s));
}

/* confitem_get_num - any numeric item widened to 64 bits, for compare/print */
static uint64_t confitem_get_num(const struct pandora_conf_item *it,
                                 const void *out)
{
    const char *p = (const char *)out + it->offset;
    unsigned u;
    uint64_t size;
    bool b;
    int i;

    switch (it->type) {
    case PANDORA_CONF_UINT:
        memcpy(&u, p, sizeof(u));
        return u;
    case PANDORA_CONF_SIZE:
        memcpy(&size, p, sizeof(size));
        return size;
    case PANDORA_CONF_BOOL:
        memcpy(&b, p, sizeof(b));
        return b;
    case PANDORA_CONF_ENUM:
        memcpy(&i, p, sizeof(i));
        return (uint64_t)(int64_t)i;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------------
 * Messages
 */

/* confitem_why - format the reason into why[len] (either may be 0) */
static int confitem_why(char *why, size_t len, const char *fmt, ...)
    PANDORA_PRINTF(3, 4);
static int confitem_why(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || len == 0)
        return -EINVAL;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* confitem_quote - a value as it may appear in a message: control bytes
 * shown as '?', cut (on a UTF-8 boundary) with "..." when long */
static void confitem_quote(char *buf, size_t size, const char *text)
{
    size_t n = strlen(text), cut = n;

    if (n > CONFITEM_QUOTE_MAX) {
        cut = CONFITEM_QUOTE_MAX;
        while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
            cut--;
    }
    snprintf(buf, size, "%.*s%s", (int)cut, text, cut < n ? "..." : "");
    for (char *p = buf; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

/* ------------------------------------------------------------------------
 * Parsers, one per type
 */

/* confitem_decimal - digits only: no sign, spaces, base prefix or suffix */
static bool confitem_decimal(const char *s, uint64_t *v_r)
{
    uint64_t v = 0;

    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *v_r = v;
    return true;
}

/* confitem_parse_number - UINT and SIZE, with the item's range */
static int confitem_parse_number(const struct pandora_conf_item *it,
                                 const char *text, void *out, char *why,
                                 size_t whylen)
{
    uint64_t hi = it->type == PANDORA_CONF_UINT ? UINT_MAX : UINT64_MAX;
    uint64_t lo = 0, v = 0;
    char q[CONFITEM_QUOTE_MAX + 8];

    if (it->min != 0 || it->max != 0) {
        lo = it->min;
        hi = it->max < hi ? it->max : hi;
    }
    if (!confitem_decimal(text, &v) || v < lo || v > hi) {
        confitem_quote(q, sizeof(q), text);
        return confitem_why(why, whylen, "expected a whole number from %llu "
                            "to %llu, got '%s'", (unsigned long long)lo,
                            (unsigned long long)hi, q);
    }
    if (it->type == PANDORA_CONF_UINT) {
        unsigned u = (unsigned)v;
        memcpy((char *)out + it->offset, &u, sizeof(u));
    } else {
        memcpy((char *)out + it->offset, &v, sizeof(v));
    }
    return 0;
}

static int confitem_parse_bool(const struct pandora_conf_item *it,
                               const char *text, void *out, char *why,
                               size_t whylen)
{
    static const char *const yes[] = { "1", "yes", "on", "true" };
    static const char *const no[] = { "0", "no", "off", "false" };
    char q[CONFITEM_QUOTE_MAX + 8];

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        bool b = strcasecmp(text, yes[i]) == 0;
        if (b || strcasecmp(text, no[i]) == 0) {
            memcpy((char *)out + it->offset, &b, sizeof(b));
            return 0;
        }
    }
    confitem_quote(q, sizeof(q), text);
    return confitem_why(why, whylen, "expected 1 or 0 (also yes/no, on/off, "
                        "true/false), got '%s'", q);
}

static int confitem_parse_enum(const struct pandora_conf_item *it,
                               const char *text, void *out, char *why,
                               size_t whylen)
{
    char list[160] = "", q[CONFITEM_QUOTE_MAX + 8];
    size_t used = 0;

    for (int i = 0; it->choices != NULL && i < CONFITEM_MAX_CHOICES &&
                    it->choices[i] != NULL; i++) {
        if (strcasecmp(text, it->choices[i]) == 0) {
            memcpy((char *)out + it->offset, &i, sizeof(i));
            return 0;
        }
        if (used < sizeof(list)) {
            int n = snprintf(list + used, sizeof(list) - used, "%s%s",
                             i > 0 ? ", " : "", it->choices[i]);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    confitem_quote(q, sizeof(q), text);
    return confitem_why(why, whylen, "expected one of %s, got '%s'", list, q);
}

static int confitem_parse_regex(const struct pandora_conf_item *it,
                                const char *text, void *out, char *why,
                                size_t whylen)
{
    char q[CONFITEM_QUOTE_MAX + 8], msg[96];
    regex_t re;
    int rc;

    if (*text == '\0')
        return confitem_why(why, whylen, "expected a POSIX extended regular "
                            "expression, got an empty value");
    rc = regcomp(&re, text, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, &re, msg, sizeof(msg));
        confitem_quote(q, sizeof(q), text);
        return confitem_why(why, whylen, "expected a POSIX extended regular "
                            "expression, got '%s' (%s)", q, msg);
    }
    regfree(&re);
    confitem_set_str(it, out, xstrdup(text));
    return 0;
}

/* confitem_parse_path - PATH and FILE: absolute; FILE also readable */
static int confitem_parse_path(const struct pandora_conf_item *it,
                               const char *text, void *out, char *why,
                               size_t whylen)
{
    char q[CONFITEM_QUOTE_MAX + 8];
    struct stat st;

    confitem_quote(q, sizeof(q), text);
    if (text[0] != '/')
        return confitem_why(why, whylen, "expected an absolute path "
                            "(starting with /), got '%s'", q);
    if (it->type == PANDORA_CONF_FILE) {
        if (access(text, R_OK) < 0 || stat(text, &st) < 0)
            return confitem_why(why, whylen, "expected a readable file, "
                                "got '%s': %s", q, strerror(errno));
        if (!S_ISREG(st.st_mode))
            return confitem_why(why, whylen, "expected a readable file, "
                                "got '%s': not a regular file", q);
    }
    confitem_set_str(it, out, xstrdup(text));
    return 0;
}

int confitem_parse(const struct pandora_conf_item *item, const char *text,
                   void *out, char *why, size_t whylen)
{
    if (text == NULL)
        return confitem_why(why, whylen, "no value given");
    switch (item->type) {
    case PANDORA_CONF_STRING:
    case PANDORA_CONF_SECRET:
        if (*text == '\0')
            return confitem_why(why, whylen, "expected a non-empty %s, got "
                                "an empty value",
                                item->type == PANDORA_CONF_SECRET ? "secret"
                                                                  : "text");
        confitem_set_str(item, out, xstrdup(text));
        return 0;
    case PANDORA_CONF_PATH:
    case PANDORA_CONF_FILE:
        return confitem_parse_path(item, text, out, why, whylen);
    case PANDORA_CONF_UINT:
    case PANDORA_CONF_SIZE:
        return confitem_parse_number(item, text, out, why, whylen);
    case PANDORA_CONF_BOOL:
        return confitem_parse_bool(item, text, out, why, whylen);
    case PANDORA_CONF_ENUM:
        return confitem_parse_enum(item, text, out, why, whylen);
    case PANDORA_CONF_REGEX:
        return confitem_parse_regex(item, text, out, why, whylen);
    default:
        return confitem_why(why, whylen, "unknown type %d in the module's "
                            "table", (int)item->type);
    }
}

/* ------------------------------------------------------------------------
 * Tables
 */

/* confitem_apply_one - the key, else its fallback key, else the default */
static int confitem_apply_one(const struct pandora_conf_item *it,
                              const struct conf *conf, void *out,
                              struct pandora_error *error_r)
{
    const char *from = it->key;
    unsigned line = 0;
    const char *text = conf != NULL ? conf_get(conf, it->key, &line) : NULL;
    char why[200];

    if (text == NULL && it->fallback != NULL && conf != NULL) {
        from = it->fallback;
        text = conf_get(conf, from, &line);
    }
    if (text != NULL) {
        if (confitem_parse(it, text, out, why, sizeof(why)) == 0)
            return 0;
        if (from != it->key)
            return error_set(error_r, -EINVAL, "%s:%u: %s (read for %s): %s",
                             conf_path(conf), line, from, it->key, why);
        return error_set(error_r, -EINVAL, "%s:%u: %s: %s", conf_path(conf),
                         line, from, why);
    }
    if (it->def == NULL || confitem_parse(it, it->def, out, why,
                                          sizeof(why)) == 0)
        return 0;
    if (it->type == PANDORA_CONF_FILE)     /* a sane default, absent here */
        return error_set(error_r, -EINVAL, "%s: default: %s; set %s in %s",
                         it->key, why, it->key,
                         conf != NULL ? conf_path(conf) : "the configuration");
    return error_set(error_r, -EINVAL, "%s: invalid default in the module's "
                     "table: %s", it->key, why);
}

int confitem_apply(const struct pandora_conf_item *items,
                   const struct conf *conf, void *out,
                   struct pandora_error *error_r)
{
    for (const struct pandora_conf_item *it = items; it && it->key; it++) {
        int rc = confitem_apply_one(it, conf, out, error_r);
        if (rc < 0) {
            confitem_free(items, out);
            return rc;
        }
    }
    return 0;
}

void confitem_free(const struct pandora_conf_item *items, void *out)
{
    if (out == NULL)
        return;
    for (const struct pandora_conf_item *it = items; it && it->key; it++)
        if (confitem_is_string(it->type))
            confitem_set_str(it, out, NULL);
}

/* confitem_put_text - a value on one line: control bytes shown as '?' */
static void confitem_put_text(FILE *fp, const char *s)
{
    for (; *s != '\0'; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, fp);
}

/* confitem_print_value - the effective value of one item */
static void confitem_print_value(FILE *fp, const struct pandora_conf_item *it,
                                 const void *out)
{
    uint64_t n = confitem_get_num(it, out);
    const char *s;

    if (confitem_is_string(it->type)) {
        s = confitem_get_str(it, out);
        if (s == NULL)
            fputs("(unset)", fp);
        else if (it->type == PANDORA_CONF_SECRET)
            fputs("********", fp);
        else
            confitem_put_text(fp, s);
        return;
    }
    if (it->type == PANDORA_CONF_ENUM) {
        for (uint64_t i = 0; it->choices && i < CONFITEM_MAX_CHOICES &&
                             it->choices[i]; i++)
            if (i == n) {
                confitem_put_text(fp, it->choices[i]);
                return;
            }
        fputs("(invalid)", fp);
        return;
    }
    fprintf(fp, "%llu", (unsigned long long)n);
}

void confitem_print(FILE *fp, const struct pandora_conf_item *items,
                    const void *out, const char *indent)
{
    for (const struct pandora_conf_item *it = items; it && it->key; it++) {
        fprintf(fp, "%s%s ", indent != NULL ? indent : "", it->key);
        confitem_print_value(fp, it, out);
        fputc('\n', fp);
    }
}

bool confitem_equal(const struct pandora_conf_item *items, const void *a,
                    const void *b)
{
    for (const struct pandora_conf_item *it = items; it && it->key; it++) {
        if (confitem_is_string(it->type)) {
            const char *sa = confitem_get_str(it, a);
            const char *sb = confitem_get_str(it, b);
            if ((sa == NULL) != (sb == NULL) ||
                (sa != NULL && strcmp(sa, sb) != 0))
                return false;
        } else if (confitem_get_num(it, a) != confitem_get_num(it, b)) {
            return false;
        }
    }
    return true;
}

/* confitem_key_ok - [a-z][a-z0-9_-]*: a pandora_server.conf key (these
 * start with a letter) that is also a valid libconfig setting name */
static bool confitem_key_ok(const char *key)
{
    size_t n = 0;

    if (key == NULL || !(key[0] >= 'a' && key[0] <= 'z'))
        return false;
    for (; key[n] != '\0'; n++) {
        char c = key[n];
        if (n >= CONFITEM_MAX_KEY ||
            !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

/* confitem_check_choices - an ENUM needs 1..64 non-empty choices */
static int confitem_check_choices(const struct pandora_conf_item *it,
                                  struct pandora_error *error_r)
{
    size_t n = 0;

    if (it->choices == NULL)
        return error_set(error_r, -EINVAL, "%s: ENUM without choices in the "
                         "module's table", it->key);
    for (;; n++) {
        if (n < CONFITEM_MAX_CHOICES && it->choices[n] == NULL)
            break;
        if (n >= CONFITEM_MAX_CHOICES || it->choices[n][0] == '\0')
            return error_set(error_r, -EINVAL, "%s: ENUM choices must be 1 "
                             "to %d non-empty words ending with NULL",
                             it->key, CONFITEM_MAX_CHOICES);
    }
    if (n == 0)
        return error_set(error_r, -EINVAL, "%s: ENUM without choices in the "
                         "module's table", it->key);
    return 0;
}

/* confitem_check_default - parse the default into scratch space. A FILE
 * default is only checked as a path: the file may come later. */
static int confitem_check_default(const struct pandora_conf_item *it,
                                  struct pandora_error *error_r)
{
    struct pandora_conf_item probe = *it;
    union confitem_value scratch;
    char why[200];

    memset(&scratch, 0, sizeof(scratch));
    probe.offset = 0;
    if (probe.type == PANDORA_CONF_FILE)
        probe.type = PANDORA_CONF_PATH;
    int rc = confitem_parse(&probe, it->def, &scratch, why, sizeof(why));
    if (confitem_is_string(probe.type))
        free(scratch.s);
    if (rc < 0)
        return error_set(error_r, rc, "%s: invalid default in the module's "
                         "table: %s", it->key, why);
    return 0;
}

/* confitem_check_item - one row of a table (the rows before it are good) */
static int confitem_check_item(const struct pandora_conf_item *items,
                               size_t i, struct pandora_error *error_r)
{
    const struct pandora_conf_item *it = &items[i];
    char q[CONFITEM_QUOTE_MAX + 8];

    if (!confitem_key_ok(it->key)) {
        confitem_quote(q, sizeof(q), it->key ? it->key : "(null)");
        return error_set(error_r, -EINVAL, "item %zu of the settings table: "
                         "key '%s' must be a-z, 0-9, _ or - (at most %d, "
                         "starting with a letter)", i + 1, q,
                         CONFITEM_MAX_KEY);
    }
    for (size_t j = 0; j < i; j++)
        if (strcmp(items[j].key, it->key) == 0)
            return error_set(error_r, -EINVAL, "%s: key declared twice in "
                             "the module's table", it->key);
    if (it->type <= PANDORA_CONF_END || it->type > PANDORA_CONF_REGEX)
        return error_set(error_r, -EINVAL, "%s: unknown type %d in the "
                         "module's table", it->key, (int)it->type);
    if ((it->type == PANDORA_CONF_UINT || it->type == PANDORA_CONF_SIZE) &&
        it->min > it->max)
        return error_set(error_r, -EINVAL, "%s: min %llu > max %llu in the "
                         "module's table", it->key,
                         (unsigned long long)it->min,
                         (unsigned long long)it->max);
    if (it->type == PANDORA_CONF_UINT && it->max > UINT_MAX)
        return error_set(error_r, -EINVAL, "%s: max %llu does not fit a UINT "
                         "(use SIZE)", it->key, (unsigned long long)it->max);
    if (it->type == PANDORA_CONF_ENUM) {
        int rc = confitem_check_choices(it, error_r);
        if (rc < 0)
            return rc;
    }
    if (it->fallback != NULL && !confitem_key_ok(it->fallback))
        return error_set(error_r, -EINVAL, "%s: invalid fallback key in the "
                         "module's table", it->key);
    return it->def != NULL ? confitem_check_default(it, error_r) : 0;
}

int confitem_table_check(const struct pandora_conf_item *items,
                         struct pandora_error *error_r)
{
    if (items == NULL)
        return error_set(error_r, -EINVAL, "the settings table is missing");
    for (size_t i = 0; i < CONFITEM_MAX_ITEMS; i++) {
        if (items[i].key == NULL && items[i].type == PANDORA_CONF_END)
            return 0;
        int rc = confitem_check_item(items, i, error_r);
        if (rc < 0)
            return rc;
    }
    return error_set(error_r, -EINVAL, "the settings table has more than %d "
                     "items: is PANDORA_CONF_ITEMS_END missing?",
                     CONFITEM_MAX_ITEMS);
}
