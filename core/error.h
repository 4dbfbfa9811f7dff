/* error - fill a struct pandora_error and return the code, in one step. */
#ifndef CORE_ERROR_H
#define CORE_ERROR_H

#include <pandora/plugin.h>

/*
 * error_set - format one sentence into e (may be NULL) and return rc.
 * error_sys - the same, followed by ": " and strerror(-rc).
 * Both truncate safely at PANDORA_ERROR_MAX.
 */
int error_set(struct pandora_error *e, int rc, const char *fmt, ...)
    PANDORA_PRINTF(3, 4);
int error_sys(struct pandora_error *e, int rc, const char *fmt, ...)
    PANDORA_PRINTF(3, 4);

#endif
