/*
 * pandora/plugin.h - the contract between pandora_hostd and its modules.
 *
 * This is the only header a module includes from the host. A module is a
 * shared object that exports exactly one symbol, `pandora_module`, a const
 * struct pandora_module. The host dlopen()s it, checks the ABI numbers and
 * calls init() with a context and the host function table below. init()
 * registers services; the host validates their configuration and runs them.
 * The host exports no symbols: a test can hand a module a fake table.
 *
 * ABI RULES
 *  - struct pandora_host_api and struct pandora_service_ops are append-only.
 *    Appending members bumps PANDORA_ABI_MINOR; any other change bumps
 *    PANDORA_ABI_MAJOR. A module built for a newer minor than the host's,
 *    or for another major, is refused at load time.
 *  - A module may use a table member only if api->size covers it
 *    (PANDORA_API_HAS(api, member)).
 *
 * OWNERSHIP
 *  1. What a module passes to the host is copied or only read during the
 *     call, except tables (descriptor, service ops, conf items), which must be
 *     static const and outlive the module.
 *  2. What the host passes to a callback is borrowed until the callback
 *     returns; a configuration struct is borrowed until the service has been
 *     stopped or given another configuration.
 *  3. data given to service_register() belongs to the host only if it returns
 *     0; then data_free(data) runs exactly once, after the last stop().
 *  4. Otherwise whoever allocates frees.
 *
 * THREADS
 *  init() and fini() run on the host's main thread. Service callbacks run on
 *  the main thread unless the call says otherwise. Task functions run on the
 *  host's worker threads. Every host table function is thread-safe unless it
 *  says otherwise.
 *
 * ERRORS
 *  Functions return 0 or a negative errno value. Where a struct pandora_error
 *  is passed, it is filled with one human-readable sentence that says what
 *  failed, on which file, remote or key, and what to do.
 */
#ifndef PANDORA_PLUGIN_H
#define PANDORA_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PANDORA_ABI_MAJOR 1
#define PANDORA_ABI_MINOR 0

#if defined(__GNUC__)
#define PANDORA_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define PANDORA_PRINTF(fmt, first)
#endif

/* The name of the one symbol every module exports. */
#define PANDORA_MODULE_SYMBOL "pandora_module"

/* Fills the three ABI fields of a struct pandora_module initialiser. */
#define PANDORA_MODULE_ABI                                                   \
    .abi_major = PANDORA_ABI_MAJOR, .abi_minor = PANDORA_ABI_MINOR,          \
    .struct_size = sizeof(struct pandora_module)

/* True when the host table is large enough to contain `member`. */
#define PANDORA_API_HAS(api, member)                                         \
    ((api)->size >= offsetof(struct pandora_host_api, member) +              \
                        sizeof((api)->member))

/* Opaque handle for one loaded module; passed back to every host call. */
struct pandora_ctx;

/* A caller-owned error buffer: one sentence, always NUL-terminated. */
#define PANDORA_ERROR_MAX 256
struct pandora_error {
    char text[PANDORA_ERROR_MAX];
};

typedef void pandora_free_fn(void *data);

/* ------------------------------------------------------------------------
 * Logging
 */
enum pandora_log_level {
    PANDORA_LOG_ERROR,   /* an operation failed; the service goes on      */
    PANDORA_LOG_WARNING, /* wrong, but worked around or retried            */
    PANDORA_LOG_INFO,    /* start, stop, remote up/down                    */
    PANDORA_LOG_DEBUG,   /* per file, per request                          */
};

/* ------------------------------------------------------------------------
 * Configuration declared by a service and validated by the host
 *
 * A service describes its pandora_server.conf keys in a static const table.
 * The host parses them with Pandora's rules, applies defaults, checks types
 * and ranges, and fills a struct of conf_size bytes that it owns. Every bad
 * value is reported with file, line, key and the expected form before the
 * service is configured; --check-config prints the effective values (SECRET
 * items as ********).
 */
enum pandora_conf_type {
    PANDORA_CONF_END = 0, /* terminates a table                             */
    PANDORA_CONF_STRING,  /* char *: any non-empty text                     */
    PANDORA_CONF_SECRET,  /* char *: like STRING, never printed or logged   */
    PANDORA_CONF_PATH,    /* char *: absolute path                          */
    PANDORA_CONF_FILE,    /* char *: absolute path of a readable file       */
    PANDORA_CONF_UINT,    /* unsigned int, decimal, within [min, max]       */
    PANDORA_CONF_SIZE,    /* uint64_t, decimal, within [min, max]           */
    PANDORA_CONF_BOOL,    /* bool: 0 or 1 (also yes/no, on/off, true/false) */
    PANDORA_CONF_ENUM,    /* int: index of the value in `choices`           */
    PANDORA_CONF_REGEX,   /* char *: a valid POSIX extended regex           */
};

struct pandora_conf_item {
    const char *key;             /* lower case; matched case-insensitively */
    enum pandora_conf_type type;
    size_t offset;               /* offsetof() into the service's conf     */
    const char *def;             /* default as text; NULL: none (NULL/0)   */
    uint64_t min, max;           /* UINT/SIZE range; both 0: no range      */
    const char *const *choices;  /* ENUM: NULL-terminated value list       */
    const char *fallback;        /* key read when `key` is absent, or NULL */
    const char *help;            /* one line: what the key means           */
};

#define PANDORA_CONF_ITEMS_END { .key = NULL, .type = PANDORA_CONF_END }

/*
 * A list of groups in the service's section of pandora_hostd.conf (libconfig),
 * e.g. syncserver = { remotes = ( { address = "..."; port = 41122; } ); }.
 * Each group is parsed with `items` (keys as written, case-sensitive; absent
 * keys without a default stay NULL/0) into an element of elem_size bytes. The
 * host stores a calloc'd array at array_offset (a void * member) and the count
 * at count_offset (a size_t member) of the service's conf struct; it frees
 * both. Unknown keys in a group are an error (a typo must not be ignored).
 */
struct pandora_conf_list {
    const char *name;
    const struct pandora_conf_item *items;
    size_t elem_size;
    size_t array_offset;
    size_t count_offset;
};

#define PANDORA_CONF_LISTS_END { .name = NULL }

/* ------------------------------------------------------------------------
 * Status: a service describes its state through a writer, the host renders
 * it (status page, JSON, metrics, --status). The writer is only valid during
 * the status() callback. Keys are lower_snake_case and carry their unit
 * (`bytes_pulled_total`, `cycle_seconds`).
 */
struct pandora_status;

/* ------------------------------------------------------------------------
 * Services
 */
struct pandora_service_ops {
    const char *name;        /* unique in the host, e.g. "syncserver"      */
    const char *enable_key;  /* pandora_server.conf key whose value 1 runs
                                the service; NULL: always enabled          */
    const struct pandora_conf_item *items;  /* may be NULL                  */
    const struct pandora_conf_list *lists;  /* may be NULL                  */
    size_t conf_size;        /* size of the conf struct the items fill      */

    /*
     * configure - check rules that span keys (sync_cert without sync_key).
     * Called for --check-config, at start and before a reload is accepted;
     * must have no side effects. May be NULL.
     */
    int (*configure)(struct pandora_ctx *ctx, void *data, const void *conf,
                     struct pandora_error *error_r);

    /* start - begin work with `conf` (borrowed until stop or reconfigure). */
    int (*start)(struct pandora_ctx *ctx, void *data, const void *conf,
                 struct pandora_error *error_r);

    /*
     * stop - finish or abandon in-flight work by `deadline` (CLOCK_MONOTONIC)
     * and return; cancel your timers. Never leaves partial files visible.
     */
    void (*stop)(struct pandora_ctx *ctx, void *data,
                 const struct timespec *deadline);

    /*
     * reconfigure - switch a running service to `conf` (already validated
     * by configure()). NULL: the host stops and starts the service. On
     * failure the service must still run with its previous conf.
     */
    int (*reconfigure)(struct pandora_ctx *ctx, void *data, const void *conf,
                       struct pandora_error *error_r);

    /*
     * run_once - for `pandora_hostd --once`: one full cycle of work, on the
     * calling thread, instead of start(). Returns 0 if everything succeeded.
     */
    int (*run_once)(struct pandora_ctx *ctx, void *data, const void *conf,
                    struct pandora_error *error_r);

    /*
     * poll - do the periodic work now (SIGUSR1, the status page's button).
     * `target` NULL means everything, else one object (a remote's name);
     * -ENOENT if unknown. Must not block. THREADS: any thread. May be NULL.
     */
    int (*poll)(struct pandora_ctx *ctx, void *data, const char *target);

    /*
     * status - describe the current state through `st`. THREADS: any thread,
     * concurrently with tasks: lock your own state. May be NULL.
     */
    void (*status)(struct pandora_ctx *ctx, void *data,
                   struct pandora_status *st);
};

/* ------------------------------------------------------------------------
 * Scheduling
 *
 * A task function runs on a worker thread. A periodic task never overlaps
 * itself: the next run is scheduled when the current one returns, after the
 * delay it returns (in milliseconds; 0 means the timer's interval), so a
 * service can back off. Tasks of different timers run in parallel up to the
 * host's worker count; one that blocks delays nothing but itself.
 */
struct pandora_timer;
typedef unsigned pandora_task_fn(void *data);

/* ------------------------------------------------------------------------
 * Spool: the only way a module writes into incomingdir.
 */
struct pandora_spool_batch;

struct pandora_spool_limits {
    uint64_t queue_limit;  /* pause while this many *.data files wait; 0 off */
    uint64_t min_free_mib; /* pause while less free space; 0 off             */
};

struct pandora_spool_state {
    uint64_t data_files;   /* *.data files waiting in incomingdir            */
    uint64_t free_mib;     /* free space on its filesystem for unprivileged  */
};

/* Called once per file by spool_batch_publish(): rc 0 published, -EEXIST a
 * file of that name still awaits ingestion (the staged copy is kept), other
 * -errno failed. */
typedef void pandora_spool_result_fn(void *data, const char *name, int rc);

/* Called once per staged file found by spool_staged_list(). */
typedef void pandora_spool_staged_fn(void *data, const char *name);

/* ------------------------------------------------------------------------
 * The host function table. Valid from init() until fini() returns.
 */
struct pandora_host_api {
    uint16_t abi_major, abi_minor;
    uint32_t size; /* sizeof(struct pandora_host_api) in the host */

    /* ---- 1.0 ---- */

    /*
     * log - one line in the host log, as "<time> <servername> [Vn] <module>:
     * <text>". Repeats are folded. Never pass a secret.
     */
    void (*log)(struct pandora_ctx *ctx, enum pandora_log_level level,
                const char *fmt, ...) PANDORA_PRINTF(3, 4);
    void (*logv)(struct pandora_ctx *ctx, enum pandora_log_level level,
                 const char *fmt, va_list ap) PANDORA_PRINTF(3, 0);

    /*
     * service_register - only inside init(). `ops` is static const.
     * RETURN VALUE -EBUSY after init, -EEXIST if the name is taken, -EINVAL
     * for a malformed ops or item table.
     * OWNERSHIP rule 3.
     */
    int (*service_register)(struct pandora_ctx *ctx,
                            const struct pandora_service_ops *ops, void *data,
                            pandora_free_fn *data_free);

    /*
     * conf_get_string / conf_get_uint - look up any pandora_server.conf key
     * (typically one owned by another server, e.g. "servername"). get_string
     * returns a pointer valid until the next configuration is applied, or
     * `def` when the key is absent. get_uint fails with -EINVAL and error_r
     * naming file, line and key when the value is not a decimal in range.
     */
    const char *(*conf_get_string)(struct pandora_ctx *ctx, const char *key,
                                   const char *def);
    int (*conf_get_uint)(struct pandora_ctx *ctx, const char *key,
                         unsigned def, unsigned min, unsigned max,
                         unsigned *value_r, struct pandora_error *error_r);

    /* servername / incomingdir / state_dir - effective paths and names; the
     * state directory is this module's own (created by the host, persistent
     * across restarts). Valid until the next configuration is applied. */
    const char *(*servername)(struct pandora_ctx *ctx);
    const char *(*incomingdir)(struct pandora_ctx *ctx);
    const char *(*state_dir)(struct pandora_ctx *ctx);

    /*
     * timer_add - run fn(data) on a worker after first_ms, then again
     * interval_ms (or the delay fn returns) after each run ends; with
     * both 0 it runs again only when poked. -ESHUTDOWN once the host stops.
     * timer_poke - run it as soon as a worker is free (no overlap: if it is
     * running, once more right after). timer_cancel - no new runs; waits for
     * a running one to finish; frees the timer.
     * THREADS: timer_cancel must not be called from the timer's own task.
     */
    int (*timer_add)(struct pandora_ctx *ctx, unsigned first_ms,
                     unsigned interval_ms, pandora_task_fn *fn, void *data,
                     struct pandora_timer **timer_r);
    void (*timer_poke)(struct pandora_ctx *ctx, struct pandora_timer *timer);
    void (*timer_cancel)(struct pandora_ctx *ctx, struct pandora_timer *timer);

    /* stopping - true once the host is shutting down: long tasks return. */
    bool (*stopping)(struct pandora_ctx *ctx);

    /*
     * spool_deliver - publish one file into incomingdir (subdir NULL) or its
     * subdir ("conf", "md5", "collections", "commands"), whole or not at all:
     * hidden temporary, fsync, no-overwrite rename, directory fsync.
     * src_fd is read from its offset to EOF; the caller still closes it.
     * mtime: set on the published file, 0 keeps the write time.
     * RETURN VALUE -EINVAL unsafe name; -EEXIST that name still awaits
     * ingestion (nothing changed); other -errno with error_r filled.
     */
    int (*spool_deliver)(struct pandora_ctx *ctx, const char *subdir,
                         const char *name, int src_fd, time_t mtime,
                         struct pandora_error *error_r);

    /*
     * spool_pressure - "not now": -EAGAIN when `limits` are reached, else 0.
     * state_r (may be NULL) gets the figures either way; data_files is only
     * counted (a read of the whole directory) when limits is NULL or has a
     * queue_limit, else it is 0.
     */
    int (*spool_pressure)(struct pandora_ctx *ctx,
                          const struct pandora_spool_limits *limits,
                          struct pandora_spool_state *state_r,
                          struct pandora_error *error_r);

    /*
     * Group commit. A batch writes many files into one directory with as few
     * flushes as the filesystem allows:
     *   batch_open  - start a batch; `tag` (spool-safe, e.g. a remote's id)
     *                 names the staging area that survives a crash.
     *   batch_add   - copy src_fd (offset to EOF) to a hidden temporary.
     *   batch_stage - make every added file durable (one flush round) and
     *                 move it to the batch's staging area: from here on a
     *                 crash keeps it, and spool_staged_list() finds it.
     *   batch_publish - stage if not done yet, then rename every staged file
     *                 into place without overwriting, one directory flush;
     *                 result_fn reports each name.
     *   batch_close - end the batch: temporaries not yet staged are removed,
     *                 staged ones stay for spool_staged_*. Accepts NULL.
     * A batch is used by one thread at a time.
     */
    int (*spool_batch_open)(struct pandora_ctx *ctx, const char *subdir,
                            const char *tag,
                            struct pandora_spool_batch **batch_r,
                            struct pandora_error *error_r);
    int (*spool_batch_add)(struct pandora_ctx *ctx,
                           struct pandora_spool_batch *batch, const char *name,
                           int src_fd, time_t mtime,
                           struct pandora_error *error_r);
    int (*spool_batch_stage)(struct pandora_ctx *ctx,
                             struct pandora_spool_batch *batch,
                             struct pandora_error *error_r);
    int (*spool_batch_publish)(struct pandora_ctx *ctx,
                               struct pandora_spool_batch *batch,
                               pandora_spool_result_fn *result_fn, void *data,
                               struct pandora_error *error_r);
    void (*spool_batch_close)(struct pandora_ctx *ctx,
                              struct pandora_spool_batch *batch);

    /*
     * Staged files left by an earlier run (crash recovery):
     *   staged_list    - call fn for each staged name under (subdir, tag).
     *   staged_publish - rename one into place (no overwrite) durably;
     *                    mtime as in spool_deliver.
     *   staged_discard - remove one.
     */
    int (*spool_staged_list)(struct pandora_ctx *ctx, const char *subdir,
                             const char *tag, pandora_spool_staged_fn *fn,
                             void *data, struct pandora_error *error_r);
    int (*spool_staged_publish)(struct pandora_ctx *ctx, const char *subdir,
                                const char *tag, const char *name,
                                time_t mtime, struct pandora_error *error_r);
    int (*spool_staged_discard)(struct pandora_ctx *ctx, const char *subdir,
                                const char *tag, const char *name,
                                struct pandora_error *error_r);

    /* spool_name_is_safe - would the spool accept this file name? */
    bool (*spool_name_is_safe)(const char *name);

    /*
     * state_save - atomically and durably replace `relpath` (a file name in
     * the module's state_dir) with `len` bytes. state_load reads it into a
     * malloc'd, NUL-terminated buffer the caller frees; -ENOENT if absent.
     */
    int (*state_save)(struct pandora_ctx *ctx, const char *relpath,
                      const void *buf, size_t len,
                      struct pandora_error *error_r);
    int (*state_load)(struct pandora_ctx *ctx, const char *relpath,
                      char **buf_r, size_t *len_r,
                      struct pandora_error *error_r);

    /*
     * Status writer, only inside the status() callback.
     *   status_row - following fields go to row `id` of `table` ("remotes");
     *                table NULL returns to the service's own fields.
     *   status_<type> - one field. Strings are copied.
     */
    void (*status_row)(struct pandora_status *st, const char *table,
                       const char *id);
    void (*status_string)(struct pandora_status *st, const char *key,
                          const char *value);
    void (*status_int)(struct pandora_status *st, const char *key,
                       int64_t value);
    void (*status_uint)(struct pandora_status *st, const char *key,
                        uint64_t value);
    void (*status_double)(struct pandora_status *st, const char *key,
                          double value);
    void (*status_bool)(struct pandora_status *st, const char *key,
                        bool value);
    void (*status_time)(struct pandora_status *st, const char *key,
                        time_t value); /* 0: never */

    /* ---- 1.1: new members go here, never above ---- */
};

/* ------------------------------------------------------------------------
 * The module descriptor: export exactly one, named pandora_module.
 *
 *   const struct pandora_module pandora_module = {
 *       PANDORA_MODULE_ABI,
 *       .name = "syncserver", .version = PACKAGE_VERSION,
 *       .init = ss_init, .fini = ss_fini,
 *   };
 *
 * init - register services (only here). A failure is undone by the host:
 *        services it registered are dropped with their data_free.
 * fini - after every service stopped and its data was freed; may be NULL.
 */
struct pandora_module {
    uint16_t abi_major;   /* == the host's                  */
    uint16_t abi_minor;   /* <= the host's                  */
    uint32_t struct_size; /* sizeof(struct pandora_module)  */
    const char *name;
    const char *version;
    int (*init)(struct pandora_ctx *ctx, const struct pandora_host_api *api);
    void (*fini)(struct pandora_ctx *ctx);
    void *reserved[4];    /* zero; room for later members   */
};

#ifdef __cplusplus
}
#endif

#endif /* PANDORA_PLUGIN_H */
