#!/bin/sh
# End-to-end tests against the real stack (nginx + module, paygwd, Alipay simulator).
#   sh tests/e2e/run.sh [test files...]
# Env: PAYGW_ROOT (repo root), PAYGW_BUILD (build dir, default $PAYGW_ROOT/build),
#      PAYGW_E2E_KEEP=1 (keep temp dirs), PAYGW_E2E_VERBOSE=1 (print log tails),
#      PAYGW_E2E_IGNORE_LEAKS=1 (do not fail on LeakSanitizer reports of SAN=1 builds).
# A file fails when paygwd or nginx printed a sanitizer report (SAN=1 builds).
# Exits non-zero when any test fails.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PAYGW_ROOT=${PAYGW_ROOT:-$(cd "$here/../.." && pwd)}
PAYGW_BUILD=${PAYGW_BUILD:-$PAYGW_ROOT/build}
export PAYGW_ROOT PAYGW_BUILD

command -v node >/dev/null 2>&1 || { echo "e2e: node (>= 20) is required" >&2; exit 1; }
for f in "$PAYGW_BUILD/paygwd" "$PAYGW_BUILD/ngx_http_paygw_module.so"; do
    [ -e "$f" ] || { echo "e2e: missing $f (build first)" >&2; exit 1; }
done

# the simulator's only dependency: alipay-sdk, pinned in tests/sim/package-lock.json
if [ ! -d "$PAYGW_ROOT/tests/sim/node_modules/alipay-sdk" ]; then
    (cd "$PAYGW_ROOT/tests/sim" && npm ci --no-audit --no-fund)
fi

cd "$here"
if [ "$#" -eq 0 ]; then
    set -- happy.test.js auth.test.js idempotency.test.js conservative.test.js \
           notify.test.js crash.test.js caller_notify.test.js core_api.test.js \
           front_v2.test.js channels.test.js micropay.test.js credentials.test.js \
           refunds.test.js refunds_channels.test.js routes.test.js routes_conf.test.js \
           routes_live.test.js breaker.test.js bulkhead.test.js reconcile_sched.test.js \
           packs_live.test.js \
           recon_query.test.js recon_day.test.js
fi
exec node --test --test-concurrency=1 --test-timeout=300000 "$@"
