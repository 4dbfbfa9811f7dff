/*
 * pidfile - a locked pid file: a second pandora_hostd with the same pid
 * file refuses to start instead of fighting over incomingdir.
 */
#ifndef CORE_PIDFILE_H
#define CORE_PIDFILE_H

#include <pandora/plugin.h>

struct pidfile;

/* pidfile_create - lock `path` (created 0644) and write our pid into it.
 * -EEXIST with the other pid in error_r if another process holds it. */
int pidfile_create(const char *path, struct pidfile **pf_r,
                   struct pandora_error *error_r);

/* pidfile_rewrite - write the current pid again (after daemonising). */
int pidfile_rewrite(struct pidfile *pf);

/* pidfile_remove - unlink and release. Accepts NULL. */
void pidfile_remove(struct pidfile *pf);

#endif
