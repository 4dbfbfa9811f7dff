#!/bin/sh
# status.sh - the status listener of a running pandora_hostd, from outside:
# the tick test module and the syncserver module with one working remote
# (the test peer) and one whose port is closed. curl checks every route and
# status code, promtool checks /metrics, headless Chromium loads the page
# and the test reads both remotes' rows and states from its DOM; then
# --status, --status --json, --poll; a reload that moves the listener, one
# that is refused, a second daemon on the same port; no secret anywhere.
#
# Needs curl, promtool (Debian package prometheus) and chromium: all come
# with ./autogen.sh --deps. Addresses: 127.0.0.61 (status), .62 (peer), .63
# (nothing listening), ports picked by the kernel.

. "$(dirname "$0")/lib.sh"

: "${PEER_BIN_DIR:?run through make check}"
BUILD=$(dirname "$PANDORA_HOSTD")
FREEPORT="$BUILD/t/freeport"
SYNC_SO="$BUILD/modules/syncserver/.libs/syncserver.so"
SADDR=127.0.0.61
PADDR=127.0.0.62
CADDR=127.0.0.63
TICK_PW=s3cr3t-tick-pw
SYNC_PW=s3cr3t-sync-pw

for tool in curl promtool chromium; do
    command -v "$tool" >/dev/null 2>&1 ||
        fail "$tool is not installed (Debian packages curl, prometheus, chromium; ./autogen.sh --deps installs them)"
done
[ -x "$FREEPORT" ] || fail "no $FREEPORT (make check builds it)"
[ -f "$SYNC_SO" ] || fail "no syncserver module at $SYNC_SO"
[ -x "$PEER_BIN_DIR/tentacle_peer" ] || fail "no tentacle_peer in $PEER_BIN_DIR"

# ---- the peer, the closed port, the status port
mkdir -p "$T/peer/conf" "$T/peer/md5" "$T/peer/collections" "$T/peer/trans" \
    "$T/peer/commands" "$T/mods" "$T/chromium"
"$PEER_BIN_DIR/tentacle_peer" -a "$PADDR" -p 0 --port-file "$T/peer.port" \
    -s "$T/peer" -I -o -x "$SYNC_PW" --log "$T/peer.log" >/dev/null 2>"$T/peer.err" &
PEER_PID=$!
i=0
while [ ! -s "$T/peer.port" ]; do
    kill -0 "$PEER_PID" 2>/dev/null || fail "the test peer did not start: $(cat "$T/peer.err")"
    [ "$i" -ge 100 ] && fail "the test peer wrote no port"
    sleep 0.1
    i=$((i + 1))
done
PPORT=$(cat "$T/peer.port")
CPORT=$("$FREEPORT" "$CADDR") || fail "freeport $CADDR failed"
SPORT=$("$FREEPORT" "$SADDR") || fail "freeport $SADDR failed"
OK_REMOTE="$PADDR:$PPORT"
BAD_REMOTE="$CADDR:$CPORT"
URL="http://$SADDR:$SPORT"
printf 'seeded\n' > "$T/peer/agent.1700000001.data"

stop_peer() {
    kill -TERM "$PEER_PID" 2>/dev/null
    wait "$PEER_PID" 2>/dev/null
}
trap 'stop_peer; cleanup' EXIT

ln -s "$TEST_MODULEDIR/tick.so" "$T/mods/tick.so"
ln -s "$SYNC_SO" "$T/mods/syncserver.so"
write_server "servername statustest
tick 1
tick_interval_ms 500
tick_password $TICK_PW
syncserver 1
sync_address $OK_REMOTE,$BAD_REMOTE
sync_password $SYNC_PW
sync_config 0
sync_settle 0
sync_interval 1
sync_timeout 2
sync_retries 1
"
status_conf() {
    STATUS_CONF="status = { listen = \"$SADDR\"; port = $1; };" \
        MODULES='"tick", "syncserver"' MODULE_DIR="$T/mods" write_hostconf
}
status_conf "$SPORT"

# get PATH [CURL-ARG...] - the body in $T/body, "CODE TYPE" in $T/code
get() {
    local path=$1
    shift
    curl -s --max-time 10 -o "$T/body" -D "$T/headers" \
        -w '%{http_code} %{content_type}' "$@" "$URL$path" > "$T/code"
}

# expect_code WANT WHAT - the last get's "CODE TYPE" starts with WANT
expect_code() {
    case "$(cat "$T/code")" in
    "$1"*) ;;
    *) fail "$2: got '$(cat "$T/code")', expected '$1'; body: $(head -c 300 "$T/body")" ;;
    esac
}

# no_secret FILE WHAT - neither password is in FILE
no_secret() {
    if grep -q -e "$TICK_PW" -e "$SYNC_PW" "$1"; then
        fail "a password appears in $2"
    fi
}

: > "$LOG"
start_daemon
wait_log "status page at http://$SADDR:$SPORT/" 10 || fail "no 'status page at' line"

# ---- wait until the closed port's remote is failing and the other is ok
i=0
while :; do
    get /status.json
    grep -q "\"id\":\"$BAD_REMOTE\",[^}]*\"state\":\"failing\"" "$T/body" &&
        grep -q "\"id\":\"$OK_REMOTE\",[^}]*\"state\":\"ok\"" "$T/body" && break
    [ "$i" -ge 60 ] && fail "remotes did not reach ok/failing in 30 s: $(cat "$T/body")"
    sleep 0.5
    i=$((i + 1))
done
echo "remotes: $OK_REMOTE ok, $BAD_REMOTE failing"

# ---- the routes
get /
expect_code "200 text/html; charset=utf-8" "GET /"
grep -q "data-remote=\"$OK_REMOTE\" data-state=\"ok\"" "$T/body" || fail "page: no ok row"
grep -q "data-remote=\"$BAD_REMOTE\" data-state=\"failing\"" "$T/body" || fail "page: no failing row"
grep -q '<meta http-equiv="refresh"' "$T/body" || fail "page: no refresh"
grep -qi '^Content-Security-Policy:.*script-src' "$T/headers" || fail "page: no CSP"
grep -Eq 'src=|https?://' "$T/body" && fail "page: refers to something outside itself"
no_secret "$T/body" "the page"

get /status.json
expect_code "200 application/json" "GET /status.json"
grep -q '"name":"tick","module":"tick","running":true' "$T/body" || fail "json: tick"
grep -q '"name":"syncserver","module":"syncserver","running":true' "$T/body" || fail "json: syncserver"
no_secret "$T/body" "status.json"

get /metrics
expect_code "200 text/plain; version=0.0.4" "GET /metrics"
promtool check metrics < "$T/body" > "$T/promtool.out" 2>&1 ||
    fail "promtool check metrics: $(cat "$T/promtool.out")"
echo "promtool check metrics: passed ($(grep -c '^# TYPE' "$T/body") families)"
grep -q "^pandora_remote_state{service=\"syncserver\",remote=\"$BAD_REMOTE\",state=\"failing\"} 1$" "$T/body" ||
    fail "metrics: no failing state for $BAD_REMOTE"
grep -q '^pandora_service_up{service="tick",module="tick"} 1$' "$T/body" || fail "metrics: tick up"
no_secret "$T/body" "/metrics"

get /healthz
expect_code "200 text/plain" "GET /healthz"
[ "$(cat "$T/body")" = "ok" ] || fail "healthz body: $(cat "$T/body")"

get / -I
expect_code "200" "HEAD /"
get / -X POST -d x=1
expect_code "405" "POST /"
grep -qi '^Allow: GET, HEAD' "$T/headers" || fail "405 without Allow: GET, HEAD"
get /nope
expect_code "404" "GET /nope"
get /healthz -H 'Host: rebind.example.com'
expect_code "403" "a foreign Host"

# ---- poll: the page's request without the header is refused
get "/remotes/$OK_REMOTE/poll" -X POST
expect_code "403" "POST poll without X-Pandora-Poll"
get "/remotes/$OK_REMOTE/poll" -X POST -H 'X-Pandora-Poll: 1'
expect_code "202" "POST poll with X-Pandora-Poll"
wait_log "poll of $OK_REMOTE requested" 5 || fail "the poll is not in the log"

# ---- the terminal
"$PANDORA_HOSTD" -H "$HOSTCONF" --status > "$T/status.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "--status exited $rc with a failing remote (want 1): $(cat "$T/status.out")"
grep -q "^  $OK_REMOTE  *ok " "$T/status.out" || fail "--status: no ok row: $(cat "$T/status.out")"
grep -q "^  $BAD_REMOTE  *FAILING " "$T/status.out" || fail "--status: no FAILING row: $(cat "$T/status.out")"
grep -q "last error .*connection refused" "$T/status.out" || fail "--status: no last error"
no_secret "$T/status.out" "--status"
cat "$T/status.out"

"$PANDORA_HOSTD" -H "$HOSTCONF" --status --json > "$T/json.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "--status --json exited $rc (want 1)"
grep -q "\"id\":\"$BAD_REMOTE\",[^}]*\"state\":\"failing\"" "$T/json.out" || fail "--status --json: $(head -c 300 "$T/json.out")"
no_secret "$T/json.out" "--status --json"

"$PANDORA_HOSTD" -H "$HOSTCONF" --poll "$OK_REMOTE" > "$T/poll.out" 2>&1 ||
    fail "--poll $OK_REMOTE: $(cat "$T/poll.out")"
grep -q "poll of $OK_REMOTE requested" "$T/poll.out" || fail "--poll said: $(cat "$T/poll.out")"
"$PANDORA_HOSTD" -H "$HOSTCONF" --poll nosuch:1 > "$T/poll.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "--poll of an unknown remote exited $rc (want 1)"
grep -q "no remote named nosuch:1" "$T/poll.out" || fail "--poll nosuch said: $(cat "$T/poll.out")"

# ---- a real browser: both rows and their states in the DOM
timeout 90 chromium --headless --no-sandbox --disable-gpu \
    --user-data-dir="$T/chromium" --dump-dom "$URL/" > "$T/dom.html" 2> "$T/chromium.err" ||
    fail "chromium --dump-dom failed: $(tail -n 5 "$T/chromium.err")"
grep -q "data-remote=\"$OK_REMOTE\" data-state=\"ok\"" "$T/dom.html" || fail "DOM: no ok row for $OK_REMOTE"
grep -q "data-remote=\"$BAD_REMOTE\" data-state=\"failing\"" "$T/dom.html" || fail "DOM: no failing row for $BAD_REMOTE"
grep -q "class=\"row row-failing\"" "$T/dom.html" || fail "DOM: the failing row is not marked"
grep -q 'data-service="tick" data-running="true"' "$T/dom.html" || fail "DOM: no tick service"
# the inline script ran under the page's CSP: the poll buttons were unhidden
grep -q "<button type=\"button\" class=\"poll\" data-remote=\"$OK_REMOTE\">" "$T/dom.html" ||
    fail "DOM: the poll button stayed hidden (script blocked?)"
no_secret "$T/dom.html" "the DOM"
echo "chromium: DOM has $OK_REMOTE ok and $BAD_REMOTE failing"

# ---- a second daemon on the same status port is refused, by name, before
# any of its services starts (its own files: it must not touch ours)
mkdir -p "$T/in2"
printf 'incomingdir %s\nservername second\ntick 1\n' "$T/in2" > "$T/server2.conf"
sed -e "s|$T/pid|$T/pid2|" -e "s|$T/state|$T/state2|" "$HOSTCONF" > "$T/hostd2.conf"
timeout 30 "$PANDORA_HOSTD" -c "$T/server2.conf" -H "$T/hostd2.conf" --foreground > "$T/second.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "a second daemon on the same status port exited $rc: $(tail -n 3 "$T/second.log")"
grep -q "cannot listen on $SADDR:$SPORT.*status.port.*hostd2.conf" "$T/second.log" ||
    fail "the second daemon did not say why: $(tail -n 3 "$T/second.log")"
grep -q "service tick started" "$T/second.log" && fail "the second daemon started a service"

# ---- a reload that would open the listener to the network without a token
write_hostconf_open() {
    STATUS_CONF="status = { listen = \"0.0.0.0\"; port = $SPORT; };" \
        MODULES='"tick", "syncserver"' MODULE_DIR="$T/mods" write_hostconf
}
write_hostconf_open
"$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" --check-config > "$T/check.out" 2>&1 &&
    fail "--check-config accepted listen 0.0.0.0 without a token"
grep -q "status.listen.*0.0.0.0.*status.token_file" "$T/check.out" ||
    fail "--check-config did not name status.listen/token_file: $(tail -n 2 "$T/check.out")"
kill -HUP "$DPID"
wait_log "reload refused.*status.token_file" 10 || fail "the unsafe reload was not refused"
get /healthz
expect_code "200" "the listener after a refused reload"

# ---- a reload that moves the listener to another port
NEWPORT=$("$FREEPORT" "$SADDR") || fail "freeport failed"
status_conf "$NEWPORT"
kill -HUP "$DPID"
wait_log "status page at http://$SADDR:$NEWPORT/" 10 || fail "the listener did not move to $NEWPORT"
OLDURL=$URL
URL="http://$SADDR:$NEWPORT"
get /healthz
expect_code "200" "the moved listener"
curl -s --max-time 5 -o /dev/null "$OLDURL/healthz" && fail "the old port still answers"
kill -0 "$DPID" 2>/dev/null || fail "the daemon died"

# ---- a clean stop; nothing secret in the log
kill -TERM "$DPID"
wait_gone "$DPID" 20 || fail "the daemon did not stop"
[ "$GONE_STATUS" -eq 0 ] || fail "the daemon exited $GONE_STATUS"
curl -s --max-time 5 -o /dev/null "$URL/healthz" && fail "the listener outlived the daemon"
no_secret "$LOG" "the daemon log"
grep -q 'Sanitizer\|runtime error:' "$LOG" && fail "sanitizer report in the daemon log"
echo "status.sh: all checks passed"
exit 0
