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

/*
 * The model, read-only once written. Writers (services, through plugin.h)
 * only ever use the functions below; the renderers (status_to_json,
 * render_html, render_metrics, render_table) read these structs directly.
 */
enum status_type {
    STATUS_STRING,
    STATUS_INT,
    STATUS_UINT,
    STATUS_DOUBLE,
    STATUS_BOOL,
    STATUS_TIME,
};

struct status_field {
    char *key;
    enum status_type type;
    union {
        char *s;                /* NULL renders as null */
        int64_t i;
        uint64_t u;
        double d;
        bool b;
        time_t t;
    } v;
};

struct status_fields {
    struct status_field *v;     /* in the order first written */
    size_t n, cap;
};

struct status_row {
    char *id;
    uint32_t hash;              /* of id: most lookups skip the strcmp */
    struct status_fields fields;
};

struct status_table {
    char *name;
    struct status_row **rows;   /* pointers: st->target stays valid */
    size_t n, cap;
};

struct status_service {
    char *name, *module, *reason;
    char *unhealthy;            /* status_healthy's sentence, if !running */
    bool running;
    struct status_fields fields;
    struct status_table **tables;
    size_t ntables, cap;
};

struct pandora_status {
    char *hostname, *version;
    time_t started;
    struct status_service **services;
    size_t n, cap;
    struct status_service *svc;     /* being written; NULL: writes ignored */
    struct status_fields *target;   /* svc's or a row's; NULL: ignored */
};


/* The model is the writer: a struct pandora_status is passed to services. */
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

/* status_field_get - the field `key` of a service or row, or NULL. */
const struct status_field *status_field_get(const struct status_fields *f,
                                            const char *key);

/* status_utf8_len - length of the valid UTF-8 sequence at s (n > 0 bytes
 * left), or 0 when it is invalid (overlong, surrogate, cut short...). */
size_t status_utf8_len(const unsigned char *s, size_t n);

/*
 * status_key_is_secret - a key naming a secret (password, secret, token,
 * passphrase, private key): the writer stores "********" instead of any
 * string written under it, so no format can show one by mistake.
 */
bool status_key_is_secret(const char *key);
#define STATUS_SECRET_MASK "********"

#endif
