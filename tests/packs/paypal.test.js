'use strict';
// Conformance of the paypal pack (templates/paypal.lua, scripts/paypal.lua) against the
// simulator's PayPal plugin (tests/sim/lib/channels/paypal.js), through `paygwctl channel`
// (which fetches the OAuth2 token with the pack's own `token` op first, as paygwd does).
// Every op (token, pay, capture, query, refund, refund_query) meets success, definite
// failure, unknown code, not found, 5xx, garbage, "bad signature" (PayPal signs no API
// answer: the sim's badsign is a success about another order), delay beyond the timeout
// and a dropped connection; an expired token (401) stays PROCESSING and marks
// auth_expired. Webhooks: valid, forged, duplicate, contrary, and a certificate URL off
// paypal.com. A wrong client secret is refused by the sim (no token, nothing sent).
// Run: node --test tests/packs/paypal.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const kit = require('./lib');

const UP = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const rnd = (n) => Array.from(crypto.randomBytes(n), (x) => UP[x % UP.length]).join('');
const CLIENT_ID = `A${rnd(30)}`;
const CLIENT_SECRET = `E${rnd(30)}`;
const WEBHOOK_ID = rnd(17);
const CERT_URL = `https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-${rnd(8).toLowerCase()}`;
const SHORT = 800;
let k;

test.before(async () => {
  k = await kit.start({
    channel: 'paypal',
    keys({ simDir, keystore }) {
      fs.writeFileSync(path.join(simDir, 'client_id.txt'), CLIENT_ID);
      fs.writeFileSync(path.join(simDir, 'client_secret.txt'), CLIENT_SECRET);
      fs.writeFileSync(path.join(simDir, 'webhook_id.txt'), WEBHOOK_ID);
      fs.writeFileSync(path.join(simDir, 'cert_url.txt'), CERT_URL);
      const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      fs.writeFileSync(path.join(simDir, 'webhook_private.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      execFileSync('openssl', ['req', '-x509', '-key', path.join(simDir, 'webhook_private.pem'), '-days', '2',
        '-subj', '/CN=messageverificationcerts.sandbox.paypal.com', '-out', path.join(simDir, 'webhook_cert.pem')], { stdio: 'ignore' });
      fs.copyFileSync(path.join(simDir, 'webhook_cert.pem'), path.join(keystore, 'paypal_webhook_cert.pem'));
      fs.writeFileSync(path.join(keystore, 'paypal_client_secret.secret'), `${CLIENT_SECRET}\n`);
      fs.writeFileSync(path.join(keystore, 'paypal_wrong_secret.secret'), 'EnotTheSecretPayPalGaveUs\n');
    },
    params: {
      client_id: CLIENT_ID, client_secret: 'paypal_client_secret', webhook_id: WEBHOOK_ID,
      webhook_cert: 'paypal_webhook_cert', webhook_cert_url: CERT_URL,
      return_url: 'https://shop.example/return', cancel_url: 'https://shop.example/cancel',
    },
    endpoint: (base) => `${base}/paypal`,
  });
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return { out_trade_no: kit.tradeNo('P'), amount: 1000, currency: 'USD', subject: 'conformance',
    method: 'paypal.checkout', notify_url: k.notifyUrl, ...extra };
}

async function run(op, o, behaviour, opts = {}) {
  const key = op === 'refund' || op === 'refund_query' ? o.refund.out_refund_no : op === 'token' ? 'oauth2' : o.out_trade_no;
  const s = await k.script({ out_trade_no: key, [op]: behaviour });
  assert.equal(s.status, 200, s.text);
  return k.exchange(op, o, opts);
}

async function created() {
  const o = order();
  const r = await k.exchange('pay', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  return { ...o, channel_trade_no: r.fields.channel_trade_no };
}

async function approved() {
  const o = await created();
  assert.equal((await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no })).status, 200);
  return o;
}

async function captured() {
  const o = await approved();
  const r = await k.exchange('capture', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  return { ...o, extra: { capture_id: r.fields.capture_id } };
}

const refundOf = (o, amount = 400) => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount } });

async function refunded() {
  const ro = refundOf(await captured());
  const r = await k.exchange('refund', ro);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  return { ...ro, refund: { ...ro.refund, channel_refund_no: r.fields.channel_refund_no } };
}

const COMMON = [['unknown', 'PROCESSING'], ['5xx', 'PROCESSING'], ['garbage', 'PROCESSING'],
  ['badsign', 'PROCESSING'], ['expired_token', 'PROCESSING']];

async function slow(op, make) {
  for (const b of [`delay:${SHORT * 3}`, 'timeout', 'drop']) {
    const r = await run(op, await make(), b, { timeoutMs: SHORT });
    assert.equal(r.class, 'PROCESSING', `${op} ${b}: ${JSON.stringify(r)}`);
    assert.notEqual(r.sent, 'NOT_SENT', `${op} ${b}`);
  }
}

async function table(op, make, rows) {
  for (const [b, cls, code] of rows) {
    const r = await run(op, await make(), b);
    assert.equal(r.class, cls, `${op} ${b}: ${JSON.stringify(r)}`);
    if (code) assert.equal(r.code, code, `${op} ${b}`);
    if (b === 'expired_token') assert.equal(r.fields.auth_expired, true, `${op} ${b}`);
    if (b === 'badsign') assert.match(r.error, /another (order|refund)/, `${op} ${b}`);
  }
}

test('fixtures pass under paygwctl channel test', async () => {
  const r = await k.test();
  assert.equal(r.code, 0, r.stderr);
});

test('token: issued -> SUCCESS with access_token and expires_in; refused / unknown stay PROCESSING', async () => {
  const r = await run('token', {}, 'success');
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.match(r.fields.access_token, /^A21AA/);
  assert.equal(r.fields.expires_in, 32400);
  for (const b of ['fail', 'unknown', '5xx', 'garbage']) {
    const x = await run('token', {}, ['success', b]);    // the first call is paygwctl's own ctx.token
    assert.equal(x.class, 'PROCESSING', `${b}: ${JSON.stringify(x)}`);
  }
  await k.script({ out_trade_no: 'oauth2', token: 'success' });
});

test('a wrong client secret is refused by the sim: no token, nothing else sent', async () => {
  k.setParams({ client_secret: 'paypal_wrong_secret' });
  const o = order();
  try {
    await assert.rejects(k.exchange('pay', o), /no token/);
  } finally {
    k.setParams({});
  }
  const c = (await k.simGet('/_sim/counts', { out_trade_no: 'oauth2' })).json;
  assert.ok(JSON.stringify(c).includes('"bad_sign"'), JSON.stringify(c));
  const reqs = (await k.simGet('/_sim/requests', { out_trade_no: o.out_trade_no })).json.requests;
  assert.equal(reqs.length, 0);
  assert.equal((await k.exchange('pay', order())).class, 'SUCCESS');
});

test('pay: order created -> SUCCESS with the payer-action URL, PayPal-Request-Id pay-<out_trade_no>', async () => {
  const o = order();
  const r = await run('pay', o, 'success');
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal(r.code, 'PAYER_ACTION_REQUIRED');
  assert.equal(r.fields.credential.type, 'url');
  assert.match(r.fields.credential.url, /checkoutnow\?token=/);
  const reqs = (await k.simGet('/_sim/requests', { out_trade_no: o.out_trade_no })).json.requests;
  assert.equal(reqs[0].headers['paypal-request-id'], `pay-${o.out_trade_no}`);
  assert.equal(reqs[0].sign_ok, true);
});

test('pay: 422 FAILED; not found, unknown, 5xx, garbage, another order, expired token PROCESSING', async () => {
  await table('pay', async () => order(), [['fail', 'FAILED', 'UNPROCESSABLE_ENTITY:CURRENCY_NOT_SUPPORTED'],
    ['not_found', 'PROCESSING'], ['processing', 'PROCESSING', 'SAVED'], ...COMMON]);
  await slow('pay', async () => order());
});

test('pay: resent after a timeout -> the same order (PayPal-Request-Id)', async () => {
  const o = order();
  await run('pay', o, 'timeout', { timeoutMs: SHORT });
  const r = await run('pay', o, 'success');
  const view = (await k.simGet('/_sim/orders', { out_trade_no: o.out_trade_no })).json;
  assert.ok(JSON.stringify(view).includes(r.fields.channel_trade_no), JSON.stringify(view));
});

test('pay in progress, then success: query PAYER_ACTION_REQUIRED / APPROVED, capture, query COMPLETED', async () => {
  const o = await created();
  let q = await k.exchange('query', o);
  assert.equal(q.class, 'PROCESSING');
  assert.equal(q.code, 'PAYER_ACTION_REQUIRED');
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  q = await k.exchange('query', o);
  assert.equal(q.code, 'APPROVED');
  assert.equal(q.class, 'PROCESSING');
  const c = await k.exchange('capture', o);
  assert.equal(c.class, 'SUCCESS', JSON.stringify(c));
  assert.match(c.fields.capture_id, /^[A-Z0-9]{17}$/);
  q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.fields.amount, 1000);
  assert.ok(Number.isInteger(q.fields.paid_at_ms));
});

test('capture: COMPLETED SUCCESS; DECLINED FAILED; PENDING PROCESSING; not approved NOT_SENT (nothing captured); 404; a resend is the same capture', async () => {
  await table('capture', approved, [['success', 'SUCCESS', 'COMPLETED'], ['fail', 'FAILED', 'DECLINED'],
    ['processing', 'PROCESSING', 'PENDING'], ['not_found', 'NOT_FOUND'], ...COMMON]);
  let r = await k.exchange('capture', await created());
  // refused before anything was captured: the host may capture again after approval
  assert.equal(r.class, 'NOT_SENT');
  assert.equal(r.code, 'UNPROCESSABLE_ENTITY:ORDER_NOT_APPROVED');
  // a resent capture carries the same PayPal-Request-Id: PayPal answers the first capture
  // again (no second capture); ORDER_ALREADY_CAPTURED (another request id) is a fixture case
  const done = await captured();
  r = await k.exchange('capture', done);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal(r.fields.capture_id, done.extra.capture_id);
  await slow('capture', approved);
});

test('query: COMPLETED SUCCESS, declined capture FAILED, VOIDED CLOSED, 404 NOT_FOUND, others PROCESSING', async () => {
  const o = await captured();
  await table('query', async () => o, [['success', 'SUCCESS', 'COMPLETED'], ['fail', 'FAILED', 'COMPLETED:DECLINED'],
    ['closed', 'CLOSED', 'VOIDED'], ['processing', 'PROCESSING', 'APPROVED'],
    ['not_found', 'NOT_FOUND', 'RESOURCE_NOT_FOUND:INVALID_RESOURCE_ID'], ...COMMON]);
  await slow('query', async () => o);
  const r = await k.exchange('query', order({ channel_trade_no: 'NEVERISSUED00000X' }));
  assert.equal(r.class, 'NOT_FOUND', JSON.stringify(r));
});

test('refund: COMPLETED SUCCESS; 422 exceeded FAILED; PENDING PROCESSING; 404 NOT_FOUND', async () => {
  const o = await captured();
  await table('refund', async () => refundOf(o, 100), [['success', 'SUCCESS', 'COMPLETED'],
    ['fail', 'FAILED', 'UNPROCESSABLE_ENTITY:REFUND_AMOUNT_EXCEEDED'], ['processing', 'PROCESSING', 'PENDING'],
    ['not_found', 'NOT_FOUND'], ...COMMON]);
  await slow('refund', async () => refundOf(o, 100));
});

test('refund_query: COMPLETED SUCCESS; FAILED / CANCELLED FAILED; PENDING PROCESSING; 404 NOT_FOUND', async () => {
  const ro = await refunded();
  await table('refund_query', async () => ro, [['success', 'SUCCESS', 'COMPLETED'], ['fail', 'FAILED', 'FAILED'],
    ['closed', 'FAILED', 'CANCELLED'], ['processing', 'PROCESSING', 'PENDING'], ['not_found', 'NOT_FOUND'], ...COMMON]);
  await slow('refund_query', async () => ro);
});

test('webhooks: valid verified SUCCESS; duplicate the same; contrary verified FAILED; forged not verified', async () => {
  const o = await approved();
  let n = await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  assert.equal(n.status, 200, n.text);
  const valid = await k.verifyLastNotify();
  assert.equal(valid.verified, true, JSON.stringify(valid));
  assert.equal(valid.class, 'SUCCESS');
  assert.equal(valid.code, 'PAYMENT.CAPTURE.COMPLETED');
  assert.equal(valid.out_trade_no, o.out_trade_no);
  assert.equal(valid.fields.amount, 1000);
  assert.equal(valid.ack.status, 200);
  n = await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'duplicate' });
  const dup = await k.verifyLastNotify();
  assert.deepEqual(dup, valid);
  n = await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const contrary = await k.verifyLastNotify();
  assert.equal(contrary.verified, true, JSON.stringify(contrary));
  assert.equal(contrary.class, 'FAILED');
  assert.equal(contrary.code, 'PAYMENT.CAPTURE.DENIED');
  n = await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const forged = await k.verifyLastNotify();
  assert.equal(forged.verified, false);
  assert.equal(forged.class, 'PROCESSING');
  assert.match(forged.error, /signature invalid/);
  assert.equal(forged.ack.status, 400);
});

test('webhooks: a PAYPAL-CERT-URL off paypal.com, or naming another certificate, is refused', async () => {
  const o = await approved();
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  const last = k.receiver.requests.at(-1);
  const base = { body: last.body, contentType: 'application/json' };
  for (const [url, why] of [
    [CERT_URL.replace('api.sandbox.paypal.com', 'api.sandbox.paypal.com.evil.example'), /not a paypal.com/],
    [CERT_URL.replace('https:', 'http:'), /not a paypal.com/],
    [`${CERT_URL}x`, /another certificate/]]) {
    const v = await k.verifyNotify({ ...base, headers: { ...last.headers, 'paypal-cert-url': url } });
    assert.equal(v.verified, false, url);
    assert.match(v.error, why, url);
  }
  const ok = await k.verifyNotify({ ...base, headers: last.headers });
  assert.equal(ok.verified, true);
  const tampered = await k.verifyNotify({ ...base, body: Buffer.from(last.body.toString().replace('"10.00"', '"1.00"')), headers: last.headers });
  assert.equal(tampered.verified, false);
});
