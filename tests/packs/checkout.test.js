'use strict';
// Conformance of the checkout pack (templates/checkout.lua, scripts/checkout.lua) against
// the simulator's Checkout.com plugin (tests/sim/lib/channels/checkout.js), through
// `paygwctl channel`. Every op (pay, query, cancel, refund, refund_query) meets success,
// definite failure (where the API has one), unknown code, not-found, 5xx, garbage, "bad
// signature", delay beyond the timeout and a dropped connection; webhooks valid / forged /
// duplicate / contrary; a wrong secret key is refused by the sim (401 -> NOT_SENT).
// Voids and refunds are asynchronous (202 "accepted" stays PROCESSING): the void is final
// when the payment reads Voided, the refund when its action is approved or declined.
// Checkout.com signs no API answer: the sim's `badsign` answers another order's payment
// (or a refund action of another amount), which the pack must refuse.
// Run: node --test tests/packs/checkout.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const kit = require('./lib');

const SECRET = `sk_sbox_${crypto.randomBytes(14).toString('hex')}`;
const WHSEC = crypto.randomBytes(24).toString('hex');
const SHORT = 800;
const TRANSPORT = ['5xx', 'garbage', 'badsign'];
const SLOW = [`delay:${SHORT * 3}`, 'timeout', 'drop'];
let k;

test.before(async () => {
  k = await kit.start({
    channel: 'checkout',
    keys({ simDir, keystore }) {
      fs.writeFileSync(path.join(simDir, 'secret_key.txt'), SECRET);
      fs.writeFileSync(path.join(simDir, 'webhook_secret.txt'), WHSEC);
      fs.writeFileSync(path.join(keystore, 'cko_secret.secret'), `${SECRET}\n`);
      fs.writeFileSync(path.join(keystore, 'cko_whsec.secret'), `${WHSEC}\n`);
      fs.writeFileSync(path.join(keystore, 'cko_wrong.secret'), 'sk_sbox_not_the_key\n');
    },
    params: { secret_key: 'cko_secret', webhook_secret: 'cko_whsec', processing_channel_id: 'pc_conformance' },
    endpoint: (base) => `${base}/checkout`,
  });
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return {
    out_trade_no: kit.tradeNo('C'), amount: 1000, currency: 'EUR', subject: 'conformance', method: 'checkout.card',
    notify_url: k.notifyUrl, extra: { payment_method: 'tok_4gzeau5o2uqubbk6fufs3m7p54' }, ...extra,
  };
}

async function authorized() {
  const o = order();
  const r = await k.exchange('pay', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  return { ...o, channel_trade_no: r.fields.channel_trade_no };
}

async function captured() {
  const o = await authorized();
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  return o;
}

const refundOf = (o) => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 400 } });
const keyOf = (op, o) => (op === 'refund' ? o.refund.out_refund_no : o.out_trade_no);

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

test('pay: Authorized (approved, 10000); Cko-Idempotency-Key makes a resend the same payment', async () => {
  const o = order();
  const r = await run('pay', o, 'success');
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal(r.code, 'Authorized');
  const again = await k.exchange('pay', o);
  assert.equal(again.fields.channel_trade_no, r.fields.channel_trade_no);
  const reqs = await k.simGet('/_sim/requests', { out_trade_no: o.out_trade_no });
  assert.deepEqual(reqs.json.requests.map((q) => q.headers['cko-idempotency-key']), [`paygw-pay-${o.out_trade_no}`, `paygw-pay-${o.out_trade_no}`]);
  assert.ok(reqs.json.requests.every((q) => q.sign_ok && q.problems.length === 0), JSON.stringify(reqs.json.requests.map((q) => q.problems)));
});

test('pay: soft and hard declines, 422, unknown, 3DS pending, not found, 5xx, garbage, another order', async () => {
  await expectAll('pay', () => order(), [
    ['fail', 'FAILED', 'Declined:20xxx'], ['closed', 'FAILED', 'Declined:30xxx'], ['rejected', 'NOT_SENT', 'request_invalid'],
    ['unknown', 'PROCESSING'], ['processing', 'PROCESSING', 'Pending'], ['not_found', 'PROCESSING', 'http404'],
    ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
});

test('pay: delay beyond the timeout, timeout and a dropped connection are PROCESSING, never NOT_SENT', async () => {
  await expectAll('pay', () => order(), SLOW.map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
});

test('pay in progress (3DS Pending with a redirect), then the buyer pays: query says Captured', async () => {
  const o = order();
  const r = await run('pay', o, 'processing');
  assert.equal(r.class, 'PROCESSING');
  assert.equal(r.fields.credential.type, 'url');
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const q = await k.exchange('query', { ...o, channel_trade_no: r.fields.channel_trade_no });
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.code, 'Captured');
});

test('pay timed out: query without the id finds the payment by reference', async () => {
  const o = order();
  assert.equal((await run('pay', o, 'timeout', { timeoutMs: SHORT })).class, 'PROCESSING');
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal((await k.exchange('query', order())).class, 'NOT_FOUND');
});

test('query: Captured, Declined, Voided, Pending, unknown, not found, 5xx, garbage, another order, delay, drop', async () => {
  await expectAll('query', captured, [
    ['success', 'SUCCESS', 'Captured'], ['fail', 'FAILED', 'Declined'], ['closed', 'CLOSED', 'Voided'],
    ['processing', 'PROCESSING', 'Pending'], ['unknown', 'PROCESSING'], ['not_found', 'NOT_FOUND', 'http404'],
    ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  await expectAll('query', captured, SLOW.map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
});

test('cancel (void): 202 accepted stays PROCESSING, the payment then reads Voided (CLOSED); 403, unknown, 404, 5xx, garbage, delay, drop', async () => {
  await expectAll('cancel', authorized, [
    ['success', 'PROCESSING', 'accepted'], ['fail', 'PROCESSING', 'http403'], ['unknown', 'PROCESSING'],
    ['not_found', 'NOT_FOUND', 'http404'], ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  await expectAll('cancel', authorized, SLOW.map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
  const o = await authorized();
  await k.exchange('cancel', o);
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'CLOSED', JSON.stringify(q));
});

test('refund (202) then refund_query over the actions: approved, declined, not yet, unknown, 404, 5xx, garbage, other amount, delay, drop', async () => {
  const base = await captured();
  await expectAll('refund', () => refundOf(base), [
    ['success', 'PROCESSING', 'accepted'], ['fail', 'PROCESSING'], ['unknown', 'PROCESSING'],
    ['not_found', 'NOT_FOUND'], ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  await expectAll('refund', () => refundOf(base), SLOW.map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
  const withRefund = async () => {
    const p = await captured();
    const o = refundOf(p);
    const r = await k.exchange('refund', o);
    return { ...o, refund: { ...o.refund, channel_refund_no: r.fields.channel_refund_no } };
  };
  await expectAll('refund_query', withRefund, [
    ['success', 'SUCCESS', 'Refund:approved'], ['fail', 'FAILED', 'Refund:declined'], ['processing', 'NOT_FOUND', 'not_found'],
    ['unknown', 'PROCESSING'], ['not_found', 'NOT_FOUND', 'http404'], ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  await expectAll('refund_query', withRefund, SLOW.map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
  // a refund declined by the acquirer is FAILED only through its action
  const p = await captured();
  const o = refundOf(p);
  assert.equal((await run('refund', o, 'fail')).class, 'PROCESSING');
  assert.equal((await k.exchange('refund_query', o)).class, 'FAILED');
});

test('webhooks: valid, forged, duplicate, contrary', async () => {
  const o = await authorized();
  const n = await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  assert.equal(n.status, 200, n.text);
  const valid = await k.verifyLastNotify();
  assert.equal(valid.verified, true, JSON.stringify(valid));
  assert.equal(valid.class, 'SUCCESS');
  assert.equal(valid.code, 'payment_captured');
  assert.equal(valid.out_trade_no, o.out_trade_no);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'duplicate' });
  assert.deepEqual(await k.verifyLastNotify(), valid);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const forged = await k.verifyLastNotify();
  assert.equal(forged.verified, false);
  assert.equal(forged.class, 'PROCESSING');
  assert.equal(forged.ack.status, 401);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const contrary = await k.verifyLastNotify();
  assert.equal(contrary.verified, true);
  assert.equal(contrary.class, 'FAILED');
  assert.equal(contrary.code, 'payment_declined');
});

test('the sim refuses a request with the wrong secret key (its check is real); 401 is NOT_SENT', async () => {
  k.setParams({ secret_key: 'cko_wrong' });
  try {
    const o = order();
    const r = await k.exchange('pay', o);
    assert.equal(r.http_status, 401);
    assert.equal(r.class, 'NOT_SENT', JSON.stringify(r));
    const c = await k.simGet('/_sim/counts');
    assert.ok(c.json.bad_sign >= 1, JSON.stringify(c.json));
    assert.equal((await k.simGet('/_sim/orders', { out_trade_no: o.out_trade_no })).status, 404);
  } finally {
    k.setParams({});
  }
});

test('no simulator-internal errors', async () => {
  const e = await k.simGet('/_sim/errors');
  assert.deepEqual(e.json.errors, []);
});
