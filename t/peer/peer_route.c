/* peer_route.c - file names, -i routing rules and the PASS digest of the test peer */
#define _GNU_SOURCE
#include <errno.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

/* Characters the stock server refuses in any file name (PROTOCOL.md §2). */
static const char invalid_chars[] = "?[]/\\=+<>:;',*~";

/* peer_name_valid - whether a name has none of the invalid characters */
bool peer_name_valid(const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (name[i] != '\0' && strchr(invalid_chars, name[i]) != NULL)
            return false;
    return true;
}

/* perl_to_ere - rewrite the Perl escapes \d \w \s that tests may use into POSIX ERE */
static char *perl_to_ere(const char *re)
{
    size_t cap = strlen(re) * 12 + 1;
    char *out = malloc(cap);
    size_t o = 0;

    if (out == NULL)
        return NULL;
    for (const char *s = re; *s != '\0'; s++) {
        const char *rep = NULL;

        if (s[0] == '\\' && s[1] == 'd')
            rep = "[0-9]";
        else if (s[0] == '\\' && s[1] == 'w')
            rep = "[A-Za-z0-9_]";
        else if (s[0] == '\\' && s[1] == 's')
            rep = "[[:space:]]";
        if (rep != NULL) {
            o += (size_t)snprintf(out + o, cap - o, "%s", rep);
            s++;
        } else if (s[0] == '\\' && s[1] != '\0') {
            out[o++] = *s++;
            out[o++] = *s;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    return out;
}

/* route_add - compile one "regex:dir" rule; the stock server skips rules lacking either */
static int route_add(struct peer *p, char *rule)
{
    char *colon = strchr(rule, ':');
    char *ere, *dir;
    struct route *r;
    size_t dlen;
    int rc;

    if (colon == NULL || colon == rule || colon[1] == '\0')
        return 0;
    *colon = '\0';
    dir = colon + 1;
    if (strchr(dir, ':') != NULL)
        *strchr(dir, ':') = '\0';       /* Perl's split keeps only the second field */
    dlen = strlen(dir);
    if (dlen > 1 && dir[dlen - 1] == '/')
        dir[dlen - 1] = '\0';
    r = realloc(p->routes, (p->nroutes + 1) * sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    p->routes = r;
    r = &p->routes[p->nroutes];
    ere = perl_to_ere(rule);
    if (ere == NULL)
        return -ENOMEM;
    rc = regcomp(&r->re, ere, REG_EXTENDED | REG_NOSUB);
    free(ere);
    if (rc != 0) {
        fprintf(stderr, "tentacle_peer: -i: bad regular expression '%s'\n", rule);
        return -EINVAL;
    }
    r->dir = strdup(dir);
    if (r->dir == NULL) {
        regfree(&r->re);
        return -ENOMEM;
    }
    p->nroutes++;
    return 0;
}

/* peer_routes_parse - parse -i 're:dir;re:dir...' in order (first match wins) */
int peer_routes_parse(struct peer *p, const char *spec)
{
    char *copy = strdup(spec), *rest;
    int rc = 0;

    if (copy == NULL)
        return -ENOMEM;
    rest = copy;
    while (rest != NULL && rc == 0) {
        char *rule = rest, *semi = strchr(rest, ';');

        if (semi != NULL)
            *semi = '\0';
        rest = semi != NULL ? semi + 1 : NULL;
        rc = route_add(p, rule);
    }
    free(copy);
    return rc;
}

/* peer_routes_free - release the compiled rules */
void peer_routes_free(struct peer *p)
{
    for (size_t i = 0; i < p->nroutes; i++) {
        regfree(&p->routes[i].re);
        free(p->routes[i].dir);
    }
    free(p->routes);
    p->routes = NULL;
    p->nroutes = 0;
}

/* peer_route_dir - the directory of the first rule matching name (unanchored), or NULL */
const char *peer_route_dir(const struct peer *p, const char *name)
{
    for (size_t i = 0; i < p->nroutes; i++)
        if (regexec(&p->routes[i].re, name, 0, NULL, 0) == 0)
            return p->routes[i].dir;
    return NULL;
}

/* peer_path - storage/<routed dir>/<name> into out; -ENAMETOOLONG if it does not fit */
int peer_path(const struct peer *p, const char *name, char *out, size_t outlen)
{
    const char *dir = peer_route_dir(p, name);
    int n;

    if (dir != NULL)
        n = snprintf(out, outlen, "%s/%s/%s", p->storage, dir, name);
    else
        n = snprintf(out, outlen, "%s/%s", p->storage, name);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* peer_pass_digest - lower-case hex of md5(md5_raw(pwd)), as PASS expects */
int peer_pass_digest(const char *pwd, char out[33])
{
    unsigned char raw[16], twice[16];

    if (gnutls_hash_fast(GNUTLS_DIG_MD5, pwd, strlen(pwd), raw) < 0 ||
        gnutls_hash_fast(GNUTLS_DIG_MD5, raw, sizeof(raw), twice) < 0)
        return -EIO;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", twice[i]);
    return 0;
}
