#!/bin/sh
# bench/front/deps.sh — installs what `make bench-front` needs, only what is
# missing: wrk (client), Debian's lua-nginx-module (the OpenResty-style peer;
# pulls libnginx-mod-http-ndk, lua-resty-core and the OpenResty LuaJIT),
# nginx, nginx-dev and the compiler kit (to build our module), node.
# Needs root for apt-get when something is missing. Installing the Lua
# module enables nothing: the bench loads it with load_module in its own
# nginx.conf, and /etc/nginx is left as it is.
set -e

pkgs="wrk nginx nginx-dev libnginx-mod-http-lua gcc make libssl-dev
libpcre2-dev zlib1g-dev nodejs"

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
# node may come from elsewhere than Debian (nodesource, nvm)
if command -v node >/dev/null 2>&1; then
    missing=$(echo "$missing" | sed -e 's/ nodejs//')
fi

if [ -n "$(echo "$missing" | tr -d ' ')" ]; then
    echo "bench-front deps: installing:$missing"
    if [ "$(id -u)" != 0 ]; then
        echo "bench-front deps: need root to apt-get install:$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi
