/*
 * log - the host's log: Pandora-style lines
 *
 *     2026-11-24 10:00:00 servername [V1] syncserver: text
 *
 * to stderr (foreground, journald under systemd) or to a file. When stderr
 * is the journal stream systemd names in JOURNAL_STREAM, a line is instead
 *
 *     <4>servername [V1] syncserver: text
 *
 * (no time stamp: journald records it; "<N>" is the syslog priority
 * journald files the line under: 3 error, 4 warning, 6 info, 7 debug).
 *
 * A line is written when its Pandora level is <= verbosity. A message
 * identical to the previous one is not repeated; "last message repeated N
 * times" is written when a different message arrives, when log_flush()
 * runs, or at most every 60 s while the repeats go on.
 *
 * THREADS: every function is thread-safe; lines never interleave.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdarg.h>
#include <stdio.h>

#include <pandora/plugin.h>

/* Pandora verbosity tag written for each level ([V0]...[V10]). */
#define LOG_V_ERROR 0
#define LOG_V_WARNING 1
#define LOG_V_INFO 3
#define LOG_V_DEBUG 10

/*
 * log_open - send lines to `path` (appended, created 0640), or to stderr when
 * path is NULL or "". Replaces the previous destination (HUP reopens, so
 * logrotate works). On error the previous destination stays.
 */
int log_open(const char *path, struct pandora_error *error_r);
void log_close(void);

void log_set_verbosity(int verbosity); /* 0..10; default 0 */
int log_get_verbosity(void);
void log_set_servername(const char *name); /* copied; default: hostname */

/*
 * log_write - one message from `origin` ("hostd", a module name), with a
 * trailing newline added. log_vwrite is the va_list form.
 */
void log_write(enum pandora_log_level level, const char *origin,
               const char *fmt, ...) PANDORA_PRINTF(3, 4);
void log_vwrite(enum pandora_log_level level, const char *origin,
                const char *fmt, va_list ap) PANDORA_PRINTF(3, 0);

/* Shorthands for the host itself (origin "hostd"). */
void log_error(const char *fmt, ...) PANDORA_PRINTF(1, 2);
void log_warning(const char *fmt, ...) PANDORA_PRINTF(1, 2);
void log_info(const char *fmt, ...) PANDORA_PRINTF(1, 2);
void log_debug(const char *fmt, ...) PANDORA_PRINTF(1, 2);

/* log_fatal - log at ERROR level, flush and exit(1). Core only. */
void log_fatal(const char *fmt, ...) PANDORA_PRINTF(1, 2)
    __attribute__((noreturn));

/* log_flush - write a pending "repeated N times" line and flush. */
void log_flush(void);

#endif
