#!/bin/sh
# TERM stops within the deadline: a cooperative batch is abandoned at once
# without visible files; a task that will not return is abandoned at the
# deadline.
. "${TEST_SRCDIR:-$(dirname "$0")/..}/daemon/lib.sh"

write_hostconf
write_server 'tick 1
tick_files 100000
tick_slow_ms 2
tick_interval_ms 3600000
'
start_daemon
i=0
until ls -A "$IN" | grep -q '^\.pandora-tmp\.'; do
    [ $i -ge 200 ] && fail "the batch never started"
    sleep 0.05; i=$((i + 1))
done
kill -TERM "$DPID"
wait_gone "$DPID" 7 || fail "TERM did not stop the daemon within stop_timeout (5 s) + 2 s"
DPID=""
[ "$GONE_STATUS" -eq 0 ] || fail "daemon exited with status $GONE_STATUS after TERM"
[ -z "$(visible_data)" ] || fail "an abandoned batch left visible files: $(visible_data)"
[ "$(ls -A "$IN" | grep -c '^\.pandora-tmp\.')" -eq 0 ] || fail "temporaries left behind"
grep -q "pandora_hostd stopped" "$LOG" || fail "no clean stop logged"
echo "ok: TERM abandoned a cooperative batch cleanly"

# A task stuck for 10 s (tick_slow_ms 10000) with stop_timeout 1
: > "$LOG"
STOP_TIMEOUT=1 write_hostconf
write_server 'tick 1
tick_files 5
tick_slow_ms 10000
tick_interval_ms 3600000
'
start_daemon
wait_log "tick: run 1 message" || fail "no run"
kill -TERM "$DPID"
wait_gone "$DPID" 4 || fail "TERM did not stop within stop_timeout (1 s) + 3 s with a stuck task"
DPID=""
grep -q "did not finish within stop_timeout (1 s)" "$LOG" || fail "abandoned task not reported"
[ -z "$(visible_data)" ] || fail "a stuck batch left visible files"
echo "ok: a stuck task was abandoned at the deadline"

# The pid file: a second daemon on the same pid file refuses to start
: > "$LOG"
write_hostconf
write_server 'tick 1
tick_files 0
'
start_daemon
out=$("$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" --foreground 2>&1) &&
    fail "a second daemon started on the same pid file"
echo "$out" | grep -q "another pandora_hostd (pid $DPID) holds $T/pid" ||
    fail "second daemon's refusal does not name the pid and file: $out"
kill -TERM "$DPID"
wait_gone "$DPID" 10 || fail "no stop"
DPID=""
[ ! -e "$T/pid" ] || fail "pid file left after a clean stop"
echo "ok: a second daemon is refused; the pid file is removed at stop"

# Detached (no --foreground): needs log_file; the parent returns at once,
# the pid file names the daemon, TERM stops it
write_hostconf "log_file = \"$T/daemon.log\";"
"$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" || fail "detaching failed"
i=0
until [ -s "$T/pid" ] && grep -q "started" "$T/daemon.log" 2>/dev/null; do
    [ $i -ge 200 ] && fail "the detached daemon did not start"
    sleep 0.1; i=$((i + 1))
done
dpid=$(cat "$T/pid")
kill -0 "$dpid" || fail "pid file does not name a live process"
kill -TERM "$dpid"
i=0
while kill -0 "$dpid" 2>/dev/null; do
    [ $i -ge 100 ] && { kill -KILL "$dpid"; fail "detached daemon ignored TERM"; }
    sleep 0.1; i=$((i + 1))
done
grep -q "pandora_hostd stopped" "$T/daemon.log" || fail "detached daemon did not log its stop"
echo "ok: detached daemon started, wrote its pid, stopped on TERM"

write_hostconf
out=$("$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" 2>&1) && fail "detached without log_file started"
echo "$out" | grep -q "needs log_file" || fail "no clear refusal without log_file: $out"
echo "ok: detaching without log_file is refused clearly"
