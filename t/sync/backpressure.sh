#!/bin/bash
# backpressure.sh - sync_queue_limit 50 with 200 files on the remote and a
# foreground daemon (sync_interval 1, sync_max_files 10):
# - pulling stops near 50 files in incomingdir: the count never exceeds
#   BOUND = 50 + 10 (the spool is asked for room at least once per visit
#   and one visit pulls at most sync_max_files, so one visit in flight when
#   the limit is reached may overshoot by at most that), it stops growing
#   for 3 intervals, and the rest stays on the remote (none lost);
# - hysteresis: with the queue brought down to 45 (below the limit but above
#   80 % of it) pulling stays paused for 3 intervals;
# - "ingesting" (moving the delivered files away) resumes pulling, and
#   repeating that until the remote is empty brings all 200 files, each
#   byte-identical, with the bound held throughout;
# - oldest first: whenever the queue is full, no delivered file is newer
#   (agent timestamp) than a file still on the remote.
. "${TEST_SRCDIR:-$(dirname "$0")/..}/sync/lib.sh"

LIMIT=50
PER_VISIT=10
BOUND=$((LIMIT + PER_VISIT))
TOTAL=200
MAX_SEEN=0
mkdir -p "$T/ingested"

# sample - record the queue length; fail above BOUND
sample() {
    local n
    n=$(data_count)
    [ "$n" -le "$MAX_SEEN" ] || MAX_SEEN=$n
    [ "$n" -le "$BOUND" ] || fail "$n files in incomingdir, above the bound $BOUND (sync_queue_limit $LIMIT)"
    COUNT=$n
}

# watch_for SECONDS - sample every 0.1 s for that long; COUNT is the last
watch_for() {
    local i
    for i in $(seq $(( $1 * 10 ))); do
        sample
        sleep 0.1
    done
    sample
}

# fill_to_limit - sample until the queue reached the limit or the remote is empty
fill_to_limit() {
    local i
    for i in $(seq 400); do
        sample
        [ "$COUNT" -ge "$LIMIT" ] || [ "$(remote_left bp)" -eq 0 ] && return 0
        daemon_alive "while filling the queue"
        sleep 0.1
    done
    fail "the queue never reached $LIMIT files ($COUNT in incomingdir, $(remote_left bp) on the remote)"
}

# check_accounted - every file is ingested, queued or still on the remote
# (only while paused: a file in flight is in none of those places)
check_accounted() {
    local sum
    sum=$(( $(data_count "$T/ingested") + $(data_count) + $(remote_left bp) ))
    [ "$sum" -eq "$TOTAL" ] || fail "$sum of $TOTAL files accounted for ($*)"
}

# check_oldest_first - nothing delivered so far is newer than a file still
# on the remote (visits take the oldest agent timestamps first)
check_oldest_first() {
    local newest oldest
    newest=$( { data_files "$T/ingested"; data_files; } | awk -F. '{ print $2 }' | sort -n | tail -n 1)
    oldest=$(data_files "$T/bp" | awk -F. '{ print $2 }' | sort -n | head -n 1)
    [ -z "$newest" ] || [ -z "$oldest" ] || [ "$newest" -le "$oldest" ] ||
        fail "not oldest first: a file of $newest was delivered while one of $oldest is still on the remote"
}

# queued_any - incomingdir holds a data file
queued_any() {
    [ "$(data_count)" -gt 0 ]
}

# ingest [KEEP] - move queued files away until KEEP (default 0) are left
ingest() {
    data_files | sort | head -n $(( $(data_count) - ${1:-0} )) |
        while IFS= read -r f; do mv "$IN/$f" "$T/ingested/"; done
}

start_buffer bp 127.0.1.61
upload bp bp1 100 1764000000
upload bp bp2 100 1764000000
write_hostconf
write_server "sync_address $(label bp)
sync_queue_limit $LIMIT
sync_max_files $PER_VISIT
sync_connections 2
"
start_daemon

# 1. the queue fills up to the limit, then pulling stops
fill_to_limit
watch_for 1
before=$COUNT
left=$(remote_left bp)
watch_for 3
[ "$COUNT" -eq "$before" ] || fail "pulling did not stop: $before then $COUNT files in incomingdir"
[ "$(remote_left bp)" -eq "$left" ] || fail "the remote went from $left to $(remote_left bp) files while paused"
[ "$left" -ge $((TOTAL - BOUND)) ] || fail "only $left files left on the remote"
check_accounted "paused"
check_oldest_first
note "paused at $COUNT queued files, $left left on the remote"

# 2. hysteresis: 45 queued (below the limit, above 80 %) stays paused
ingest 45
watch_for 3
[ "$COUNT" -le 45 ] || fail "pulling resumed at 45 queued files (limit $LIMIT; resume only below 80 %)"
[ "$(remote_left bp)" -eq "$left" ] || fail "files were pulled while 45 were queued"
check_accounted "hysteresis"

# 3. ingest everything, repeatedly: pulling resumes until the remote is empty
for round in $(seq 20); do
    ingest
    [ "$(remote_left bp)" -eq 0 ] && break
    wait_until 20 queued_any || fail "pulling did not resume after the queue was ingested"
    fill_to_limit
    check_oldest_first
done
[ "$(remote_left bp)" -eq 0 ] || fail "$(remote_left bp) files still on the remote after 20 ingest rounds"
watch_for 1
ingest
daemon_alive "at the end"
stop_daemon
ingest
check_delivered "$MANIFEST" "$T/ingested"
[ "$(data_count "$T/ingested")" -eq "$TOTAL" ] || fail "$(data_count "$T/ingested") of $TOTAL files arrived"
check_mtimes "$T/ingested"
echo "ok: paused at the limit (max $MAX_SEEN queued, bound $BOUND), held by hysteresis, all $TOTAL delivered after ingestion"
