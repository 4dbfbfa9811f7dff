/*
 * hostconf - pandora_hostd.conf, the host's own settings (libconfig).
 *
 *   server_conf  string   pandora_server.conf path
 *   module_dir   string   where modules are loaded from
 *   modules      array    module names to load ("syncserver" loads
 *                         module_dir/syncserver.so); absent: every *.so
 *   log_file     string   "" = stderr
 *   workers      int      1..256 worker threads (default 8)
 *   state_dir    string   modules' persistent state
 *   pid_file     string
 *   stop_timeout int      seconds a graceful stop may take (1..600, 10)
 *   status       group    enabled, listen (an IP address), port, token_file
 *                         (required when listen is not loopback)
 *   <service>    group    a service's own section (lists, see plugin.h)
 *
 * Every error names the file, the line and the setting. Types are strict:
 * `port = "41180";` is an error, not a silent default.
 */
#ifndef CORE_HOSTCONF_H
#define CORE_HOSTCONF_H

#include <stdbool.h>
#include <stdio.h>

#include <pandora/plugin.h>

struct hostconf_status {
    bool enabled;
    char *listen;      /* default "127.0.0.1" */
    unsigned port;     /* default 41180 */
    char *token_file;  /* NULL when unset or "" */
};

struct hostconf {
    char *path;        /* the file read, or NULL when none existed */
    char *server_conf;
    char *module_dir;
    char **modules;    /* NULL when absent: load every *.so */
    size_t n_modules;
    char *log_file;    /* NULL: stderr */
    unsigned workers;
    char *state_dir;
    char *pid_file;
    unsigned stop_timeout;
    struct hostconf_status status;
    void *priv;        /* the parsed libconfig tree, for service sections */
};

/* Built-in defaults (configure-time paths). */
#define HOSTCONF_DEFAULT_WORKERS 8
#define HOSTCONF_DEFAULT_STOP_TIMEOUT 10
#define HOSTCONF_DEFAULT_STATUS_PORT 41180

/*
 * hostconf_load - read `path`. When `required` is false and the file does
 * not exist, every setting takes its default (path NULL in the result).
 * hostconf_parse - the same from text (tests); `path` names it in messages.
 */
int hostconf_load(const char *path, bool required, struct hostconf **hc_r,
                  struct pandora_error *error_r);
int hostconf_parse(const char *path, const char *text, struct hostconf **hc_r,
                   struct pandora_error *error_r);
void hostconf_free(struct hostconf *hc);

/*
 * hostconf_check_sections - every top-level group that is not a host setting
 * must be the section of one of the `n` service names (a typo in a section
 * name must not be ignored). -EINVAL with file, line and name otherwise.
 */
int hostconf_check_sections(const struct hostconf *hc,
                            const char *const *services, size_t n,
                            struct pandora_error *error_r);

/*
 * hostconf_apply_lists - fill a service conf's lists from its section
 * (section named `service`). Keys in the section that are not one of
 * `lists` are errors. A missing section leaves every list empty. On error
 * nothing stays allocated.
 */
int hostconf_apply_lists(const struct hostconf *hc, const char *service,
                         const struct pandora_conf_list *lists, void *conf,
                         struct pandora_error *error_r);
void hostconf_free_lists(const struct pandora_conf_list *lists, void *conf);

/* hostconf_print_lists - effective list elements, secrets masked. */
void hostconf_print_lists(FILE *fp, const struct pandora_conf_list *lists,
                          const void *conf, const char *indent);

/* hostconf_print - the host's own effective settings. */
void hostconf_print(FILE *fp, const struct hostconf *hc);

#endif
