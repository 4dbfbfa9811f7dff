# lib.sh - shared helpers for the syncserver tests (sourced, not run; bash).
#
# Each test gets its own directory: an incomingdir ($IN), both config files,
# the daemon log ($LOG), one storage directory, port file and log per test
# peer. Everything it starts (daemon, peers, agent simulators, watchers) is
# killed on exit, whatever happens. Peers bind 127.0.0.x / 127.0.1.x
# addresses on kernel-picked ports, so parallel tests never collide.
#
# Environment (exported by make check): PANDORA_HOSTD, PEER_BIN_DIR,
# TEST_SRCDIR, optionally SYNC_MODULEDIR. KEEP_WORK=1 keeps the directory.

set -u

: "${PANDORA_HOSTD:?run through make check}"
: "${PEER_BIN_DIR:?run through make check}"
SYNC_MODULEDIR=${SYNC_MODULEDIR:-$(dirname "$PANDORA_HOSTD")/modules/syncserver/.libs}
SYNC_SRCDIR=${TEST_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}

T=$(mktemp -d "${TMPDIR:-/tmp}/pandora-sync.XXXXXX")
IN="$T/jail/in"                 # incomingdir; $T/jail must only ever hold it
SERVER="$T/server.conf"
HOSTCONF="$T/hostd.conf"
LOG="$T/log"
MANIFEST="$T/manifest"          # every file uploaded: name<TAB>size<TAB>sha256
DPID=""
LOG_MARK=0
BG_PIDS=()                      # peers, agent simulators, watchers
declare -A PEER_PID PEER_ADDR PEER_PORT
# the stock buffer's routing (PROTOCOL.md §3)
BUFFER_RULES='.*\.conf:conf;.*\.md5:md5;.*\.zip:collections;.*\.lock:trans;.*\.rcmd:commands'
# the data server's pattern (PROTOCOL.md §7)
DATA_RE='^.*[._][0-9]+\.data$'
PASSWORD='s3cr3t-pw'            # never allowed in the log
mkdir -p "$IN"
: > "$MANIFEST"
cd "$T" || exit 1

# cleanup - kill the daemon and every background process, remove $T
cleanup() {
    local p
    if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
        kill -KILL "$DPID" 2>/dev/null
        wait "$DPID" 2>/dev/null
    fi
    # a daemon that detached is not our child: its pid file names it
    p=$(cat "$T/pid" 2>/dev/null)
    if [ -n "$p" ] && { tr '\0' ' ' < "/proc/$p/cmdline"; } 2>/dev/null |
            grep -q "pandora_hostd.* -H $HOSTCONF"; then
        kill -KILL "$p" 2>/dev/null
    fi
    for p in "${BG_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${BG_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ -n "${KEEP_WORK:-}" ]; then
        echo "work directory kept: $T" >&2
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# fail MSG - report, show the daemon log tail, exit 1
fail() {
    echo "FAIL: $*" >&2
    if [ -s "$LOG" ]; then
        echo "---- daemon log (last 40 lines) ----" >&2
        tail -n 40 "$LOG" >&2
    fi
    exit 1
}

# skip MSG - a tool the test needs is missing: exit 77
skip() {
    echo "SKIP: $*" >&2
    exit 77
}

# note MSG - progress line for the test log
note() {
    echo "# $*"
}

# require_tools - the programs every sync test runs
require_tools() {
    local b
    for b in tentacle_peer agentsim; do
        [ -x "$PEER_BIN_DIR/$b" ] || fail "no $b in PEER_BIN_DIR=$PEER_BIN_DIR"
    done
    [ -x "$PANDORA_HOSTD" ] || fail "no daemon at $PANDORA_HOSTD"
    [ -f "$SYNC_MODULEDIR/syncserver.so" ] ||
        fail "no syncserver.so in SYNC_MODULEDIR=$SYNC_MODULEDIR"
    for b in sha256sum timeout find awk; do
        command -v "$b" >/dev/null 2>&1 || skip "$b not installed"
    done
}
require_tools

# make_pki IP... - the throw-away PKI in $T/pki (server certs valid for IP...)
make_pki() {
    command -v certtool >/dev/null 2>&1 || skip "certtool not installed (gnutls-bin)"
    PKI="$T/pki"
    sh "$SYNC_SRCDIR/peer/make-pki.sh" "$PKI" "$@" >"$T/pki.out" 2>&1 ||
        fail "make-pki.sh failed: $(cat "$T/pki.out")"
}

# start_peer NAME ADDR ARG... - a test Tentacle server storing in $T/NAME
start_peer() {
    local name=$1 addr=$2 i
    shift 2
    mkdir -p "$T/$name/conf" "$T/$name/md5" "$T/$name/collections" \
        "$T/$name/trans" "$T/$name/commands"
    rm -f "$T/$name.port"
    "$PEER_BIN_DIR/tentacle_peer" -a "$addr" -p 0 --port-file "$T/$name.port" \
        -s "$T/$name" --log "$T/$name.log" "$@" >/dev/null 2>"$T/$name.err" &
    PEER_PID[$name]=$!
    BG_PIDS+=("$!")
    PEER_ADDR[$name]=$addr
    for i in $(seq 200); do
        [ -s "$T/$name.port" ] && break
        kill -0 "${PEER_PID[$name]}" 2>/dev/null ||
            fail "peer $name did not start: $(cat "$T/$name.err")"
        sleep 0.05
    done
    PEER_PORT[$name]=$(cat "$T/$name.port" 2>/dev/null)
    [ -n "${PEER_PORT[$name]}" ] || fail "peer $name wrote no port"
}

# start_buffer NAME ADDR ARG... - a peer run like a stock isolated-network buffer
start_buffer() {
    local name=$1 addr=$2
    shift 2
    start_peer "$name" "$addr" -I -o -i "$BUFFER_RULES" "$@"
}

# stop_peer NAME - end one peer (SIGTERM)
stop_peer() {
    kill -TERM "${PEER_PID[$1]}" 2>/dev/null
    wait "${PEER_PID[$1]}" 2>/dev/null
}

# label NAME - the remote as the daemon names it: ADDR:PORT, [IPv6]:PORT
label() {
    case ${PEER_ADDR[$1]} in
    *:*) echo "[${PEER_ADDR[$1]}]:${PEER_PORT[$1]}" ;;
    *) echo "${PEER_ADDR[$1]}:${PEER_PORT[$1]}" ;;
    esac
}

# upload NAME AGENT N TS [AGENTSIM-ARG...] - N agent files over the wire,
# named AGENT.<TS+i>.data; appended to $MANIFEST and $T/manifest.NAME
upload() {
    local name=$1 agent=$2 n=$3 ts=$4 man="$T/man.$1.$2"
    shift 4
    "$PEER_BIN_DIR/agentsim" -a "${PEER_ADDR[$name]}" -p "${PEER_PORT[$name]}" \
        -n "$n" --agent "$agent" --ts "$ts" --manifest "$man" -q "$@" \
        >"$man.out" 2>&1 ||
        fail "agentsim to $name failed: $(tail -n 5 "$man.out")"
    [ "$(wc -l < "$man")" -eq "$n" ] || fail "agentsim stored $(wc -l < "$man") of $n files on $name"
    cat "$man" >> "$MANIFEST"
    cat "$man" >> "$T/manifest.$name"
}

# seed NAME N [PREFIX] - N small data files written straight into a peer's storage
seed() {
    local i
    for i in $(seq "$2"); do
        printf 'seeded %s file %s\n' "$1" "$i" > "$T/$1/${3:-seed}.$((1700000000 + i)).data"
    done
}

# remote_left NAME - data files still in a peer's storage root
remote_left() {
    find "$T/$1" -maxdepth 1 -type f -name '*.data' | wc -l
}

# write_server BODY - pandora_server.conf with the test defaults, then BODY
# (lines ending in a newline; the last occurrence of a key wins)
write_server() {
    printf 'incomingdir %s\nservername test\nverbosity 10\nsyncserver 1\nsync_config 0\nsync_settle 0\nsync_interval 1\nsync_timeout 2\nsync_retries 1\n%s' \
        "$IN" "$1" > "$SERVER.new"
    mv "$SERVER.new" "$SERVER"
}

# write_hostconf [EXTRA] - pandora_hostd.conf loading syncserver from the build tree
write_hostconf() {
    cat > "$HOSTCONF.new" <<CONF
module_dir = "$SYNC_MODULEDIR";
modules = [ "syncserver" ];
state_dir = "$T/state";
pid_file = "$T/pid";
workers = 8;
stop_timeout = 5;
status = { enabled = false; };
${1:-}
CONF
    mv "$HOSTCONF.new" "$HOSTCONF"
}

# mark_log - remember where the log ends (log_since prints what follows)
mark_log() {
    touch "$LOG"
    LOG_MARK=$(wc -l < "$LOG")
}

# log_since - the log lines written since mark_log
log_since() {
    tail -n +"$((LOG_MARK + 1))" "$LOG" 2>/dev/null
}

# run_once - one `--once` run appended to $LOG; its exit status in ONCE_STATUS
run_once() {
    mark_log
    timeout -k 5 "${ONCE_TIMEOUT:-90}" \
        "$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" --once >>"$LOG" 2>&1
    ONCE_STATUS=$?
    case $ONCE_STATUS in
    124|137) fail "--once did not finish within ${ONCE_TIMEOUT:-90} s" ;;
    esac
    grep -q 'Sanitizer\|runtime error:' "$LOG" && fail "sanitizer report in the daemon log"
    return 0
}

# count_log REGEX - matching lines so far (extended, case-insensitive)
count_log() {
    local n
    n=$(grep -Eic -- "$1" "$LOG" 2>/dev/null)
    echo "${n:-0}"
}

# start_daemon - run in the foreground (in the background of this shell) and
# wait for this run's own "started" line
start_daemon() {
    local before i=0
    before=$(count_log "pandora_hostd .* started")
    "$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" --foreground >>"$LOG" 2>&1 &
    DPID=$!
    while [ "$(count_log "pandora_hostd .* started")" -le "$before" ]; do
        kill -0 "$DPID" 2>/dev/null || fail "daemon exited at start"
        [ "$i" -ge 300 ] && fail "daemon did not start within 30 s"
        sleep 0.1
        i=$((i + 1))
    done
}

# daemon_alive - fail unless the foreground daemon is still running
daemon_alive() {
    kill -0 "$DPID" 2>/dev/null || fail "the daemon died ($*)"
}

# stop_daemon - SIGTERM; it must exit 0 within 20 s without a sanitizer report
stop_daemon() {
    local i=0 st
    kill -TERM "$DPID" 2>/dev/null || fail "the daemon was not running at stop"
    while kill -0 "$DPID" 2>/dev/null; do
        [ "$i" -ge 200 ] && fail "the daemon did not stop within 20 s of SIGTERM"
        sleep 0.1
        i=$((i + 1))
    done
    wait "$DPID"
    st=$?
    DPID=""
    [ "$st" -eq 0 ] || fail "the daemon exited with status $st on SIGTERM"
    grep -q 'Sanitizer\|runtime error:' "$LOG" && fail "sanitizer report in the daemon log"
    return 0
}

# kill_daemon - SIGKILL, reap
kill_daemon() {
    kill -KILL "$DPID" 2>/dev/null
    wait "$DPID" 2>/dev/null
    DPID=""
}

# wait_until SECONDS CMD... - poll CMD every 0.2 s; 1 if it never succeeded
wait_until() {
    local i=0 max=$(( $1 * 5 ))
    shift
    until "$@"; do
        [ "$i" -ge "$max" ] && return 1
        [ -z "$DPID" ] || kill -0 "$DPID" 2>/dev/null || { "$@"; return; }
        sleep 0.2
        i=$((i + 1))
    done
}

# data_files [DIR] - regular files directly in DIR ($IN) with names matching
# the data server's pattern
data_files() {
    find "${1:-$IN}" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' | grep -E "$DATA_RE" || true
}

# data_count [DIR] - how many such files
data_count() {
    data_files "${1:-$IN}" | wc -l
}

# check_delivered MANIFEST [DIR] - every manifest file is in DIR with its sha256
check_delivered() {
    local dir=${2:-$IN} out
    awk -F'\t' '{ print $3 "  " $1 }' "$1" > "$T/sums"
    out=$(cd "$dir" && sha256sum --quiet -c "$T/sums" 2>&1) ||
        fail "delivered files differ from the manifest: $(echo "$out" | head -n 5)"
}

# check_no_extra MANIFEST [DIR] - DIR holds no data file the manifest lacks
check_no_extra() {
    local extra
    extra=$(data_files "${2:-$IN}" | awk -F'\t' 'NR == FNR { m[$1] = 1; next } !($1 in m)' "$1" -)
    [ -z "$extra" ] || fail "unexpected file(s) in incomingdir: $(echo "$extra" | head -n 5)"
}

# check_mtimes [DIR] - each NAME.<ts>.data has mtime ts
check_mtimes() {
    local bad
    bad=$(find "${1:-$IN}" -mindepth 1 -maxdepth 1 -type f -name '*.data' -printf '%T@ %f\n' |
        awk '{ n = split($2, p, "."); t = int($1); if (p[n - 1] != t) print $2 " mtime " t }')
    [ -z "$bad" ] || fail "mtime is not the agent timestamp: $(echo "$bad" | head -n 3)"
}

# check_clean [DIR] - no temporaries and no staged files left
check_clean() {
    local dir=${1:-$IN} left
    left=$(find "$dir" -name '.pandora-tmp.*' -o -path '*/.pandora-staged/*' -type f | head -n 5)
    [ -z "$left" ] || fail "temporaries or staged files left: $left"
}

# check_untouched - nothing at all (no file, temporary or staged) under $IN
check_untouched() {
    local any
    any=$(find "$IN" -type f | head -n 5)
    [ -z "$any" ] || fail "files written to incomingdir: $any"
}

# check_no_secret - the password is never logged (DESIGN.md §3.6)
check_no_secret() {
    ! grep -q -- "$PASSWORD" "$LOG" || fail "the password appears in the log"
}

# peer_max_active NAME - most connections the peer served at once
peer_max_active() {
    sed -n 's/.* open .* max=\([0-9]*\).*/\1/p' "$T/$1.log" | sort -n | tail -n 1
}

# check_lockstep NAME - the peer never saw a pipelined command
check_lockstep() {
    ! grep -q 'early-input\|pipelined' "$T/$1.log" ||
        fail "the daemon pipelined commands to $1: $(grep -m 2 'early-input\|pipelined' "$T/$1.log")"
}

# peer_cmds NAME VERB - how many VERB commands the peer received
peer_cmds() {
    grep -c " cmd \"$2 " "$T/$1.log" || true
}

# check_agent_order NAME - per agent, the peer got its MVs in timestamp order
check_agent_order() {
    local bad
    bad=$(sed -n 's/.* cmd "MV <\(.*\)\.\([0-9]*\)\.data>"$/\1 \2/p' "$T/$1.log" |
        awk '$1 in last && $2 + 0 <= last[$1] { print $1 "." $2 ".data after " $1 "." last[$1] ".data"; exit }
             { last[$1] = $2 + 0 }')
    [ -z "$bad" ] || fail "$1: an agent's files were moved out of timestamp order: $bad"
}

# log_has_line NAME REGEX... - exactly one log line since mark_log names the
# remote and matches every REGEX (case-insensitive); fail otherwise
log_has_line() {
    local lab line re n
    lab=$(label "$1")
    shift
    line=$(log_since | grep -F -- "$lab")
    for re in "$@"; do
        line=$(echo "$line" | grep -Ei -- "$re")
    done
    n=$(echo "$line" | grep -c .)
    [ "$n" -ge 1 ] || fail "no log line names $lab and matches: $*"
    [ "$n" -eq 1 ] || fail "$n log lines name $lab and match: $* (one clear line expected)"
}

# sleep_ms MS - fractional sleep
sleep_ms() {
    sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

# random_ms LO HI - a random number of milliseconds in LO..HI
random_ms() {
    echo $(( $1 + $(od -An -N2 -tu2 /dev/urandom) % ($2 - $1 + 1) ))
}
