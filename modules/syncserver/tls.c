/*
 * tls.c - TLS credentials and session facts for Tentacle connections (GnuTLS).
 *
 * Credentials are loaded once and then only read, which GnuTLS allows from
 * any number of sessions and threads. Error texts name the file and the
 * fix; they never quote file contents, so key material cannot leak.
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls.h"

struct tls_cred {
    gnutls_certificate_credentials_t x509;
    bool verifies;                      /* a CA was loaded                  */
    time_t client_expiry;               /* notAfter of our cert, 0 if none  */
};

/* set_err - one sentence into err; returns rc for `return set_err(...)` */
__attribute__((format(printf, 4, 5)))
static int set_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* check_readable - open and close path so a missing or unreadable file is
 * reported with its errno instead of GnuTLS' generic "file error" */
static int check_readable(const char *what, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    int e;

    if (fd >= 0) {
        close(fd);
        return 0;
    }
    e = errno;
    return set_err(err, errlen, -e, "%s %s cannot be read: %s", what, path, strerror(e));
}

/* load_ca - the trust anchors; a file holding no certificate is an error,
 * because GnuTLS would accept it and then fail every handshake */
static int load_ca(struct tls_cred *c, const char *path, char *err, size_t errlen)
{
    int rc = check_readable("sync_ca", path, err, errlen);

    if (rc < 0)
        return rc;
    rc = gnutls_certificate_set_x509_trust_file(c->x509, path, GNUTLS_X509_FMT_PEM);
    if (rc < 0)
        return set_err(err, errlen, -EINVAL,
                       "sync_ca %s is not a PEM CA certificate file (%s): give the CA's "
                       "certificate in PEM form", path, gnutls_strerror(rc));
    if (rc == 0)
        return set_err(err, errlen, -EINVAL,
                       "sync_ca %s holds no certificate: give the CA's certificate in PEM form",
                       path);
    c->verifies = true;
    return 0;
}

/* load_crl - revocations; checked against the CA loaded before it */
static int load_crl(struct tls_cred *c, const char *path, char *err, size_t errlen)
{
    int rc = check_readable("sync_crl", path, err, errlen);

    if (rc < 0)
        return rc;
    rc = gnutls_certificate_set_x509_crl_file(c->x509, path, GNUTLS_X509_FMT_PEM);
    if (rc < 0)
        return set_err(err, errlen, -EINVAL,
                       "sync_crl %s is not a PEM CRL issued by sync_ca (%s): give the CA's "
                       "current CRL in PEM form", path, gnutls_strerror(rc));
    if (rc == 0)
        return set_err(err, errlen, -EINVAL,
                       "sync_crl %s holds no CRL: give the CA's current CRL in PEM form", path);
    return 0;
}

/* cert_expiry - notAfter of the first certificate in a PEM file */
static int cert_expiry(const char *path, time_t *expiry_r, char *err, size_t errlen)
{
    gnutls_datum_t pem = { NULL, 0 };
    gnutls_x509_crt_t crt = NULL;
    int rc = gnutls_load_file(path, &pem);

    if (rc == 0)
        rc = gnutls_x509_crt_init(&crt);
    if (rc == 0)
        rc = gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM);
    if (rc == 0)
        *expiry_r = gnutls_x509_crt_get_expiration_time(crt);
    if (crt != NULL)
        gnutls_x509_crt_deinit(crt);
    gnutls_free(pem.data);
    if (rc < 0)
        return set_err(err, errlen, -EINVAL,
                       "sync_cert %s is not a PEM certificate (%s): give our client "
                       "certificate in PEM form", path, gnutls_strerror(rc));
    return 0;
}

/* load_pair - our client certificate and its key, which must match */
static int load_pair(struct tls_cred *c, const char *cert, const char *key, char *err,
                     size_t errlen)
{
    int rc = check_readable("sync_cert", cert, err, errlen);

    if (rc == 0)
        rc = check_readable("sync_key", key, err, errlen);
    if (rc == 0)
        rc = cert_expiry(cert, &c->client_expiry, err, errlen);
    if (rc < 0)
        return rc;
    rc = gnutls_certificate_set_x509_key_file2(c->x509, cert, key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
        return set_err(err, errlen, -EINVAL,
                       "sync_key %s does not belong to sync_cert %s: give the key the "
                       "certificate was issued for", key, cert);
    if (rc < 0)
        return set_err(err, errlen, -EINVAL,
                       "sync_key %s cannot be loaded with sync_cert %s (%s): give an "
                       "unencrypted PEM private key", key, cert, gnutls_strerror(rc));
    return 0;
}

/* load_all - every file named in f, in the order GnuTLS needs (CA before CRL) */
static int load_all(struct tls_cred *c, const struct tls_files *f, char *err, size_t errlen)
{
    int rc = 0;

    if ((f->cert == NULL) != (f->key == NULL))
        return set_err(err, errlen, -EINVAL, "%s is set without %s: give both or neither",
                       f->cert != NULL ? "sync_cert" : "sync_key",
                       f->cert != NULL ? "sync_key" : "sync_cert");
    if (f->crl != NULL && f->ca == NULL)
        return set_err(err, errlen, -EINVAL,
                       "sync_crl %s is set without sync_ca: a CRL needs the CA that issued it",
                       f->crl);
    if (f->ca != NULL)
        rc = load_ca(c, f->ca, err, errlen);
    if (rc == 0 && f->crl != NULL)
        rc = load_crl(c, f->crl, err, errlen);
    if (rc == 0 && f->cert != NULL)
        rc = load_pair(c, f->cert, f->key, err, errlen);
    return rc;
}

int tls_cred_load(const struct tls_files *files, struct tls_cred **cred_r, char *err,
                  size_t errlen)
{
    struct tls_cred *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL)
        return set_err(err, errlen, -ENOMEM, "out of memory loading TLS credentials");
    if (gnutls_certificate_allocate_credentials(&c->x509) < 0) {
        free(c);
        return set_err(err, errlen, -ENOMEM, "out of memory loading TLS credentials");
    }
    rc = load_all(c, files, err, errlen);
    if (rc < 0) {
        tls_cred_free(c);                 /* a failed load leaves x509 undefined */
        return rc;
    }
    *cred_r = c;
    return 0;
}

void tls_cred_free(struct tls_cred *cred)
{
    if (cred == NULL)
        return;
    gnutls_certificate_free_credentials(cred->x509);
    free(cred);
}

gnutls_certificate_credentials_t tls_cred_gnutls(const struct tls_cred *cred)
{
    return cred->x509;
}

bool tls_cred_verifies(const struct tls_cred *cred)
{
    return cred != NULL && cred->verifies;
}

time_t tls_cred_client_expiry(const struct tls_cred *cred)
{
    return cred != NULL ? cred->client_expiry : 0;
}

/* copy_printable - copy at most cap-1 bytes, control bytes as '?': a DN is
 * remote input and ends up in logs and on the status page */
static void copy_printable(char *dst, size_t cap, const void *src, size_t len)
{
    const unsigned char *s = src;
    size_t n = len < cap - 1 ? len : cap - 1;

    for (size_t i = 0; i < n; i++)
        dst[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
    dst[n] = '\0';
}

/* peer_cert_facts - subject and notAfter of the remote's leaf certificate */
static void peer_cert_facts(gnutls_session_t s, struct tls_facts *facts)
{
    unsigned int n = 0;
    const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t dn = { NULL, 0 };

    if (peers == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0)
        return;
    if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == 0) {
        facts->peer_expiry = gnutls_x509_crt_get_expiration_time(crt);
        if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0)
            copy_printable(facts->subject, sizeof(facts->subject), dn.data, dn.size);
        gnutls_free(dn.data);
    }
    gnutls_x509_crt_deinit(crt);
}

void tls_session_facts(gnutls_session_t s, bool verified, struct tls_facts *facts)
{
    const char *v = gnutls_protocol_get_name(gnutls_protocol_get_version(s));
    const char *ci = gnutls_cipher_get_name(gnutls_cipher_get(s));

    memset(facts, 0, sizeof(*facts));
    snprintf(facts->version, sizeof(facts->version), "%s", v != NULL ? v : "?");
    snprintf(facts->cipher, sizeof(facts->cipher), "%s", ci != NULL ? ci : "?");
    peer_cert_facts(s, facts);
    facts->verified = verified;
}
