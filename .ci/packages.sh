#!/bin/bash
# .ci/packages.sh - the Debian packages, end to end, as root on Debian 12:
#
#  1. install what .ci/packages.deps lists and is missing (apt-get);
#  2. build pandora-hostd, pandora-syncserver and pandora-hostd-dev with
#     `dpkg-buildpackage -us -uc -b` from a clean copy of the tree;
#  3. lintian: no error, no warning that lacks an override;
#  4. `apt-get install ./*.deb`; the user, directories, conffile, unit
#     (`systemd-analyze security` <= 3.0), man pages (`man --warnings`);
#  5. the autopkgtests against the INSTALLED files: debian/tests/check-config
#     (--check-config, syncserver 1, as the user pandora), debian/tests/drain
#     (`pandora_hostd --once` drains test peers on 127.0.0.x built from the
#     tree), debian/tests/outoftree (a module built against -dev);
#  6. `apt-get purge`: nothing the packages owned or created is left, and a
#     data file waiting in the spool is untouched;
#  7. the machine is put back as it was (user, directories).
#
# Usage: .ci/packages.sh [--working-tree]
#   By default the copy holds the files git tracks, as a CI clone has them.
#   --working-tree also copies untracked files that are not ignored (to try
#   uncommitted work; top-level _*/ build directories are left out).
# Environment: KEEP=1 keeps the work directory; PACKAGES_CHECK=1 runs the
# test suite inside the package build (off: .ci/run runs it already).
#
# Exits non-zero on any failure; the last line is "packages: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
t0=$(date +%s)
passed=0
failed=0
PKGS="pandora-hostd pandora-syncserver pandora-hostd-dev"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

step() { printf '\n== %s (%ds)\n' "$*" $(( $(date +%s) - t0 )); }
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
finish() {
    echo
    echo "packages: total time $(( $(date +%s) - t0 ))s"
    echo "packages: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}
# abort MSG - a failure later steps cannot go on from
abort() {
    bad "$*"
    finish
}

working_tree=no
case "${1:-}" in
--working-tree) working_tree=yes ;;
"") ;;
*) echo "usage: $0 [--working-tree]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "packages.sh: run as root" >&2; exit 2; }
command -v apt-get >/dev/null || { echo "packages.sh: needs Debian (apt-get)" >&2; exit 2; }

W=$(mktemp -d /tmp/pandora-packages.XXXXXX)
chmod 755 "$W"
RESTORE=()                      # commands that put the machine back
cleanup() {
    local c
    for c in "${RESTORE[@]}"; do
        eval "$c" || true
    done
    if [ -n "${KEEP:-}" ]; then echo "work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---------------------------------------------------------------------------
step "1. tools (.ci/packages.deps)"
want=$(sed -e 's/#.*//' .ci/packages.deps | tr -s ' \t\n' ' ')
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing >"$W/apt-deps.log" 2>&1 || {
        apt-get update -q >>"$W/apt-deps.log" 2>&1
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $missing >>"$W/apt-deps.log" 2>&1
    } || { tail -n 20 "$W/apt-deps.log"; abort "cannot install:$missing"; }
    ok "installed:$missing"
else
    ok "every tool is installed"
fi

# ---------------------------------------------------------------------------
step "2. build (dpkg-buildpackage -us -uc -b) from a clean copy"
ac_version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' configure.ac)
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ "${deb_version%-*}" = "$ac_version" ]; then
    ok "debian/changelog $deb_version matches configure.ac $ac_version"
else
    bad "debian/changelog says $deb_version, configure.ac $ac_version: add a changelog entry (dch -v $ac_version-1)"
fi
src="$W/pandora-syncserver-$ac_version"
mkdir "$src"
if [ "$working_tree" = yes ]; then
    list=(git ls-files -z --cached --others --exclude-standard)
else
    list=(git ls-files -z --cached)
fi
"${list[@]}" | while IFS= read -r -d '' f; do
    case $f in _*/*) continue ;; esac
    [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -C "$src" -xf - || abort "cannot copy the tree"
echo "copied $(find "$src" -type f | wc -l) files ($([ "$working_tree" = yes ] && echo "working tree" || echo "tracked files")) to $src"

build_env=(DEB_BUILD_OPTIONS="parallel=$(nproc)")
if [ -n "${PACKAGES_CHECK:-}" ]; then
    # make check's own tools (Build-Depends marked <!nocheck>)
    apt-get build-dep -y -q --no-install-recommends "$src" >"$W/apt-build-dep.log" 2>&1 ||
        { tail -n 20 "$W/apt-build-dep.log"; abort "apt-get build-dep failed"; }
else
    build_env=(DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" DEB_BUILD_PROFILES=nocheck)
fi
b0=$(date +%s)
if (cd "$src" && env "${build_env[@]}" dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1; then
    ok "dpkg-buildpackage in $(( $(date +%s) - b0 ))s (${build_env[*]})"
else
    tail -n 40 "$W/build.log"
    abort "dpkg-buildpackage failed (log above)"
fi
debs=()
for p in $PKGS; do
    f=$(ls "$W/${p}_${deb_version}_"*.deb 2>/dev/null | head -n 1)
    [ -n "$f" ] || abort "no $p package was built"
    debs+=("$f")
done
changes=$(ls "$W"/*.changes | head -n 1)
for f in "${debs[@]}"; do
    echo "--- $(basename "$f")"
    dpkg-deb -c "$f" | awk '{ print $1, $2, $6 }'
done | tee "$W/contents.txt"
grep -q '\.la$' "$W/contents.txt" && bad "a .la file is packaged" || ok "no .la file in the packages"
dpkg-deb -f "${debs[1]}" Depends | grep -q "pandora-hostd (= $deb_version)" &&
    ok "pandora-syncserver depends on pandora-hostd (= $deb_version)" ||
    bad "pandora-syncserver: Depends is '$(dpkg-deb -f "${debs[1]}" Depends)'"

# ---------------------------------------------------------------------------
step "3. lintian"
lintian --display-info --pedantic --show-overrides "$changes" >"$W/lintian.txt" 2>&1
lrc=$?
grep -v 'running with root privileges is not recommended' "$W/lintian.txt"
for s in E W I P O; do
    printf '%s: %s  ' "$s" "$(grep -c "^$s: " "$W/lintian.txt")"
done
echo "(E error, W warning, I info, P pedantic, O overridden)"
if grep -q '^[EW]: ' "$W/lintian.txt"; then
    bad "lintian reports errors or warnings without an override (above)"
elif [ "$lrc" -ne 0 ] && ! grep -q '^[EWIPO]: ' "$W/lintian.txt"; then
    bad "lintian failed to run (exit $lrc)"
else
    ok "lintian: no error, no warning left without an override"
fi

# ---------------------------------------------------------------------------
step "4. install (apt-get install ./*.deb)"
# a run that died earlier may have left them installed
for p in $PKGS; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qv 'not-installed'; then
        echo "purging a $p left by an earlier run"
        apt-get purge -y -q "$p" >/dev/null 2>&1
    fi
done
# what exists before, to check the purge and to put the machine back
had_user=no; getent passwd pandora >/dev/null && had_user=yes
had_group=no; getent group pandora >/dev/null && had_group=yes
MADE_DIRS="/var/lib/pandora /var/spool/pandora /var/spool/pandora/data_in"
for d in $MADE_DIRS; do
    [ -e "$d" ] && echo "$d" >> "$W/existed-dirs"
done
touch "$W/existed-dirs"
for f in "${debs[@]}"; do
    dpkg-deb --fsys-tarfile "$f" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' | grep -v '^/\?$'
done | sort -u > "$W/shipped"
while IFS= read -r p; do
    { [ -e "$p" ] || [ -L "$p" ]; } && echo "$p"
done < "$W/shipped" > "$W/shipped-existed"
[ "$had_user" = no ] && RESTORE+=("deluser --quiet --system pandora >/dev/null 2>&1")
[ "$had_group" = no ] && RESTORE+=("delgroup --quiet --system pandora >/dev/null 2>&1")
for d in /var/spool/pandora/data_in /var/spool/pandora /var/lib/pandora; do
    grep -qx "$d" "$W/existed-dirs" || RESTORE+=("rmdir $d 2>/dev/null")
done
# runs first: a failure mid-way must not leave the packages installed
RESTORE=("dpkg-query -W -f='\${Status}' pandora-hostd 2>/dev/null | grep -q 'ok installed' && apt-get purge -y -q $PKGS >/dev/null 2>&1; true" "${RESTORE[@]}")

i0=$(date +%s)
rel=()
for f in "${debs[@]}"; do rel+=("./$(basename "$f")"); done
(cd "$W" && apt-get install -y -q "${rel[@]}") >"$W/install.log" 2>&1 ||
    { tail -n 30 "$W/install.log"; abort "apt-get install failed"; }
ok "apt-get install ./*.deb in $(( $(date +%s) - i0 ))s"

check() {                       # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
owner() { stat -c '%U:%G %a' "$1" 2>/dev/null; }
getent passwd pandora
check "system user and group pandora exist" sh -c 'getent passwd pandora >/dev/null && getent group pandora >/dev/null'
for d in /var/lib/pandora/hostd /var/spool/pandora/data_in /etc/pandora/pandora_hostd.conf; do
    echo "$(owner "$d") $d"
done
check "state dir /var/lib/pandora/hostd is pandora:pandora 750" test "$(owner /var/lib/pandora/hostd)" = "pandora:pandora 750"
if grep -qx /var/spool/pandora/data_in "$W/existed-dirs"; then
    echo "(the spool existed before: its owner is left alone)"
else
    check "spool /var/spool/pandora/data_in is pandora:pandora 750" test "$(owner /var/spool/pandora/data_in)" = "pandora:pandora 750"
fi
check "/etc/pandora/pandora_hostd.conf is root:pandora 640" test "$(owner /etc/pandora/pandora_hostd.conf)" = "root:pandora 640"
check "/etc/pandora/pandora_hostd.conf is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' pandora-hostd | grep -q ' /etc/pandora/pandora_hostd.conf '"
check "no pandora_server.conf was created" test ! -e /etc/pandora/pandora_server.conf
check "pandora_server.conf.example is in /usr/share/doc/pandora-hostd" test -f /usr/share/doc/pandora-hostd/pandora_server.conf.example
check "the unit is enabled" test -L /etc/systemd/system/multi-user.target.wants/pandora-hostd.service
score=$(systemd-analyze security --offline=true /lib/systemd/system/pandora-hostd.service 2>&1 |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "systemd-analyze security --offline=true: ${score:-?}"
check "systemd-analyze security scores ${score:-?} <= 3.0" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 3.0) }'
out=$(systemd-analyze verify /lib/systemd/system/pandora-hostd.service 2>&1)
[ -z "$out" ] || echo "$out"
check "systemd-analyze verify: no complaint" test -z "$out"
for m in /usr/share/man/man8/pandora_hostd.8.gz /usr/share/man/man5/pandora_hostd.conf.5.gz \
    /usr/share/man/man7/pandora-syncserver.7.gz; do
    out=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
    [ -z "$out" ] || echo "$out"
    check "man --warnings $(basename "$m" .gz): no warning" test -z "$out"
done

# ---------------------------------------------------------------------------
step "5. the installed daemon: check-config, drain, out-of-tree module"
for t in check-config drain outoftree; do
    t1=$(date +%s)
    if (cd "$src" && TMPDIR="$W" bash "debian/tests/$t") >"$W/test-$t.log" 2>&1; then
        grep '^# ' "$W/test-$t.log"
        tail -n 1 "$W/test-$t.log"
        ok "debian/tests/$t in $(( $(date +%s) - t1 ))s"
    else
        tail -n 40 "$W/test-$t.log"
        bad "debian/tests/$t"
    fi
done

# ---------------------------------------------------------------------------
step "6. purge"
# data waiting for the Pandora data server: must survive the purge
userfile=/var/spool/pandora/data_in/packages-ci.1764000000.data
echo "agent data $$" > "$userfile"
usersum=$(sha256sum < "$userfile")
RESTORE=("rm -f $userfile" "${RESTORE[@]}")
for p in $PKGS; do dpkg -L "$p"; done | grep -vx '/\.\?' | sort -u > "$W/owned"
echo "$(wc -l < "$W/owned") paths owned by the packages before the purge"
p0=$(date +%s)
apt-get purge -y -q $PKGS >"$W/purge.log" 2>&1 || { cat "$W/purge.log"; abort "apt-get purge failed"; }
grep 'pandora-hostd:' "$W/purge.log"
ok "apt-get purge in $(( $(date +%s) - p0 ))s"
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
    check "$p is purged (${st:-unknown to dpkg})" test "${st##* }" = not-installed -o -z "$st"
done
left=""
while IFS= read -r p; do
    { [ -e "$p" ] || [ -L "$p" ]; } || continue
    grep -qxF -- "$p" "$W/shipped-existed" && continue     # not ours to remove
    dpkg -S "$p" >/dev/null 2>&1 && continue              # another package's
    left="$left $p"
done < "$W/owned"
check "nothing the packages owned is left${left:+:$left}" test -z "$left"
gone=""
while IFS= read -r p; do
    { [ -e "$p" ] || [ -L "$p" ]; } || gone="$gone $p"
done < "$W/shipped-existed"
check "what existed before the install is still there${gone:+ (missing:$gone)}" test -z "$gone"
for p in /var/lib/pandora/hostd /var/lib/pandora/pandora-hostd.created-dirs \
    /etc/pandora/pandora_hostd.conf /etc/systemd/system/multi-user.target.wants/pandora-hostd.service \
    /var/lib/systemd/deb-systemd-helper-enabled/pandora-hostd.service.dsh-also; do
    check "purged: $p" test ! -e "$p"
done
grep -qx /var/lib/pandora "$W/existed-dirs" || check "purged: /var/lib/pandora (created by the package)" test ! -e /var/lib/pandora
check "the spool's data file is untouched" test "$(sha256sum < "$userfile" 2>/dev/null)" = "$usersum"
check "the user pandora stays (Debian practice)" sh -c 'getent passwd pandora >/dev/null'

finish
