/*
 * strbuf - a growing, always NUL-terminated text buffer for the renderers
 * and the status client. Out of memory is fatal (xalloc).
 *
 * THREADS: a buffer belongs to one thread at a time.
 */
#ifndef CORE_STRBUF_H
#define CORE_STRBUF_H

#include <stddef.h>

#include <pandora/plugin.h>

struct strbuf {
    char *p;        /* NULL until the first append; then NUL-terminated */
    size_t len, cap;
};

#define STRBUF_INIT { NULL, 0, 0 }

void strbuf_put(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
    PANDORA_PRINTF(2, 3);

/* strbuf_reset - empty the text, keep the memory. */
void strbuf_reset(struct strbuf *sb);

/* strbuf_take - hand the text over (never NULL: "" for an empty buffer);
 * the buffer is empty afterwards. */
char *strbuf_take(struct strbuf *sb, size_t *len_r);
void strbuf_free(struct strbuf *sb);

#endif
