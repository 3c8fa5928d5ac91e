#!/bin/sh
# nginx-san.sh — runs Debian's nginx with the AddressSanitizer and UBSan
# runtimes preloaded, so that a module built with PAYGW_NGX_SAN=1 (make
# SAN=1) can be loaded and checked.  Reports go to $PAYGW_SAN_LOG/ngx.<pid>
# (default /tmp/paygw-nginx-san); tests/run-node-tests.sh fails the run when
# any appears.  Leak checking is off: nginx leaves its pools to the exit.
set -eu
log=${PAYGW_SAN_LOG:-/tmp/paygw-nginx-san}
mkdir -p "$log"
chmod 1777 "$log" 2>/dev/null || true
cc=${CC:-cc}
LD_PRELOAD="$($cc -print-file-name=libasan.so) $($cc -print-file-name=libubsan.so)"
ASAN_OPTIONS="detect_leaks=0:log_path=$log/ngx"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$log/ngx"
export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
exec "${PAYGW_NGINX_BIN:-/usr/sbin/nginx}" "$@"
