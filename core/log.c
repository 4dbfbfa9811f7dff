/* log.c - Pandora-style log lines, one write(2) each, repeats folded. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "io.h"
#include "log.h"

#define LOG_TEXT_MAX 4096       /* bytes of message text, "..." included */
#define LOG_NAME_MAX 255        /* servername, origin */
#define LOG_REPEAT_WINDOW 60    /* s: longest a repeat count stays unwritten */
#define LOG_STAMP_SIZE 32
#define LOG_LINE_MAX                                                      \
    (LOG_STAMP_SIZE + LOG_NAME_MAX + sizeof(" [V10] ") + LOG_NAME_MAX +   \
     sizeof(": ") + LOG_TEXT_MAX + sizeof("\n"))

struct log_msg {
    enum pandora_log_level level;
    char origin[LOG_NAME_MAX + 1];
    char text[LOG_TEXT_MAX + 1];
};

/* Everything below `lock` is only touched with it held. */
static struct {
    pthread_mutex_t lock;
    int fd;                         /* STDERR_FILENO or a file we opened */
    int journal;                    /* fd is the journal: 1; 0; -1 unknown */
    char servername[LOG_NAME_MAX + 1]; /* "": not looked up yet */
    bool have_last;
    struct log_msg last;            /* the last message written */
    unsigned long repeats;          /* copies of `last` not yet reported */
    time_t first_repeat;            /* CLOCK_MONOTONIC s of the first one */
} log_state = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .fd = STDERR_FILENO,
    .journal = -1,
};

/* Read without the lock so hidden messages cost no formatting. */
static atomic_int log_verbosity;

/* log_tag - the Pandora verbosity tag of a level; unknown levels are DEBUG */
static int log_tag(enum pandora_log_level level)
{
    switch (level) {
    case PANDORA_LOG_ERROR:
        return LOG_V_ERROR;
    case PANDORA_LOG_WARNING:
        return LOG_V_WARNING;
    case PANDORA_LOG_INFO:
        return LOG_V_INFO;
    default:
        return LOG_V_DEBUG;
    }
}

/* log_visible - would a message of this level be written now? */
static bool log_visible(enum pandora_log_level level)
{
    return level == PANDORA_LOG_ERROR ||
           log_tag(level) <= atomic_load(&log_verbosity);
}

/* log_sanitize - control bytes (except tab) become '?', so text from a
 * remote cannot start a forged line or move the terminal's cursor */
static void log_sanitize(char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            *s = '?';
    }
}

/* log_copy_name - a bounded, sanitized copy of an origin or servername */
static void log_copy_name(char *dst, const char *src)
{
    snprintf(dst, LOG_NAME_MAX + 1, "%s", src);
    log_sanitize(dst);
}

/* log_truncate - end an over-long text with "...", not mid UTF-8 sequence */
static void log_truncate(char *text)
{
    size_t cut = LOG_TEXT_MAX - 3;

    while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
        cut--;
    memcpy(text + cut, "...", sizeof("..."));
}

/* log_msg_format - fill msg; a caller's trailing newlines are dropped since
 * the log adds its own */
static void log_msg_format(struct log_msg *msg, enum pandora_log_level level,
                           const char *origin, const char *fmt, va_list ap)
{
    msg->level = level;
    log_copy_name(msg->origin, origin != NULL ? origin : "hostd");
    int n = vsnprintf(msg->text, sizeof(msg->text), fmt, ap);
    if (n < 0)
        snprintf(msg->text, sizeof(msg->text), "(unformattable message)");
    else if ((size_t)n > LOG_TEXT_MAX)
        log_truncate(msg->text);
    size_t len = strlen(msg->text);
    while (len > 0 && msg->text[len - 1] == '\n')
        msg->text[--len] = '\0';
    log_sanitize(msg->text);
}

/* log_msg_equal - same origin, level and text */
static bool log_msg_equal(const struct log_msg *a, const struct log_msg *b)
{
    return a->level == b->level && strcmp(a->origin, b->origin) == 0 &&
           strcmp(a->text, b->text) == 0;
}

/* log_monotonic - seconds that never jump with the wall clock */
static time_t log_monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* log_servername_locked - the name, looked up from the host on first use */
static const char *log_servername_locked(void)
{
    if (log_state.servername[0] == '\0') {
        char host[LOG_NAME_MAX + 1] = "";
        if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
            snprintf(host, sizeof(host), "localhost");
        log_copy_name(log_state.servername, host);
    }
    return log_state.servername;
}

/* log_stderr_is_journal - is stderr the stream systemd announced in
 * JOURNAL_STREAM ("<device>:<inode>")? A child that inherited the variable
 * but writes elsewhere does not match. */
static bool log_stderr_is_journal(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    char extra;

    if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &extra) != 2 ||
        fstat(STDERR_FILENO, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

/* log_priority - the syslog priority journald reads from a "<N>" prefix
 * (sd-daemon(3)): err, warning, info, debug */
static int log_priority(enum pandora_log_level level)
{
    switch (level) {
    case PANDORA_LOG_ERROR:
        return 3;
    case PANDORA_LOG_WARNING:
        return 4;
    case PANDORA_LOG_INFO:
        return 6;
    default:
        return 7;
    }
}

/* log_line_locked - stamp and write one line with a single write(2), so
 * O_APPEND keeps it whole even next to another process writing the file */
static void log_line_locked(enum pandora_log_level level, const char *origin,
                            const char *text)
{
    char stamp[LOG_STAMP_SIZE] = "0000-00-00 00:00:00";
    char line[LOG_LINE_MAX];
    time_t now = time(NULL);
    struct tm tm;
    int n;

    if (log_state.fd == STDERR_FILENO && log_state.journal < 0)
        log_state.journal = log_stderr_is_journal();
    if (log_state.fd == STDERR_FILENO && log_state.journal == 1) {
        /* journald stamps the time itself; it takes the priority from us */
        n = snprintf(line, sizeof(line), "<%d>%s [V%d] %s: %s\n",
                     log_priority(level), log_servername_locked(),
                     log_tag(level), origin, text);
    } else {
        if (localtime_r(&now, &tm) != NULL)
            strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
        n = snprintf(line, sizeof(line), "%s %s [V%d] %s: %s\n", stamp,
                     log_servername_locked(), log_tag(level), origin, text);
    }
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    /* Nowhere left to report a failing log; the daemon goes on. */
    (void)io_write_all(log_state.fd, line, (size_t)n);
}

/* log_repeats_locked - write the pending "repeated" count, if any */
static void log_repeats_locked(void)
{
    char text[64];

    if (log_state.repeats == 0)
        return;
    snprintf(text, sizeof(text), "last message repeated %lu time%s",
             log_state.repeats, log_state.repeats == 1 ? "" : "s");
    log_line_locked(log_state.last.level, log_state.last.origin, text);
    log_state.repeats = 0;
}

/* log_emit_locked - write msg, or count it if it repeats the last one */
static void log_emit_locked(const struct log_msg *msg)
{
    if (log_state.have_last && log_msg_equal(&log_state.last, msg)) {
        time_t now = log_monotonic();
        if (log_state.repeats++ == 0)
            log_state.first_repeat = now;
        if (now - log_state.first_repeat >= LOG_REPEAT_WINDOW)
            log_repeats_locked();
        return;
    }
    log_repeats_locked();
    log_line_locked(msg->level, msg->origin, msg->text);
    log_state.last = *msg;
    log_state.have_last = true;
}

/* log_set_fd - switch destination; the pending count goes to the old one */
static void log_set_fd(int fd)
{
    pthread_mutex_lock(&log_state.lock);
    log_repeats_locked();
    int old = log_state.fd;
    log_state.fd = fd;
    log_state.journal = -1;         /* stderr may have moved: look again */
    pthread_mutex_unlock(&log_state.lock);
    if (old != STDERR_FILENO && old != fd)
        close(old);
}

/* log_open - see log.h; the file is opened before the swap, so a failure
 * leaves the previous destination in place */
int log_open(const char *path, struct pandora_error *error_r)
{
    int fd = STDERR_FILENO;

    if (path != NULL && path[0] != '\0') {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
                  0640);
        if (fd < 0) {
            int rc = -errno;
            return error_set(error_r, rc,
                             "cannot open log file %s: %s; check log_file in "
                             "pandora_hostd.conf and that its directory "
                             "exists and is writable", path, strerror(-rc));
        }
    }
    log_set_fd(fd);
    return 0;
}

/* log_close - back to stderr */
void log_close(void)
{
    log_set_fd(STDERR_FILENO);
}

/* log_set_verbosity - clamped to Pandora's 0..10 */
void log_set_verbosity(int verbosity)
{
    if (verbosity < 0)
        verbosity = 0;
    if (verbosity > 10)
        verbosity = 10;
    atomic_store(&log_verbosity, verbosity);
}

/* log_get_verbosity - the current verbosity */
int log_get_verbosity(void)
{
    return atomic_load(&log_verbosity);
}

/* log_set_servername - NULL or "" goes back to the host name */
void log_set_servername(const char *name)
{
    pthread_mutex_lock(&log_state.lock);
    log_copy_name(log_state.servername, name != NULL ? name : "");
    pthread_mutex_unlock(&log_state.lock);
}

/* log_vwrite - format outside the lock, emit under it */
void log_vwrite(enum pandora_log_level level, const char *origin,
                const char *fmt, va_list ap)
{
    struct log_msg msg;

    if (!log_visible(level))
        return;
    log_msg_format(&msg, level, origin, fmt, ap);
    pthread_mutex_lock(&log_state.lock);
    log_emit_locked(&msg);
    pthread_mutex_unlock(&log_state.lock);
}

/* log_write - log_vwrite with arguments */
void log_write(enum pandora_log_level level, const char *origin,
               const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(level, origin, fmt, ap);
    va_end(ap);
}

/* log_error, log_warning, log_info, log_debug - origin "hostd" */
#define LOG_SHORTHAND(fn, level)                                           \
    void fn(const char *fmt, ...)                                          \
    {                                                                      \
        va_list ap;                                                        \
        va_start(ap, fmt);                                                 \
        log_vwrite(level, "hostd", fmt, ap);                               \
        va_end(ap);                                                        \
    }

LOG_SHORTHAND(log_error, PANDORA_LOG_ERROR)
LOG_SHORTHAND(log_warning, PANDORA_LOG_WARNING)
LOG_SHORTHAND(log_info, PANDORA_LOG_INFO)
LOG_SHORTHAND(log_debug, PANDORA_LOG_DEBUG)

/* log_fatal - the last line of a host that cannot go on */
void log_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(PANDORA_LOG_ERROR, "hostd", fmt, ap);
    va_end(ap);
    log_flush();
    exit(EXIT_FAILURE);
}

/* log_flush - write the pending repeat count now */
void log_flush(void)
{
    pthread_mutex_lock(&log_state.lock);
    log_repeats_locked();
    pthread_mutex_unlock(&log_state.lock);
}
