#!/bin/bash
# crash.sh - safe mode survives SIGKILL: 2000 agent files on 3 buffers are
# drained by a foreground daemon (sync_interval 1, at most 40 files per
# remote and visit from peers answering after 10 ms, so the drain spans
# the whole run and most kills land inside a visit) that is SIGKILLed 20
# times at a random moment 100..1500 ms after it started, and restarted each
# time; a last run drains the rest and is stopped cleanly. Then:
# - every manifest file is in incomingdir exactly once with its sha256, and
#   incomingdir holds 2000 data files (no copy under another name);
# - the daemon never reported a name published twice or a publish refused
#   because the name was already there;
# - a watcher sampling incomingdir during the whole run never saw a file
#   matching the data server's pattern with a size other than the
#   manifest's (no partial file ever visible);
# - the remotes are empty, and no temporary or staged file is left.
. "${TEST_SRCDIR:-$(dirname "$0")/..}/sync/lib.sh"

KILLS=${SYNC_CRASH_KILLS:-20}
TOTAL=2000

# watch_partial - sample incomingdir until $T/watch.stop exists; every data
# file whose size is not its manifest size goes to $T/watch.bad
watch_partial() {
    local n=0
    while [ ! -e "$T/watch.stop" ]; do
        find "$IN" -mindepth 1 -maxdepth 1 -type f -printf '%s\t%f\n' 2>/dev/null |
            awk -F'\t' -v re="$DATA_RE" '
                NR == FNR { size[$1] = $2; next }
                $2 ~ re && size[$2] != $1 { print "seen " $2 " with " $1 " bytes (manifest: " size[$2] ")" }' \
                "$MANIFEST" - >> "$T/watch.bad"
        n=$((n + 1))
        echo "$n" > "$T/watch.samples"
        sleep 0.02
    done
}

# remotes_left - data files left on all three buffers
remotes_left() {
    echo $(( $(remote_left c1) + $(remote_left c2) + $(remote_left c3) ))
}

# drained - the remotes are empty and nothing is in flight (no temporary or
# staged file): nothing more can arrive
drained() {
    [ "$(remotes_left)" -eq 0 ] &&
        [ -z "$(find "$IN" -name '.pandora-tmp.*' -o -path '*/.pandora-staged/*' -type f)" ]
}

# check_published_once - no name in two publish/recover reports, and no
# second copy of a name refused because the first still awaits ingestion
check_published_once() {
    local dup
    dup=$(grep -Ei 'publish|deliver|recover' "$LOG" |
        grep -oE '[A-Za-z0-9_-]+\.[0-9]+\.data' | sort | uniq -d | head -n 3)
    [ -z "$dup" ] || fail "the log reports these names published twice: $dup"
    ! grep -Eiq 'cannot publish|already exists|file exists|awaits ingestion' "$LOG" ||
        fail "a name was delivered twice: $(grep -Ei -m 2 'cannot publish|already exists|file exists|awaits ingestion' "$LOG")"
}

start_buffer c1 127.0.1.51 --delay-ms 10
start_buffer c2 127.0.1.52 --delay-ms 10
start_buffer c3 127.0.1.53 --delay-ms 10
sims=()
for spec in c1:crash1a:334 c1:crash1b:334 c2:crash2a:333 c2:crash2b:333 c3:crash3a:333 c3:crash3b:333; do
    IFS=: read -r peer agent n <<< "$spec"
    upload "$peer" "$agent" "$n" 1764000000 &
    sims+=("$!")
done
wait "${sims[@]}"
[ "$(wc -l < "$MANIFEST")" -eq "$TOTAL" ] || fail "agentsim stored $(wc -l < "$MANIFEST") of $TOTAL files"
[ "$(remotes_left)" -eq "$TOTAL" ] || fail "the buffers hold $(remotes_left) of $TOTAL files"

write_hostconf
write_server "sync_address $(label c1),$(label c2),$(label c3)
sync_delivery safe
sync_connections 2
sync_max_files 40
"
watch_partial &
WATCHER=$!
BG_PIDS+=("$WATCHER")

busy=0
for round in $(seq "$KILLS"); do
    before=$(remotes_left)
    start_daemon
    ms=$(random_ms 100 1500)
    sleep_ms "$ms"
    kill_daemon
    staged=$(find "$IN/.pandora-staged" -type f 2>/dev/null | wc -l)
    [ "$before" -gt 0 ] && busy=$((busy + 1))
    note "kill $round after $ms ms: $(remotes_left) left on the remotes, $(data_count) published, $staged staged"
done
[ "$busy" -ge $((KILLS / 2)) ] ||
    fail "test not exercised: the remotes were empty before $((KILLS - busy)) of $KILLS kills"

# a last run drains the rest and stops cleanly
start_daemon
wait_until 120 drained ||
    fail "not drained after the kills: $(remotes_left) left on the remotes, $(data_count) of $TOTAL published"
daemon_alive "final drain"
stop_daemon
touch "$T/watch.stop"
wait "$WATCHER"

[ -s "$T/watch.bad" ] && fail "a partial file was visible: $(sort -u "$T/watch.bad" | head -n 5)"
[ "$(cat "$T/watch.samples")" -ge 100 ] || fail "the watcher took only $(cat "$T/watch.samples") samples"
check_delivered "$MANIFEST"
check_no_extra "$MANIFEST"
[ "$(data_count)" -eq "$TOTAL" ] || fail "$(data_count) data files in incomingdir, expected $TOTAL"
[ "$(remotes_left)" -eq 0 ] || fail "$(remotes_left) files left on the remotes"
check_published_once
check_mtimes
check_clean
echo "ok: $KILLS kills ($busy mid-drain), $TOTAL files exactly once, $(cat "$T/watch.samples") samples without a partial file"
