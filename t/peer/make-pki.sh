#!/bin/sh
# make-pki.sh - throw-away test PKI for the Tentacle test peer (certtool, ECDSA P-256)
#
# Usage: make-pki.sh OUTDIR [IP...]
#   Each extra IP (e.g. 127.0.0.23, the address a test binds the peer to) is added as
#   an IP SAN to every server certificate except wrongname.pem.
#
# Writes into OUTDIR (created if missing), every key mode 0600 (takes ~0.1 s):
#   ca.pem ca.key                 test CA
#   server.pem server.key         server cert: CN localhost, DNS localhost, IP 127.0.0.1,
#                                 ::1 and the extra IPs, signed by ca
#   client.pem client.key         client cert (agent-01), signed by ca
#   ca2.pem ca2.key               a second, unrelated CA
#   server-ca2.pem .key           server cert (same names as server.pem) signed by ca2
#   client-ca2.pem .key           client cert signed by ca2 (rejected by a peer using -f ca.pem)
#   expired.pem expired.key       server cert signed by ca, expired in 2002
#   wrongname.pem wrongname.key   server cert signed by ca for other.invalid only (no IP SAN)
#   revoked.pem revoked.key       server cert signed by ca, listed in crl.pem
#   crl.pem                       CRL signed by ca revoking revoked.pem
set -eu
out=${1:?usage: make-pki.sh OUTDIR [IP...]}
shift
command -v certtool >/dev/null 2>&1 || { echo "make-pki.sh: certtool not found (package gnutls-bin)" >&2; exit 1; }
mkdir -p "$out"
cd "$out"
umask 077

# key NAME - a new ECDSA P-256 private key in NAME.key
key() {
    certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --no-text \
        --outfile "$1.key" 2>/dev/null
}

# selfsign NAME CN SERIAL - a self-signed CA certificate NAME.pem
selfsign() {
    printf 'cn = "%s"\norganization = "Tentacle peer test"\nserial = %s\nexpiration_days = 3650\nca\ncert_signing_key\ncrl_signing_key\n' \
        "$2" "$3" > "$1.tmpl"
    key "$1"
    certtool --generate-self-signed --load-privkey "$1.key" --template "$1.tmpl" \
        --outfile "$1.pem" 2>/dev/null
}

# sign NAME CA - NAME.key certified by CA.pem/CA.key with template NAME.tmpl
sign() {
    key "$1"
    certtool --generate-certificate --load-privkey "$1.key" \
        --load-ca-certificate "$2.pem" --load-ca-privkey "$2.key" \
        --template "$1.tmpl" --outfile "$1.pem" 2>/dev/null
}

server_names='dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"'
for ip in "$@"; do
    server_names="$server_names
ip_address = \"$ip\""
done
server_usage='tls_www_server
signing_key
encryption_key'

selfsign ca "Tentacle Test CA" 1
selfsign ca2 "Unrelated Test CA" 1

printf 'cn = "localhost"\nserial = 10\nexpiration_days = 825\n%s\n%s\n' "$server_names" "$server_usage" > server.tmpl
sign server ca
cp server.tmpl server-ca2.tmpl
sign server-ca2 ca2

printf 'cn = "agent-01"\nserial = 11\nexpiration_days = 825\ntls_www_client\nsigning_key\n' > client.tmpl
sign client ca
printf 'cn = "agent-02"\nserial = 12\nexpiration_days = 825\ntls_www_client\nsigning_key\n' > client-ca2.tmpl
sign client-ca2 ca2

printf 'cn = "localhost"\nserial = 13\nactivation_date = "2001-01-01 00:00:00"\nexpiration_date = "2002-01-01 00:00:00"\n%s\n%s\n' \
    "$server_names" "$server_usage" > expired.tmpl
sign expired ca

printf 'cn = "other.invalid"\nserial = 14\nexpiration_days = 825\ndns_name = "other.invalid"\n%s\n' "$server_usage" > wrongname.tmpl
sign wrongname ca

printf 'cn = "localhost"\nserial = 15\nexpiration_days = 825\n%s\n%s\n' "$server_names" "$server_usage" > revoked.tmpl
sign revoked ca
printf 'crl_next_update = 3650\ncrl_number = 1\n' > crl.tmpl
certtool --generate-crl --load-ca-privkey ca.key --load-ca-certificate ca.pem \
    --load-certificate revoked.pem --template crl.tmpl --outfile crl.pem 2>/dev/null

rm -f ./*.tmpl
chmod 600 ./*.key
chmod 644 ./*.pem
