/* peer_log.c - the test peer's per-connection log
 *
 * One line per event: "<unix seconds.microseconds> c<id> <event> ...". Connection 0
 * is the server itself. Every line is flushed at once so a test can read the log
 * while the peer runs. Commands and reply lines are quoted with C escapes, so a
 * pipelined command shows up as one line containing "\n".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "peer.h"

static FILE *log_fp;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* peer_log_open - start logging to path ("-" means stderr) */
int peer_log_open(const char *path)
{
    if (strcmp(path, "-") == 0) {
        log_fp = stderr;
        return 0;
    }
    log_fp = fopen(path, "ae");
    return log_fp != NULL ? 0 : -1;
}

/* peer_log_close - flush and close the log */
void peer_log_close(void)
{
    if (log_fp != NULL && log_fp != stderr)
        fclose(log_fp);
    log_fp = NULL;
}

/* peer_log_on - whether anything is logged (lets callers skip formatting) */
bool peer_log_on(void)
{
    return log_fp != NULL;
}

/* log_stamp - write the line prefix; caller holds log_lock */
static void log_stamp(unsigned long id)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(log_fp, "%lld.%06ld c%lu ", (long long)ts.tv_sec, ts.tv_nsec / 1000, id);
}

/* peer_log - one formatted event line */
void peer_log(unsigned long id, const char *fmt, ...)
{
    va_list ap;

    if (log_fp == NULL)
        return;
    pthread_mutex_lock(&log_lock);
    log_stamp(id);
    va_start(ap, fmt);
    vfprintf(log_fp, fmt, ap);
    va_end(ap);
    fputc('\n', log_fp);
    fflush(log_fp);
    pthread_mutex_unlock(&log_lock);
}

/* log_quoted - data as a C-escaped quoted string; caller holds log_lock */
static void log_quoted(const char *data, size_t len)
{
    fputc('"', log_fp);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)data[i];

        if (ch == '\n')
            fputs("\\n", log_fp);
        else if (ch == '\r')
            fputs("\\r", log_fp);
        else if (ch == '"' || ch == '\\')
            fprintf(log_fp, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            fprintf(log_fp, "\\x%02x", ch);
        else
            fputc(ch, log_fp);
    }
    fputc('"', log_fp);
}

/* peer_log_cmd - "<what> <quoted data>", plus " pipelined" when data holds a newline */
void peer_log_cmd(unsigned long id, const char *what, const char *data, size_t len)
{
    if (log_fp == NULL)
        return;
    pthread_mutex_lock(&log_lock);
    log_stamp(id);
    fprintf(log_fp, "%s ", what);
    log_quoted(data, len > 4096 ? 4096 : len);
    if (len > 4096)
        fprintf(log_fp, " truncated=%zu", len);
    if (memchr(data, '\n', len) != NULL)
        fputs(" pipelined", log_fp);
    fputc('\n', log_fp);
    fflush(log_fp);
    pthread_mutex_unlock(&log_lock);
}
