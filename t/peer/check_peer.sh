#!/bin/bash
# check_peer.sh - self-test of the Tentacle test peer and its companions
#
# Usage: check_peer.sh [BINDIR]      (or PEER_BIN_DIR=BINDIR check_peer.sh)
# BINDIR holds tentacle_peer, agentsim, baseline and rawtalk (see build.sh).
# Proves the quirks later tests rely on, using only 127.0.0.x addresses and ports
# picked by the kernel (--port-file), so parallel runs never collide.
# Exit 0 when every check passes, 1 otherwise. Everything started is killed on exit.
set -u

bin=${PEER_BIN_DIR:-${1:-}}
src=$(cd "$(dirname "$0")" && pwd)
for b in tentacle_peer agentsim baseline rawtalk; do
    if [ -z "$bin" ] || [ ! -x "$bin/$b" ]; then
        echo "check_peer: no $b in '${bin}' (set PEER_BIN_DIR or pass BINDIR)" >&2
        exit 1
    fi
done

work="${TMPDIR:-/tmp}/check_peer.$$.$RANDOM"
mkdir -m 700 "$work" || exit 1
addr="127.0.0.$(( $$ % 200 + 20 ))"
pids=()
names=()
failed=0
started=$(date +%s%N)

# cleanup - stop every peer this script started, remove the work directory
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null
    done
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ok / bad - report one check
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; failed=1; }

# check NAME CMD... - run CMD, pass when it exits 0
check() {
    local name=$1
    shift
    if "$@" >"$work/last.out" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/      /' "$work/last.out"; fi
}

# start_peer NAME ARGS... - run a peer on $addr, wait for its port; sets PORT
start_peer() {
    local name=$1
    shift
    mkdir -p "$work/$name"
    "$bin/tentacle_peer" -a "$addr" -p 0 -s "$work/$name" --log "$work/$name.log" \
        --port-file "$work/$name.port" "$@" >/dev/null 2>"$work/$name.err" &
    pids+=($!)
    names+=("$name")
    for _ in $(seq 100); do
        [ -s "$work/$name.port" ] && break
        sleep 0.05
    done
    PORT=$(cat "$work/$name.port" 2>/dev/null)
    if [ -z "$PORT" ]; then
        bad "peer $name starts"
        cat "$work/$name.err"
        exit 1
    fi
}

# talk ARGS... - one scripted raw conversation with the last started peer
talk() { "$bin/rawtalk" -t 3000 "$addr" "$PORT" "$@"; }

# manifest_matches MANIFEST DIR - every manifest file is in DIR with that size and sha256
manifest_matches() {
    local name size sum got
    [ -s "$1" ] || return 1
    while IFS=$'\t' read -r name size sum; do
        [ -f "$2/$name" ] || { echo "missing $name"; return 1; }
        got=$(sha256sum "$2/$name" | cut -d' ' -f1)
        [ "$got" = "$sum" ] && [ "$(stat -c %s "$2/$name")" = "$size" ] ||
            { echo "differs: $name"; return 1; }
    done < "$1"
}

# count_files DIR - regular files directly in DIR
count_files() { find "$1" -maxdepth 1 -type f | wc -l; }

# --- plain: 200 uploads, one sequential drain, byte-identical, storage empty -------
start_peer plain -I -o -i '.*\.conf:conf;.*\.md5:md5'
mkdir -p "$work/plain/conf" "$work/plain/md5" "$work/out1"
check "agentsim uploads 200 files" \
    "$bin/agentsim" -a "$addr" -p "$PORT" -n 200 --agent web01 --seed 3 --manifest "$work/man1"
check "manifest lists 200 files" test "$(wc -l < "$work/man1")" -eq 200
check "baseline drains the 200 files" \
    bash -c "'$bin/baseline' -a '$addr' -p '$PORT' -o '$work/out1' | grep -q '^files=200 '"
check "drained files match the manifest sha256" manifest_matches "$work/man1" "$work/out1"
check "storage holds no file after the drain" test "$(count_files "$work/plain")" -eq 0
check "no temporary file left in the output" \
    bash -c "! ls '$work/out1' | grep -q '\.part$'"
check "clients stayed in lock-step (no early input logged)" \
    bash -c "! grep -q 'early-input' '$work/plain.log'"

# --- framing and silent closes ------------------------------------------------------
check "pipelined 'LS <>\\nQUIT\\n' gets a silent close" talk 'send:LS <>\nQUIT\n' eof
check "the log marks the pipelined command" grep -q 'cmd "LS <>\\nQUIT" pipelined' "$work/plain.log"
check "an unknown command gets a silent close" talk 'send:HELLO\n' eof
check "lower-case 'ls <>' gets a silent close" talk 'send:ls <>\n' eof
check "an empty line gets a silent close" talk 'send:\n' eof
check "a line split across writes is reassembled" \
    talk 'send:RECV <no' 'sleep:50' 'send:ne.data>\n' 'expect:RECV ERR (file does not exist)'
check "SEND SIZE 0 is 'too big'" \
    talk 'send:SEND <z.data> SIZE 0\n' 'expect:SEND ERR (file is too big)'
printf 'abc\n' > "$work/plain/keep.data"
check "a declined MV keeps the file and gets no reply" \
    talk 'send:MV <keep.data>\n' 'expect:MV SIZE 4' 'send:MV NO\n' 'send:QUIT\n' eof
check "the declined file is still there" test -f "$work/plain/keep.data"
check "MV of a routed directory name gets MV ERR" talk 'send:MV <conf>\n' 'expect:MV ERR'
check "LS <x.conf> lists conf/ only" \
    talk 'send:LS <x.conf>\n' 'expect:LS SIZE 5' 'send:LS OK\n' 'bytes:5'

# --- without -I, with -x, without -o ------------------------------------------------
start_peer strict -x secret
check "without -I, LS gets a silent close" \
    talk 'send:PASS 9e769017c85f064977fe6a658f207fa6\n' 'expect:PASS OK' 'send:LS <>\n' eof
check "the right PASS digest gets PASS OK" \
    talk 'send:PASS 9e769017c85f064977fe6a658f207fa6\n' 'expect:PASS OK'
check "a wrong password gets a silent close" \
    talk 'send:PASS 0123456789abcdef0123456789abcdef\n' eof
check "an upper-case digest gets a silent close" \
    talk 'send:PASS 9E769017C85F064977FE6A658F207FA6\n' eof
check "a command before PASS gets a silent close" talk 'send:RECV <a.data>\n' eof
check "SEND works without -I" \
    talk 'send:PASS 9e769017c85f064977fe6a658f207fa6\n' 'expect:PASS OK' \
         'send:SEND <dup.data> SIZE 5\n' 'expect:SEND OK' 'send:hello' 'expect:SEND OK'
check "without -o, SEND to an existing name gets 'file already exists'" \
    talk 'send:PASS 9e769017c85f064977fe6a658f207fa6\n' 'expect:PASS OK' \
         'send:SEND <dup.data> SIZE 5\n' 'expect:SEND ERR (file already exists)'
check "agentsim with the password uploads" \
    "$bin/agentsim" -a "$addr" -p "$PORT" -n 5 --password secret -q
check "agentsim with a wrong password fails" \
    bash -c "! '$bin/agentsim' -a '$addr' -p '$PORT' -n 1 --password wrong -q"

# --- -c slots and the idle timer ----------------------------------------------------
start_peer slots -c 1 --idle-ms 600
"$bin/rawtalk" -t 3000 "$addr" "$PORT" 'send:RECV <a>\n' line 'sleep:400' >/dev/null 2>&1 &
holder=$!
for _ in $(seq 100); do grep -q ' c1 reply' "$work/slots.log" 2>/dev/null && break; sleep 0.02; done
check "a connection beyond -c waits, then is served" \
    talk 'send:RECV <a>\n' 'expect:RECV ERR (file does not exist)'
wait "$holder"
check "it was only accepted after the first one closed" \
    bash -c "[ \$(grep -n ' c2 open' '$work/slots.log' | cut -d: -f1) -gt \$(grep -n ' c1 close' '$work/slots.log' | cut -d: -f1) ]"
check "at most one connection was served at a time" \
    bash -c "! grep -q 'max=2' '$work/slots.log'"
check "an idle connection is closed silently" talk eof

# --- a few fault knobs ----------------------------------------------------------------
fault_file() { printf 'line one\nline two\nthree\n' > "$work/$1/f.1.data"; }
start_peer drop -I --drop-after 14
fault_file drop
check "--drop-after cuts the MV payload" \
    bash -c "'$bin/rawtalk' -t 3000 $addr $PORT 'send:MV <f.1.data>\n' 'expect:MV SIZE 24' \
             'send:MV OK\n' bytes:24 | grep -qx EOF"
start_peer keep -I --unlink-fail --fault-conns 1
fault_file keep
check "--unlink-fail sends the data but keeps the file" \
    talk 'send:MV <f.1.data>\n' 'expect:MV SIZE 24' 'send:MV OK\n' bytes:24
check "the file is still there after that MV" test -f "$work/keep/f.1.data"
check "--fault-conns 1 leaves the second connection normal" \
    talk 'send:MV <f.1.data>\n' 'expect:MV SIZE 24' 'send:MV OK\n' bytes:24
check "and that MV deleted the file" test ! -e "$work/keep/f.1.data"
start_peer bent -I --wrong-size +5 --fault-cmd MV --evil-names
fault_file bent
check "--wrong-size +5 announces 5 bytes too many" talk 'send:MV <f.1.data>\n' 'expect:MV SIZE 29'
check "--evil-names lists ../evil.1.data" \
    bash -c "'$bin/rawtalk' -t 3000 $addr $PORT 'send:LS <>\n' line 'send:LS OK\n' bytes:30 |
             grep -q 'evil.1.data'"
start_peer held -c 2 --hold 2
check "--hold 2 with -c 2 leaves a connected client unanswered" \
    bash -c "'$bin/rawtalk' -t 300 $addr $PORT 'send:RECV <a>\n' line | grep -qx TIMEOUT"

# --- TLS ------------------------------------------------------------------------------
pki="$work/pki"
if ! sh "$src/make-pki.sh" "$pki" "$addr" >/dev/null 2>&1; then
    bad "make-pki.sh builds the test PKI"
else
    start_peer tls -I -o -e "$pki/server.pem" -k "$pki/server.key" -f "$pki/ca.pem"
    mkdir -p "$work/out2"
    tlsargs=(--tls --ca "$pki/ca.pem" --cert "$pki/client.pem" --key "$pki/client.key")
    check "agentsim uploads over mutual TLS" \
        "$bin/agentsim" -a "$addr" -p "$PORT" -n 30 --manifest "$work/man2" "${tlsargs[@]}"
    check "baseline drains over mutual TLS" \
        bash -c "'$bin/baseline' -a '$addr' -p '$PORT' -o '$work/out2' ${tlsargs[*]} | grep -q '^files=30 '"
    check "TLS-drained files match the manifest" manifest_matches "$work/man2" "$work/out2"
    "$bin/baseline" -a "$addr" -p "$PORT" -o "$work/out2" --tls --ca "$pki/ca.pem" \
        >/dev/null 2>"$work/nocert.err"
    check "without the required client certificate the drain fails" \
        grep -q 'Certificate is required\|remote closed' "$work/nocert.err"
    "$bin/baseline" -a "$addr" -p "$PORT" -o "$work/out2" --tls --ca "$pki/ca.pem" \
        --cert "$pki/client-ca2.pem" --key "$pki/client-ca2.key" >/dev/null 2>"$work/wrongca.err"
    check "a client certificate from another CA gets 'unknown ca'" \
        grep -q 'CA is unknown' "$work/wrongca.err"
    check "a plain client on the TLS port is closed after its first line" \
        talk 'send:LS <>\n' eof
fi

# --- every peer ends cleanly on SIGTERM (status 0, no sanitizer report) ----------------
for i in "${!pids[@]}"; do
    kill -TERM "${pids[$i]}" 2>/dev/null
    wait "${pids[$i]}"
    st=$?
    if [ "$st" -eq 0 ] && ! grep -q 'Sanitizer\|runtime error' "$work/${names[$i]}.err"; then
        ok "peer ${names[$i]} exits cleanly on SIGTERM"
    else
        bad "peer ${names[$i]} exits cleanly on SIGTERM (status $st)"
        sed 's/^/      /' "$work/${names[$i]}.err" | head -20
    fi
done
pids=()

ms=$(( ($(date +%s%N) - started) / 1000000 ))
secs="$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
if [ "$failed" -eq 0 ]; then
    echo "check_peer: all checks passed (${secs}s)"
    exit 0
fi
echo "check_peer: FAILED (${secs}s)"
exit 1
