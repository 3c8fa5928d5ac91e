#!/usr/bin/env bash
# bench/front/run.sh — `make bench-front`: the front gateway against nginx's
# floor and an OpenResty-style peer, measured in one run on this machine.
#
# Three nginx instances on 127.0.0.1, each worker_processes 2, access_log off,
# keepalive_requests 1000000:
#   (a) return-200  nginx `return 200 '{json}'` (body discarded)
#   (b) ours        ngx_http_paygw_module: scheme-B verify, nonce store,
#                   app + API rate and app concurrency limits, voucher minted
#                   and answered 202 locally (paygw_local_voucher on), signed
#   (c) peer        the same work in Lua on Debian's lua-nginx-module
#                   (bench/front/peer/, see paygw_peer.lua)
# Client: wrk -t2 -c64 --latency -s post.lua POST /v1/payments with ~365 B
# form bodies signed per SPEC §3.1 scheme B, each with its own nonce_str and
# out_trade_no, generated before each round (gen_bodies.js) and sent at most
# once to each server. A run counts only with 0 non-2xx, 0 socket errors and
# (b, c) no body sent twice.
# Order: smoke + functional checks (check.js), warm-up of each variant, then
# ROUNDS rounds of a b c; each figure is the median over the rounds.
# Server CPU per request = the nginx workers' utime+stime (/proc/<pid>/stat)
# over the run / requests completed in the run.
#
# Environment: DURATION (s per run, 8), WARMUP (s, 2), ROUNDS (3),
#   VARIANTS ("a b c"), THREADS (2), CONNS (64), NGINX (/usr/sbin/nginx),
#   NGINX_SRC (/usr/share/nginx/src), PAYGW_MODULE (a built .so to use),
#   BENCH_MOD_DIR (/tmp/bench-mod: where the module is built otherwise),
#   NONCE_ZONE (both sides; >= 512m, sized for the run), BODY_HEADROOM (1.6: bodies per run =
#   headroom x warm-up req/s x DURATION), KEEP=1 keeps the work directory.
# Exit status: 0 all targets met, 3 a target missed, 1 invalid run or error.
# See README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
VARIANTS=${VARIANTS:-a b c}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
NGINX=${NGINX:-/usr/sbin/nginx}
NGINX_SRC=${NGINX_SRC:-/usr/share/nginx/src}
BENCH_MOD_DIR=${BENCH_MOD_DIR:-/tmp/bench-mod}
# room for every nonce of the whole bench at up to 100k req/s (~160 B each)
NONCE_ZONE=${NONCE_ZONE:-$(awk -v w="${WARMUP:-2}" -v r="${ROUNDS:-3}" -v d="${DURATION:-8}" \
    'BEGIN { m = int(100000 * (w + r * d + 2) * 160 / 1048576) + 64; if (m < 512) m = 512; printf "%dm", m }')}
BODY_HEADROOM=${BODY_HEADROOM:-1.6}
LUA_MOD=${LUA_MOD:-/usr/lib/nginx/modules/ngx_http_lua_module.so}
NDK_MOD=${NDK_MOD:-/usr/lib/nginx/modules/ndk_http_module.so}
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# generous limits: nothing may be rejected, but every check still runs
RATE=1000000
BURST=100000
CONCURRENCY=100000
APP=A1

say() { printf '%s\n' "$*"; }
die() { printf 'bench-front: %s\n' "$*" >&2; exit 1; }

for t in wrk node "$NGINX"; do
    command -v "$t" >/dev/null 2>&1 || die "$t not found (run: sh bench/front/deps.sh)"
done

work=$(mktemp -d /tmp/bench-front.XXXXXX)
chmod 755 "$work"          # the workers run as nobody
declare -A MASTER=()       # variant -> master pid (only those we started)

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for v in "${!MASTER[@]}"; do
        local pid=${MASTER[$v]}
        if kill -0 "$pid" 2>/dev/null; then
            kill -QUIT "$pid" 2>/dev/null || true
        fi
    done
    for v in "${!MASTER[@]}"; do
        local pid=${MASTER[$v]} i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then
        say "work directory kept: $work"
    else
        rm -rf "$work"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

has() { case " $VARIANTS " in *" $1 "*) return 0 ;; esac; return 1; }

name_of() {
    case $1 in a) echo "return-200" ;; b) echo "ours" ;; c) echo "peer" ;; esac
}

# ---- ports, secret, apps file ------------------------------------------

read -r PORT_a PORT_b PORT_c < <(node -e '
const net = require("net"); const ports = []; const srv = [];
(function next() {
  if (ports.length === 3) { srv.forEach((s) => s.close()); console.log(ports.join(" ")); return; }
  const s = net.createServer(); srv.push(s);
  s.listen(0, "127.0.0.1", () => { ports.push(s.address().port); next(); });
})();')

SECRET="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '# bench/front apps file (docs/apps-file.md)\n%s HMAC-SHA256 %s\n' "$APP" "$SECRET" >"$work/apps.conf"
chmod 644 "$work/apps.conf"

# ---- our module --------------------------------------------------------

MODULE_SO=
B_ERR=
find_module() {
    if [ -n "${PAYGW_MODULE:-}" ]; then
        MODULE_SO=$PAYGW_MODULE
        return 0
    fi
    local b="$root/build/ngx_http_paygw_module.so"
    if [ -f "$b" ] && [ -z "$(find "$root/ngx_module" -maxdepth 1 -type f -newer "$b" | head -n 1)" ]; then
        MODULE_SO=$b
        return 0
    fi
    say "building the module into $BENCH_MOD_DIR (ngx_module/build.sh) ..."
    if ! MODULE_SO=$(sh "$root/ngx_module/build.sh" "$NGINX_SRC" "$BENCH_MOD_DIR" 2>"$work/module-build.err" | tail -n 1); then
        B_ERR="module build failed: $(tail -n 15 "$work/module-build.err")"
        MODULE_SO=
        return 1
    fi
}
if has b; then
    find_module || true
    [ -n "$MODULE_SO" ] && say "module: $MODULE_SO"
fi

# ---- configurations ----------------------------------------------------

conf_head() {   # $1 = variant dir
    cat <<EOF
worker_processes 2;
pid $1/nginx.pid;
error_log $1/error.log warn;
events {
    worker_connections 4096;
}
EOF
}

http_common() {   # $1 = variant dir
    cat <<EOF
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    default_type application/json;
    charset off;
    gzip off;
    server_tokens off;
    client_max_body_size 64k;
    client_body_buffer_size 64k;
    client_body_temp_path $1/client_body_temp;
    proxy_temp_path $1/proxy_temp;
    fastcgi_temp_path $1/fastcgi_temp;
    uwsgi_temp_path $1/uwsgi_temp;
    scgi_temp_path $1/scgi_temp;
EOF
}

write_conf_a() {
    local d=$work/a
    mkdir -p "$d"
    { conf_head "$d"
      say "http {"
      http_common "$d"
      cat <<EOF
    server {
        listen 127.0.0.1:$PORT_a;
        location = /v1/payments {
            return 200 '{"voucher_id":"V2026112200000000000100012340001","out_trade_no":"T2026112200000000000000","status":"ACCEPTED"}';
        }
    }
}
EOF
    } >"$d/nginx.conf"
}

write_conf_b() {
    local d=$work/b
    mkdir -p "$d"
    { say "load_module $MODULE_SO;"
      conf_head "$d"
      say "http {"
      http_common "$d"
      cat <<EOF
    paygw_apps $work/apps.conf;
    paygw_time_window 300s;
    paygw_max_body 64k;
    paygw_nonce_zone $NONCE_ZONE;
    paygw_limit_zone 1m;
    paygw_app_rate ${RATE}r/s burst=$BURST;
    paygw_api_rate ${RATE}r/s burst=$BURST;
    paygw_app_concurrency $CONCURRENCY;
    server {
        listen 127.0.0.1:$PORT_b;
        location = /v1/payments {
            paygw_verify on;
            paygw_api payments.create;
            paygw_local_voucher on;
        }
    }
}
EOF
    } >"$d/nginx.conf"
}

write_conf_c() {
    local d=$work/c
    mkdir -p "$d/lua"
    cp "$here/peer/"*.lua "$d/lua/"
    chmod 755 "$d" "$d/lua"
    chmod 644 "$d/lua/"*.lua
    { say "load_module $NDK_MOD;"
      say "load_module $LUA_MOD;"
      conf_head "$d"
      say "http {"
      http_common "$d"
      cat <<EOF
    lua_package_path "$d/lua/?.lua;/usr/share/lua/5.1/?.lua;;";
    lua_shared_dict peer_nonces $NONCE_ZONE;
    lua_shared_dict peer_limits 1m;
    init_by_lua_block {
        require "resty.core"
        paygw_peer = require "paygw_peer"
        paygw_peer.init("$work/apps.conf", {
            app_rate = $RATE, app_burst = $BURST,
            api_rate = $RATE, api_burst = $BURST,
            concurrency = $CONCURRENCY,
        })
    }
    server {
        listen 127.0.0.1:$PORT_c;
        location = /v1/payments {
            access_by_lua_block { paygw_peer.access() }
            content_by_lua_block { paygw_peer.content() }
            log_by_lua_block { paygw_peer.log() }
        }
    }
}
EOF
    } >"$d/nginx.conf"
}

# ---- nginx instances ---------------------------------------------------

declare -A WORKERS=()
start_nginx() {   # $1 = variant; returns 1 with the error in $work/$1/start.err
    local v=$1 d=$work/$1 i=0 pid
    if ! "$NGINX" -t -p "$d" -c "$d/nginx.conf" >"$d/start.err" 2>&1; then
        return 1
    fi
    if ! "$NGINX" -p "$d" -c "$d/nginx.conf" >>"$d/start.err" 2>&1; then
        return 1
    fi
    while [ ! -s "$d/nginx.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$d/nginx.pid" ] || { say "no pid file after 5 s" >>"$d/start.err"; return 1; }
    pid=$(cat "$d/nginx.pid")
    MASTER[$v]=$pid
    i=0
    while [ "$(ps -o pid= --ppid "$pid" | wc -l)" -lt 2 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    WORKERS[$v]=$(ps -o pid= --ppid "$pid" | tr '\n' ' ')
    [ "$(echo "${WORKERS[$v]}" | wc -w)" -eq 2 ] || { say "expected 2 workers, got: ${WORKERS[$v]}" >>"$d/start.err"; return 1; }
}

cpu_ticks() {   # utime + stime of the variant's workers, in clock ticks
    local v=$1 t=0 p n
    for p in ${WORKERS[$v]}; do
        [ -r "/proc/$p/stat" ] || die "worker $p of $(name_of "$v") is gone (see $work/$v/error.log)"
        # fields after "pid (comm) ": utime and stime are the 12th and 13th
        n=$(sed 's/^.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')
        t=$((t + n))
    done
    echo "$t"
}

box_ticks() {    # all CPUs' busy time (user nice system irq softirq steal)
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

child_secs() {   # user+sys of this shell's waited-for children (wrk), seconds
    times >"$work/times"   # a builtin in this shell: $(times) would ask a fresh subshell
    awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } print t }' "$work/times"
}

# ---- one wrk run -------------------------------------------------------

# run_wrk <variant> <seconds> <bodies prefix> <label> -> appends a line to results
run_wrk() {
    local v=$1 secs=$2 bodies=$3 label=$4 out t0 t1 s0 s1 c0 c1 w0 w1 line
    out="$work/wrk-$label-$v.txt"
    t0=$(cpu_ticks "$v"); s0=$(box_ticks); child_secs >"$work/c0"; w0=$(date +%s.%N)
    if ! BODIES=$bodies timeout $((secs + 60)) wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --latency \
            -s "$here/post.lua" "http://127.0.0.1:$(eval echo "\$PORT_$v")/v1/payments" >"$out" 2>&1; then
        cat "$out" >&2
        die "wrk failed for $(name_of "$v") ($label)"
    fi
    t1=$(cpu_ticks "$v"); s1=$(box_ticks); child_secs >"$work/c1"; w1=$(date +%s.%N)
    c0=$(cat "$work/c0"); c1=$(cat "$work/c1")
    line=$(grep '^RESULT ' "$out") || { cat "$out" >&2; die "no RESULT line from wrk ($label, $(name_of "$v"))"; }
    # RESULT requests=N duration_us=N rps=N p50_us=N p99_us=N non2xx=N errors=N wraps=N
    eval "$(echo "${line#RESULT }" | tr ' ' '\n' | sed 's/^/R_/')"
    local cpu_us other
    cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$R_requests" 'BEGIN { printf "%.2f", n ? d * 1e6 / hz / n : 0 }')
    # CPU used on the box by anything but these workers and wrk, in % of all CPUs
    other=$(awk -v box=$((s1 - s0)) -v srv=$((t1 - t0)) -v c0="$c0" -v c1="$c1" -v hz="$CLK_TCK" \
            -v w0="$w0" -v w1="$w1" -v ncpu="$NCPU" \
            'BEGIN { o = (box - srv) / hz - (c1 - c0); if (o < 0) o = 0; printf "%.0f", 100 * o / ((w1 - w0) * ncpu) }')
    printf '  %-6s %-10s %9.0f req/s  p50 %6.3f ms  p99 %7.3f ms  cpu %6.2f us/req  requests=%d non2xx=%d errors=%d reused=%d other-load=%s%%%s\n' \
        "$label" "$(name_of "$v")" "$R_rps" "$(awk -v x="$R_p50_us" 'BEGIN{print x/1000}')" \
        "$(awk -v x="$R_p99_us" 'BEGIN{print x/1000}')" "$cpu_us" "$R_requests" "$R_non2xx" "$R_errors" \
        "$([ "$v" = a ] && echo 0 || echo "$R_wraps")" "$other" "$([ "$other" -ge 10 ] && echo '  (busy box: noisy run)')"
    if [ "$R_non2xx" -ne 0 ] || [ "$R_errors" -ne 0 ]; then
        grep -h -m 5 -E 'error|warn' "$work/$v/error.log" >&2 || true
        die "INVALID run: $(name_of "$v") ($label) had $R_non2xx non-2xx answers and $R_errors socket errors"
    fi
    if [ "$v" != a ] && [ "$R_wraps" -ne 0 ]; then
        die "INVALID run: $(name_of "$v") ($label) ran out of fresh bodies and reused some (raise BODY_HEADROOM)"
    fi
    LAST_RPS=$R_rps
    printf '%s %s %s %s %s %s %s %s\n' "$label" "$v" "$R_rps" "$R_p50_us" "$R_p99_us" "$cpu_us" "$R_requests" "$other" >>"$work/results"
}

gen() {   # gen <n> <prefix> <tag>: THREADS files, one generator process each
    local n=$1 prefix=$2 tag=$3 k pids=()
    for ((k = 0; k < THREADS; k++)); do
        node "$here/gen_bodies.js" bodies --app "$APP" --secret "$SECRET" --n "$n" \
            --out "$prefix" --threads "$THREADS" --part "$k" --tag "$tag" &
        pids+=($!)
    done
    for k in "${pids[@]}"; do wait "$k" || die "gen_bodies.js failed"; done
    chmod 644 "$prefix".t*
}

# ---- go ----------------------------------------------------------------

say "bench-front: $(nproc) CPUs, nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), wrk -t$THREADS -c$CONNS -d${DURATION}s --latency, $ROUNDS rounds of: $VARIANTS"
: >"$work/results"

has a && write_conf_a
has c && write_conf_c
if has b; then
    if [ -n "$MODULE_SO" ]; then write_conf_b; fi
fi

for v in $VARIANTS; do
    if [ "$v" = b ] && [ -z "$MODULE_SO" ]; then
        continue
    fi
    if ! start_nginx "$v"; then
        if [ "$v" = b ]; then
            B_ERR="nginx would not start with our module: $(grep -v '^$' "$work/b/start.err" | tail -n 5)"
            cp "$work/b/nginx.conf" "$work/b-nginx.conf.failed" 2>/dev/null || true
            continue
        fi
        cat "$work/$v/start.err" >&2
        die "nginx for $(name_of "$v") would not start"
    fi
    say "started $(name_of "$v") on 127.0.0.1:$(eval echo "\$PORT_$v"), master ${MASTER[$v]}, workers ${WORKERS[$v]}"
done

if has b && [ -z "${MASTER[b]:-}" ]; then
    say ""
    say "ours (b) cannot run: $B_ERR"
    say "config used: $work/b/nginx.conf (KEEP=1 keeps it)"
    [ -f "$work/b/nginx.conf" ] && sed 's/^/    /' "$work/b/nginx.conf"
    die "FAIL: variant (b) is not available"
fi

say "smoke + functional checks:"
for v in $VARIANTS; do
    say " $(name_of "$v"):"
    if [ "$v" = a ]; then mode=trivial; else mode=verify; fi
    node "$here/check.js" "http://127.0.0.1:$(eval echo "\$PORT_$v")/v1/payments" "$APP" "$SECRET" "$mode" \
        || die "functional check failed for $(name_of "$v")"
done

# (a) discards the body, so one pool it may walk through repeatedly will do
gen 100000 "$work/bodies-a" a
# warm-up: one file, each verifying server sees it once
warm_n=$(awk -v w="$WARMUP" 'BEGIN { printf "%d", 90000 * w * 1.5 + 10000 }')
gen "$warm_n" "$work/bodies-w" w
say "warm-up ${WARMUP}s each:"
declare -A WARM_RPS=()
for v in $VARIANTS; do
    if [ "$v" = a ]; then b="$work/bodies-a"; else b="$work/bodies-w"; fi
    run_wrk "$v" "$WARMUP" "$b" warm
    WARM_RPS[$v]=$LAST_RPS
done
sed -i '/^warm /d' "$work/results"

for ((r = 1; r <= ROUNDS; r++)); do
    # fresh bodies for this round, sized from the warm-up rate
    for v in $VARIANTS; do
        [ "$v" = a ] && continue
        n=$(awk -v r="${WARM_RPS[$v]}" -v h="$BODY_HEADROOM" -v d="$DURATION" \
            'BEGIN { n = r * h * d; if (n < 50000) n = 50000; printf "%d", n }')
        gen "$n" "$work/bodies-$r-$v" "r$r$v"
    done
    say "round $r:"
    for v in $VARIANTS; do
        if [ "$v" = a ]; then b="$work/bodies-a"; else b="$work/bodies-$r-$v"; fi
        run_wrk "$v" "$DURATION" "$b" "r$r"
        [ "$v" = a ] || rm -f "$work/bodies-$r-$v".t*
    done
done

say ""
node "$here/summary.js" "$work/results" "$VARIANTS"
