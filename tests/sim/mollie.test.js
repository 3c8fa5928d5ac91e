'use strict';
// Self-test of the Mollie plugin: Mollie's own client (@mollie/api-client 4.6.0,
// createMollieClient: payments.create / get / cancel, paymentRefunds.create / get) talks
// to the sim and must read every answer; hand-built requests prove the API-key check, the
// body checks, Idempotency-Key replays and the webhook shape.
//
// The SDK only speaks HTTPS (it builds an https.Agent with its own bundled Mozilla CA list,
// overriding any caller option), so the test puts a loopback TLS front (a throw-away
// self-signed certificate for 127.0.0.1, made with the openssl CLI) before the sim's
// plain-HTTP port, and adds that one certificate to the CA list of the agents the SDK
// builds (verification stays on: chain and 127.0.0.1 are checked).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const https = require('node:https');
const { execFileSync } = require('node:child_process');
const { createMollieClient } = require('@mollie/api-client');
const { startSim, startReceiver } = require('./lib/testkit');

let kit;
let rx;
let front;
let mollie;
let apiKey;
let tlsCert;

// a Mollie client whose https.Agent also trusts our loopback certificate
function client(key) {
  const Real = https.Agent;
  https.Agent = class extends Real {
    constructor(o = {}) {
      super({ ...o, ca: [].concat(o.ca || [], tlsCert) });
    }
  };
  try {
    return createMollieClient({ apiKey: key, apiEndpoint: `https://127.0.0.1:${front.address().port}/mollie/v2/` });
  } finally {
    https.Agent = Real;
  }
}

function tlsMaterial() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mollie-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  const m = { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
  fs.rmSync(dir, { recursive: true, force: true });
  return m;
}

// TLS on 127.0.0.1 -> the sim's HTTP port, bytes passed through unchanged
function startFront(targetPort, tls) {
  const server = https.createServer(tls, (req, res) => {
    const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url,
      headers: req.headers, timeout: 10000 }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

// a hand-built call straight to the sim (no SDK)
function call(method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(`${kit.base}/mollie/v2${p}`, { method, timeout: 5000, headers: {
      authorization: `Bearer ${apiKey}`, ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}), ...headers } },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

const create = (key, extra = {}, client = mollie) => client.payments.create({
  amount: { currency: 'EUR', value: '10.00' },
  description: `Order ${key}`,
  redirectUrl: 'https://shop.example/return',
  webhookUrl: rx.url(`/notify/mollie?ref=${key}`),
  metadata: { out_trade_no: key },
  ...extra,
});

test.before(async () => {
  kit = await startSim({ channel: 'mollie' });
  rx = await startReceiver({ status: 200, body: '' });
  apiKey = fs.readFileSync(path.join(kit.keysDir, 'mollie', 'api_key.txt'), 'utf8').trim();
  const tls = tlsMaterial();
  tlsCert = tls.cert;
  front = await startFront(kit.port, tls);
  mollie = client(apiKey);
});

test.after(async () => {
  await new Promise((r) => front.close(r));
  await kit.close();
  await rx.close();
});

test.beforeEach(() => kit.reset());

test('the generated API key looks like a Mollie test key', () => {
  assert.match(apiKey, /^test_[A-Za-z0-9]{30}$/);
});

test('SDK: create -> open with a checkout URL; get -> paid after the buyer pays', async () => {
  const p = await create('M1', { idempotencyKey: 'pay-M1' });
  assert.equal(p.status, 'open');
  assert.match(p.id, /^tr_/);
  assert.match(p.getCheckoutUrl(), /^https:\/\/www\.mollie\.com\/checkout\//);
  assert.equal((await mollie.payments.get(p.id)).status, 'open');
  await kit.pay('M1');
  const g = await mollie.payments.get(p.id);
  assert.equal(g.status, 'paid');
  assert.ok(g.paidAt);
  assert.equal(g.amount.value, '10.00');
  const reqs = await kit.requests('M1', 'mollie.payments.create');
  assert.equal(reqs[0].sign_ok, true);
  assert.equal(reqs[0].headers['idempotency-key'], 'pay-M1');
});

test('SDK: cancel an open payment -> canceled; a paid one -> 422', async () => {
  const p = await create('M2');
  const c = await mollie.payments.cancel(p.id);
  assert.equal(c.status, 'canceled');
  const q = await create('M3');
  await kit.pay('M3');
  await assert.rejects(mollie.payments.cancel(q.id), (e) => e.statusCode === 422);
});

test('SDK: refund -> pending (accepted only), then refunded on get', async () => {
  const p = await create('M4');
  await kit.pay('M4');
  const r = await mollie.paymentRefunds.create({ paymentId: p.id, amount: { currency: 'EUR', value: '5.00' },
    description: 'partial', metadata: { out_refund_no: 'R4' } });
  assert.equal(r.status, 'pending');
  assert.match(r.id, /^re_/);
  const g = await mollie.paymentRefunds.get(r.id, { paymentId: p.id });
  assert.equal(g.status, 'refunded');
  assert.equal(g.amount.value, '5.00');
});

test('SDK: scripted outcomes reach the client as Mollie states and errors', async () => {
  await kit.script({ out_trade_no: 'M5', pay: 'fail' });
  await assert.rejects(create('M5'), (e) => e.statusCode === 422 && /amount/.test(e.field || e.message));
  await kit.script({ out_trade_no: 'M6', query: ['processing', 'fail', 'closed', 'status:expired', 'not_found'] });
  const p = await create('M6');
  assert.equal((await mollie.payments.get(p.id)).status, 'pending');
  assert.equal((await mollie.payments.get(p.id)).status, 'failed');
  assert.equal((await mollie.payments.get(p.id)).status, 'canceled');
  assert.equal((await mollie.payments.get(p.id)).status, 'expired');
  await assert.rejects(mollie.payments.get(p.id), (e) => e.statusCode === 404);
});

test('SDK and by hand: a wrong API key is refused with 401 and counted bad_sign', async () => {
  const bad = client('test_wrongwrongwrongwrongwrongwron');
  await assert.rejects(create.call(null, 'M7', {}, bad), (e) => e.statusCode === 401);
  const r = await call('POST', '/payments', { amount: { currency: 'EUR', value: '1.00' }, description: 'x',
    redirectUrl: 'https://shop.example/r', metadata: { out_trade_no: 'M7' } }, { authorization: 'Bearer test_wrong' });
  assert.equal(r.status, 401);
  assert.equal(r.json.title, 'Unauthorized Request');
  assert.equal((await kit.counts('M7')).bad_sign, 2);
});

test('by hand: amounts must carry exactly two decimals, redirectUrl is required', async () => {
  const base = { description: 'x', redirectUrl: 'https://shop.example/r', metadata: { out_trade_no: 'M8' } };
  let r = await call('POST', '/payments', { ...base, amount: { currency: 'EUR', value: '10' } });
  assert.equal(r.status, 422);
  assert.equal(r.json.field, 'amount');
  r = await call('POST', '/payments', { ...base, amount: { currency: 'EUR', value: 10 } });
  assert.equal(r.status, 422);
  r = await call('POST', '/payments', { ...base, redirectUrl: undefined, amount: { currency: 'EUR', value: '10.00' } });
  assert.equal(r.status, 422);
  assert.equal(r.json.field, 'redirectUrl');
  r = await call('POST', '/payments', { ...base, amount: { currency: 'EUR', value: '10.00' } });
  assert.equal(r.status, 201);
});

test('by hand: the same Idempotency-Key answers the same payment, no second one', async () => {
  const body = { amount: { currency: 'EUR', value: '2.00' }, description: 'x', redirectUrl: 'https://shop.example/r',
    metadata: { out_trade_no: 'M9' } };
  const a = await call('POST', '/payments', body, { 'idempotency-key': 'pay-M9' });
  const b = await call('POST', '/payments', body, { 'idempotency-key': 'pay-M9' });
  assert.equal(a.json.id, b.json.id);
});

test('webhook: id=tr_… form POST to the webhookUrl (with our ref), unsigned', async () => {
  const p = await create('M10');
  const n = await kit.notify('M10', 'valid');
  assert.equal(n.status, 200);
  const got = rx.received.at(-1);
  assert.equal(got.path, '/notify/mollie?ref=M10');
  assert.equal(got.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(got.raw.toString(), `id=${p.id}`);
  assert.equal((await mollie.payments.get(p.id)).status, 'paid');
  await kit.notify('M10', 'forged');
  assert.notEqual(rx.received.at(-1).raw.toString(), `id=${p.id}`);
  await kit.notify('M10', 'duplicate');
  assert.equal(rx.received.at(-1).raw.toString(), rx.received.at(-2).raw.toString());
});

test('badsign (unsigned API): the success answer about another payment', async () => {
  await kit.script({ out_trade_no: 'M11', query: 'badsign' });
  const p = await create('M11');
  const g = await mollie.payments.get(p.id);
  assert.notEqual(g.id, p.id);
  assert.notEqual(g.metadata.out_trade_no, 'M11');
});

test('no sim-internal errors', () => assert.deepEqual(kit.errors(), []));
