/*
 * health.c - one remote's status row. Field names are stable: the status
 * page, /status.json and /metrics are rendered from them by the host.
 */
#include "config.h"

#include "health.h"

const char *health_state_name(enum health_state s)
{
    switch (s) {
    case HEALTH_WAITING: return "waiting";
    case HEALTH_OK: return "ok";
    case HEALTH_RETRYING: return "retrying";
    case HEALTH_FAILING: return "failing";
    case HEALTH_PAUSED: return "paused";
    }
    return "unknown";
}

static void write_tls(const struct pandora_host_api *api,
                      struct pandora_status *st, const struct health *h,
                      time_t now)
{
    api->status_bool(st, "tls", h->tls);
    if (!h->tls || !h->connected_once)
        return;
    api->status_string(st, "tls_version", h->facts.version);
    api->status_string(st, "tls_cipher", h->facts.cipher);
    api->status_bool(st, "peer_verified", h->facts.verified);
    api->status_string(st, "peer_subject", h->facts.subject);
    if (h->facts.peer_expiry != 0)
        api->status_int(st, "peer_cert_days_left",
                        (int64_t)(h->facts.peer_expiry - now) / 86400);
}

static void write_push(const struct pandora_host_api *api,
                       struct pandora_status *st, const struct health *h)
{
    api->status_uint(st, "files_pushed_last_cycle", h->push_files_last);
    api->status_uint(st, "bytes_pushed_last_cycle", h->push_bytes_last);
    api->status_uint(st, "files_pushed_total", h->push_files_total);
    api->status_uint(st, "bytes_pushed_total", h->push_bytes_total);
    api->status_uint(st, "push_pending_files", h->push_pending);
    api->status_uint(st, "push_failed_files", h->push_failed);
    api->status_string(st, "last_push_error", h->last_push_error);
    api->status_time(st, "last_push_error_time", h->last_push_error_time);
    api->status_uint(st, "config_files_pulled_total", h->config_pulled_total);
    api->status_uint(st, "config_conflicts_total", h->config_conflicts_total);
}

void health_write(const struct pandora_host_api *api,
                  struct pandora_status *st, const struct health *h,
                  time_t now)
{
    api->status_string(st, "state", health_state_name(h->state));
    api->status_time(st, "last_success", h->last_success);
    api->status_string(st, "last_error", h->last_error);
    api->status_time(st, "last_error_time", h->last_error_time);
    api->status_uint(st, "consecutive_failures", h->failures);
    api->status_time(st, "next_attempt", h->next_attempt);
    api->status_uint(st, "files_pulled_last_cycle", h->files_last);
    api->status_uint(st, "bytes_pulled_last_cycle", h->bytes_last);
    api->status_uint(st, "files_pulled_total", h->files_total);
    api->status_uint(st, "bytes_pulled_total", h->bytes_total);
    api->status_uint(st, "errors_total", h->errors_total);
    api->status_uint(st, "backlog_files", h->backlog_files);
    api->status_uint(st, "backlog_unsettled_files", h->backlog_unsettled);
    api->status_int(st, "backlog_oldest_age_seconds",
                    h->backlog_oldest ? (int64_t)(now - h->backlog_oldest)
                                      : 0);
    api->status_double(st, "cycle_seconds", h->cycle_seconds);
    api->status_bool(st, "paused_by_backpressure",
                     h->state == HEALTH_PAUSED);
    write_push(api, st, h);
    write_tls(api, st, h, now);
}
