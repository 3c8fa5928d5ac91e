'use strict';
// Conformance of the razorpay pack (templates/razorpay.lua, scripts/razorpay.lua) against
// the simulator's Razorpay plugin (tests/sim/lib/channels/razorpay.js), through
// `paygwctl channel`. Every op (pay, query, capture, refund, refund_query) meets success,
// definite failure, unknown code, not-found (queries), 5xx, garbage, delay beyond the
// timeout and a dropped connection; pay in-progress then success by query; webhooks
// valid / forged / duplicate / contrary and the Checkout callback; a wrong key_secret is
// refused by the sim (401 -> NOT_SENT). Razorpay signs no API answer: "bad response
// signature" does not exist for this channel (docs/channels/razorpay.md).
// Run: node --test tests/packs/razorpay.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const kit = require('./lib');

const KEY_ID = `rzp_test_${crypto.randomBytes(6).toString('hex')}`;
const KEY_SECRET = crypto.randomBytes(18).toString('base64url');
const WH_SECRET = crypto.randomBytes(16).toString('hex');
const SHORT = 800;
let k;

test.before(async () => {
  k = await kit.start({
    channel: 'razorpay',
    keys({ simDir, keystore }) {
      fs.writeFileSync(path.join(simDir, 'key_id.txt'), KEY_ID);
      fs.writeFileSync(path.join(simDir, 'key_secret.txt'), KEY_SECRET);
      fs.writeFileSync(path.join(simDir, 'webhook_secret.txt'), WH_SECRET);
      fs.writeFileSync(path.join(keystore, 'rzp_key_secret.secret'), `${KEY_SECRET}\n`);
      fs.writeFileSync(path.join(keystore, 'rzp_webhook.secret'), `${WH_SECRET}\n`);
      fs.writeFileSync(path.join(keystore, 'rzp_wrong.secret'), 'not-the-secret\n');
    },
    params: { key_id: KEY_ID, key_secret: 'rzp_key_secret', webhook_secret: 'rzp_webhook' },
    endpoint: (base) => `${base}/razorpay/v1`,
  });
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return {
    out_trade_no: kit.tradeNo('Z'), amount: 50000, currency: 'INR', subject: 'conformance',
    method: 'razorpay.checkout', expire_seconds: 900, created_at_ms: Date.now(), notify_url: k.notifyUrl, ...extra,
  };
}

async function created(extra) {
  const o = order(extra);
  const r = await k.exchange('pay', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  return { ...o, channel_trade_no: r.fields.channel_trade_no };
}

async function captured() {
  const o = await created();
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  return { ...o, channel_trade_no: q.fields.channel_trade_no };
}

const keyOf = (op, o) => (op.startsWith('refund') ? o.refund.out_refund_no : o.out_trade_no);
async function run(op, o, behaviour, opts = {}) {
  const s = await k.script({ out_trade_no: keyOf(op, o), [op]: behaviour });
  assert.equal(s.status, 200, s.text);
  return k.exchange(op, o, opts);
}

async function transportCases(op, o) {
  for (const [b, opts] of [['5xx', {}], ['garbage', {}], [`delay:${SHORT * 3}`, { timeoutMs: SHORT }], ['drop', {}], ['timeout', { timeoutMs: SHORT }]]) {
    const r = await run(op, o, b, opts);
    assert.equal(r.class, 'PROCESSING', `${op} ${b}: ${JSON.stringify(r)}`);
    assert.notEqual(r.sent, 'NOT_SENT', `${op} ${b}`);
  }
}

test('fixtures pass under paygwctl channel test', async () => {
  const r = await k.test();
  assert.equal(r.code, 0, r.stderr);
});

test('pay: order created -> Checkout credential (prepay SUCCESS)', async () => {
  const o = order();
  const r = await run('pay', o, 'success');
  assert.equal(r.class, 'SUCCESS');
  assert.equal(r.code, 'created');
  assert.equal(r.fields.credential.order_id, r.fields.channel_trade_no);
  assert.equal(r.fields.credential.key, KEY_ID);
});

test('pay: 400 (no order) FAILED, unknown status and 429 PROCESSING, transport PROCESSING', async () => {
  assert.equal((await run('pay', order(), 'fail')).class, 'FAILED');
  assert.equal((await run('pay', order(), 'unknown')).class, 'PROCESSING');
  assert.equal((await run('pay', order(), 'processing')).class, 'PROCESSING');
  assert.equal((await run('pay', order(), 'badsign')).class, 'SUCCESS');   // nothing signed to break
  for (let i = 0; i < 5; i++) await transportCases('pay', order());
});

test('pay in progress, then success by query; a timed-out create is found by receipt', async () => {
  const o = order();
  const r = await run('pay', o, 'timeout', { timeoutMs: SHORT });
  assert.equal(r.class, 'PROCESSING');
  const q1 = await k.exchange('query', o);                 // no id: GET /orders?receipt=
  assert.equal(q1.class, 'PROCESSING', JSON.stringify(q1));
  assert.equal(q1.code, 'created');
  const withId = { ...o, channel_trade_no: q1.fields.channel_trade_no };
  assert.equal((await k.exchange('query', withId)).code, 'no_payment');
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const q2 = await k.exchange('query', withId);
  assert.equal(q2.class, 'SUCCESS');
  assert.equal(q2.code, 'captured');
  assert.match(q2.fields.channel_trade_no, /^pay_/);
});

test('query: captured, authorized, unknown, not found, failed attempt vs failed after the window', async () => {
  const o = await captured();
  assert.equal((await run('query', o, 'success')).class, 'SUCCESS');
  assert.equal((await run('query', o, 'processing')).code, 'authorized');
  assert.equal((await run('query', o, 'unknown')).class, 'PROCESSING');
  const nf = await run('query', o, 'not_found');
  assert.equal(nf.class, 'NOT_FOUND');
  const lost = order();
  assert.equal((await k.exchange('query', lost)).class, 'NOT_FOUND');          // receipt unknown
  const fresh = await created();
  const a = await run('query', fresh, 'fail');
  assert.equal(a.class, 'PROCESSING');
  assert.equal(a.code, 'attempt_failed');
  const old = await created({ created_at_ms: Date.now() - 3600e3, expire_seconds: 60 });
  const f = await run('query', old, 'fail');
  assert.equal(f.class, 'FAILED', JSON.stringify(f));
  await transportCases('query', o);
});

test('capture: authorized -> captured SUCCESS; already captured / unknown PROCESSING', async () => {
  const o = await created();
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no, status: 'authorized' });
  const q = await k.exchange('query', o);
  assert.equal(q.code, 'authorized');
  const p = { ...o, channel_trade_no: q.fields.channel_trade_no };
  const c = await run('capture', p, 'success');
  assert.equal(c.class, 'SUCCESS', JSON.stringify(c));
  assert.equal((await run('capture', p, 'fail')).class, 'PROCESSING');
  assert.equal((await run('capture', p, 'unknown')).class, 'PROCESSING');
  assert.equal((await run('capture', p, 'not_found')).class, 'PROCESSING');
  await transportCases('capture', p);
});

test('refund and refund_query: processed, pending, failed, unknown, not found, transport', async () => {
  const o = await captured();
  const rf = (x = {}) => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 20000, ...x } });
  const r1 = rf();
  const a = await run('refund', r1, 'success');
  assert.equal(a.class, 'SUCCESS', JSON.stringify(a));
  assert.equal(a.code, 'processed');
  assert.equal((await run('refund', rf(), 'processing')).class, 'PROCESSING');
  assert.equal((await run('refund', rf(), 'refund_status:failed')).class, 'FAILED');
  assert.equal((await run('refund', rf(), 'unknown')).class, 'PROCESSING');
  assert.equal((await run('refund', rf(), 'fail')).class, 'PROCESSING');     // 400: not proof of anything
  await transportCases('refund', rf());
  const known = { ...r1, refund: { ...r1.refund, channel_refund_no: a.fields.channel_refund_no } };
  assert.equal((await run('refund_query', known, 'success')).class, 'SUCCESS');
  assert.equal((await run('refund_query', r1, 'success')).class, 'SUCCESS');   // by payment, matched by notes
  assert.equal((await run('refund_query', known, 'fail')).class, 'FAILED');
  assert.equal((await run('refund_query', known, 'processing')).class, 'PROCESSING');
  assert.equal((await run('refund_query', known, 'unknown')).class, 'PROCESSING');
  assert.equal((await run('refund_query', known, 'not_found')).class, 'NOT_FOUND');
  assert.equal((await k.exchange('refund_query', rf())).class, 'NOT_FOUND');    // never sent
  await transportCases('refund_query', known);
});

test('webhooks: valid, forged, duplicate, contrary; refund webhook names the refund', async () => {
  const o = await captured();
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  const valid = await k.verifyLastNotify();
  assert.equal(valid.verified, true, JSON.stringify(valid));
  assert.equal(valid.class, 'SUCCESS');
  assert.equal(valid.out_trade_no, o.out_trade_no);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'duplicate' });
  assert.deepEqual(await k.verifyLastNotify(), valid);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const forged = await k.verifyLastNotify();
  assert.equal(forged.verified, false);
  assert.equal(forged.ack.status, 400);
  // contrary of a paid order: payment.failed, which Razorpay sends per attempt -> PROCESSING
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const c1 = await k.verifyLastNotify();
  assert.equal(c1.verified, true);
  assert.equal(c1.code, 'payment.failed');
  assert.equal(c1.class, 'PROCESSING');
  // contrary of an unpaid order: payment.captured -> SUCCESS (the host opens a discrepancy)
  const u = await created();
  await k.simNotify({ out_trade_no: u.out_trade_no, kind: 'contrary' });
  const c2 = await k.verifyLastNotify();
  assert.equal(c2.verified, true);
  assert.equal(c2.class, 'SUCCESS');
  const r = { ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 100 } };
  await k.exchange('refund', r);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid', event: 'refund.processed' });
  const rn = await k.verifyLastNotify();
  assert.equal(rn.class, 'SUCCESS');
  assert.equal(rn.fields.kind, 'refund');
  assert.equal(rn.fields.out_refund_no, r.refund.out_refund_no);
});

test('Checkout callback: signed order_id|payment_id verified, forged refused', async () => {
  const o = await captured();
  const n = await k.sim('/_sim/notify', { out_trade_no: o.out_trade_no, kind: 'valid', event: 'checkout.callback',
    notify_url: `${k.notifyUrl}?out_trade_no=${o.out_trade_no}` });
  assert.equal(n.status, 200, n.text);
  const v = await k.verifyLastNotify();
  assert.equal(v.verified, true, JSON.stringify(v));
  assert.equal(v.code, 'checkout.callback');
  assert.equal(v.out_trade_no, o.out_trade_no);
  await k.sim('/_sim/notify', { out_trade_no: o.out_trade_no, kind: 'forged', event: 'checkout.callback',
    notify_url: `${k.notifyUrl}?out_trade_no=${o.out_trade_no}` });
  assert.equal((await k.verifyLastNotify()).verified, false);
});

test('the sim refuses a request with the wrong key_secret (its check is real)', async () => {
  k.setParams({ key_secret: 'rzp_wrong' });
  try {
    const o = order();
    const r = await k.exchange('pay', o);
    assert.equal(r.class, 'NOT_SENT', JSON.stringify(r));
    assert.equal(r.code, '401:BAD_REQUEST_ERROR');
    const c = await k.simGet('/_sim/counts', { out_trade_no: o.out_trade_no });
    assert.ok(c.json.bad_sign >= 1, JSON.stringify(c.json));
  } finally {
    k.setParams({});
  }
});

test('no sim-internal errors', async () => {
  const e = await k.simGet('/_sim/errors');
  assert.deepEqual(e.json.errors, []);
});
