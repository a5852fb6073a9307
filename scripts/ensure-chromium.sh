#!/bin/sh
# Browser tests drive Debian's Chromium through Playwright. Install it when we can;
# otherwise the browser tests skip themselves and say why.
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium for the browser tests (Debian package)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
        && exit 0
fi
echo "Chromium is not installed and cannot be installed here: browser tests will be skipped." >&2
exit 0
