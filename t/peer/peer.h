/* peer.h - shared declarations of the Tentacle test peer (test-only program)
 *
 * The peer imitates the stock Perl tentacle_server 0.6.2 as described in
 * /work/shared/PROTOCOL.md sections 1-5 and 8, plus fault knobs. Files:
 *   tentacle_peer.c  options, listener, -c slots, signals
 *   peer_conn.c      one connection: PASS and the command loop
 *   peer_io.c        framing, reads under the idle timer, writes with faults
 *   peer_tls.c       GnuTLS server side
 *   peer_fault.c     fault knob parsing and the per-command fault helpers
 *   peer_route.c     file names, -i rules, the PASS digest
 *   peer_log.c       the per-connection log
 */
#ifndef PEER_H
#define PEER_H

#include <gnutls/gnutls.h>
#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "parse_ull.h"
#include <stdint.h>
#include <sys/types.h>

#define PEER_BLOCK 1024                 /* the stock server's read and RECV write size */
#define PEER_MAX_COMMAND (1024 * 1024)  /* safety cap only; the stock one has none */

enum stall_mode { STALL_NONE, STALL_ACCEPT, STALL_HANDSHAKE, STALL_REPLY, STALL_PAYLOAD };
enum send_fail { SEND_FAIL_NONE, SEND_FAIL_BEFORE_OK, SEND_FAIL_AFTER_DATA };
enum tls_fault { TLS_FAULT_NONE, TLS_FAULT_REFUSE, TLS_FAULT_12ONLY, TLS_FAULT_13ONLY,
                 TLS_FAULT_ALERT };
enum garbage_mode { GARBAGE_NONE, GARBAGE_MVERR, GARBAGE_EXTRA, GARBAGE_LSSIZE };
enum wrong_size { WS_NONE, WS_DELTA, WS_2P64, WS_NEG, WS_NONNUM };

struct route {
    regex_t re;
    char *dir;
};

struct faults {
    long long drop_after;               /* -1: off */
    bool drop_rst;
    enum stall_mode stall;
    unsigned drip_ms;                   /* 0: off */
    size_t drip_bytes;
    enum wrong_size wrong_size;
    long long ws_delta;
    size_t huge_line;                   /* 0: off */
    unsigned long huge_ls;              /* 0: off */
    bool evil_names;
    enum garbage_mode garbage;
    enum tls_fault tls;
    unsigned hold;
    bool unlink_fail;
    bool unlink_early;
    bool crash_before_unlink;
    enum send_fail send_fail;
    char *slow_upload;                  /* NAME:BYTES:MS, NULL: off */
    unsigned long only_conns;           /* faults hit connections 1..N; 0: all */
    const char *cmd_prefix;             /* command faults hit commands starting so */
    unsigned long nth;                  /* only the nth matching command; 0: every */
};

struct peer {
    /* options */
    const char *addr;
    unsigned port;
    const char *storage;
    bool insecure;                      /* -I */
    bool overwrite;                     /* -o */
    struct route *routes;
    size_t nroutes;
    char digest[33];                    /* -x: expected PASS digest; "" when none */
    const char *cert, *key, *ca;
    unsigned slots;                     /* -c */
    int backlog;
    unsigned long long max_size;        /* -m */
    unsigned idle_ms;
    unsigned delay_ms;
    bool ls_sorted;
    bool tickets;
    const char *port_file;
    struct faults f;

    /* run time */
    int listen_fd;
    int wake_fd[2];                     /* workers -> main: a slot freed */
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
    gnutls_datum_t ticket_key;
    pthread_mutex_t lock;
    pthread_cond_t idle_cond;
    unsigned active;                    /* connections holding a slot */
    unsigned max_active;
    unsigned long next_id;
    unsigned long early_total;
    struct conn *conns;                 /* list of live connections, under lock */
    volatile int stopping;
};

struct conn {
    struct peer *p;
    struct conn *next;
    unsigned long id;
    int fd;
    gnutls_session_t tls;               /* NULL on a plain connection */
    bool faulty;                        /* connection-scoped faults apply */
    bool cmd_fault;                     /* the current command is faulted */
    unsigned long matched;              /* commands matched by --fault-cmd so far */
    unsigned long long sent;            /* application bytes written */
    unsigned long ncmds;
    unsigned long early;                /* input seen before a reply was complete */
    unsigned int vstatus;               /* client certificate verification status */
    bool dead;                          /* closed or failed: stop serving */
    const char *why;                    /* close reason for the log */
    char *cmd;                          /* the current command, NUL-terminated */
    size_t cmd_len, cmd_cap;
};

/* tentacle_peer.c */
long long peer_now_ms(void);
void peer_sleep_ms(unsigned ms);

/* peer_log.c */
int peer_log_open(const char *path);
void peer_log_close(void);
bool peer_log_on(void);
void peer_log(unsigned long id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void peer_log_cmd(unsigned long id, const char *what, const char *data, size_t len);

/* peer_route.c */
bool peer_name_valid(const char *name, size_t len);
int peer_routes_parse(struct peer *p, const char *spec);
void peer_routes_free(struct peer *p);
const char *peer_route_dir(const struct peer *p, const char *name);
int peer_path(const struct peer *p, const char *name, char *out, size_t outlen);
int peer_pass_digest(const char *pwd, char out[33]);

/* peer_io.c */
ssize_t io_read_some(struct conn *c, void *buf, size_t len);
int io_recv_command(struct conn *c);
int io_write(struct conn *c, const void *data, size_t len, bool last);
int io_reply(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int io_stall(struct conn *c, const char *where);
void io_kill(struct conn *c, bool rst);
void io_reply_delay(struct conn *c);

/* peer_tls.c */
int tls_setup(struct peer *p);
void tls_cleanup(struct peer *p);
int tls_accept(struct conn *c);
void tls_end(struct conn *c);

/* peer_fault.c */
int fault_option(struct peer *p, const char *name, const char *arg);
void fault_begin_command(struct conn *c);
bool fault_on(const struct conn *c);
int fault_size_line(struct conn *c, const char *cmd, unsigned long long size);
int fault_extra_line(struct conn *c, const char *cmd);
size_t fault_evil_names(char *buf, size_t cap);
size_t fault_huge_ls(const struct conn *c, char *buf, size_t cap, unsigned long *next);
unsigned long long fault_huge_ls_size(const struct conn *c);
int fault_slow_upload_start(struct peer *p);
void fault_slow_upload_stop(void);

/* peer_conn.c */
void *conn_main(void *arg);

#endif
