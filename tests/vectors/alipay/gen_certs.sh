#!/bin/sh
# tests/vectors/alipay/gen_certs.sh -- TEST-ONLY certificates for Alipay's
# public-key certificate mode (公钥证书模式): a root bundle (RSA sha256, EC,
# RSA sha1 -- the EC one plays the SM2 root alipay-sdk skips), an app
# certificate holding the V13 test key, an "Alipay" certificate holding the
# fixture platform key.  Writes tests/vectors/keys/alipay_cert_test_*.pem.
# Run from the repository root; prints the SNs alipay-sdk computes for them
# (tests/sim/node_modules/alipay-sdk), which tests/unit/test_adapter_certinfo.c
# expects.  Regenerating changes every certificate (new signatures).
set -eu
K=tests/vectors/keys
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
X="openssl x509 -days 36500"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/root1.key" 2>/dev/null
openssl req -x509 -new -key "$T/root1.key" -sha256 -days 36500 -set_serial 0x2A3B4C5D6E7F \
  -subj "/C=CN/ST=Zhejiang/L=Hangzhou/O=Paygw Test/OU=Certification Authority/CN=Paygw Test Alipay Root/emailAddress=root@example.test" \
  -out "$T/root1.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.key"
openssl req -x509 -new -key "$T/ec.key" -sha256 -days 36500 -set_serial 7 \
  -subj "/C=CN/O=Paygw Test/CN=Paygw Test EC Root" -out "$T/ec.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/root2.key" 2>/dev/null
openssl req -x509 -new -key "$T/root2.key" -sha1 -days 36500 -set_serial 0x00F1E2D3C4B5A69788 \
  -subj "/C=CN/O=Paygw Test/OU=Certification Authority/CN=Paygw Test Class 2 Root" \
  -out "$T/root2.pem"
cat "$T/root1.pem" "$T/ec.pem" "$T/root2.pem" > $K/alipay_cert_test_root_bundle.pem

# app certificate (appCertPublicKey_<appid>.crt): the V13 key, issued by root2
openssl req -new -key $K/v13_test_private.pem -subj "/C=CN/O=Paygw Test Merchant/OU=Alipay/CN=2021000000000001" \
  -out "$T/app.csr"
$X -req -in "$T/app.csr" -CA "$T/root2.pem" -CAkey "$T/root2.key" -sha256 \
  -set_serial 0x8ABCDEF0123456789ABCDEF0 -out $K/alipay_cert_test_app_cert.pem 2>/dev/null
# Alipay public-key certificate (alipayCertPublicKey_RSA2.crt): the fixture
# platform key, issued by root1
openssl req -new -key $K/alipay_fixture_platform_private.pem \
  -subj "/C=CN/O=Paygw Test Alipay/OU=Alipay/CN=Paygw Test Alipay Public Key" -out "$T/ali.csr"
$X -req -in "$T/ali.csr" -CA "$T/root1.pem" -CAkey "$T/root1.key" -sha256 \
  -set_serial 4096 -out $K/alipay_cert_test_alipay_cert.pem 2>/dev/null

node -e '
const { getSN } = require("./tests/sim/node_modules/alipay-sdk/dist/commonjs/antcertutil.js");
const fs = require("fs"), k = "tests/vectors/keys/";
console.log("app    ", getSN(fs.readFileSync(k + "alipay_cert_test_app_cert.pem")));
console.log("alipay ", getSN(fs.readFileSync(k + "alipay_cert_test_alipay_cert.pem")));
console.log("root   ", getSN(fs.readFileSync(k + "alipay_cert_test_root_bundle.pem"), true));
'
