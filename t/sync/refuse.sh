#!/bin/bash
# refuse.sh - every way a remote says no (PROTOCOL.md §4) is refused with
# one log line naming the remote (ADDR:PORT) and the cause: wrong password,
# server without -I, certificate from another CA, revoked certificate (CRL),
# name mismatch (sync_verify_name 1), expired certificate, plus nothing
# listening, a client certificate required but not configured, our client
# certificate from a CA the remote does not trust, and a plain client on a
# TLS port. Each time `--once` exits non-zero, nothing at all is written to
# incomingdir, the remote's files are all still there and the password
# never appears in the log.
. "${TEST_SRCDIR:-$(dirname "$0")/..}/sync/lib.sh"

A=127.0.1.21
make_pki "$A"
write_hostconf
NFILES=5

# refused NAME KEYWORD-REGEX... - --once fails, explains, touches nothing
refused() {
    local name=$1
    shift
    run_once
    [ "$ONCE_STATUS" -ne 0 ] || fail "$name: --once exited 0 although $name refuses us"
    log_has_line "$name" "$@"
    check_untouched
    [ "$(remote_left "$name")" -eq "$NFILES" ] ||
        fail "$name: $(remote_left "$name") of $NFILES files left on the remote"
    check_no_secret
    note "$name: $(log_since | grep -F -- "$(label "$name")" | grep -Ei -- "$1" | grep -Ei -- "${2:-.}" | sed 's/.*syncserver: //')"
    stop_peer "$name"
}

# remote NAME PEER-ARG... - a buffer holding NFILES files
remote() {
    local name=$1
    shift
    start_buffer "$name" "$A" "$@"
    seed "$name" "$NFILES"
}

# tls_conf [EXTRA] - verify the remote against our CA, send our client cert
tls_conf() {
    printf 'sync_ca %s\nsync_cert %s\nsync_key %s\n%s' \
        "$PKI/ca.pem" "$PKI/client.pem" "$PKI/client.key" "${1:-}"
}

# wrong password: the remote closes silently after PASS
remote badpass -x "$PASSWORD"
write_server "sync_address $(label badpass)
sync_password not-the-password
"
refused badpass 'sync_password' 'wrong|closed|refus|reject'

# server without -I: LS gets a silent close
start_peer noI "$A" -o -i "$BUFFER_RULES"
seed noI "$NFILES"
write_server "sync_address $(label noI)
"
refused noI '-I'

# the remote's certificate comes from a CA we do not trust
remote wrongca -e "$PKI/server-ca2.pem" -k "$PKI/server-ca2.key"
write_server "sync_address $(label wrongca)
$(tls_conf)"
refused wrongca 'not trusted' 'issuer|unknown'

# the remote's certificate is revoked by sync_crl
remote revoked -e "$PKI/revoked.pem" -k "$PKI/revoked.key"
write_server "sync_address $(label revoked)
$(tls_conf "sync_crl $PKI/crl.pem
")"
refused revoked 'not trusted' 'revoked'

# the remote's certificate is valid, but for another name
remote wrongname -e "$PKI/wrongname.pem" -k "$PKI/wrongname.key"
write_server "sync_address $(label wrongname)
$(tls_conf "sync_verify_name 1
")"
refused wrongname 'not trusted|name' 'match'

# the remote's certificate has expired
remote expired -e "$PKI/expired.pem" -k "$PKI/expired.key"
write_server "sync_address $(label expired)
$(tls_conf)"
refused expired 'not trusted' 'expired'

# nothing listening: a peer that was stopped leaves its port closed
remote gone
stop_peer gone
write_server "sync_address $(label gone)
"
run_once
[ "$ONCE_STATUS" -ne 0 ] || fail "gone: --once exited 0 with nothing listening"
log_has_line gone 'connection refused'
check_untouched

# the remote requires a client certificate (-f) and we have none
remote needcert -e "$PKI/server.pem" -k "$PKI/server.key" -f "$PKI/ca.pem"
write_server "sync_address $(label needcert)
sync_ca $PKI/ca.pem
"
refused needcert 'client certificate|sync_cert'

# our client certificate comes from a CA the remote does not accept
remote theirca -e "$PKI/server.pem" -k "$PKI/server.key" -f "$PKI/ca.pem"
write_server "sync_address $(label theirca)
sync_ca $PKI/ca.pem
sync_cert $PKI/client-ca2.pem
sync_key $PKI/client-ca2.key
"
refused theirca 'unknown CA|rejected our certificate'

# a plain client on a TLS port: closed right after the first line
remote needtls -e "$PKI/server.pem" -k "$PKI/server.key"
write_server "sync_address $(label needtls)
"
refused needtls 'TLS'

echo "ok: 10 refusals explained, nothing written, remote files kept"
