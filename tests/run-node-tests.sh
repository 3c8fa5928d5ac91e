#!/bin/sh
# run-node-tests.sh — the node suites of `make test`: the simulator's self-test
# (checks it against alipay-sdk), the nginx module's front tests, and the
# end-to-end suite over real nginx + paygwd + simulator. PAYGW_BUILD names the
# build directory (build/ or build-san/).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
export PAYGW_ROOT="$root"
export PAYGW_BUILD="${PAYGW_BUILD:-$root/build}"
cd "$root"
echo "== simulator self-test"
node --test --test-concurrency=1 tests/sim/
echo "== front module tests"
node --test --test-concurrency=1 ngx_module/t/
echo "== paygwctl tests"
node --test --test-concurrency=1 cli/t/
echo "== end-to-end tests"
sh tests/e2e/run.sh
