#!/bin/bash
# settle.sh - the settle rule (sync_settle 3): a file an agent is still
# uploading (non-atomically, 256 bytes every 100 ms, ~1.6 s in all) is
# listed by the running daemon (sync_interval 1) but never pulled while it
# grows: it never shows up in incomingdir meanwhile, and the peer gets no
# MV/RECV for it before it stored the last byte; afterwards it arrives
# complete (sha256). Then, with `--once`: a new file is left alone at first
# sight and pulled by a later run once settled (first-seen times survive
# the restart).
. "${TEST_SRCDIR:-$(dirname "$0")/..}/sync/lib.sh"

A=127.0.1.31
SLOW=slow.1764000000.data
QUICK=quick.1764000100.data

# stored_at NAME - peer-log time at which the upload of NAME was complete
stored_at() {
    awk -v cmd="cmd \"SEND <$1> SIZE" '
        index($0, cmd) { conn = $2; next }
        conn != "" && $2 == conn && $3 == "stored" { print $1; exit }' "$T/buf.log"
}

# first_pull NAME - peer-log time of the first MV or RECV of NAME ("" if none)
first_pull() {
    awk -v mv="cmd \"MV <$1>\"" -v recv="cmd \"RECV <$1>\"" '
        index($0, mv) || index($0, recv) { print $1; exit }' "$T/buf.log"
}

# ls_between T0 T1 - LS commands the peer got between two peer-log times
ls_between() {
    awk -v t0="$1" -v t1="$2" '/ cmd "LS </ && $1 >= t0 && $1 <= t1 { n++ } END { print n + 0 }' \
        "$T/buf.log"
}

start_buffer buf "$A"
write_hostconf
write_server "sync_address $(label buf)
sync_settle 3
sync_interval 1
sync_delivery fast
"
start_daemon
wait_until 20 grep -q ' cmd "LS <' "$T/buf.log" || fail "the daemon never listed the remote"

# the slow upload, watched from incomingdir while it runs
"$PEER_BIN_DIR/agentsim" -a "$A" -p "${PEER_PORT[buf]}" -n 1 --agent slow --ts 1764000000 \
    --size 4096 --slow-ms 100 --manifest "$T/man.slow" -q >"$T/agentsim.out" 2>&1 &
sim=$!
BG_PIDS+=("$sim")
while kill -0 "$sim" 2>/dev/null; do
    [ ! -e "$IN/$SLOW" ] || fail "$SLOW was delivered while the agent was still uploading it"
    sleep 0.1
done
wait "$sim" || fail "agentsim failed: $(cat "$T/agentsim.out")"
t_sent=$(awk '/ cmd "SEND </ { print $1; exit }' "$T/buf.log")
t_stored=$(stored_at "$SLOW")
[ -n "$t_stored" ] || fail "the peer never stored $SLOW"
listed=$(ls_between "$t_sent" "$t_stored")
[ "$listed" -ge 1 ] || fail "test not exercised: no LS while $SLOW was growing"

wait_until 20 test -e "$IN/$SLOW" || fail "$SLOW never arrived after it settled"
check_delivered "$T/man.slow"
t_pull=$(first_pull "$SLOW")
[ -n "$t_pull" ] || fail "no MV/RECV of $SLOW in the peer log"
awk -v p="$t_pull" -v s="$t_stored" 'BEGIN { exit !(p > s) }' ||
    fail "$SLOW was pulled at $t_pull, before its upload completed at $t_stored"
[ "$(remote_left buf)" -eq 0 ] || fail "$SLOW is still on the remote"
note "listed $listed time(s) while growing, pulled $(awk -v p="$t_pull" -v s="$t_stored" 'BEGIN { printf "%.1f", p - s }') s after the last byte"
daemon_alive "after the slow upload"
stop_daemon

# --once: first sight leaves the file; a run after the settle time pulls it
upload buf quick 1 1764000100
run_once
[ "$ONCE_STATUS" -eq 0 ] || fail "--once exited $ONCE_STATUS with an unsettled file"
[ ! -e "$IN/$QUICK" ] || fail "$QUICK was pulled at first sight (sync_settle 3)"
[ "$(remote_left buf)" -eq 1 ] || fail "$QUICK is gone from the remote at first sight"
sleep 3.5
run_once
[ "$ONCE_STATUS" -eq 0 ] || fail "second --once exited $ONCE_STATUS"
[ -e "$IN/$QUICK" ] || fail "$QUICK not pulled by a --once run after it settled (first-seen time lost?)"
check_delivered "$MANIFEST"
check_mtimes
[ "$(remote_left buf)" -eq 0 ] || fail "$QUICK is still on the remote"
echo "ok: nothing pulled while growing or before settled; both files complete"
