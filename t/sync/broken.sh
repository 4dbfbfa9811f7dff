#!/bin/bash
# broken.sh - remotes that break mid-transfer or fail to delete
# (PROTOCOL.md §4 "cut mid-payload", §8 unlink_fail):
# - a remote that cuts every payload (MV in fast mode, RECV in safe mode,
#   and MV in safe mode after a good RECV): `--once` exits non-zero, logs
#   the cut naming the remote, no data file appears in incomingdir and every
#   file stays on the remote (the cut happens before the remote's unlink);
# - a remote whose deletes fail (MV sends the data but keeps the file):
#   the files are delivered once; after the data server ingested them, the
#   next visit must not deliver them a second time.
. "${TEST_SRCDIR:-$(dirname "$0")/..}/sync/lib.sh"

A=127.0.1.81
write_hostconf

# cut NAME MODE PEER-ARG... - five files behind a remote cutting payloads
cut() {
    local name=$1 mode=$2
    shift 2
    start_buffer "$name" "$A" "$@"
    upload "$name" "$name" 5 1764000000
    write_server "sync_address $(label "$name")
sync_delivery $mode
"
    run_once
    [ "$ONCE_STATUS" -ne 0 ] || fail "$name: --once exited 0 although every transfer was cut"
    log_since | grep -F -- "$(label "$name")" | grep -qi 'cut' ||
        fail "$name: no log line names $(label "$name") and the cut"
    [ "$(data_count)" -eq 0 ] || fail "$name: $(data_count) file(s) delivered from cut transfers"
    [ "$(remote_left "$name")" -eq 5 ] || fail "$name: $((5 - $(remote_left "$name"))) file(s) lost from the remote"
    note "$name ($mode): $(log_since | grep -F -- "$(label "$name")" | grep -i -m 1 cut | sed 's/.*syncserver: //')"
    stop_peer "$name"
}

cut cutmv fast --drop-after 2000 --fault-cmd MV
cut cutrecv safe --drop-after 2000 --fault-cmd RECV
cut cutmvsafe safe --drop-after 2000 --fault-cmd MV

# the remote sends MV data but never deletes: deliver once only
start_buffer keep "$A" --unlink-fail
upload keep keep 3 1764000000
write_server "sync_address $(label keep)
sync_delivery safe
"
run_once
check_delivered "$T/manifest.keep"
mkdir -p "$T/ingested"
mv "$IN"/keep.*.data "$T/ingested/"
run_once
[ "$(data_count)" -eq 0 ] ||
    fail "a remote that cannot delete got its files delivered twice: $(data_files | head -n 3)"
echo "ok: cut transfers fail the visit and deliver nothing; undeleted files are not delivered twice"
