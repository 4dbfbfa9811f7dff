#!/bin/bash
# drain.sh - one `--once` visit drains a buffer completely: plain, TLS with
# the server certificate verified, mutual TLS, a password, and two remotes at
# once (one overridden per remote in pandora_hostd.conf). Every uploaded file
# arrives byte-identical (sha256 against agentsim's manifest), the remote is
# left empty, mtimes are the agent timestamps, nothing is left staged, safe
# mode RECVs before MV and fast mode never RECVs, each agent's files are
# moved in timestamp order, the daemon stays in lock-step within
# sync_connections, and the password is never logged.
. "${TEST_SRCDIR:-$(dirname "$0")/..}/sync/lib.sh"

A=127.0.1.11
B=127.0.1.12
make_pki "$A" "$B"
TLS_UP=(--tls --ca "$PKI/ca.pem")
MTLS_UP=(--tls --ca "$PKI/ca.pem" --cert "$PKI/client.pem" --key "$PKI/client.key")

# fill NAME AGENTSIM-ARG... - 200 files from two agents named after the remote
fill() {
    local name=$1
    shift
    : > "$T/manifest.$name"
    upload "$name" "${name}web" 120 1764000000 "$@"
    upload "$name" "${name}db" 80 1764100000 --size 9000 "$@"
}

# check_drained NAME MODE - the remote's 200 files all arrived, and only they
check_drained() {
    local name=$1 mode=$2 recv
    check_delivered "$T/manifest.$name"
    [ "$(remote_left "$name")" -eq 0 ] ||
        fail "$(remote_left "$name") file(s) left on $name after the drain"
    check_lockstep "$name"
    check_agent_order "$name"
    [ "$(peer_max_active "$name")" -le 4 ] ||
        fail "$name served $(peer_max_active "$name") connections at once (sync_connections 4)"
    recv=$(peer_cmds "$name" RECV)
    case $mode in
    safe) [ "$recv" -ge 200 ] || fail "safe mode sent only $recv RECV to $name (200 files)" ;;
    fast) [ "$recv" -eq 0 ] || fail "fast mode sent $recv RECV to $name" ;;
    esac
}

# drain_case DESCRIPTION - --once must succeed; then the global checks
drain_case() {
    run_once
    [ "$ONCE_STATUS" -eq 0 ] || fail "$1: --once exited $ONCE_STATUS"
    check_no_extra "$MANIFEST"
    check_mtimes
    check_clean
    check_no_secret
    note "$1: $(data_count) files delivered"
}

write_hostconf

# 1. plain, fast
start_buffer plain "$A"
fill plain
write_server "sync_address $(label plain)
sync_delivery fast
sync_max_files 1000
"
drain_case "plain, fast"
check_drained plain fast
stop_peer plain

# 2. TLS, server certificate verified against sync_ca, safe
start_buffer tls "$A" -e "$PKI/server.pem" -k "$PKI/server.key"
fill tls "${TLS_UP[@]}"
write_server "sync_address $(label tls)
sync_delivery safe
sync_ca $PKI/ca.pem
sync_verify_name 1
sync_max_files 1000
"
drain_case "TLS, safe"
check_drained tls safe
grep -q 'tls-ok' "$T/tls.log" || fail "no TLS session in the peer log"
stop_peer tls

# 3. mutual TLS (the peer requires a client certificate from its -f CA), fast
start_buffer mtls "$A" -e "$PKI/server.pem" -k "$PKI/server.key" -f "$PKI/ca.pem"
fill mtls "${MTLS_UP[@]}"
write_server "sync_address $(label mtls)
sync_delivery fast
sync_ca $PKI/ca.pem
sync_cert $PKI/client.pem
sync_key $PKI/client.key
sync_max_files 1000
"
drain_case "mutual TLS, fast"
check_drained mtls fast
grep -q 'tls-ok .*client-cert=yes' "$T/mtls.log" || fail "no client certificate in the peer log"
stop_peer mtls

# 4. password (-x), plain, safe (the default mode: no sync_delivery line)
start_buffer pass "$A" -x "$PASSWORD"
fill pass --password "$PASSWORD"
write_server "sync_address $(label pass)
sync_password $PASSWORD
sync_max_files 1000
"
drain_case "password, safe"
check_drained pass safe
stop_peer pass

# 5. two remotes in one visit, both with the password: a plain one, and a
# mutual TLS one whose TLS settings come from its pandora_hostd.conf entry; safe
start_buffer two1 "$A" -x "$PASSWORD"
start_buffer two2 "$B" -x "$PASSWORD" -e "$PKI/server.pem" -k "$PKI/server.key" -f "$PKI/ca.pem"
fill two1 --password "$PASSWORD"
fill two2 --password "$PASSWORD" "${MTLS_UP[@]}"
write_server "sync_address $(label two1), $(label two2)
sync_delivery safe
sync_password $PASSWORD
sync_max_files 1000
"
write_hostconf "syncserver = { remotes = ( { address = \"$B\"; port = ${PEER_PORT[two2]};
  ca = \"$PKI/ca.pem\"; cert = \"$PKI/client.pem\"; key = \"$PKI/client.key\";
  connections = 2; } ); };"
drain_case "two remotes, safe"
check_drained two1 safe
check_drained two2 safe
[ "$(peer_max_active two2)" -le 2 ] ||
    fail "two2 served $(peer_max_active two2) connections at once (connections = 2)"
[ "$(data_count)" -eq 1200 ] || fail "expected 1200 files in incomingdir, found $(data_count)"
stop_peer two1
stop_peer two2

# 6. IPv6: sync_address [::1]:port (only where loopback has IPv6)
drains=5
if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/'; then
    start_buffer v6 ::1
    fill v6
    write_hostconf
    write_server "sync_address $(label v6)
sync_max_files 1000
"
    drain_case "IPv6, safe"
    check_drained v6 safe
    drains=6
else
    note "no ::1 on lo: IPv6 case skipped"
fi
echo "ok: $drains drains, $(data_count) files byte-identical, remotes empty, mtimes set"
