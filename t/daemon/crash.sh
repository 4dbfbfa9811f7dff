#!/bin/sh
# kill -9 during spool batches never leaves a partial file visible to the
# data server's pattern; the next start cleans stale temporaries and
# publishes what was durably staged.
. "${TEST_SRCDIR:-$(dirname "$0")/..}/daemon/lib.sh"

SIZE=4096
write_hostconf
write_server "tick 1
tick_files 300
tick_size $SIZE
tick_slow_ms 1
tick_interval_ms 10
"
for round in 1 2 3 4 5 6; do
    start_daemon
    # a random moment inside the batches: 50..1500 ms
    ms=$(( (($(od -An -N2 -tu2 /dev/urandom) % 1450) + 50) ))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -KILL "$DPID"
    wait "$DPID" 2>/dev/null
    DPID=""
    check_complete "$SIZE" || exit 1
    echo "round $round: killed after $ms ms; $(ls -A "$IN" | grep -c '^\.pandora-tmp\.') stale temporaries"
done

# one more kill while temporaries surely exist, to check the clean-up: a
# slow batch (20 ms a file, 6 s in all) is killed while it is being written
write_server "tick 1
tick_files 300
tick_size $SIZE
tick_slow_ms 20
tick_interval_ms 10
"
start_daemon
i=0
until [ "$(ls -A "$IN" | grep -c '^\.pandora-tmp\.')" -ge 20 ]; do
    [ $i -ge 200 ] && fail "no temporaries appeared"
    sleep 0.02; i=$((i + 1))
done
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=""
check_complete "$SIZE" || exit 1
left=$(ls -A "$IN" | grep -c '^\.pandora-tmp\.')
[ "$left" -ge 1 ] || fail "expected stale temporaries after kill -9"

# restart without new batches: temporaries are cleaned, staged files published
write_server "tick 1
tick_files 0
tick_interval_ms 3600000
"
: > "$LOG"
start_daemon
grep -q "removed [0-9]* stale temporary file(s)" "$LOG" || fail "stale temporaries not reported"
[ "$(ls -A "$IN" | grep -c '^\.pandora-tmp\.')" -eq 0 ] || fail "stale temporaries not removed"
staged=$(find "$IN/.pandora-staged" -type f 2>/dev/null | wc -l)
[ "$staged" -eq 0 ] || fail "$staged staged file(s) not recovered"
check_complete "$SIZE" || exit 1
kill -TERM "$DPID"
wait_gone "$DPID" 10 || fail "no stop"
DPID=""
echo "ok: $left stale temporaries cleaned, nothing partial ever visible"
