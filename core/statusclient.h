/*
 * statusclient - `pandora_hostd --status [--json]` and `--poll NAME`: ask
 * the running daemon over HTTP at status.listen/status.port from
 * pandora_hostd.conf (a wildcard listen address is asked on loopback),
 * with the bearer token from status.token_file when one is set.
 *
 * Exit status (returned): 0 fine; 1 a remote is failing or a service is
 * down (--status), or the poll was refused (--poll); 3 the daemon could not
 * be asked (not running, listener disabled, token refused...): a message
 * on stderr says what to do. The token is never printed.
 *
 * THREADS: main thread; no daemon state is touched.
 */
#ifndef CORE_STATUSCLIENT_H
#define CORE_STATUSCLIENT_H

#include <stdbool.h>
#include <stdio.h>

struct hostconf;

#define STATUSCLIENT_OK 0
#define STATUSCLIENT_PROBLEM 1
#define STATUSCLIENT_UNREACHABLE 3

/* Seconds to connect, and to wait for the whole reply. */
#define STATUSCLIENT_TIMEOUT 10

int statusclient_status(const struct hostconf *hc, bool json, FILE *out);
int statusclient_poll(const struct hostconf *hc, const char *name, FILE *out);

#endif
