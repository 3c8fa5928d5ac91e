'use strict';
// Conformance of the square pack (templates/square.lua, scripts/square.lua) against the
// simulator's Square plugin (tests/sim/lib/channels/square.js), through `paygwctl channel`.
// Every op (pay, query, cancel, refund, refund_query) meets success, definite failure,
// unknown code, not-found, 5xx, garbage, "bad signature", delay beyond the timeout and a
// dropped connection; webhooks valid / forged / duplicate / contrary (signed over the
// notification URL + body); a wrong access token is refused by the sim (401 -> NOT_SENT).
// Square signs no API answer: the sim's `badsign` answers another order's payment (or a
// refund of another payment), which the pack must refuse (PROCESSING with an error).
// Run: node --test tests/packs/square.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const kit = require('./lib');

const TOKEN = `EAAAtest${crypto.randomBytes(16).toString('hex')}`;
const SIGKEY = crypto.randomBytes(16).toString('base64url');
const SHORT = 800;
const TRANSPORT = ['5xx', 'garbage', 'badsign'];
const SLOW = [`delay:${SHORT * 3}`, 'timeout', 'drop'];
let k;

test.before(async () => {
  k = await kit.start({
    channel: 'square',
    keys({ simDir, keystore }) {
      fs.writeFileSync(path.join(simDir, 'access_token.txt'), TOKEN);
      fs.writeFileSync(path.join(simDir, 'signature_key.txt'), SIGKEY);
      fs.writeFileSync(path.join(keystore, 'square_token.secret'), `${TOKEN}\n`);
      fs.writeFileSync(path.join(keystore, 'square_sigkey.secret'), `${SIGKEY}\n`);
      fs.writeFileSync(path.join(keystore, 'square_wrong_token.secret'), 'EAAAnot_the_token\n');
    },
    params: { access_token: 'square_token', location_id: 'L88917AVBK2S5', webhook_signature_key: 'square_sigkey' },
    endpoint: (base) => `${base}/square`,
  });
  // Square signs the subscription URL: the pack must know the exact one
  k.opts.params.notification_url = k.notifyUrl;
  k.setParams({});
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return {
    out_trade_no: kit.tradeNo('Q'), amount: 1000, currency: 'USD', subject: 'conformance', method: 'square.card',
    notify_url: k.notifyUrl, created_at_ms: Date.now(), extra: { payment_method: 'cnon:card-nonce-ok' }, ...extra,
  };
}

async function paid() {
  const o = order();
  const r = await k.exchange('pay', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  return { ...o, channel_trade_no: r.fields.channel_trade_no };
}

const idem = (kind, ref) => `pgw-${crypto.createHash('sha256').update(`${kind}:${ref}`).digest('hex').slice(0, 40)}`;
const refundOf = (o) => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 400 } });
const keyOf = (op, o) => (op.startsWith('refund') ? idem('refund', o.refund.out_refund_no) : o.out_trade_no);

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

test('pay: COMPLETED; the body passes the SDK serializer; a resend replays the same payment', async () => {
  const o = order();
  const r = await run('pay', o, 'success');
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal(r.code, 'COMPLETED');
  const again = await k.exchange('pay', o);
  assert.equal(again.fields.channel_trade_no, r.fields.channel_trade_no);
  const reqs = await k.simGet('/_sim/requests', { out_trade_no: o.out_trade_no });
  assert.ok(reqs.json.requests.every((q) => q.sign_ok), JSON.stringify(reqs.json.requests.map((q) => q.sign_string)));
  assert.ok(reqs.json.requests.every((q) => JSON.parse(q.body).idempotency_key === idem('pay', o.out_trade_no)));
});

test('pay: declined (FAILED payment), canceled, rejected, unknown, processing, not found, 5xx, garbage, another order', async () => {
  await expectAll('pay', () => order(), [
    ['fail', 'FAILED', 'FAILED'], ['closed', 'FAILED', 'CANCELED'],
    ['rejected', 'NOT_SENT', 'INVALID_REQUEST_ERROR:MISSING_REQUIRED_PARAMETER'],
    ['unknown', 'PROCESSING'], ['processing', 'PROCESSING', 'PENDING'], ['not_found', 'PROCESSING'],
    ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
});

test('pay: delay beyond the timeout, timeout and a dropped connection are PROCESSING, never NOT_SENT', async () => {
  await expectAll('pay', () => order(), SLOW.map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
});

test('pay in progress (PENDING), then the payment completes: query says COMPLETED', async () => {
  const o = order();
  const r = await run('pay', o, 'processing');
  assert.equal(r.class, 'PROCESSING');
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const q = await k.exchange('query', { ...o, channel_trade_no: r.fields.channel_trade_no });
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
});

test('pay timed out: query without the id finds it in ListPayments by reference_id', async () => {
  const o = order();
  const r = await run('pay', o, 'timeout', { timeoutMs: SHORT });
  assert.equal(r.class, 'PROCESSING');
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  const none = await k.exchange('query', order());
  assert.equal(none.class, 'NOT_FOUND', JSON.stringify(none));
});

test('query: COMPLETED, FAILED, CANCELED, PENDING, unknown, not found, 5xx, garbage, another order, delay, drop', async () => {
  await expectAll('query', paid, [
    ['success', 'SUCCESS', 'COMPLETED'], ['fail', 'FAILED', 'FAILED'], ['closed', 'CLOSED', 'CANCELED'],
    ['processing', 'PROCESSING', 'PENDING'], ['unknown', 'PROCESSING'],
    ['not_found', 'NOT_FOUND', 'INVALID_REQUEST_ERROR:NOT_FOUND'], ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  await expectAll('query', paid, SLOW.map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
});

test('cancel: an APPROVED payment is CANCELED; completed / unknown / not found / 5xx / garbage / another order / delay / drop', async () => {
  const approved = async () => {
    const o = order();
    const s = await k.script({ out_trade_no: o.out_trade_no, pay: 'processing' });
    assert.equal(s.status, 200);
    const r = await k.exchange('pay', o);
    return { ...o, channel_trade_no: r.fields.channel_trade_no };
  };
  await expectAll('cancel', approved, [
    ['success', 'SUCCESS', 'CANCELED'], ['fail', 'PROCESSING', 'INVALID_REQUEST_ERROR:BAD_REQUEST'],
    ['unknown', 'PROCESSING'], ['not_found', 'NOT_FOUND'], ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  await expectAll('cancel', approved, SLOW.map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
  const done = await paid();
  const late = await k.exchange('cancel', done);
  assert.equal(late.class, 'PROCESSING', 'a COMPLETED payment cannot be cancelled: refund it');
  const byKey = await approved();
  const r = await k.exchange('cancel', { ...byKey, channel_trade_no: undefined });
  assert.equal(r.class, 'PROCESSING');
  assert.equal(r.code, 'cancel_requested');
  const q = await k.exchange('query', byKey);
  assert.equal(q.class, 'CLOSED');
});

test('refund and refund_query: COMPLETED, REJECTED, FAILED, PENDING, unknown, not found, 5xx, garbage, another payment, delay, drop', async () => {
  const base = await paid();
  await expectAll('refund', () => refundOf(base), [
    ['success', 'SUCCESS', 'COMPLETED'], ['fail', 'FAILED', 'REJECTED'], ['processing', 'PROCESSING', 'PENDING'],
    ['unknown', 'PROCESSING'], ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  await expectAll('refund', () => refundOf(base), SLOW.map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
  const withRefund = async () => {
    const o = refundOf(base);
    const r = await k.exchange('refund', o);
    return { ...o, refund: { ...o.refund, channel_refund_no: r.fields.channel_refund_no } };
  };
  await expectAll('refund_query', withRefund, [
    ['success', 'SUCCESS', 'COMPLETED'], ['fail', 'FAILED', 'REJECTED'], ['closed', 'FAILED', 'FAILED'],
    ['processing', 'PROCESSING', 'PENDING'], ['unknown', 'PROCESSING'], ['not_found', 'NOT_FOUND'],
    ...TRANSPORT.map((b) => [b, 'PROCESSING']),
  ]);
  await expectAll('refund_query', withRefund, SLOW.map((b) => [b, 'PROCESSING']), { timeoutMs: SHORT });
});

test('webhooks: valid, forged, duplicate, contrary', async () => {
  const o = order();
  await run('pay', o, 'processing');
  const n = await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  assert.equal(n.status, 200, n.text);
  const valid = await k.verifyLastNotify();
  assert.equal(valid.verified, true, JSON.stringify(valid));
  assert.equal(valid.class, 'SUCCESS');
  assert.equal(valid.out_trade_no, o.out_trade_no);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'duplicate' });
  assert.deepEqual(await k.verifyLastNotify(), valid);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const forged = await k.verifyLastNotify();
  assert.equal(forged.verified, false);
  assert.equal(forged.class, 'PROCESSING');
  assert.equal(forged.ack.status, 400);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const contrary = await k.verifyLastNotify();
  assert.equal(contrary.verified, true);
  assert.equal(contrary.class, 'FAILED');
  // signed for another URL (a proxy rewrote it): refused
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid', notify_url: `${k.notifyUrl}?x=1` });
  const moved = await k.verifyLastNotify();
  assert.equal(moved.verified, false);
});

test('the sim refuses a request with the wrong access token (its check is real); 401 is NOT_SENT', async () => {
  k.setParams({ access_token: 'square_wrong_token' });
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
