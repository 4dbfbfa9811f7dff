/*
 * pushstate.c - a remote's push state (see pushstate.h): entries in a
 * chained hash table keyed by kind and name; agents seen are entries of
 * a kind of their own.
 */
#include "config.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pushstate.h"

#define PS_SEEN PS_KINDS      /* internal kind: an agent seen            */
#define PS_MAGIC "confsync 1\n"
#define PS_LINE_MAX 600

struct pushstate {
    struct ps_entry **slots;
    size_t nslots, count;
    char *last;               /* the last text loaded or dumped, or NULL */
    size_t last_len;
};

static const char kind_code[] = { 'c', 'z', 'r', 'm' };

/* FNV-1a over the kind and the name */
static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static size_t slot_of(const struct pushstate *ps, int kind, const char *name)
{
    unsigned char k = (unsigned char)kind;
    uint64_t h = fnv(1469598103934665603ULL, &k, 1);

    return (size_t)(fnv(h, name, strlen(name)) % ps->nslots);
}

struct pushstate *pushstate_new(void)
{
    struct pushstate *ps = calloc(1, sizeof(*ps));

    if (ps == NULL)
        return NULL;
    ps->nslots = 1024;
    ps->slots = calloc(ps->nslots, sizeof(*ps->slots));
    if (ps->slots == NULL) {
        free(ps);
        return NULL;
    }
    return ps;
}

void pushstate_free(struct pushstate *ps)
{
    if (ps == NULL)
        return;
    for (size_t i = 0; i < ps->nslots; i++) {
        for (struct ps_entry *e = ps->slots[i], *next; e != NULL; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(ps->slots);
    free(ps->last);
    free(ps);
}

/* grow - double the table when it is full on average */
static void grow(struct pushstate *ps)
{
    size_t old = ps->nslots;
    struct ps_entry **slots = calloc(old * 2, sizeof(*slots));

    if (slots == NULL)
        return; /* longer chains, still correct */
    struct ps_entry **prev = ps->slots;
    ps->slots = slots;
    ps->nslots = old * 2;
    for (size_t i = 0; i < old; i++) {
        for (struct ps_entry *e = prev[i], *next; e != NULL; e = next) {
            next = e->next;
            size_t j = slot_of(ps, (int)e->kind, e->name);
            e->next = slots[j];
            slots[j] = e;
        }
    }
    free(prev);
}

static struct ps_entry *find(struct pushstate *ps, int kind, const char *name)
{
    struct ps_entry *e = ps->slots[slot_of(ps, kind, name)];

    while (e != NULL && ((int)e->kind != kind || strcmp(e->name, name) != 0))
        e = e->next;
    return e;
}

static struct ps_entry *add(struct pushstate *ps, int kind, const char *name)
{
    struct ps_entry *e = find(ps, kind, name);

    if (e != NULL)
        return e;
    size_t len = strlen(name);
    e = calloc(1, sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->name, name, len + 1);
    e->kind = (enum ps_kind)kind;
    size_t i = slot_of(ps, kind, name);
    e->next = ps->slots[i];
    ps->slots[i] = e;
    if (++ps->count > ps->nslots)
        grow(ps);
    return e;
}

struct ps_entry *pushstate_find(struct pushstate *ps, enum ps_kind kind,
                                const char *name)
{
    return find(ps, (int)kind, name);
}

struct ps_entry *pushstate_add(struct pushstate *ps, enum ps_kind kind,
                               const char *name)
{
    return add(ps, (int)kind, name);
}

/* ---- order -------------------------------------------------------------- */

static int cmp_push(const void *a, const void *b)
{
    const struct ps_entry *x = *(const struct ps_entry *const *)a;
    const struct ps_entry *y = *(const struct ps_entry *const *)b;

    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->name, y->name);
}

void pushstate_sort(struct ps_entry **v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_push);
}

/* collect - the entries of the wanted kinds (seen: only PS_SEEN), sorted */
static struct ps_entry **collect(struct pushstate *ps, bool seen, size_t *n_r)
{
    struct ps_entry **v = malloc((ps->count ? ps->count : 1) * sizeof(*v));
    size_t n = 0;

    *n_r = 0;
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < ps->nslots; i++)
        for (struct ps_entry *e = ps->slots[i]; e != NULL; e = e->next)
            if ((e->kind == PS_SEEN) == seen)
                v[n++] = e;
    pushstate_sort(v, n);
    *n_r = n;
    return v;
}

struct ps_entry **pushstate_entries(struct pushstate *ps, size_t *n_r)
{
    struct ps_entry **v = collect(ps, false, n_r);

    if (v != NULL && *n_r == 0) {
        free(v);
        v = NULL;
    }
    return v;
}

/* ---- the text ----------------------------------------------------------- */

static bool is_hex(const char *s, size_t len)
{
    if (strlen(s) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* take_hash - "-" or a SHA-256 hex digest into out */
static bool take_hash(const char *tok, char out[PS_HEX])
{
    if (strcmp(tok, "-") == 0) {
        out[0] = '\0';
        return true;
    }
    if (!is_hex(tok, PS_HEX - 1))
        return false;
    memcpy(out, tok, PS_HEX);
    return true;
}

static int kind_of_code(char c)
{
    for (int k = 0; k < PS_KINDS; k++)
        if (kind_code[k] == c)
            return k;
    return -1;
}

/* parse_file_line - "f <kind> <remote> <local> <size> <s> <ns> <ino>
 * <flags> <listed> <name>" */
static void parse_file_line(struct pushstate *ps, char *line)
{
    char kind[2], remote[80], local[80], flags[8];
    unsigned long long size, ino;
    long long mts, listed;
    long mtns;
    int off = 0;

    /* the name is the rest of the line after one space: it may hold
     * spaces, even leading ones */
    if (sscanf(line, "f %1s %79s %79s %llu %lld %ld %llu %7s %lld%n", kind,
               remote, local, &size, &mts, &mtns, &ino, flags, &listed,
               &off) != 9 || line[off] != ' ' || line[off + 1] == '\0')
        return;
    int k = kind_of_code(kind[0]);
    struct ps_entry tmp = { 0 };
    if (k < 0 || !take_hash(remote, tmp.remote) ||
        !take_hash(local, tmp.local))
        return;
    struct ps_entry *e = add(ps, k, line + off + 1);
    if (e == NULL)
        return;
    memcpy(e->remote, tmp.remote, PS_HEX);
    memcpy(e->local, tmp.local, PS_HEX);
    e->id = (struct ps_id){ .size = size, .ino = ino, .mtime_s = mts,
                            .mtime_ns = mtns };
    e->id_ok = strchr(flags, 'i') != NULL;
    e->attempted = strchr(flags, 'a') != NULL;
    e->noted = 0;
    for (const char *f = flags; *f; f++)
        if (strchr("omer", *f) != NULL)
            e->noted = *f;
    e->listed = listed > 0 ? (time_t)listed : 0;
}

static void parse_line(struct pushstate *ps, char *line)
{
    if (line[0] == 'f' && line[1] == ' ')
        parse_file_line(ps, line);
    else if (line[0] == 's' && line[1] == ' ' &&
             is_hex(line + 2, PS_AGENT_HEX - 1))
        add(ps, PS_SEEN, line + 2);
}

/* remember - keep a copy of the loaded text, to tell "changed" at the
 * next dump (without one, the first dump counts as changed: one write
 * too many) */
static void remember(struct pushstate *ps, const char *text, size_t len)
{
    char *copy = malloc(len + 1);

    if (copy != NULL)
        memcpy(copy, text, len);
    pushstate_saved(ps, copy, len);
}

void pushstate_saved(struct pushstate *ps, char *text, size_t len)
{
    free(ps->last);
    ps->last = text;
    ps->last_len = text != NULL ? len : 0;
}

void pushstate_load(struct pushstate *ps, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    size_t magic = sizeof(PS_MAGIC) - 1;

    if (len < magic || memcmp(text, PS_MAGIC, magic) != 0)
        return; /* another format: start afresh (pushes everything once) */
    p += magic;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        char line[PS_LINE_MAX];

        if (nl != NULL && n < sizeof(line)) {
            memcpy(line, p, n);
            line[n] = '\0';
            parse_line(ps, line);
        }
        p += n + (nl != NULL);
    }
    remember(ps, text, len);
}

/* says_something - worth a line: a side has the file, or settle runs */
static bool says_something(const struct ps_entry *e)
{
    return e->remote[0] != '\0' || e->local[0] != '\0' || e->listed != 0;
}

/* put_text - append to a growing buffer; false when out of memory */
static bool put_text(char **buf, size_t *len, size_t *cap, const char *s,
                     size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (*len + n + 1 > c)
            c *= 2;
        char *nb = realloc(*buf, c);
        if (nb == NULL)
            return false;
        *buf = nb;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

static int format_file_line(const struct ps_entry *e, char *line, size_t size)
{
    char flags[4], *f = flags;

    if (e->id_ok)
        *f++ = 'i';
    if (e->attempted)
        *f++ = 'a';
    if (e->noted)
        *f++ = e->noted;
    if (f == flags)
        *f++ = '-';
    *f = '\0';
    return snprintf(line, size, "f %c %s %s %llu %lld %ld %llu %s %lld %s\n",
                    kind_code[e->kind], e->remote[0] ? e->remote : "-",
                    e->local[0] ? e->local : "-",
                    (unsigned long long)e->id.size,
                    (long long)e->id.mtime_s, e->id.mtime_ns,
                    (unsigned long long)e->id.ino, flags,
                    (long long)e->listed, e->name);
}

/* dump_kind - the lines of one side (files or agents seen) */
static bool dump_kind(struct pushstate *ps, bool seen, char **buf, size_t *len,
                      size_t *cap)
{
    size_t n;
    struct ps_entry **v = collect(ps, seen, &n);
    char line[PS_LINE_MAX];
    bool ok = v != NULL;

    for (size_t i = 0; ok && i < n; i++) {
        int k;
        if (seen)
            k = snprintf(line, sizeof(line), "s %s\n", v[i]->name);
        else if (says_something(v[i]))
            k = format_file_line(v[i], line, sizeof(line));
        else
            continue;
        ok = k > 0 && (size_t)k < sizeof(line) &&
             put_text(buf, len, cap, line, (size_t)k);
    }
    free(v);
    return ok;
}

char *pushstate_dump(struct pushstate *ps, size_t *len_r, bool *changed_r)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (!put_text(&buf, &len, &cap, PS_MAGIC, sizeof(PS_MAGIC) - 1) ||
        !dump_kind(ps, false, &buf, &len, &cap) ||
        !dump_kind(ps, true, &buf, &len, &cap)) {
        free(buf);
        return NULL;
    }
    *changed_r = ps->last == NULL || ps->last_len != len ||
                 memcmp(ps->last, buf, len) != 0;
    *len_r = len;
    return buf;
}

/* ---- change detection --------------------------------------------------- */

static struct ps_id id_of(const struct stat *st)
{
    return (struct ps_id){ .size = (uint64_t)st->st_size,
                           .ino = (uint64_t)st->st_ino,
                           .mtime_s = (int64_t)st->st_mtim.tv_sec,
                           .mtime_ns = st->st_mtim.tv_nsec };
}

bool pushstate_same_file(const struct ps_entry *e, const struct stat *st)
{
    struct ps_id id = id_of(st);

    return e->local[0] != '\0' && id.size == e->id.size &&
           id.ino == e->id.ino && id.mtime_s == e->id.mtime_s &&
           id.mtime_ns == e->id.mtime_ns;
}

bool pushstate_fresh(const struct ps_entry *e, const struct stat *st)
{
    return e->id_ok && pushstate_same_file(e, st);
}

void pushstate_set_local(struct ps_entry *e, const char *hex,
                         const struct stat *st, time_t now)
{
    if (strcmp(e->local, hex) != 0)
        e->noted = 0; /* new content: a refusal is news again */
    snprintf(e->local, sizeof(e->local), "%s", hex);
    e->id = id_of(st);
    e->id_ok = now - st->st_mtim.tv_sec >= PS_RACY_S;
}

static void to_hex(const unsigned char *raw, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[2 * n] = '\0';
}

int pushstate_hash_fd(int fd, char out[PS_HEX])
{
    gnutls_hash_hd_t h;
    unsigned char buf[65536], raw[32];
    int rc = 0;

    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
        return -EIO;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = -errno;
        if (n <= 0)
            break;
        if (gnutls_hash(h, buf, (size_t)n) < 0) {
            rc = -EIO;
            break;
        }
    }
    gnutls_hash_deinit(h, raw);
    if (rc == 0)
        to_hex(raw, sizeof(raw), out);
    return rc;
}

/* ---- agents seen -------------------------------------------------------- */

int pushstate_agent_key(const char *name, size_t len, char out[PS_AGENT_HEX])
{
    unsigned char raw[16];

    if (gnutls_hash_fast(GNUTLS_DIG_MD5, name, len, raw) < 0)
        return -EIO;
    to_hex(raw, sizeof(raw), out);
    return 0;
}

int pushstate_seen_agent(struct pushstate *ps, const char *name, size_t len)
{
    char key[PS_AGENT_HEX];
    int rc = pushstate_agent_key(name, len, key);

    return rc < 0 ? rc : pushstate_seen_key(ps, key);
}

int pushstate_seen_key(struct pushstate *ps, const char *key)
{
    if (!is_hex(key, PS_AGENT_HEX - 1))
        return -EINVAL;
    return add(ps, PS_SEEN, key) != NULL ? 0 : -ENOMEM;
}

bool pushstate_seen(struct pushstate *ps, const char *key)
{
    return find(ps, PS_SEEN, key) != NULL;
}
