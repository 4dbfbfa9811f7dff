/* check_ss_confsync.c - the pure parts of config sync: the push order
 * (.conf, .zip, .rcmd, then .md5), the per-remote push state's text (round
 * trip, canonical form, garbage), change detection by size, mtime and
 * inode (with the racy-write rule), content hashes and agent keys. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pushstate.h"
#include "testutil.h"

#define HASH_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define HASH_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define KEY_WEB01 "2f527604e1deff1329720282d8d3cfa1"

/* ---- order --------------------------------------------------------------- */

START_TEST(test_pushstate_order_puts_md5_after_conf_zip_rcmd)
{
    static const struct {
        enum ps_kind kind;
        const char *name;
    } added[] = {
        { PS_MD5, "b.md5" }, { PS_CONF, "b.conf" }, { PS_MD5, "a.md5" },
        { PS_RCMD, "x.rcmd" }, { PS_ZIP, "c.zip" }, { PS_CONF, "a.conf" },
        { PS_MD5, "c.md5" },
    };
    static const char *const want[] = { "a.conf", "b.conf", "c.zip", "x.rcmd",
                                        "a.md5", "b.md5", "c.md5" };
    struct pushstate *ps = pushstate_new();
    size_t n = 0;

    for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++)
        ck_assert_ptr_nonnull(pushstate_add(ps, added[i].kind, added[i].name));
    ck_assert_int_eq(pushstate_seen_key(ps, KEY_WEB01), 0);
    struct ps_entry **v = pushstate_entries(ps, &n);
    ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0])); /* no seen keys */
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(v[i]->name, want[i]);
    free(v);
    pushstate_free(ps);
}
END_TEST

START_TEST(test_pushstate_sort_keeps_every_md5_last_in_any_input_order)
{
    struct pushstate *ps = pushstate_new();
    struct ps_entry *v[400];
    size_t n = 0;
    char name[32];

    for (unsigned i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "agent%03u.md5", (i * 37) % 100);
        v[n++] = pushstate_add(ps, PS_MD5, name);
        snprintf(name, sizeof(name), "agent%03u.conf", (i * 53) % 100);
        v[n++] = pushstate_add(ps, PS_CONF, name);
        snprintf(name, sizeof(name), "c%03u.zip", i);
        v[n++] = pushstate_add(ps, i % 2 ? PS_ZIP : PS_RCMD, name);
    }
    pushstate_sort(v, n);
    bool md5 = false;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(!md5 || v[i]->kind == PS_MD5, "%s after an md5",
                      v[i]->name);
        md5 = v[i]->kind == PS_MD5;
        if (i > 0 && v[i]->kind == v[i - 1]->kind)
            ck_assert_int_lt(strcmp(v[i - 1]->name, v[i]->name), 0);
    }
    ck_assert(md5);
    pushstate_free(ps);
}
END_TEST

/* ---- the state file --------------------------------------------------------- */

/* fill - a state with every field set somewhere */
static struct pushstate *fill(void)
{
    struct pushstate *ps = pushstate_new();
    struct ps_entry *e;

    e = pushstate_add(ps, PS_CONF, KEY_WEB01 ".conf");
    memcpy(e->remote, HASH_ABC, PS_HEX);
    memcpy(e->local, HASH_ABC, PS_HEX);
    e->id = (struct ps_id){ .size = 1432, .ino = 77, .mtime_s = 1764000000,
                            .mtime_ns = 123456789 };
    e->id_ok = true;
    e = pushstate_add(ps, PS_ZIP, " lead and inner space.zip");
    memcpy(e->local, HASH_EMPTY, PS_HEX);
    e->attempted = true;
    e->noted = 'm';
    e = pushstate_add(ps, PS_MD5, "waiting.md5");
    e->listed = 1764000100;
    e = pushstate_add(ps, PS_RCMD, "tombstone.rcmd");
    memcpy(e->remote, HASH_EMPTY, PS_HEX);
    e->present = e->rlisted = e->unreadable = true; /* never saved */
    pushstate_seen_key(ps, KEY_WEB01);
    return ps;
}

START_TEST(test_pushstate_round_trip_keeps_every_field)
{
    struct pushstate *ps = fill(), *back = pushstate_new();
    size_t len = 0, len2 = 0;
    bool changed = false;
    char *text = pushstate_dump(ps, &len, &changed);

    ck_assert(changed);
    pushstate_load(back, text, len);
    char *again = pushstate_dump(back, &len2, &changed);
    ck_assert(!changed); /* same text as loaded */
    ck_assert_uint_eq(len, len2);
    ck_assert_mem_eq(text, again, len);

    struct ps_entry *e = pushstate_find(back, PS_CONF, KEY_WEB01 ".conf");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->remote, HASH_ABC);
    ck_assert_str_eq(e->local, HASH_ABC);
    ck_assert_uint_eq(e->id.size, 1432);
    ck_assert_uint_eq(e->id.ino, 77);
    ck_assert_int_eq(e->id.mtime_s, 1764000000);
    ck_assert_int_eq(e->id.mtime_ns, 123456789);
    ck_assert(e->id_ok && !e->attempted && e->noted == 0);
    e = pushstate_find(back, PS_ZIP, " lead and inner space.zip");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->remote, "");
    ck_assert_str_eq(e->local, HASH_EMPTY);
    ck_assert(e->attempted && !e->id_ok);
    ck_assert_int_eq(e->noted, 'm');
    e = pushstate_find(back, PS_MD5, "waiting.md5");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->listed, 1764000100);
    e = pushstate_find(back, PS_RCMD, "tombstone.rcmd");
    ck_assert_ptr_nonnull(e);
    ck_assert(!e->present && !e->rlisted && !e->unreadable);
    ck_assert(pushstate_seen(back, KEY_WEB01));
    ck_assert_ptr_null(pushstate_find(back, PS_MD5, KEY_WEB01 ".conf"));
    free(text);
    free(again);
    pushstate_free(ps);
    pushstate_free(back);
}
END_TEST

START_TEST(test_pushstate_dump_is_canonical_and_tells_changes)
{
    struct pushstate *ps = fill();
    size_t len = 0;
    bool changed = false;
    char *text = pushstate_dump(ps, &len, &changed);

    ck_assert(changed);
    pushstate_saved(ps, text, len); /* ps owns text now */
    free(pushstate_dump(ps, &len, &changed));
    ck_assert(!changed);
    pushstate_find(ps, PS_CONF, KEY_WEB01 ".conf")->attempted = true;
    text = pushstate_dump(ps, &len, &changed);
    ck_assert(changed);
    ck_assert_ptr_nonnull(strstr(text, " ia 0 " KEY_WEB01 ".conf\n"));
    /* an entry that says nothing is not written */
    pushstate_add(ps, PS_CONF, "nothing.conf")->rlisted = true;
    char *more = pushstate_dump(ps, &len, &changed);
    ck_assert_ptr_null(strstr(more, "nothing.conf"));
    ck_assert_str_eq(more, text);
    ck_assert(changed); /* against the saved text, not the last dump */
    free(text);
    free(more);
    pushstate_free(ps);
}
END_TEST

START_TEST(test_pushstate_load_skips_garbage_lines_and_other_formats)
{
    static const char good[] =
        "f c " HASH_ABC " - 1 2 3 4 - 0 ok.conf\n";
    static const char text[] =
        "confsync 1\n"
        "f c " HASH_ABC " - 1 2 3 4 - 0 ok.conf\n"
        "f q " HASH_ABC " - 1 2 3 4 - 0 badkind.conf\n"
        "f c ABC - 1 2 3 4 - 0 badhash.conf\n"
        "f c - - 1 2 3 4 - 0\n"
        "f c - - x 2 3 4 - 0 nonnum.conf\n"
        "s nothex\n"
        "s " KEY_WEB01 "\n"
        "junk\n"
        "f m " HASH_ABC " - 1 2 3 4 - 0 torn.md5"; /* no newline: torn */
    struct pushstate *ps = pushstate_new(), *other = pushstate_new();
    size_t n = 0;

    pushstate_load(ps, text, sizeof(text) - 1);
    struct ps_entry **v = pushstate_entries(ps, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(v[0]->name, "ok.conf");
    ck_assert_str_eq(v[0]->remote, HASH_ABC);
    ck_assert(pushstate_seen(ps, KEY_WEB01));
    ck_assert(!pushstate_seen(ps, "nothex"));
    free(v);
    /* without the header line it is another format: nothing is taken */
    pushstate_load(other, good, sizeof(good) - 1);
    ck_assert_ptr_null(pushstate_entries(other, &n));
    ck_assert_uint_eq(n, 0);
    pushstate_free(ps);
    pushstate_free(other);
}
END_TEST

/* ---- change detection ---------------------------------------------------------- */

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void set_mtime(const char *path, time_t s, long ns)
{
    struct timespec t[2] = { { s, ns }, { s, ns } };

    ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
}

static void stat_ok(const char *path, struct stat *st)
{
    ck_assert_int_eq(stat(path, st), 0);
}

START_TEST(test_pushstate_change_detection_by_size_mtime_and_inode)
{
    char *dir = tu_tmpdir(), path[512], other[512];
    struct pushstate *ps = pushstate_new();
    struct ps_entry *e = pushstate_add(ps, PS_CONF, "a.conf");
    struct stat st;
    time_t then = 1764000000, now = then + 60;

    snprintf(path, sizeof(path), "%s/a.conf", dir);
    snprintf(other, sizeof(other), "%s/b.conf", dir);
    put_file(path, "version 1\n");
    set_mtime(path, then, 5);
    stat_ok(path, &st);
    ck_assert(!pushstate_fresh(e, &st)); /* never hashed */
    pushstate_set_local(e, HASH_ABC, &st, now);
    ck_assert(pushstate_fresh(e, &st));

    /* same size, other content, other mtime */
    put_file(path, "version 2\n");
    set_mtime(path, then, 6);
    stat_ok(path, &st);
    ck_assert(!pushstate_fresh(e, &st));
    pushstate_set_local(e, HASH_ABC, &st, now);
    ck_assert(pushstate_fresh(e, &st));

    /* other size, mtime put back */
    put_file(path, "version 3, longer\n");
    set_mtime(path, then, 6);
    stat_ok(path, &st);
    ck_assert(!pushstate_fresh(e, &st));
    pushstate_set_local(e, HASH_ABC, &st, now);

    /* replaced by rename: same size and mtime, another inode */
    put_file(other, "version 4, longer\n");
    set_mtime(other, then, 6);
    ck_assert_int_eq(rename(other, path), 0);
    stat_ok(path, &st);
    ck_assert(!pushstate_fresh(e, &st));
    ck_assert(!pushstate_same_file(e, &st));
    tu_rmtree(dir);
    free(dir);
    pushstate_free(ps);
}
END_TEST

START_TEST(test_pushstate_recent_write_is_hashed_again)
{
    char *dir = tu_tmpdir(), path[512];
    struct pushstate *ps = pushstate_new();
    struct ps_entry *e = pushstate_add(ps, PS_MD5, "a.md5");
    struct stat st;
    time_t now = 1764000000;

    snprintf(path, sizeof(path), "%s/a.md5", dir);
    put_file(path, "abc");
    set_mtime(path, now - PS_RACY_S + 1, 0);
    stat_ok(path, &st);
    pushstate_set_local(e, HASH_ABC, &st, now);
    /* a second write in the same tick would keep size and mtime: not
     * trusted by stat, yet it is the file hashed within this visit */
    ck_assert(!pushstate_fresh(e, &st));
    ck_assert(pushstate_same_file(e, &st));
    pushstate_set_local(e, HASH_ABC, &st, now + PS_RACY_S);
    ck_assert(pushstate_fresh(e, &st));
    tu_rmtree(dir);
    free(dir);
    pushstate_free(ps);
}
END_TEST

START_TEST(test_pushstate_new_content_forgets_a_logged_refusal)
{
    struct pushstate *ps = pushstate_new();
    struct ps_entry *e = pushstate_add(ps, PS_ZIP, "big.zip");
    struct stat st = { 0 };

    pushstate_set_local(e, HASH_ABC, &st, 100);
    e->noted = 'm';
    pushstate_set_local(e, HASH_ABC, &st, 100);
    ck_assert_int_eq(e->noted, 'm'); /* same content: still logged once */
    pushstate_set_local(e, HASH_EMPTY, &st, 100);
    ck_assert_int_eq(e->noted, 0);
    pushstate_free(ps);
}
END_TEST

/* ---- hashes and agents --------------------------------------------------------- */

START_TEST(test_pushstate_hash_fd_is_sha256_from_the_offset)
{
    char hex[PS_HEX];
    int fd = tu_fd_with("xxabc", 5);

    ck_assert_int_eq(lseek(fd, 2, SEEK_SET), 2);
    ck_assert_int_eq(pushstate_hash_fd(fd, hex), 0);
    ck_assert_str_eq(hex, HASH_ABC);
    ck_assert_int_eq(pushstate_hash_fd(fd, hex), 0); /* at EOF: empty */
    ck_assert_str_eq(hex, HASH_EMPTY);
    close(fd);
    ck_assert_int_eq(pushstate_hash_fd(fd, hex), -EBADF);
}
END_TEST

START_TEST(test_pushstate_seen_agents_by_md5_of_their_name)
{
    struct pushstate *ps = pushstate_new();
    char key[PS_AGENT_HEX];
    const char *data = "web01.1764000000.data";

    ck_assert_int_eq(pushstate_agent_key("web01", 5, key), 0);
    ck_assert_str_eq(key, KEY_WEB01);
    ck_assert(!pushstate_seen(ps, KEY_WEB01));
    ck_assert_int_eq(pushstate_seen_agent(ps, data, 5), 0);
    ck_assert(pushstate_seen(ps, KEY_WEB01));
    ck_assert_int_eq(pushstate_seen_key(ps, "collection_1"), -EINVAL);
    ck_assert_int_eq(pushstate_seen_key(ps, "2F527604E1DEFF1329720282D8D3CFA1"),
                     -EINVAL);
    pushstate_free(ps);
}
END_TEST

START_TEST(test_pushstate_holds_many_entries)
{
    struct pushstate *ps = pushstate_new();
    char name[40];
    size_t n = 0;

    for (unsigned i = 0; i < 20000; i++) {
        snprintf(name, sizeof(name), "agent%05u.conf", i);
        ck_assert_ptr_nonnull(pushstate_add(ps, PS_CONF, name));
    }
    ck_assert_ptr_nonnull(pushstate_find(ps, PS_CONF, "agent12345.conf"));
    ck_assert_ptr_null(pushstate_find(ps, PS_MD5, "agent12345.conf"));
    free(pushstate_entries(ps, &n));
    ck_assert_uint_eq(n, 20000);
    pushstate_free(ps);
}
END_TEST

static Suite *confsync_suite(void)
{
    Suite *s = suite_create("ss_confsync");
    TCase *tc = tcase_create("order");

    tcase_add_test(tc, test_pushstate_order_puts_md5_after_conf_zip_rcmd);
    tcase_add_test(tc, test_pushstate_sort_keeps_every_md5_last_in_any_input_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("state");
    tcase_add_test(tc, test_pushstate_round_trip_keeps_every_field);
    tcase_add_test(tc, test_pushstate_dump_is_canonical_and_tells_changes);
    tcase_add_test(tc, test_pushstate_load_skips_garbage_lines_and_other_formats);
    tcase_add_test(tc, test_pushstate_holds_many_entries);
    suite_add_tcase(s, tc);

    tc = tcase_create("changes");
    tcase_add_test(tc, test_pushstate_change_detection_by_size_mtime_and_inode);
    tcase_add_test(tc, test_pushstate_recent_write_is_hashed_again);
    tcase_add_test(tc, test_pushstate_new_content_forgets_a_logged_refusal);
    suite_add_tcase(s, tc);

    tc = tcase_create("hashes");
    tcase_add_test(tc, test_pushstate_hash_fd_is_sha256_from_the_offset);
    tcase_add_test(tc, test_pushstate_seen_agents_by_md5_of_their_name);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(confsync_suite());
}
