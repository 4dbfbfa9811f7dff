/*
 * confsync.c - the config phase of a visit (see confsync.h).
 *
 * Steps: load the remote's push state; remember the agents whose data
 * this visit delivered; scan the local directories (stat only, hash what
 * changed); list the remote's four directories; forget what the remote
 * lost; pull agent-created .conf/.md5 and check conflicts; push what
 * differs, md5 last; save.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "confsync.h"
#include "plan.h"
#include "pull.h"
#include "pushstate.h"

#define CS_MAX_NAMES 100000     /* listing bound per remote directory     */
/* A long push is checkpointed after max(CS_SAVE_FILES, 1/CS_SAVE_PARTS of
 * it) files or CS_SAVE_SECONDS: a crash redoes little, and a big push
 * rewrites the whole state file only a few times. */
#define CS_SAVE_FILES 100
#define CS_SAVE_PARTS 8
#define CS_SAVE_SECONDS 5.0
#define CS_RECONNECTS 2         /* fresh connections after a lost one     */

/* Where each kind lives: the local subdirectory (the remote's -i rules
 * route the same suffixes into the same names), and the LS argument that
 * selects it on the remote (PROTOCOL.md §2: the argument only selects the
 * directory). */
static const struct {
    const char *subdir, *suffix, *probe;
} dirs[PS_KINDS] = {
    [PS_CONF] = { "conf", ".conf", "sync-probe.conf" },
    [PS_ZIP] = { "collections", ".zip", "sync-probe.zip" },
    [PS_RCMD] = { "commands", ".rcmd", "sync-probe.rcmd" },
    [PS_MD5] = { "md5", ".md5", "sync-probe.md5" },
};

struct cs {
    struct remote *r;
    struct ss *ss;
    const char *label;
    struct tn_conn **conn;
    struct pushstate *ps;
    time_t now;
    int dirfd[PS_KINDS];      /* -1: absent or unreadable                  */
    bool scanned[PS_KINDS];   /* the local directory was read              */
    bool listed_whole;        /* the remote's four listings were read whole */
    unsigned reconnects;      /* fresh connections left after a lost one   */
    bool dead;                /* no connection for the rest of the visit   */
    bool no_pull;             /* no scratch file: pulling is off           */
    int tmpfd;                /* scratch for RECV; -1 until needed         */
    double saved_at;          /* CLOCK_MONOTONIC of the last checkpoint    */
    unsigned unsaved;         /* pushes since                              */
    size_t save_every;        /* pushes between two checkpoints            */
    bool save_warned;
    /* the outcome, for the log and the health row */
    uint64_t pushed, bytes, pulled, refused, unreadable, conflicts, errors;
    uint64_t vanished, pending;
    unsigned invalid;
    char invalid_example[64];
    char last_error[256];
};

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* printable - a name as it may be logged (control bytes as '?') */
static const char *printable(char *out, size_t size, const char *name)
{
    size_t i = 0;

    for (; name[i] != '\0' && i + 1 < size; i++)
        out[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?'
                                                                  : name[i];
    out[i] = '\0';
    return out;
}

/* kind_of_name - the kind a name's suffix says, or -1 */
static int kind_of_name(const char *name, size_t len)
{
    for (int k = 0; k < PS_KINDS; k++) {
        size_t sl = strlen(dirs[k].suffix);
        if (len > sl && strcmp(name + len - sl, dirs[k].suffix) == 0)
            return k;
    }
    return -1;
}

/* base_of - name without its kind's suffix, into out; false if too long */
static bool base_of(const char *name, enum ps_kind k, char *out, size_t size)
{
    size_t n = strlen(name) - strlen(dirs[k].suffix);

    if (n + 1 > size)
        return false;
    memcpy(out, name, n);
    out[n] = '\0';
    return true;
}

/* ---- errors ------------------------------------------------------------- */

/* remember_error - the text becomes the remote's last push error */
static void remember_error(struct cs *cs, const char *text)
{
    size_t n = strnlen(text, sizeof(cs->last_error) - 1);

    memcpy(cs->last_error, text, n); /* a long one is cut, on purpose */
    cs->last_error[n] = '\0';
}

/* cs_error - an error of this phase: logged, counted, remembered. The
 * text starts with the remote's label. */
__attribute__((format(printf, 2, 3)))
static void cs_error(struct cs *cs, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    SS_LOG(cs->ss, PANDORA_LOG_ERROR, "%s", text);
    remember_error(cs, text);
    cs->errors++;
}

/* ---- the connection ----------------------------------------------------- */

/* give_up - the remote is lost for this visit: the rest waits */
static void give_up(struct cs *cs, const struct tn_error *err)
{
    cs_error(cs, "%s; config sync stops here for this visit, the rest is "
             "pushed at the next one", err->text);
    cs->dead = true;
}

/* ensure_conn - a live connection: the pull's, or a fresh one; false
 * when the visit is stopping or the remote was given up */
static bool ensure_conn(struct cs *cs, struct tn_error *err)
{
    if (*cs->conn != NULL && tn_alive(*cs->conn))
        return true;
    if (cs->dead || ss_should_stop(cs->ss))
        return false;
    tn_close(*cs->conn);
    *cs->conn = NULL;
    if (pull_open(cs->r, cs->conn, err) == TN_OK)
        return true;
    give_up(cs, err);
    return false;
}

/* may_retry - after a lost connection: one more try on a fresh one? A
 * reused connection may just have hit the remote's idle timeout, so the
 * first loss is only logged at info level. */
static bool may_retry(struct cs *cs, const struct tn_error *err)
{
    if (cs->reconnects == 0 || ss_should_stop(cs->ss)) {
        give_up(cs, err);
        return false;
    }
    cs->reconnects--;
    SS_LOG(cs->ss, PANDORA_LOG_INFO, "%s; config sync reconnects",
           err->text);
    return true;
}

typedef int cs_op_fn(struct cs *cs, void *arg, struct tn_error *err);

/* run_op - one Tentacle operation, again on a fresh connection if the
 * connection was lost (the operation must be repeatable) */
static int run_op(struct cs *cs, cs_op_fn *op, void *arg, struct tn_error *err)
{
    for (;;) {
        if (!ensure_conn(cs, err))
            return TN_FAIL;
        int rc = op(cs, arg, err);
        if (rc != TN_FAIL || !may_retry(cs, err))
            return rc;
    }
}

/* ---- the state file ----------------------------------------------------- */

static void state_file(const struct cs *cs, char *out, size_t size)
{
    snprintf(out, size, "confsync-%s", cs->r->spec->tag);
}

static int load(struct cs *cs)
{
    struct pandora_error e = { "" };
    char file[300], *buf = NULL;
    size_t len = 0;

    cs->ps = pushstate_new();
    if (cs->ps == NULL) {
        cs_error(cs, "%s: config sync skipped: out of memory", cs->label);
        return -ENOMEM;
    }
    state_file(cs, file, sizeof(file));
    int rc = cs->ss->api->state_load(cs->ss->ctx, file, &buf, &len, &e);
    if (rc == 0)
        pushstate_load(cs->ps, buf, len);
    else if (rc != -ENOENT)
        SS_LOG(cs->ss, PANDORA_LOG_WARNING, "%s: config push state not read "
               "(%s): every file is compared with the remote again",
               cs->label, e.text);
    free(buf);
    return 0;
}

/* save - write the state if it changed (atomically and durably: the host's
 * state_save) */
static void save(struct cs *cs)
{
    struct pandora_error e = { "" };
    char file[300];
    size_t len = 0;
    bool changed = false;
    char *text = pushstate_dump(cs->ps, &len, &changed);

    cs->saved_at = now_mono();
    cs->unsaved = 0;
    if (text == NULL || !changed) {
        free(text);
        return;
    }
    state_file(cs, file, sizeof(file));
    if (cs->ss->api->state_save(cs->ss->ctx, file, text, len, &e) == 0) {
        pushstate_saved(cs->ps, text, len);
        return;
    }
    free(text);
    if (!cs->save_warned)
        cs_error(cs, "%s: cannot save the config push state: %s; what was "
                 "pushed since the last save will be pushed again",
                 cs->label, e.text);
    cs->save_warned = true;
}

/* checkpoint - save now and then during a long push, so a crash redoes
 * little; every push is recorded only after its second SEND OK */
static void checkpoint(struct cs *cs)
{
    if (cs->unsaved >= cs->save_every ||
        (cs->unsaved > 0 && now_mono() - cs->saved_at >= CS_SAVE_SECONDS))
        save(cs);
}

/* ---- agents seen -------------------------------------------------------- */

/* note_seen - the agents whose data this visit delivered use this remote */
static void note_seen(struct cs *cs, const struct plan *pulled)
{
    for (size_t i = 0; pulled != NULL && i < pulled->n; i++) {
        const struct pull *p = &pulled->pulls[i];
        if (p->agent_len == 0 || !settle_was_delivered(cs->r->settle, p->name))
            continue;
        int rc = pushstate_seen_agent(cs->ps, p->name, p->agent_len);
        if (rc == -EIO) {
            cs_error(cs, "%s: no MD5 available (FIPS mode?): "
                     "sync_config_scope seen cannot tell agents' conf files; "
                     "use sync_config_scope all", cs->label);
            return;
        }
    }
}

/* note_seen_file - an agent's .conf/.md5 found on the remote: it is there */
static void note_seen_file(struct cs *cs, const struct ps_entry *e)
{
    char base[300];

    if ((e->kind == PS_CONF || e->kind == PS_MD5) &&
        base_of(e->name, e->kind, base, sizeof(base)))
        pushstate_seen_key(cs->ps, base); /* not an md5 name: not an agent */
}

/* ---- the local side ----------------------------------------------------- */

/* hash_local - hash the file and record it; false when it cannot be read */
static bool hash_local(struct cs *cs, struct ps_entry *e)
{
    char hex[PS_HEX];
    struct stat st;
    int rc = 0;
    int fd = openat(cs->dirfd[e->kind], e->name,
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) < 0)
        rc = -errno;
    if (rc == 0)
        rc = pushstate_hash_fd(fd, hex);
    if (fd >= 0)
        close(fd);
    if (rc == 0) {
        pushstate_set_local(e, hex, &st, cs->now);
        return true;
    }
    e->unreadable = true;
    cs->unreadable++;
    cs_error(cs, "%s: cannot read %s/%s/%s: %s; it is not pushed until the "
             "host may read it (check its owner and mode)", cs->label,
             cs->ss->api->incomingdir(cs->ss->ctx), dirs[e->kind].subdir,
             e->name, strerror(-rc));
    return false;
}

/* scan_one - one directory entry: a file of the kind, with a name
 * Tentacle can carry; hashed only when its stat moved */
static void scan_one(struct cs *cs, enum ps_kind k, const char *name)
{
    size_t len = strlen(name), sl = strlen(dirs[k].suffix);
    struct stat st;

    /* hidden names: the spool's own temporaries live here */
    if (name[0] == '.' || len <= sl ||
        strcmp(name + len - sl, dirs[k].suffix) != 0)
        return;
    if (fstatat(cs->dirfd[k], name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISREG(st.st_mode))
        return;
    if (!tn_name_valid(name, len)) {
        if (cs->invalid++ == 0)
            printable(cs->invalid_example, sizeof(cs->invalid_example), name);
        return;
    }
    struct ps_entry *e = pushstate_add(cs->ps, k, name);
    if (e == NULL) {
        cs->errors++;
        return;
    }
    e->present = true;
    if (!pushstate_fresh(e, &st))
        hash_local(cs, e);
}

/* scan_dir - every file of one local directory; 0 when read whole */
static int scan_dir(struct cs *cs, enum ps_kind k, const char *path)
{
    int fd = dup(cs->dirfd[k]);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        cs_error(cs, "%s: cannot read %s: %s; its files are neither pushed "
                 "nor pulled (check the directory's owner and mode)",
                 cs->label, path, strerror(errno));
        return -1;
    }
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        scan_one(cs, k, de->d_name);
        errno = 0;
    }
    int rc = errno;
    closedir(d);
    if (rc != 0) {
        cs_error(cs, "%s: cannot read %s: %s; its files are neither pushed "
                 "nor pulled", cs->label, path, strerror(rc));
        return -1;
    }
    return 0;
}

/* forget_absent - local files gone since the last visit: what the remote
 * holds stays known (it was ours: never pulled back as an agent's) */
static void forget_absent(struct cs *cs)
{
    size_t n = 0;
    struct ps_entry **v = pushstate_entries(cs->ps, &n);

    for (size_t i = 0; i < n; i++) {
        if (!cs->scanned[v[i]->kind] || v[i]->present)
            continue;
        v[i]->local[0] = '\0';
        v[i]->id_ok = false;
        v[i]->attempted = false;
        v[i]->noted = 0;
    }
    free(v);
}

/* scan - the four local directories; a missing one is empty */
static void scan(struct cs *cs)
{
    const char *in = cs->ss->api->incomingdir(cs->ss->ctx);
    char path[PATH_MAX];

    for (int k = 0; k < PS_KINDS; k++) {
        snprintf(path, sizeof(path), "%s/%s", in, dirs[k].subdir);
        cs->dirfd[k] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cs->dirfd[k] < 0 && errno == ENOENT)
            cs->scanned[k] = true;
        else if (cs->dirfd[k] < 0)
            cs_error(cs, "%s: cannot open %s: %s; its files are neither "
                     "pushed nor pulled (check the directory's owner and "
                     "mode)", cs->label, path, strerror(errno));
        else
            cs->scanned[k] = scan_dir(cs, (enum ps_kind)k, path) == 0;
    }
    forget_absent(cs);
    if (cs->invalid > 0)
        SS_LOG(cs->ss, PANDORA_LOG_WARNING, "%s: %u local configuration "
               "file(s) have names Tentacle cannot carry (e.g. '%s'): not "
               "pushed; rename them without ? [ ] / \\ = + < > : ; ' , * ~ "
               "or control characters", cs->label, cs->invalid,
               cs->invalid_example);
}

/* ---- the remote side: listings ------------------------------------------ */

struct ls_arg {
    enum ps_kind kind;
    size_t more;
};

/* on_listed - a name in one of the remote's directories, taken by its own
 * suffix: the remote's -i rules are unanchored and first-match, so
 * "a.conf.zip" lives in conf/, and without -i everything is in the root */
static int on_listed(void *data, const char *name, size_t len)
{
    struct cs *cs = data;
    int k = name[0] == '.' ? -1 : kind_of_name(name, len);
    struct ps_entry *e = k < 0 ? NULL : pushstate_add(cs->ps, k, name);

    if (e != NULL)
        e->rlisted = true;
    return 0;
}

static int op_ls(struct cs *cs, void *arg, struct tn_error *err)
{
    struct ls_arg *a = arg;
    size_t dropped = 0;

    a->more = 0;
    return tn_ls(*cs->conn, dirs[a->kind].probe, CS_MAX_NAMES, on_listed, cs,
                 &a->more, &dropped, err);
}

/* list - what the remote holds in its four directories; -1 when the
 * remote cannot be reached */
static int list(struct cs *cs)
{
    cs->listed_whole = true;
    for (int k = 0; k < PS_KINDS; k++) {
        struct ls_arg a = { (enum ps_kind)k, 0 };
        struct tn_error err = { 0 };
        int rc = run_op(cs, op_ls, &a, &err);

        if (rc == TN_FAIL)
            return -1;
        if (rc == TN_FILE)
            cs_error(cs, "%s; its %s files are compared again at the next "
                     "visit", err.text, dirs[k].suffix);
        if (rc != TN_OK || a.more > 0)
            cs->listed_whole = false;
    }
    return 0;
}

/* forget_vanished - files the remote had from us and no longer lists
 * (a wiped buffer): push them again. Settle times of names gone end. */
static void forget_vanished(struct cs *cs, struct ps_entry **v, size_t n)
{
    for (size_t i = 0; i < n && cs->listed_whole; i++) {
        struct ps_entry *e = v[i];
        if (e->rlisted)
            continue;
        e->listed = 0;
        if (e->remote[0] != '\0') {
            e->remote[0] = '\0';
            cs->vanished++;
        }
    }
    if (cs->vanished > 0)
        SS_LOG(cs->ss, PANDORA_LOG_WARNING, "%s: %llu configuration file(s) "
               "pushed earlier are gone from the remote: pushing them again",
               cs->label, (unsigned long long)cs->vanished);
}

/* ---- the remote side: pulling ------------------------------------------- */

/* scratch - the RECV scratch file, opened when first needed */
static int scratch(struct cs *cs)
{
    if (cs->tmpfd < 0)
        cs->tmpfd = pull_scratch_open(cs->ss);
    return cs->tmpfd;
}

static int sink_scratch(void *data, uint64_t size)
{
    struct cs *cs = data;

    (void)size;
    if (ftruncate(cs->tmpfd, 0) < 0 || lseek(cs->tmpfd, 0, SEEK_SET) < 0)
        return TN_SINK_DECLINE;
    return cs->tmpfd;
}

struct recv_arg {
    const char *name;
    uint64_t size;
};

static int op_recv(struct cs *cs, void *arg, struct tn_error *err)
{
    struct recv_arg *a = arg;

    return tn_get(*cs->conn, TN_RECV, a->name, sink_scratch, cs, &a->size,
                  err);
}

/* fetch - RECV (the remote keeps its copy) into the scratch file, rewound,
 * and its hash; false when it was not fetched */
static bool fetch(struct cs *cs, const struct ps_entry *e, char hex[PS_HEX],
                  uint64_t *size_r)
{
    struct recv_arg a = { e->name, 0 };
    struct tn_error err = { 0 };

    if (scratch(cs) < 0 || ftruncate(cs->tmpfd, 0) < 0) {
        cs_error(cs, "%s: no scratch file in %s: %s; agent configuration is "
                 "not pulled", cs->label,
                 cs->ss->api->state_dir(cs->ss->ctx), strerror(errno));
        cs->no_pull = true;
        return false;
    }
    int rc = run_op(cs, op_recv, &a, &err);
    if (rc == TN_FILE && err.kind == TN_F_MISSING)
        SS_LOG(cs->ss, PANDORA_LOG_DEBUG, "%s", err.text);
    else if (rc == TN_FILE)
        cs_error(cs, "%s; it is not pulled", err.text);
    if (rc != TN_OK)
        return false;
    /* a 0-byte file leaves the scratch empty and the connection closed */
    if (lseek(cs->tmpfd, 0, SEEK_SET) < 0 ||
        pushstate_hash_fd(cs->tmpfd, hex) < 0 ||
        lseek(cs->tmpfd, 0, SEEK_SET) < 0) {
        cs_error(cs, "%s: cannot read back %s pulled from the remote: %s",
                 cs->label, e->name, strerror(errno));
        return false;
    }
    *size_r = a.size;
    return true;
}

/* compare - both sides have it and we never pushed it: same content, or a
 * conflict the centre wins (its copy is pushed next) */
static void compare(struct cs *cs, struct ps_entry *e, const char *rhex)
{
    memcpy(e->remote, rhex, PS_HEX);
    e->listed = 0;
    note_seen_file(cs, e);
    if (strcmp(rhex, e->local) == 0)
        return;
    cs->conflicts++;
    SS_LOG(cs->ss, PANDORA_LOG_WARNING, "%s: conflict: %s on the remote "
           "differs from %s/%s/%s; the centre wins: its copy is pushed (an "
           "agent's own change there is lost)", cs->label, e->name,
           cs->ss->api->incomingdir(cs->ss->ctx), dirs[e->kind].subdir,
           e->name);
}

/* deliver - an agent created it on the remote and the centre has none:
 * publish it (never over a central file) */
static void deliver(struct cs *cs, struct ps_entry *e, const char *rhex,
                    uint64_t size)
{
    struct pandora_error pe = { "" };
    const char *in = cs->ss->api->incomingdir(cs->ss->ctx);

    if (size == 0) {
        memcpy(e->remote, rhex, PS_HEX); /* not read again */
        e->listed = 0;
        SS_LOG(cs->ss, PANDORA_LOG_WARNING, "%s: %s on the remote is empty: "
               "not pulled", cs->label, e->name);
        return;
    }
    int rc = cs->ss->api->spool_deliver(cs->ss->ctx, dirs[e->kind].subdir,
                                        e->name, cs->tmpfd, 0, &pe);
    if (rc == -EEXIST) /* a central copy appeared: compared next visit */
        return;
    if (rc < 0) {
        cs_error(cs, "%s: cannot deliver %s pulled from the remote: %s; "
                 "tried again at the next visit", cs->label, e->name,
                 pe.text);
        return;
    }
    /* the new file is hashed at the next visit (it is racy by its mtime) */
    memcpy(e->remote, rhex, PS_HEX);
    memcpy(e->local, rhex, PS_HEX);
    e->id_ok = false;
    e->present = true;
    e->listed = 0;
    cs->pulled++;
    note_seen_file(cs, e);
    SS_LOG(cs->ss, PANDORA_LOG_INFO, "%s: pulled %s (created by an agent on "
           "the remote) into %s/%s", cs->label, e->name, in,
           dirs[e->kind].subdir);
}

/* settled - listed long enough (sync_settle, by our clock): an agent's
 * upload is not atomic, a half-written conf must not be taken */
static bool settled(struct cs *cs, struct ps_entry *e)
{
    unsigned s = cs->ss->conf->settle;

    if (s == 0)
        return true;
    if (e->listed == 0 || e->listed > cs->now)
        e->listed = cs->now;
    return cs->now - e->listed >= (time_t)s;
}

/* pull_candidate - a .conf/.md5 the remote has and we know nothing of:
 * neither pushed by us (even partly) nor compared yet */
static bool pull_candidate(const struct cs *cs, const struct ps_entry *e)
{
    return (e->kind == PS_CONF || e->kind == PS_MD5) && e->rlisted &&
           e->remote[0] == '\0' && !e->attempted && !e->unreadable &&
           cs->scanned[e->kind] && (!e->present || e->local[0] != '\0');
}

/* md5_orphaned - an agent's md5 would come home although the centre keeps
 * its own, different conf of that name: the md5 would describe the wrong
 * conf (and, never pushed over, hide the centre's conf from the agent) */
static bool md5_orphaned(struct cs *cs, const struct ps_entry *e)
{
    char base[300], name[310];
    const struct ps_entry *conf;

    if (e->kind != PS_MD5 || e->present ||
        !base_of(e->name, PS_MD5, base, sizeof(base)))
        return false;
    snprintf(name, sizeof(name), "%s.conf", base);
    conf = pushstate_find(cs->ps, PS_CONF, name);
    return conf != NULL && conf->present &&
           strcmp(conf->local, conf->remote) != 0;
}

/* pull - agent-created files home, conflicts found (conf before md5) */
static void pull(struct cs *cs, struct ps_entry **v, size_t n)
{
    for (size_t i = 0; i < n && !cs->dead && !cs->no_pull &&
                       !ss_should_stop(cs->ss); i++) {
        struct ps_entry *e = v[i];
        char rhex[PS_HEX];
        uint64_t size = 0;

        if (!pull_candidate(cs, e) || !settled(cs, e))
            continue;
        if (!e->present && !cs->ss->api->spool_name_is_safe(e->name)) {
            SS_LOG(cs->ss, PANDORA_LOG_DEBUG, "%s: %s cannot be delivered "
                   "safely: not pulled", cs->label, e->name);
            continue;
        }
        if (!fetch(cs, e, rhex, &size))
            continue;
        if (e->present) {
            compare(cs, e, rhex);
        } else if (md5_orphaned(cs, e)) {
            memcpy(e->remote, rhex, PS_HEX); /* known: never pulled */
            e->listed = 0;
            SS_LOG(cs->ss, PANDORA_LOG_WARNING, "%s: %s on the remote is "
                   "not pulled: it describes the agent's own conf, which the "
                   "centre's conf replaces; write its md5 on the centre",
                   cs->label, e->name);
        } else {
            deliver(cs, e, rhex, size);
        }
    }
}

/* ---- pushing ------------------------------------------------------------ */

/* in_scope - sync_config_scope seen: an agent's .conf/.md5 only where its
 * data came from; collections, their md5 and commands go everywhere */
static bool in_scope(struct cs *cs, const struct ps_entry *e)
{
    char base[300], zip[310];

    if (cs->ss->conf->config_scope != SS_SCOPE_SEEN ||
        e->kind == PS_ZIP || e->kind == PS_RCMD ||
        !base_of(e->name, e->kind, base, sizeof(base)))
        return true;
    if (e->kind == PS_MD5) {
        snprintf(zip, sizeof(zip), "%s.zip", base);
        const struct ps_entry *z = pushstate_find(cs->ps, PS_ZIP, zip);
        if (z != NULL && z->present)
            return true;
    }
    return pushstate_seen(cs->ps, base);
}

static bool wants_push(struct cs *cs, const struct ps_entry *e)
{
    return e->present && !e->unreadable && e->local[0] != '\0' &&
           cs->scanned[e->kind] && strcmp(e->local, e->remote) != 0 &&
           in_scope(cs, e);
}

/* held_back - an md5 waits until the conf or collection of its name is
 * on the remote as it is here: the agent takes a new md5 as "ready" */
static bool held_back(struct cs *cs, const struct ps_entry *md5)
{
    static const enum ps_kind partners[] = { PS_CONF, PS_ZIP };
    char base[300], name[310];

    if (!base_of(md5->name, PS_MD5, base, sizeof(base)))
        return true;
    for (size_t i = 0; i < sizeof(partners) / sizeof(partners[0]); i++) {
        enum ps_kind k = partners[i];
        if (!cs->scanned[k])
            return true;
        snprintf(name, sizeof(name), "%s%s", base, dirs[k].suffix);
        const struct ps_entry *p = pushstate_find(cs->ps, k, name);
        if (p != NULL && p->present &&
            (p->unreadable || strcmp(p->local, p->remote) != 0))
            return true;
    }
    return false;
}

/* refused - the remote said no to one file: the reason and the fix, logged
 * once per content (then at debug level), counted every visit */
static void refused(struct cs *cs, struct ps_entry *e,
                    const struct tn_error *err, uint64_t size)
{
    char text[512];
    char code;

    if (err->kind == TN_F_EXISTS) {
        code = 'o';
        snprintf(text, sizeof(text), "%s: remote runs without -o: cannot "
                 "update %s; start its tentacle_server with -o",
                 cs->label, e->name);
    } else if (err->kind == TN_F_TOO_BIG) {
        code = 'm';
        snprintf(text, sizeof(text), "%s: remote refuses %s (%llu B): over "
                 "its -m limit; start its tentacle_server with -m %llu or "
                 "more", cs->label, e->name, (unsigned long long)size,
                 (unsigned long long)size);
    } else {
        code = 'r';
        snprintf(text, sizeof(text), "%s; it is tried again at the next "
                 "visit", err->text);
    }
    SS_LOG(cs->ss, e->noted == code ? PANDORA_LOG_DEBUG : PANDORA_LOG_ERROR,
           "%s", text);
    e->noted = code;
    remember_error(cs, text);
    cs->refused++;
    cs->errors++;
}

struct send_arg {
    const struct ps_entry *e;
    int fd;
    uint64_t size;
};

static int op_send(struct cs *cs, void *arg, struct tn_error *err)
{
    struct send_arg *a = arg;

    if (lseek(a->fd, 0, SEEK_SET) < 0) { /* from the start on every try */
        err->kind = TN_E_LOCAL;
        snprintf(err->text, sizeof(err->text), "%s: cannot rewind %s: %s",
                 cs->label, a->e->name, strerror(errno));
        return TN_FILE;
    }
    return tn_send(*cs->conn, a->e->name, a->fd, a->size, err);
}

/* open_current - the file as it is now, hashed again if it moved since
 * the scan; -1 when it is gone, unreadable or now equal to the remote */
static int open_current(struct cs *cs, struct ps_entry *e, struct stat *st)
{
    char hex[PS_HEX];
    int fd = openat(cs->dirfd[e->kind], e->name,
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0 || fstat(fd, st) < 0) {
        if (errno != ENOENT) /* removed meanwhile: nothing to push */
            hash_local(cs, e); /* reports why it cannot be read */
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (pushstate_same_file(e, st))
        return fd;
    if (pushstate_hash_fd(fd, hex) < 0) {
        close(fd);
        hash_local(cs, e);
        return -1;
    }
    pushstate_set_local(e, hex, st, cs->now);
    if (strcmp(e->local, e->remote) == 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* push_one - SEND one file; recorded only after the second SEND OK, and
 * only if the file did not move while it was sent */
static void push_one(struct cs *cs, struct ps_entry *e)
{
    struct stat st, after;
    struct tn_error err = { 0 };
    int fd = open_current(cs, e, &st);

    if (fd < 0)
        return;
    if (st.st_size == 0) {
        close(fd);
        err.kind = TN_F_REFUSED;
        snprintf(err.text, sizeof(err.text), "%s: %s/%s is empty: Tentacle "
                 "cannot carry empty files, it is not pushed", cs->label,
                 dirs[e->kind].subdir, e->name);
        refused(cs, e, &err, 0);
        return;
    }
    struct send_arg a = { e, fd, (uint64_t)st.st_size };
    int rc = run_op(cs, op_send, &a, &err);
    bool same = fstat(fd, &after) == 0 && pushstate_same_file(e, &after);
    close(fd);
    if (rc == TN_FILE) {
        refused(cs, e, &err, a.size);
        return;
    }
    if (rc != TN_OK)
        return;
    if (!same) {
        SS_LOG(cs->ss, PANDORA_LOG_DEBUG, "%s: %s changed while it was "
               "pushed: pushed again at the next visit", cs->label, e->name);
        return;
    }
    memcpy(e->remote, e->local, PS_HEX);
    e->attempted = false;
    e->noted = 0;
    cs->pushed++;
    cs->bytes += a.size;
    cs->unsaved++;
    SS_LOG(cs->ss, PANDORA_LOG_DEBUG, "%s: pushed %s (%llu B)", cs->label,
           e->name, (unsigned long long)a.size);
}

/* push - what differs, in push order. Before the first byte, the files
 * about to go are marked (durably): after a crash, a partial copy on the
 * remote is known to be ours, not an agent's. */
static void push(struct cs *cs, struct ps_entry **v, size_t n)
{
    bool marked = false;
    size_t todo = 0;

    for (size_t i = 0; i < n; i++) {
        if (!wants_push(cs, v[i]))
            continue;
        todo++;
        if (!v[i]->attempted) {
            v[i]->attempted = true;
            marked = true;
        }
    }
    cs->save_every = todo / CS_SAVE_PARTS > CS_SAVE_FILES
                         ? todo / CS_SAVE_PARTS : CS_SAVE_FILES;
    if (marked)
        save(cs);
    for (size_t i = 0; i < n && !cs->dead && !ss_should_stop(cs->ss); i++) {
        struct ps_entry *e = v[i];
        if (!wants_push(cs, e) || (e->kind == PS_MD5 && held_back(cs, e)))
            continue;
        push_one(cs, e);
        checkpoint(cs);
    }
}

/* ---- the visit ---------------------------------------------------------- */

/* count_pending - what differs from the remote after this visit, apart
 * from the files refused in it */
static void count_pending(struct cs *cs, struct ps_entry **v, size_t n)
{
    uint64_t differ = 0;

    for (size_t i = 0; i < n; i++)
        differ += wants_push(cs, v[i]);
    cs->pending = differ > cs->refused ? differ - cs->refused : 0;
}

static void record(struct cs *cs)
{
    struct health *h = &cs->r->h;

    pthread_mutex_lock(&cs->r->lock);
    h->push_files_last = cs->pushed;
    h->push_bytes_last = cs->bytes;
    h->push_files_total += cs->pushed;
    h->push_bytes_total += cs->bytes;
    h->push_pending = cs->pending;
    h->push_failed = cs->refused + cs->unreadable;
    h->config_pulled_total += cs->pulled;
    h->config_conflicts_total += cs->conflicts;
    h->errors_total += cs->errors;
    if (cs->last_error[0] != '\0') {
        snprintf(h->last_push_error, sizeof(h->last_push_error), "%s",
                 cs->last_error);
        h->last_push_error_time = time(NULL);
    }
    pthread_mutex_unlock(&cs->r->lock);
    if (cs->pushed + cs->pulled + cs->refused + cs->conflicts > 0 ||
        cs->dead)
        SS_LOG(cs->ss, PANDORA_LOG_INFO, "%s: config sync: %llu file(s) "
               "pushed (%llu B), %llu pulled, %llu refused, %llu "
               "conflict(s), %llu pending", cs->label,
               (unsigned long long)cs->pushed, (unsigned long long)cs->bytes,
               (unsigned long long)cs->pulled,
               (unsigned long long)cs->refused,
               (unsigned long long)cs->conflicts,
               (unsigned long long)cs->pending);
}

/* exchange - everything that needs the remote */
static void exchange(struct cs *cs)
{
    size_t n = 0;
    struct ps_entry **v;

    if (list(cs) == 0) {
        v = pushstate_entries(cs->ps, &n);
        forget_vanished(cs, v, n);
        pull(cs, v, n);
        push(cs, v, n);
        free(v);
    }
    v = pushstate_entries(cs->ps, &n);
    count_pending(cs, v, n);
    free(v);
}

void confsync_visit(struct remote *r, struct tn_conn **conn,
                    const struct plan *pulled)
{
    struct cs cs = { .r = r, .ss = r->ss, .label = r->spec->label,
                     .conn = conn, .now = time(NULL), .tmpfd = -1,
                     .reconnects = CS_RECONNECTS, .saved_at = now_mono() };

    for (int k = 0; k < PS_KINDS; k++)
        cs.dirfd[k] = -1;
    if (load(&cs) == 0) {
        note_seen(&cs, pulled);
        scan(&cs);
        exchange(&cs);
        save(&cs);
    }
    record(&cs);
    for (int k = 0; k < PS_KINDS; k++)
        if (cs.dirfd[k] >= 0)
            close(cs.dirfd[k]);
    if (cs.tmpfd >= 0)
        close(cs.tmpfd);
    pushstate_free(cs.ps);
}
