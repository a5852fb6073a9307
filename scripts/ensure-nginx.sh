#!/bin/sh
# The production-shape test runs the app behind Debian's nginx, which it starts itself on
# loopback with its own configuration. Install it when we can; otherwise that test skips
# itself and says why. The package's own service is not needed (and not started here).
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing nginx for the production-shape test (Debian package)..."
    if [ -d /usr/sbin ] && [ ! -e /usr/sbin/policy-rc.d ]; then
        # Keep the package from starting its own server on port 80.
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null \
        && exit 0
fi
echo "nginx is not installed and cannot be installed here: the proxy test will be skipped." >&2
exit 0
