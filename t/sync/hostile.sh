#!/bin/bash
# hostile.sh - hostile remotes cannot hurt the daemon, the spool or the
# other remotes. Three rounds, each one daemon with three remotes: a good
# buffer (200 files) and two hostile ones:
#   1 (safe)  --evil-names (../evil.1.data, /etc/..., \n, control bytes,
#             300-byte, dot-names; plus real .hidden.7.data and ..8.data)
#             and a TLS remote whose handshake never finishes (the daemon
#             must close it by its own deadline)
#   2 (safe)  MV SIZE lying by +100000 bytes, and a 1 MB reply line
#   3 (fast)  a slow drip (256 B every 20 ms) and a 300000-entry listing
#   4 (fast)  MV SIZE 2^64, and a negative MV SIZE: the files must stay
# Each round: the daemon is still running when all 200 good files arrived
# and every hostile remote was exercised, and exits 0 on SIGTERM; nothing
# appears next to incomingdir (or in /etc, /); every file in incomingdir is
# byte-identical to a file some remote held under that name; no file sits in
# a subdirectory; no name the protocol or the spool forbids was requested
# or delivered; the evil remote's 20 legitimate files were drained while
# its dot-named files stayed on the remote.
. "${TEST_SRCDIR:-$(dirname "$0")/..}/sync/lib.sh"

G=127.0.1.41
H1=127.0.1.42
H2=127.0.1.43
make_pki "$H1" "$H2"
mkdir -p "$T/orig"

# seed_big NAME N PREFIX - N ~5 KB random files in the peer's storage, copied to $T/orig
seed_big() {
    local i f
    for i in $(seq "$2"); do
        f="$3.$((1764000000 + i)).data"
        head -c 3800 /dev/urandom | base64 > "$T/$1/$f"
        cp "$T/$1/$f" "$T/orig/$f"
    done
}

# snapshot NAME - keep a copy of each file the peer holds now, by name
snapshot() {
    find "$T/$1" -mindepth 1 -maxdepth 1 -type f -exec cp {} "$T/orig/" \;
}

# check_jail - nothing was written next to incomingdir or at the evil paths
check_jail() {
    local out
    out=$(find "$T/jail" -mindepth 1 -maxdepth 1 ! -name in)
    [ -z "$out" ] || fail "written outside incomingdir: $out"
    for out in /etc/evil.2.data /evil.1.data "$T/evil.1.data" "$T/jail/evil.1.data"; do
        [ ! -e "$out" ] || fail "a hostile name escaped incomingdir: $out exists"
    done
}

# check_in_files - every file in incomingdir is a remote's original, by name
check_in_files() {
    local f base deep
    deep=$(find "$IN" -mindepth 2 -type f ! -path "$IN/.pandora-staged/*" | head -n 3)
    [ -z "$deep" ] || fail "file(s) in a subdirectory of incomingdir: $deep"
    while IFS= read -r -d '' f; do
        base=${f##*/}
        case $base in .pandora-tmp.*) continue ;; esac
        case $base in .*) fail "a dot-named file was delivered: $(printf '%q' "$base")" ;; esac
        printf '%s' "$base" | LC_ALL=C grep -q '[[:cntrl:]]' &&
            fail "a name with control bytes was delivered: $(printf '%q' "$base")"
        [ -f "$T/orig/$base" ] || fail "incomingdir holds a file no remote had: $(printf '%q' "$base")"
        cmp -s "$f" "$T/orig/$base" || fail "$base differs from the remote's original"
    done < <(find "$IN" -mindepth 1 -maxdepth 1 -type f -print0)
}

# check_no_bad_requests NAME - the daemon never asked for a name the protocol
# forbids (/, \ and the other invalid characters, control bytes, > 255 bytes)
check_no_bad_requests() {
    local bad
    bad=$(grep -E ' cmd "(MV|RECV) <' "$T/$1.log" |
        sed -e 's/.* cmd "[A-Z]* <//' -e 's/>"[^"]*$//' |
        LC_ALL=C awk '/[\/*:~?=+;,]|\\\\|\\r|\\n|\\x[01][0-9a-f]|\\x7f/ || length($0) > 255' | head -n 3)
    [ -z "$bad" ] || fail "the daemon requested forbidden name(s) from $1: $bad"
    check_lockstep "$1"
}

# exercised NAME REGEX - the peer log shows the hostile behaviour was hit
exercised() {
    grep -Eq -- "$2" "$T/$1.log"
}

# emptied NAME - the peer holds no data file any more
emptied() {
    [ "$(remote_left "$1")" -eq 0 ]
}

# round N MODE H1-REGEX H2-REGEX HOSTD-EXTRA - run the daemon over good$N,
# h1_$N and h2_$N (already started and filled) until the good one is
# drained and both hostile ones were exercised, then stop it and check
round() {
    local n=$1 mode=$2 re1=$3 re2=$4 extra=$5
    write_server "sync_address $(label "good$n"),$(label "h1_$n"), $(label "h2_$n")
sync_delivery $mode
sync_max_files 1000
"
    write_hostconf "$extra"
    mark_log
    start_daemon
    wait_until 40 exercised "h1_$n" "$re1" || fail "round $n: h1 never exercised ($re1)"
    wait_until 40 exercised "h2_$n" "$re2" || fail "round $n: h2 never exercised ($re2)"
    wait_until 40 emptied "good$n" ||
        fail "round $n: the good remote still holds $(remote_left "good$n") files"
    daemon_alive "round $n"
    check_delivered "$T/manifest.good$n"
    # two more intervals of hostile visits before the stop
    sleep 2
    daemon_alive "round $n, after more hostile visits"
    stop_daemon
    check_jail
    check_in_files
    check_no_bad_requests "h1_$n"
    check_no_bad_requests "h2_$n"
    note "round $n ($mode): good drained, $(data_count) files in incomingdir, all originals"
}

# good N - the good buffer of round N with 200 files from two agents
good() {
    start_buffer "good$1" "$G"
    : > "$T/manifest.good$1"
    upload "good$1" "good${1}a" 100 1764000000
    upload "good$1" "good${1}b" 100 1764000000
    snapshot "good$1"
}

# --- round 1: evil names, and a TLS handshake that never finishes
good 1
start_buffer h1_1 "$H1" --evil-names
seed_big h1_1 20 evil1
printf 'hidden\n' > "$T/h1_1/.hidden.7.data"
printf 'dotdot\n' > "$T/h1_1/..8.data"
start_buffer h2_1 "$H2" -e "$PKI/server.pem" -k "$PKI/server.key" --stall handshake
seed_big h2_1 5 stall1
round 1 safe ' cmd "LS <' ' close ' "syncserver = { remotes = ( { address = \"$H2\";
  port = ${PEER_PORT[h2_1]}; ca = \"$PKI/ca.pem\"; } ); };"
[ "$(remote_left h1_1)" -eq 2 ] ||
    fail "round 1: expected only the 2 dot-named files left on the evil remote, found $(remote_left h1_1)"
{ [ -e "$T/h1_1/.hidden.7.data" ] && [ -e "$T/h1_1/..8.data" ]; } ||
    fail "round 1: a dot-named file that cannot be delivered was pulled (deleted) from the remote"
[ "$(data_files | grep -c '^evil1\.')" -eq 20 ] ||
    fail "round 1: $(data_files | grep -c '^evil1\.') of the evil remote's 20 legitimate files arrived"
stop_peer good1; stop_peer h1_1; stop_peer h2_1

# --- round 2: a lying MV SIZE, and an endless reply line
good 2
start_buffer h1_2 "$H1" --wrong-size +100000 --fault-cmd MV
seed_big h1_2 10 liar2
start_buffer h2_2 "$H2" --huge-line 1000000
seed_big h2_2 5 huge2
round 2 safe 'cmd "MV <liar2' 'fault huge-line' ""
stop_peer good2; stop_peer h1_2; stop_peer h2_2

# --- round 3: a slow drip, and a 300000-entry listing
good 3
start_buffer h1_3 "$H1" --drip 20 --drip-bytes 256
seed_big h1_3 10 drip3
start_buffer h2_3 "$H2" --huge-ls 300000
seed_big h2_3 5 hugels3
round 3 fast 'cmd "MV <drip3' 'cmd "LS <' ""
stop_peer good3; stop_peer h1_3; stop_peer h2_3

# --- round 4: impossible sizes (2^64 and negative) announced by MV, fast
# mode: the daemon must decline before MV OK, so the files stay
good 4
start_buffer h1_4 "$H1" --wrong-size 2^64 --fault-cmd MV
seed_big h1_4 5 big4
start_buffer h2_4 "$H2" --wrong-size neg --fault-cmd MV
seed_big h2_4 5 neg4
round 4 fast 'cmd "MV <big4' 'cmd "MV <neg4' ""
[ "$(remote_left h1_4)" -eq 5 ] ||
    fail "round 4: $((5 - $(remote_left h1_4))) file(s) announced with 2^64 bytes were removed from the remote"
[ "$(remote_left h2_4)" -eq 5 ] ||
    fail "round 4: $((5 - $(remote_left h2_4))) file(s) announced with a negative size were removed from the remote"
echo "ok: 4 rounds, 8 hostile remotes; no crash, nothing outside incomingdir, all good files arrived"
