/*
 * tls.h - TLS credentials and session facts for Tentacle connections (GnuTLS).
 *
 * A struct tls_cred is built once per distinct (ca, crl, cert, key) set when
 * the service starts, shared read-only by every connection to the remotes
 * that use it (GnuTLS allows that), and freed after the last session that
 * used it is gone.
 */
#ifndef SS_TLS_H
#define SS_TLS_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Which files a remote's TLS uses; NULL members are unused. Borrowed. */
struct tls_files {
    const char *ca;   /* sync_ca: verify the remote's chain against it     */
    const char *crl;  /* sync_crl: revoked certificates                    */
    const char *cert; /* sync_cert + sync_key: our client certificate      */
    const char *key;
};

struct tls_cred;

/*
 * tls_cred_load - read and check the files. On failure returns -errno and
 * puts one sentence in err naming the file and what is wrong (missing,
 * unreadable, not PEM, key does not match the certificate, empty CA).
 * Never prints key material.
 */
int tls_cred_load(const struct tls_files *files, struct tls_cred **cred_r,
                  char *err, size_t errlen);
void tls_cred_free(struct tls_cred *cred);

/* The credentials GnuTLS sessions are given. */
gnutls_certificate_credentials_t tls_cred_gnutls(const struct tls_cred *cred);

/* True when a CA was loaded: the remote's chain is verified. */
bool tls_cred_verifies(const struct tls_cred *cred);

/* Expiry of our own client certificate; 0 when there is none. */
time_t tls_cred_client_expiry(const struct tls_cred *cred);

/* What a finished handshake tells; filled by tls_session_facts(). */
struct tls_facts {
    char version[16];    /* "TLS1.3"                                        */
    char cipher[64];     /* "AES-256-GCM"                                   */
    char subject[256];   /* the remote certificate's DN, "" if none         */
    time_t peer_expiry;  /* the remote certificate's notAfter, 0 if none    */
    bool verified;       /* the chain (and name, if asked) was verified     */
};

void tls_session_facts(gnutls_session_t s, bool verified,
                       struct tls_facts *facts);

#endif
