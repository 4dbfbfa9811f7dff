/*
 * spool.c - the one place that writes into incomingdir (DESIGN.md 2.2).
 *
 * Every file is first written under a hidden ".pandora-tmp.<random>" name in
 * its final directory. The data server only reads names matching
 * ^.*[._]\d+\.data$, which a hidden name without a ".data" suffix never does,
 * so a half-written file is invisible to it. Only once the bytes are on disk
 * is the file renamed into place, never over a file that still awaits
 * ingestion, and the directory is flushed so the new name survives a crash.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "error.h"
#include "io.h"
#include "spool.h"
#include "xalloc.h"

#define SPOOL_NDIRS 5
#define SPOOL_RAND_BYTES 8
#define SPOOL_TMP_LEN (sizeof(SPOOL_TMP_PREFIX) + 2 * SPOOL_RAND_BYTES)
#define SPOOL_TMP_TRIES 16
#define SPOOL_SHOW_MAX 64
#define SPOOL_MIB (1024u * 1024u)

/* Slot 0 is incomingdir itself; the others are created when first used. */
static const char *const spool_subdirs[SPOOL_NDIRS] = {
    NULL, "conf", "md5", "collections", "commands",
};

static const char spool_bad_chars[] = "?[]/\\=+<>:;',*~";

struct spool {
    pthread_mutex_t lock;       /* guards the lazy opening of fds[1..] */
    int fds[SPOOL_NDIRS];       /* -1 until opened */
    char *paths[SPOOL_NDIRS];   /* for messages */
};

enum spool_tmp_flags {
    SPOOL_TMP_LAZY = 0,         /* the caller flushes later (batches) */
    SPOOL_TMP_SYNC = 1 << 0,    /* fsync before close */
};

enum batch_state { BATCH_TEMP, BATCH_STAGED, BATCH_DONE };

enum batch_new_dirs {
    BATCH_NEW_TOP = 1 << 0,     /* <dir>/.pandora-staged was just created */
    BATCH_NEW_TAG = 1 << 1,     /* <dir>/.pandora-staged/<tag> likewise */
};

struct batch_file {
    char tmp[SPOOL_TMP_LEN];
    char *name;
    enum batch_state state;
    int rc;                     /* this publish round's result */
};

struct pandora_spool_batch {
    int dirfd;                  /* borrowed from the spool */
    const char *path;           /* likewise */
    char *tag;
    int stagefd;                /* -1 until the first stage */
    unsigned new_dirs;          /* enum batch_new_dirs not yet flushed */
    unsigned flushes;
    struct batch_file *files;
    size_t n, cap;
};

/* spool_each_fn - called by spool_each() for every entry keep() accepts */
typedef void spool_each_fn(void *data, const char *name);
typedef bool spool_keep_fn(int dirfd, const struct dirent *de);

struct spool_names {
    char **v;
    size_t n, cap;
};

/* ------------------------------------------------------------------------
 * Names
 */

/* spool_utf8_valid - strict UTF-8: no overlong forms, surrogates or
 * code points above U+10FFFF */
static bool spool_utf8_valid(const unsigned char *s)
{
    while (*s != '\0') {
        unsigned c = *s, cp, min;
        size_t more;

        if (c < 0x80) {
            s++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            more = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        for (size_t i = 1; i <= more; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;   /* also stops at the terminating NUL */
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        s += more + 1;
    }
    return true;
}

bool spool_name_is_safe(const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '.')
        return false;
    if (strnlen(name, NAME_MAX + 1) > NAME_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || strchr(spool_bad_chars, *p) != NULL)
            return false;
    return spool_utf8_valid((const unsigned char *)name);
}

/* spool_show - a name fit for a log line: it may come from an untrusted
 * remote, so anything but printable ASCII becomes '?' and it is cut short */
static const char *spool_show(const char *name, char out[SPOOL_SHOW_MAX])
{
    size_t i = 0;

    if (name == NULL)
        return "(null)";
    for (; name[i] != '\0' && i < SPOOL_SHOW_MAX - 4; i++)
        out[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
    if (name[i] != '\0')
        out[i++] = '.', out[i++] = '.', out[i++] = '.';
    out[i] = '\0';
    return out;
}

/* spool_unsafe - the -EINVAL error for a refused file or tag name */
static int spool_unsafe(struct pandora_error *e, const char *what,
                        const char *name)
{
    char buf[SPOOL_SHOW_MAX];

    return error_set(e, -EINVAL,
                     "refusing %s name '%s': it must be 1 to 255 bytes of "
                     "UTF-8 without a leading '.', control bytes or any of "
                     "%s",
                     what, spool_show(name, buf), spool_bad_chars);
}

/* ------------------------------------------------------------------------
 * Temporaries and renames
 */

/* spool_random - len unpredictable bytes; /dev/urandom where getrandom is
 * missing or the kernel pool is not ready yet (early boot) */
static int spool_random(void *buf, size_t len)
{
    if (getrandom(buf, len, GRND_NONBLOCK) == (ssize_t)len)
        return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, len);
    int rc = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return rc;
}

/* spool_tmp_name - ".pandora-tmp." and 16 random hex digits */
static int spool_tmp_name(char tmp[SPOOL_TMP_LEN])
{
    unsigned char rnd[SPOOL_RAND_BYTES];
    int rc = spool_random(rnd, sizeof(rnd));

    if (rc < 0)
        return rc;
    size_t off = sizeof(SPOOL_TMP_PREFIX) - 1;
    memcpy(tmp, SPOOL_TMP_PREFIX, off);
    for (size_t i = 0; i < sizeof(rnd); i++, off += 2)
        snprintf(tmp + off, SPOOL_TMP_LEN - off, "%02x", rnd[i]);
    return 0;
}

/* spool_tmp_open - create a new temporary in dirfd; O_EXCL|O_NOFOLLOW so
 * that neither an existing file nor a planted symlink is ever written */
static int spool_tmp_open(int dirfd, char tmp[SPOOL_TMP_LEN], int *fd_r)
{
    for (int i = 0; i < SPOOL_TMP_TRIES; i++) {
        int rc = spool_tmp_name(tmp);
        if (rc < 0)
            return rc;
        int fd = openat(dirfd, tmp,
                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                        0640);
        if (fd >= 0) {
            *fd_r = fd;
            return 0;
        }
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* spool_tmp_write - a new temporary in dirfd holding src_fd's bytes from its
 * offset to EOF, with mtime (and atime) when non-zero; removed on failure */
static int spool_tmp_write(int dirfd, char tmp[SPOOL_TMP_LEN], int src_fd,
                           time_t mtime, enum spool_tmp_flags flags)
{
    int fd;
    int rc = spool_tmp_open(dirfd, tmp, &fd);

    if (rc < 0)
        return rc;
    rc = io_copy_fd(src_fd, fd);
    if (rc == 0 && mtime != 0) {
        const struct timespec ts[2] = { { .tv_sec = mtime },
                                        { .tv_sec = mtime } };
        /* before fsync, so the time is as durable as the bytes */
        if (futimens(fd, ts) < 0)
            rc = -errno;
    }
    if (rc == 0 && (flags & SPOOL_TMP_SYNC) && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;            /* late NFS write-back errors land here */
    if (rc < 0)
        unlinkat(dirfd, tmp, 0);
    return rc;
}

/* spool_rename_noreplace - move from/old to to/new, failing with -EEXIST
 * rather than replacing a file that still awaits ingestion */
static int spool_rename_noreplace(int from, const char *old, int to,
                                  const char *new)
{
#ifdef HAVE_RENAMEAT2
    if (renameat2(from, old, to, new, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    /* this kernel or filesystem has no RENAME_NOREPLACE: fall through */
#endif
    /* link() refuses an existing name just as atomically. Should the unlink
     * fail, the file is still published whole; a leftover temporary is
     * removed by spool_clean_stale() at the next start. */
    if (linkat(from, old, to, new, 0) < 0)
        return -errno;
    unlinkat(from, old, 0);
    return 0;
}

/* spool_mkdir_open - open dirfd/name as a directory, creating it (0750) if
 * missing; *created_r tells whether it was new */
static int spool_mkdir_open(int dirfd, const char *name, bool *created_r)
{
    *created_r = mkdirat(dirfd, name, 0750) == 0;
    if (!*created_r && errno != EEXIST)
        return -errno;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* ------------------------------------------------------------------------
 * Directory scans
 */

/* spool_each - call fn for each entry of dirfd that keep() accepts */
static int spool_each(int dirfd, spool_keep_fn *keep, spool_each_fn *fn,
                      void *data)
{
    /* a fresh descriptor: fdopendir() takes it over, with its own offset */
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    struct dirent *de;
    int rc = 0;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            rc = -errno;
            break;
        }
        if (keep(dirfd, de))
            fn(data, de->d_name);
    }
    closedir(d);
    return rc;
}

/* spool_is_regular - from d_type, or lstat where the filesystem gives none */
static bool spool_is_regular(int dirfd, const struct dirent *de)
{
    struct stat st;

    if (de->d_type != DT_UNKNOWN)
        return de->d_type == DT_REG;
    return fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(st.st_mode);
}

/* spool_keep_tmp - one of our temporaries */
static bool spool_keep_tmp(int dirfd, const struct dirent *de)
{
    return strncmp(de->d_name, SPOOL_TMP_PREFIX,
                   sizeof(SPOOL_TMP_PREFIX) - 1) == 0 &&
           spool_is_regular(dirfd, de);
}

/* spool_keep_staged - a staged file (its final, safe name) */
static bool spool_keep_staged(int dirfd, const struct dirent *de)
{
    return spool_name_is_safe(de->d_name) && spool_is_regular(dirfd, de);
}

/* spool_keep_data - a "*.data" file waiting for the data server */
static bool spool_keep_data(int dirfd, const struct dirent *de)
{
    size_t len = strlen(de->d_name);

    return de->d_name[0] != '.' && len > 5 &&
           strcmp(de->d_name + len - 5, ".data") == 0 &&
           spool_is_regular(dirfd, de);
}

/* spool_names_add - spool_each_fn collecting names */
static void spool_names_add(void *data, const char *name)
{
    struct spool_names *names = data;

    if (names->n == names->cap) {
        names->cap = names->cap ? names->cap * 2 : 16;
        names->v = xreallocarray(names->v, names->cap, sizeof(*names->v));
    }
    names->v[names->n++] = xstrdup(name);
}

/* spool_names_free - free what spool_names_add collected */
static void spool_names_free(struct spool_names *names)
{
    for (size_t i = 0; i < names->n; i++)
        free(names->v[i]);
    free(names->v);
}

/* spool_count_one - spool_each_fn counting entries */
static void spool_count_one(void *data, const char *name)
{
    (*(uint64_t *)data)++;
}

/* spool_cmp_names - qsort order for names */
static int spool_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ------------------------------------------------------------------------
 * The spool and its directories
 */

/* spool_open_error - why dir cannot be the spool, and what to do */
static int spool_open_error(const char *dir, int rc, struct pandora_error *e)
{
    if (rc == -ENOENT)
        return error_set(e, rc,
                         "incomingdir %s does not exist; create it or set "
                         "incomingdir in pandora_server.conf",
                         dir);
    if (rc == -ENOTDIR)
        return error_set(e, rc,
                         "incomingdir %s is not a directory; set incomingdir "
                         "in pandora_server.conf to a directory",
                         dir);
    return error_sys(e, rc,
                     "cannot use incomingdir %s (give the user running "
                     "pandora_hostd write access to it, or set incomingdir "
                     "in pandora_server.conf)",
                     dir);
}

int spool_open(const char *dir, struct spool **spool_r,
               struct pandora_error *error_r)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return spool_open_error(dir, -errno, error_r);
    if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0) {
        int rc = -errno;
        close(fd);
        return spool_open_error(dir, rc, error_r);
    }
    struct spool *sp = xcalloc(1, sizeof(*sp));
    pthread_mutex_init(&sp->lock, NULL);
    sp->paths[0] = xstrdup(dir);
    for (size_t len = strlen(dir); len > 1 && sp->paths[0][len - 1] == '/';)
        sp->paths[0][--len] = '\0';
    sp->fds[0] = fd;
    for (int i = 1; i < SPOOL_NDIRS; i++) {
        sp->fds[i] = -1;
        sp->paths[i] = xasprintf("%s/%s", sp->paths[0], spool_subdirs[i]);
    }
    *spool_r = sp;
    return 0;
}

void spool_close(struct spool *spool)
{
    if (spool == NULL)
        return;
    for (int i = 0; i < SPOOL_NDIRS; i++) {
        if (spool->fds[i] >= 0)
            close(spool->fds[i]);
        free(spool->paths[i]);
    }
    pthread_mutex_destroy(&spool->lock);
    free(spool);
}

const char *spool_dir(const struct spool *spool)
{
    return spool->paths[0];
}

/* spool_subdir_index - the slot of subdir (NULL: 0), -1 if unknown */
static int spool_subdir_index(const char *subdir)
{
    if (subdir == NULL)
        return 0;
    for (int i = 1; i < SPOOL_NDIRS; i++)
        if (strcmp(subdir, spool_subdirs[i]) == 0)
            return i;
    return -1;
}

/* spool_subdir_open - open slot i, creating the subdirectory (lock held) */
static int spool_subdir_open(struct spool *sp, int i, struct pandora_error *e)
{
    bool created;
    int fd = spool_mkdir_open(sp->fds[0], spool_subdirs[i], &created);

    if (fd < 0)
        return error_sys(e, fd,
                         "cannot create or open directory %s (it must be a "
                         "directory the host may write)",
                         sp->paths[i]);
    /* the new entry must be durable before any file is published in it */
    if (created && fsync(sp->fds[0]) < 0) {
        int rc = -errno;
        close(fd);
        return error_sys(e, rc, "cannot flush %s after creating %s",
                         sp->paths[0], spool_subdirs[i]);
    }
    sp->fds[i] = fd;
    return 0;
}

/* spool_target - the slot of subdir, opened (and created) when first used */
static int spool_target(struct spool *sp, const char *subdir, int *slot_r,
                        struct pandora_error *e)
{
    char buf[SPOOL_SHOW_MAX];
    int i = spool_subdir_index(subdir);

    if (i < 0)
        return error_set(e, -EINVAL,
                         "unknown spool subdirectory '%s'; use conf, md5, "
                         "collections or commands",
                         spool_show(subdir, buf));
    pthread_mutex_lock(&sp->lock);
    int rc = sp->fds[i] >= 0 ? 0 : spool_subdir_open(sp, i, e);
    pthread_mutex_unlock(&sp->lock);
    if (rc == 0)
        *slot_r = i;
    return rc;
}

/* spool_clean_dir - remove the temporaries in dirfd, counting them */
static int spool_clean_dir(int dirfd, const char *path, unsigned *removed,
                           struct pandora_error *e)
{
    struct spool_names tmps = { 0 };
    int rc = spool_each(dirfd, spool_keep_tmp, spool_names_add, &tmps);

    if (rc < 0)
        rc = error_sys(e, rc, "cannot read directory %s", path);
    for (size_t i = 0; rc == 0 && i < tmps.n; i++) {
        if (unlinkat(dirfd, tmps.v[i], 0) == 0)
            (*removed)++;
        else if (errno != ENOENT)
            rc = error_sys(e, -errno, "cannot remove stale temporary %s/%s",
                           path, tmps.v[i]);
    }
    spool_names_free(&tmps);
    return rc;
}

int spool_clean_stale(struct spool *spool, unsigned *removed_r,
                      struct pandora_error *error_r)
{
    unsigned removed = 0;
    int rc = 0;

    for (int i = 0; rc == 0 && i < SPOOL_NDIRS; i++) {
        int fd = openat(spool->fds[0], i == 0 ? "." : spool_subdirs[i],
                        O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
            continue;           /* a subdir nobody has used yet */
        if (fd < 0) {
            rc = error_sys(error_r, -errno, "cannot open directory %s",
                           spool->paths[i]);
            break;
        }
        rc = spool_clean_dir(fd, spool->paths[i], &removed, error_r);
        close(fd);
    }
    if (removed_r != NULL)
        *removed_r = removed;
    return rc;
}

int spool_clean_dir_stale(const char *dir, unsigned *removed_r,
                          struct pandora_error *error_r)
{
    unsigned removed = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return error_sys(error_r, -errno, "cannot open directory %s", dir);
    int rc = spool_clean_dir(fd, dir, &removed, error_r);
    close(fd);
    if (removed_r != NULL)
        *removed_r = removed;
    return rc;
}

/* ------------------------------------------------------------------------
 * Single files
 */

int spool_deliver(struct spool *spool, const char *subdir, const char *name,
                  int src_fd, time_t mtime, struct pandora_error *error_r)
{
    char tmp[SPOOL_TMP_LEN];
    int i, rc;

    if (!spool_name_is_safe(name))
        return spool_unsafe(error_r, "file", name);
    rc = spool_target(spool, subdir, &i, error_r);
    if (rc < 0)
        return rc;
    int dirfd = spool->fds[i];
    rc = spool_tmp_write(dirfd, tmp, src_fd, mtime, SPOOL_TMP_SYNC);
    if (rc < 0)
        return error_sys(error_r, rc, "cannot write %s/%s", spool->paths[i],
                         name);
    rc = spool_rename_noreplace(dirfd, tmp, dirfd, name);
    if (rc < 0) {
        unlinkat(dirfd, tmp, 0);
        if (rc == -EEXIST)
            return error_set(error_r, rc,
                             "%s/%s still awaits ingestion; it was not "
                             "replaced",
                             spool->paths[i], name);
        return error_sys(error_r, rc, "cannot publish %s/%s", spool->paths[i],
                         name);
    }
    if (fsync(dirfd) < 0)
        return error_sys(error_r, -errno,
                         "cannot flush directory %s after publishing %s",
                         spool->paths[i], name);
    return 0;
}

int spool_pressure(struct spool *spool,
                   const struct pandora_spool_limits *limits,
                   struct pandora_spool_state *state_r,
                   struct pandora_error *error_r)
{
    struct pandora_spool_state st = { 0 };
    struct statvfs vfs;
    int rc = 0;

    /* counting reads the whole directory: only when the count is asked */
    if (limits == NULL || limits->queue_limit != 0)
        rc = spool_each(spool->fds[0], spool_keep_data, spool_count_one,
                        &st.data_files);
    if (rc < 0)
        return error_sys(error_r, rc, "cannot read incomingdir %s",
                         spool->paths[0]);
    if (fstatvfs(spool->fds[0], &vfs) < 0)
        return error_sys(error_r, -errno,
                         "cannot read the free space of incomingdir %s",
                         spool->paths[0]);
    st.free_mib = (uint64_t)vfs.f_bavail * vfs.f_frsize / SPOOL_MIB;
    if (state_r != NULL)
        *state_r = st;
    if (limits == NULL)
        return 0;
    if (limits->queue_limit != 0 && st.data_files >= limits->queue_limit)
        return error_set(error_r, -EAGAIN,
                         "incomingdir %s holds %llu data files (limit %llu); "
                         "waiting for the data server to ingest them",
                         spool->paths[0], (unsigned long long)st.data_files,
                         (unsigned long long)limits->queue_limit);
    if (limits->min_free_mib != 0 && st.free_mib < limits->min_free_mib)
        return error_set(error_r, -EAGAIN,
                         "only %llu MiB free for incomingdir %s (minimum "
                         "%llu MiB); free some space",
                         (unsigned long long)st.free_mib, spool->paths[0],
                         (unsigned long long)limits->min_free_mib);
    return 0;
}

/* spool_replace_at - temporary, fsync, rename over name, directory fsync */
static int spool_replace_at(int dirfd, const char *name, const void *buf,
                            size_t len)
{
    char tmp[SPOOL_TMP_LEN];
    int fd;
    int rc = spool_tmp_open(dirfd, tmp, &fd);

    if (rc < 0)
        return rc;
    rc = io_write_all(fd, buf, len);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
        rc = -errno;
    if (rc < 0) {
        unlinkat(dirfd, tmp, 0);
        return rc;
    }
    return fsync(dirfd) < 0 ? -errno : 0;
}

int spool_replace_file(const char *dir, const char *name, const void *buf,
                       size_t len, struct pandora_error *error_r)
{
    if (!spool_name_is_safe(name))
        return spool_unsafe(error_r, "state file", name);
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return error_sys(error_r, -errno,
                         "cannot open directory %s to save %s (create it or "
                         "fix its permissions)",
                         dir, name);
    int rc = spool_replace_at(dirfd, name, buf, len);
    close(dirfd);
    if (rc < 0)
        return error_sys(error_r, rc,
                         "cannot save %s/%s (check free space and "
                         "permissions)",
                         dir, name);
    return 0;
}

/* ------------------------------------------------------------------------
 * Batches (group commit)
 */

/* batch_flush - fsync fd, counted */
static int batch_flush(struct pandora_spool_batch *b, int fd)
{
    b->flushes++;
    return fsync(fd) < 0 ? -errno : 0;
}

/* batch_flush_at - fsync dirfd/name (a file or directory), counted */
static int batch_flush_at(struct pandora_spool_batch *b, int dirfd,
                          const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return -errno;
    int rc = batch_flush(b, fd);
    close(fd);
    return rc;
}

int spool_batch_open(struct spool *spool, const char *subdir, const char *tag,
                     struct pandora_spool_batch **batch_r,
                     struct pandora_error *error_r)
{
    int i;

    if (!spool_name_is_safe(tag))
        return spool_unsafe(error_r, "batch tag", tag);
    int rc = spool_target(spool, subdir, &i, error_r);
    if (rc < 0)
        return rc;
    struct pandora_spool_batch *b = xcalloc(1, sizeof(*b));
    b->dirfd = spool->fds[i];
    b->path = spool->paths[i];
    b->tag = xstrdup(tag);
    b->stagefd = -1;
    *batch_r = b;
    return 0;
}

/* batch_has - is name already in the batch? */
static bool batch_has(const struct pandora_spool_batch *b, const char *name)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->files[i].name, name) == 0)
            return true;
    return false;
}

/* batch_count - files of the batch in state s */
static size_t batch_count(const struct pandora_spool_batch *b,
                          enum batch_state s)
{
    size_t n = 0;

    for (size_t i = 0; i < b->n; i++)
        n += b->files[i].state == s;
    return n;
}

int spool_batch_add(struct pandora_spool_batch *batch, const char *name,
                    int src_fd, time_t mtime, struct pandora_error *error_r)
{
    if (!spool_name_is_safe(name))
        return spool_unsafe(error_r, "file", name);
    if (batch_has(batch, name))
        return error_set(error_r, -EEXIST,
                         "%s/%s was already added to this batch",
                         batch->path, name);
    if (batch->n == batch->cap) {
        batch->cap = batch->cap ? batch->cap * 2 : 16;
        batch->files = xreallocarray(batch->files, batch->cap,
                                     sizeof(*batch->files));
    }
    struct batch_file *f = &batch->files[batch->n];
    /* no flush here: batch_stage flushes the whole batch at once */
    int rc = spool_tmp_write(batch->dirfd, f->tmp, src_fd, mtime,
                             SPOOL_TMP_LAZY);
    if (rc < 0)
        return error_sys(error_r, rc, "cannot write %s/%s", batch->path,
                         name);
    f->name = xstrdup(name);
    f->state = BATCH_TEMP;
    f->rc = 0;
    batch->n++;
    return 0;
}

/* batch_stage_dir - open (creating) <dir>/.pandora-staged/<tag> */
static int batch_stage_dir(struct pandora_spool_batch *b,
                           struct pandora_error *e)
{
    bool top_new, tag_new;

    if (b->stagefd >= 0)
        return 0;
    int top = spool_mkdir_open(b->dirfd, SPOOL_STAGED_DIR, &top_new);
    if (top < 0)
        return error_sys(e, top, "cannot create staging directory %s/%s",
                         b->path, SPOOL_STAGED_DIR);
    int fd = spool_mkdir_open(top, b->tag, &tag_new);
    close(top);
    if (fd < 0)
        return error_sys(e, fd, "cannot create staging directory %s/%s/%s",
                         b->path, SPOOL_STAGED_DIR, b->tag);
    b->stagefd = fd;
    b->new_dirs = (top_new ? BATCH_NEW_TOP : 0) | (tag_new ? BATCH_NEW_TAG : 0);
    return 0;
}

/* batch_flush_each - the slow way: every temporary, then any new staging
 * directory's parent */
static int batch_flush_each(struct pandora_spool_batch *b)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < b->n; i++)
        if (b->files[i].state == BATCH_TEMP)
            rc = batch_flush_at(b, b->dirfd, b->files[i].tmp);
    if (rc == 0 && (b->new_dirs & BATCH_NEW_TAG))
        rc = batch_flush_at(b, b->dirfd, SPOOL_STAGED_DIR);
    if (rc == 0 && (b->new_dirs & BATCH_NEW_TOP))
        rc = batch_flush(b, b->dirfd);
    return rc;
}

/* batch_flush_temps - make every temporary (and new staging directory)
 * durable: one syncfs() whatever their number, else one fsync each */
static int batch_flush_temps(struct pandora_spool_batch *b,
                             struct pandora_error *e)
{
    int rc;

#ifdef HAVE_SYNCFS
    b->flushes++;
    if (syncfs(b->dirfd) == 0) {
        b->new_dirs = 0;
        return 0;
    }
    /* maybe an error of some other file on this filesystem: let each of
     * ours report its own */
#endif
    rc = batch_flush_each(b);
    if (rc < 0)
        return error_sys(e, rc, "cannot flush the files of a batch in %s",
                         b->path);
    b->new_dirs = 0;
    return 0;
}

int spool_batch_stage(struct pandora_spool_batch *b,
                      struct pandora_error *error_r)
{
    if (batch_count(b, BATCH_TEMP) == 0)
        return 0;
    /* directories first, so that the one flush round covers them too */
    int rc = batch_stage_dir(b, error_r);
    if (rc == 0)
        rc = batch_flush_temps(b, error_r);
    if (rc < 0)
        return rc;
    /* only durable bytes get here: a staged file is complete after a crash */
    size_t moved = 0;
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        struct batch_file *f = &b->files[i];
        if (f->state != BATCH_TEMP)
            continue;
        if (renameat(b->dirfd, f->tmp, b->stagefd, f->name) < 0)
            rc = error_sys(error_r, -errno, "cannot stage %s/%s", b->path,
                           f->name);
        else
            f->state = BATCH_STAGED, moved++;
    }
    /* after a failed rename too: what was moved is kept */
    if (moved > 0 && batch_flush(b, b->stagefd) < 0 && rc == 0)
        rc = error_sys(error_r, -errno, "cannot flush staging directory "
                       "%s/%s/%s", b->path, SPOOL_STAGED_DIR, b->tag);
    return rc;
}

/* batch_publish_flush - make the renames durable: the final names first,
 * so that a crash in between leaves at worst a staged copy of a published
 * file, never a file in neither place */
static int batch_publish_flush(struct pandora_spool_batch *b,
                               struct pandora_error *e)
{
    int rc = batch_flush(b, b->dirfd);

    if (rc < 0)
        return error_sys(e, rc, "cannot flush directory %s after publishing",
                         b->path);
    rc = batch_flush(b, b->stagefd);
    if (rc < 0)
        return error_sys(e, rc, "cannot flush staging directory %s/%s/%s",
                         b->path, SPOOL_STAGED_DIR, b->tag);
    return 0;
}

/* batch_forget_done - drop the published files from the batch */
static void batch_forget_done(struct pandora_spool_batch *b)
{
    size_t kept = 0;

    for (size_t i = 0; i < b->n; i++) {
        if (b->files[i].state == BATCH_DONE)
            free(b->files[i].name);
        else
            b->files[kept++] = b->files[i];
    }
    b->n = kept;
}

int spool_batch_publish(struct pandora_spool_batch *b,
                        pandora_spool_result_fn *result_fn, void *data,
                        struct pandora_error *error_r)
{
    size_t moved = 0;
    int rc = spool_batch_stage(b, error_r);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < b->n; i++) {
        struct batch_file *f = &b->files[i];
        if (f->state != BATCH_STAGED)
            continue;
        f->rc = spool_rename_noreplace(b->stagefd, f->name, b->dirfd, f->name);
        moved += f->rc == 0;
    }
    if (moved > 0)
        rc = batch_publish_flush(b, error_r);
    /* reported after the flush; a renamed file is in place either way */
    for (size_t i = 0; i < b->n; i++) {
        struct batch_file *f = &b->files[i];
        if (f->state != BATCH_STAGED)
            continue;
        if (f->rc == 0)
            f->state = BATCH_DONE;
        if (result_fn != NULL)
            result_fn(data, f->name, f->rc);
    }
    batch_forget_done(b);
    return rc;
}

void spool_batch_close(struct pandora_spool_batch *batch)
{
    if (batch == NULL)
        return;
    for (size_t i = 0; i < batch->n; i++) {
        if (batch->files[i].state == BATCH_TEMP)
            unlinkat(batch->dirfd, batch->files[i].tmp, 0);
        free(batch->files[i].name);
    }
    if (batch->stagefd >= 0)
        close(batch->stagefd);
    free(batch->files);
    free(batch->tag);
    free(batch);
}

unsigned spool_batch_flushes(const struct pandora_spool_batch *batch)
{
    return batch != NULL ? batch->flushes : 0;
}

/* ------------------------------------------------------------------------
 * Staged files left by an earlier run
 */

/* spool_staged_open - the staging directory of (subdir, tag); *fd_r is -1
 * when nothing was ever staged there */
static int spool_staged_open(struct spool *sp, const char *subdir,
                             const char *tag, int *slot_r, int *fd_r,
                             struct pandora_error *e)
{
    if (!spool_name_is_safe(tag))
        return spool_unsafe(e, "staging tag", tag);
    int rc = spool_target(sp, subdir, slot_r, e);
    if (rc < 0)
        return rc;
    char *rel = xasprintf("%s/%s", SPOOL_STAGED_DIR, tag);
    int fd = openat(sp->fds[*slot_r], rel,
                    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno != ENOENT)
        rc = error_sys(e, -errno, "cannot open staging directory %s/%s",
                       sp->paths[*slot_r], rel);
    free(rel);
    *fd_r = fd;
    return rc;
}

/* spool_staged_missing - the error for a name that is not staged */
static int spool_staged_missing(struct spool *sp, int slot, const char *tag,
                                const char *name, struct pandora_error *e)
{
    return error_set(e, -ENOENT, "no file %s is staged in %s/%s/%s", name,
                     sp->paths[slot], SPOOL_STAGED_DIR, tag);
}

int spool_staged_list(struct spool *spool, const char *subdir, const char *tag,
                      pandora_spool_staged_fn *fn, void *data,
                      struct pandora_error *error_r)
{
    struct spool_names names = { 0 };
    int slot, fd;
    int rc = spool_staged_open(spool, subdir, tag, &slot, &fd, error_r);

    if (rc < 0 || fd < 0)
        return rc;
    /* names are read in full first: fn may publish or discard them */
    rc = spool_each(fd, spool_keep_staged, spool_names_add, &names);
    close(fd);
    if (rc < 0) {
        spool_names_free(&names);
        return error_sys(error_r, rc, "cannot read staging directory %s/%s/%s",
                         spool->paths[slot], SPOOL_STAGED_DIR, tag);
    }
    if (names.n > 0)
        qsort(names.v, names.n, sizeof(*names.v), spool_cmp_names);
    for (size_t i = 0; i < names.n; i++)
        fn(data, names.v[i]);
    spool_names_free(&names);
    return 0;
}

/* spool_staged_touch - set a staged file's mtime (and atime) durably */
static int spool_staged_touch(int stagefd, const char *name, time_t mtime)
{
    const struct timespec ts[2] = { { .tv_sec = mtime },
                                    { .tv_sec = mtime } };
    int fd = openat(stagefd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return -errno;
    int rc = futimens(fd, ts) < 0 || fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* spool_staged_move - publish one staged file: time, rename, flushes (the
 * final name first, as in batch_publish_flush) */
static int spool_staged_move(int stagefd, int dirfd, const char *name,
                             time_t mtime)
{
    int rc = mtime != 0 ? spool_staged_touch(stagefd, name, mtime) : 0;

    if (rc == 0)
        rc = spool_rename_noreplace(stagefd, name, dirfd, name);
    if (rc == 0 && (fsync(dirfd) < 0 || fsync(stagefd) < 0))
        rc = -errno;
    return rc;
}

int spool_staged_publish(struct spool *spool, const char *subdir,
                         const char *tag, const char *name, time_t mtime,
                         struct pandora_error *error_r)
{
    int slot, fd;

    if (!spool_name_is_safe(name))
        return spool_unsafe(error_r, "file", name);
    int rc = spool_staged_open(spool, subdir, tag, &slot, &fd, error_r);
    if (rc < 0)
        return rc;
    if (fd < 0)
        return spool_staged_missing(spool, slot, tag, name, error_r);
    rc = spool_staged_move(fd, spool->fds[slot], name, mtime);
    close(fd);
    if (rc == -ENOENT)
        return spool_staged_missing(spool, slot, tag, name, error_r);
    if (rc == -EEXIST)
        return error_set(error_r, rc,
                         "%s/%s still awaits ingestion; the staged copy is "
                         "kept",
                         spool->paths[slot], name);
    if (rc < 0)
        return error_sys(error_r, rc, "cannot publish staged file %s/%s/%s/%s",
                         spool->paths[slot], SPOOL_STAGED_DIR, tag, name);
    return 0;
}

int spool_staged_discard(struct spool *spool, const char *subdir,
                         const char *tag, const char *name,
                         struct pandora_error *error_r)
{
    int slot, fd;

    if (!spool_name_is_safe(name))
        return spool_unsafe(error_r, "file", name);
    int rc = spool_staged_open(spool, subdir, tag, &slot, &fd, error_r);
    if (rc < 0)
        return rc;
    if (fd < 0)
        return spool_staged_missing(spool, slot, tag, name, error_r);
    rc = unlinkat(fd, name, 0) < 0 || fsync(fd) < 0 ? -errno : 0;
    close(fd);
    if (rc == -ENOENT)
        return spool_staged_missing(spool, slot, tag, name, error_r);
    if (rc < 0)
        return error_sys(error_r, rc, "cannot remove staged file %s/%s/%s/%s",
                         spool->paths[slot], SPOOL_STAGED_DIR, tag, name);
    return 0;
}
