'use strict';
// Self-test of the Stripe plugin (lib/channels/stripe.js) with the stripe SDK as the client
// (its own form encoder, Idempotency-Key and Bearer key go over the wire), vector V7, and
// webhooks checked with stripe.webhooks.constructEvent. Run: node --test tests/sim/stripe.test.js

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const Stripe = require('stripe');
const { startSim, startReceiver } = require('./lib/testkit');

let kit;
let rx;
let stripe;
let whsec;
let front;

// The SDK's paths are fixed at /v1/...; the sim mounts Stripe at /stripe/v1/...: a
// loopback front adds the prefix and passes everything else through untouched.
function startFront(target) {
  const server = http.createServer((req, res) => {
    const up = http.request(`${target}/stripe${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function client(key) {
  return Stripe(key, { host: '127.0.0.1', port: front.address().port, protocol: 'http', maxNetworkRetries: 0 });
}

test.before(async () => {
  kit = await startSim({ channel: 'stripe' });
  rx = await startReceiver({ status: 200, body: '{"received":true}' });
  const dir = path.join(kit.keysDir, 'stripe');
  const apiKey = fs.readFileSync(path.join(dir, 'api_key.txt'), 'utf8').trim();
  whsec = fs.readFileSync(path.join(dir, 'webhook_secret.txt'), 'utf8').trim();
  front = await startFront(kit.base);
  stripe = client(apiKey);
});
test.after(async () => { await kit.close(); await rx.close(); await new Promise((r) => front.close(r)); });
test.beforeEach(() => kit.reset());

function raw(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${kit.base}${p}`, { method, headers }, (res) => {
      const c = [];
      res.on('data', (d) => c.push(d));
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(c).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('V7: the SDK reproduces the published Stripe-Signature', () => {
  const payload = '{"id":"evt_test_webhook","object":"event"}';
  const h = stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_test_secret', timestamp: 1700000000 });
  assert.equal(h, 't=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990');
  assert.throws(() => stripe.webhooks.constructEvent(payload, h, 'whsec_test_secret'), /tolerance/);
});

test('SDK client: create + confirm, retrieve, search, cancel, refund, idempotent replay', async () => {
  const pi = await stripe.paymentIntents.create({
    amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true,
    payment_method_types: ['card'], metadata: { out_trade_no: 'ST1' },
  }, { idempotencyKey: 'k-ST1' });
  assert.equal(pi.status, 'succeeded');
  const again = await stripe.paymentIntents.create({
    amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true,
    payment_method_types: ['card'], metadata: { out_trade_no: 'ST1' },
  }, { idempotencyKey: 'k-ST1' });
  assert.equal(again.id, pi.id);
  await assert.rejects(stripe.paymentIntents.create({ amount: 5, currency: 'usd', metadata: { out_trade_no: 'ST1' } },
    { idempotencyKey: 'k-ST1' }), (e) => e.type === 'StripeIdempotencyError');
  assert.equal((await stripe.paymentIntents.retrieve(pi.id)).status, 'succeeded');
  const found = await stripe.paymentIntents.search({ query: "metadata['out_trade_no']:'ST1'" });
  assert.equal(found.data[0].id, pi.id);
  const rf = await stripe.refunds.create({ payment_intent: pi.id, amount: 300, metadata: { out_refund_no: 'RF1' } });
  assert.equal(rf.status, 'succeeded');
  assert.equal((await stripe.refunds.retrieve(rf.id)).amount, 300);
  const open = await stripe.paymentIntents.create({ amount: 700, currency: 'eur', metadata: { out_trade_no: 'ST2' } });
  assert.equal(open.status, 'requires_payment_method');
  assert.ok(open.client_secret);
  assert.equal((await stripe.paymentIntents.cancel(open.id)).status, 'canceled');
  const reqs = await kit.requests('ST1');
  assert.ok(reqs.every((r) => r.sign_ok), JSON.stringify(reqs.map((r) => r.problems)));
});

test('SDK client: a scripted decline is a StripeCardError carrying the reusable intent', async () => {
  await kit.script({ out_trade_no: 'ST3', pay: 'fail' });
  await assert.rejects(stripe.paymentIntents.create({
    amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, metadata: { out_trade_no: 'ST3' },
  }), (e) => e.type === 'StripeCardError' && e.raw.payment_intent.status === 'requires_payment_method');
});

test('a wrong API key is refused (401, counted bad_sign); a body the SDK encoder would not produce is refused', async () => {
  const bad = client('sk_test_wrong');
  await assert.rejects(bad.paymentIntents.retrieve('pi_x'), (e) => e.statusCode === 401);
  assert.ok((await kit.counts('')).bad_sign >= 1);
  const key = fs.readFileSync(path.join(kit.keysDir, 'stripe', 'api_key.txt'), 'utf8').trim();
  const r = await raw('POST', '/stripe/v1/payment_intents', 'amount=1&amount=2&currency=usd&metadata[out_trade_no]=ST4', {
    authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'x',
  });
  assert.equal(r.status, 400);
});

test('webhooks: valid verifies with constructEvent, forged does not, contrary is signed', async () => {
  await stripe.paymentIntents.create({ amount: 1000, currency: 'usd', metadata: { out_trade_no: 'ST5' } });
  for (const kind of ['valid', 'duplicate', 'forged', 'contrary']) {
    const r = await kit.notify('ST5', kind, { notify_url: rx.url('/n') });
    assert.equal(r.json.status, 200, JSON.stringify(r.json));
  }
  const [v, d, f, c] = rx.received;
  const ev = stripe.webhooks.constructEvent(v.raw, v.headers['stripe-signature'], whsec);
  assert.equal(ev.type, 'payment_intent.succeeded');
  assert.equal(ev.data.object.metadata.out_trade_no, 'ST5');
  assert.deepEqual(d.raw, v.raw);
  assert.throws(() => stripe.webhooks.constructEvent(f.raw, f.headers['stripe-signature'], whsec));
  assert.equal(stripe.webhooks.constructEvent(c.raw, c.headers['stripe-signature'], whsec).type, 'payment_intent.canceled');
});

test('no sim-internal errors', () => assert.deepEqual(kit.errors(), []));
