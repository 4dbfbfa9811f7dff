#!/bin/bash
# bench.sh - syncserver throughput and memory, as ratios measured in one run (`make bench`)
#
# Every scenario drains its own fresh copy of the same peer storage: BENCH_FILES
# agent XML files (agentsim's default body: ~3.8 KB, a dozen modules) from
# BENCH_AGENTS agents, served by the Tentacle test peer on 127.0.0.1 (-I -o and
# the usual -i rules). 100 agents with 100 files each is a site whose buffer was
# not drained for ~8 h at the default 300 s interval; the agent count matters
# because files of one agent are delivered in timestamp order, so the parallel
# connections share the work agent by agent.
#   baseline        t/peer/baseline: one connection, LS, then MV each file (QUICKACK)
#   fast 1 / 4      pandora_hostd --once, sync_delivery fast, 1 / 4 connections
#   safe 4          sync_delivery safe (RECV, durable staging, MV, publish), 4 connections
#   TLS 4           fast, 4 connections, mutual TLS (peer -f ca.pem, client certificate)
#   RTT 1 / 4       fast, BENCH_RTT_FILES files, the peer sleeping BENCH_RTT_MS before
#                   every reply line and payload (see "Simulated round trip" below)
# The loopback scenarios run BENCH_REPEAT times, interleaved, and the median run
# counts (the machine may be shared); the RTT ones are long and steady, run once.
# Each drain is timed from the start of the process to its exit (pandora_hostd
# --once: module load, connections, every transfer, fsyncs; sync_settle 0, caps
# raised). Every delivered file is checked against the agentsim manifest (name,
# sha256) and the peer storage must be left empty. Then pandora_hostd runs in the
# foreground for BENCH_RSS_SECONDS with BENCH_REMOTES idle remotes and its peak RSS
# (VmHWM) is read from /proc.
#
# Simulated round trip: this kernel has no netem, so the peer's --delay-ms D sleeps
# before each reply line and each payload. A request/reply exchange then costs D on
# loopback, as one round trip costs on a WAN: D = 50 simulates a 50 ms RTT (D = 25
# would be a 50 ms RTT only if each direction were delayed). An MV costs 2 D here
# (MV -> MV SIZE, MV OK -> payload); on a real WAN it costs ~3 RTTs because of the
# Nagle/delayed-ACK tail (PROTOCOL.md §6), which loopback with QUICKACK hides.
#
# "Idle" remotes: remotes with nothing to pull. Running 200 peers is too heavy, so
# BENCH_LIVE of them are real TLS peers with empty storage on 127.0.0.101.. (due
# every second with sync_interval 1: connect, handshake, LS, QUIT) and the rest are
# 127.0.0.x addresses where nothing listens (connection refused, back-off). The
# table says how many visits each kind actually got. TLS is set
# globally (sync_ca/sync_cert/sync_key) as in DESIGN.md's example configuration.
#
# Environment (make bench sets the paths; from a build tree they are guessed):
#   PANDORA_HOSTD SYNC_MODULEDIR PEER_BIN_DIR TEST_SRCDIR   as in t/demo/demo.sh
#   BENCH_FILES (10000)  BENCH_AGENTS (100)  BENCH_RTT_FILES (500)  BENCH_RTT_MS (50)
#   BENCH_REPEAT (3)     runs of each loopback scenario (the median is reported)
#   BENCH_REMOTES (200)  BENCH_LIVE (20)  BENCH_RSS_SECONDS (10)
#   BENCH_OUT            also write the table to this file
#   KEEP=1               keep the work directory (configs, logs, manifests)
# Exit: 0 when no file was lost or corrupted (whatever the numbers), 1 otherwise.
# shellcheck disable=SC2317  # the trap handler is reached indirectly
set -u

here=$(cd "$(dirname "$0")" && pwd)
TEST_SRCDIR=${TEST_SRCDIR:-$(dirname "$here")}
top=$(dirname "$TEST_SRCDIR")
PANDORA_HOSTD=${PANDORA_HOSTD:-$top/pandora_hostd}
SYNC_MODULEDIR=${SYNC_MODULEDIR:-$top/modules/syncserver/.libs}
PEER_BIN_DIR=${PEER_BIN_DIR:-$top/t/peer}
BENCH_FILES=${BENCH_FILES:-10000}
BENCH_AGENTS=${BENCH_AGENTS:-100}
BENCH_REPEAT=${BENCH_REPEAT:-3}
BENCH_RTT_FILES=${BENCH_RTT_FILES:-500}
BENCH_RTT_MS=${BENCH_RTT_MS:-50}
BENCH_REMOTES=${BENCH_REMOTES:-200}
BENCH_LIVE=${BENCH_LIVE:-20}
BENCH_RSS_SECONDS=${BENCH_RSS_SECONDS:-10}
BENCH_OUT=${BENCH_OUT:-}
KEEP=${KEEP:-}

RULES='.*\.conf:conf;.*\.md5:md5;.*\.zip:collections;.*\.lock:trans;.*\.rcmd:commands'
DATA_RE='^.*[._][0-9]+\.data$'

work=""
pids=()
lost=0                      # files lost or corrupted in any scenario
declare -A RUNS=() SECS=() RATE=() RANGE=() GOT=() NOTE=()
ROWS=()

# die MSG... - print an error and exit 1 (the EXIT trap cleans up)
die() {
    echo "bench: error: $*" >&2
    exit 1
}

# say MSG... - progress on stderr, so stdout ends with the table alone
say() {
    echo "bench: $*" >&2
}

# need_exec PATH WHAT - fail clearly when a program is missing
need_exec() {
    [ -x "$1" ] || die "$2 not found at $1 (run 'make bench' from the build tree, or set the path variables)"
}

# preflight - every program and setting the benchmark needs
preflight() {
    local v
    need_exec "$PANDORA_HOSTD" "pandora_hostd"
    need_exec "$PEER_BIN_DIR/tentacle_peer" "the Tentacle test peer"
    need_exec "$PEER_BIN_DIR/agentsim" "the agent simulator"
    need_exec "$PEER_BIN_DIR/baseline" "the baseline client"
    [ -f "$SYNC_MODULEDIR/syncserver.so" ] ||
        die "the syncserver module is not built: no $SYNC_MODULEDIR/syncserver.so"
    [ -f "$TEST_SRCDIR/peer/make-pki.sh" ] || die "no $TEST_SRCDIR/peer/make-pki.sh (set TEST_SRCDIR)"
    command -v sha256sum >/dev/null || die "sha256sum not found (package coreutils)"
    command -v timeout >/dev/null || die "timeout not found (package coreutils)"
    for v in BENCH_FILES BENCH_AGENTS BENCH_REPEAT BENCH_RTT_FILES BENCH_RTT_MS BENCH_REMOTES BENCH_LIVE BENCH_RSS_SECONDS; do
        if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" -eq 0 ]; then
            die "$v must be a positive integer, not '${!v}'"
        fi
    done
    [ "$BENCH_FILES" -ge "$BENCH_AGENTS" ] || die "BENCH_FILES must be at least BENCH_AGENTS ($BENCH_AGENTS)"
    [ "$BENCH_RTT_FILES" -le "$BENCH_FILES" ] || BENCH_RTT_FILES=$BENCH_FILES
    [ "$BENCH_LIVE" -le "$BENCH_REMOTES" ] || die "BENCH_LIVE must not exceed BENCH_REMOTES"
    [ "$BENCH_LIVE" -le 100 ] || die "BENCH_LIVE is at most 100 (127.0.0.101-200)"
    [ $(( BENCH_REMOTES - BENCH_LIVE )) -le $(( 50 * BENCH_LIVE )) ] ||
        die "at most 50 refused remotes per live one (BENCH_REMOTES - BENCH_LIVE <= 50 * BENCH_LIVE)"
}

# stop_pid PID - TERM a process we started, KILL it after 5 s, reap it
stop_pid() {
    local i
    if kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null
        for i in $(seq 50); do
            kill -0 "$1" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$1" 2>/dev/null
    fi
    wait "$1" 2>/dev/null
    return 0
}

# forget_pid PID - drop PID from the cleanup list once it is stopped
forget_pid() {
    local p keep=()
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=("${keep[@]}")
}

# cleanup - stop everything this script started, remove the work directory
cleanup() {
    local p
    trap - INT TERM
    for p in "${pids[@]}"; do stop_pid "$p"; done
    pids=()
    if [ -n "$work" ] && [ -d "$work" ]; then
        if [ -n "$KEEP" ]; then say "kept $work"; else rm -rf "$work"; fi
    fi
}

# now_ns - wall clock in nanoseconds
now_ns() {
    date +%s%N
}

# new_store DIR - an empty peer storage with the -i subdirectories
new_store() {
    mkdir -p "$1"/{conf,md5,collections,trans,commands} || die "cannot create $1"
}

# fill_store DIR MANIFEST - a fresh copy of the template files MANIFEST names
fill_store() {
    new_store "$1"
    cut -f1 "$2" | (cd "$work/template" && xargs -r cp -p -t "$1") ||
        die "cannot copy the template files into $1"
}

# settle_disk - write back the copies just made, so the timed drain does not pay for them
settle_disk() {
    sync -f "$work" 2>/dev/null || sync
}

# start_peer NAME ADDR STORE ARGS... - a test peer; sets PEER_PID and PEER_PORT
start_peer() {
    local name=$1 addr=$2 store=$3 i
    shift 3
    rm -f "$work/$name.port"
    "$PEER_BIN_DIR/tentacle_peer" -a "$addr" -p 0 --port-file "$work/$name.port" -s "$store" \
        -I -o -i "$RULES" "$@" >/dev/null 2>"$work/$name.peer.err" &
    PEER_PID=$!
    pids+=("$PEER_PID")
    for i in $(seq 200); do
        [ -s "$work/$name.port" ] && break
        kill -0 "$PEER_PID" 2>/dev/null || break
        sleep 0.025
    done
    PEER_PORT=$(cat "$work/$name.port" 2>/dev/null)
    [ -n "$PEER_PORT" ] || die "peer $name did not start on $addr: $(cat "$work/$name.peer.err")"
}

# seed - upload BENCH_FILES files from BENCH_AGENTS simulated agents (10 at a time)
# into the template storage; the manifests say what each scenario must deliver
seed() {
    local i n each rest agent_pids=() rc=0 ts
    say "uploading $BENCH_FILES agent files from $BENCH_AGENTS agentsim agents (template storage)"
    new_store "$work/template"
    start_peer seed 127.0.0.1 "$work/template" -c 12
    each=$(( BENCH_FILES / BENCH_AGENTS ))
    rest=$(( BENCH_FILES - each * BENCH_AGENTS ))
    ts=$(( $(date +%s) - 86400 ))
    for ((i = 0; i < BENCH_AGENTS; i++)); do
        n=$each
        [ "$i" -lt "$rest" ] && n=$((n + 1))
        "$PEER_BIN_DIR/agentsim" -a 127.0.0.1 -p "$PEER_PORT" -n "$n" --seed $((i + 1)) \
            --agent "$(printf 'agent%03d' "$i")" --ts "$ts" \
            --manifest "$work/manifest.$i" -q >/dev/null 2>>"$work/agents.err" &
        agent_pids+=($!)
        if [ "${#agent_pids[@]}" -ge 10 ]; then
            for n in "${agent_pids[@]}"; do wait "$n" || rc=1; done
            agent_pids=()
        fi
    done
    for n in "${agent_pids[@]}"; do wait "$n" || rc=1; done
    stop_pid "$PEER_PID"
    forget_pid "$PEER_PID"
    [ "$rc" = 0 ] || die "agentsim failed: $(head -n 3 "$work/agents.err")"
    sort "$work"/manifest.[0-9]* >"$work/manifest.all"
    n=$(wc -l <"$work/manifest.all")
    [ "$n" = "$BENCH_FILES" ] || die "the template holds $n files, not $BENCH_FILES"
    # the RTT scenarios: the oldest files of every agent, spread evenly over the agents
    sort -t. -k1,1 -k2,2n "$work/manifest.all" |
        awk -F. -v q=$(( (BENCH_RTT_FILES + BENCH_AGENTS - 1) / BENCH_AGENTS )) \
            '++seen[$1] <= q' | head -n "$BENCH_RTT_FILES" | sort >"$work/manifest.rtt"
    say "template: $n files, $(awk -F'\t' '{ s += $2 } END { printf "%.0f", s / NR }' \
        "$work/manifest.all") bytes on average"
}

# verify DIR MANIFEST STORE - DIR holds exactly MANIFEST's files, intact; STORE is empty.
# Sets V_OK (intact), V_BAD (corrupt), V_MISS (missing), V_EXTRA, V_LEFT (still on the
# peer), V_LOST (missing and not on the peer either); returns 1 on a loss or corruption.
verify() {
    local dir=$1 man=$2 store=$3
    (cd "$dir" && find . -maxdepth 1 -type f -printf '%f\n' | grep -E "$DATA_RE" |
        xargs -r sha256sum) >"$work/verify.sums"
    find "$store" -maxdepth 1 -type f -name '*.data' -printf '%f\n' >"$work/verify.left"
    read -r V_OK V_BAD V_MISS V_EXTRA V_LEFT V_LOST < <(awk -F'\t' '
        FILENAME == ARGV[1] { want[$1] = $3; next }
        FILENAME == ARGV[2] { left[$0] = 1; nleft++; next }
        {
            split($0, f, "  "); name = f[2]; sub(/^\*/, "", name)
            if (!(name in want)) extra++
            else { got[name] = 1; if (want[name] == f[1]) ok++; else bad++ }
        }
        END {
            for (n in want) if (!(n in got)) { miss++; if (!(n in left)) lost++ }
            printf "%d %d %d %d %d %d\n", ok, bad, miss, extra, nleft, lost
        }' "$man" "$work/verify.left" "$work/verify.sums")
    [ "$V_BAD" = 0 ] && [ "$V_LOST" = 0 ] && [ "$V_EXTRA" = 0 ]
}

# record KEY LABEL FILES START END NOTE - one run of a scenario; its row keeps every run
record() {
    local key=$1 label=$2 files=$3 start=$4 end=$5 note=$6 secs rate
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    rate=$(awk -v n="$V_OK" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    if [ -z "${RUNS[$key]:-}" ]; then
        ROWS+=("$key|$label|$files")
        GOT[$key]=$V_OK
    fi
    RUNS[$key]+="$secs:$rate "
    [ "$V_OK" -ge "${GOT[$key]}" ] || GOT[$key]=$V_OK
    if [ -n "$note" ] && [[ ${NOTE[$key]:-} != *"$note"* ]]; then
        NOTE[$key]+="${NOTE[$key]:+; }$note"
    fi
    say "$(printf '%-38s %6s of %6s files in %8ss = %6s files/s  %s' "$label" "$V_OK" "$files" \
        "$secs" "$rate" "$note")"
}

# summarize - per scenario: the median run (by files/s) and the range over the runs
summarize() {
    local row key label files
    for row in "${ROWS[@]}"; do
        IFS='|' read -r key label files <<<"$row"
        local secs rate range
        read -r secs rate range < <(tr ' ' '\n' <<<"${RUNS[$key]}" |
            awk -F: 'NF == 2 { print $2, $1 }' | sort -n | awk '
                { r[NR] = $1; s[NR] = $2 }
                END { m = int((NR + 1) / 2)
                      printf "%s %s %s\n", s[m], r[m], (NR > 1 ? r[1] "-" r[NR] : "-") }')
        SECS[$key]=$secs
        RATE[$key]=$rate
        RANGE[$key]=$range
    done
}

# check_result KEY - count a loss, describe a partial drain, for the row's note
check_result() {
    local ok=$1 note=""
    if [ "$ok" != 0 ]; then
        lost=1
        note="LOST $V_LOST, corrupt $V_BAD, unexpected $V_EXTRA"
    elif [ "$V_MISS" != 0 ]; then
        note="not drained: $V_LEFT left on the peer"
    fi
    [ "$V_LEFT" = 0 ] || [ -n "$note" ] || note="$V_LEFT left on the peer"
    NOTE_TEXT=$note
}

# run_baseline - the sequential reference client against a fresh plain peer
run_baseline() {
    local d="$work/baseline" t0 t1 rc ok=0
    say "scenario baseline"
    rm -rf "$d"
    fill_store "$d/store" "$work/manifest.all"
    mkdir -p "$d/out"
    start_peer baseline 127.0.0.1 "$d/store"
    settle_disk
    t0=$(now_ns)
    timeout 300 "$PEER_BIN_DIR/baseline" -a 127.0.0.1 -p "$PEER_PORT" -o "$d/out" \
        >"$d/baseline.out" 2>&1
    rc=$?
    t1=$(now_ns)
    stop_pid "$PEER_PID"
    forget_pid "$PEER_PID"
    verify "$d/out" "$work/manifest.all" "$d/store" || ok=1
    check_result "$ok"
    [ "$rc" = 0 ] || NOTE_TEXT="exit $rc: $(tail -n 1 "$d/baseline.out") $NOTE_TEXT"
    record baseline "baseline: sequential client, 1 conn" "$BENCH_FILES" "$t0" "$t1" "$NOTE_TEXT"
    rm -rf "$d/out" "$d/store"
}

# write_hostd_conf DIR - a pandora_hostd.conf for the module in the build tree
write_hostd_conf() {
    cat >"$1/pandora_hostd.conf" <<EOF
module_dir = "$SYNC_MODULEDIR";
modules = [ "syncserver" ];
state_dir = "$1/state";
pid_file = "$1/pandora_hostd.pid";
workers = 8;
stop_timeout = 10;
status = { enabled = false; };
EOF
}

# run_sync KEY LABEL MODE CONNS TLS MANIFEST [PEER ARGS...] - time one pandora_hostd --once drain
run_sync() {
    local key=$1 label=$2 mode=$3 conns=$4 tls=$5 man=$6 d="$work/$1" t0 t1 rc ok=0 files limit
    shift 6
    say "scenario $key"
    files=$(wc -l <"$man")
    rm -rf "$d"                 # every run starts from nothing: storage, state, incomingdir
    fill_store "$d/store" "$man"
    mkdir -p "$d/in" "$d/state"
    local peer_args=("$@")
    [ "$tls" = yes ] && peer_args+=(-e "$work/pki/server.pem" -k "$work/pki/server.key"
                                    -f "$work/pki/ca.pem")
    start_peer "$key" 127.0.0.1 "$d/store" "${peer_args[@]}"
    {
        echo "servername bench"
        echo "incomingdir $d/in"
        echo "verbosity 1"
        echo "syncserver 1"
        echo "sync_address 127.0.0.1:$PEER_PORT"
        echo "sync_delivery $mode"
        echo "sync_connections $conns"
        echo "sync_settle 0"
        echo "sync_interval 1"
        echo "sync_config 0"
        echo "sync_max_files 1000000"
        echo "sync_max_bytes 100000000000"
        if [ "$tls" = yes ]; then
            echo "sync_ca $work/pki/ca.pem"
            echo "sync_cert $work/pki/client.pem"
            echo "sync_key $work/pki/client.key"
        fi
    } >"$d/pandora_server.conf"
    write_hostd_conf "$d"
    "$PANDORA_HOSTD" -c "$d/pandora_server.conf" -H "$d/pandora_hostd.conf" --check-config \
        >"$d/check-config.out" 2>&1 ||
        die "pandora_hostd --check-config refused $d/pandora_server.conf: $(tail -n 5 "$d/check-config.out")"
    settle_disk
    # generous: 20 ms per file per connection, plus the simulated round trips
    limit=$(( 60 + files / 50 + files * 4 * ${BENCH_DELAY:-0} / 1000 / conns ))
    t0=$(now_ns)
    timeout "$limit" "$PANDORA_HOSTD" -c "$d/pandora_server.conf" -H "$d/pandora_hostd.conf" \
        --once >"$d/hostd.log" 2>&1
    rc=$?
    t1=$(now_ns)
    if [ -s "$work/$key.peerlog" ]; then
        MAXCONN=$(grep -o 'max=[0-9]*' "$work/$key.peerlog" | cut -d= -f2 | sort -n | tail -n 1)
    fi
    stop_pid "$PEER_PID"
    forget_pid "$PEER_PID"
    verify "$d/in" "$man" "$d/store" || ok=1
    check_result "$ok"
    if [ "$rc" = 124 ]; then
        NOTE_TEXT="timed out after $limit s; $NOTE_TEXT"
    elif [ "$rc" != 0 ]; then
        NOTE_TEXT="--once exit $rc: $(grep -F '[V0]' "$d/hostd.log" | head -n 1 | cut -d' ' -f5- | cut -c1-120) $NOTE_TEXT"
    fi
    record "$key" "$label" "$files" "$t0" "$t1" "$NOTE_TEXT"
    rm -rf "$d/in" "$d/store"
}

# vm_kib PID FIELD - a /proc/PID/status size field in KiB (empty when gone)
vm_kib() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# run_rss - pandora_hostd in the foreground with BENCH_REMOTES idle remotes; sets RSS_*
run_rss() {
    local d="$work/rss" i addrs="" live_ports=() dead dpid visits
    say "scenario rss: $BENCH_REMOTES idle remotes ($BENCH_LIVE live TLS peers), ${BENCH_RSS_SECONDS} s"
    mkdir -p "$d/in" "$d/state"
    for ((i = 0; i < BENCH_LIVE; i++)); do
        new_store "$d/store$i"
        start_peer "rss$i" "127.0.0.$((101 + i))" "$d/store$i" -c 6 --log "$d/peer$i.log" \
            -e "$work/pki/server.pem" -k "$work/pki/server.key" -f "$work/pki/ca.pem"
        live_ports+=("$PEER_PORT")
        addrs+="${addrs:+,}127.0.0.$((101 + i)):$PEER_PORT"
    done
    # refused remotes: a live peer's port on an address where nothing listens
    dead=$(( BENCH_REMOTES - BENCH_LIVE ))
    for ((i = 0; i < dead; i++)); do
        addrs+=",127.0.0.$((201 + i % 50)):${live_ports[$(( i / 50 ))]}"
    done
    cat >"$d/pandora_server.conf" <<EOF
servername bench
incomingdir $d/in
verbosity 1
syncserver 1
sync_address $addrs
sync_ca $work/pki/ca.pem
sync_cert $work/pki/client.pem
sync_key $work/pki/client.key
sync_interval 1
EOF
    write_hostd_conf "$d"
    "$PANDORA_HOSTD" -c "$d/pandora_server.conf" -H "$d/pandora_hostd.conf" --check-config \
        >"$d/check-config.out" 2>&1 ||
        die "pandora_hostd --check-config refused the $BENCH_REMOTES-remote configuration: $(tail -n 5 "$d/check-config.out")"
    "$PANDORA_HOSTD" -c "$d/pandora_server.conf" -H "$d/pandora_hostd.conf" --foreground \
        >"$d/hostd.log" 2>&1 &
    dpid=$!
    pids+=("$dpid")
    sleep "$BENCH_RSS_SECONDS"
    if kill -0 "$dpid" 2>/dev/null; then
        RSS_HWM=$(vm_kib "$dpid" VmHWM)
        RSS_NOW=$(vm_kib "$dpid" VmRSS)
        RSS_THREADS=$(awk '$1 == "Threads:" { print $2 }' "/proc/$dpid/status" 2>/dev/null)
    else
        RSS_HWM=""
        say "pandora_hostd exited during the RSS run: $(tail -n 3 "$d/hostd.log")"
    fi
    stop_pid "$dpid"
    forget_pid "$dpid"
    visits=$(cat "$d"/peer*.log 2>/dev/null | grep -c ' cmd "LS ')
    RSS_NOTE="in ${BENCH_RSS_SECONDS} s the $BENCH_LIVE live TLS peers were listed $visits times in all"
    RSS_NOTE+=" and $(grep -c 'connection refused' "$d/hostd.log") visits to the $dead others were refused"
    say "peak RSS ${RSS_HWM:-?} KiB (now ${RSS_NOW:-?} KiB, ${RSS_THREADS:-?} threads); $RSS_NOTE"
}

# ratio A B - A/B as "1.23x" ("n/a" when B is 0 or missing)
ratio() {
    awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "n/a" }'
}

# verdict VALUE OP TARGET - "met" or "missed" (never fails the run)
verdict() {
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
        sub(/x$/, "", v)
        if (v == "n/a" || v == "") { print "n/a"; exit }
        ok = (op == ">=") ? v + 0 >= t + 0 : v + 0 <= t + 0
        print ok ? "met" : "missed" }'
}

# table - the markdown report
table() {
    local row key label files cpu fs r1 r2 r3 r4 r5 mib
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
    fs=$(df -PT "$work" 2>/dev/null | awk 'NR == 2 { print $2 }')
    echo "### make bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: nproc $(nproc), ${cpu:-unknown CPU}, Linux $(uname -r), work directory on ${fs:-?}" \
        "($work). $("$PANDORA_HOSTD" --version 2>/dev/null | head -n 1)."
    echo "Files: agentsim's agent XML, $(awk -F'\t' '{ s += $2 } END { printf "%.0f", s / NR }' \
        "$work/manifest.all") bytes on average, from $BENCH_AGENTS agents; every drain on fresh peer storage," \
        "timed from process start to exit; every file checked by sha256 against the manifest." \
        "Loopback rows: $([ "$BENCH_REPEAT" -gt 1 ] && echo "the median of $BENCH_REPEAT interleaved runs (range: slowest-fastest files/s)" || echo "one run each")."
    echo
    echo "| scenario | files | delivered | seconds | files/s | range (runs) | note |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for row in "${ROWS[@]}"; do
        IFS='|' read -r key label files <<<"$row"
        echo "| $label | $files | ${GOT[$key]} | ${SECS[$key]} | ${RATE[$key]} |" \
            "${RANGE[$key]} ($(wc -w <<<"${RUNS[$key]}")) | ${NOTE[$key]:-} |"
    done
    r1=$(ratio "${RATE[fast4]:-}" "${RATE[baseline]:-}")
    r2=$(ratio "${RATE[safe4]:-}" "${RATE[fast4]:-}")
    r3=$(ratio "${RATE[rtt4]:-}" "${RATE[rtt1]:-}")
    r4=$(ratio "${RATE[fast1]:-}" "${RATE[baseline]:-}")
    r5=$(ratio "${RATE[tls4]:-}" "${RATE[fast4]:-}")
    mib=$(awk -v k="${RSS_HWM:-}" 'BEGIN { if (k == "") print "n/a"; else printf "%.1f", k / 1024 }')
    echo
    echo "| ratio (issue 4) | measured | target | |"
    echo "|---|---:|---:|---|"
    echo "| fast, 4 conns / baseline | ${r1} | >= 1.5x | $(verdict "$r1" '>=' 1.5) |"
    echo "| safe, 4 conns / fast, 4 conns | ${r2} | >= 0.6x | $(verdict "$r2" '>=' 0.6) |"
    echo "| ${BENCH_RTT_MS} ms RTT: 4 conns / 1 conn | ${r3} | >= 3.5x | $(verdict "$r3" '>=' 3.5) |"
    echo "| peak RSS (VmHWM), $BENCH_REMOTES idle remotes, ${BENCH_RSS_SECONDS} s | $mib MiB | <= 16 MiB | $(verdict "$mib" '<=' 16) |"
    echo "| fast, 1 conn / baseline (info) | ${r4} | | |"
    echo "| TLS, 4 conns / plain fast, 4 conns (info) | ${r5} | | |"
    echo
    echo "RTT: the peer sleeps ${BENCH_RTT_MS} ms before every reply line and payload (one round" \
        "trip per exchange; an MV costs 2 of them, ~3 on a real WAN)${RTT_MAXCONN:+; the peer saw at most $RTT_MAXCONN concurrent connections with 4}." \
        "RSS: ${RSS_NOTE:-not measured}${RSS_THREADS:+, $RSS_THREADS threads}."
}

# main - every scenario, then the table
main() {
    local started i
    started=$(date +%s)
    preflight
    work=$(mktemp -d "${TMPDIR:-/tmp}/pandora-bench.XXXXXX") || die "cannot create a work directory"
    : >"$work/agents.err"
    local ips=()
    for ((i = 0; i < BENCH_LIVE; i++)); do ips+=("127.0.0.$((101 + i))"); done
    sh "$TEST_SRCDIR/peer/make-pki.sh" "$work/pki" "${ips[@]}" >/dev/null || die "make-pki.sh failed"
    seed
    # loopback scenarios in rounds, so a burst of load elsewhere hits them all alike
    for ((i = 1; i <= BENCH_REPEAT; i++)); do
        say "round $i of $BENCH_REPEAT"
        run_baseline
        run_sync fast1 "syncserver fast, 1 conn" fast 1 no "$work/manifest.all"
        run_sync fast4 "syncserver fast, 4 conns" fast 4 no "$work/manifest.all"
        run_sync safe4 "syncserver safe, 4 conns" safe 4 no "$work/manifest.all"
        run_sync tls4 "syncserver fast, 4 conns, mutual TLS" fast 4 yes "$work/manifest.all"
    done
    BENCH_DELAY=$BENCH_RTT_MS
    run_sync rtt1 "${BENCH_RTT_MS} ms RTT: fast, 1 conn" fast 1 no "$work/manifest.rtt" \
        --delay-ms "$BENCH_RTT_MS" --log "$work/rtt1.peerlog"
    MAXCONN=""
    run_sync rtt4 "${BENCH_RTT_MS} ms RTT: fast, 4 conns" fast 4 no "$work/manifest.rtt" \
        --delay-ms "$BENCH_RTT_MS" --log "$work/rtt4.peerlog"
    RTT_MAXCONN=${MAXCONN:-}
    BENCH_DELAY=0
    run_rss
    summarize
    say "done in $(( $(date +%s) - started )) s"
    table >"$work/table.md"
    echo
    cat "$work/table.md"
    if [ -n "$BENCH_OUT" ]; then
        cp "$work/table.md" "$BENCH_OUT" || die "cannot write BENCH_OUT=$BENCH_OUT"
    fi
    if [ "$lost" != 0 ]; then
        echo "bench: FAIL: files were lost or corrupted (see the notes above)" >&2
        return 1
    fi
    return 0
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
main "$@"
exit $?
