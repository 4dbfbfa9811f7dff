/*
 * statusjson - read /status.json (as status_to_json writes it) back into a
 * status model, so `pandora_hostd --status` renders the running daemon's
 * state with the same code as the daemon.
 *
 * Values map back by JSON type: strings (an ISO 8601 UTC string as a time),
 * integers (negative as int), other numbers as doubles, booleans; null as a
 * null string. Unknown members are skipped; anything that is not JSON, or
 * nests deeper than the format does, is refused.
 *
 * OWNERSHIP *st_r is the caller's (status_free).
 * THREADS   reentrant.
 */
#ifndef CORE_STATUSJSON_H
#define CORE_STATUSJSON_H

#include <stddef.h>

#include <pandora/plugin.h>

struct pandora_status;

int status_from_json(const char *text, size_t len, struct pandora_status **st_r,
                     struct pandora_error *error_r);

#endif
