#!/bin/sh
# run.sh — `make bench`: builds nothing itself (make does), starts a private stack on
# free loopback ports and prints the figures of bench.js. BENCH_N and
# BENCH_CONCURRENCY change the load (defaults 1000 and 32).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
export PAYGW_ROOT="$root"
export PAYGW_BUILD="${PAYGW_BUILD:-$root/build}"
exec node "$root/bench/bench.js"
