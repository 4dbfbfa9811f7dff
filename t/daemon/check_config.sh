#!/bin/sh
# --check-config: prints effective settings with secrets masked, exits 0 on
# a good configuration and 1 with file:line:key on a broken one.
. "${TEST_SRCDIR:-$(dirname "$0")/..}/daemon/lib.sh"

write_hostconf
write_server 'tick 1
tick_password hunter2-secret
tick_interval_ms 500
'
out=$("$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" --check-config 2>&1) ||
    fail "a good configuration was refused: $out"
echo "$out" | grep -q 'tick_password \*\*\*\*\*\*\*\*' || fail "secret not masked: $out"
echo "$out" | grep -q 'hunter2' && fail "the secret was printed"
echo "$out" | grep -q 'tick_interval_ms 500' || fail "effective value missing: $out"
echo "$out" | grep -q "incomingdir $IN" || fail "incomingdir missing: $out"
echo "ok: good configuration accepted, secret masked"

# the shipped example, as an admin would check it
"$PANDORA_HOSTD" -c "$TEST_SRCDIR/../etc/pandora_server.conf.example" \
    -H "$HOSTCONF" --check-config > "$T/example.out" 2>&1 ||
    fail "the shipped example is refused: $(cat "$T/example.out")"
grep -q '^pandora_server.conf ' "$T/example.out" || fail "no settings printed for the example"
echo "ok: etc/pandora_server.conf.example passes"

# nothing enabled (e.g. 'syncserver 1' without the module, or 'tick 0'):
# the host says it has nothing to do, and what to check
write_server 'tick 0
'
out=$("$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" --check-config 2>&1)
echo "$out" | grep -q "no service is enabled, so there is nothing to do: 1 module(s) loaded from $TEST_MODULEDIR; enable a service in $SERVER" ||
    fail "no warning about a host with nothing enabled: $out"
write_server 'tick 1
'
out=$("$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" --check-config 2>&1)
echo "$out" | grep -q "no service is enabled" && fail "idle warning with tick enabled: $out"
echo "ok: a host with nothing enabled says so"

# a bad value: file, line and key named, exit 1
write_server 'tick 1
tick_interval_ms 10s
'
out=$("$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" --check-config 2>&1) &&
    fail "a bad value was accepted"
echo "$out" | grep -q "server.conf:3: tick_interval_ms: expected" ||
    fail "error does not name file:line:key: $out"
echo "ok: bad value refused with file:line:key"

# a broken module: named, exit 1, the good one still listed
write_hostconf
sed -i 's/modules = \[ "tick" \];/modules = [ "tick", "wrong_abi_major" ];/' "$HOSTCONF"
write_server 'tick 1
'
out=$("$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" --check-config 2>&1) &&
    fail "a broken module was accepted"
echo "$out" | grep -q "wrong_abi_major.so was built for plugin ABI 2.0" ||
    fail "broken module not named: $out"
echo "$out" | grep -q "service tick (module tick): enabled" ||
    fail "the good module is missing: $out"
echo "ok: broken module refused by name, the other still checked"

# a libconfig syntax error: file and line
printf 'workers = 4;\nstop_timeout = 5 5;\n' > "$HOSTCONF"
out=$("$PANDORA_HOSTD" -c "$SERVER" -H "$HOSTCONF" --check-config 2>&1) &&
    fail "a syntax error was accepted"
echo "$out" | grep -q "hostd.conf:2" || fail "syntax error without file:line: $out"
echo "ok: host file syntax error names file:line"

# a missing -H file is an error, not silent defaults
out=$("$PANDORA_HOSTD" -c "$SERVER" -H "$T/nope.conf" --check-config 2>&1) &&
    fail "a missing -H file was accepted"
echo "$out" | grep -q "nope.conf" || fail "missing file not named: $out"
echo "ok: missing host file named"
