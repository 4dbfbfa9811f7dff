/*
 * render_table - the status model as plain text for a terminal
 * (pandora_hostd --status): a header line, then per service its state, its
 * fields on one line and each table as aligned columns (the known fields,
 * as on the page), with the last error and any other field on indented
 * lines under a row. Text from the model is made terminal-safe: control
 * characters and invalid UTF-8 become '?', so a remote's error message
 * cannot drive the terminal.
 *
 * OWNERSHIP *text_r is malloc'd, NUL-terminated; the caller frees it.
 * THREADS   reentrant; the model is only read.
 */
#ifndef CORE_RENDER_TABLE_H
#define CORE_RENDER_TABLE_H

#include <stddef.h>
#include <time.h>

#include "status.h"

/* flags */
#define RENDER_TABLE_COLOR 0x1u    /* ANSI colours for states */

int render_table(const struct pandora_status *st, time_t now, unsigned flags,
                 char **text_r, size_t *len_r);

/* render_table_problems - services not running plus rows whose state is
 * "failing": non-zero makes --status exit 1. */
unsigned render_table_problems(const struct pandora_status *st);

#endif
