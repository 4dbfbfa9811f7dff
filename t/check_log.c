/* check_log.c - the host's log: line format, verbosity, folded repeats,
 * injection, destination switching, concurrent writers, log_fatal. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

#define LINE_RE                                                          \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} testhost "    \
    "\\[V(0|1|3|10)\\] [a-z0-9_]+: [^\n]*$"

#define MAX_LINES 4096

static char *dir;
static char *logpath;

/* Lines of the log file, split in place. */
struct lines {
    char *buf;
    char *v[MAX_LINES];
    size_t n;
};

static void setup(void)
{
    struct pandora_error err = { "" };

    dir = tu_tmpdir();
    ck_assert_int_ge(asprintf(&logpath, "%s/hostd.log", dir), 0);
    ck_assert_msg(log_open(logpath, &err) == 0, "%s", err.text);
    log_set_servername("testhost");
    log_set_verbosity(0);
}

static void teardown(void)
{
    log_close();
    tu_rmtree(dir);
    free(dir);
    free(logpath);
}

/* read_lines - the log file as lines; every line must end in '\n' */
static void read_lines(const char *path, struct lines *l)
{
    l->buf = tu_read(NULL, path);
    l->n = 0;
    ck_assert_msg(l->buf != NULL, "cannot read %s", path);
    size_t len = strlen(l->buf);
    ck_assert_msg(len == 0 || l->buf[len - 1] == '\n',
                  "log does not end with a newline: %s", l->buf);
    for (char *p = l->buf; *p != '\0';) {
        char *nl = strchr(p, '\n');
        *nl = '\0';
        ck_assert_uint_lt(l->n, MAX_LINES);
        l->v[l->n++] = p;
        p = nl + 1;
    }
}

/* ends_with - does line end with text? */
static bool ends_with(const char *line, const char *text)
{
    size_t a = strlen(line), b = strlen(text);

    return a >= b && strcmp(line + a - b, text) == 0;
}

/* matches - does line have the Pandora log line format? */
static bool matches(const regex_t *re, const char *line)
{
    return regexec(re, line, 0, NULL, 0) == 0;
}

static void compile(regex_t *re)
{
    ck_assert_int_eq(regcomp(re, LINE_RE, REG_EXTENDED | REG_NOSUB), 0);
}

START_TEST(test_log_line_has_pandora_format)
{
    struct lines l;
    regex_t re;

    compile(&re);
    log_set_verbosity(3);
    log_info("service %s started", "syncserver");
    log_write(PANDORA_LOG_WARNING, "syncserver", "remote %s is slow", "dmz1");
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_msg(matches(&re, l.v[0]), "%s", l.v[0]);
    ck_assert_msg(matches(&re, l.v[1]), "%s", l.v[1]);
    ck_assert_msg(ends_with(l.v[0], " testhost [V3] hostd: service "
                            "syncserver started"), "%s", l.v[0]);
    ck_assert_msg(ends_with(l.v[1], " testhost [V1] syncserver: remote dmz1 "
                            "is slow"), "%s", l.v[1]);
    regfree(&re);
    free(l.buf);
}
END_TEST

/* stamp_of - the local time stamp the log would write for t */
static void stamp_of(time_t t, char *buf, size_t size)
{
    struct tm tm;

    ck_assert_ptr_nonnull(localtime_r(&t, &tm));
    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

START_TEST(test_log_stamp_is_local_time)
{
    char before[32], after[32];
    struct lines l;

    /* A zone far from UTC, given as a POSIX rule so no tzdata is needed. */
    setenv("TZ", "PNT+05:30", 1);
    tzset();
    time_t t0 = time(NULL);
    log_error("clock check");
    time_t t1 = time(NULL);
    stamp_of(t0, before, sizeof(before));
    stamp_of(t1, after, sizeof(after));
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_msg(strncmp(l.v[0], before, 19) == 0 ||
                  strncmp(l.v[0], after, 19) == 0,
                  "stamp of '%s' is not local time %s", l.v[0], before);
    free(l.buf);
}
END_TEST

START_TEST(test_log_long_message_is_truncated_with_ellipsis)
{
    char *big = malloc(10001);
    struct lines l;

    memset(big, 'x', 10000);
    big[10000] = '\0';
    log_error("%s", big);
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 1);
    const char *text = strstr(l.v[0], "hostd: ") + strlen("hostd: ");
    ck_assert_uint_eq(strlen(text), 4096);
    ck_assert_msg(ends_with(text, "xxx..."), "%s", text + 4000);
    free(l.buf);
    free(big);
}
END_TEST

START_TEST(test_log_truncation_does_not_split_a_utf8_character)
{
    /* 2-byte characters from offset 0: byte 4093, where "..." would go,
     * is the second half of one. */
    char big[6001];
    struct lines l;

    for (size_t i = 0; i + 2 <= 6000; i += 2)
        memcpy(big + i, "\xc3\xa9", 2);
    big[5999] = '\0';
    log_error("%s", big);
    read_lines(logpath, &l);
    const char *text = strstr(l.v[0], "hostd: ") + strlen("hostd: ");
    ck_assert_msg(ends_with(text, "\xc3\xa9..."), "%s", text + 4080);
    free(l.buf);
}
END_TEST

START_TEST(test_log_debug_is_hidden_at_verbosity_0)
{
    struct lines l;

    log_debug("per file detail");
    log_info("remote up");
    log_warning("retrying");
    log_error("visible");
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_msg(ends_with(l.v[0], "[V0] hostd: visible"), "%s", l.v[0]);
    free(l.buf);
}
END_TEST

START_TEST(test_log_debug_is_shown_at_verbosity_10)
{
    struct lines l;

    log_set_verbosity(10);
    log_debug("per file detail");
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_msg(ends_with(l.v[0], "[V10] hostd: per file detail"), "%s",
                  l.v[0]);
    free(l.buf);
}
END_TEST

START_TEST(test_log_info_needs_verbosity_3)
{
    struct lines l;

    log_set_verbosity(2);
    log_info("hidden");
    log_warning("shown");
    log_set_verbosity(3);
    log_info("now shown");
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_msg(ends_with(l.v[0], "[V1] hostd: shown"), "%s", l.v[0]);
    ck_assert_msg(ends_with(l.v[1], "[V3] hostd: now shown"), "%s", l.v[1]);
    free(l.buf);
}
END_TEST

START_TEST(test_log_verbosity_is_clamped_to_0_10)
{
    log_set_verbosity(99);
    ck_assert_int_eq(log_get_verbosity(), 10);
    log_set_verbosity(-4);
    ck_assert_int_eq(log_get_verbosity(), 0);
}
END_TEST

START_TEST(test_log_repeats_are_folded_into_one_count)
{
    struct lines l;

    log_error("connect to dmz1 failed");
    log_error("connect to dmz1 failed");
    log_error("connect to dmz1 failed");
    log_error("connect to dmz2 failed");
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 3);
    ck_assert_msg(ends_with(l.v[0], "[V0] hostd: connect to dmz1 failed"),
                  "%s", l.v[0]);
    ck_assert_msg(ends_with(l.v[1], " testhost [V0] hostd: last message "
                            "repeated 2 times"), "%s", l.v[1]);
    ck_assert_msg(ends_with(l.v[2], "[V0] hostd: connect to dmz2 failed"),
                  "%s", l.v[2]);
    free(l.buf);
}
END_TEST

START_TEST(test_log_flush_writes_pending_repeat_count)
{
    struct lines l;

    log_write(PANDORA_LOG_ERROR, "syncserver", "disk full");
    log_write(PANDORA_LOG_ERROR, "syncserver", "disk full");
    log_write(PANDORA_LOG_ERROR, "syncserver", "disk full");
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 1);
    free(l.buf);
    log_flush();
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_msg(ends_with(l.v[1], "[V0] syncserver: last message repeated "
                            "2 times"), "%s", l.v[1]);
    free(l.buf);
    log_flush();
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 2);
    free(l.buf);
}
END_TEST

START_TEST(test_log_same_text_from_other_origin_is_not_folded)
{
    struct lines l;

    log_set_verbosity(1);
    log_write(PANDORA_LOG_ERROR, "alpha", "timeout");
    log_write(PANDORA_LOG_ERROR, "beta", "timeout");
    log_write(PANDORA_LOG_WARNING, "beta", "timeout");
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 3);
    free(l.buf);
}
END_TEST

START_TEST(test_log_embedded_newline_cannot_forge_a_line)
{
    struct lines l;

    log_write(PANDORA_LOG_ERROR, "syncserver", "remote said: %s",
              "no\n2026-01-01 00:00:00 testhost [V0] hostd: forged\r");
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_msg(ends_with(l.v[0], "remote said: no?2026-01-01 00:00:00 "
                            "testhost [V0] hostd: forged?"), "%s", l.v[0]);
    free(l.buf);
}
END_TEST

START_TEST(test_log_control_bytes_become_question_marks_but_tab_stays)
{
    struct lines l;

    log_error("a\tb\x1b[2Jc\x7f" "d\n");
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_msg(ends_with(l.v[0], "hostd: a\tb?[2Jc?d"), "%s", l.v[0]);
    free(l.buf);
}
END_TEST

START_TEST(test_log_open_bad_path_fails_and_keeps_old_destination)
{
    struct pandora_error err = { "" };
    struct lines l;
    char *bad = NULL;

    ck_assert_int_ge(asprintf(&bad, "%s/no/such/dir/hostd.log", dir), 0);
    ck_assert_int_lt(log_open(bad, &err), 0);
    ck_assert_msg(strstr(err.text, bad) != NULL, "%s", err.text);
    log_error("still here");
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_msg(ends_with(l.v[0], "hostd: still here"), "%s", l.v[0]);
    free(l.buf);
    free(bad);
}
END_TEST

START_TEST(test_log_file_is_created_0640_and_appended_to)
{
    struct pandora_error err = { "" };
    struct stat sb;
    struct lines l;
    char *path = NULL;

    umask(022);
    ck_assert_int_ge(asprintf(&path, "%s/new.log", dir), 0);
    tu_write(dir, "old.log", "earlier line\n");
    ck_assert_msg(log_open(path, &err) == 0, "%s", err.text);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 07777, 0640);
    free(path);
    ck_assert_int_ge(asprintf(&path, "%s/old.log", dir), 0);
    ck_assert_msg(log_open(path, &err) == 0, "%s", err.text);
    log_error("appended");
    read_lines(path, &l);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_str_eq(l.v[0], "earlier line");
    ck_assert_msg(ends_with(l.v[1], "hostd: appended"), "%s", l.v[1]);
    free(l.buf);
    free(path);
}
END_TEST

START_TEST(test_log_reopen_after_rotation_writes_to_new_file)
{
    struct pandora_error err = { "" };
    struct lines l;
    char *rotated = NULL;

    ck_assert_int_ge(asprintf(&rotated, "%s.1", logpath), 0);
    log_error("before rotation");
    log_error("before rotation");
    ck_assert_int_eq(rename(logpath, rotated), 0);
    ck_assert_msg(log_open(logpath, &err) == 0, "%s", err.text);
    log_error("after rotation");
    read_lines(rotated, &l);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_msg(ends_with(l.v[1], "last message repeated 1 time"), "%s",
                  l.v[1]);
    free(l.buf);
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_msg(ends_with(l.v[0], "hostd: after rotation"), "%s", l.v[0]);
    free(l.buf);
    free(rotated);
}
END_TEST

/* log_to_stderr_file - point stderr at a new file `name` in dir, set
 * JOURNAL_STREAM to that file's "<device>:<inode>" (or to a stream that is
 * not it), go back to the stderr destination, write one line per level,
 * restore stderr; the file's lines in l */
static void log_to_stderr_file(const char *name, bool journal,
                               struct lines *l)
{
    char *path = NULL;
    char env[64];
    struct stat sb;

    ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &sb), 0);
    snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)sb.st_dev,
             (unsigned long long)sb.st_ino + (journal ? 0 : 1));
    ck_assert_int_eq(setenv("JOURNAL_STREAM", env, 1), 0);
    int saved = dup(STDERR_FILENO);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    log_close();                /* to stderr: the journal is looked for */
    log_set_verbosity(10);
    log_error("disk full");
    log_write(PANDORA_LOG_WARNING, "syncserver", "remote %s is slow", "dmz1");
    log_info("started");
    log_debug("detail");
    log_flush();
    ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    close(fd);
    unsetenv("JOURNAL_STREAM");
    read_lines(path, l);
    free(path);
}

START_TEST(test_log_journal_stream_gets_priorities_and_no_stamp)
{
    struct lines l;

    log_to_stderr_file("journal", true, &l);
    ck_assert_uint_eq(l.n, 4);
    ck_assert_str_eq(l.v[0], "<3>testhost [V0] hostd: disk full");
    ck_assert_str_eq(l.v[1], "<4>testhost [V1] syncserver: remote dmz1 is "
                     "slow");
    ck_assert_str_eq(l.v[2], "<6>testhost [V3] hostd: started");
    ck_assert_str_eq(l.v[3], "<7>testhost [V10] hostd: detail");
    free(l.buf);
}
END_TEST

START_TEST(test_log_stderr_that_is_not_the_journal_keeps_stamps)
{
    struct lines l;
    regex_t re;

    compile(&re);
    log_to_stderr_file("not-journal", false, &l);
    ck_assert_uint_eq(l.n, 4);
    for (size_t i = 0; i < l.n; i++)
        ck_assert_msg(matches(&re, l.v[i]), "%s", l.v[i]);
    regfree(&re);
    free(l.buf);
}
END_TEST

#define WRITERS 4
#define LINES_EACH 500

/* writer - many distinct lines, so none are folded */
static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;

    for (int i = 0; i < LINES_EACH; i++)
        log_write(PANDORA_LOG_ERROR, "writer", "thread %d line %d padding "
                  "%0200d", id, i, i);
    return NULL;
}

START_TEST(test_log_concurrent_writers_keep_lines_intact)
{
    pthread_t th[WRITERS];
    int next[WRITERS] = { 0 };
    struct lines l;
    regex_t re;

    compile(&re);
    for (int i = 0; i < WRITERS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, writer,
                                        (void *)(intptr_t)i), 0);
    for (int i = 0; i < WRITERS; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, WRITERS * LINES_EACH);
    for (size_t i = 0; i < l.n; i++) {
        int id = -1, n = -1;
        ck_assert_msg(matches(&re, l.v[i]), "line %zu: %s", i, l.v[i]);
        const char *text = strstr(l.v[i], "writer: ");
        ck_assert_ptr_nonnull(text);
        ck_assert_int_eq(sscanf(text, "writer: thread %d line %d", &id, &n),
                         2);
        ck_assert(id >= 0 && id < WRITERS);
        ck_assert_int_eq(n, next[id]);  /* each thread's lines in order */
        next[id]++;
    }
    regfree(&re);
    free(l.buf);
}
END_TEST

START_TEST(test_log_fatal_writes_line_then_exits_1)
{
    struct lines l;
    int status = 0;

    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        log_fatal("cannot go on: %s", "state_dir is gone");
        _exit(42);              /* not reached */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 1);
    read_lines(logpath, &l);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_msg(ends_with(l.v[0], "[V0] hostd: cannot go on: state_dir is "
                            "gone"), "%s", l.v[0]);
    free(l.buf);
}
END_TEST

static TCase *log_tcase(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    return tc;
}

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc;

    tc = log_tcase("format");
    tcase_add_test(tc, test_log_line_has_pandora_format);
    tcase_add_test(tc, test_log_stamp_is_local_time);
    tcase_add_test(tc, test_log_long_message_is_truncated_with_ellipsis);
    tcase_add_test(tc, test_log_truncation_does_not_split_a_utf8_character);
    suite_add_tcase(s, tc);

    tc = log_tcase("verbosity");
    tcase_add_test(tc, test_log_debug_is_hidden_at_verbosity_0);
    tcase_add_test(tc, test_log_debug_is_shown_at_verbosity_10);
    tcase_add_test(tc, test_log_info_needs_verbosity_3);
    tcase_add_test(tc, test_log_verbosity_is_clamped_to_0_10);
    suite_add_tcase(s, tc);

    tc = log_tcase("repeats");
    tcase_add_test(tc, test_log_repeats_are_folded_into_one_count);
    tcase_add_test(tc, test_log_flush_writes_pending_repeat_count);
    tcase_add_test(tc, test_log_same_text_from_other_origin_is_not_folded);
    suite_add_tcase(s, tc);

    tc = log_tcase("injection");
    tcase_add_test(tc, test_log_embedded_newline_cannot_forge_a_line);
    tcase_add_test(tc,
                   test_log_control_bytes_become_question_marks_but_tab_stays);
    suite_add_tcase(s, tc);

    tc = log_tcase("destination");
    tcase_add_test(tc, test_log_open_bad_path_fails_and_keeps_old_destination);
    tcase_add_test(tc, test_log_file_is_created_0640_and_appended_to);
    tcase_add_test(tc, test_log_reopen_after_rotation_writes_to_new_file);
    suite_add_tcase(s, tc);

    tc = log_tcase("journal");
    tcase_add_test(tc, test_log_journal_stream_gets_priorities_and_no_stamp);
    tcase_add_test(tc, test_log_stderr_that_is_not_the_journal_keeps_stamps);
    suite_add_tcase(s, tc);

    tc = log_tcase("threads");
    tcase_add_test(tc, test_log_concurrent_writers_keep_lines_intact);
    suite_add_tcase(s, tc);

    tc = log_tcase("fatal");
    tcase_add_test(tc, test_log_fatal_writes_line_then_exits_1);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(log_suite());
}
