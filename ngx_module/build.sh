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
# Needs: cc, make, libssl-dev, libpcre2-dev, zlib1g-dev, libjansson-dev.
#
# PAYGW_NGX_SAN=1 builds the module with AddressSanitizer + UBSan; Debian's
# nginx then has to run with the sanitizer runtimes preloaded
# (LD_PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)"),
# which the test harness does when it finds the ".san" marker next to it.

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

san_cc=
san_ld=
if [ "${PAYGW_NGX_SAN:-0}" = 1 ]; then
    san_cc='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined'
    san_ld='-fsanitize=address,undefined'
fi

flags=
if [ -f "$src/conf_flags" ]; then
    flags=$(sed -n 's/^NGX_CONF_FLAGS=(\(.*\))[[:space:]]*$/\1/p' \
            "$src/conf_flags")
fi

stamp=$work/.paygw-configured
want="$src $flags $san_cc"

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] \
   || [ "$here/config" -nt "$stamp" ]
then
    rm -rf "$work"
    mkdir -p "$work"
    cp -R "$src/." "$work/"

    # shellcheck disable=SC2086  # $flags is a list of words on purpose
    if ! (cd "$work" && ./configure --with-compat $flags \
            --with-cc-opt="-O2 -g -Wextra -Wno-unused-parameter $san_cc" \
            --with-ld-opt="$san_ld" \
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

if [ -n "$san_cc" ]; then
    : >"$out/ngx_http_paygw_module.so.san"
else
    rm -f "$out/ngx_http_paygw_module.so.san"
fi
echo "$out/ngx_http_paygw_module.so"
