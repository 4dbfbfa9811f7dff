/*
 * remotes.c - sync_address and the syncserver.remotes overrides, merged
 * into one list of remote_spec (see remotes.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remotes.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* parse_port - 1..65535, digits only */
static int parse_port(const char *s, unsigned *port_r)
{
    unsigned long v = 0;

    if (*s == '\0' || strlen(s) > 5)
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    *port_r = (unsigned)v;
    return 0;
}

/* host_ok - a host name or IPv4 literal: letters, digits, '.', '-', '_' */
static bool host_ok(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-' &&
            h[i] != '_')
            return false;
    return true;
}

/* v6_ok - what may stand between brackets */
static bool v6_ok(const char *h, size_t n)
{
    if (n < 2 || n > 45)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
            return false;
    return true;
}

int remotes_split_address(const char *e, char **host_r, unsigned *port_r,
                          char *err, size_t errlen)
{
    const char *host = e, *port = NULL;
    size_t hlen;

    if (*e == '[') {
        const char *close = strchr(e, ']');
        if (close == NULL || !v6_ok(e + 1, (size_t)(close - e - 1)))
            return fail(err, errlen, "'%s' is not a valid [IPv6] address", e);
        if (close[1] != '\0' && close[1] != ':')
            return fail(err, errlen, "unexpected text after ']' in '%s'", e);
        host = e + 1;
        hlen = (size_t)(close - host);
        port = close[1] == ':' ? close + 2 : NULL;
    } else {
        const char *colon = strchr(e, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL)
            return fail(err, errlen, "'%s' looks like an IPv6 address: "
                        "write it as [address] or [address]:port", e);
        hlen = colon ? (size_t)(colon - e) : strlen(e);
        port = colon ? colon + 1 : NULL;
        if (!host_ok(e, hlen))
            return fail(err, errlen, "'%s' is not a host name or address", e);
    }
    *port_r = 0;
    if (port != NULL && parse_port(port, port_r) < 0)
        return fail(err, errlen, "'%s': the port must be a number from 1 to "
                    "65535", e);
    *host_r = dup_n(host, hlen);
    return *host_r ? 0 : -ENOMEM;
}

/* make_label - "host:port", IPv6 in brackets */
static char *make_label(const char *host, unsigned port)
{
    bool v6 = strchr(host, ':') != NULL;
    size_t n = strlen(host) + 10;
    char *l = malloc(n);

    if (l != NULL)
        snprintf(l, n, v6 ? "[%s]:%u" : "%s:%u", host, port);
    return l;
}

/* make_tag - the label with everything but [A-Za-z0-9.-] as '_' and the
 * port after a '-': usable as a file name and a spool staging tag */
static char *make_tag(const char *host, unsigned port)
{
    size_t n = strlen(host) + 8;
    char *t = malloc(n);

    if (t == NULL)
        return NULL;
    snprintf(t, n, "%s-%u", host, port);
    for (char *p = t; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
            *p = '_';
    if (t[0] == '.')
        t[0] = '_';
    return t;
}

static void spec_defaults(struct remote_spec *s, const struct ss_conf *c)
{
    s->tls.ca = c->ca;
    s->tls.crl = c->crl;
    s->tls.cert = c->cert;
    s->tls.key = c->key;
    s->password = c->password;
    s->connections = c->connections;
    s->interval = c->interval;
}

static int spec_init(struct remote_spec *s, char *host, unsigned port,
                     const struct ss_conf *c)
{
    memset(s, 0, sizeof(*s));
    s->host = host;
    s->port = port ? port : c->port;
    s->label = make_label(host, s->port);
    s->tag = make_tag(host, s->port);
    spec_defaults(s, c);
    return s->label && s->tag ? 0 : -ENOMEM;
}

static struct remote_spec *find(struct remote_spec *v, size_t n,
                                const char *label)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].label, label) == 0)
            return &v[i];
    return NULL;
}

/* trim - cut leading and trailing blanks in place */
static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* add_addresses - the sync_address entries */
static int add_addresses(const struct ss_conf *c, struct remote_spec *v,
                         size_t *n, char *err, size_t errlen)
{
    char *copy = strdup(c->address ? c->address : ""), *save = NULL;
    char *entry = copy;
    int rc = copy ? 0 : -ENOMEM;

    while (rc == 0 && entry != NULL) {
        char *comma = strchr(entry, ',');
        char *host, e[300];
        unsigned port;

        if (comma)
            *comma = '\0';
        save = trim(entry);
        entry = comma ? comma + 1 : NULL;
        if (*save == '\0') {
            rc = c->address && *c->address
                     ? fail(err, errlen, "sync_address: empty entry between "
                            "commas in '%s'", c->address)
                     : 0;
            break;
        }
        rc = remotes_split_address(save, &host, &port, e, sizeof(e));
        if (rc < 0) {
            fail(err, errlen, "sync_address: %s", e);
            break;
        }
        rc = spec_init(&v[*n], host, port, c);
        (*n)++;
        if (rc == 0 && find(v, *n - 1, v[*n - 1].label) != NULL)
            rc = fail(err, errlen, "sync_address: %s is listed twice",
                      v[*n - 1].label);
    }
    free(copy);
    return rc;
}

static void apply_override(struct remote_spec *s, const struct ss_override *o)
{
    if (o->password)
        s->password = o->password;
    if (o->connections)
        s->connections = o->connections;
    if (o->interval)
        s->interval = o->interval;
    if (o->ca)
        s->tls.ca = o->ca;
    if (o->crl)
        s->tls.crl = o->crl;
    if (o->cert)
        s->tls.cert = o->cert;
    if (o->key)
        s->tls.key = o->key;
}

/* add_overrides - hostd.conf entries: override a listed remote or add one */
static int add_overrides(const struct ss_conf *c, struct remote_spec *v,
                         size_t *n, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->n_overrides; i++) {
        const struct ss_override *o = &c->overrides[i];
        char *host, e[300];
        unsigned port;

        if (o->address == NULL)
            return fail(err, errlen, "syncserver.remotes entry %zu has no "
                        "address", i + 1);
        int rc = remotes_split_address(o->address, &host, &port, e,
                                       sizeof(e));
        if (rc < 0)
            return fail(err, errlen, "syncserver.remotes entry %zu: %s",
                        i + 1, e);
        if (port != 0 && o->port != 0 && port != o->port)
            rc = fail(err, errlen, "syncserver.remotes entry %zu: address "
                      "'%s' and port %u disagree", i + 1, o->address, o->port);
        struct remote_spec probe;
        if (rc == 0)
            rc = spec_init(&probe, host, port ? port : o->port, c);
        else
            free(host);
        if (rc < 0)
            return rc;
        struct remote_spec *s = find(v, *n, probe.label);
        if (s == NULL) {
            s = &v[(*n)++];
            *s = probe;
        } else {
            free(probe.host), free(probe.label), free(probe.tag);
        }
        apply_override(s, o);
        s->verify_name = o->verify_name;
    }
    return 0;
}

/* finish - per-remote rules that span keys */
static int finish(const struct ss_conf *c, struct remote_spec *s, char *err,
                  size_t errlen)
{
    if ((s->tls.cert == NULL) != (s->tls.key == NULL))
        return fail(err, errlen, "%s: sync_cert and sync_key go together: "
                    "set both (or neither)", s->label);
    s->use_tls = s->tls.ca || s->tls.cert || s->tls.key;
    if (s->verify_name == NULL && c->verify_name)
        s->verify_name = s->host;
    if (s->verify_name != NULL && s->tls.ca == NULL)
        return fail(err, errlen, "%s: checking the certificate's name needs "
                    "sync_ca (the CA that signed it)", s->label);
    return 0;
}

static size_t count_entries(const struct ss_conf *c)
{
    size_t n = 1 + c->n_overrides;

    for (const char *p = c->address; p && *p; p++)
        n += *p == ',';
    return n;
}

int remotes_build(const struct ss_conf *c, struct remote_spec **specs_r,
                  size_t *n_r, char *err, size_t errlen)
{
    struct remote_spec *v = calloc(count_entries(c), sizeof(*v));
    size_t n = 0;
    int rc = v ? add_addresses(c, v, &n, err, errlen) : -ENOMEM;

    if (rc == 0)
        rc = add_overrides(c, v, &n, err, errlen);
    if (rc == 0 && n == 0)
        rc = fail(err, errlen, "sync_address: no remote to poll: list the "
                  "Tentacle servers to pull from, e.g. sync_address "
                  "10.0.0.5,10.0.0.6:41122");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = finish(c, &v[i], err, errlen);
    if (rc < 0) {
        remotes_free(v, n);
        return rc;
    }
    *specs_r = v;
    *n_r = n;
    return 0;
}

void remotes_free(struct remote_spec *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        free(v[i].label);
        free(v[i].tag);
        free(v[i].host);
    }
    free(v);
}
