/*
 * remotes.h - the list of remotes: sync_address parsed, per-remote
 * overrides from pandora_hostd.conf merged in, checked as a whole.
 */
#ifndef SS_REMOTES_H
#define SS_REMOTES_H

#include <stdbool.h>
#include <stddef.h>

#include "ssconf.h"
#include "tls.h"

struct remote_spec {
    char *label;             /* "10.0.0.1:41121", "[::1]:41121"; unique   */
    char *tag;               /* spool- and file-name-safe form of label   */
    char *host;              /* without brackets                          */
    unsigned port;
    bool use_tls;
    struct tls_files tls;    /* borrowed from the conf                    */
    const char *password;    /* borrowed; NULL: none                      */
    const char *verify_name; /* NULL: chain only                          */
    unsigned connections;
    unsigned interval;       /* seconds                                   */
};

/*
 * remotes_build - every remote the conf names, in sync_address order, then
 * the overrides that add remotes. On error returns -EINVAL with err naming
 * the key (sync_address or the hostd.conf entry) and what is wrong.
 */
int remotes_build(const struct ss_conf *conf, struct remote_spec **specs_r,
                  size_t *n_r, char *err, size_t errlen);
void remotes_free(struct remote_spec *specs, size_t n);

/* remotes_split_address - "host", "host:port", "[v6]" or "[v6]:port";
 * port 0 when absent. -EINVAL with err on a malformed entry. */
int remotes_split_address(const char *entry, char **host_r, unsigned *port_r,
                          char *err, size_t errlen);

#endif
