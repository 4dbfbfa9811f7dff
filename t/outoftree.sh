#!/bin/sh
# outoftree.sh DESTDIR PREFIX HOSTD PKGCONFIGDIR
#
# After `make install`: build a module out of tree with only the installed
# pandora/plugin.h and pandora-plugin.pc, then load it with the installed
# pandora_hostd (--check-config, then --once, which must deliver its file).
set -eu
destdir=$1 prefix=$2 hostd=$3 pcdir=$4
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/pandora-oot.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$destdir"
cflags=$(pkg-config --cflags pandora-plugin)
version=$(pkg-config --modversion pandora-plugin)
echo "pandora-plugin $version: cflags $cflags"
case "$cflags" in *"$prefix"*) ;; *) echo "FAIL: cflags do not point into $prefix"; exit 1;; esac
mkdir -p "$T/mods" "$T/in" "$T/state"
${CC:-cc} -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -fPIC -shared \
    $cflags -o "$T/mods/oot.so" "$here/outoftree/oot.c"

cat > "$T/hostd.conf" <<CONF
module_dir = "$T/mods";
modules = [ "oot" ];
state_dir = "$T/state";
CONF
printf 'incomingdir %s\noot 1\noot_greeting hello-from-outside\n' "$T/in" > "$T/server.conf"

out=$("$hostd" -c "$T/server.conf" -H "$T/hostd.conf" --check-config 2>&1) || {
    echo "FAIL: --check-config refused the out-of-tree module:"; echo "$out"; exit 1; }
echo "$out" | grep -q "service oot (module oot): enabled" || {
    echo "FAIL: the out-of-tree service is not listed:"; echo "$out"; exit 1; }
"$hostd" -c "$T/server.conf" -H "$T/hostd.conf" --once
[ "$(cat "$T/in/oot.1700000000.data")" = "hello-from-outside" ] || {
    echo "FAIL: the out-of-tree module's file was not delivered"; exit 1; }
[ "$(stat -c %Y "$T/in/oot.1700000000.data")" = 1700000000 ] || {
    echo "FAIL: mtime not set on the delivered file"; exit 1; }
echo "ok: out-of-tree module built against the installed plugin.h loads and delivers"
