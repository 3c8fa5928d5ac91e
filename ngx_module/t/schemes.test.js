'use strict';
// Both signing schemes of SPEC 3.1 with both key types, through real nginx
// (2 workers) and the module: right and wrong signatures, tampering,
// timestamps, API permissions, edge voucher ids, the local voucher answer
// and the module's metrics.  Signatures here come from node's crypto, never
// from the module's own code.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const {
  Gateway, assertSigned, assertError, signForm, formStringToSign, SECRETS, KEYS,
} = require('./harness');

const APPS = [
  'A1 HMAC-SHA256 s3cr3t-for-app-A1',
  'B2 HMAC-SHA256 an0ther-secret-B2 apis=payments.get',
  'R3 RSA2        r3_public.pem      apis=payments.create,payments.get',
  '',
].join('\n');

// a location answering prepays locally, to see the minted voucher
const LOCAL = `
        location = /v1/local/payments {
            paygw_api payments.create;
            paygw_voucher on;
            paygw_local_voucher on;
        }
`;

const gw = new Gateway({
  apps: APPS,
  confEdit: (t) => t.replace('        location = /v1/payments {', `${LOCAL}        location = /v1/payments {`),
});

before(async () => { await gw.start(); });
after(async () => { await gw.stop(); });

const order = (no) => JSON.stringify({ out_trade_no: no, amount: 100, currency: 'CNY', method: 'alipay.qr' });
const hits = () => gw.upstream.hits.length;
const fresh = () => crypto.randomBytes(8).toString('hex');

// ---- scheme A ----

test('scheme A, HMAC app: right signature passes, the voucher id goes to the core', async () => {
  const n = hits();
  const res = await gw.request({ method: 'POST', path: '/v1/payments', body: order('A-1') });
  assert.equal(res.status, 200, res.raw.toString());
  assertSigned(res, 'A1');
  const h = gw.upstream.hits[n];
  assert.equal(h.headers['x-paygw-app-id'], 'A1');
  assert.match(h.headers['x-paygw-voucher-id'], /^V\d{30}$/);
});

test('scheme A, RSA2 app: right signature passes and the answer is signed by the gateway key', async () => {
  const res = await gw.request({ method: 'POST', path: '/v1/payments', body: order('R-1'), sign: { app: 'R3' } });
  assert.equal(res.status, 200, res.raw.toString());
  assertSigned(res, 'R3');
  assert.equal(res.json.headers['x-paygw-app-id'], 'R3');
});

test('scheme A: wrong key, tampered body, path or timestamp are 401 SIGNATURE_INVALID and not forwarded', async () => {
  const n = hits();
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const cases = [
    { sign: { app: 'A1', secret: 'not-the-secret-of-A1' } },
    { sign: { app: 'R3', key: other } },
    { sign: { app: 'R3', rsa: false, secret: 'x'.repeat(20) } },          // HMAC header for an RSA app
    { sign: { app: 'A1', signature: 'AAAA' } },
  ];
  for (const c of cases) {
    const res = await gw.request({ method: 'POST', path: '/v1/payments', body: order('A-bad'), ...c });
    assertError(res, 401, 'SIGNATURE_INVALID');
  }
  // tampering: sign one request, send another
  const ts = Math.floor(Date.now() / 1000);
  const { signRequest } = require('./harness');
  const body = order('A-2');
  const tampered = [
    { path: '/v1/payments', body: order('A-3'), sig: signRequest(SECRETS.A1, 'POST', '/v1/payments', ts, 'n1', Buffer.from(body)) },
    { path: '/v1/payments?x=1', body, sig: signRequest(SECRETS.A1, 'POST', '/v1/payments', ts, 'n2', Buffer.from(body)) },
  ];
  for (const t of tampered) {
    const res = await gw.request({ method: 'POST', path: t.path, body: t.body, sign: { ts, nonce: fresh(), signature: t.sig } });
    assertError(res, 401, 'SIGNATURE_INVALID');
  }
  const nonce = fresh();
  const sig = signRequest(SECRETS.A1, 'POST', '/v1/payments', ts, nonce, Buffer.from(body));
  const res = await gw.request({ method: 'POST', path: '/v1/payments', body, sign: { ts: ts + 1, nonce, signature: sig } });
  assertError(res, 401, 'SIGNATURE_INVALID');
  assert.equal(hits(), n);
});

test('scheme A: expired and future timestamps are 401 TIMESTAMP_EXPIRED', async () => {
  const now = Math.floor(Date.now() / 1000);
  for (const ts of [now - 301, now + 301, now - 86400]) {
    const res = await gw.request({ path: '/v1/payments/T1', sign: { ts } });
    assertError(res, 401, 'TIMESTAMP_EXPIRED');
    assertSigned(res, 'A1');
  }
  for (const ts of [now - 290, now + 290]) {
    const res = await gw.request({ path: '/v1/payments/T1', sign: { ts } });
    assert.equal(res.status, 200, res.raw.toString());
  }
});

// ---- scheme B ----

test('scheme B, HMAC app: the signed form passes unchanged to the core', async () => {
  const n = hits();
  const res = await gw.request({ method: 'POST', path: '/v1/payments',
    form: { out_trade_no: 'B-1', amount: '100', currency: 'CNY', subject: 'a b&c=d 订单', notify_url: 'http://127.0.0.1:9/n' } });
  assert.equal(res.status, 200, res.raw.toString());
  assertSigned(res, 'A1');
  const h = gw.upstream.hits[n];
  assert.equal(h.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(h.headers['x-paygw-app-id'], 'A1');
  assert.match(h.headers['x-paygw-voucher-id'], /^V\d{30}$/);
  assert.equal(new URLSearchParams(h.body.toString()).get('subject'), 'a b&c=d 订单');
});

test('scheme B, RSA2 app passes; lowercase hex HMAC is accepted, empty values are not signed', async () => {
  let res = await gw.request({ method: 'POST', path: '/v1/payments', form: { app_id: 'R3', out_trade_no: 'B-2', amount: '1' } });
  assert.equal(res.status, 200, res.raw.toString());
  assertSigned(res, 'R3');

  const p = { app_id: 'A1', timestamp: String(Math.floor(Date.now() / 1000)), nonce_str: fresh(),
    sign_type: 'HMAC-SHA256', out_trade_no: 'B-3', memo: '' };
  p.sign = crypto.createHmac('sha256', SECRETS.A1).update(`${formStringToSign(p)}&key=${SECRETS.A1}`).digest('hex');
  assert.ok(!formStringToSign(p).includes('memo'));
  res = await gw.request({ method: 'POST', path: '/v1/payments', form: p });
  assert.equal(res.status, 200, res.raw.toString());
});

test('scheme B: wrong secret, wrong key, tampered value, missing or mismatched sign_type are rejected', async () => {
  const n = hits();
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const bad = [
    [{ out_trade_no: 'B-x' }, 'wrong-secret-for-A1', 'SIGNATURE_INVALID'],
    [{ app_id: 'R3', out_trade_no: 'B-x' }, other, 'SIGNATURE_INVALID'],
    [{ app_id: 'R3', sign_type: 'HMAC-SHA256', out_trade_no: 'B-x' }, 'x'.repeat(20), 'SIGNATURE_INVALID'],
    [{ sign_type: 'MD5', out_trade_no: 'B-x' }, undefined, 'SIGNATURE_INVALID'],
    [{ app_id: 'NOPE', sign_type: 'HMAC-SHA256', out_trade_no: 'B-x' }, 'x'.repeat(20), 'APP_UNKNOWN'],
    [{ timestamp: String(Math.floor(Date.now() / 1000) - 400), out_trade_no: 'B-x' }, undefined, 'TIMESTAMP_EXPIRED'],
    [{ timestamp: String(Math.floor(Date.now() / 1000) + 400), out_trade_no: 'B-x' }, undefined, 'TIMESTAMP_EXPIRED'],
  ];
  for (const [params, key, code] of bad) {
    const res = await gw.request({ method: 'POST', path: '/v1/payments', form: params, formKey: key });
    assertError(res, 401, code);
  }
  // tampered after signing
  const body = signForm({ out_trade_no: 'B-4', amount: '100' }).replace('amount=100', 'amount=1');
  let res = await gw.request({ method: 'POST', path: '/v1/payments', body, sign: false,
    headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assertError(res, 401, 'SIGNATURE_INVALID');
  // sign_type missing (an attacker dropping it) and the sign itself missing
  for (const drop of ['sign_type', 'sign', 'nonce_str']) {
    const q = new URLSearchParams(signForm({ out_trade_no: 'B-5' }));
    q.delete(drop);
    res = await gw.request({ method: 'POST', path: '/v1/payments', body: q.toString(), sign: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assertError(res, 401, 'SIGNATURE_INVALID');
  }
  assert.equal(hits(), n);
});

test('scheme B: malformed forms are 400, duplicates cannot smuggle a second value', async () => {
  const n = hits();
  const good = signForm({ out_trade_no: 'B-6', amount: '100' });
  for (const body of [`${good}&amount=1`, `${good}&x=%zz`, `${good}&=v`]) {
    const res = await gw.request({ method: 'POST', path: '/v1/payments', body, sign: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assertError(res, 400, 'INVALID_PARAMETER');
  }
  assert.equal(hits(), n);
});

test('a form body on a GET or with a JSON Authorization is refused by media type', async () => {
  const res = await gw.request({ method: 'POST', path: '/v1/payments', body: 'a=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assertError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  const r2 = await gw.request({ method: 'POST', path: '/v1/payments', body: '<xml/>', sign: false,
    headers: { 'content-type': 'text/xml' } });
  assertError(r2, 401, 'SIGNATURE_INVALID');
});

// ---- permissions ----

test('an app may call only its APIs: 403 API_NOT_ALLOWED, signed, not forwarded', async () => {
  const n = hits();
  let res = await gw.request({ method: 'POST', path: '/v1/payments', body: order('P-1'), sign: { app: 'B2' } });
  assertError(res, 403, 'API_NOT_ALLOWED', /payments\.create/);
  assertSigned(res, 'B2');
  res = await gw.request({ method: 'POST', path: '/v1/payments/P-1/close', body: '{}', sign: { app: 'R3' } });
  assertError(res, 403, 'API_NOT_ALLOWED', /payments\.close/);
  res = await gw.request({ path: '/v1/echo', sign: { app: 'B2' } });
  assertError(res, 403, 'API_NOT_ALLOWED');
  assert.equal(hits(), n);
  res = await gw.request({ path: '/v1/payments/P-1', sign: { app: 'B2' } });
  assert.equal(res.status, 200);
});

// ---- vouchers ----

test('local voucher: 202 at once with a time-ordered, unique voucher id from both workers', async () => {
  const n = hits();
  const ids = [];
  const reqs = [];
  for (let i = 0; i < 60; i++) {
    reqs.push(gw.request({ method: 'POST', path: '/v1/local/payments', form: { out_trade_no: `L-${i}`, amount: '1' } }));
  }
  for (const res of await Promise.all(reqs)) {
    assert.equal(res.status, 202, res.raw.toString());
    assertSigned(res, 'A1');
    assert.equal(res.json.status, 'ACCEPTED');
    assert.match(res.json.out_trade_no, /^L-\d+$/);
    assert.match(res.json.voucher_id, /^V\d{17}001\d{10}$/);
    ids.push(res.json.voucher_id);
  }
  assert.equal(new Set(ids).size, ids.length, 'voucher ids repeat');
  const pids = new Set(ids.map((v) => v.slice(21, 28)));
  assert.ok(pids.size >= 1);
  const stamp = ids.map((v) => v.slice(1, 18)).sort();
  const now = new Date().toISOString().replace(/\D/g, '').slice(0, 12);
  assert.equal(stamp[stamp.length - 1].slice(0, 12) <= now, true);
  // JSON body (scheme A) too
  const res = await gw.request({ method: 'POST', path: '/v1/local/payments', body: order('L-json') });
  assert.equal(res.status, 202);
  assert.equal(res.json.out_trade_no, 'L-json');
  assert.equal(hits(), n, 'the local voucher must not reach the core');
});

test('local voucher: an out_trade_no that needs JSON escaping comes back intact', async () => {
  for (const otn of ['L-"q"\\', 'L-\t\u0001\u001f-x', 'L-订单-é']) {
    const res = await gw.request({ method: 'POST', path: '/v1/local/payments', form: { out_trade_no: otn, amount: '1' } });
    assert.equal(res.status, 202, res.raw.toString());
    assertSigned(res, 'A1');
    assert.equal(res.json.out_trade_no, otn);
  }
});

test('scheme B: any parameter order, names sharing long prefixes and escaped names verify', async () => {
  const names = ['param', 'parameter', 'parameter_a', 'parameter_b', 'parameters', 'p', 'pa', 'z', 'Z', 'a b', 'a+b',
    'x%y', '\u00e9t\u00e9', 'amount', 'amount_', 'amounts'];
  for (let round = 0; round < 20; round++) {
    const pick = names.filter(() => Math.random() < 0.6);
    const p = { out_trade_no: `S-${round}` };
    for (const k of pick) p[k] = Math.random() < 0.2 ? '' : `v${round}-${k}`;
    const body = signForm(p).split('&').sort(() => Math.random() - 0.5).join('&');
    const res = await gw.request({ method: 'POST', path: '/v1/local/payments', body, sign: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 202, `${body}: ${res.raw.toString()}`);
    assert.equal(res.json.out_trade_no, `S-${round}`);
  }
  // the same name twice, once escaped: still a repeat
  const good = signForm({ out_trade_no: 'S-dup', ab: '1' });
  for (const extra of ['a%62=2', 'a%62', '%61%62=3']) {
    const res = await gw.request({ method: 'POST', path: '/v1/local/payments', body: `${good}&${extra}`, sign: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assertError(res, 400, 'INVALID_PARAMETER', /more than once/);
  }
});

test('a client cannot forge the voucher id header', async () => {
  const n = hits();
  const res = await gw.request({ method: 'POST', path: '/v1/payments', body: order('F-1'),
    headers: { 'x-paygw-voucher-id': 'V000000000000000000000000000000' } });
  assert.equal(res.status, 200);
  assert.notEqual(gw.upstream.hits[n].headers['x-paygw-voucher-id'], 'V000000000000000000000000000000');
  // a GET carries none
  await gw.request({ path: '/v1/payments/F-1', headers: { 'x-paygw-voucher-id': 'Vforged' } });
  assert.equal(gw.upstream.hits[n + 1].headers['x-paygw-voucher-id'], undefined);
});

// ---- metrics ----

test('metrics count accepted and rejected requests by code, with a latency histogram', async () => {
  const get = () => new Promise((resolve, reject) => {
    require('node:http').get({ host: '127.0.0.1', port: gw.port, path: '/_paygw/metrics' }, (res) => {
      let s = '';
      res.on('data', (c) => { s += c; });
      res.on('end', () => resolve({ status: res.statusCode, text: s, type: res.headers['content-type'] }));
    }).on('error', reject);
  });
  const value = (text, re) => Number((text.match(re) || [])[1]);
  const m0 = await get();
  assert.equal(m0.status, 200);
  assert.match(m0.type, /^text\/plain; version=0\.0\.4/);
  await gw.request({ path: '/v1/payments/M1' });
  await gw.request({ path: '/v1/payments/M1', sign: { secret: 'wrong-secret-for-A1' } });
  const m1 = await get();
  assert.equal(value(m1.text, /^paygw_front_accepted_total (\d+)$/m) - value(m0.text, /^paygw_front_accepted_total (\d+)$/m), 1);
  const re = /^paygw_front_rejected_total\{code="SIGNATURE_INVALID"\} (\d+)$/m;
  assert.equal(value(m1.text, re) - value(m0.text, re), 1);
  assert.match(m1.text, /^paygw_front_limited_total \d+$/m);
  assert.match(m1.text, /^paygw_front_request_duration_seconds_bucket\{le="\+Inf"\} \d+$/m);
  const count = value(m1.text, /^paygw_front_request_duration_seconds_count (\d+)$/m);
  assert.ok(count >= 2);
});

test('a flood of unidentified requests costs a few RSA signatures, every answer still verifies', async () => {
  const t0 = Date.now();
  const reqs = [];
  for (let i = 0; i < 100; i++) {
    reqs.push(gw.request({ path: '/v1/payments/X', sign: { app: 'ZZ', secret: 'nope-nope-nope-nope' } }));
  }
  const res = await Promise.all(reqs);
  const seconds = Math.ceil((Date.now() - t0) / 1000) + 1;
  const sigs = new Set();
  for (const r of res) {
    assertError(r, 401, 'APP_UNKNOWN');
    assertSigned(r, null);
    sigs.add(r.headers['paygw-signature']);
  }
  assert.ok(sigs.size <= 2 * seconds, `${sigs.size} RSA signatures for 100 identical rejections`);
});
