/*
 * render_metrics - the status model as Prometheus text exposition (format
 * 0.0.4): every family has # HELP and # TYPE, samples of a family are
 * contiguous, label values are escaped (\\ \" \n) and valid UTF-8.
 *
 *   pandora_hostd_info{servername,version} 1
 *   pandora_hostd_start_time_seconds, pandora_hostd_uptime_seconds
 *   pandora_service_up{service,module} 1|0
 *   pandora_service_<key>{service}           numbers and flags of a service
 *   pandora_<row>_<key>{service,<row>}       numbers and flags of a table row,
 *                                            <row> the table name without a
 *                                            plural s ("remotes" -> remote)
 *   pandora_<row>_state{service,<row>,state} 1 for the current state, 0 for
 *                                            the other known states
 *   pandora_<row>_info{service,<row>,...}    1, short strings as labels
 *
 * Keys ending in _total are counters, the rest gauges; a time becomes
 * <key>_timestamp_seconds (omitted while "never"); days, hours, minutes and
 * milliseconds become seconds. Free text (keys with "error" or "message")
 * and keys that are not lower_snake_case are left to the page and the JSON.
 *
 * OWNERSHIP *text_r is malloc'd, NUL-terminated; the caller frees it.
 * THREADS   reentrant; the model is only read.
 */
#ifndef CORE_RENDER_METRICS_H
#define CORE_RENDER_METRICS_H

#include <stddef.h>
#include <time.h>

#include "status.h"

#define RENDER_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

int render_metrics(const struct pandora_status *st, time_t now, char **text_r,
                   size_t *len_r);

#endif
