/*
 * spool - the one place that writes into incomingdir (DESIGN.md 2.2).
 *
 * Publishing a file: write it to a hidden temporary ".pandora-tmp.<random>"
 * in the target directory (never matching the data server's pattern
 * ^.*[._]\d+\.data$), fsync it, rename it into place without overwriting a
 * file that still awaits ingestion (renameat2(RENAME_NOREPLACE), or
 * link()+unlink() where that is unsupported), fsync the directory.
 *
 * Staging (group commit / crash recovery): a batch's files, once durable,
 * are moved into "<dir>/.pandora-staged/<tag>/<name>", where a crash keeps
 * them and spool_staged_list() finds them at the next start.
 *
 * Subdirectories: NULL (incomingdir itself) or one of "conf", "md5",
 * "collections", "commands" (created when first needed). Anything else is
 * -EINVAL.
 *
 * THREADS: a struct spool is shared by all workers; calls for different
 * names may overlap. A batch is used by one thread at a time.
 */
#ifndef CORE_SPOOL_H
#define CORE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <pandora/plugin.h>

struct spool;

#define SPOOL_TMP_PREFIX ".pandora-tmp."
#define SPOOL_STAGED_DIR ".pandora-staged"

/*
 * spool_name_is_safe - a file name the spool accepts: 1..255 bytes, no '/',
 * not "." or "..", no leading '.', no control bytes (< 0x20, 0x7f), none of
 * Tentacle's invalid characters ? [ ] / \ = + < > : ; ' , * ~
 * and valid UTF-8.
 */
bool spool_name_is_safe(const char *name);

/*
 * spool_open - use `dir` (must exist and be a directory we can write).
 * spool_clean_stale - remove our own leftover temporaries (".pandora-tmp.*")
 * in dir and its known subdirectories, never anything else; staged files
 * are kept. *removed_r gets the count.
 */
int spool_open(const char *dir, struct spool **spool_r,
               struct pandora_error *error_r);
int spool_clean_stale(struct spool *spool, unsigned *removed_r,
                      struct pandora_error *error_r);
/* spool_clean_dir_stale - the same for one other directory, such as a
 * module's state directory after spool_replace_file was interrupted. */
int spool_clean_dir_stale(const char *dir, unsigned *removed_r,
                          struct pandora_error *error_r);
void spool_close(struct spool *spool);
const char *spool_dir(const struct spool *spool);

/* As api->spool_deliver (plugin.h). */
int spool_deliver(struct spool *spool, const char *subdir, const char *name,
                  int src_fd, time_t mtime, struct pandora_error *error_r);

/* As api->spool_pressure (plugin.h): counts *.data files in dir. */
int spool_pressure(struct spool *spool,
                   const struct pandora_spool_limits *limits,
                   struct pandora_spool_state *state_r,
                   struct pandora_error *error_r);

/* As api->spool_batch_* (plugin.h). */
int spool_batch_open(struct spool *spool, const char *subdir, const char *tag,
                     struct pandora_spool_batch **batch_r,
                     struct pandora_error *error_r);
int spool_batch_add(struct pandora_spool_batch *batch, const char *name,
                    int src_fd, time_t mtime, struct pandora_error *error_r);
int spool_batch_stage(struct pandora_spool_batch *batch,
                      struct pandora_error *error_r);
int spool_batch_publish(struct pandora_spool_batch *batch,
                        pandora_spool_result_fn *result_fn, void *data,
                        struct pandora_error *error_r);
void spool_batch_close(struct pandora_spool_batch *batch);

/* The number of flush calls (fsync/fdatasync/syncfs) a batch made; tests
 * use it to prove group commit amortises them. */
unsigned spool_batch_flushes(const struct pandora_spool_batch *batch);

/* As api->spool_staged_* (plugin.h). */
int spool_staged_list(struct spool *spool, const char *subdir, const char *tag,
                      pandora_spool_staged_fn *fn, void *data,
                      struct pandora_error *error_r);
int spool_staged_publish(struct spool *spool, const char *subdir,
                         const char *tag, const char *name, time_t mtime,
                         struct pandora_error *error_r);
int spool_staged_discard(struct spool *spool, const char *subdir,
                         const char *tag, const char *name,
                         struct pandora_error *error_r);

/*
 * spool_replace_file - atomically and durably replace dir/name with buf
 * (temporary, fsync, rename over, directory fsync). For state files, not
 * for incomingdir.
 */
int spool_replace_file(const char *dir, const char *name, const void *buf,
                       size_t len, struct pandora_error *error_r);

#endif
