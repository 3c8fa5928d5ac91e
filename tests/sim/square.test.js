'use strict';
// Self-test of the Square plugin (lib/channels/square.js) with the square SDK as the client
// (SquareClient against the sim's base URL: its own serializers and headers go over the
// wire), vector V5, and every webhook kind checked with WebhooksHelper.verifySignature.
// Run: node --test tests/sim/square.test.js

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { SquareClient, WebhooksHelper, SquareError } = require('square');
const { startSim, startReceiver } = require('./lib/testkit');

let kit;
let rx;
let sq;
let sigKey;

test.before(async () => {
  kit = await startSim({ channel: 'square' });
  rx = await startReceiver({ status: 200, body: 'ok' });
  const dir = path.join(kit.keysDir, 'square');
  sq = new SquareClient({ token: fs.readFileSync(path.join(dir, 'access_token.txt'), 'utf8').trim(), environment: `${kit.base}/square`, maxRetries: 0 });
  sigKey = fs.readFileSync(path.join(dir, 'signature_key.txt'), 'utf8').trim();
});
test.after(async () => { await kit.close(); await rx.close(); });
test.beforeEach(() => kit.reset());

const money = (amount) => ({ amount: BigInt(amount), currency: 'USD' });

test('V5: the published signatures verify with WebhooksHelper', async () => {
  const ok = await WebhooksHelper.verifySignature({
    requestBody: '{"data":{"type":"webhooks","id":"fake_id"}}', signatureHeader: 'W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA=',
    signatureKey: 'signature-key', notificationUrl: 'https://webhook.site/webhooks',
  });
  assert.equal(ok, true);
});

test('SDK client: create, replay, get, cancel (APPROVED), refund, get refund', async () => {
  const c = await sq.payments.create({ sourceId: 'cnon:card-nonce-ok', idempotencyKey: 'k1', amountMoney: money(1000), referenceId: 'Q1', locationId: 'L1' });
  assert.equal(c.payment.status, 'COMPLETED');
  const again = await sq.payments.create({ sourceId: 'cnon:card-nonce-ok', idempotencyKey: 'k1', amountMoney: money(1000), referenceId: 'Q1', locationId: 'L1' });
  assert.equal(again.payment.id, c.payment.id);
  assert.equal((await sq.payments.get({ paymentId: c.payment.id })).payment.referenceId, 'Q1');
  const rf = await sq.refunds.refundPayment({ idempotencyKey: 'r1', paymentId: c.payment.id, amountMoney: money(300) });
  assert.equal(rf.refund.status, 'COMPLETED');
  assert.equal((await sq.refunds.get({ refundId: rf.refund.id })).refund.amountMoney.amount, 300n);
  await kit.script({ out_trade_no: 'Q2', pay: 'processing' });
  const p2 = await sq.payments.create({ sourceId: 'cnon:card-nonce-ok', idempotencyKey: 'k2', amountMoney: money(500), referenceId: 'Q2', locationId: 'L1', autocomplete: false });
  assert.equal((await sq.payments.cancel({ paymentId: p2.payment.id })).payment.status, 'CANCELED');
  const reqs = await kit.requests('Q1');
  assert.ok(reqs.every((r) => r.sign_ok), JSON.stringify(reqs.map((r) => r.sign_string)));
});

test('SDK client: a scripted decline is a SquareError with the FAILED payment', async () => {
  await kit.script({ out_trade_no: 'Q3', pay: 'fail' });
  await assert.rejects(sq.payments.create({ sourceId: 'cnon:card-nonce-declined', idempotencyKey: 'k3', amountMoney: money(1000), referenceId: 'Q3', locationId: 'L1' }),
    (e) => e instanceof SquareError && e.statusCode === 400 && e.body.payment.status === 'FAILED');
});

test('a wrong token is refused (401, bad_sign); an unknown body field fails the SDK serializer check', async () => {
  const bad = new SquareClient({ token: 'EAAAwrong', environment: `${kit.base}/square`, maxRetries: 0 });
  await assert.rejects(bad.payments.get({ paymentId: 'x' }), (e) => e.statusCode === 401);
  assert.ok((await kit.counts('')).bad_sign >= 1);
  const token = fs.readFileSync(path.join(kit.keysDir, 'square', 'access_token.txt'), 'utf8').trim();
  const r = await fetch(`${kit.base}/square/v2/payments`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'square-version': '2026-09-16' },
    body: JSON.stringify({ source_id: 'cnon:x', idempotency_key: 'k4', amount_money: { amount: 1, currency: 'USD' }, reference_id: 'Q4', location_id: 'L1', amout: 1 }),
  });
  assert.equal(r.status, 400);
});

test('webhooks: valid / duplicate / contrary verify with WebhooksHelper, forged does not', async () => {
  await sq.payments.create({ sourceId: 'cnon:card-nonce-ok', idempotencyKey: 'k5', amountMoney: money(1000), referenceId: 'Q5', locationId: 'L1' });
  const url = rx.url('/notify/square');
  for (const kind of ['valid', 'duplicate', 'forged', 'contrary']) {
    const r = await kit.notify('Q5', kind, { notify_url: url });
    assert.equal(r.json.status, 200, JSON.stringify(r.json));
  }
  const verdicts = [];
  for (const n of rx.received) {
    verdicts.push(await WebhooksHelper.verifySignature({ requestBody: n.raw.toString('utf8'), signatureHeader: n.headers['x-square-hmacsha256-signature'], signatureKey: sigKey, notificationUrl: url }));
  }
  assert.deepEqual(verdicts, [true, true, false, true]);
  assert.equal(JSON.parse(rx.received[3].raw).data.object.payment.status, 'FAILED');
});

test('no sim-internal errors', () => assert.deepEqual(kit.errors(), []));
