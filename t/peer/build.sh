#!/bin/sh
# build.sh - build the Tentacle test peer and its companions (test-only)
#
# Usage: build.sh OUTDIR [EXTRA_CFLAGS...]
#   e.g. build.sh /tmp/peer-bin -fsanitize=address,undefined
# Produces OUTDIR/tentacle_peer, agentsim, baseline, rawtalk. Needs gcc (or $CC)
# and the GnuTLS development files (pkg-config gnutls).
set -eu
out=${1:?usage: build.sh OUTDIR [EXTRA_CFLAGS...]}
shift
src=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-gcc}
mkdir -p "$out"
flags="-std=gnu11 -O2 -g -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes
 -Wmissing-prototypes -Wno-unused-parameter -pthread"
gnutls=$(pkg-config --cflags --libs gnutls)
# shellcheck disable=SC2086
{
    $cc $flags "$@" -o "$out/tentacle_peer" "$src/tentacle_peer.c" "$src/peer_conn.c" \
        "$src/peer_io.c" "$src/peer_tls.c" "$src/peer_fault.c" "$src/peer_route.c" \
        "$src/peer_log.c" "$src/parse_ull.c" $gnutls
    $cc $flags "$@" -o "$out/agentsim" "$src/agentsim.c" "$src/tclient.c" "$src/parse_ull.c" $gnutls
    $cc $flags "$@" -o "$out/baseline" "$src/baseline.c" "$src/tclient.c" "$src/parse_ull.c" $gnutls
    $cc $flags "$@" -o "$out/rawtalk" "$src/rawtalk.c"
}
