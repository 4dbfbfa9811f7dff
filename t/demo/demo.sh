#!/bin/bash
# demo.sh - watch pandora_hostd's syncserver drain two Tentacle buffers (`make demo`)
#
# Starts, on loopback only (127.0.0.1 and 127.0.0.2, ports picked by the kernel):
#   site-a  a Tentacle test peer on 127.0.0.1, plain TCP, password "secret"
#   site-b  a Tentacle test peer on 127.0.0.2, TLS, client certificate required
# both run like a buffer in an isolated network (-I -o and the usual -i rules);
# agent simulators upload ~4 KB agent XML files to both at a steady rate, and
# pandora_hostd (generated pandora_server.conf with `syncserver 1`, plus a
# pandora_hostd.conf with the per-remote password and certificates) pulls them
# into a local incomingdir. Prints progress per remote every second; after
# DEMO_SECONDS (or Ctrl-C) stops the agents, lets the daemon drain, stops it and
# checks that every uploaded file arrived exactly once with the right sha256.
#
# Environment (make demo sets the paths; run from a build tree they are guessed):
#   PANDORA_HOSTD    the daemon              (default: <top>/pandora_hostd)
#   SYNC_MODULEDIR   where syncserver.so is  (default: <top>/modules/syncserver/.libs)
#   PEER_BIN_DIR     tentacle_peer, agentsim (default: <top>/t/peer)
#   TEST_SRCDIR      the source t/ directory (default: this script's ../)
#   DEMO_SECONDS     how long agents upload (60)
#   DEMO_RATE        files per second per agent (20)
#   DEMO_AGENTS      agents per site (3)
#   DEMO_DELIVERY    safe or fast (safe)
#   DEMO_DRAIN       seconds allowed to drain after the agents stop (60)
#   DEMO_SCREENSHOT  a PNG path: a screenshot of the status page is taken
#                    there 10 s into the run (needs chromium)
#   KEEP=1           keep the work directory (logs, configs, manifests)
# Exit: 0 when every file arrived exactly once and intact, 1 otherwise.
# shellcheck disable=SC2317  # the trap handlers are reached indirectly
set -u

here=$(cd "$(dirname "$0")" && pwd)
TEST_SRCDIR=${TEST_SRCDIR:-$(dirname "$here")}
top=$(dirname "$TEST_SRCDIR")
PANDORA_HOSTD=${PANDORA_HOSTD:-$top/pandora_hostd}
SYNC_MODULEDIR=${SYNC_MODULEDIR:-$top/modules/syncserver/.libs}
PEER_BIN_DIR=${PEER_BIN_DIR:-$top/t/peer}
FREEPORT=${FREEPORT:-$top/t/freeport}
DEMO_SCREENSHOT=${DEMO_SCREENSHOT:-}
DEMO_SECONDS=${DEMO_SECONDS:-60}
DEMO_RATE=${DEMO_RATE:-20}
DEMO_AGENTS=${DEMO_AGENTS:-3}
DEMO_DELIVERY=${DEMO_DELIVERY:-safe}
DEMO_DRAIN=${DEMO_DRAIN:-60}
KEEP=${KEEP:-}

SITES=(site-a site-b)
declare -A ADDR=([site-a]=127.0.0.1 [site-b]=127.0.0.2)
declare -A KIND=([site-a]="plain TCP, password" [site-b]="TLS, client certificate")
declare -A PORT=() DELIVERED=() BACKLOG=() ERRORS=() LAST=()
AGENT_NAMES=(web01 db01 mail01 fw01 dns01 app01 app02 app03 backup01 proxy01)
RULES='.*\.conf:conf;.*\.md5:md5;.*\.zip:collections;.*\.lock:trans;.*\.rcmd:commands'
DATA_RE='^.*[._][0-9]+\.data$'

work=""
pids=()          # peers and the daemon, each in its own session (Ctrl-C is ours)
feeders=()       # agent feeding loops
DPID=""
stop_requested=0
CENTRAL_CONFS=0
STATUS_ADDR=127.0.0.1
STATUS_PORT=""

# die MSG... - print an error and exit 1 (the EXIT trap cleans up)
die() {
    echo "demo: error: $*" >&2
    exit 1
}

# need_exec PATH WHAT - fail clearly when a program is missing
need_exec() {
    [ -x "$1" ] || die "$2 not found at $1 (run 'make demo' from the build tree, or set the path variables)"
}

# preflight - every program and setting the demo needs
preflight() {
    need_exec "$PANDORA_HOSTD" "pandora_hostd"
    need_exec "$PEER_BIN_DIR/tentacle_peer" "the Tentacle test peer"
    need_exec "$PEER_BIN_DIR/agentsim" "the agent simulator"
    [ -f "$SYNC_MODULEDIR/syncserver.so" ] ||
        die "the syncserver module is not built: no $SYNC_MODULEDIR/syncserver.so"
    [ -f "$TEST_SRCDIR/peer/make-pki.sh" ] || die "no $TEST_SRCDIR/peer/make-pki.sh (set TEST_SRCDIR)"
    command -v setsid >/dev/null || die "setsid not found (package util-linux)"
    command -v sha256sum >/dev/null || die "sha256sum not found (package coreutils)"
    local v
    for v in DEMO_SECONDS DEMO_RATE DEMO_AGENTS DEMO_DRAIN; do
        if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" -eq 0 ]; then
            die "$v must be a positive integer, not '${!v}'"
        fi
    done
    [ "$DEMO_AGENTS" -le ${#AGENT_NAMES[@]} ] || die "DEMO_AGENTS is at most ${#AGENT_NAMES[@]}"
    case $DEMO_DELIVERY in safe|fast) ;; *) die "DEMO_DELIVERY must be safe or fast";; esac
}

# stop_pid PID - TERM a process we started, KILL it after 5 s, reap it
stop_pid() {
    local i
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
    kill -TERM "$1" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# stop_feeders - ask the agent loops to stop after their current batch; kill stragglers
stop_feeders() {
    local p c i
    [ -n "$work" ] && touch "$work/stop" 2>/dev/null
    for i in $(seq 50); do
        local alive=0
        for p in "${feeders[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for p in "${feeders[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            for c in $(pgrep -P "$p" 2>/dev/null); do kill -KILL "$c" 2>/dev/null; done
            kill -KILL "$p" 2>/dev/null
        fi
        wait "$p" 2>/dev/null
    done
    feeders=()
}

# cleanup - stop everything this script started, remove the work directory
cleanup() {
    local p
    trap - INT TERM
    stop_feeders
    for p in "${pids[@]}"; do stop_pid "$p"; done
    pids=()
    if [ -n "$work" ] && [ -d "$work" ]; then
        if [ -n "$KEEP" ]; then
            echo "demo: kept $work"
        else
            rm -rf "$work"
        fi
    fi
}

# on_interrupt - the first Ctrl-C ends the upload phase, a second one aborts
on_interrupt() {
    if [ "$stop_requested" = 1 ]; then
        echo
        echo "demo: interrupted again, aborting" >&2
        exit 130
    fi
    stop_requested=1
}

# start_peer SITE ARGS... - a Tentacle test peer for SITE on its address; sets PORT[SITE]
start_peer() {
    local site=$1 i
    shift
    local dir="$work/$site"
    mkdir -p "$dir/store"/{conf,md5,collections,trans,commands} || die "cannot create $dir/store"
    setsid "$PEER_BIN_DIR/tentacle_peer" -a "${ADDR[$site]}" -p 0 --port-file "$dir/port" \
        -s "$dir/store" -I -o -i "$RULES" -c $((DEMO_AGENTS + 8)) --log "$dir/peer.log" "$@" \
        >/dev/null 2>"$dir/peer.err" &
    pids+=($!)
    for i in $(seq 100); do
        [ -s "$dir/port" ] && break
        kill -0 "$!" 2>/dev/null || break
        sleep 0.05
    done
    PORT[$site]=$(cat "$dir/port" 2>/dev/null)
    [ -n "${PORT[$site]}" ] || die "the $site peer did not start on ${ADDR[$site]}: $(cat "$dir/peer.err")"
}

# feed SITE AGENT ARGS... - upload one-second batches of DEMO_RATE files until $work/stop exists
feed() {
    local site=$1 agent=$2 k=0
    shift 2
    local name="${site/-/}-$agent"
    local ts0=$(( $(date +%s) - 86400 ))      # agent timestamps: from a day ago, one per file
    while [ ! -e "$work/stop" ]; do
        "$PEER_BIN_DIR/agentsim" -a "${ADDR[$site]}" -p "${PORT[$site]}" --agent "$name" \
            -n "$DEMO_RATE" --rate "$DEMO_RATE" --seed $((k + 1)) --ts $((ts0 + k * DEMO_RATE)) \
            --manifest "$work/manifests/$name.$k" -q "$@" >/dev/null 2>>"$work/agents.err"
        k=$((k + 1))
    done
}

# write_configs - pandora_server.conf and pandora_hostd.conf for the two sites
write_configs() {
    mkdir -p "$work/incoming" "$work/state" || die "cannot create $work/incoming"
    cat >"$work/pandora_server.conf" <<EOF
# generated by t/demo/demo.sh
servername demo
incomingdir $work/incoming
verbosity 3
syncserver 1
sync_address ${ADDR[site-a]}:${PORT[site-a]},${ADDR[site-b]}:${PORT[site-b]}
sync_interval 1
sync_settle 2
sync_delivery $DEMO_DELIVERY
sync_connections 4
sync_max_files 100000
sync_max_bytes 1000000000
EOF
    cat >"$work/pandora_hostd.conf" <<EOF
# generated by t/demo/demo.sh
module_dir = "$SYNC_MODULEDIR";
modules = [ "syncserver" ];
state_dir = "$work/state";
pid_file = "$work/pandora_hostd.pid";
workers = 8;
stop_timeout = 10;
status = { enabled = true; listen = "$STATUS_ADDR"; port = $STATUS_PORT; };
syncserver = {
  remotes = (
    { address = "${ADDR[site-a]}"; port = ${PORT[site-a]}; password = "secret"; },
    { address = "${ADDR[site-b]}"; port = ${PORT[site-b]};
      ca = "$work/pki/ca.pem"; cert = "$work/pki/client.pem"; key = "$work/pki/client.key"; }
  );
};
EOF
}

# write_central_confs - the centre's remote configuration for every demo
# agent (incomingdir/conf/<md5 of agent>.conf and its md5/ file), which config
# sync pushes to both buffers
write_central_confs() {
    local site i agent key
    mkdir -p "$work/incoming/conf" "$work/incoming/md5"
    for site in "${SITES[@]}"; do
        for ((i = 0; i < DEMO_AGENTS; i++)); do
            agent="${site/-/}-${AGENT_NAMES[$i]}"
            key=$(printf '%s' "$agent" | md5sum | cut -d' ' -f1)
            printf 'agent_name %s\ninterval 300\nremote_config 1\n' "$agent" \
                >"$work/incoming/conf/$key.conf"
            md5sum <"$work/incoming/conf/$key.conf" | cut -d' ' -f1 \
                >"$work/incoming/md5/$key.md5"
        done
    done
    CENTRAL_CONFS=$((2 * ${#SITES[@]} * DEMO_AGENTS))
}

# start_daemon - check the configuration, run pandora_hostd in the foreground, wait for "started"
start_daemon() {
    local i
    if ! "$PANDORA_HOSTD" -c "$work/pandora_server.conf" -H "$work/pandora_hostd.conf" \
            --check-config >"$work/check-config.out" 2>&1; then
        cat "$work/check-config.out" >&2
        die "pandora_hostd --check-config refused the generated configuration (above)"
    fi
    setsid "$PANDORA_HOSTD" -c "$work/pandora_server.conf" -H "$work/pandora_hostd.conf" \
        --foreground >"$work/hostd.log" 2>&1 &
    DPID=$!
    pids+=("$DPID")
    for i in $(seq 200); do
        grep -q 'pandora_hostd .* started' "$work/hostd.log" 2>/dev/null && return 0
        kill -0 "$DPID" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$work/hostd.log" >&2
    die "pandora_hostd did not start (log above)"
}

# count_data DIR - regular *.data files directly in DIR
count_data() {
    find "$1" -maxdepth 1 -type f -name '*.data' -printf x 2>/dev/null | wc -c
}

# sample - refresh DELIVERED, BACKLOG and ERRORS for every site
sample() {
    local site
    find "$work/incoming" -maxdepth 1 -type f -printf '%f\n' 2>/dev/null |
        grep -E "$DATA_RE" >"$work/delivered.now"
    for site in "${SITES[@]}"; do
        DELIVERED[$site]=$(grep -c "^${site/-/}-" "$work/delivered.now")
        BACKLOG[$site]=$(count_data "$work/$site/store")
        ERRORS[$site]=$(grep -cF -- "${ADDR[$site]}:${PORT[$site]}" "$work/hostd.log.V0" 2>/dev/null)
    done
}

# split_log - the daemon's error ([V0]) and warning ([V1]) lines into their own files
split_log() {
    grep -F ' [V0] ' "$work/hostd.log" >"$work/hostd.log.V0" 2>/dev/null
    grep -F ' [V1] ' "$work/hostd.log" >"$work/hostd.log.V1" 2>/dev/null
}

# header - the column titles of the progress table
header() {
    local site
    printf '%6s' "time"
    for site in "${SITES[@]}"; do printf ' | %-36s' "$site ${ADDR[$site]}:${PORT[$site]}"; done
    printf '\n%6s' ""
    for site in "${SITES[@]}"; do printf ' | %7s %9s %8s %8s' files/s delivered backlog errors; done
    printf '\n'
}

# progress PHASE T - one line of the table; new error lines of the daemon below it
progress() {
    local site now rate
    now=$(date +%s%N)
    split_log
    sample
    printf '%5ss' "$2"
    for site in "${SITES[@]}"; do
        # files/s over the last 3 samples: visits and samples are both ~1 s apart
        local hist=()
        read -r -a hist <<<"${LAST[$site]:-}"
        rate=0
        if [ "${#hist[@]}" -gt 0 ]; then
            rate=$(awk -v d="$(( DELIVERED[$site] - ${hist[0]%:*} ))" -v ns="$(( now - ${hist[0]#*:} ))" \
                'BEGIN { printf "%.0f", (ns > 0 ? d * 1e9 / ns : 0) }')
        fi
        hist+=("${DELIVERED[$site]}:$now")
        [ "${#hist[@]}" -le 3 ] || hist=("${hist[@]:1}")
        LAST[$site]="${hist[*]}"
        printf ' | %7s %9s %8s %8s' "$rate" "${DELIVERED[$site]}" "${BACKLOG[$site]}" "${ERRORS[$site]}"
    done
    printf '  %s\n' "$1"
    # new error lines since the last tick, at most 3
    local seen=${ERR_SHOWN:-0} total
    total=$(wc -l <"$work/hostd.log.V0")
    if [ "$total" -gt "$seen" ]; then
        sed -n "$((seen + 1)),$((seen + 3))p" "$work/hostd.log.V0" | cut -c1-160 | sed 's/^/       ! /'
        ERR_SHOWN=$total
    fi
}

# uploaded SITE - files the agents of SITE had stored so far (manifest lines)
uploaded() {
    cat "$work/manifests/${1/-/}-"* 2>/dev/null | wc -l
}

# drained - 0 when every peer is empty and every uploaded file is delivered
drained() {
    local site
    for site in "${SITES[@]}"; do
        [ "${BACKLOG[$site]}" = 0 ] || return 1
        [ "${DELIVERED[$site]}" -ge "$(uploaded "$site")" ] || return 1
    done
    return 0
}

# verify - compare incomingdir with the manifests; prints the summary, returns 1 on a loss
verify() {
    local site ok=0
    cat "$work/manifests/"* >"$work/manifest" 2>/dev/null
    (cd "$work/incoming" && find . -maxdepth 1 -type f -printf '%f\n') >"$work/incoming.list"
    grep -E "$DATA_RE" "$work/incoming.list" | (cd "$work/incoming" && xargs -r sha256sum) \
        >"$work/incoming.sha256"
    (cd "$work/incoming" && grep -E "$DATA_RE" "$work/incoming.list" |
        xargs -r stat -c '%n %Y') >"$work/incoming.mtime"
    echo
    echo "Summary ($DEMO_DELIVERY delivery, 4 connections per remote, settle 2 s)"
    # per site: uploaded, delivered intact, corrupt, missing, extra; then global lines
    awk -v sites="${SITES[*]}" -F'\t' '
        FILENAME == ARGV[1] { want[$1] = $3; site = $1; sub(/-.*/, "", site); up[site]++; next }
        FILENAME == ARGV[2] {
            split($0, f, "  "); sum = f[1]; name = f[2]; sub(/^\*/, "", name)
            site = name; sub(/-.*/, "", site)
            if (name in want) { got[name] = 1; if (want[name] == sum) good[site]++; else bad[site]++ }
            else extra[site]++
            next
        }
        FILENAME == ARGV[3] {
            split($0, f, " "); n = split(f[1], p, "."); if (f[2] == p[n - 1]) mt++; mtn++
        }
        END {
            for (name in want) if (!(name in got)) { site = name; sub(/-.*/, "", site); miss[site]++ }
            ns = split(sites, s, " ")
            for (i = 1; i <= ns; i++) {
                k = s[i]; sub(/-/, "", k)
                printf "%s %d %d %d %d %d\n", s[i], up[k], good[k], bad[k], miss[k], extra[k]
                delete extra[k]
            }
            other = 0; for (k in extra) other += extra[k]
            printf "other %d\nmtime %d %d\n", other, mt, mtn
        }' "$work/manifest" "$work/incoming.sha256" "$work/incoming.mtime" >"$work/verify.out"
    while read -r site up good bad miss extra; do
        case $site in
        other)
            printf '  data files no agent uploaded:   %s\n' "$up"
            [ "$up" = 0 ] || ok=1
            ;;
        mtime)
            printf '  mtime = agent timestamp:        %s of %s files\n' "$up" "$good"
            ;;
        *)
            printf '  %-7s %-16s %-26s uploaded %6s  delivered intact %6s  corrupt %s  missing %s  extra %s  left on buffer %s\n' \
                "$site" "${ADDR[$site]}:${PORT[$site]}" "(${KIND[$site]})" "$up" "$good" "$bad" "$miss" "$extra" \
                "$(count_data "$work/$site/store")"
            [ "$bad" = 0 ] && [ "$miss" = 0 ] && [ "$extra" = 0 ] && [ "$up" -gt 0 ] || ok=1
            [ "$up" -gt 0 ] || echo "  (no file was uploaded to $site: see $work/agents.err)"
            ;;
        esac
    done <"$work/verify.out"
    for site in "${SITES[@]}"; do
        local pushed
        pushed=$(find "$work/$site/store/conf" "$work/$site/store/md5" -type f | wc -l)
        printf '  %-7s configuration pushed:  %s of %s conf/md5 files in its conf/ and md5/\n' \
            "$site" "$pushed" "$CENTRAL_CONFS"
        [ "$pushed" = "$CENTRAL_CONFS" ] || ok=1
    done
    local hidden
    hidden=$(grep -cvE "$DATA_RE" "$work/incoming.list")
    printf '  other files left in incomingdir: %s (temporaries, staging)\n' "$hidden"
    split_log
    printf '  daemon log: %s error(s) [V0], %s warning(s) [V1]\n' \
        "$(wc -l <"$work/hostd.log.V0")" "$(wc -l <"$work/hostd.log.V1")"
    cat "$work/hostd.log.V0" "$work/hostd.log.V1" | cut -d' ' -f3- | sort | uniq -c | sort -rn |
        head -n 8 | cut -c1-200 | sed 's/^/      /'
    if [ -s "$work/agents.err" ]; then
        echo "  agent simulator messages (first 5):"
        head -n 5 "$work/agents.err" | sed 's/^/      /'
    fi
    return "$ok"
}

# main - the demo
main() {
    local t=0 start site
    preflight
    work=$(mktemp -d "${TMPDIR:-/tmp}/pandora-demo.XXXXXX") || die "cannot create a work directory"
    mkdir -p "$work/manifests"
    : >"$work/agents.err"

    echo "demo: throwaway PKI in $work/pki"
    sh "$TEST_SRCDIR/peer/make-pki.sh" "$work/pki" 127.0.0.2 >/dev/null ||
        die "make-pki.sh failed"
    start_peer site-a -x secret
    start_peer site-b -e "$work/pki/server.pem" -k "$work/pki/server.key" -f "$work/pki/ca.pem"
    STATUS_PORT=$("$FREEPORT" "$STATUS_ADDR") || die "no free port for the status page ($FREEPORT)"
    write_configs
    write_central_confs
    start_daemon

    # the agent loops ignore SIGINT (so do their agentsim children): a Ctrl-C at the
    # terminal must never cut an upload in half; they stop through $work/stop instead
    trap '' INT
    for site in "${SITES[@]}"; do
        local i agent tls=()
        [ "$site" = site-b ] && tls=(--tls --ca "$work/pki/ca.pem" --cert "$work/pki/client.pem"
                                     --key "$work/pki/client.key")
        [ "$site" = site-a ] && tls=(--password secret)
        for ((i = 0; i < DEMO_AGENTS; i++)); do
            agent=${AGENT_NAMES[$i]}
            feed "$site" "$agent" "${tls[@]}" &
            feeders+=($!)
        done
    done
    trap on_interrupt INT

    cat <<EOF

pandora_hostd (pid $DPID) pulls from two Tentacle buffers into $work/incoming
  site-a  ${ADDR[site-a]}:${PORT[site-a]}  plain TCP, password        agents: $(printf 'sitea-%s ' "${AGENT_NAMES[@]:0:$DEMO_AGENTS}")
  site-b  ${ADDR[site-b]}:${PORT[site-b]}  TLS, client certificate    agents: $(printf 'siteb-%s ' "${AGENT_NAMES[@]:0:$DEMO_AGENTS}")
Status page: http://$STATUS_ADDR:$STATUS_PORT/  (also: $PANDORA_HOSTD --status -H $work/pandora_hostd.conf)
Agents upload $DEMO_RATE files/s each for ${DEMO_SECONDS} s (Ctrl-C stops them early); delivery: $DEMO_DELIVERY.
"backlog" = data files waiting in the buffer's storage; "errors" = [V0] lines naming the remote.

EOF
    header
    start=$(date +%s)
    while [ "$stop_requested" = 0 ] && [ "$t" -lt "$DEMO_SECONDS" ]; do
        sleep 1
        t=$(( $(date +%s) - start ))
        kill -0 "$DPID" 2>/dev/null || { tail -n 20 "$work/hostd.log" >&2; die "pandora_hostd died (log above)"; }
        progress "" "$t"
        if [ -n "$DEMO_SCREENSHOT" ] && [ "$t" -ge 10 ]; then
            sh "$TEST_SRCDIR/status-screenshot.sh" "http://$STATUS_ADDR:$STATUS_PORT/" \
                "$DEMO_SCREENSHOT" >/dev/null && echo "-- status page screenshot: $DEMO_SCREENSHOT"
            DEMO_SCREENSHOT=""
        fi
    done
    echo "-- the status page as a table (pandora_hostd --status):"
    "$PANDORA_HOSTD" --status -H "$work/pandora_hostd.conf" | sed 's/^/   /'

    echo "-- stopping the agents (they finish the file in flight), then draining"
    stop_feeders
    local drain_start
    drain_start=$(date +%s)
    while :; do
        t=$(( $(date +%s) - start ))
        progress draining "$t"
        drained && break
        if [ $(( $(date +%s) - drain_start )) -ge "$DEMO_DRAIN" ]; then
            echo "-- not drained after $DEMO_DRAIN s"
            break
        fi
        kill -0 "$DPID" 2>/dev/null || { echo "-- pandora_hostd exited while draining"; break; }
        sleep 1
    done
    echo "-- stopping pandora_hostd (SIGTERM)"
    local rc
    kill -TERM "$DPID" 2>/dev/null
    for _ in $(seq 150); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$DPID" 2>/dev/null; then
        echo "-- pandora_hostd did not stop within 15 s: killed"
        kill -KILL "$DPID" 2>/dev/null
    fi
    wait "$DPID" 2>/dev/null
    rc=$?
    echo "-- pandora_hostd exited with status $rc"

    if verify && [ "$rc" = 0 ]; then
        echo "RESULT: PASS - every uploaded file arrived exactly once, byte-identical, and left its buffer"
        return 0
    fi
    [ "$rc" = 0 ] || echo "  pandora_hostd exited with status $rc"
    echo "RESULT: FAIL - see above${KEEP:+ and $work}; KEEP=1 keeps the logs"
    return 1
}

trap cleanup EXIT
trap on_interrupt INT
trap 'exit 143' TERM
main "$@"
exit $?
