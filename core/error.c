/* error.c - caller-owned error buffers (see plugin.h, ERRORS). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

/* error_vset - the common body of error_set and error_sys */
static void error_vset(struct pandora_error *e, int rc, bool with_errno,
                       const char *fmt, va_list ap)
{
    if (e == NULL)
        return;
    int n = vsnprintf(e->text, sizeof(e->text), fmt, ap);
    if (n < 0) {
        e->text[0] = '\0';
        n = 0;
    }
    if (with_errno && (size_t)n < sizeof(e->text))
        snprintf(e->text + n, sizeof(e->text) - (size_t)n, ": %s",
                 strerror(rc < 0 ? -rc : rc));
}

int error_set(struct pandora_error *e, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vset(e, rc, false, fmt, ap);
    va_end(ap);
    return rc;
}

int error_sys(struct pandora_error *e, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vset(e, rc, true, fmt, ap);
    va_end(ap);
    return rc;
}
