/*
 * tentacle.h - the Tentacle protocol client: one connection, lock-step.
 *
 * Speaks to a stock tentacle_server 0.6.2 exactly as PROTOCOL.md describes:
 * one command at a time (never pipelined), replies read completely before
 * the next line is sent, bounded reply lines (256 bytes), every read and
 * write under a deadline, TCP_QUICKACK after every read. The remote is
 * untrusted: sizes are checked against max_file_size, listings are
 * bounded, names handed to callers are valid Tentacle names.
 *
 * THREADS: a connection is used by one thread at a time. Different
 * connections are independent (they may share a struct tls_cred).
 *
 * RESULTS: every call returns
 *   TN_OK    done;
 *   TN_FILE  the remote refused this one file (an ERR line, or a size we
 *            declined); err says why; the connection stays usable unless
 *            tn_alive() says otherwise (a decline closes it);
 *   TN_FAIL  the connection is dead; err says why and tn_alive() is false.
 */
#ifndef SS_TENTACLE_H
#define SS_TENTACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"

enum { TN_OK = 0, TN_FILE = 1, TN_FAIL = -1 };

/* What went wrong, so the cycle can count, back off and explain. */
enum tn_kind {
    TN_E_NONE = 0,
    /* connection level (TN_FAIL) */
    TN_E_RESOLVE,        /* the host name does not resolve                 */
    TN_E_REFUSED,        /* ECONNREFUSED on every address                  */
    TN_E_CONNECT_TIMEOUT,/* no TCP answer (filtered or far past -c)        */
    TN_E_NO_ANSWER,      /* connected, first reply never came (-c busy)    */
    TN_E_NEEDS_TLS,      /* plain client, closed right after our 1st line  */
    TN_E_NOT_TLS,        /* TLS client, handshake unanswered or garbage    */
    TN_E_CERT_REQUIRED,  /* remote requires a client certificate           */
    TN_E_UNKNOWN_CA,     /* remote rejected our certificate                */
    TN_E_UNTRUSTED,      /* remote certificate failed sync_ca/crl/name     */
    TN_E_TLS,            /* any other TLS failure                          */
    TN_E_AUTH,           /* closed after PASS: password/-x/TLS             */
    TN_E_NO_LIST,        /* closed at LS/MV: server without -I (or PASS)   */
    TN_E_CLOSED,         /* closed at another point (idle expiry, ...)     */
    TN_E_TIMEOUT,        /* a read or write missed its deadline            */
    TN_E_PROTOCOL,       /* malformed or unexpected reply                  */
    TN_E_CUT,            /* closed mid-payload                             */
    TN_E_LOCAL,          /* our side failed (write to the sink, memory)    */
    /* file level (TN_FILE) */
    TN_F_MISSING,        /* MV ERR / RECV ERR (file does not exist)        */
    TN_F_INVALID,        /* RECV ERR (file has an invalid file name)       */
    TN_F_TOO_BIG,        /* announced size over max_file_size (declined),
                            or SEND ERR (file is too big)                  */
    TN_F_EXISTS,         /* SEND ERR (file already exists): no -o          */
    TN_F_REFUSED,        /* any other ERR line                             */
};

struct tn_error {
    enum tn_kind kind;
    char text[256];      /* one sentence naming the remote and the fix     */
};

/* Where and how to connect. Borrowed for the whole life of a connection. */
struct tn_remote {
    const char *label;          /* "10.0.0.1:41121", "[::1]:41121" for text */
    const char *host;           /* name or address literal, no brackets    */
    unsigned port;
    const char *password;       /* NULL: send no PASS                      */
    const struct tls_cred *tls; /* NULL: plain TCP                         */
    const char *verify_name;    /* with tls: also check this name; NULL no  */
    unsigned timeout_ms;        /* deadline of each connect/handshake/read  */
    size_t block_size;          /* bytes per socket read/write (>= 1024)    */
    uint64_t max_file_size;     /* larger announced sizes are declined      */
};

struct tn_conn;

/*
 * tn_open - resolve, connect to each address in turn (timeout each), TLS
 * handshake if r->tls, PASS if r->password. The first reply only comes
 * after a command, so a missing -x or a busy -c is only seen by the next
 * call; tn_open itself waits for PASS OK when a password is set.
 */
int tn_open(const struct tn_remote *r, struct tn_conn **conn_r,
            struct tn_error *err);

/* tn_close - QUIT if still alive (no reply is awaited), close, free.
 * Accepts NULL. */
void tn_close(struct tn_conn *c);

bool tn_alive(const struct tn_conn *c);

/* The TLS facts of the connection, NULL for plain TCP. */
const struct tls_facts *tn_tls(const struct tn_conn *c);

/*
 * tn_ls - LS <arg>; fn is called for each valid name in listing order
 * (not ".", "..", no invalid character, no control byte, 1..255 bytes).
 * After max_names calls the rest is read and counted in *more_r but not
 * passed on. *dropped_r counts names refused as invalid. A listing larger
 * than 64 MiB is declined (TN_FAIL, TN_E_PROTOCOL). fn returning non-zero
 * stops the calls (the payload is still read).
 * A silent close at the connection's first command is explained with the
 * probe of PROTOCOL.md §4: a fresh connection (PASS if set) sends
 * RECV <sync-probe.none>; "file does not exist" means the server runs
 * without -I (TN_E_NO_LIST), a close means password or TLS (TN_E_AUTH).
 */
typedef int tn_name_fn(void *data, const char *name, size_t len);
int tn_ls(struct tn_conn *c, const char *arg, size_t max_names,
          tn_name_fn *fn, void *data, size_t *more_r, size_t *dropped_r,
          struct tn_error *err);

/*
 * tn_get - MV (move: the remote deletes the file after sending it) or RECV
 * (copy). Once the size is announced (and is <= max_file_size) sink(data,
 * size) decides: return an fd to write the bytes to (written from its
 * current offset; not closed), TN_SINK_DISCARD to read and drop them, or
 * TN_SINK_DECLINE to keep the file remotely (the connection is then
 * closed: TN_FILE, kind TN_F_REFUSED). *size_r gets the announced size.
 * A 0-byte file (or listing) returns TN_OK with the connection closed:
 * nothing answers our OK then, so a next line could merge with it
 * (PROTOCOL.md §1); check tn_alive() and reconnect.
 */
enum tn_get_cmd { TN_MV, TN_RECV };
#define TN_SINK_DISCARD (-1)
#define TN_SINK_DECLINE (-2)
typedef int tn_sink_fn(void *data, uint64_t size);
int tn_get(struct tn_conn *c, enum tn_get_cmd cmd, const char *name,
           tn_sink_fn *sink, void *data, uint64_t *size_r,
           struct tn_error *err);

/*
 * tn_send - SEND <name> SIZE <size>, then `size` bytes read from fd (from
 * its current offset); TN_OK only after the second SEND OK. size 0 is
 * refused locally (the stock server calls it too big).
 */
int tn_send(struct tn_conn *c, const char *name, int fd, uint64_t size,
            struct tn_error *err);

/* tn_name_valid - would a stock tentacle_server accept this name? */
bool tn_name_valid(const char *name, size_t len);

/* tn_pass_digest - lower-case hex md5(md5_raw(password)) into out[33]. */
void tn_pass_digest(const char *password, char out[33]);

#endif
