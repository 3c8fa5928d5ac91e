'use strict';
// Conformance of the paytm pack (templates/paytm.lua, scripts/paytm.lua) against the
// simulator's Paytm plugin (tests/sim/lib/channels/paytm.js, which checks every request with
// the official paytmchecksum SDK), through `paygwctl channel exchange|notify|test`. Every op
// (pay, query, refund, refund_query) meets success, definite failure, unknown code,
// not-found (queries), 5xx, garbage, bad answer checksum, delay beyond the timeout and a
// dropped connection; pay initiated then paid by query; callbacks valid / forged / duplicate
// / contrary; the sim refuses requests signed with the wrong merchant key.
// Run: node --test tests/packs/paytm.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const PaytmChecksum = require('../sim/node_modules/paytmchecksum');
const kit = require('./lib');

const KEY = crypto.randomBytes(12).toString('base64'); // 16 chars
const MID = 'PAYGWT00000000000001';
const SHORT = 800;
let k;

test.before(async () => {
  k = await kit.start({
    channel: 'paytm',
    keys({ simDir, keystore }) {
      fs.writeFileSync(path.join(simDir, 'merchant_key.txt'), KEY);
      fs.writeFileSync(path.join(keystore, 'paytm_key.secret'), KEY);
      fs.writeFileSync(path.join(keystore, 'paytm_wrong.secret'), 'WRONG_KEY_16_BYT');
    },
    params: { mid: MID, merchant_key: 'paytm_key', website: 'WEBSTAGING' },
    simArgs: ['--set', `paytm.mid=${MID}`],
  });
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return {
    out_trade_no: kit.tradeNo('P'), amount: 1000, currency: 'INR', subject: 'conformance',
    method: 'paytm.checkout', notify_url: k.notifyUrl, created_at_ms: Date.now(), ...extra,
  };
}
const keyOf = (op, o) => (op === 'refund' || op === 'refund_query' ? o.refund.out_refund_no : o.out_trade_no);

async function run(op, o, behaviour, opts = {}) {
  if (behaviour) {
    const s = await k.script({ out_trade_no: keyOf(op, o), [op]: behaviour });
    assert.equal(s.status, 200, s.text);
  }
  return k.exchange(op, o, opts);
}

async function lastRequest(key) {
  const r = await k.simGet('/_sim/requests', { out_trade_no: key });
  return r.json.requests[r.json.requests.length - 1];
}

async function paidOrder() {
  const o = order();
  const r = await run('pay', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const q = await run('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  return { ...o, channel_trade_no: q.fields.channel_trade_no };
}
const refundOf = (o) => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 400 } });

test('fixtures pass under paygwctl channel test', async () => {
  const r = await k.test();
  assert.equal(r.code, 0, r.stderr);
});

test('pay: txnToken credential; the request verifies with PaytmChecksum.verifySignature', async () => {
  const o = order();
  const r = await run('pay', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal(r.code, 'S:0000');
  assert.equal(r.fields.credential.type, 'client_secret');
  assert.ok(r.fields.credential.txn_token.length > 20);
  const req = await lastRequest(o.out_trade_no);
  assert.equal(req.sign_ok, true);
  const sent = JSON.parse(req.body);
  assert.equal(PaytmChecksum.verifySignature(req.sign_string, KEY, sent.head.signature), true);
  assert.equal(sent.body.txnAmount.value, '10.00');
  const again = await run('pay', o);
  assert.equal(again.code, 'S:0002');
  assert.equal(again.class, 'SUCCESS');
});

for (const [beh, cls, code] of [['fail', 'FAILED', 'F:2007'], ['processing', 'PROCESSING', 'F:501'], ['unknown', 'PROCESSING', 'F:9999'], ['badsign', 'PROCESSING']]) {
  test(`pay: ${beh} -> ${cls}`, async () => {
    const r = await run('pay', order(), beh);
    assert.equal(r.class, cls, JSON.stringify(r));
    if (code) assert.equal(r.code, code);
    if (beh === 'badsign') assert.match(r.error, /response signature invalid/);
  });
}

test('pay initiated, then PENDING, then paid by query', async () => {
  const o = order();
  assert.equal((await run('pay', o)).class, 'SUCCESS');
  const q1 = await run('query', o);
  assert.equal(q1.class, 'PROCESSING', JSON.stringify(q1));
  assert.equal(q1.code, 'PENDING:402');
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const q2 = await run('query', o);
  assert.equal(q2.class, 'SUCCESS', JSON.stringify(q2));
  assert.equal(q2.code, 'TXN_SUCCESS:01');
  assert.equal(q2.fields.amount, 1000);
});

for (const [beh, cls, code] of [['fail', 'FAILED', 'TXN_FAILURE:227'], ['closed', 'FAILED', 'TXN_FAILURE:810'], ['processing', 'PROCESSING', 'PENDING:402'], ['not_found', 'NOT_FOUND', 'TXN_FAILURE:334'], ['unknown', 'PROCESSING', 'TXN_FAILURE:7777'], ['badsign', 'PROCESSING']]) {
  test(`query: ${beh} -> ${cls}`, async () => {
    const o = order();
    await run('pay', o);
    const r = await run('query', o, beh);
    assert.equal(r.class, cls, JSON.stringify(r));
    if (code) assert.equal(r.code, code);
  });
}

test('query of an order Paytm never saw -> NOT_FOUND, never FAILED', async () => {
  const r = await run('query', order());
  assert.equal(r.class, 'NOT_FOUND', JSON.stringify(r));
});

test('refund: 601 pending, then refund status success', async () => {
  const o = refundOf(await paidOrder());
  const r = await run('refund', o);
  assert.equal(r.class, 'PROCESSING', JSON.stringify(r));
  assert.equal(r.code, 'PENDING:601');
  const q = await run('refund_query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.fields.amount, 400);
});

for (const [beh, cls, code] of [['fail', 'FAILED', 'TXN_FAILURE:619'], ['unknown', 'PROCESSING', 'TXN_FAILURE:6999'], ['badsign', 'PROCESSING']]) {
  test(`refund: ${beh} -> ${cls}`, async () => {
    const r = await run('refund', refundOf(await paidOrder()), beh);
    assert.equal(r.class, cls, JSON.stringify(r));
    if (code) assert.equal(r.code, code);
  });
}

for (const [beh, cls, code] of [['fail', 'FAILED', 'TXN_FAILURE:620'], ['processing', 'PROCESSING', 'PENDING:601'], ['not_found', 'NOT_FOUND', 'TXN_FAILURE:631'], ['unknown', 'PROCESSING', 'TXN_FAILURE:6999'], ['badsign', 'PROCESSING']]) {
  test(`refund_query: ${beh} -> ${cls}`, async () => {
    const o = refundOf(await paidOrder());
    await run('refund', o);
    const r = await run('refund_query', o, beh);
    assert.equal(r.class, cls, JSON.stringify(r));
    if (code) assert.equal(r.code, code);
  });
}

for (const op of ['pay', 'query', 'refund', 'refund_query']) {
  const mk = async () => {
    if (op === 'pay' || op === 'query') return order();
    const o = refundOf(await paidOrder());
    if (op === 'refund_query') await run('refund', o);
    return o;
  };
  test(`${op}: delay beyond the timeout, drop, 5xx, garbage -> PROCESSING`, async () => {
    const d = await run(op, await mk(), 'delay:3000', { timeoutMs: SHORT });
    assert.equal(d.class, 'PROCESSING', JSON.stringify(d));
    assert.notEqual(d.sent, 'NOT_SENT');
    for (const beh of ['drop', '5xx', 'garbage']) {
      const r = await run(op, await mk(), beh);
      assert.equal(r.class, 'PROCESSING', `${beh}: ${JSON.stringify(r)}`);
      assert.notEqual(r.sent, 'NOT_SENT');
    }
  });
}

test('the sim refuses a request signed with the wrong merchant key', async () => {
  k.setParams({ merchant_key: 'paytm_wrong' });
  try {
    const o = order();
    const r = await run('pay', o);
    assert.equal(r.class, 'PROCESSING', JSON.stringify(r));
    const req = await lastRequest(o.out_trade_no);
    assert.equal(req.sign_ok, false);
    assert.equal(req.behaviour, 'rejected:bad-checksum');
  } finally {
    k.setParams({});
  }
});

test('callbacks: valid, duplicate, forged, contrary', async () => {
  const o = order();
  await run('pay', o);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  const v1 = await k.verifyLastNotify();
  assert.equal(v1.verified, true, JSON.stringify(v1));
  assert.equal(v1.class, 'SUCCESS');
  assert.equal(v1.out_trade_no, o.out_trade_no);
  assert.equal(v1.fields.amount, 1000);
  assert.equal(v1.ack.status, 200);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'duplicate' });
  assert.deepEqual(await k.verifyLastNotify(), v1);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const v3 = await k.verifyLastNotify();
  assert.equal(v3.verified, false);
  assert.equal(v3.ack.status, 400);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const v4 = await k.verifyLastNotify();
  assert.equal(v4.verified, true, JSON.stringify(v4));
  assert.equal(v4.class, 'FAILED');
  assert.equal(v4.code, 'TXN_FAILURE:227');
});

test('no sim-internal errors', async () => {
  const r = await k.simGet('/_sim/errors');
  assert.deepEqual(r.json.errors, [], r.text);
});
