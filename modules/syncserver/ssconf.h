/*
 * ssconf.h - the syncserver's settings, as the host fills them from
 * pandora_server.conf (sync_* keys) and pandora_hostd.conf (the
 * syncserver.remotes list). The host owns every string; they are borrowed
 * until the service is stopped or reconfigured.
 */
#ifndef SS_SSCONF_H
#define SS_SSCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ss_delivery { SS_SAFE, SS_FAST };
enum ss_scope { SS_SCOPE_ALL, SS_SCOPE_SEEN };

/* One entry of syncserver.remotes in pandora_hostd.conf; NULL/0: inherit. */
struct ss_override {
    char *address;
    unsigned port;
    char *password;
    unsigned connections;
    unsigned interval;
    char *ca, *cert, *key, *crl;
    char *verify_name;
};

struct ss_conf {
    char *address;             /* sync_address, parsed by remotes.c        */
    unsigned port;
    char *ca, *cert, *key, *crl;
    unsigned retries;
    unsigned timeout;          /* seconds                                  */
    unsigned block_size;
    char *password;
    unsigned interval;         /* seconds                                  */
    unsigned connections;
    int delivery;              /* enum ss_delivery                         */
    bool config;
    char *pull_regex;
    uint64_t max_file_size;
    uint64_t queue_limit;
    uint64_t min_free;         /* MiB                                      */
    bool verify_name;
    int config_scope;          /* enum ss_scope                            */
    unsigned settle;           /* seconds                                  */
    unsigned max_files;
    uint64_t max_bytes;

    struct ss_override *overrides;  /* from pandora_hostd.conf             */
    size_t n_overrides;
};

#endif
