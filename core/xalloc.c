/* xalloc.c - allocation that never returns NULL. */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

/* xalloc_die - no logging here: the log itself allocates */
static void xalloc_die(size_t size)
{
    static const char msg[] = "pandora_hostd: out of memory, exiting\n";

    (void)size;
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing left to report with */
    }
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        xalloc_die(size);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        xalloc_die(n * size);
    return p;
}

void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);

    if (q == NULL)
        xalloc_die(size);
    return q;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        xalloc_die(SIZE_MAX);
    return xrealloc(p, n * size);
}

char *xstrdup(const char *s)
{
    char *d = strdup(s);

    if (d == NULL)
        xalloc_die(strlen(s) + 1);
    return d;
}

char *xstrndup(const char *s, size_t n)
{
    char *d = strndup(s, n);

    if (d == NULL)
        xalloc_die(n + 1);
    return d;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        xalloc_die(0);
    return s;
}
