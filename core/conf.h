/*
 * conf - pandora_server.conf, read with Pandora's own rules (CONFIG.md):
 * only lines starting with a letter count; "key<whitespace>value"; keys are
 * case-insensitive; the value is the rest of the line, trimmed (a trailing
 * \r too); a key without a value is ignored; the last occurrence wins;
 * unknown keys are kept silently.
 *
 * A struct conf is immutable once loaded. THREADS: readers may share it.
 */
#ifndef CORE_CONF_H
#define CORE_CONF_H

#include <stdbool.h>
#include <stdio.h>

#include <pandora/plugin.h>

struct conf;

/*
 * conf_load - read and parse a file. conf_parse - parse text; `path` is the
 * name used in messages. Errors: unreadable file, a NUL byte or invalid UTF-8
 * in a line (file:line named).
 */
int conf_load(const char *path, struct conf **conf_r,
              struct pandora_error *error_r);
int conf_parse(const char *path, const char *text, size_t len,
               struct conf **conf_r, struct pandora_error *error_r);
void conf_free(struct conf *conf);

const char *conf_path(const struct conf *conf);

/* conf_get - the value of key (any case) and its line, or NULL if absent. */
const char *conf_get(const struct conf *conf, const char *key,
                     unsigned *line_r);

/*
 * conf_get_uint - key as a decimal in [min, max], or def when absent.
 * A bad value fails with -EINVAL: "FILE:LINE: KEY: expected ..., got '...'".
 */
int conf_get_uint(const struct conf *conf, const char *key, unsigned def,
                  unsigned min, unsigned max, unsigned *value_r,
                  struct pandora_error *error_r);

#endif
