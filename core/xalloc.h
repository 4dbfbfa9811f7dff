/*
 * xalloc - allocation for core code: out of memory is fatal in the host
 * (a daemon that cannot allocate a few bytes cannot do anything sensible).
 * Modules never use this; they return -ENOMEM.
 */
#ifndef CORE_XALLOC_H
#define CORE_XALLOC_H

#include <stddef.h>

#include <pandora/plugin.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PANDORA_PRINTF(1, 2);

#endif
