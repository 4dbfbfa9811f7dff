/*
 * confsync.h - the config phase of a visit (DESIGN.md 2.3 "config sync"):
 * keep one remote's copy of the agents' configuration up to date, and
 * bring home the configuration agents created there.
 *
 * Push: the .conf files of incomingdir's conf/, the .zip of collections/,
 * the .rcmd of commands/, then the .md5 of md5/ (an agent reads a new md5 as "new configuration ready",
 * so an md5 goes only once the conf or collection of the same name is on
 * the remote), each file only when its content differs from what the
 * remote holds. sync_config_scope seen sends an agent's .conf/.md5 only to
 * the remotes its data came from.
 *
 * Pull: a .conf/.md5 the remote lists (LS <x.conf>, LS <x.md5>) that the
 * centre has none of is RECV'd (the remote copy stays, the agent reads it)
 * and delivered into incomingdir/conf or /md5. A central file is never
 * replaced; when both exist and differ, the conflict is logged and the
 * centre's copy is pushed.
 *
 * What the remote holds is kept in the state file "confsync-<tag>"
 * (pushstate.h), saved durably as the push goes: a file counts as pushed
 * only after the remote's second SEND OK, so a restart pushes nothing
 * unchanged and redoes an interrupted push. Unchanged local files are
 * recognised by size, mtime and inode, never read.
 *
 * THREADS: one visit per remote at a time (the remote's cycle thread).
 */
#ifndef SS_CONFSYNC_H
#define SS_CONFSYNC_H

#include "ss.h"

struct plan;

/*
 * confsync_visit - the config phase, after pulling. *conn is used if it is
 * alive, else (re)opened; it is left open or NULL for the caller to close.
 * `pulled` is the visit's plan: the agents whose files were delivered are
 * remembered for sync_config_scope seen (NULL: none). Failures are logged
 * and counted in the remote's health (push fields, errors_total); they do
 * not change the visit's outcome.
 */
void confsync_visit(struct remote *r, struct tn_conn **conn,
                    const struct plan *pulled);

#endif
