'use strict';
// Self-test of the Checkout.com plugin (lib/channels/checkout.js) with checkout-sdk-node's
// Checkout client against the sim (custom host: the SDK's own paths, headers and
// Cko-Idempotency-Key go over the wire), vector V16 for Cko-Signature, and every webhook
// kind checked with the published HMAC rule (the SDK has no verifier).
// Run: node --test tests/sim/checkout.test.js

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { startSim, startReceiver } = require('./lib/testkit');

let kit;
let rx;
let cko;
let whsec;
let Checkout;

test.before(async () => {
  ({ Checkout } = await import('checkout-sdk-node'));
  kit = await startSim({ channel: 'checkout' });
  rx = await startReceiver({ status: 200, body: 'ok' });
  const dir = path.join(kit.keysDir, 'checkout');
  whsec = fs.readFileSync(path.join(dir, 'webhook_secret.txt'), 'utf8').trim();
  cko = new Checkout(fs.readFileSync(path.join(dir, 'secret_key.txt'), 'utf8').trim(), { host: `${kit.base}/checkout` });
});
test.after(async () => { await kit.close(); await rx.close(); });
test.beforeEach(() => kit.reset());

const hmac = (key, body) => crypto.createHmac('sha256', key).update(body).digest('hex');

test('V16: the published Cko-Signature construction', () => {
  assert.equal(hmac('cko_webhook_key', '{"id":"WH-TEST","event_type":"PAYMENT.CAPTURE.COMPLETED"}'),
    '2ec5db8a7befaefa0e12d065ed56f6d9f27782c56e4b59737c8f74f743821a8e');
});

test('SDK client: request (idempotent), get, void, refund, actions', async () => {
  const body = { source: { type: 'token', token: 'tok_4gzeau5o2uqubbk6fufs3m7p54' }, amount: 1000, currency: 'EUR', reference: 'C1', capture: true };
  const p = await cko.payments.request(body, 'idem-C1');
  assert.equal(p.status, 'Authorized');
  assert.equal(p.approved, true);
  assert.equal((await cko.payments.request(body, 'idem-C1')).id, p.id);
  assert.equal((await cko.payments.get(p.id)).reference, 'C1');
  const v = await cko.payments.void(p.id, { reference: 'C1' }, 'idem-void-C1');
  assert.ok(v.action_id);
  assert.equal((await cko.payments.get(p.id)).status, 'Voided');
  const p2 = await cko.payments.request({ ...body, reference: 'C2' }, 'idem-C2');
  await kit.pay('C2');
  const r = await cko.payments.refund(p2.id, { amount: 300, reference: 'RC2' }, 'idem-r-C2');
  assert.ok(r.action_id);
  const actions = await cko.payments.getActions(p2.id);
  assert.ok(actions.some((a) => a.type === 'Refund' && a.approved && a.reference === 'RC2'));
  const reqs = await kit.requests('C1');
  assert.ok(reqs.every((q) => q.sign_ok));
});

test('SDK client: a wrong key is a 401 (counted bad_sign); a malformed request is 422 request_invalid', async () => {
  const bad = new Checkout('sk_sbox_wrong', { host: `${kit.base}/checkout` });
  await assert.rejects(bad.payments.get('pay_x'), (e) => e.http_code === 401 || e.name === 'AuthenticationError');
  assert.ok((await kit.counts('')).bad_sign >= 1);
  await assert.rejects(cko.payments.request({ source: { type: 'token', token: 'x' }, amount: -1, currency: 'EUR', reference: 'C3' }),
    (e) => e.http_code === 422 && e.body.error_codes.includes('amount_invalid'));
});

test('webhooks: valid / duplicate / contrary carry a correct Cko-Signature, forged does not', async () => {
  await cko.payments.request({ source: { type: 'token', token: 'tok_x' }, amount: 500, currency: 'EUR', reference: 'C4' });
  for (const kind of ['valid', 'duplicate', 'forged', 'contrary']) {
    const r = await kit.notify('C4', kind, { notify_url: rx.url('/notify/checkout') });
    assert.equal(r.json.status, 200, JSON.stringify(r.json));
  }
  const ok = rx.received.map((n) => n.headers['cko-signature'] === hmac(whsec, n.raw));
  assert.deepEqual(ok, [true, true, false, true]);
  assert.equal(JSON.parse(rx.received[0].raw).type, 'payment_captured');
  assert.equal(JSON.parse(rx.received[3].raw).type, 'payment_declined');
});

test('no sim-internal errors', () => assert.deepEqual(kit.errors(), []));
