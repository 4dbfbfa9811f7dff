/* tclient.h - a small lock-step Tentacle client for the test tools (agentsim, baseline)
 *
 * One blocking connection, plain or TLS (GnuTLS), optional client certificate and
 * password. Every read has a deadline (SO_RCVTIMEO). With quickack, TCP_QUICKACK is
 * set after every read (in the GnuTLS pull function for TLS), which avoids the
 * delayed-ACK stall of the stock server's line-by-line MV writes. Errors leave one
 * sentence in tc->err.
 */
#ifndef TCLIENT_H
#define TCLIENT_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>

#include "parse_ull.h"

struct tc_opts {
    const char *host;
    unsigned port;
    bool tls;
    const char *ca;                     /* verify the server chain (no name check) */
    const char *cert, *key;             /* client certificate */
    const char *password;               /* send PASS when set */
    unsigned timeout_ms;
    bool quickack;
};

struct tc {
    int fd;
    gnutls_session_t s;
    gnutls_certificate_credentials_t cred;
    bool quickack;
    char buf[16384];
    size_t off, len;
    char err[512];
};

int tc_read_port_file(const char *path, unsigned *port);
void tc_init(struct tc *c);
int tc_connect(struct tc *c, const struct tc_opts *o);
void tc_close(struct tc *c, bool quit);
int tc_send(struct tc *c, const void *data, size_t len);
int tc_line(struct tc *c, char *out, size_t cap);
int tc_read(struct tc *c, void *out, size_t len);
int tc_command(struct tc *c, const char *line, char *reply, size_t cap);
bool tc_name_ok(const char *name, size_t len);
long long tc_now_us(void);

#endif
