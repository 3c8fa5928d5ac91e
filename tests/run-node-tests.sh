#!/bin/sh
# run-node-tests.sh — the node suites of `make test`: the simulator's self-test
# (checks it against the channels' SDKs), the channel packs' conformance
# tests, the nginx module's front tests, and the
# end-to-end suite over real nginx + paygwd + simulator. PAYGW_BUILD names the
# build directory (build/ or build-san/).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
export PAYGW_ROOT="$root"
export PAYGW_BUILD="${PAYGW_BUILD:-$root/build}"
cd "$root"

# a sanitizer-built module (make SAN=1) needs nginx with the runtimes
# preloaded; any report it writes fails the run at the end
san_log=
if [ -f "$PAYGW_BUILD/ngx_http_paygw_module.so.san" ]; then
    san_log=$(mktemp -d /tmp/paygw-nginx-san.XXXXXX)
    chmod 1777 "$san_log"
    export PAYGW_SAN_LOG="$san_log"
    export PAYGW_NGINX="$root/tools/nginx-san.sh"
    export NGINX="$root/tools/nginx-san.sh"
    echo "== nginx runs with ASan+UBSan preloaded (reports: $san_log)"
fi

# the simulator is node only: its self-test says nothing new under the
# sanitizer pass (no C code runs in it)
if [ -z "$san_log" ]; then
    echo "== simulator self-test"
    node --test --test-concurrency=1 tests/sim/
fi
echo "== front module tests"
node --test --test-concurrency=1 ngx_module/t/
echo "== channel pack conformance (simulator + paygwctl channel)"
# two files at a time: most of their time is spent waiting on scripted delays
# and timeouts, and each file has its own simulator and ports
PAYGWCTL="$PAYGW_BUILD/paygwctl" node --test --test-concurrency=2 tests/packs/
echo "== paygwctl tests"
node --test --test-concurrency=1 cli/t/
echo "== end-to-end tests"
sh tests/e2e/run.sh

if [ -n "$san_log" ]; then
    if [ -n "$(ls -A "$san_log")" ]; then
        echo "== sanitizer reports from nginx + the module:" >&2
        cat "$san_log"/* >&2
        exit 1
    fi
    echo "== nginx + module: no sanitizer reports"
    rm -rf "$san_log"
fi
