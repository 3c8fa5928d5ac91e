#!/bin/sh
# run.sh — `make run`: starts the whole appliance on loopback from the build
# directory given as $1: the Alipay channel simulator (sandbox mode) on
# 127.0.0.1:9100, paygwd (unix socket + admin on 127.0.0.1:8081) and nginx with
# the paygw module on 127.0.0.1:8080. State lives in ./run (kept between runs).
# Ctrl-C stops everything.
set -eu

build=$(cd "${1:-build}" && pwd)
root=$(pwd)
run=$root/run
mkdir -p "$run/keys" "$run/sim-keys" "$run/nginx" "$run/gw" "$run/app-keys"
chmod 755 "$run" "$run/nginx"

# sandbox keys: an Alipay app keypair (ours) and the "Alipay" keypair (the sim's)
if [ ! -f "$run/keys/alipay_app_private.pem" ]; then
    openssl genrsa -out "$run/keys/alipay_app_private.pem" 2048 2>/dev/null
    openssl rsa -in "$run/keys/alipay_app_private.pem" -pubout \
        -out "$run/sim-keys/app_public.pem" 2>/dev/null
    openssl genrsa -out "$run/sim-keys/alipay_private.pem" 2048 2>/dev/null
    openssl rsa -in "$run/sim-keys/alipay_private.pem" -pubout \
        -out "$run/keys/alipay_public.pem" 2>/dev/null
fi
# the gateway's RSA key: signs answers (nginx paygw_sign_key) and notifications
# (paygwd sign_key) to RSA2 apps; callers verify with gw/gateway_public.pem
if [ ! -f "$run/gw/gateway_private.pem" ]; then
    openssl genrsa -out "$run/gw/gateway_private.pem" 2048 2>/dev/null
    chmod 600 "$run/gw/gateway_private.pem"
    openssl rsa -in "$run/gw/gateway_private.pem" -pubout \
        -out "$run/gw/gateway_public.pem" 2>/dev/null
fi
# an RSA2 app R1: its private key is the caller's (for paygwctl --key)
if [ ! -f "$run/app-keys/r1_private.pem" ]; then
    openssl genrsa -out "$run/app-keys/r1_private.pem" 2048 2>/dev/null
    chmod 600 "$run/app-keys/r1_private.pem"
    openssl rsa -in "$run/app-keys/r1_private.pem" -pubout \
        -out "$run/app-keys/r1_public.pem" 2>/dev/null
fi
if [ ! -f "$run/apps.conf" ]; then
    secret=$(openssl rand -hex 24)
    {
        printf '# app_id  key_type     key (docs/apps-file.md)\n'
        printf 'A1        HMAC-SHA256  %s\n' "$secret"
        printf 'R1        RSA2         app-keys/r1_public.pem\n'
    } > "$run/apps.conf"
    chmod 644 "$run/apps.conf"
fi
token_file=$run/admin_token
[ -f "$token_file" ] || openssl rand -hex 16 > "$token_file"
token=$(cat "$token_file")

cat > "$run/paygwd.conf" <<CONF
listen_unix     $run/core.sock
admin_listen    127.0.0.1:8081
admin_token     $token
db              $run/paygw.db
apps            $run/apps.conf
sign_key        gw/gateway_private.pem
templates       $root/templates
scripts         $root/scripts
keystore        $run/keys
public_url      http://127.0.0.1:8080
channel alipay  endpoint              http://127.0.0.1:9100/gateway.do
channel alipay  first_query_delay_ms  5000
channel alipay  param app_id          2021000000000001
channel alipay  param app_private_key alipay_app_private
channel alipay  param channel_public_key alipay_public
CONF

sed -e "s|@PREFIX@|$run/nginx|g" -e "s|@LISTEN@|127.0.0.1:8080|g" \
    -e "s|@MODULE@|$build/ngx_http_paygw_module.so|g" \
    -e "s|@APPS@|$run/apps.conf|g" -e "s|@CORE_SOCK@|$run/core.sock|g" \
    -e "s|@SIGN_KEY@|$run/gw/gateway_private.pem|g" \
    "$root/conf/nginx.conf.in" > "$run/nginx.conf"

pids=""
stop() {
    trap - INT TERM EXIT
    echo "stopping…"
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill $pids 2>/dev/null
    wait 2>/dev/null || true
    exit 0
}
trap stop INT TERM EXIT

node "$root/tests/sim/server.js" --port 9100 --keys "$run/sim-keys" \
    --app-id 2021000000000001 &
pids="$pids $!"
"$build/paygwd" -c "$run/paygwd.conf" 2>>"$run/paygwd.log" &
pids="$pids $!"
i=0
while [ ! -S "$run/core.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$run/core.sock" ] || { echo "paygwd did not start; see $run/paygwd.log"; tail -5 "$run/paygwd.log"; exit 1; }
nginx -p "$run/nginx" -c "$run/nginx.conf" -g 'daemon off;' &
pids="$pids $!"
sleep 0.5

cat <<MSG

paygw is running on loopback:
  caller API   http://127.0.0.1:8080   (app A1, secret in run/apps.conf;
                                        RSA2 app R1, key run/app-keys/r1_private.pem,
                                        gateway key run/gw/gateway_public.pem)
  admin API    http://127.0.0.1:8081   (token in run/admin_token)
  Alipay sim   http://127.0.0.1:9100   (sandbox: pays when told, see tests/sim/README.md)
  logs         run/paygwd.log, run/nginx/error.log

Try:
  $build/paygwctl --apps run/apps.conf -a A1 pay --amount 1000 --notify-url http://127.0.0.1:9100/caller/notify
  $build/paygwctl --apps run/apps.conf -a R1 --key run/app-keys/r1_private.pem \\
      --gateway-key run/gw/gateway_public.pem --scheme B pay --amount 1000
  curl -s -XPOST 127.0.0.1:9100/_sim/pay -d '{"out_trade_no":"<no>"}'; then
  $build/paygwctl -T \$(cat run/admin_token) trace <no>

Ctrl-C stops everything.
MSG
wait
