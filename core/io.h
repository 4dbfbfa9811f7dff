/* io - small, careful file helpers shared by core units. */
#ifndef CORE_IO_H
#define CORE_IO_H

#include <stddef.h>
#include <sys/types.h>

#include <pandora/plugin.h>

/*
 * io_write_all - write len bytes, retrying on EINTR and short writes.
 * io_copy_fd   - copy src (from its offset) to dst until EOF.
 * Both return 0 or -errno.
 */
int io_write_all(int fd, const void *buf, size_t len);
int io_copy_fd(int src, int dst);

/*
 * io_read_file - read a whole regular file (at most max bytes, else -EFBIG)
 * into a malloc'd NUL-terminated buffer the caller frees.
 */
int io_read_file(const char *path, size_t max, char **buf_r, size_t *len_r,
                 struct pandora_error *error_r);

/* io_mkdir_p - create dir and its parents (mode for the ones created). */
int io_mkdir_p(const char *dir, mode_t mode, struct pandora_error *error_r);

#endif
