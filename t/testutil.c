/* testutil.c - helpers for the Check suites. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;

    if (base == NULL || *base == '\0')
        base = "/tmp";
    ck_assert_int_ge(asprintf(&path, "%s/pandora-test.XXXXXX", base), 0);
    ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp %s failed", path);
    return path;
}

static int tu_rm_one(const char *path, const struct stat *sb, int flag,
                     struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void tu_rmtree(const char *dir)
{
    if (dir != NULL)
        nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tu_path(const char *dir, const char *name)
{
    char *p = NULL;

    if (dir == NULL)
        return strdup(name);
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

void tu_write(const char *dir, const char *name, const char *text)
{
    char *p = tu_path(dir, name);
    FILE *f = fopen(p, "w");

    ck_assert_msg(f != NULL, "cannot write %s", p);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    free(p);
}

char *tu_read(const char *dir, const char *name)
{
    char *p = tu_path(dir, name);
    FILE *f = fopen(p, "r");
    char *buf = NULL;
    size_t len = 0;

    free(p);
    if (f == NULL)
        return NULL;
    FILE *m = open_memstream(&buf, &len);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, m);
    fclose(m);
    fclose(f);
    return buf;
}

bool tu_exists(const char *dir, const char *name)
{
    char *p = tu_path(dir, name);
    struct stat sb;
    bool ok = lstat(p, &sb) == 0;

    free(p);
    return ok;
}

unsigned tu_count(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    unsigned n = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            n++;
    }
    closedir(d);
    return n;
}

int tu_fd_with(const void *data, size_t len)
{
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "src");
    int fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);

    ck_assert_int_ge(fd, 0);
    unlink(p);
    rmdir(dir);
    free(p);
    free(dir);
    for (size_t off = 0; off < len;) {
        char chunk[4096];
        size_t n = len - off < sizeof(chunk) ? len - off : sizeof(chunk);
        if (data != NULL)
            memcpy(chunk, (const char *)data + off, n);
        else
            for (size_t i = 0; i < n; i++)
                chunk[i] = (char)('a' + (off + i) % 26);
        ck_assert_int_eq(write(fd, chunk, n), (ssize_t)n);
        off += n;
    }
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

int tu_run_suite(Suite *suite)
{
    SRunner *sr = srunner_create(suite);

    srunner_run_all(sr, CK_ENV);
    int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (run == 0)
        return 99;
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
