'use strict';
// Self-test of the Razorpay plugin (lib/channels/razorpay.js), with the official SDK
// (razorpay 2.9.8) as the client (orders.create, payments.fetch, payments.capture,
// payments.refund, refunds.fetch) pointed at the sim, its validateWebhookSignature /
// validatePaymentVerification as the judge of what the sim sends, and vector V6.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const Razorpay = require('razorpay');
const { validatePaymentVerification } = require('razorpay/dist/utils/razorpay-utils');
const { startSim, startReceiver } = require('./lib/testkit');

let kit;
let rx;
let rzp;
let secrets;

test.before(async () => {
  kit = await startSim({ channel: 'razorpay' });
  rx = await startReceiver({ status: 200, body: 'ok' });
  const read = (f) => fs.readFileSync(path.join(kit.keysDir, 'razorpay', f), 'utf8').trim();
  secrets = { keyId: read('key_id.txt'), keySecret: read('key_secret.txt'), webhook: read('webhook_secret.txt') };
  rzp = new Razorpay({ key_id: secrets.keyId, key_secret: secrets.keySecret });
  rzp.api.rq.defaults.baseURL = `${kit.base}/razorpay`;
});
test.after(async () => { await kit.close(); await rx.close(); });
test.beforeEach(() => kit.reset());

test('published vector V6 with the SDK', () => {
  assert.equal(Razorpay.validateWebhookSignature('{"a":1,"b":2,"c":{"d":3}}',
    '2fe04e22977002e6c7cb553adab8b460cb9e2a4970d5953cb27a8472752e3bbc', '123456'), true);
  assert.equal(validatePaymentVerification({ order_id: 'order_IluGWxBm9U8zJ8', payment_id: 'pay_IH4NVgf4Dreq1l' },
    'c6df98b812ee4b7e78d9ee37e3f531db7f2648ade83312553db45934a1b17357', 'key_secret_x'), true);
});

test('SDK client: create order, pay, fetch, refund, fetch refund', async () => {
  const o = await rzp.orders.create({ amount: 50000, currency: 'INR', receipt: 'Z1', notes: { out_trade_no: 'Z1' } });
  assert.equal(o.status, 'created');
  assert.match(o.id, /^order_/);
  await kit.pay('Z1', { status: 'authorized' });
  const list = await rzp.orders.fetchPayments(o.id);
  assert.equal(list.items[0].status, 'authorized');
  const cap = await rzp.payments.capture(list.items[0].id, 50000, 'INR');
  assert.equal(cap.status, 'captured');
  const rf = await rzp.payments.refund(cap.id, { amount: 100, notes: { out_refund_no: 'RF1' }, receipt: 'RF1' });
  assert.equal(rf.status, 'processed');
  assert.equal((await rzp.refunds.fetch(rf.id)).id, rf.id);
});

test('wrong key_secret is refused with 401', async () => {
  const bad = new Razorpay({ key_id: secrets.keyId, key_secret: 'nope' });
  bad.api.rq.defaults.baseURL = `${kit.base}/razorpay`;
  await assert.rejects(bad.orders.create({ amount: 50000, currency: 'INR', receipt: 'Z2' }), (e) => e.statusCode === 401);
  assert.equal((await kit.counts('Z2')).bad_sign, 1);
});

test('webhooks and Checkout callback: the SDK accepts valid ones, not forged', async () => {
  await rzp.orders.create({ amount: 50000, currency: 'INR', receipt: 'Z3', notes: { out_trade_no: 'Z3' } });
  await kit.pay('Z3');
  const last = () => rx.received[rx.received.length - 1];
  for (const kind of ['valid', 'contrary', 'forged']) {
    const r = await kit.notify('Z3', kind, { notify_url: rx.url('/n') });
    assert.equal(r.status, 200, r.text);
    const ok = Razorpay.validateWebhookSignature(last().raw.toString('utf8'), last().headers['x-razorpay-signature'], secrets.webhook);
    assert.equal(ok, kind !== 'forged', kind);
  }
  await kit.notify('Z3', 'valid', { notify_url: rx.url('/cb'), event: 'checkout.callback' });
  const p = new URLSearchParams(last().raw.toString('utf8'));
  assert.equal(validatePaymentVerification({ order_id: p.get('razorpay_order_id'), payment_id: p.get('razorpay_payment_id') },
    p.get('razorpay_signature'), secrets.keySecret), true);
});

test('no sim-internal errors', () => assert.deepEqual(kit.errors(), []));
