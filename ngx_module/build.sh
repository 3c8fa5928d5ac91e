#!/bin/sh
# Builds ngx_http_paygw_module.so against an nginx source tree or the
# Debian nginx-dev kit (/usr/share/nginx/src), for Debian's /usr/sbin/nginx.
#
#   ngx_module/build.sh <nginx-src> <outdir>
#
# The kit is copied to <outdir>/nginx (configure writes into its tree),
# configured with --with-compat plus the distribution's own flags (from
# <nginx-src>/conf_flags when present, so the module signature matches the
# packaged binary) and only the modules target is built.
# Result: <outdir>/ngx_http_paygw_module.so
# Needs: cc, make, libssl-dev, libpcre2-dev, zlib1g-dev.

set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 <nginx-src> <outdir>" >&2
    exit 2
fi

src=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$src/configure" ]; then
    echo "$0: $src/configure not found (install nginx-dev?)" >&2
    exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$out/nginx

flags=
if [ -f "$src/conf_flags" ]; then
    flags=$(sed -n 's/^NGX_CONF_FLAGS=(\(.*\))[[:space:]]*$/\1/p' \
            "$src/conf_flags")
fi

stamp=$work/.paygw-configured
want="$src $flags"

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] \
   || [ "$here/config" -nt "$stamp" ]
then
    rm -rf "$work"
    mkdir -p "$work"
    cp -R "$src/." "$work/"

    # shellcheck disable=SC2086  # $flags is a list of words on purpose
    if ! (cd "$work" && ./configure --with-compat $flags \
            --with-cc-opt='-O2 -g -Wextra -Wno-unused-parameter' \
            --add-dynamic-module="$here") >"$out/configure.log" 2>&1
    then
        tail -n 30 "$out/configure.log" >&2
        echo "$0: nginx configure failed, see $out/configure.log" >&2
        exit 1
    fi

    printf '%s\n' "$want" >"$stamp"
fi

make -C "$work" -f objs/Makefile modules >"$out/make.log" 2>&1 || {
    tail -n 40 "$out/make.log" >&2
    echo "$0: module build failed, see $out/make.log" >&2
    exit 1
}

cp "$work/objs/ngx_http_paygw_module.so" "$out/ngx_http_paygw_module.so"
echo "$out/ngx_http_paygw_module.so"
