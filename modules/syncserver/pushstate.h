/*
 * pushstate.h - what one remote holds of the centre's configuration files
 * (by content hash), the local files' identities that tell cheaply whether
 * a file changed, and the agents whose data came through that remote.
 *
 * One struct pushstate lives for one config phase: loaded from the
 * remote's state file, changed, dumped back (pushstate_dump gives a
 * canonical text, so "nothing changed" is "same text"). The file is
 * "confsync 1" then one line per entry:
 *
 *   f <kind> <remote-hash|-> <local-hash|-> <size> <mtime-s> <mtime-ns>
 *     <inode> <flags|-> <listed> <name>
 *   s <md5 of an agent name, hex>
 *
 * Hashes are SHA-256 in hex. Malformed lines are skipped: it is our own
 * file, written atomically, and an entry lost costs one push more.
 *
 * THREADS: a struct pushstate belongs to one remote's cycle; no locking.
 */
#ifndef SS_PUSHSTATE_H
#define SS_PUSHSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

/* The kinds of files, in the order they go to a remote: an agent reads a
 * new .md5 as "new configuration ready", so md5 goes last. */
enum ps_kind { PS_CONF, PS_ZIP, PS_RCMD, PS_MD5, PS_KINDS };

#define PS_HEX 65          /* SHA-256 in hex, NUL-terminated */
#define PS_AGENT_HEX 33    /* MD5 in hex, NUL-terminated     */

/* What identifies a local file's content without reading it. */
struct ps_id {
    uint64_t size, ino;
    int64_t mtime_s;
    long mtime_ns;
};

struct ps_entry {
    struct ps_entry *next;   /* private: hash chain                       */
    enum ps_kind kind;
    char remote[PS_HEX];     /* content the remote holds; "" none/unknown */
    char local[PS_HEX];      /* content of the local file; "" absent      */
    struct ps_id id;         /* the local file when `local` was hashed    */
    bool id_ok;              /* id may be trusted (see pushstate_set_local)*/
    bool attempted;          /* a push of `local` began, not confirmed    */
    char noted;              /* refusal already logged for `local`, or 0  */
    time_t listed;           /* listed remotely while unknown (settle), 0 */
    /* this visit only, never saved */
    bool present;            /* the local file exists                     */
    bool unreadable;         /* ... but could not be read                 */
    bool rlisted;            /* the remote listed it                      */
    char name[];
};

struct pushstate;

struct pushstate *pushstate_new(void);
void pushstate_free(struct pushstate *ps);

/* pushstate_load - merge a state file's text. */
void pushstate_load(struct pushstate *ps, const char *text, size_t len);

/*
 * pushstate_dump - the state file's text (malloc'd; NULL when out of
 * memory), sorted, without entries that say nothing (neither side has the
 * file and no settle time runs). *changed_r: the text differs from the
 * last one loaded or saved. pushstate_saved - the text was saved: it is
 * the new reference (ps takes it over and frees it).
 */
char *pushstate_dump(struct pushstate *ps, size_t *len_r, bool *changed_r);
void pushstate_saved(struct pushstate *ps, char *text, size_t len);

/* pushstate_find - the entry, or NULL. pushstate_add - find or create
 * (NULL when out of memory). */
struct ps_entry *pushstate_find(struct pushstate *ps, enum ps_kind kind,
                                const char *name);
struct ps_entry *pushstate_add(struct pushstate *ps, enum ps_kind kind,
                               const char *name);

/* pushstate_entries - every entry in push order (kind, then name) in a
 * malloc'd array the caller frees; NULL with *n_r 0 when empty or out of
 * memory. The entries stay owned by ps. */
struct ps_entry **pushstate_entries(struct pushstate *ps, size_t *n_r);

/* pushstate_sort - push order: conf, zip, rcmd, then md5; by name within */
void pushstate_sort(struct ps_entry **v, size_t n);

/*
 * Change detection. pushstate_fresh - e->local still describes the file
 * whose stat is st (same size, mtime and inode), so its body need not be
 * read. pushstate_set_local - record the hash of the file with stat st. A
 * file modified within the last PS_RACY_S seconds is not trusted by its
 * stat (a second write in the same clock tick keeps size and mtime): it is
 * hashed again at the next look.
 */
#define PS_RACY_S 2
bool pushstate_fresh(const struct ps_entry *e, const struct stat *st);
/* pushstate_same_file - st is the file that was hashed, trusted or not:
 * within one visit, a file whose stat did not move is the one hashed (a
 * racy one is hashed again at the next visit anyway). */
bool pushstate_same_file(const struct ps_entry *e, const struct stat *st);
void pushstate_set_local(struct ps_entry *e, const char *hex,
                         const struct stat *st, time_t now);

/* pushstate_hash_fd - SHA-256 of fd from its offset to EOF, in hex.
 * 0 or -errno (-EIO when the hash is unavailable). */
int pushstate_hash_fd(int fd, char out[PS_HEX]);

/* The agents seen through this remote, by the name of their conf file:
 * md5 of the agent name in lower-case hex. pushstate_seen_agent - add the
 * agent `name[0..len)`; 0, -ENOMEM, or -EIO without MD5 (FIPS mode). */
int pushstate_agent_key(const char *name, size_t len,
                        char out[PS_AGENT_HEX]);
int pushstate_seen_agent(struct pushstate *ps, const char *name, size_t len);
int pushstate_seen_key(struct pushstate *ps, const char *key);
bool pushstate_seen(struct pushstate *ps, const char *key);

#endif
