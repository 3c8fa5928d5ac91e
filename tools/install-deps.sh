#!/bin/sh
# install-deps.sh — installs the Debian packages and npm modules paygw needs, only
# those missing, so `make run` / `make test` work from a clean clone on a fresh
# Debian machine. Needs root for apt-get when something is missing.
set -e

pkgs="gcc make pkg-config nginx nginx-dev libpcre2-dev zlib1g-dev libssl-dev
libcurl4-openssl-dev liblua5.4-dev libxml2-dev libjansson-dev libevent-dev
libsqlite3-dev libcmocka-dev openssl curl nodejs npm"

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
# node may come from elsewhere than Debian (nodesource, nvm): accept any node >= 18
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    missing=$(echo "$missing" | sed -e 's/ nodejs//' -e 's/ npm//')
fi

if [ -n "$(echo "$missing" | tr -d ' ')" ]; then
    echo "install-deps: installing:$missing"
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: need root to apt-get install:$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi

for d in tests/sim; do
    if [ -f "$d/package.json" ] && [ ! -d "$d/node_modules" ]; then
        echo "install-deps: npm ci in $d"
        (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
    fi
done
