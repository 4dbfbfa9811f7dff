/* peer_tls.c - the test peer's TLS side (GnuTLS), shaped like the stock server's
 *
 * Facts reproduced (PROTOCOL.md §5): TLS 1.2 and 1.3 only; with -f a client
 * certificate signed by that CA is required; without -f a client certificate is
 * optional but, when sent, is checked against the system store, so a private-CA
 * certificate is refused with "unknown ca"; the handshake has no deadline, so a
 * client that never sends a ClientHello keeps its slot; close_notify is never sent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"

/* tls_priority - the priority string for the --tls-fault version knobs */
static const char *tls_priority(const struct peer *p)
{
    if (p->f.tls == TLS_FAULT_12ONLY)
        return "NORMAL:-VERS-ALL:+VERS-TLS1.2";
    if (p->f.tls == TLS_FAULT_13ONLY)
        return "NORMAL:-VERS-ALL:+VERS-TLS1.3";
    return "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
}

/* tls_setup - load -e/-k (and -f or the system store) once for all connections */
int tls_setup(struct peer *p)
{
    const char *errpos = NULL;
    int rc;

    if (gnutls_certificate_allocate_credentials(&p->cred) < 0)
        return -ENOMEM;
    rc = gnutls_certificate_set_x509_key_file2(p->cred, p->cert, p->key,
                                               GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc < 0) {
        fprintf(stderr, "tentacle_peer: cannot load -e %s / -k %s: %s\n", p->cert, p->key,
                gnutls_strerror(rc));
        return -EINVAL;
    }
    if (p->ca != NULL) {
        rc = gnutls_certificate_set_x509_trust_file(p->cred, p->ca, GNUTLS_X509_FMT_PEM);
        if (rc <= 0) {
            fprintf(stderr, "tentacle_peer: cannot load -f %s: %s\n", p->ca,
                    rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
            return -EINVAL;
        }
    } else {
        (void)gnutls_certificate_set_x509_system_trust(p->cred);
    }
    rc = gnutls_priority_init(&p->prio, tls_priority(p), &errpos);
    if (rc < 0) {
        fprintf(stderr, "tentacle_peer: bad TLS priority near '%s'\n", errpos ? errpos : "");
        return -EINVAL;
    }
    if (p->tickets && gnutls_session_ticket_key_generate(&p->ticket_key) < 0)
        return -EIO;
    return 0;
}

/* tls_cleanup - free what tls_setup() made */
void tls_cleanup(struct peer *p)
{
    if (p->prio != NULL)
        gnutls_priority_deinit(p->prio);
    if (p->cred != NULL)
        gnutls_certificate_free_credentials(p->cred);
    if (p->ticket_key.data != NULL)
        gnutls_free(p->ticket_key.data);
}

/* verify_client - check a client certificate if one was sent (required with -f) */
static int verify_client(gnutls_session_t s)
{
    struct conn *c = gnutls_session_get_ptr(s);
    unsigned int n = 0, status = 0;

    if (gnutls_certificate_get_peers(s, &n) == NULL || n == 0)
        return c->p->ca != NULL ? -1 : 0;
    if (gnutls_certificate_verify_peers2(s, &status) < 0)
        status = GNUTLS_CERT_INVALID;
    c->vstatus = status;
    return status == 0 ? 0 : -1;
}

/* reject_alert - the alert the stock server (OpenSSL) sends for a refused client */
static gnutls_alert_description_t reject_alert(struct conn *c, int err)
{
    unsigned int n = 0;
    bool tls13 = gnutls_protocol_get_version(c->tls) == GNUTLS_TLS1_3;

    if (gnutls_certificate_get_peers(c->tls, &n) == NULL || n == 0)
        return tls13 ? GNUTLS_A_CERTIFICATE_REQUIRED : GNUTLS_A_HANDSHAKE_FAILURE;
    if (c->vstatus & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
        return GNUTLS_A_UNKNOWN_CA;
    if (c->vstatus & GNUTLS_CERT_EXPIRED)
        return GNUTLS_A_CERTIFICATE_EXPIRED;
    if (c->vstatus & GNUTLS_CERT_REVOKED)
        return GNUTLS_A_CERTIFICATE_REVOKED;
    (void)err;
    return GNUTLS_A_BAD_CERTIFICATE;
}

/* linger_close_input - after a last alert, half-close and drain briefly so the
 * alert is not destroyed by an RST for unread input */
static void linger_close_input(struct conn *c)
{
    char scratch[4096];
    long long deadline = peer_now_ms() + 500;

    shutdown(c->fd, SHUT_WR);
    while (peer_now_ms() < deadline) {
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

        if (poll(&pfd, 1, (int)(deadline - peer_now_ms())) <= 0)
            break;
        if (recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT) <= 0)
            break;
    }
}

/* refuse - --tls-fault refuse: read the ClientHello, answer handshake_failure, close */
static int refuse(struct conn *c)
{
    static const unsigned char alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };
    char scratch[4096];
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

    if (poll(&pfd, 1, (int)c->p->idle_ms) > 0 &&
        recv(c->fd, scratch, sizeof(scratch), 0) > 0 &&
        send(c->fd, alert, sizeof(alert), MSG_NOSIGNAL) > 0)
        linger_close_input(c);
    peer_log(c->id, "fault tls refuse: handshake_failure alert sent");
    c->why = "fault tls refuse";
    c->dead = true;
    return -1;
}

/* handshake_failed - log, send the matching alert for refused certificates, give up */
static int handshake_failed(struct conn *c, int rc)
{
    bool cert_problem = rc == GNUTLS_E_CERTIFICATE_ERROR ||
                        rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
                        rc == GNUTLS_E_NO_CERTIFICATE_FOUND ||
                        rc == GNUTLS_E_CERTIFICATE_REQUIRED;

    if (cert_problem) {
        gnutls_alert_description_t a = reject_alert(c, rc);

        peer_log(c->id, "tls-reject %s (status 0x%x), alert %s", gnutls_strerror_name(rc),
                 c->vstatus, gnutls_alert_get_strname(a));
        if (gnutls_alert_send(c->tls, GNUTLS_AL_FATAL, a) >= 0)
            linger_close_input(c);
    } else if (rc == GNUTLS_E_UNSUPPORTED_VERSION_PACKET) {
        peer_log(c->id, "tls-fail %s, alert internal_error", gnutls_strerror_name(rc));
        if (gnutls_alert_send(c->tls, GNUTLS_AL_FATAL, GNUTLS_A_INTERNAL_ERROR) >= 0)
            linger_close_input(c);
    } else {
        peer_log(c->id, "tls-fail %s", gnutls_strerror_name(rc));
    }
    c->why = "tls handshake failed";
    c->dead = true;
    return -1;
}

/* tls_session - a server session for c's socket */
static int tls_session(struct conn *c)
{
    struct peer *p = c->p;

    if (gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NO_SIGNAL) < 0) {
        c->tls = NULL;
        return -1;
    }
    gnutls_priority_set(c->tls, p->prio);
    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, p->cred);
    gnutls_certificate_server_set_request(c->tls, p->ca != NULL ? GNUTLS_CERT_REQUIRE
                                                                : GNUTLS_CERT_REQUEST);
    /* OpenSSL (the stock server) sends no CA names in its CertificateRequest, so
     * clients offer their certificate whoever signed it and learn "unknown ca" */
    gnutls_certificate_send_x509_rdn_sequence(c->tls, 1);
    gnutls_session_set_ptr(c->tls, c);
    gnutls_session_set_verify_function(c->tls, verify_client);
    if (p->tickets)
        gnutls_session_ticket_enable_server(c->tls, &p->ticket_key);
    gnutls_transport_set_int(c->tls, c->fd);
    gnutls_handshake_set_timeout(c->tls, 0);   /* the stock server waits forever */
    return 0;
}

/* tls_accept - run the server handshake on c (no deadline, by design) */
int tls_accept(struct conn *c)
{
    int rc;

    if (c->faulty && c->p->f.tls == TLS_FAULT_REFUSE)
        return refuse(c);
    if (tls_session(c) < 0) {
        c->why = "gnutls_init failed";
        c->dead = true;
        return -1;
    }
    do {
        rc = gnutls_handshake(c->tls);
    } while (rc < 0 && !gnutls_error_is_fatal(rc));
    if (rc < 0)
        return handshake_failed(c, rc);
    gnutls_record_set_timeout(c->tls, c->p->idle_ms);
    if (peer_log_on()) {
        char *desc = gnutls_session_get_desc(c->tls);
        unsigned int n = 0;

        gnutls_certificate_get_peers(c->tls, &n);
        peer_log(c->id, "tls-ok %s client-cert=%s", desc ? desc : "?", n > 0 ? "yes" : "no");
        gnutls_free(desc);
    }
    return 0;
}

/* tls_end - drop the session without close_notify (the stock server never sends one) */
void tls_end(struct conn *c)
{
    if (c->tls != NULL)
        gnutls_deinit(c->tls);
    c->tls = NULL;
}
