'use strict';
// Conformance of the adyen pack (templates/adyen.lua, scripts/adyen.lua) against the
// simulator's Adyen plugin (tests/sim/lib/channels/adyen.js), through `paygwctl channel`.
// Every op (pay, cancel, refund) meets success, definite failure, unknown code, 5xx,
// garbage, delay beyond the timeout and a dropped connection; webhooks valid / forged /
// duplicate / contrary; a wrong API key is refused by the sim (401 000 -> NOT_SENT).
// Adyen has no query API and signs no API answer: "not found on query" and "bad response
// signature" do not exist for this channel (docs/channels/adyen.md); the pay's
// in-progress-then-success goes Received -> AUTHORISATION webhook.
// Run: node --test tests/packs/adyen.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const kit = require('./lib');

const API_KEY = `AQE_test_${crypto.randomBytes(12).toString('hex')}`;
const HMAC_KEY = crypto.randomBytes(32).toString('hex').toUpperCase();
const SHORT = 800;                       // --timeout-ms for delay / timeout cases
let k;

test.before(async () => {
  k = await kit.start({
    channel: 'adyen',
    keys({ simDir, keystore }) {
      fs.writeFileSync(path.join(simDir, 'api_key.txt'), API_KEY);
      fs.writeFileSync(path.join(simDir, 'hmac_key.txt'), HMAC_KEY);
      fs.writeFileSync(path.join(keystore, 'adyen_api_key.secret'), `${API_KEY}\n`);
      fs.writeFileSync(path.join(keystore, 'adyen_hmac.secret'), `${HMAC_KEY}\n`);
      fs.writeFileSync(path.join(keystore, 'adyen_wrong_key.secret'), 'AQE_not_the_key\n');
    },
    params: { merchant_account: 'TestMerchant', api_key: 'adyen_api_key', hmac_key: 'adyen_hmac' },
    endpoint: (base) => `${base}/adyen/v71`,
  });
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return {
    out_trade_no: kit.tradeNo('A'), amount: 1000, currency: 'EUR', subject: 'conformance',
    method: 'adyen.card', notify_url: k.notifyUrl,
    extra: { payment_method: { type: 'scheme', encryptedCardNumber: 'test_4111111111111111' } },
    ...extra,
  };
}

async function paid() {
  const o = order();
  const r = await k.exchange('pay', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  return { ...o, channel_trade_no: r.fields.channel_trade_no };
}

const refundOf = (o) => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 400 } });

async function run(op, o, behaviour, opts = {}) {
  const key = op === 'refund' ? o.refund.out_refund_no : o.out_trade_no;
  const s = await k.script({ out_trade_no: key, [op]: behaviour });
  assert.equal(s.status, 200, s.text);
  return k.exchange(op, o, opts);
}

test('fixtures pass under paygwctl channel test', async () => {
  const r = await k.test();
  assert.equal(r.code, 0, r.stderr);
});

test('pay: Authorised -> SUCCESS with the pspReference', async () => {
  const r = await run('pay', order(), 'success');
  assert.equal(r.class, 'SUCCESS');
  assert.equal(r.code, 'Authorised');
  assert.match(r.fields.channel_trade_no, /^[0-9A-F]{16}$/);
});

const TRANSPORT = [
  ['5xx', 'PROCESSING'], ['garbage', 'PROCESSING'], ['unknown', 'PROCESSING'],
];

test('pay: definite failure, unknown code, 5xx, garbage', async () => {
  for (const [b, cls, code] of [['fail', 'FAILED', 'Refused'], ['closed', 'FAILED', 'Cancelled'],
    ['result:Error', 'PROCESSING', 'Error'], ['result:Pending', 'PROCESSING', 'Pending'], ...TRANSPORT]) {
    const r = await run('pay', order(), b);
    assert.equal(r.class, cls, `${b}: ${JSON.stringify(r)}`);
    if (code) assert.equal(r.code, code, b);
  }
});

test('pay: bad response signature does not apply (Adyen signs no answer): badsign = plain success', async () => {
  const r = await run('pay', order(), 'badsign');
  assert.equal(r.class, 'SUCCESS');
});

test('pay: delay beyond the timeout and a dropped connection are PROCESSING, never NOT_SENT', async () => {
  for (const b of [`delay:${SHORT * 3}`, 'timeout', 'drop']) {
    const r = await run('pay', order(), b, { timeoutMs: SHORT });
    assert.equal(r.class, 'PROCESSING', `${b}: ${JSON.stringify(r)}`);
    assert.notEqual(r.sent, 'NOT_SENT', b);
  }
});

test('pay: a prepay redirect gives the redirect URL; the details op (/payments/details) completes it', async () => {
  const o = order({ method: 'adyen.redirect', extra: { payment_method: { type: 'ideal' }, return_url: 'https://shop.example/r' } });
  const r = await run('pay', o, 'success');
  assert.equal(r.code, 'prepay:RedirectShopper');
  assert.equal(r.fields.credential.type, 'url');
  const rr = new URL(r.fields.credential.url).searchParams.get('redirectData');
  // the next leg of the same payment: the details op (POST /v1/payments/{no}/details)
  const d = await k.exchange('details', { ...o, details: { details: { redirectResult: rr } } });
  assert.equal(d.class, 'SUCCESS', JSON.stringify(d));
  assert.equal(d.code, 'Authorised');
  // a redirectResult Adyen never issued: 422, PROCESSING (the webhook still decides)
  const bad = await k.exchange('details', { ...o, details: { details: { redirectResult: 'rrforged00' } } });
  assert.equal(bad.class, 'PROCESSING', JSON.stringify(bad));
  assert.equal(bad.code, '422:14_006');
});

test('pay: in progress (Received), then the AUTHORISATION webhook says success', async () => {
  const o = order();
  const r = await run('pay', o, 'processing');
  assert.equal(r.class, 'PROCESSING');
  assert.equal(r.code, 'Received');
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const n = await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  assert.equal(n.status, 200, n.text);
  const v = await k.verifyLastNotify();
  assert.equal(v.verified, true, JSON.stringify(v));
  assert.equal(v.class, 'SUCCESS');
  assert.equal(v.out_trade_no, o.out_trade_no);
  assert.equal(v.ack.body, '[accepted]');
});

for (const op of ['cancel', 'refund']) {
  test(`${op}: 'received' stays PROCESSING (outcome by webhook); 422, unknown, 5xx, garbage too`, async () => {
    const base = await paid();
    for (const b of ['success', 'fail', 'not_found', 'unknown', '5xx', 'garbage', 'badsign']) {
      const o = op === 'refund' ? refundOf(base) : base;
      const r = await run(op, o, b);
      assert.equal(r.class, 'PROCESSING', `${op} ${b}: ${JSON.stringify(r)}`);
      if (b === 'success') assert.equal(r.code, 'received');
      if (b === 'fail') assert.equal(r.code, '422:167');
    }
  });

  test(`${op}: delay beyond the timeout and a dropped connection are PROCESSING`, async () => {
    const base = await paid();
    for (const b of [`delay:${SHORT * 3}`, 'drop']) {
      const o = op === 'refund' ? refundOf(base) : base;
      const r = await run(op, o, b, { timeoutMs: SHORT });
      assert.equal(r.class, 'PROCESSING', `${op} ${b}`);
      assert.notEqual(r.sent, 'NOT_SENT');
    }
  });

  test(`${op}: 401 000 (the API refused the key) is NOT_SENT`, async () => {
    const base = await paid();
    const o = op === 'refund' ? refundOf(base) : base;
    const r = await run(op, o, 'error:401:000');
    assert.equal(r.class, 'NOT_SENT');
  });
}

test('cancel without a pspReference goes to /cancels by our reference', async () => {
  const base = await paid();
  const r = await k.exchange('cancel', { ...base, channel_trade_no: undefined });
  assert.equal(r.class, 'PROCESSING');
  assert.equal(r.code, 'received');
  const reqs = await k.simGet('/_sim/requests', { out_trade_no: base.out_trade_no });
  assert.ok(reqs.json.requests.some((q) => /\/cancels$/.test(q.path || q.url || '') || q.method === 'adyen.cancels'));
});

test('refund webhook names the order and the refund', async () => {
  const o = refundOf(await paid());
  await k.exchange('refund', o);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid', event: 'REFUND' });
  const v = await k.verifyLastNotify();
  assert.equal(v.verified, true);
  assert.equal(v.class, 'SUCCESS');
  assert.equal(v.fields.kind, 'refund');
  assert.equal(v.fields.out_refund_no, o.refund.out_refund_no);
});

test('webhooks: valid, forged, duplicate, contrary', async () => {
  const o = await paid();
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  const valid = await k.verifyLastNotify();
  assert.equal(valid.verified, true);
  assert.equal(valid.class, 'SUCCESS');
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'duplicate' });
  const dup = await k.verifyLastNotify();
  assert.deepEqual({ ...dup }, { ...valid });
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const forged = await k.verifyLastNotify();
  assert.equal(forged.verified, false);
  assert.equal(forged.class, 'PROCESSING');
  assert.equal(forged.ack.status, 401);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const contrary = await k.verifyLastNotify();
  assert.equal(contrary.verified, true);
  assert.equal(contrary.class, 'FAILED');
  assert.equal(contrary.code, 'AUTHORISATION:false');
});

test('the sim refuses a request with the wrong API key (its check is real)', async () => {
  k.setParams({ api_key: 'adyen_wrong_key' });
  try {
    const o = order();
    const r = await k.exchange('pay', o);
    assert.equal(r.class, 'NOT_SENT', JSON.stringify(r));
    assert.equal(r.code, '401:000');
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
