'use strict';
// Self-test of the paytm plugin with Paytm's own SDK, paytmchecksum, on the client side:
// requests are signed with PaytmChecksum.generateSignature (random salt) over the exact body
// text, answers and callbacks are checked with PaytmChecksum.verifySignature, and vector V9
// (calculateChecksum with the fixed salt "abcd") pins the algorithm. paytmchecksum has no
// HTTP client: the requests themselves are built by hand here.
// Run: node --test tests/sim/paytm.test.js

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const PaytmChecksum = require('paytmchecksum');
const { startSim, startReceiver } = require('./lib/testkit');
const { rawMember } = require('./lib/channels/paytm/raw_json');

const MID = 'SIMMID00000000000001';
let kit;
let rx;
let KEY;

test('vector V9 (SDK calculateChecksum, fixed salt) and verifySignature', () => {
  const a = PaytmChecksum.calculateChecksum('YOUR_MID_HERE|ORDERID_98765', 'YOUR_KEY_HERE_16', 'abcd');
  assert.equal(a, 'VKwXhULsh86zvxMbkPzcxeTJv0wgVk5sM//scSSkPL+SksDyuKXf5Ayzi6Y4Qplb4KXbKoWaPDEZJeFOD6JutDF087Paw2asYM0SmkXoW6I=');
  const body = '{"mid":"YOUR_MID_HERE","orderId":"ORDERID_98765"}';
  const b = PaytmChecksum.calculateChecksum(body, 'YOUR_KEY_HERE_16', 'abcd');
  assert.equal(b, 'jqnLf1i9C69pxwlRgJ+zQv/IlqXG07YDXzTmozVWs5Qa+GYeDMJ68cff2A5Lscgl2McJw7CBwscuAopJ+3Iwe60QhPgDGd0z630MTVdW7Dg=');
  assert.equal(PaytmChecksum.verifySignature(body, 'YOUR_KEY_HERE_16', b), true);
});

test.before(async () => {
  kit = await startSim({ channel: 'paytm', options: { paytm: { mid: MID } } });
  rx = await startReceiver({ status: 200, body: 'OK' });
  KEY = fs.readFileSync(path.join(kit.keysDir, 'paytm', 'merchant_key.txt'), 'utf8').trim();
});
test.after(async () => { await kit.close(); await rx.close(); });
test.beforeEach(() => kit.reset());

async function call(p, body, key = KEY) {
  const text = JSON.stringify(body);
  const signature = await PaytmChecksum.generateSignature(text, key);
  const r = await fetch(`${kit.base}/paytm${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"body":${text},"head":{"signature":"${signature}"}}` });
  const raw = await r.text();
  const json = JSON.parse(raw);
  const bodyText = rawMember(raw, 'body');
  return { json, signed: !!json.head.signature && PaytmChecksum.verifySignature(bodyText, KEY, json.head.signature) };
}

const initiate = (orderId) => ({ requestType: 'Payment', mid: MID, websiteName: 'WEBSTAGING', orderId, callbackUrl: rx.url('/cb'), txnAmount: { value: '10.00', currency: 'INR' }, userInfo: { custId: 'C1' } });

test('initiate, status pending then success, refund, refund status, callbacks', async () => {
  let r = await call(`/theia/api/v1/initiateTransaction?mid=${MID}&orderId=O1`, initiate('O1'));
  assert.equal(r.signed, true);
  assert.equal(r.json.body.resultInfo.resultCode, '0000');
  assert.ok(r.json.body.txnToken);
  r = await call('/v3/order/status', { mid: MID, orderId: 'O1' });
  assert.equal(r.signed, true);
  assert.equal(r.json.body.resultInfo.resultStatus, 'PENDING');
  await kit.pay('O1');
  r = await call('/v3/order/status', { mid: MID, orderId: 'O1' });
  assert.equal(r.json.body.resultInfo.resultStatus, 'TXN_SUCCESS');
  assert.equal(r.json.body.txnAmount, '10.00');
  const txnId = r.json.body.txnId;
  r = await call('/refund/apply', { mid: MID, txnType: 'REFUND', orderId: 'O1', txnId, refId: 'RF1', refundAmount: '4.00' });
  assert.equal(r.signed, true);
  assert.equal(r.json.body.resultInfo.resultCode, '601');
  r = await call('/v2/refund/status', { mid: MID, orderId: 'O1', refId: 'RF1' });
  assert.equal(r.json.body.resultInfo.resultCode, '10');
  for (const [kind, ok] of [['valid', true], ['forged', false]]) {
    await kit.notify('O1', kind);
    const p = Object.fromEntries(new URLSearchParams(rx.received[rx.received.length - 1].raw.toString()));
    const cs = p.CHECKSUMHASH;
    assert.equal(PaytmChecksum.verifySignature(p, KEY, cs), ok, kind);
  }
});

test('unknown order -> 334; wrong key -> unsigned 2005 and bad_sign counted', async () => {
  let r = await call('/v3/order/status', { mid: MID, orderId: 'NOPE' });
  assert.equal(r.json.body.resultInfo.resultCode, '334');
  r = await call(`/theia/api/v1/initiateTransaction?mid=${MID}&orderId=O2`, initiate('O2'), 'WRONG_KEY_16_BYT');
  assert.equal(r.signed, false);
  assert.equal(r.json.body.resultInfo.resultCode, '2005');
  assert.equal((await kit.counts('O2')).bad_sign, 1);
});

test('no sim-internal errors', () => assert.deepEqual(kit.errors(), []));
