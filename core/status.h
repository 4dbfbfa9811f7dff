/*
 * status - the status model: one snapshot of every service's state, written
 * through the status writer functions of plugin.h and rendered by the host
 * (JSON here; the status page and metrics render the same model).
 *
 * A snapshot is built on one thread and read-only afterwards.
 *
 * Shape:
 *   host:     name, version, started (time)
 *   services: name, module, running (bool), reason (why not running)
 *             fields: key -> typed value (service's own)
 *             tables: name -> rows: id -> fields
 */
#ifndef CORE_STATUS_H
#define CORE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <pandora/plugin.h>

/* The model is the writer: struct pandora_status is defined in status.c. */
struct pandora_status *status_new(const char *hostname, const char *version,
                                  time_t started);
void status_free(struct pandora_status *st);

/* status_service - begin a service; following writes go to it. */
void status_service(struct pandora_status *st, const char *name,
                    const char *module, bool running, const char *reason);

/* The writer (see plugin.h). */
void status_row(struct pandora_status *st, const char *table, const char *id);
void status_string(struct pandora_status *st, const char *key,
                   const char *value);
void status_int(struct pandora_status *st, const char *key, int64_t value);
void status_uint(struct pandora_status *st, const char *key, uint64_t value);
void status_double(struct pandora_status *st, const char *key, double value);
void status_bool(struct pandora_status *st, const char *key, bool value);
void status_time(struct pandora_status *st, const char *key, time_t value);

/*
 * status_to_json - render the model as one JSON object (UTF-8, keys in the
 * order written, strings escaped, times as ISO 8601 UTC strings or null,
 * non-finite doubles as null). *json_r is malloc'd, NUL-terminated.
 *
 *   {"host":{"name":..,"version":..,"started":..,"uptime_seconds":..},
 *    "services":[{"name":..,"module":..,"running":..,"reason":..,
 *                 "fields":{..},"tables":{"remotes":[{"id":..,..}]}}]}
 */
int status_to_json(const struct pandora_status *st, time_t now, char **json_r,
                   size_t *len_r);

/* status_healthy - true when every service runs; else *reason_r names the
 * first that does not (borrowed from the model). */
bool status_healthy(const struct pandora_status *st, const char **reason_r);

#endif
