#!/bin/bash
# confsync.sh - config sync (issue 5, DESIGN.md 2.3): the centre's conf/,
# md5/, collections/ and commands/ reach the buffers, md5 last, only what
# changed; agent-created confs come home; refusals are explained; the push
# state survives a restart and a kill -9 in the middle of a push.
. "${TEST_SRCDIR:-$(dirname "$0")/..}/sync/lib.sh"

A=127.0.1.21      # the main buffer
K=127.0.1.22      # the one killed mid-push
NOO=127.0.1.23    # without -o
SMALL=127.0.1.24  # with a small -m
SA=127.0.1.25     # scope seen: agent seenA's data comes from here
SB=127.0.1.26     # ... and seenB's from here
N=500             # agents
declare -A PEER_MARK

# key AGENT - the agent's conf name: md5 of its name, in hex
key() {
    printf %s "$1" | md5sum | cut -d' ' -f1
}

# write_agent AGENT VERSION - its conf, then its md5 (as the console does)
write_agent() {
    local k
    k=$(key "$1")
    printf 'agent_name %s\nversion %s\nmodule_begin\nmodule_name cpu\nmodule_end\n' \
        "$1" "$2" > "$IN/conf/$k.conf"
    md5sum < "$IN/conf/$k.conf" | cut -d' ' -f1 > "$IN/md5/$k.md5"
}

# peer_mark NAME - remember where the peer's log ends
peer_mark() {
    touch "$T/$1.log"
    PEER_MARK[$1]=$(wc -l < "$T/$1.log")
}

# sends NAME - the names the peer got a SEND for since peer_mark, in order
sends() {
    tail -n +"$((PEER_MARK[$1] + 1))" "$T/$1.log" |
        sed -n 's/.* cmd "SEND <\(.*\)> SIZE [0-9]*"$/\1/p'
}

# count_new NAME VERB - VERB commands the peer got since peer_mark
count_new() {
    tail -n +"$((PEER_MARK[$1] + 1))" "$T/$1.log" | grep -c " cmd \"$2 " || true
}

# check_md5_last NAME - since peer_mark: every .md5 was sent after all the
# .conf/.zip/.rcmd, and none before its own conf
check_md5_last() {
    local bad
    bad=$(sends "$1" | awk '
        /\.md5$/ { md5 = 1; next }
        md5 { print $0 " was sent after an md5"; exit }')
    [ -z "$bad" ] || fail "$1: $bad"
    bad=$(sends "$1" | awk '
        /\.md5$/ { seen[substr($0, 1, length($0) - 4)] = 1 }
        /\.conf$/ { b = substr($0, 1, length($0) - 5); if (b in seen) { print b ".md5 before its conf"; exit } }')
    [ -z "$bad" ] || fail "$1: $bad"
}

# sent_at_least NAME N - the peer got at least N SENDs since peer_mark
sent_at_least() {
    [ "$(count_new "$1" SEND)" -ge "$2" ]
}

# sums DIR - sha256 of every config file under DIR, by relative path
sums() {
    (cd "$1" && find conf md5 collections commands -maxdepth 1 -type f ! -name '.*' \
        -printf '%p\n' 2>/dev/null | sort | xargs -r sha256sum)
}

# check_mirrors NAME [EXCEPT-REGEX] - the peer holds every central config
# file byte for byte (files matching EXCEPT left out)
check_mirrors() {
    local diffs
    sums "$IN" | grep -Ev -- "${2:-^$}" > "$T/sums.in"
    sums "$T/$1" > "$T/sums.$1"
    diffs=$(comm -23 "$T/sums.in" "$T/sums.$1" | head -n 3)
    [ -z "$diffs" ] || fail "$1 lacks or differs on: $diffs"
}

# once_ok WHAT - an --once run that must succeed
once_ok() {
    run_once
    [ "$ONCE_STATUS" -eq 0 ] || fail "$1: --once exited $ONCE_STATUS"
    check_no_secret
}

# restart_buffer NAME ADDR ARG... - the peer again, same port and storage
restart_buffer() {
    local name=$1 addr=$2
    shift 2
    rm -f "$T/$name.port2"
    "$PEER_BIN_DIR/tentacle_peer" -a "$addr" -p "${PEER_PORT[$name]}" -s "$T/$name" \
        --port-file "$T/$name.port2" --log "$T/$name.log" -I -o -i "$BUFFER_RULES" "$@" \
        >/dev/null 2>"$T/$name.err" &
    PEER_PID[$name]=$!
    BG_PIDS+=("$!")
    wait_until 10 test -s "$T/$name.port2" || fail "peer $name did not restart: $(cat "$T/$name.err")"
}

conf_server() {
    write_server "sync_config 1
sync_address $1
${2:-}"
}

write_hostconf
mkdir -p "$IN/conf" "$IN/md5" "$IN/collections" "$IN/commands"
for i in $(seq -w 1 $N); do
    write_agent "agent$i" 1
done

# 1. first push: 500 agents, conf before md5, lock-step
start_buffer a "$A"
conf_server "$(label a)"
peer_mark a
once_ok "first push"
[ "$(count_new a SEND)" -eq $((2 * N)) ] ||
    fail "first push: $(count_new a SEND) SENDs for $((2 * N)) files"
check_md5_last a
check_mirrors a
check_lockstep a
grep -Eq 'config sync: 1000 file\(s\) pushed' "$LOG" || fail "no push summary in the log"
note "first push: $((2 * N)) files, every md5 after its conf"

# 2. nothing changed: nothing sent, nothing read
peer_mark a
once_ok "second cycle"
[ "$(count_new a SEND)" -eq 0 ] || fail "second cycle pushed $(count_new a SEND) file(s)"
[ "$(count_new a RECV)" -eq 0 ] || fail "second cycle read $(count_new a RECV) remote file(s)"
note "second cycle: nothing sent"

# 3. one agent changed: exactly its conf, then its md5
write_agent agent007 2
peer_mark a
once_ok "one change"
[ "$(sends a | tr '\n' ' ')" = "$(key agent007).conf $(key agent007).md5 " ] ||
    fail "one change pushed: $(sends a | head -n 5 | tr '\n' ' ')"
check_mirrors a
note "one change: its conf and md5 only"

# 4. the remote is down while a conf changes; it catches up when back
stop_peer a
write_agent agent010 2
run_once
[ "$ONCE_STATUS" -ne 0 ] || fail "a visit to a stopped remote succeeded"
restart_buffer a "$A"
peer_mark a
once_ok "catch-up"
[ "$(sends a | tr '\n' ' ')" = "$(key agent010).conf $(key agent010).md5 " ] ||
    fail "catch-up pushed: $(sends a | head -n 5 | tr '\n' ' ')"
check_mirrors a
note "remote down during a change: caught up"

# a buffer that lost a file we pushed (wiped, restored) gets it again
rm "$T/a/conf/$(key agent020).conf"
peer_mark a
once_ok "lost remote file"
[ "$(sends a | tr '\n' ' ')" = "$(key agent020).conf " ] ||
    fail "a file lost on the remote: pushed $(sends a | head -n 5 | tr '\n' ' ')"
check_mirrors a
note "a file lost on the remote: pushed again"

# 5. an agent created its conf on the remote: pulled (RECV, the remote
# copy stays), never pushed back
kn=$(key newagent)
printf 'agent_name newagent\nremote_config 1\n' > "$T/a/conf/$kn.conf"
md5sum < "$T/a/conf/$kn.conf" | cut -d' ' -f1 > "$T/a/md5/$kn.md5"
peer_mark a
once_ok "agent-created conf"
cmp -s "$T/a/conf/$kn.conf" "$IN/conf/$kn.conf" || fail "the agent-created conf was not pulled"
cmp -s "$T/a/md5/$kn.md5" "$IN/md5/$kn.md5" || fail "the agent-created md5 was not pulled"
[ "$(count_new a MV)" -eq 0 ] || fail "config pull used MV (the remote copy must stay)"
[ "$(count_new a SEND)" -eq 0 ] || fail "the pulled conf was pushed back"
log_has_line a "pulled $kn\.conf"
peer_mark a
once_ok "after the pull"
[ "$(count_new a SEND)" -eq 0 ] || fail "pushed $(count_new a SEND) file(s) after the pull"
[ "$(count_new a RECV)" -eq 0 ] || fail "read the pulled conf again"
note "agent-created conf and md5 pulled"

# 6. both sides have a conf the centre never pushed, and they differ:
# conflict logged, central copy kept and pushed
kc=$(key clash)
printf 'agent_name clash\nfrom agent\n' > "$T/a/conf/$kc.conf"
write_agent clash 1
cp "$IN/conf/$kc.conf" "$T/central.clash"
# clash2: the centre has a conf but no md5 yet; the agent's md5 there
# describes the agent's own conf, so it must not come home
k2=$(key clash2)
printf 'agent_name clash2\nfrom agent\n' > "$T/a/conf/$k2.conf"
md5sum < "$T/a/conf/$k2.conf" | cut -d' ' -f1 > "$T/a/md5/$k2.md5"
printf 'agent_name clash2\nfrom centre\n' > "$IN/conf/$k2.conf"
once_ok "conflict"
log_has_line a conflict "$kc\.conf"
[ ! -e "$IN/md5/$k2.md5" ] || fail "the md5 of an agent's conf the centre overrides was pulled"
cmp -s "$T/a/conf/$k2.conf" "$IN/conf/$k2.conf" || fail "the centre's conf did not win the conflict (clash2)"
cmp -s "$IN/conf/$kc.conf" "$T/central.clash" || fail "the conflict changed the central conf"
cmp -s "$T/a/conf/$kc.conf" "$T/central.clash" || fail "the centre's conf did not win the conflict"
note "conflict reported, the centre won"

# 7. refusals: without -o, updates fail; with a small -m a big collection
# fails; the rest still goes, and each refusal is one clear line
head -c 5000 /dev/urandom > "$IN/collections/big.zip"
printf 'small collection\n' > "$IN/collections/small.zip"
printf 'run something\n' > "$IN/commands/cmd1.rcmd"
start_peer noo "$NOO" -I -i "$BUFFER_RULES"
start_buffer small "$SMALL" -m 3000
conf_server "$(label noo), $(label small)"
once_ok "refusals, first push"
log_has_line small "remote refuses big\.zip \(5000 B\): over its -m limit" "-m 5000"
check_mirrors small 'collections/big\.zip'
[ ! -e "$T/small/collections/big.zip" ] || fail "big.zip reached the small -m peer"
check_mirrors noo
write_agent agent001 2
write_agent agent501 1
peer_mark noo
peer_mark small
once_ok "refusals, an update"
k1=$(key agent001)
log_has_line noo "remote runs without -o: cannot update $k1\.conf" "with -o"
sends noo | grep -qx "$k1.md5" && fail "noo got the md5 of a conf it refused"
sends noo | grep -qx "$(key agent501).conf" || fail "noo did not get a new agent's conf"
check_mirrors small 'collections/big\.zip'
log_since | grep 'refuses big\.zip' | grep -q '\[V[0-3]\]' &&
    fail "the big.zip refusal was logged again above debug level"
note "refusals: without -o and over -m reported, other files delivered"

# 8. a kill -9 in the middle of a push, then a restart: completed, nothing
# skipped, and the state then matches the remote (nothing more to push)
stop_peer noo
stop_peer small
start_buffer k "$K" --delay-ms 3
conf_server "$(label k)" "sync_interval 60"
peer_mark k
start_daemon
wait_until 30 sent_at_least k 300 || fail "the push to k did not start"
kill_daemon
before=$(count_new k SEND)
total=$(find "$IN/conf" "$IN/md5" "$IN/collections" "$IN/commands" -type f | wc -l)
[ "$before" -lt "$total" ] || fail "the push ended before the kill ($before files)"
peer_mark k
once_ok "restart after kill -9"
after=$(count_new k SEND)
check_mirrors k
check_md5_last k
[ "$after" -lt "$total" ] || fail "the restart pushed all $total files again: no checkpoint"
[ "$((before + after))" -ge "$total" ] || fail "only $before + $after of $total files were sent"
log_since | grep -q ': conflict: ' && fail "a push cut by the kill was taken for an agent's conf"
[ "$(count_new k RECV)" -eq 0 ] ||
    fail "the restart read back $(count_new k RECV) file(s) of its own cut push"
peer_mark k
once_ok "after the restart"
[ "$(count_new k SEND)" -eq 0 ] || fail "$(count_new k SEND) file(s) pushed again after completion"
note "kill -9 after $before SENDs: the restart sent $after, the remote matches"
stop_peer k

# 9. scope seen: an agent's conf and md5 only where its data came from
start_buffer sa "$SA"
start_buffer sb "$SB"
printf 'data of seenA\n' > "$T/sa/seenA.1764000001.data"
printf 'data of seenB\n' > "$T/sb/seenB.1764000001.data"
write_agent seenA 1
write_agent seenB 1
conf_server "$(label sa), $(label sb)" "sync_config_scope seen"
peer_mark sa
peer_mark sb
once_ok "scope seen"
ka=$(key seenA)
kb=$(key seenB)
[ "$(sends sa | grep -E '\.(conf|md5)$' | tr '\n' ' ')" = "$ka.conf $ka.md5 " ] ||
    fail "scope seen: sa got $(sends sa | grep -E '\.(conf|md5)$' | head -n 4 | tr '\n' ' ')"
[ "$(sends sb | grep -E '\.(conf|md5)$' | tr '\n' ' ')" = "$kb.conf $kb.md5 " ] ||
    fail "scope seen: sb got $(sends sb | grep -E '\.(conf|md5)$' | head -n 4 | tr '\n' ' ')"
sends sa | grep -qx small.zip || fail "scope seen: collections must still go everywhere"
[ -f "$IN/seenA.1764000001.data" ] || fail "seenA's data was not pulled"
note "scope seen: each agent's conf only to its own remote"

check_clean
echo "ok: config sync pushed, pulled, refused, resumed and scoped as specified"
