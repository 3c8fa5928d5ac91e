'use strict';
// ngx_http_paygw_module end to end: nginx (Debian binary + the module,
// conf/nginx.conf.in) in front of an echo upstream on a unix socket.
// Run: node --test ngx_module/t/

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const {
  Gateway, assertSigned, assertUnsigned, assertError, render, modulePath,
  NGINX, REPO,
} = require('./harness');

const gw = new Gateway();

before(async () => { await gw.start(); });
after(async () => { await gw.stop(); });

function hitsSince(n) { return gw.upstream.hits.slice(n); }

test('signed POST reaches the core with the app id and the body intact', async () => {
  const n = gw.upstream.hits.length;
  const body = JSON.stringify({ out_trade_no: 'T1', amount: 1000, currency: 'CNY', subject: '订单 1' });
  const res = await gw.request({ method: 'POST', path: '/v1/payments', body });
  assert.equal(res.status, 200, res.raw.toString());
  const hits = hitsSince(n);
  assert.equal(hits.length, 1);
  assert.equal(hits[0].method, 'POST');
  assert.equal(hits[0].url, '/v1/payments');
  assert.equal(hits[0].headers['x-paygw-app-id'], 'A1');
  assert.equal(hits[0].body.toString('utf8'), body);
  assertSigned(res);
  assert.equal(res.headers['content-length'], String(res.raw.length));
  assert.equal(res.json.headers['x-paygw-app-id'], 'A1');
});

test('the raw path and query are what is signed', async () => {
  const res = await gw.request({ path: '/v1/vouchers/V%2F1?wait_ms=5&x=a%20b' });
  assert.equal(res.status, 200, res.raw.toString());
  assert.equal(res.json.url, '/v1/vouchers/V%2F1?wait_ms=5&x=a%20b');
  assertSigned(res);
});

test('a second app signs with its own secret, parameters in any order', async () => {
  const ts = Math.floor(Date.now() / 1000);
  const { signRequest, SECRETS } = require('./harness');
  const sig = signRequest(SECRETS.B2, 'GET', '/v1/payments/T9', ts, 'nn', Buffer.alloc(0));
  const res = await gw.request({
    path: '/v1/payments/T9',
    sign: { header: `PAYGW-HMAC-SHA256  signature="${sig}" , nonce=nn,timestamp="${ts}",app_id="B2"` },
  });
  assert.equal(res.status, 200, res.raw.toString());
  assert.equal(res.json.headers['x-paygw-app-id'], 'B2');
  assertSigned(res, 'B2');
});

test('a client-supplied X-Paygw-App-Id is overwritten', async () => {
  const res = await gw.request({ path: '/v1/echo', headers: { 'x-paygw-app-id': 'B2' } });
  assert.equal(res.status, 200);
  assert.equal(res.json.headers['x-paygw-app-id'], 'A1');
});

test('missing Authorization: 401 SIGNATURE_INVALID, signed by the gateway key, not forwarded', async () => {
  const n = gw.upstream.hits.length;
  const res = await gw.request({ method: 'POST', path: '/v1/payments', body: '{}', sign: false });
  assertError(res, 401, 'SIGNATURE_INVALID', /missing Authorization/);
  assert.equal(res.headers['www-authenticate'], 'PAYGW-HMAC-SHA256');
  assertSigned(res, null);
  assert.equal(hitsSince(n).length, 0);
});

test('malformed Authorization headers are rejected with what is wrong', async () => {
  const ts = Math.floor(Date.now() / 1000);
  const cases = [
    ['Basic dXNlcjpwYXNz', /scheme/],
    ['PAYGW-HMAC-SHA256', /no parameters/],
    [`PAYGW-HMAC-SHA256 app_id="A1",timestamp="${ts}",signature="x"`, /lacks nonce/],
    [`PAYGW-HMAC-SHA256 app_id="A1",timestamp="${ts}",nonce="n"`, /lacks signature/],
    [`PAYGW-HMAC-SHA256 timestamp="${ts}",nonce="n",signature="x"`, /lacks app_id/],
    [`PAYGW-HMAC-SHA256 app_id="A1",app_id="A1",timestamp="${ts}",nonce="n",signature="x"`, /repeats/],
    [`PAYGW-HMAC-SHA256 app_id="A1",timestamp="${ts}",nonce="n",signature="x",extra="1"`, /unknown parameter/],
    [`PAYGW-HMAC-SHA256 app_id="A1" timestamp="${ts}",nonce="n",signature="x"`, /garbage/],
    [`PAYGW-HMAC-SHA256 app_id="A1",timestamp="${ts}",nonce="n,signature="x"`, /garbage|quote/],
    [`PAYGW-HMAC-SHA256 app_id="A1",timestamp="${ts}",nonce="",signature="x"`, /empty/],
    [`PAYGW-HMAC-SHA256 app_id="A1",timestamp="${ts}",nonce="a\\"b",signature="x"`, /escape/],
    [`PAYGW-HMAC-SHA256 app_id="A1",timestamp="${ts}",nonce="n",signature="x",`, /ends/],
    [`PAYGW-HMAC-SHA256 app_id="A1",timestamp="12ab",nonce="n",signature="x"`, /timestamp/],
  ];
  const n = gw.upstream.hits.length;
  for (const [header, re] of cases) {
    const res = await gw.request({ path: '/v1/echo', sign: { header } });
    assertError(res, 401, 'SIGNATURE_INVALID', re);
  }
  assert.equal(hitsSince(n).length, 0);
});

test('unknown app: 401 APP_UNKNOWN, signed by the gateway key', async () => {
  const n = gw.upstream.hits.length;
  const res = await gw.request({ path: '/v1/echo', sign: { app: 'ZZ', secret: 'nope' } });
  assertError(res, 401, 'APP_UNKNOWN');
  assertSigned(res, null);
  assert.equal(hitsSince(n).length, 0);
});

test('timestamp outside the window: 401 TIMESTAMP_EXPIRED, signed for the app', async () => {
  const n = gw.upstream.hits.length;
  for (const skew of [-301, 400, -100000]) {
    const res = await gw.request({
      method: 'POST', path: '/v1/payments', body: '{}',
      sign: { ts: Math.floor(Date.now() / 1000) + skew },
    });
    assertError(res, 401, 'TIMESTAMP_EXPIRED');
    assertSigned(res);
  }
  const ok = await gw.request({ path: '/v1/echo', sign: { ts: Math.floor(Date.now() / 1000) - 250 } });
  assert.equal(ok.status, 200);
  assert.equal(hitsSince(n).length, 1);
});

test('wrong signature, tampered body or wrong secret: 401 SIGNATURE_INVALID', async () => {
  const n = gw.upstream.hits.length;
  let res = await gw.request({ method: 'POST', path: '/v1/payments', body: '{"a":1}', sign: { secret: 'wrong' } });
  assertError(res, 401, 'SIGNATURE_INVALID', /does not match/);
  assertSigned(res);
  res = await gw.request({ method: 'POST', path: '/v1/payments', body: '{"a":1}', sign: { signature: 'AAAA' } });
  assertError(res, 401, 'SIGNATURE_INVALID');
  const { signRequest, SECRETS } = require('./harness');
  const ts = Math.floor(Date.now() / 1000);
  const sig = signRequest(SECRETS.A1, 'POST', '/v1/payments', ts, 'n1', Buffer.from('{"amount":1}'));
  res = await gw.request({
    method: 'POST', path: '/v1/payments', body: '{"amount":9}',
    sign: { ts, nonce: 'n1', signature: sig },
  });
  assertError(res, 401, 'SIGNATURE_INVALID');
  res = await gw.request({
    method: 'POST', path: '/v1/payments?x=1', body: '{"amount":1}',
    sign: { ts, nonce: 'n1', signature: sig },
  });
  assertError(res, 401, 'SIGNATURE_INVALID');
  assert.equal(hitsSince(n).length, 0);
});

test('POST without application/json: 415 UNSUPPORTED_MEDIA_TYPE', async () => {
  const n = gw.upstream.hits.length;
  let res = await gw.request({ method: 'POST', path: '/v1/payments', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assertError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  assertSigned(res);
  res = await gw.request({ method: 'POST', path: '/v1/payments', body: '{}', headers: { 'content-type': 'application/jsonp' } });
  assertError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  assert.equal(hitsSince(n).length, 0);
  res = await gw.request({ method: 'POST', path: '/v1/payments', body: '{}', headers: { 'content-type': 'Application/JSON; charset=utf-8' } });
  assert.equal(res.status, 200);
});

test('bodies above paygw_max_body: 413 BODY_TOO_LARGE (Content-Length and chunked)', async () => {
  const n = gw.upstream.hits.length;
  const big = `{"x":"${'a'.repeat(70 * 1024)}"}`;
  let res = await gw.request({ method: 'POST', path: '/v1/payments', body: big });
  assertError(res, 413, 'BODY_TOO_LARGE');
  assertSigned(res);
  res = await gw.request({
    method: 'POST', path: '/v1/payments',
    body: [Buffer.from(big.slice(0, 40000)), Buffer.from(big.slice(40000))],
  });
  assertError(res, 413, 'BODY_TOO_LARGE');
  res = await gw.request({ method: 'POST', path: '/v1/payments', body: 'x'.repeat(2 * 1024 * 1024), sign: false });
  assertError(res, 413, 'BODY_TOO_LARGE');
  assert.equal(hitsSince(n).length, 0);
});

test('chunked and spooled-to-file bodies are verified and forwarded intact', async () => {
  const n = gw.upstream.hits.length;
  const body = `{"x":"${'b'.repeat(40 * 1024)}"}`;
  let res = await gw.request({ method: 'POST', path: '/v1/payments', body });
  assert.equal(res.status, 200, res.raw.toString());
  res = await gw.request({
    method: 'POST', path: '/v1/payments',
    body: [Buffer.from(body.slice(0, 1000)), Buffer.from(body.slice(1000, 30000)), Buffer.from(body.slice(30000))],
  });
  assert.equal(res.status, 200, res.raw.toString());
  const hits = hitsSince(n);
  assert.equal(hits.length, 2);
  for (const h of hits) assert.equal(h.body.toString(), body);
});

test('upstream responses are signed: errors, chunked, forged headers, 204', async () => {
  let res = await gw.request({ path: '/v1/missing/T404' });
  assert.equal(res.status, 404);
  assert.equal(res.json.error.code, 'NOT_FOUND');
  assertSigned(res);

  res = await gw.request({ path: '/v1/chunked' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-length'], String(res.raw.length));
  assert.equal(res.json.length, 21);
  assertSigned(res);

  res = await gw.request({ path: '/v1/forged' });
  assert.equal(res.status, 200);
  assert.notEqual(res.headers['paygw-signature'], 'forged');
  assertSigned(res);

  res = await gw.request({ path: '/v1/empty' });
  assert.equal(res.status, 204);
  assert.equal(res.raw.length, 0);
  assertSigned(res);
});

test('a response too large to sign becomes a signed 502', async () => {
  const res = await gw.request({ path: '/v1/big' });
  assertError(res, 502, 'RESPONSE_TOO_LARGE');
  assertSigned(res);
});

test('keepalive: many signed requests on one connection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 20; i++) {
    const res = await gw.request({ method: 'POST', path: '/v1/payments', body: `{"i":${i}}`, agent });
    assert.equal(res.status, 200);
    assert.equal(res.json.body, `{"i":${i}}`);
    assertSigned(res);
    const bad = await gw.request({ method: 'POST', path: '/v1/payments', body: '{}', agent, sign: { secret: 'x' } });
    assertError(bad, 401, 'SIGNATURE_INVALID');
  }
  agent.destroy();
});

test('/notify/ is passed as-is, unsigned, without an app id', async () => {
  const n = gw.upstream.hits.length;
  const body = 'trade_status=TRADE_SUCCESS&sign=abc%2B%3D';
  const res = await gw.request({
    method: 'POST', path: '/notify/alipay', body, sign: false,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-paygw-app-id': 'A1' },
  });
  assert.equal(res.status, 200);
  assertUnsigned(res);
  const hits = hitsSince(n);
  assert.equal(hits.length, 1);
  assert.equal(hits[0].body.toString(), body);
  assert.equal(hits[0].headers['x-paygw-app-id'], undefined);
});

test('anything else is a JSON 404', async () => {
  const res = await gw.request({ path: '/admin/orders/T1', sign: false });
  assertError(res, 404, 'NOT_FOUND');
  assertUnsigned(res);
});

test('module errors are logged without secrets', () => {
  const log = gw.errorLog();
  assert.doesNotMatch(log, /s3cr3t-for-app-A1|an0ther-secret-B2/);
});

test('core down: 503 CORE_UNAVAILABLE, signed for verified requests', async () => {
  await gw.upstream.stop();
  try {
    let res = await gw.request({ method: 'POST', path: '/v1/payments', body: '{}' });
    assertError(res, 503, 'CORE_UNAVAILABLE');
    assertSigned(res);
    res = await gw.request({ method: 'POST', path: '/notify/wechat', body: '<xml/>', sign: false, headers: { 'content-type': 'text/xml' } });
    assertError(res, 503, 'CORE_UNAVAILABLE');
    assertUnsigned(res);
  } finally {
    await gw.upstream.start();
  }
  const res = await gw.request({ path: '/v1/echo' });
  assert.equal(res.status, 200);
});

test('nginx -t names the apps file and line of a malformed entry', () => {
  const dir = fs.mkdtempSync(path.join(gw.dir, 'bad-'));
  const tpl = fs.readFileSync(path.join(REPO, 'conf', 'nginx.conf.in'), 'utf8');
  const S1 = 'first-secret-0001';
  const S2 = 'second-secret-002';
  const cases = [
    [`A1 HMAC-SHA256 ${S1}\n\nB2 HMAC-SHA256\n`, /apps\.conf:3: missing key after key type/],
    [`A1 HMAC-SHA256 ${S1}\nA1 HMAC-SHA256 ${S2}\n`, /apps\.conf:2: duplicate app_id "A1"/],
    [`# c\nA1 RSA ${S1}\n`, /apps\.conf:2: unsupported key type "RSA"/],
    [`A1 HMAC-SHA256 ${S1} extra\n`, /apps\.conf:1: option "extra" is not name=value/],
    [`A1 HMAC-SHA256 ${S1} rate=5r/h\n`, /apps\.conf:1: invalid rate "5r\/h"/],
    [`A1 HMAC-SHA256 ${S1} burst=5\n`, /apps\.conf:1: "burst" without "rate"/],
    [`A1 HMAC-SHA256 ${S1} colour=blue\n`, /apps\.conf:1: unknown option "colour"/],
    [`A1 HMAC-SHA256 ${S1} apis=* apis=*\n`, /apps\.conf:1: duplicate option "apis"/],
    [`A1 HMAC-SHA256 ${S1} concurrency=0\n`, /apps\.conf:1: concurrency "0" must be/],
    [`A1 HMAC-SHA256 ${S1}\nR9 RSA2 missing.pem\n`, /cannot open the key file .*missing\.pem/],
    [`A/1 HMAC-SHA256 ${S1}\n`, /apps\.conf:1: invalid app_id/],
    ['A1 HMAC-SHA256 short#secret-after-the-hash\n', /apps\.conf:1: secret must be 16 to 255 bytes/],
    [`A1 HMAC-SHA256 ${'k'.repeat(256)}\n`, /apps\.conf:1: secret must be 16 to 255 bytes/],
  ];
  for (const [apps, re] of cases) {
    fs.writeFileSync(path.join(dir, 'apps.conf'), apps);
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, render(tpl, {
      PREFIX: dir, LISTEN: '127.0.0.1:1', MODULE: modulePath(),
      APPS: path.join(dir, 'apps.conf'), CORE_SOCK: path.join(dir, 'core.sock'),
      SIGN_KEY: gw.signKey,
    }));
    const r = spawnSync(NGINX, ['-t', '-p', dir, '-c', conf], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, `nginx -t accepted:\n${apps}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /first-secret|second-secret|short|kkkk/);
  }
});
