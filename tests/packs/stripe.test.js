'use strict';
// Conformance of the stripe pack (templates/stripe.lua, scripts/stripe.lua) against the
// simulator's Stripe plugin (tests/sim/lib/channels/stripe.js), through `paygwctl channel`.
// Every op (pay, query, close, refund, refund_query) meets success, definite failure (where
// Stripe has one), unknown code, not-found, 5xx, garbage, "bad signature", delay beyond the
// timeout and a dropped connection; webhooks valid / forged / duplicate / contrary; a wrong
// API key is refused by the sim (401 -> NOT_SENT).
// Stripe signs no API answer: the sim's `badsign` answers another order's object, which the
// pack must refuse (PROCESSING with an error). A declined attempt leaves a reusable intent:
// pay `fail` is PROCESSING, only a canceled intent is FAILED / CLOSED.
// Run: node --test tests/packs/stripe.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const kit = require('./lib');

const API_KEY = `sk_test_${crypto.randomBytes(12).toString('hex')}`;
const WHSEC = `whsec_${crypto.randomBytes(16).toString('hex')}`;
const SHORT = 800;
const TRANSPORT = ['5xx', 'garbage', 'badsign'];
let k;

test.before(async () => {
  k = await kit.start({
    channel: 'stripe',
    keys({ simDir, keystore }) {
      fs.writeFileSync(path.join(simDir, 'api_key.txt'), API_KEY);
      fs.writeFileSync(path.join(simDir, 'webhook_secret.txt'), WHSEC);
      fs.writeFileSync(path.join(keystore, 'stripe_api_key.secret'), `${API_KEY}\n`);
      fs.writeFileSync(path.join(keystore, 'stripe_whsec.secret'), `${WHSEC}\n`);
      fs.writeFileSync(path.join(keystore, 'stripe_wrong_key.secret'), 'sk_test_not_the_key\n');
    },
    params: { api_key: 'stripe_api_key', webhook_secret: 'stripe_whsec' },
    endpoint: (base) => `${base}/stripe`,
  });
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return {
    out_trade_no: kit.tradeNo('S'), amount: 1000, currency: 'USD', subject: 'conformance', method: 'stripe.card',
    notify_url: k.notifyUrl, extra: { payment_method: 'pm_card_visa' }, ...extra,
  };
}

async function paid() {
  const o = order();
  const r = await k.exchange('pay', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  return { ...o, channel_trade_no: r.fields.channel_trade_no };
}

const refundOf = (o) => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 400 } });
const keyOf = (op, o) => (op.startsWith('refund') ? o.refund.out_refund_no : o.out_trade_no);

async function run(op, o, behaviour, opts = {}) {
  const s = await k.script({ out_trade_no: keyOf(op, o), [op]: behaviour });
  assert.equal(s.status, 200, s.text);
  return k.exchange(op, o, opts);
}

async function expectAll(op, make, table, opts) {
  for (const [b, cls, code] of table) {
    const o = await make();
    const r = await run(op, o, b, opts);
    assert.equal(r.class, cls, `${op} ${b}: ${JSON.stringify(r)}`);
    if (code) assert.equal(r.code, code, `${op} ${b}`);
    if (cls === 'PROCESSING') assert.notEqual(r.sent, 'NOT_SENT', `${op} ${b}`);
  }
}

test('fixtures pass under paygwctl channel test', async () => {
  const r = await k.test();
  assert.equal(r.code, 0, r.stderr);
});

test('pay (create + confirm): succeeded; the request carries a stable Idempotency-Key', async () => {
  const o = order();
  const r = await run('pay', o, 'success');
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal(r.code, 'succeeded');
  assert.match(r.fields.channel_trade_no, /^pi_/);
  const again = await k.exchange('pay', o);     // a resend replays, never a second intent
  assert.equal(again.fields.channel_trade_no, r.fields.channel_trade_no);
  const reqs = await k.simGet('/_sim/requests', { out_trade_no: o.out_trade_no });
  const keys = reqs.json.requests.map((q) => q.headers['idempotency-key']);
  assert.deepEqual(keys, [`paygw-pi-${o.out_trade_no}`, `paygw-pi-${o.out_trade_no}`]);
  assert.ok(reqs.json.requests.every((q) => q.sign_ok));
});

test('pay: decline (reusable intent), canceled intent, rejected, unknown, not found, 5xx, garbage, another order', async () => {
  await expectAll('pay', () => order(), [
    ['fail', 'PROCESSING', 'card_error:card_declined'], ['fail_canceled', 'FAILED', 'canceled'],
    ['rejected', 'NOT_SENT', 'invalid_request_error:amount_too_small'], ['unknown', 'PROCESSING'],
    ['processing', 'PROCESSING', 'processing'], ['not_found', 'PROCESSING'],
    ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
});

test('pay: delay beyond the timeout, timeout and a dropped connection are PROCESSING, never NOT_SENT', async () => {
  await expectAll('pay', () => order(), [`delay:${SHORT * 3}`, 'timeout', 'drop'].map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
});

test('pay: prepay method gives the client_secret; in progress, then the buyer pays and query says succeeded', async () => {
  const o = order({ method: 'stripe.payment_intent', extra: {} });
  const r = await run('pay', o, 'success');
  assert.equal(r.class, 'SUCCESS');
  assert.equal(r.code, 'created');
  assert.equal(r.fields.credential.type, 'client_secret');
  const q1 = await k.exchange('query', { ...o, channel_trade_no: r.fields.channel_trade_no });
  assert.equal(q1.class, 'PROCESSING');
  assert.equal(q1.code, 'requires_payment_method');
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const q2 = await k.exchange('query', { ...o, channel_trade_no: r.fields.channel_trade_no });
  assert.equal(q2.class, 'SUCCESS', JSON.stringify(q2));
});

test('pay timed out, then query without the id finds the intent by search', async () => {
  const o = order();
  const r = await run('pay', o, 'timeout', { timeoutMs: SHORT });
  assert.equal(r.class, 'PROCESSING');
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.match(q.fields.channel_trade_no, /^pi_/);
});

test('query: succeeded, declined attempt, canceled, unknown, not found (retrieve and search), 5xx, garbage, another order', async () => {
  await expectAll('query', paid, [
    ['success', 'SUCCESS', 'succeeded'], ['fail', 'PROCESSING', 'requires_payment_method'],
    ['closed', 'CLOSED', 'canceled'], ['unknown', 'PROCESSING'], ['processing', 'PROCESSING'],
    ['not_found', 'NOT_FOUND', 'invalid_request_error:resource_missing'], ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  const stranger = order();
  const q = await k.exchange('query', stranger);
  assert.equal(q.class, 'NOT_FOUND', JSON.stringify(q));
  assert.equal(q.code, 'not_found');
});

test('query and close: delay, timeout, drop are PROCESSING', async () => {
  for (const op of ['query', 'close']) {
    await expectAll(op, paid, [`delay:${SHORT * 3}`, 'timeout', 'drop'].map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
  }
});

test('close (cancel): canceled, refused (succeeded), unknown, not found, 5xx, garbage, another order', async () => {
  const unpaid = async () => {
    const o = order({ method: 'stripe.payment_intent', extra: {} });
    const r = await k.exchange('pay', o);
    return { ...o, channel_trade_no: r.fields.channel_trade_no };
  };
  await expectAll('close', unpaid, [
    ['success', 'SUCCESS', 'canceled'], ['fail', 'PROCESSING', 'invalid_request_error:payment_intent_unexpected_state'],
    ['unknown', 'PROCESSING'], ['not_found', 'NOT_FOUND'], ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  const o = await unpaid();
  await k.exchange('close', o);
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'CLOSED');
});

test('refund and refund_query: succeeded, failed, pending, unknown, not found, 5xx, garbage, another refund, delay, drop', async () => {
  const base = await paid();
  await expectAll('refund', () => refundOf(base), [
    ['success', 'SUCCESS', 'succeeded'], ['fail', 'FAILED', 'failed'], ['processing', 'PROCESSING', 'pending'],
    ['unknown', 'PROCESSING'], ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  await expectAll('refund', () => refundOf(base), [`delay:${SHORT * 3}`, 'drop'].map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
  const withRefund = async () => {
    const o = refundOf(base);
    const r = await k.exchange('refund', o);
    return { ...o, refund: { ...o.refund, channel_refund_no: r.fields.channel_refund_no } };
  };
  await expectAll('refund_query', withRefund, [
    ['success', 'SUCCESS', 'succeeded'], ['fail', 'FAILED', 'failed'], ['closed', 'FAILED', 'canceled'],
    ['processing', 'PROCESSING', 'pending'], ['unknown', 'PROCESSING'],
    ['not_found', 'NOT_FOUND'], ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  await expectAll('refund_query', withRefund, [`delay:${SHORT * 3}`, 'drop'].map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
  // without the refund id: the list by payment_intent, matched on metadata.out_refund_no
  const o = await withRefund();
  const byList = await k.exchange('refund_query', { ...o, refund: { ...o.refund, channel_refund_no: undefined } });
  assert.equal(byList.class, 'SUCCESS', JSON.stringify(byList));
  const none = await k.exchange('refund_query', refundOf(base));
  assert.equal(none.class, 'NOT_FOUND');
});

test('webhooks: valid, forged, duplicate, contrary', async () => {
  const o = order({ method: 'stripe.payment_intent', extra: {} });
  await k.exchange('pay', o);
  const n = await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  assert.equal(n.status, 200, n.text);
  const valid = await k.verifyLastNotify();
  assert.equal(valid.verified, true, JSON.stringify(valid));
  assert.equal(valid.class, 'SUCCESS');
  assert.equal(valid.out_trade_no, o.out_trade_no);
  assert.equal(valid.ack.status, 200);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'duplicate' });
  const dup = await k.verifyLastNotify();
  assert.deepEqual(dup, valid);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const forged = await k.verifyLastNotify();
  assert.equal(forged.verified, false);
  assert.equal(forged.class, 'PROCESSING');
  assert.equal(forged.ack.status, 400);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const contrary = await k.verifyLastNotify();
  assert.equal(contrary.verified, true);
  assert.equal(contrary.class, 'CLOSED');
  assert.equal(contrary.code, 'payment_intent.canceled');
});

test('the sim refuses a request with the wrong API key (its check is real); 401 is NOT_SENT', async () => {
  k.setParams({ api_key: 'stripe_wrong_key' });
  try {
    const o = order();
    const r = await k.exchange('pay', o);
    assert.equal(r.http_status, 401);
    assert.equal(r.class, 'NOT_SENT', JSON.stringify(r));
    const c = await k.simGet('/_sim/counts', { out_trade_no: '' });
    assert.ok(c.json.bad_sign >= 1, JSON.stringify(c.json));
    const orders = await k.simGet('/_sim/orders', { out_trade_no: o.out_trade_no });
    assert.equal(orders.status, 404);
  } finally {
    k.setParams({});
  }
});

test('no simulator-internal errors', async () => {
  const e = await k.simGet('/_sim/errors');
  assert.deepEqual(e.json.errors, []);
});
