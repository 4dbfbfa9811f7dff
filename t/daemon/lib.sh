# lib.sh - shared helpers for the daemon tests (sourced, not run).
#
# Each test gets its own directory with an incomingdir, both config files
# and a log; the daemon it starts is killed whatever happens.

set -u

: "${PANDORA_HOSTD:?run through make check}"
: "${TEST_MODULEDIR:?run through make check}"

T=$(mktemp -d "${TMPDIR:-/tmp}/pandora-daemon.XXXXXX")
IN="$T/in"
SERVER="$T/server.conf"
HOSTCONF="$T/hostd.conf"
LOG="$T/log"
DPID=""
mkdir -p "$IN"

cleanup() {
    # a detached daemon is not our child: its pid file names it (a stale
    # pid left by kill -9 may belong to another process by now: check)
    local p
    p=$(cat "$T/pid" 2>/dev/null)
    if [ -n "$p" ] && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null |
            grep -q "pandora_hostd.* -H $HOSTCONF"; then
        kill -KILL "$p" 2>/dev/null
    fi
    if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
        kill -KILL "$DPID" 2>/dev/null
        wait "$DPID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$LOG" ]; then
        echo "---- daemon log ----" >&2
        tail -n 40 "$LOG" >&2
    fi
    exit 1
}

# write_server BODY - pandora_server.conf: our incomingdir on line 1, BODY
# from line 2 (it must end in a newline), full verbosity last
write_server() {
    printf 'incomingdir %s\n%sverbosity 10\n' "$IN" "$1" > "$SERVER.new"
    mv "$SERVER.new" "$SERVER"
}

# write_hostconf [EXTRA] - the tick module from the build tree. The status
# listener is off (parallel tests must not share its port) unless
# STATUS_CONF holds a status group of the test's own; MODULE_DIR and
# MODULES ('"tick", "syncserver"') replace the module directory and list.
write_hostconf() {
    local status=${STATUS_CONF:-'status = { enabled = false; };'}
    local modules=${MODULES:-'"tick"'}
    cat > "$HOSTCONF.new" <<CONF
module_dir = "${MODULE_DIR:-$TEST_MODULEDIR}";
modules = [ $modules ];
state_dir = "$T/state";
pid_file = "$T/pid";
workers = 4;
stop_timeout = ${STOP_TIMEOUT:-5};
$status
${1:-}
CONF
    mv "$HOSTCONF.new" "$HOSTCONF"
}

# start_daemon - run in the foreground (in the background of this shell)
# and wait for this run's own "started" line (the log may hold earlier ones)
start_daemon() {
    local before i=0
    before=$(count_log "pandora_hostd .* started")
    "$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" --foreground >>"$LOG" 2>&1 &
    DPID=$!
    while [ "$(count_log "pandora_hostd .* started")" -le "$before" ]; do
        kill -0 "$DPID" 2>/dev/null || fail "daemon exited at start"
        [ "$i" -ge 200 ] && fail "daemon did not start within 20 s"
        sleep 0.1
        i=$((i + 1))
    done
}

# wait_log REGEX [SECONDS] - until the log has a matching line
wait_log() {
    local i=0 max=$(( ${2:-20} * 10 ))
    while [ "$i" -lt "$max" ]; do
        grep -Eq -- "$1" "$LOG" 2>/dev/null && return 0
        kill -0 "$DPID" 2>/dev/null || { grep -Eq -- "$1" "$LOG" && return 0; return 1; }
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# count_log REGEX - matching lines so far
count_log() {
    grep -Ec -- "$1" "$LOG" 2>/dev/null || true
}

# wait_gone PID SECONDS - until the process has exited (its exit status in
# GONE_STATUS); 1 if it has not
wait_gone() {
    local i=0 max=$(( $2 * 10 ))
    while kill -0 "$1" 2>/dev/null; do
        [ "$i" -ge "$max" ] && return 1
        sleep 0.1
        i=$((i + 1))
    done
    wait "$1" 2>/dev/null
    GONE_STATUS=$?
    return 0
}

# visible_data - files the data server would pick up (^.*[._]\d+\.data$)
visible_data() {
    ls -1 "$IN" 2>/dev/null | grep -E '^.*[._][0-9]+\.data$' || true
}

# check_complete SIZE - every visible data file has SIZE bytes and starts
# with its own name (tick writes "<name>\n" repeated)
check_complete() {
    local f n=0
    for f in $(visible_data); do
        [ "$(stat -c %s "$IN/$f")" = "$1" ] || fail "$f is partial ($(stat -c %s "$IN/$f") of $1 bytes)"
        [ "$(head -n 1 "$IN/$f")" = "$f" ] || fail "$f has foreign content"
        n=$((n + 1))
    done
    echo "$n complete file(s) visible"
}
