'use strict';
// The front's second generation through the real stack (nginx + module, paygwd, sim):
// scheme B forms and RSA2 apps reach 202 with an edge-minted voucher id
// (V + 17-digit UTC time + 3-digit node + 7-digit pid + 3-digit sequence), settle, and
// the caller notification to the RSA2 app verifies with the gateway's public key; a
// replayed nonce is 401 NONCE_REPLAYED with nothing stored and nothing sent.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Stack } = require('./lib/stack');
const { waitFor, tradeNo, sleep } = require('./lib/util');
const { assertSigned, assertStatus, assertError } = require('./lib/assertx');
const { nonce } = require('./lib/sign');

const EDGE_VOUCHER = /^V\d{30}$/;

let stack;

before(async () => {
  stack = await Stack.start({ name: 'frontv2' });
  assert.ok(stack.rsa && stack.apps.R1, 'conf/nginx.conf.in takes @SIGN_KEY@ and the stack has the RSA2 app R1');
}, { timeout: 60000 });

after(async () => {
  if (stack) await stack.stop();
});

// the 17-digit UTC time of an edge voucher is close to now
function assertEdgeVoucher(vid) {
  assert.match(vid, EDGE_VOUCHER);
  const t = vid.slice(1, 18);
  const at = Date.UTC(+t.slice(0, 4), +t.slice(4, 6) - 1, +t.slice(6, 8), +t.slice(8, 10), +t.slice(10, 12), +t.slice(12, 14), +t.slice(14, 17));
  assert.ok(Math.abs(at - Date.now()) < 60000, `voucher time ${t} is now (UTC)`);
}

async function settle(no, app) {
  await waitFor(`precreate of ${no}`, () => stack.simCounts(no), (c) => c['alipay.trade.precreate'] >= 1, { timeoutMs: 10000 });
  const ack = await stack.simNotify(no, 'valid');
  assert.equal(ack.body, 'success');
  await waitFor(`${no} SUCCESS`, () => stack.paymentStatus(no, app), (s) => s === 'SUCCESS', { timeoutMs: 15000 });
  const list = await waitFor(`notification of ${no}`, () => stack.callerNotifications(no), (l) => l.some((n) => n.answered === 200), { timeoutMs: 20000, intervalMs: 200 });
  return list.find((n) => n.answered === 200);
}

test('scheme B (HMAC-SHA256) payment: 202 with an edge voucher, settles, notification signed with the secret', { timeout: 60000 }, async () => {
  const no = tradeNo('SB');
  const r = await stack.pay(no, { subject: 'Form order + & =' }, { scheme: 'B' });
  assertStatus(r, 202);
  assertSigned(r);
  assertEdgeVoucher(r.json.voucher_id);
  assert.equal(r.json.out_trade_no, no);
  // the same order again as JSON with scheme A: the same request (idempotent)
  const j = await stack.pay(no, { subject: 'Form order + & =' });
  assertStatus(j, 202);
  assert.equal(j.json.voucher_id, r.json.voucher_id);
  const v = await stack.voucher(r.json.voucher_id, 5000);
  assertStatus(v, 200);
  assert.equal(v.json.status, 'READY');

  const n = await settle(no, 'A1');
  const body = JSON.parse(n.body);
  assert.equal(body.voucher_id, r.json.voucher_id);
  assert.equal(body.status, 'SUCCESS');
  const sig = stack.verifyFor('A1', n.headers, Buffer.from(n.body, 'utf8'));
  assert.ok(sig.ok, sig.reason);
});

test('RSA2 app, scheme A: 202 with an edge voucher, answers and the notification verify with the gateway key', { timeout: 60000 }, async () => {
  const no = tradeNo('RA');
  const r = await stack.pay(no, {}, { app: 'R1' });
  assertStatus(r, 202);
  assertSigned(r);   // checked with the gateway's public key (stack.verifyFor)
  assert.equal(Buffer.from(r.headers['paygw-signature'], 'base64').length, 256);
  assertEdgeVoucher(r.json.voucher_id);

  const n = await settle(no, 'R1');
  const body = JSON.parse(n.body);
  assert.equal(body.out_trade_no, no);
  assert.equal(body.voucher_id, r.json.voucher_id);
  assert.equal(body.status, 'SUCCESS');
  const sig = stack.verifyFor('R1', n.headers, Buffer.from(n.body, 'utf8'));
  assert.ok(sig.ok, `notification to the RSA2 app: ${sig.reason}`);
  const forged = stack.verifyFor('R1', n.headers, Buffer.from(n.body.replace('"SUCCESS"', '"FAILED"'), 'utf8'));
  assert.equal(forged.ok, false);
});

test('RSA2 app, scheme B (sign_type=RSA2): 202 with an edge voucher', { timeout: 30000 }, async () => {
  const no = tradeNo('RB');
  const r = await stack.pay(no, {}, { app: 'R1', scheme: 'B' });
  assertStatus(r, 202);
  assertSigned(r);
  assertEdgeVoucher(r.json.voucher_id);
  await waitFor(`precreate of ${no}`, () => stack.simCounts(no), (c) => c['alipay.trade.precreate'] >= 1, { timeoutMs: 10000 });
});

test('a replayed nonce is 401 NONCE_REPLAYED: no order stored, nothing sent to the channel', { timeout: 30000 }, async () => {
  // a nonce spent on a GET cannot sign a new payment
  const n1 = nonce();
  const g = await stack.api('GET', '/v1/payments/NOPE-1', { nonce: n1 });
  assertError(g, 404, 'NOT_FOUND');
  const no = tradeNo('NR');
  const r = await stack.pay(no, {}, { nonce: n1 });
  assertError(r, 401, 'NONCE_REPLAYED');
  assertSigned(r);

  // the very same signed payment sent twice: the replay is refused
  const no2 = tradeNo('NR');
  const n2 = nonce();
  const ts = Math.floor(Date.now() / 1000);
  const first = await stack.pay(no2, {}, { nonce: n2, timestamp: ts });
  assertStatus(first, 202);
  const replay = await stack.pay(no2, {}, { nonce: n2, timestamp: ts });
  assertError(replay, 401, 'NONCE_REPLAYED');
  // and scheme B forms share the store
  const no3 = tradeNo('NR');
  const fb = await stack.pay(no3, {}, { scheme: 'B', nonce: n2 });
  assertError(fb, 401, 'NONCE_REPLAYED');

  await sleep(1500);   // room for anything that would (wrongly) have been dispatched
  assert.equal(await stack.adminOrder(no), null, 'nothing stored for the replayed nonce');
  assert.equal(await stack.adminOrder(no3), null, 'nothing stored for the replayed form');
  assert.equal((await stack.simCounts(no))['alipay.trade.precreate'] || 0, 0);
  assert.equal((await stack.simCounts(no3))['alipay.trade.precreate'] || 0, 0);
  assert.equal((await stack.simCounts(no2))['alipay.trade.precreate'], 1, 'the original went once');
});
