'use strict';
// paygwd's caller API as nginx forwards verified requests to it (straight to its unix
// socket, X-Paygw-App-Id set as the module sets it): scheme B form bodies become the same
// order as JSON bodies, and edge-minted voucher ids (X-Paygw-Voucher-Id) are taken by new
// orders only; a voucher id collision stores nothing.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { Stack } = require('./lib/stack');
const { waitFor, tradeNo, sleep } = require('./lib/util');
const { verifyPaygwSignature } = require('./lib/sign');
const { assertStatus, assertError } = require('./lib/assertx');

let stack;

before(async () => {
  stack = await Stack.start({ name: 'coreapi', nginx: false });
}, { timeout: 60000 });

after(async () => {
  if (stack) await stack.stop();
});

// the scheme B signature parameters nginx verified and forwards unchanged
function form(fields, extra = {}) {
  const p = new URLSearchParams({
    app_id: 'A1', timestamp: String(Math.floor(Date.now() / 1000)), nonce_str: 'n0nce',
    sign_type: 'HMAC-SHA256', ...fields, ...extra, sign: 'ABCDEF0123',
  });
  return p.toString();
}

function formFields(no, over = {}) {
  const b = { ...stack.paymentBody(no), ...over };
  const out = {};
  for (const [k, v] of Object.entries(b)) out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return out;
}

function edgeVoucher() {
  const d = new Date();
  const ts = d.toISOString().replace(/[-:TZ.]/g, '').slice(0, 17);
  return `V${ts}001${String(process.pid % 1e7).padStart(7, '0')}${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}`;
}

test('a form body is accepted like JSON and the same order in both encodings is one request', { timeout: 30000 }, async () => {
  const no = tradeNo('FB');
  const over = { subject: 'Order + & = ü', payer: { id: 'u 1' }, extra: {}, sync: false };
  const r = await stack.core('POST', '/v1/payments', { raw: form(formFields(no, over)) });
  assertStatus(r, 202);
  assert.match(r.json.voucher_id, /^V/);
  assert.equal(r.json.status, 'ACCEPTED');
  assert.equal(r.headers['content-type'], 'application/json');

  // the same order as JSON: same voucher (idempotent), not a conflict
  const j = await stack.core('POST', '/v1/payments', { body: stack.paymentBody(no, over) });
  assertStatus(j, 202);
  assert.equal(j.json.voucher_id, r.json.voucher_id);
  // the same form again, with other signature parameters: same voucher
  const again = await stack.core('POST', '/v1/payments', { raw: form(formFields(no, over), { nonce_str: 'other', timestamp: '1' }) });
  assertStatus(again, 202);
  assert.equal(again.json.voucher_id, r.json.voucher_id);
  // a different amount: 409
  const diff = await stack.core('POST', '/v1/payments', { raw: form(formFields(no, { ...over, amount: 1001 })) });
  assertError(diff, 409, 'IDEMPOTENCY_CONFLICT');

  const o = await stack.adminOrder(no);
  assert.equal(o.amount, 1000);
  await waitFor(`precreate of ${no}`, () => stack.simCounts(no), (c) => c['alipay.trade.precreate'] >= 1, { timeoutMs: 10000 });
  // '+' decoded to a space, %XX escapes decoded: the channel got the subject as sent
  const reqs = await stack.simRequests(no, 'alipay.trade.precreate');
  assert.match(JSON.stringify(reqs), /Order \+ & = ü/);
});

test('bad form bodies are 400 INVALID_PARAMETER and store nothing', { timeout: 30000 }, async () => {
  const cases = [
    { amount: '10.5' }, { amount: 'ten' }, { expire_seconds: '9e2' }, { sync: 'yes' },
    { payer: '[]' }, { extra: 'not json' }, { colour: 'red' },
  ];
  for (const over of cases) {
    const no = tradeNo('FX');
    const r = await stack.core('POST', '/v1/payments', { raw: form(formFields(no, over)) });
    assertError(r, 400, 'INVALID_PARAMETER');
    assert.equal(await stack.adminOrder(no), null, `${JSON.stringify(over)}: nothing stored`);
  }
  const no = tradeNo('FX');
  let r = await stack.core('POST', '/v1/payments', { raw: `${form(formFields(no))}&amount=5` });
  assertError(r, 400, 'INVALID_PARAMETER');
  r = await stack.core('POST', '/v1/payments', { raw: form(formFields(no)).replace('subject=', 'subject=%zz') });
  assertError(r, 400, 'INVALID_PARAMETER');
  // a form whose app_id is not the verified app is refused
  r = await stack.core('POST', '/v1/payments', { raw: form(formFields(no), { app_id: 'A2' }) });
  assertError(r, 401, 'SIGNATURE_INVALID');
  assert.equal(await stack.adminOrder(no), null);
});

test('an edge-minted voucher id is used by a new order; a repeat answers the stored one', { timeout: 30000 }, async () => {
  const no = tradeNo('EV');
  const vid = edgeVoucher();
  const r = await stack.core('POST', '/v1/payments', { body: stack.paymentBody(no), headers: { 'x-paygw-voucher-id': vid } });
  assertStatus(r, 202);
  assert.equal(r.json.voucher_id, vid);
  const again = await stack.core('POST', '/v1/payments', { body: stack.paymentBody(no), headers: { 'x-paygw-voucher-id': `V${'9'.repeat(30)}` } });
  assertStatus(again, 202);
  assert.equal(again.json.voucher_id, vid, 'the repeat answers the stored voucher');
  const v = await stack.core('GET', `/v1/vouchers/${vid}`);
  assertStatus(v, 200);
  assert.equal(v.json.out_trade_no, no);
  // without the header the core mints its own
  const no2 = tradeNo('EV');
  const own = await stack.core('POST', '/v1/payments', { body: stack.paymentBody(no2) });
  assertStatus(own, 202);
  assert.notEqual(own.json.voucher_id, vid);
});

test('a malformed X-Paygw-Voucher-Id is 400 and stores nothing', { timeout: 30000 }, async () => {
  for (const bad of ['V123', `V${'1'.repeat(29)}a`, `X${'1'.repeat(30)}`, `V${'1'.repeat(31)}`, `v${'1'.repeat(30)}`, '']) {
    const no = tradeNo('EB');
    const r = await stack.core('POST', '/v1/payments', { body: stack.paymentBody(no), headers: { 'x-paygw-voucher-id': bad } });
    assertError(r, 400, 'INVALID_PARAMETER');
    assert.equal(await stack.adminOrder(no), null, `"${bad}": nothing stored`);
  }
});

test('a voucher id collision stores nothing, answers 503 and is logged', { timeout: 30000 }, async () => {
  const first = tradeNo('VC');
  const vid = edgeVoucher();
  assertStatus(await stack.core('POST', '/v1/payments', { body: stack.paymentBody(first), headers: { 'x-paygw-voucher-id': vid } }), 202);
  const second = tradeNo('VC');
  const r = await stack.core('POST', '/v1/payments', { body: stack.paymentBody(second), headers: { 'x-paygw-voucher-id': vid } });
  assertError(r, 503, 'CORE_UNAVAILABLE');
  assert.equal(await stack.adminOrder(second), null, 'nothing stored for the colliding order');
  const o = await stack.adminOrder(first);
  assert.equal(o.voucher_id, vid, 'the first order keeps its voucher');
  const v = await stack.core('GET', `/v1/vouchers/${vid}`);
  assert.equal(v.json.out_trade_no, first);
  const log = fs.readFileSync(path.join(stack.logs, 'paygwd.log'), 'utf8');
  assert.match(log, new RegExp(`voucher.collision.*${vid}`));
  // nothing of the second order reached the channel
  await sleep(1000);
  const counts = await stack.simCounts(second);
  assert.equal(counts['alipay.trade.precreate'] || 0, 0);
});

test('notifications to an RSA2 app are signed with the gateway key (verified with its public key)', { timeout: 60000 }, async () => {
  assert.ok(stack.apps.R1, 'the stack has the RSA2 app R1');
  const no = tradeNo('RN');
  const r = await stack.core('POST', '/v1/payments', { app: 'R1', body: stack.paymentBody(no) });
  assertStatus(r, 202);
  await waitFor(`precreate of ${no}`, () => stack.simCounts(no), (c) => c['alipay.trade.precreate'] >= 1, { timeoutMs: 10000 });
  await stack.simPay(no);
  // no nginx here: the query scheduler finds the payment
  const list = await waitFor(`notification of ${no}`, () => stack.callerNotifications(no), (l) => l.length >= 1, { timeoutMs: 30000, intervalMs: 200 });
  const n = list[0];
  const body = JSON.parse(n.body);
  assert.equal(body.out_trade_no, no);
  assert.equal(body.status, 'SUCCESS');
  const v = stack.verifyFor('R1', n.headers, Buffer.from(n.body, 'utf8'));
  assert.ok(v.ok, v.reason);
  assert.equal(Buffer.from(n.headers['paygw-signature'], 'base64').length, 256, 'an RSA-2048 signature');
  // not an HMAC, and a changed body does not verify
  assert.equal(stack.verifyFor('R1', n.headers, Buffer.from(n.body.replace('SUCCESS', 'FAILED'), 'utf8')).ok, false);
  assert.equal(verifyPaygwSignature(stack.apps.A1.secret, n.headers, Buffer.from(n.body, 'utf8')).ok, false);
});

test('paygwd refuses to start with an RSA2 app and no sign_key, naming the fix', () => {
  const conf = fs.readFileSync(stack.confFile, 'utf8').split('\n').filter((l) => !l.startsWith('sign_key')).join('\n');
  const bad = path.join(stack.dir, 'nosignkey.conf');
  fs.writeFileSync(bad, conf);
  let err = '';
  assert.throws(() => {
    try {
      execFileSync(path.join(stack.build, 'paygwd'), ['-c', bad, '-t'], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      err = e.stderr.toString();
      throw e;
    }
  });
  assert.match(err, /RSA2 apps/);
  assert.match(err, /sign_key/);
  // an unreadable sign_key names the file and line
  fs.writeFileSync(bad, `${conf}\nsign_key gw/nope.pem\n`);
  try {
    execFileSync(path.join(stack.build, 'paygwd'), ['-c', bad, '-t'], { stdio: ['ignore', 'pipe', 'pipe'] });
    assert.fail('accepted a missing sign_key file');
  } catch (e) {
    assert.match(e.stderr.toString(), new RegExp(`${bad}:\\d+: sign_key: cannot open .*gw/nope\\.pem`));
  }
});
