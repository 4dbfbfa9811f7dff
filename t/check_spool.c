/* check_spool.c - the spool: safe names, whole-or-nothing delivery, no
 * overwrite, subdirectories, stale temporaries, group commit and staging,
 * a crash mid-write, back-pressure and state file replacement. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "spool.h"
#include "testutil.h"

/* The Pandora data server reads exactly these names. */
#define DATA_PATTERN "^.*[._][0-9]+\\.data$"
#define TAG "remote1"
#define STAGED SPOOL_STAGED_DIR "/" TAG
#define AGENT_TS 1732440000
#define POLL_STEPS 10000        /* x 1 ms: bound for waiting on the child */

static char *dir;
static struct spool *sp;

/* setup - a fresh directory opened as the spool */
static void setup(void)
{
    struct pandora_error err = { "" };

    dir = tu_tmpdir();
    ck_assert_msg(spool_open(dir, &sp, &err) == 0, "%s", err.text);
}

static void teardown(void)
{
    spool_close(sp);
    sp = NULL;
    tu_rmtree(dir);
    free(dir);
}

/* path - dir/rel in a malloc'd string */
static char *path(const char *rel)
{
    char *p = NULL;

    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, rel), 0);
    return p;
}

/* deliver_text - spool_deliver of a C string */
static int deliver_text(const char *subdir, const char *name, const char *text,
                        time_t mtime, struct pandora_error *err)
{
    int fd = tu_fd_with(text, strlen(text));
    int rc = spool_deliver(sp, subdir, name, fd, mtime, err);

    close(fd);
    return rc;
}

/* add_text - spool_batch_add of a C string; the test fails on an error */
static void add_text(struct pandora_spool_batch *b, const char *name,
                     const char *text, time_t mtime)
{
    struct pandora_error err = { "" };
    int fd = tu_fd_with(text, strlen(text));

    ck_assert_msg(spool_batch_add(b, name, fd, mtime, &err) == 0, "%s",
                  err.text);
    close(fd);
}

/* open_batch - a batch on the fixture spool; the test fails on an error */
static struct pandora_spool_batch *open_batch(const char *subdir)
{
    struct pandora_error err = { "" };
    struct pandora_spool_batch *b = NULL;

    ck_assert_msg(spool_batch_open(sp, subdir, TAG, &b, &err) == 0, "%s",
                  err.text);
    ck_assert_ptr_nonnull(b);
    return b;
}

/* assert_content - dir/rel holds exactly text */
static void assert_content(const char *rel, const char *text)
{
    char *got = tu_read(dir, rel);

    ck_assert_msg(got != NULL, "%s/%s is missing", dir, rel);
    ck_assert_str_eq(got, text);
    free(got);
}

/* mtime_of - the mtime of dir/rel */
static time_t mtime_of(const char *rel)
{
    struct stat st;
    char *p = path(rel);

    ck_assert_msg(stat(p, &st) == 0, "cannot stat %s", p);
    free(p);
    return st.st_mtime;
}

/* count_matching - entries of d whose names match the extended regex re */
static unsigned count_matching(const char *d, const char *re)
{
    regex_t rx;
    DIR *dp = opendir(d);
    struct dirent *de;
    unsigned n = 0;

    ck_assert_ptr_nonnull(dp);
    ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    while ((de = readdir(dp)) != NULL)
        n += regexec(&rx, de->d_name, 0, NULL, 0) == 0;
    regfree(&rx);
    closedir(dp);
    return n;
}

/* names - what spool_staged_list reported, and spool_batch_publish's rcs */
struct names {
    unsigned n;
    char name[16][64];
    int rc[16];
    unsigned ok, other;
};

/* names_add - pandora_spool_staged_fn recording the name */
static void names_add(void *data, const char *name)
{
    struct names *ns = data;

    ck_assert_uint_lt(ns->n, 16);
    snprintf(ns->name[ns->n++], sizeof(ns->name[0]), "%s", name);
}

/* names_result - pandora_spool_result_fn counting and recording results */
static void names_result(void *data, const char *name, int rc)
{
    struct names *ns = data;

    if (rc == 0)
        ns->ok++;
    else
        ns->other++;
    if (ns->n < 16) {
        ns->rc[ns->n] = rc;
        names_add(data, name);
    }
}

/* names_rc - the rc recorded for name (fails if it was not reported) */
static int names_rc(const struct names *ns, const char *name)
{
    for (unsigned i = 0; i < ns->n; i++)
        if (strcmp(ns->name[i], name) == 0)
            return ns->rc[i];
    ck_abort_msg("%s was not reported", name);
    return 0;
}

/* ------------------------------------------------------------------------
 * names
 */

static const char *const unsafe_names[] = {
    "a/b",
    "../x",
    "..",
    ".",
    ".hidden.1.data",
    SPOOL_TMP_PREFIX "0123456789abcdef",
    SPOOL_STAGED_DIR,
    "ctl\x01.1.data",
    "tab\t.1.data",
    "new\nline.1.data",
    "del\x7f.1.data",
    "q?.1.data",
    "open[.1.data",
    "close].1.data",
    "back\\slash.1.data",
    "eq=.1.data",
    "plus+.1.data",
    "lt<.1.data",
    "gt>.1.data",
    "co:lon.1.data",
    "semi;.1.data",
    "quo'te.1.data",
    "com,ma.1.data",
    "st*r.1.data",
    "til~de.1.data",
    "",
    "\xff\xfe.1.data",          /* not UTF-8 at all */
    "\xc0\xaf.1.data",          /* overlong '/' */
    "\xed\xa0\x80.1.data",      /* UTF-16 surrogate */
    "cut\xe2\x82",              /* truncated sequence */
    NULL,                       /* 256 bytes, built below */
};
#define N_UNSAFE (sizeof(unsafe_names) / sizeof(unsafe_names[0]))

START_TEST(test_spool_refuses_unsafe_name_without_writing)
{
    struct pandora_error err = { "" };
    char long_name[257];
    const char *name = unsafe_names[_i];

    if (name == NULL) {
        memset(long_name, 'a', 256);
        memcpy(long_name + 256 - 7, ".1.data", 7);
        long_name[256] = '\0';
        name = long_name;
    }
    ck_assert(!spool_name_is_safe(name));
    ck_assert_int_eq(deliver_text(NULL, name, "x", 0, &err), -EINVAL);
    ck_assert_msg(strstr(err.text, "refusing") != NULL, "%s", err.text);
    ck_assert_uint_eq(tu_count(dir, ""), 0);
}
END_TEST

START_TEST(test_spool_refuses_name_with_dotdot)
{
    struct pandora_error err = { "" };

    ck_assert_int_eq(deliver_text("conf", "..", "x", 0, &err), -EINVAL);
    ck_assert_int_eq(deliver_text("conf", "../../escape.1.data", "x", 0, &err),
                     -EINVAL);
    ck_assert_uint_eq(tu_count(dir, ""), 0);
}
END_TEST

START_TEST(test_spool_refuses_null_name)
{
    struct pandora_error err = { "" };

    ck_assert(!spool_name_is_safe(NULL));
    ck_assert_int_eq(deliver_text(NULL, NULL, "x", 0, &err), -EINVAL);
    ck_assert_msg(strstr(err.text, "(null)") != NULL, "%s", err.text);
}
END_TEST

static const char *const safe_names[] = {
    "web01.1732440000.data",
    "agent with spaces.1732440000.data",
    /* ñandú-日本 */
    "\xc3\xb1" "and\xc3\xba-\xe6\x97\xa5\xe6\x9c\xac.2.data",
    "emoji\xf0\x9f\x98\x80.3.data",
    "a..b.4.data",
    "x",
    "odd-but_fine%20#!@$&().data",
    NULL,                       /* 255 bytes, built below */
};
#define N_SAFE (sizeof(safe_names) / sizeof(safe_names[0]))

START_TEST(test_spool_accepts_safe_name)
{
    struct pandora_error err = { "" };
    char long_name[256];
    const char *name = safe_names[_i];

    if (name == NULL) {
        memset(long_name, 'a', 255);
        memcpy(long_name + 255 - 7, ".1.data", 7);
        long_name[255] = '\0';
        name = long_name;
    }
    ck_assert(spool_name_is_safe(name));
    ck_assert_msg(deliver_text(NULL, name, "payload", 0, &err) == 0, "%s",
                  err.text);
    assert_content(name, "payload");
}
END_TEST

/* ------------------------------------------------------------------------
 * delivery
 */

START_TEST(test_spool_delivers_identical_bytes)
{
    struct pandora_error err = { "" };
    const size_t len = 1024 * 1024 + 123;
    unsigned char *want = malloc(len);
    struct stat st;

    for (size_t i = 0; i < len; i++)
        want[i] = (unsigned char)(i * 7 + i / 251); /* NULs included */
    int fd = tu_fd_with(want, len);
    ck_assert_msg(spool_deliver(sp, NULL, "big.1.data", fd, 0, &err) == 0,
                  "%s", err.text);
    close(fd);

    char *p = path("big.1.data");
    fd = open(p, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)len);
    unsigned char *got = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    ck_assert(got != MAP_FAILED);
    ck_assert(memcmp(got, want, len) == 0);
    munmap(got, len);
    close(fd);
    free(p);
    free(want);
}
END_TEST

START_TEST(test_spool_delivers_from_source_offset_to_eof)
{
    struct pandora_error err = { "" };
    int fd = tu_fd_with("HEADER<xml/>", 12);

    ck_assert_int_eq(lseek(fd, 6, SEEK_SET), 6);
    ck_assert_msg(spool_deliver(sp, NULL, "a.1.data", fd, 0, &err) == 0, "%s",
                  err.text);
    close(fd);
    assert_content("a.1.data", "<xml/>");
}
END_TEST

START_TEST(test_spool_sets_requested_mtime_and_atime)
{
    struct pandora_error err = { "" };
    struct stat st;

    ck_assert_msg(deliver_text(NULL, "a.1.data", "x", AGENT_TS, &err) == 0,
                  "%s", err.text);
    char *p = path("a.1.data");
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mtime, AGENT_TS);
    ck_assert_int_eq(st.st_atime, AGENT_TS);
    free(p);
}
END_TEST

START_TEST(test_spool_keeps_write_time_when_mtime_is_zero)
{
    struct pandora_error err = { "" };
    time_t before = time(NULL);

    ck_assert_msg(deliver_text(NULL, "a.1.data", "x", 0, &err) == 0, "%s",
                  err.text);
    /* one second of slack for the filesystem's coarse clock */
    ck_assert_int_ge(mtime_of("a.1.data"), before - 1);
}
END_TEST

START_TEST(test_spool_never_overwrites_waiting_file)
{
    struct pandora_error err = { "" };

    tu_write(dir, "a.1.data", "original");
    ck_assert_int_eq(deliver_text(NULL, "a.1.data", "newer", 0, &err),
                     -EEXIST);
    ck_assert_msg(strstr(err.text, "a.1.data") != NULL, "%s", err.text);
    assert_content("a.1.data", "original");
    ck_assert_uint_eq(tu_count(dir, ""), 1);
}
END_TEST

static const char *const known_subdirs[] = { "conf", "md5", "collections",
                                             "commands" };

START_TEST(test_spool_creates_known_subdir_on_demand)
{
    struct pandora_error err = { "" };
    const char *sub = known_subdirs[_i];
    struct stat st;
    char *rel = NULL;

    ck_assert(!tu_exists(dir, sub));
    ck_assert_msg(deliver_text(sub, "web01.conf", "conf text", 0, &err) == 0,
                  "%s", err.text);
    char *p = path(sub);
    ck_assert_int_eq(lstat(p, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_ge(asprintf(&rel, "%s/web01.conf", sub), 0);
    assert_content(rel, "conf text");
    ck_assert_uint_eq(tu_count(p, ""), 1);
    ck_assert(!tu_exists(dir, "web01.conf"));
    free(rel);
    free(p);
}
END_TEST

START_TEST(test_spool_refuses_unknown_subdir)
{
    static const char *const bad[] = { "tmp", "", "../conf", "conf/..",
                                       "CONF", "conf/", "/etc" };
    struct pandora_error err = { "" };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(deliver_text(bad[i], "a.1.data", "x", 0, &err),
                         -EINVAL);
        ck_assert_msg(strstr(err.text, "subdirectory") != NULL, "%s",
                      err.text);
    }
    ck_assert_uint_eq(tu_count(dir, ""), 0);
}
END_TEST

START_TEST(test_spool_leaves_no_temporary_after_success)
{
    struct pandora_error err = { "" };

    ck_assert_int_eq(deliver_text(NULL, "a.1.data", "a", 0, &err), 0);
    ck_assert_int_eq(deliver_text(NULL, "b.2.data", "b", 0, &err), 0);
    ck_assert_int_eq(deliver_text("md5", "web01.md5", "c", 0, &err), 0);
    ck_assert_uint_eq(tu_count(dir, "."), 0);
    char *p = path("md5");
    ck_assert_uint_eq(tu_count(p, "."), 0);
    free(p);
    ck_assert_uint_eq(tu_count(dir, ""), 3);
}
END_TEST

START_TEST(test_spool_leaves_nothing_after_read_failure)
{
    struct pandora_error err = { "" };
    int fd = open("/dev/null", O_WRONLY); /* reading it fails: EBADF */

    ck_assert_int_ge(fd, 0);
    int rc = spool_deliver(sp, NULL, "a.1.data", fd, AGENT_TS, &err);
    close(fd);
    ck_assert_int_eq(rc, -EBADF);
    ck_assert_msg(strstr(err.text, "a.1.data") != NULL, "%s", err.text);
    ck_assert_uint_eq(tu_count(dir, ""), 0);
}
END_TEST

/* deliver_many - thread body: 20 deliveries into md5 */
static void *deliver_many(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg, failed = 0;

    for (unsigned i = 0; i < 20; i++) {
        char name[64];
        int len = snprintf(name, sizeof(name), "agent%u-%u.md5", id, i);
        int fd = tu_fd_with(name, (size_t)len);
        failed += spool_deliver(sp, "md5", name, fd, 0, NULL) != 0;
        close(fd);
    }
    return (void *)(uintptr_t)failed;
}

START_TEST(test_spool_concurrent_deliveries_into_new_subdir_all_land)
{
    pthread_t th[8];

    for (unsigned i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, deliver_many,
                                        (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < 8; i++) {
        void *failed;
        ck_assert_int_eq(pthread_join(th[i], &failed), 0);
        ck_assert_uint_eq((uintptr_t)failed, 0);
    }
    char *p = path("md5");
    ck_assert_uint_eq(tu_count(p, "agent"), 160);
    ck_assert_uint_eq(tu_count(p, ""), 160);
    free(p);
    assert_content("md5/agent3-7.md5", "agent3-7.md5");
}
END_TEST

/* ------------------------------------------------------------------------
 * open
 */

START_TEST(test_spool_open_refuses_missing_dir_with_hint)
{
    struct pandora_error err = { "" };
    struct spool *s = NULL;
    char *p = path("missing");

    ck_assert_int_eq(spool_open(p, &s, &err), -ENOENT);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.text, p) != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "set incomingdir") != NULL, "%s", err.text);
    free(p);
}
END_TEST

START_TEST(test_spool_open_refuses_plain_file)
{
    struct pandora_error err = { "" };
    struct spool *s = NULL;
    char *p = path("file");

    tu_write(dir, "file", "x");
    ck_assert_int_eq(spool_open(p, &s, &err), -ENOTDIR);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.text, p) != NULL, "%s", err.text);
    free(p);
}
END_TEST

START_TEST(test_spool_open_refuses_read_only_dir)
{
    struct pandora_error err = { "" };
    struct spool *s = NULL;
    char *p = path("ro");

    if (geteuid() == 0) {
        free(p);
        return;                 /* root may write anywhere: nothing to see */
    }
    ck_assert_int_eq(mkdir(p, 0555), 0);
    ck_assert_int_eq(spool_open(p, &s, &err), -EACCES);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.text, p) != NULL, "%s", err.text);
    chmod(p, 0755);
    free(p);
}
END_TEST

START_TEST(test_spool_dir_is_the_opened_path)
{
    struct pandora_error err = { "" };
    struct spool *s = NULL;
    char *slash = NULL;

    ck_assert_str_eq(spool_dir(sp), dir);
    ck_assert_int_ge(asprintf(&slash, "%s/", dir), 0);
    ck_assert_int_eq(spool_open(slash, &s, &err), 0);
    ck_assert_str_eq(spool_dir(s), dir);
    spool_close(s);
    spool_close(NULL);
    free(slash);
}
END_TEST

/* ------------------------------------------------------------------------
 * stale temporaries
 */

START_TEST(test_spool_clean_dir_stale_cleans_an_interrupted_state_save)
{
    struct pandora_error err = { "" };
    unsigned removed = 99;

    tu_write(dir, "seen.state", "old");
    tu_write(dir, SPOOL_TMP_PREFIX "0123456789abcdef", "half a new state");
    ck_assert_msg(spool_clean_dir_stale(dir, &removed, &err) == 0, "%s",
                  err.text);
    ck_assert_uint_eq(removed, 1);
    ck_assert(!tu_exists(dir, SPOOL_TMP_PREFIX "0123456789abcdef"));
    assert_content("seen.state", "old");
}
END_TEST

START_TEST(test_spool_clean_stale_removes_only_own_temporaries)
{
    struct pandora_error err = { "" };
    unsigned removed = 99;
    char *p;

    tu_write(dir, SPOOL_TMP_PREFIX "0123456789abcdef", "partial");
    ck_assert_int_eq(mkdir((p = path("conf")), 0750), 0);
    free(p);
    tu_write(dir, "conf/" SPOOL_TMP_PREFIX "aaaa", "partial");
    ck_assert_int_eq(mkdir((p = path("commands")), 0750), 0);
    free(p);
    tu_write(dir, "commands/" SPOOL_TMP_PREFIX "bbbb", "partial");
    /* not ours, or not temporaries: all must stay */
    static const char *const keep[] = {
        ".hidden", ".pandora-tmpish", "a.1.data", "x" SPOOL_TMP_PREFIX "1",
        "conf/web01.conf", STAGED "/b.2.data", STAGED "/" SPOOL_TMP_PREFIX "c",
        "other/" SPOOL_TMP_PREFIX "d",
    };
    ck_assert_int_eq(mkdir((p = path(SPOOL_STAGED_DIR)), 0750), 0);
    free(p);
    ck_assert_int_eq(mkdir((p = path(STAGED)), 0750), 0);
    free(p);
    ck_assert_int_eq(mkdir((p = path("other")), 0750), 0);
    free(p);
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        tu_write(dir, keep[i], "keep");
    ck_assert_int_eq(mkdir((p = path(SPOOL_TMP_PREFIX "dir")), 0750), 0);
    free(p);
    ck_assert_int_eq(symlink("a.1.data", (p = path(SPOOL_TMP_PREFIX "ln"))),
                     0);
    free(p);

    ck_assert_msg(spool_clean_stale(sp, &removed, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(removed, 3);
    ck_assert(!tu_exists(dir, SPOOL_TMP_PREFIX "0123456789abcdef"));
    ck_assert(!tu_exists(dir, "conf/" SPOOL_TMP_PREFIX "aaaa"));
    ck_assert(!tu_exists(dir, "commands/" SPOOL_TMP_PREFIX "bbbb"));
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        assert_content(keep[i], "keep");
    ck_assert(tu_exists(dir, SPOOL_TMP_PREFIX "dir"));
    ck_assert(tu_exists(dir, SPOOL_TMP_PREFIX "ln"));
}
END_TEST

START_TEST(test_spool_clean_stale_on_clean_dir_removes_nothing)
{
    struct pandora_error err = { "" };
    unsigned removed = 99;

    tu_write(dir, "a.1.data", "x");
    ck_assert_msg(spool_clean_stale(sp, &removed, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(removed, 0);
    ck_assert_uint_eq(tu_count(dir, ""), 1); /* no subdir created either */
}
END_TEST

/* ------------------------------------------------------------------------
 * batches
 */

START_TEST(test_spool_batch_publishes_all_with_few_flushes)
{
    struct pandora_error err = { "" };
    struct pandora_spool_batch *b = open_batch(NULL);
    struct names res = { 0 };
    char name[64], text[64];

    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "agent%03d.%d.data", i, AGENT_TS + i);
        snprintf(text, sizeof(text), "<agent_data n=\"%d\"/>", i);
        add_text(b, name, text, 0);
    }
    ck_assert_msg(spool_batch_publish(b, names_result, &res, &err) == 0, "%s",
                  err.text);
    /* group commit: a constant handful of flushes, not one per file (that
     * needs syncfs); and at least one for the data, one for the directory */
#ifdef HAVE_SYNCFS
    ck_assert_uint_le(spool_batch_flushes(b), 4);
#endif
    ck_assert_uint_ge(spool_batch_flushes(b), 2);
    spool_batch_close(b);

    ck_assert_uint_eq(res.ok, 100);
    ck_assert_uint_eq(res.other, 0);
    ck_assert_uint_eq(count_matching(dir, DATA_PATTERN), 100);
    for (int i = 0; i < 100; i += 33) {
        snprintf(name, sizeof(name), "agent%03d.%d.data", i, AGENT_TS + i);
        snprintf(text, sizeof(text), "<agent_data n=\"%d\"/>", i);
        assert_content(name, text);
    }
    ck_assert_uint_eq(tu_count(dir, SPOOL_TMP_PREFIX), 0);
    char *p = path(STAGED);
    ck_assert_uint_eq(tu_count(p, ""), 0);
    free(p);
}
END_TEST

START_TEST(test_spool_batch_temporaries_never_match_data_pattern)
{
    struct pandora_spool_batch *b = open_batch(NULL);

    add_text(b, "a.1.data", "a", 0);
    add_text(b, "b_2.data", "b", 0);
    add_text(b, "c.3.data", "c", 0);
    ck_assert_uint_eq(count_matching(dir, DATA_PATTERN), 0);
    ck_assert_uint_eq(count_matching(dir, "^\\.pandora-tmp\\.[0-9a-f]{16}$"),
                      3);
    ck_assert_uint_eq(tu_count(dir, ""), 3);
    spool_batch_close(b);
}
END_TEST

START_TEST(test_spool_batch_close_without_stage_removes_temporaries)
{
    struct pandora_spool_batch *b = open_batch(NULL);

    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof(name), "a.%d.data", i);
        add_text(b, name, "x", 0);
    }
    ck_assert_uint_eq(tu_count(dir, SPOOL_TMP_PREFIX), 5);
    spool_batch_close(b);
    ck_assert_uint_eq(tu_count(dir, ""), 0);
    spool_batch_close(NULL);
}
END_TEST

START_TEST(test_spool_batch_staged_files_survive_close_and_are_listed)
{
    struct pandora_error err = { "" };
    struct pandora_spool_batch *b = open_batch(NULL);
    struct names listed = { 0 };

    add_text(b, "c.3.data", "ccc", 0);
    add_text(b, "a.1.data", "aaa", 0);
    add_text(b, "b.2.data", "bbb", 0);
    ck_assert_msg(spool_batch_stage(b, &err) == 0, "%s", err.text);
    spool_batch_close(b);

    ck_assert_uint_eq(count_matching(dir, DATA_PATTERN), 0);
    ck_assert_uint_eq(tu_count(dir, SPOOL_TMP_PREFIX), 0);
    assert_content(STAGED "/b.2.data", "bbb");
    ck_assert_int_eq(spool_staged_list(sp, NULL, TAG, names_add, &listed,
                                       &err), 0);
    ck_assert_uint_eq(listed.n, 3);
    ck_assert_str_eq(listed.name[0], "a.1.data");
    ck_assert_str_eq(listed.name[1], "b.2.data");
    ck_assert_str_eq(listed.name[2], "c.3.data");
}
END_TEST

START_TEST(test_spool_staged_publish_and_discard_finish_recovery)
{
    struct pandora_error err = { "" };
    struct pandora_spool_batch *b = open_batch("collections");
    struct names listed = { 0 };

    add_text(b, "fc_1.zip", "zip one", 0);
    add_text(b, "fc_2.zip", "zip two", 0);
    ck_assert_msg(spool_batch_stage(b, &err) == 0, "%s", err.text);
    spool_batch_close(b);

    ck_assert_msg(spool_staged_publish(sp, "collections", TAG, "fc_1.zip",
                                       AGENT_TS, &err) == 0, "%s", err.text);
    assert_content("collections/fc_1.zip", "zip one");
    ck_assert_int_eq(mtime_of("collections/fc_1.zip"), AGENT_TS);
    ck_assert_msg(spool_staged_discard(sp, "collections", TAG, "fc_2.zip",
                                       &err) == 0, "%s", err.text);
    ck_assert(!tu_exists(dir, "collections/fc_2.zip"));
    ck_assert_int_eq(spool_staged_list(sp, "collections", TAG, names_add,
                                       &listed, &err), 0);
    ck_assert_uint_eq(listed.n, 0);
    ck_assert_int_eq(spool_staged_discard(sp, "collections", TAG, "fc_2.zip",
                                          &err), -ENOENT);
}
END_TEST

START_TEST(test_spool_staged_publish_never_overwrites)
{
    struct pandora_error err = { "" };
    struct pandora_spool_batch *b = open_batch(NULL);

    add_text(b, "a.1.data", "staged", 0);
    ck_assert_msg(spool_batch_stage(b, &err) == 0, "%s", err.text);
    spool_batch_close(b);
    tu_write(dir, "a.1.data", "waiting");
    ck_assert_int_eq(spool_staged_publish(sp, NULL, TAG, "a.1.data", 0, &err),
                     -EEXIST);
    assert_content("a.1.data", "waiting");
    assert_content(STAGED "/a.1.data", "staged");
}
END_TEST

START_TEST(test_spool_batch_publish_reports_eexist_and_publishes_others)
{
    struct pandora_error err = { "" };
    struct pandora_spool_batch *b = open_batch(NULL);
    struct names res = { 0 };
    struct names listed = { 0 };

    tu_write(dir, "b.2.data", "waiting");
    add_text(b, "a.1.data", "a", 0);
    add_text(b, "b.2.data", "newer b", 0);
    add_text(b, "c.3.data", "c", 0);
    ck_assert_msg(spool_batch_publish(b, names_result, &res, &err) == 0, "%s",
                  err.text);
    ck_assert_uint_eq(res.n, 3);
    ck_assert_int_eq(names_rc(&res, "a.1.data"), 0);
    ck_assert_int_eq(names_rc(&res, "b.2.data"), -EEXIST);
    ck_assert_int_eq(names_rc(&res, "c.3.data"), 0);
    spool_batch_close(b);

    assert_content("a.1.data", "a");
    assert_content("b.2.data", "waiting");
    assert_content("c.3.data", "c");
    ck_assert_int_eq(spool_staged_list(sp, NULL, TAG, names_add, &listed,
                                       &err), 0);
    ck_assert_uint_eq(listed.n, 1);
    ck_assert_str_eq(listed.name[0], "b.2.data");
    assert_content(STAGED "/b.2.data", "newer b");
}
END_TEST

START_TEST(test_spool_batch_applies_mtime_given_at_add)
{
    struct pandora_error err = { "" };
    struct pandora_spool_batch *b = open_batch(NULL);

    add_text(b, "a.1732440000.data", "a", AGENT_TS);
    add_text(b, "b.1732440100.data", "b", AGENT_TS + 100);
    ck_assert_msg(spool_batch_publish(b, NULL, NULL, &err) == 0, "%s",
                  err.text);
    spool_batch_close(b);
    ck_assert_int_eq(mtime_of("a.1732440000.data"), AGENT_TS);
    ck_assert_int_eq(mtime_of("b.1732440100.data"), AGENT_TS + 100);
}
END_TEST

START_TEST(test_spool_batch_refuses_unsafe_tag_name_and_duplicate)
{
    struct pandora_error err = { "" };
    struct pandora_spool_batch *b = NULL;
    int fd = tu_fd_with("x", 1);

    ck_assert_int_eq(spool_batch_open(sp, NULL, "../up", &b, &err), -EINVAL);
    ck_assert_int_eq(spool_batch_open(sp, NULL, ".pandora-x", &b, &err),
                     -EINVAL);
    ck_assert_int_eq(spool_batch_open(sp, "spool", TAG, &b, &err), -EINVAL);
    ck_assert_ptr_null(b);
    b = open_batch(NULL);
    ck_assert_int_eq(spool_batch_add(b, "a/b.1.data", fd, 0, &err), -EINVAL);
    add_text(b, "a.1.data", "x", 0);
    ck_assert_int_eq(spool_batch_add(b, "a.1.data", fd, 0, &err), -EEXIST);
    ck_assert_uint_eq(tu_count(dir, SPOOL_TMP_PREFIX), 1);
    spool_batch_close(b);
    close(fd);
    ck_assert_uint_eq(tu_count(dir, ""), 0);
}
END_TEST

START_TEST(test_spool_staged_calls_refuse_unsafe_tag_and_name)
{
    struct pandora_error err = { "" };
    struct names listed = { 0 };

    ck_assert_int_eq(spool_staged_list(sp, NULL, "..", names_add, &listed,
                                       &err), -EINVAL);
    ck_assert_int_eq(spool_staged_list(sp, NULL, "a/b", names_add, &listed,
                                       &err), -EINVAL);
    ck_assert_int_eq(spool_staged_publish(sp, NULL, TAG, "../../x.1.data", 0,
                                          &err), -EINVAL);
    ck_assert_int_eq(spool_staged_publish(sp, NULL, "..", "a.1.data", 0, &err),
                     -EINVAL);
    ck_assert_int_eq(spool_staged_discard(sp, NULL, TAG, "../a.1.data", &err),
                     -EINVAL);
    ck_assert_int_eq(spool_staged_discard(sp, NULL, "", "a.1.data", &err),
                     -EINVAL);
    ck_assert_uint_eq(listed.n, 0);
}
END_TEST

START_TEST(test_spool_staged_list_of_unknown_tag_is_empty)
{
    struct pandora_error err = { "" };
    struct names listed = { 0 };

    ck_assert_int_eq(spool_staged_list(sp, NULL, "never", names_add, &listed,
                                       &err), 0);
    ck_assert_uint_eq(listed.n, 0);
    ck_assert_int_eq(spool_staged_publish(sp, NULL, "never", "a.1.data", 0,
                                          &err), -ENOENT);
    ck_assert_msg(strstr(err.text, "a.1.data") != NULL, "%s", err.text);
}
END_TEST

/* ------------------------------------------------------------------------
 * crash
 */

/* child_fd - a memory file holding text, at offset 0 (-1 on error) */
static int child_fd(const char *text)
{
    int fd = memfd_create("src", MFD_CLOEXEC);

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
        lseek(fd, 0, SEEK_SET) != 0)
        return -1;
    return fd;
}

/* crash_child - publish one file, stage two, leave one temporary, then block
 * in the middle of delivering from the pipe until killed. Never returns. */
static void crash_child(int pipe_fd)
{
    struct pandora_spool_batch *b = NULL;

    if (spool_deliver(sp, NULL, "done.1.data", child_fd("complete"), 0,
                      NULL) != 0)
        _exit(2);
    if (spool_batch_open(sp, NULL, TAG, &b, NULL) != 0 ||
        spool_batch_add(b, "a.2.data", child_fd("aaa"), 0, NULL) != 0 ||
        spool_batch_add(b, "b.3.data", child_fd("bbb"), 0, NULL) != 0 ||
        spool_batch_stage(b, NULL) != 0 ||
        spool_batch_add(b, "c.4.data", child_fd("ccc"), 0, NULL) != 0)
        _exit(3);
    spool_deliver(sp, NULL, "partial.5.data", pipe_fd, 0, NULL);
    _exit(4);                   /* the parent kills us before EOF */
}

/* temp_of_size - is there a temporary of exactly size bytes in dir? */
static bool temp_of_size(off_t size)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    bool found = false;

    ck_assert_ptr_nonnull(dp);
    while (!found && (de = readdir(dp)) != NULL) {
        struct stat st;
        if (strncmp(de->d_name, SPOOL_TMP_PREFIX,
                    strlen(SPOOL_TMP_PREFIX)) == 0 &&
            fstatat(dirfd(dp), de->d_name, &st, 0) == 0 && st.st_size == size)
            found = true;
    }
    closedir(dp);
    return found;
}

/* wait_for_partial_write - poll (bounded) until the child has written the
 * first half of its pipe delivery; fails if the child died first */
static void wait_for_partial_write(pid_t pid, off_t size)
{
    const struct timespec ms = { 0, 1000000 };
    int status;

    for (int i = 0; i < POLL_STEPS; i++) {
        if (temp_of_size(size))
            return;
        ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0,
                      "the child exited early (status %d)", status);
        nanosleep(&ms, NULL);
    }
    ck_abort_msg("the child never wrote %lld bytes", (long long)size);
}

START_TEST(test_spool_crash_mid_write_leaves_no_partial_data_file)
{
    struct pandora_error err = { "" };
    struct names listed = { 0 };
    char half[1000];
    unsigned removed = 0;
    int p[2], status;

    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[1]);
        crash_child(p[0]);
    }
    close(p[0]);
    memset(half, 'x', sizeof(half));
    ck_assert_int_eq(write(p[1], half, sizeof(half)), (ssize_t)sizeof(half));
    wait_for_partial_write(pid, sizeof(half));
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(p[1]);

    /* only the complete file carries a name the data server reads */
    ck_assert_uint_eq(count_matching(dir, DATA_PATTERN), 1);
    assert_content("done.1.data", "complete");
    ck_assert_uint_eq(tu_count(dir, SPOOL_TMP_PREFIX), 2);
    ck_assert_int_eq(spool_staged_list(sp, NULL, TAG, names_add, &listed,
                                       &err), 0);
    ck_assert_uint_eq(listed.n, 2);
    ck_assert_str_eq(listed.name[0], "a.2.data");
    ck_assert_str_eq(listed.name[1], "b.3.data");

    ck_assert_msg(spool_clean_stale(sp, &removed, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(removed, 2);
    ck_assert_uint_eq(tu_count(dir, SPOOL_TMP_PREFIX), 0);
    ck_assert_msg(spool_staged_publish(sp, NULL, TAG, "a.2.data", 0, &err) == 0,
                  "%s", err.text);
    assert_content("a.2.data", "aaa");
    assert_content(STAGED "/b.3.data", "bbb");
}
END_TEST

/* ------------------------------------------------------------------------
 * back-pressure
 */

START_TEST(test_spool_pressure_counts_waiting_data_files)
{
    struct pandora_error err = { "" };
    struct pandora_spool_state st = { 99, 0 };
    char *p;

    tu_write(dir, "a.1.data", "x");
    tu_write(dir, "b_2.data", "x");
    tu_write(dir, "notes.txt", "x");
    tu_write(dir, SPOOL_TMP_PREFIX "0123", "x");
    tu_write(dir, ".c.3.data", "x");
    ck_assert_int_eq(mkdir((p = path("d.4.data")), 0750), 0);
    free(p);
    ck_assert_int_eq(symlink("a.1.data", (p = path("e.5.data"))), 0);
    free(p);
    ck_assert_int_eq(spool_pressure(sp, NULL, &st, &err), 0);
    ck_assert_uint_eq(st.data_files, 2);
    ck_assert_uint_gt(st.free_mib, 0);
    ck_assert_int_eq(spool_pressure(sp, NULL, NULL, &err), 0);
}
END_TEST

/* without a queue limit nothing needs the count: the directory (maybe
 * thousands of files) is not read, only the free space */
START_TEST(test_spool_pressure_without_queue_limit_does_not_count)
{
    struct pandora_error err = { "" };
    struct pandora_spool_state st = { 99, 0 };
    const struct pandora_spool_limits off = { 0, 0 };

    tu_write(dir, "a.1.data", "x");
    ck_assert_int_eq(spool_pressure(sp, &off, &st, &err), 0);
    ck_assert_uint_eq(st.data_files, 0);
    ck_assert_uint_gt(st.free_mib, 0);
}
END_TEST

START_TEST(test_spool_pressure_says_not_now_at_queue_limit)
{
    struct pandora_error err = { "" };
    struct pandora_spool_state st = { 0 };
    const struct pandora_spool_limits lim = { .queue_limit = 3 };

    tu_write(dir, "a.1.data", "x");
    tu_write(dir, "b.2.data", "x");
    ck_assert_msg(spool_pressure(sp, &lim, &st, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(st.data_files, 2);
    tu_write(dir, "c.3.data", "x");
    ck_assert_int_eq(spool_pressure(sp, &lim, &st, &err), -EAGAIN);
    ck_assert_uint_eq(st.data_files, 3);
    ck_assert_msg(strstr(err.text, dir) != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_spool_pressure_says_not_now_below_min_free_space)
{
    struct pandora_error err = { "" };
    struct pandora_spool_state st = { 0 };
    const struct pandora_spool_limits huge = { .min_free_mib = UINT64_MAX };
    const struct pandora_spool_limits tiny = { .min_free_mib = 1 };

    ck_assert_int_eq(spool_pressure(sp, &huge, &st, &err), -EAGAIN);
    ck_assert_uint_gt(st.free_mib, 0);
    ck_assert_uint_lt(st.free_mib, UINT64_MAX);
    ck_assert_msg(spool_pressure(sp, &tiny, &st, &err) == 0, "%s", err.text);
}
END_TEST

/* ------------------------------------------------------------------------
 * state files
 */

START_TEST(test_spool_replace_file_swaps_in_a_new_file)
{
    struct pandora_error err = { "" };
    char *old = path("state"), *held = path("held");

    tu_write(dir, "state", "old state");
    ck_assert_int_eq(link(old, held), 0);
    ck_assert_msg(spool_replace_file(dir, "state", "new state", 9, &err) == 0,
                  "%s", err.text);
    assert_content("state", "new state");
    /* a reader holding the old file saw it whole: it was replaced by a
     * rename, not rewritten in place */
    assert_content("held", "old state");
    ck_assert_uint_eq(tu_count(dir, "."), 0);
    ck_assert_msg(spool_replace_file(dir, "fresh", "", 0, &err) == 0, "%s",
                  err.text);
    assert_content("fresh", "");
    free(old);
    free(held);
}
END_TEST

START_TEST(test_spool_replace_file_refuses_unsafe_name_and_missing_dir)
{
    struct pandora_error err = { "" };
    char *missing = path("missing");

    ck_assert_int_eq(spool_replace_file(dir, "../state", "x", 1, &err),
                     -EINVAL);
    ck_assert_int_eq(spool_replace_file(missing, "state", "x", 1, &err),
                     -ENOENT);
    ck_assert_msg(strstr(err.text, missing) != NULL, "%s", err.text);
    ck_assert_uint_eq(tu_count(dir, ""), 0);
    free(missing);
}
END_TEST

/* add_case - a TCase with the fixture and a timeout */
static TCase *add_case(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

/* spool_suite - one TCase per aspect */
static Suite *spool_suite(void)
{
    Suite *s = suite_create("spool");
    TCase *tc = add_case(s, "names", 10);

    tcase_add_loop_test(tc, test_spool_refuses_unsafe_name_without_writing, 0,
                        N_UNSAFE);
    tcase_add_test(tc, test_spool_refuses_name_with_dotdot);
    tcase_add_test(tc, test_spool_refuses_null_name);
    tcase_add_loop_test(tc, test_spool_accepts_safe_name, 0, N_SAFE);

    tc = add_case(s, "delivery", 20);
    tcase_add_test(tc, test_spool_delivers_identical_bytes);
    tcase_add_test(tc, test_spool_delivers_from_source_offset_to_eof);
    tcase_add_test(tc, test_spool_sets_requested_mtime_and_atime);
    tcase_add_test(tc, test_spool_keeps_write_time_when_mtime_is_zero);
    tcase_add_test(tc, test_spool_never_overwrites_waiting_file);
    tcase_add_loop_test(tc, test_spool_creates_known_subdir_on_demand, 0, 4);
    tcase_add_test(tc, test_spool_refuses_unknown_subdir);
    tcase_add_test(tc, test_spool_leaves_no_temporary_after_success);
    tcase_add_test(tc, test_spool_leaves_nothing_after_read_failure);
    tcase_add_test(tc,
                   test_spool_concurrent_deliveries_into_new_subdir_all_land);

    tc = add_case(s, "open", 10);
    tcase_add_test(tc, test_spool_open_refuses_missing_dir_with_hint);
    tcase_add_test(tc, test_spool_open_refuses_plain_file);
    tcase_add_test(tc, test_spool_open_refuses_read_only_dir);
    tcase_add_test(tc, test_spool_dir_is_the_opened_path);

    tc = add_case(s, "stale", 10);
    tcase_add_test(tc, test_spool_clean_stale_removes_only_own_temporaries);
    tcase_add_test(tc, test_spool_clean_stale_on_clean_dir_removes_nothing);
    tcase_add_test(tc,
                   test_spool_clean_dir_stale_cleans_an_interrupted_state_save);

    tc = add_case(s, "batch", 20);
    tcase_add_test(tc, test_spool_batch_publishes_all_with_few_flushes);
    tcase_add_test(tc, test_spool_batch_temporaries_never_match_data_pattern);
    tcase_add_test(tc,
                   test_spool_batch_close_without_stage_removes_temporaries);
    tcase_add_test(tc,
                   test_spool_batch_staged_files_survive_close_and_are_listed);
    tcase_add_test(tc, test_spool_staged_publish_and_discard_finish_recovery);
    tcase_add_test(tc, test_spool_staged_publish_never_overwrites);
    tcase_add_test(
        tc, test_spool_batch_publish_reports_eexist_and_publishes_others);
    tcase_add_test(tc, test_spool_batch_applies_mtime_given_at_add);
    tcase_add_test(tc, test_spool_batch_refuses_unsafe_tag_name_and_duplicate);
    tcase_add_test(tc, test_spool_staged_calls_refuse_unsafe_tag_and_name);
    tcase_add_test(tc, test_spool_staged_list_of_unknown_tag_is_empty);

    tc = add_case(s, "crash", 30);
    tcase_add_test(tc, test_spool_crash_mid_write_leaves_no_partial_data_file);

    tc = add_case(s, "pressure", 10);
    tcase_add_test(tc, test_spool_pressure_counts_waiting_data_files);
    tcase_add_test(tc, test_spool_pressure_without_queue_limit_does_not_count);
    tcase_add_test(tc, test_spool_pressure_says_not_now_at_queue_limit);
    tcase_add_test(tc, test_spool_pressure_says_not_now_below_min_free_space);

    tc = add_case(s, "state", 10);
    tcase_add_test(tc, test_spool_replace_file_swaps_in_a_new_file);
    tcase_add_test(tc,
                   test_spool_replace_file_refuses_unsafe_name_and_missing_dir);
    return s;
}

int main(void)
{
    return tu_run_suite(spool_suite());
}
