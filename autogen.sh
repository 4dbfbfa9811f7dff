#!/bin/sh
# autogen.sh - prepare a fresh checkout for building.
#
#   ./autogen.sh [--deps] [configure arguments...]
#
# With --deps (as root, on Debian 12) it first installs every Debian package
# the build and the tests need, only those that are missing, and says which.
# Without --deps it installs nothing. Then it runs `autoreconf -fi` and
# `./configure` with the remaining arguments.
set -eu

# Everything `make`, `make check`, `make distcheck` and the CI need
# (prometheus brings promtool, which checks /metrics; chromium is the
# headless browser of the status page test).
DEPS="build-essential autoconf automake libtool pkgconf
      libgnutls28-dev libconfig-dev libmicrohttpd-dev check
      gnutls-bin curl procps util-linux
      prometheus chromium"

want_deps=no
if [ "${1:-}" = "--deps" ]; then
    want_deps=yes
    shift
fi

install_deps() {
    missing=""
    for pkg in $DEPS; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
            missing="$missing $pkg"
        fi
    done
    if [ -z "$missing" ]; then
        echo "autogen.sh: all build and test packages are already installed"
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "autogen.sh: missing packages:$missing" >&2
        echo "autogen.sh: run as root (or: sudo apt-get install$missing)" >&2
        exit 1
    fi
    echo "autogen.sh: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -q; then
        echo "autogen.sh: 'apt-get update' failed; check /etc/apt/sources.list and the network" >&2
        exit 1
    fi
    # shellcheck disable=SC2086
    if ! apt-get install -y -q --no-install-recommends $missing; then
        echo "autogen.sh: could not install:$missing" >&2
        echo "autogen.sh: install them by hand, then run ./autogen.sh without --deps" >&2
        exit 1
    fi
}

if [ "$want_deps" = yes ]; then
    command -v dpkg-query >/dev/null 2>&1 || {
        echo "autogen.sh: --deps needs a Debian system (dpkg-query not found)" >&2
        exit 1
    }
    install_deps
fi

cd "$(dirname "$0")"
mkdir -p m4
autoreconf -fi
./configure "$@"
