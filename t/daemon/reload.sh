#!/bin/sh
# HUP with a broken configuration: refused, logged, the old one keeps
# running. HUP with a good one: takes effect. USR1 is forwarded.
. "${TEST_SRCDIR:-$(dirname "$0")/..}/daemon/lib.sh"

write_hostconf
write_server 'tick 1
tick_files 0
tick_interval_ms 100
tick_message first
'
start_daemon
wait_log "tick: run [0-9]+ message=first" || fail "no first run"

write_server 'tick 1
tick_files 0
tick_interval_ms fast
tick_message broken
'
kill -HUP "$DPID"
wait_log "reload refused, the previous configuration keeps running: .*server.conf:4: tick_interval_ms" ||
    fail "broken reload not reported with file:line:key"
before=$(count_log "message=first")
wait_log "run [0-9]+ message=first" || true
i=0
while [ "$(count_log "message=first")" -le $((before + 2)) ] && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
done
[ "$(count_log "message=first")" -gt $((before + 2)) ] || fail "old configuration stopped running"
[ "$(count_log "message=broken")" -eq 0 ] || fail "broken configuration was applied"
echo "ok: broken reload refused, old configuration still running"

write_server 'tick 1
tick_files 0
tick_interval_ms 100
tick_message second
'
kill -HUP "$DPID"
wait_log "configuration reloaded" || fail "good reload not confirmed"
wait_log "run [0-9]+ message=second" || fail "new configuration not applied"
echo "ok: good reload applied"

# a broken host file is refused too
echo 'workers = "many";' >> "$HOSTCONF"
kill -HUP "$DPID"
wait_log "reload refused.*hostd.conf" || fail "broken host file not refused"
kill -0 "$DPID" || fail "daemon died on a broken host file"
echo "ok: broken host file refused"

kill -USR1 "$DPID"
wait_log "received SIGUSR1, polling every service now" || fail "USR1 not handled"
echo "ok: USR1 forwarded"

kill -TERM "$DPID"
wait_gone "$DPID" 10 || fail "daemon did not stop on TERM"
# 0, also under ASan: LeakSanitizer would fail a leaking stop here
[ "$GONE_STATUS" -eq 0 ] || fail "daemon exited with status $GONE_STATUS after TERM"
wait_log "pandora_hostd stopped" 1 || fail "no clean stop logged"
DPID=""
echo "ok: stopped"
