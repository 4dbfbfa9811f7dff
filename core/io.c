/* io.c - careful file helpers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "io.h"
#include "xalloc.h"

int io_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int io_copy_fd(int src, int dst)
{
    char buf[65536];

    for (;;) {
        ssize_t n = read(src, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return 0;
        int rc = io_write_all(dst, buf, (size_t)n);
        if (rc < 0)
            return rc;
    }
}

/* io_read_fd - read an open file into a growing buffer, bounded by max */
static int io_read_fd(int fd, size_t max, char **buf_r, size_t *len_r)
{
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap + 1);

    for (;;) {
        if (len == cap) {
            if (cap >= max) {
                free(buf);
                return -EFBIG;
            }
            cap = cap * 2 > max ? max : cap * 2;
            buf = xrealloc(buf, cap + 1);
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int rc = -errno;
            free(buf);
            return rc;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *buf_r = buf;
    if (len_r != NULL)
        *len_r = len;
    return 0;
}

int io_read_file(const char *path, size_t max, char **buf_r, size_t *len_r,
                 struct pandora_error *error_r)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return error_sys(error_r, -errno, "cannot open %s", path);
    int rc = io_read_fd(fd, max, buf_r, len_r);
    close(fd);
    if (rc == -EFBIG)
        return error_set(error_r, rc, "%s is larger than %zu bytes", path, max);
    if (rc < 0)
        return error_sys(error_r, rc, "cannot read %s", path);
    return 0;
}

int io_mkdir_p(const char *dir, mode_t mode, struct pandora_error *error_r)
{
    char *path = xstrdup(dir);
    int rc = 0;

    for (char *p = path + 1; rc == 0; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, mode) < 0 && errno != EEXIST)
            rc = error_sys(error_r, -errno, "cannot create directory %s", path);
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(path);
    return rc;
}
