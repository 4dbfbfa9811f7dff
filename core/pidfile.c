/* pidfile.c - one pandora_hostd per pid file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "error.h"
#include "io.h"
#include "pidfile.h"
#include "xalloc.h"

struct pidfile {
    char *path;
    int fd;
};

int pidfile_rewrite(struct pidfile *pf)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

    if (ftruncate(pf->fd, 0) < 0 || lseek(pf->fd, 0, SEEK_SET) < 0)
        return -errno;
    return io_write_all(pf->fd, buf, (size_t)n);
}

int pidfile_create(const char *path, struct pidfile **pf_r,
                   struct pandora_error *error_r)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

    if (fd < 0)
        return error_sys(error_r, -errno,
                         "cannot open pid file %s; check pid_file in "
                         "pandora_hostd.conf", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char buf[32] = "";
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        close(fd);
        return error_set(error_r, -EEXIST,
                         "another pandora_hostd (pid %s) holds %s; stop it "
                         "first or give this one another pid_file",
                         buf[0] ? buf : "unknown", path);
    }
    struct pidfile *pf = xcalloc(1, sizeof(*pf));
    pf->path = xstrdup(path);
    pf->fd = fd;
    int rc = pidfile_rewrite(pf);
    if (rc < 0) {
        error_sys(error_r, rc, "cannot write pid file %s", path);
        pidfile_remove(pf);
        return rc;
    }
    *pf_r = pf;
    return 0;
}

void pidfile_remove(struct pidfile *pf)
{
    if (pf == NULL)
        return;
    unlink(pf->path);
    close(pf->fd);
    free(pf->path);
    free(pf);
}
