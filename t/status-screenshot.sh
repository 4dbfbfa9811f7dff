#!/bin/sh
# status-screenshot.sh URL PNG - a 1200x800 screenshot of the status page
# at URL (e.g. http://127.0.0.1:41180/), written to PNG, by headless
# Chromium (the Debian package chromium; ./autogen.sh --deps installs it).
# The README's screenshot is taken with it during the demo.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 URL OUTPUT.png" >&2
    exit 2
fi
url=$1
png=$2
command -v chromium >/dev/null 2>&1 || {
    echo "$0: chromium not found; install the Debian package chromium (or run ./autogen.sh --deps)" >&2
    exit 1
}
# a throw-away profile: nothing is read from or left in ~/.config
profile=$(mktemp -d "${TMPDIR:-/tmp}/status-shot.XXXXXX") || exit 1
trap 'rm -rf "$profile"' EXIT
rm -f "$png"
if ! timeout 90 chromium --headless --no-sandbox --disable-gpu \
        --hide-scrollbars --user-data-dir="$profile" \
        --screenshot="$png" --window-size=1200,800 "$url" \
        >"$profile/out" 2>&1 || [ ! -s "$png" ]; then
    echo "$0: chromium could not take a screenshot of $url:" >&2
    tail -n 5 "$profile/out" >&2
    exit 1
fi
echo "$png"
