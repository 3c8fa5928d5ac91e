'use strict';
// Conformance of the mollie pack (templates/mollie.lua, scripts/mollie.lua) against the
// simulator's Mollie plugin (tests/sim/lib/channels/mollie.js), through `paygwctl channel`.
// Every op (pay, query, close, refund, refund_query) meets success, definite failure,
// unknown code, not found, 5xx, garbage, "bad signature" (Mollie signs nothing: the sim's
// badsign is a success answer about another payment), delay beyond the timeout and a
// dropped connection. The webhook is unsigned by design: valid, forged, duplicate and
// contrary are all only hints naming the order (never verified, nothing applied; the
// query that follows decides). A wrong API key is refused by the sim (401 -> NOT_SENT).
// Our request bodies are compared with what Mollie's own client (@mollie/api-client)
// sends for the same payment / refund.
// Run: node --test tests/packs/mollie.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const https = require('node:https');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const kit = require('./lib');

const { createMollieClient } = require(path.join(kit.ROOT, 'tests', 'sim', 'node_modules', '@mollie', 'api-client'));

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const API_KEY = `test_${Array.from(crypto.randomBytes(30), (x) => ALNUM[x % ALNUM.length]).join('')}`;
const SHORT = 800;                       // --timeout-ms for delay / timeout cases
let k;

test.before(async () => {
  k = await kit.start({
    channel: 'mollie',
    keys({ simDir, keystore }) {
      fs.writeFileSync(path.join(simDir, 'api_key.txt'), `${API_KEY}\n`);
      fs.writeFileSync(path.join(keystore, 'mollie_api_key.secret'), `${API_KEY}\n`);
      fs.writeFileSync(path.join(keystore, 'mollie_wrong_key.secret'), 'test_notTheKeyMollieIssuedToUs0000\n');
    },
    params: { api_key: 'mollie_api_key', redirect_url: 'https://shop.example/return' },
    endpoint: (base) => `${base}/mollie/v2`,
  });
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return { out_trade_no: kit.tradeNo('M'), amount: 1000, currency: 'EUR', subject: 'conformance',
    method: 'mollie.checkout', notify_url: k.notifyUrl, ...extra };
}

async function run(op, o, behaviour, opts = {}) {
  const key = op.startsWith('refund') ? o.refund.out_refund_no : o.out_trade_no;
  const s = await k.script({ out_trade_no: key, [op]: behaviour });
  assert.equal(s.status, 200, s.text);
  return k.exchange(op, o, opts);
}

// a created payment (open) with its tr_ id
async function created() {
  const o = order();
  const r = await k.exchange('pay', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  return { ...o, channel_trade_no: r.fields.channel_trade_no };
}

// a paid payment with one refund (channel_refund_no known)
async function refunded(amount = 400) {
  const o = await created();
  assert.equal((await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no })).status, 200);
  const ro = { ...o, refund: { out_refund_no: kit.tradeNo('R'), amount } };
  const r = await k.exchange('refund', ro);
  assert.equal(r.code, 'pending', JSON.stringify(r));
  return { ...ro, refund: { ...ro.refund, channel_refund_no: r.fields.channel_refund_no } };
}

const COMMON = [['unknown', 'PROCESSING'], ['5xx', 'PROCESSING'], ['garbage', 'PROCESSING'], ['badsign', 'PROCESSING']];
const SLOW = [`delay:${SHORT * 3}`, 'timeout', 'drop'];

async function slow(op, make) {
  for (const b of SLOW) {
    const r = await run(op, await make(), b, { timeoutMs: SHORT });
    assert.equal(r.class, 'PROCESSING', `${op} ${b}: ${JSON.stringify(r)}`);
    assert.notEqual(r.sent, 'NOT_SENT', `${op} ${b}`);
  }
}

test('fixtures pass under paygwctl channel test', async () => {
  const r = await k.test();
  assert.equal(r.code, 0, r.stderr);
});

test('pay: open -> SUCCESS with the checkout URL (prepay: the order stays in progress)', async () => {
  const r = await run('pay', order(), 'success');
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal(r.code, 'open');
  assert.match(r.fields.channel_trade_no, /^tr_/);
  assert.equal(r.fields.credential.type, 'url');
  assert.match(r.fields.credential.url, /^https:\/\/www\.mollie\.com\/checkout\//);
});

test('pay: 422 FAILED; not found, unknown, 5xx, garbage, another payment PROCESSING', async () => {
  for (const [b, cls] of [['fail', 'FAILED'], ['not_found', 'PROCESSING'], ...COMMON]) {
    const r = await run('pay', order(), b);
    assert.equal(r.class, cls, `${b}: ${JSON.stringify(r)}`);
  }
  const r = await run('pay', order(), 'badsign');
  assert.match(r.error, /another payment/);
});

test('pay: delay beyond the timeout, timeout and a dropped connection are PROCESSING, never NOT_SENT', async () => {
  await slow('pay', async () => order());
});

test('pay: the same order resent (after a timeout) is the same payment (Idempotency-Key)', async () => {
  const o = order();
  await run('pay', o, 'timeout', { timeoutMs: SHORT });
  const r = await run('pay', o, 'success');
  const reqs = (await k.simGet('/_sim/requests', { out_trade_no: o.out_trade_no })).json.requests;
  assert.equal(reqs.length, 2);
  assert.equal(reqs[0].headers['idempotency-key'], `pay-${o.out_trade_no}`);
  assert.equal(reqs[1].headers['idempotency-key'], `pay-${o.out_trade_no}`);
  const view = (await k.simGet('/_sim/orders', { out_trade_no: o.out_trade_no })).json;
  assert.equal(JSON.stringify(view).match(/tr_[A-Za-z0-9]+/)[0], r.fields.channel_trade_no);
});

test('pay in progress, then success: query open -> PROCESSING, buyer pays, query paid -> SUCCESS', async () => {
  const o = await created();
  let q = await k.exchange('query', o);
  assert.equal(q.class, 'PROCESSING');
  assert.equal(q.code, 'open');
  assert.equal((await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no })).status, 200);
  q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.code, 'paid');
  assert.equal(q.fields.amount, 1000);
  assert.ok(Number.isInteger(q.fields.paid_at_ms));
});

test('query: failed FAILED, canceled/expired CLOSED, pending PROCESSING, 404 NOT_FOUND, unknown & co PROCESSING', async () => {
  const o = await created();
  for (const [b, cls, code] of [['fail', 'FAILED', 'failed'], ['closed', 'CLOSED', 'canceled'],
    ['status:expired', 'CLOSED', 'expired'], ['processing', 'PROCESSING', 'pending'],
    ['not_found', 'NOT_FOUND', '404'], ...COMMON]) {
    const r = await run('query', o, b);
    assert.equal(r.class, cls, `${b}: ${JSON.stringify(r)}`);
    if (code) assert.equal(r.code, code, b);
  }
  await slow('query', async () => o);
});

test('query: an unknown payment id is NOT_FOUND, never FAILED', async () => {
  const r = await k.exchange('query', order({ channel_trade_no: 'tr_NeverIssued1' }));
  assert.equal(r.class, 'NOT_FOUND', JSON.stringify(r));
});

test('close: canceled SUCCESS; 422 (not cancelable) PROCESSING; 404 NOT_FOUND; unknown & co PROCESSING', async () => {
  for (const [b, cls] of [['success', 'SUCCESS'], ['fail', 'PROCESSING'], ['not_found', 'NOT_FOUND'], ...COMMON]) {
    const r = await run('close', await created(), b);
    assert.equal(r.class, cls, `${b}: ${JSON.stringify(r)}`);
  }
  const paidOne = await created();
  await k.sim('/_sim/pay', { out_trade_no: paidOne.out_trade_no });
  const r = await k.exchange('close', paidOne);
  assert.equal(r.class, 'PROCESSING', 'a paid payment cannot be canceled: the query decides');
  assert.equal(r.code, '422');
  await slow('close', created);
});

test('refund: pending PROCESSING (accepted, not final); 422 FAILED; 404 NOT_FOUND; refunded SUCCESS', async () => {
  const o = await created();
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const ro = () => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 300 } });
  for (const [b, cls, code] of [['success', 'PROCESSING', 'pending'], ['fail', 'FAILED', '422'],
    ['not_found', 'NOT_FOUND', '404'], ['status:refunded', 'SUCCESS', 'refunded'], ...COMMON]) {
    const r = await run('refund', ro(), b);
    assert.equal(r.class, cls, `${b}: ${JSON.stringify(r)}`);
    if (code) assert.equal(r.code, code, b);
  }
  await slow('refund', async () => ro());
});

test('refund_query: refunded SUCCESS; failed/canceled FAILED; pending PROCESSING; 404 NOT_FOUND', async () => {
  const ro = await refunded();
  for (const [b, cls, code] of [['success', 'SUCCESS', 'refunded'], ['fail', 'FAILED', 'failed'],
    ['closed', 'FAILED', 'canceled'], ['processing', 'PROCESSING', 'pending'],
    ['not_found', 'NOT_FOUND', '404'], ...COMMON]) {
    const r = await run('refund_query', ro, b);
    assert.equal(r.class, cls, `${b}: ${JSON.stringify(r)}`);
    if (code) assert.equal(r.code, code, b);
  }
  const ok = await run('refund_query', ro, 'success');
  assert.equal(ok.fields.amount, 400);
  await slow('refund_query', async () => ro);
});

test('webhook: valid, forged, duplicate and contrary are only hints naming the order (ack 200, nothing applied)', async () => {
  const o = await created();
  const seen = [];
  for (const kind of ['valid', 'duplicate', 'forged', 'contrary']) {
    const n = await k.simNotify({ out_trade_no: o.out_trade_no, kind, notify_url: `${k.notifyUrl}?ref=${o.out_trade_no}` });
    assert.equal(n.status, 200, n.text);
    const v = await k.verifyLastNotify();
    assert.equal(v.verified, false, `${kind}: ${JSON.stringify(v)}`);
    assert.equal(v.hint, true, kind);
    assert.equal(v.out_trade_no, o.out_trade_no, kind);
    assert.equal(v.class, 'PROCESSING', kind);
    assert.equal(v.ack.status, 200, kind);
    seen.push(v);
  }
  assert.deepEqual(seen[1], seen[0], 'a duplicate gives the same result');
  assert.equal(seen[0].fields.channel_trade_no, o.channel_trade_no);
  // the hint's follow-up query is what decides: the valid webhook's payment is paid
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
});

test('webhook: the URL we register carries ?ref=<out_trade_no>; without it the call is refused', async () => {
  const o = await created();
  const view = (await k.simGet('/_sim/orders', { out_trade_no: o.out_trade_no })).json;
  assert.ok(JSON.stringify(view).includes(`/notify/mollie?ref=${o.out_trade_no}`), JSON.stringify(view));
  const v = await k.verifyNotify({ body: `id=${o.channel_trade_no}`, contentType: 'application/x-www-form-urlencoded', query: '' });
  assert.equal(v.hint, false);
  assert.equal(v.ack.status, 400);
});

test('a wrong API key is refused by the sim (401 -> NOT_SENT) and counted bad_sign', async () => {
  k.setParams({ api_key: 'mollie_wrong_key' });
  try {
    const o = order();
    const r = await k.exchange('pay', o);
    assert.equal(r.class, 'NOT_SENT', JSON.stringify(r));
    assert.equal(r.code, '401');
    const c = (await k.simGet('/_sim/counts', { out_trade_no: o.out_trade_no })).json;
    assert.equal(JSON.stringify(c).includes('"bad_sign":1'), true, JSON.stringify(c));
  } finally {
    k.setParams({});
  }
  assert.equal((await k.exchange('pay', order())).class, 'SUCCESS');
});

// -------- our bodies against what Mollie's own client sends for the same call --------

function tlsPair() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mollie-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem')],
  { stdio: 'ignore' });
  const pair = { key: fs.readFileSync(path.join(dir, 'k.pem')), cert: fs.readFileSync(path.join(dir, 'c.pem')) };
  fs.rmSync(dir, { recursive: true, force: true });
  return pair;
}

// an HTTPS recorder answering canned Mollie resources; the SDK's agent also trusts its cert
async function sdkRecorder() {
  const tls = tlsPair();
  const seen = [];
  const server = https.createServer(tls, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const refund = req.url.includes('/refunds');
      res.writeHead(refund ? 201 : 201, { 'content-type': 'application/hal+json' });
      res.end(JSON.stringify(refund
        ? { resource: 'refund', id: 're_x', status: 'pending', amount: { currency: 'EUR', value: '4.00' }, _links: {} }
        : { resource: 'payment', id: 'tr_x', status: 'open', amount: { currency: 'EUR', value: '10.00' },
          _links: { checkout: { href: 'https://www.mollie.com/checkout/x' } } }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const Real = https.Agent;
  https.Agent = class extends Real {
    constructor(o = {}) { super({ ...o, ca: [].concat(o.ca || [], tls.cert) }); }
  };
  let client;
  try {
    client = createMollieClient({ apiKey: API_KEY, apiEndpoint: `https://127.0.0.1:${server.address().port}/v2/` });
  } finally {
    https.Agent = Real;
  }
  return { client, seen, close: () => new Promise((r) => server.close(r)) };
}

test('our create-payment and create-refund bodies parse to what @mollie/api-client sends', async () => {
  const rec = await sdkRecorder();
  try {
    const o = order({ channel_trade_no: 'tr_WDqYK6vllg' });
    const ours = await k.render('pay', o, { raw: true });
    await rec.client.payments.create({
      amount: { currency: 'EUR', value: '10.00' }, description: 'conformance',
      redirectUrl: 'https://shop.example/return', webhookUrl: `${k.notifyUrl}?ref=${o.out_trade_no}`,
      metadata: { out_trade_no: o.out_trade_no }, idempotencyKey: `pay-${o.out_trade_no}`,
    });
    const sdk = rec.seen.at(-1);
    assert.deepEqual(JSON.parse(ours.body), JSON.parse(sdk.body));
    assert.equal(ours.method, sdk.method);
    assert.equal(new URL(ours.url).pathname, `/mollie${sdk.url}`);
    assert.equal(ours.headers['Idempotency-Key'], sdk.headers['idempotency-key']);
    assert.equal(ours.headers.Authorization, sdk.headers.authorization);
    assert.equal(ours.content_type, sdk.headers['content-type']);

    const ro = { ...o, refund: { out_refund_no: 'R1', amount: 400, reason: 'damaged' } };
    const ourRefund = await k.render('refund', ro, { raw: true });
    await rec.client.paymentRefunds.create({ paymentId: 'tr_WDqYK6vllg', amount: { currency: 'EUR', value: '4.00' },
      description: 'damaged', metadata: { out_refund_no: 'R1', out_trade_no: o.out_trade_no }, idempotencyKey: 'refund-R1' });
    const sdkRefund = rec.seen.at(-1);
    assert.deepEqual(JSON.parse(ourRefund.body), JSON.parse(sdkRefund.body));
    assert.equal(new URL(ourRefund.url).pathname, `/mollie${sdkRefund.url}`);

    const ourCancel = await k.render('close', o, { raw: true });
    await rec.client.payments.cancel('tr_WDqYK6vllg', { idempotencyKey: `cancel-${o.out_trade_no}` });
    const sdkCancel = rec.seen.at(-1);
    assert.equal(ourCancel.method, sdkCancel.method);
    assert.equal(new URL(ourCancel.url).pathname, `/mollie${sdkCancel.url}`);
  } finally {
    await rec.close();
  }
});
