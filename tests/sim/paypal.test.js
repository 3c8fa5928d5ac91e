'use strict';
// Self-test of the PayPal plugin. PayPal has no installed SDK client here
// (@paypal/paypal-server-sdk is not a dependency and has no webhook helper), so the client
// side is hand-built from PayPal's REST reference: OAuth2 client credentials, Orders v2,
// Payments v2, PayPal-Request-Id; webhooks are checked with PayPal's published offline
// algorithm (developer.paypal.com/api/rest/webhooks/rest/, "Verify the signature on your
// own"), node:crypto + zlib.crc32, and vector V15 of channel-vectors.md.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const crypto = require('node:crypto');
const zlib = require('node:zlib');
const { startSim, startReceiver } = require('./lib/testkit');

let kit;
let rx;
let keys;

function call(method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(`${kit.base}/paypal${p}`, { method, timeout: 5000, headers: {
      ...(data ? { 'content-type': typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json',
        'content-length': data.length } : {}), ...headers } },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text, headers: res.headers });
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function token() {
  const basic = Buffer.from(`${keys.clientId}:${keys.clientSecret}`).toString('base64');
  const r = await call('POST', '/v1/oauth2/token', 'grant_type=client_credentials', { authorization: `Basic ${basic}` });
  assert.equal(r.status, 200, r.text);
  return r.json.access_token;
}

async function api(method, p, body, extra = {}) {
  return call(method, p, body, { authorization: `Bearer ${await token()}`, prefer: 'return=representation', ...extra });
}

const orderBody = (key, value = '10.00', currency = 'USD') => ({
  intent: 'CAPTURE',
  purchase_units: [{ reference_id: key, custom_id: key, amount: { currency_code: currency, value } }],
  payment_source: { paypal: { experience_context: { return_url: 'https://shop.example/r', cancel_url: 'https://shop.example/c' } } },
});

// PayPal's offline webhook check, written from the published description
function verifyWebhook(h, raw, webhookId, certPem) {
  const msg = `${h['paypal-transmission-id']}|${h['paypal-transmission-time']}|${webhookId}|${zlib.crc32(raw)}`;
  return crypto.verify('sha256', Buffer.from(msg), new crypto.X509Certificate(certPem).publicKey,
    Buffer.from(h['paypal-transmission-sig'], 'base64'));
}

test.before(async () => {
  kit = await startSim({ channel: 'paypal' });
  rx = await startReceiver({ status: 200, body: '' });
  const d = path.join(kit.keysDir, 'paypal');
  const read = (f) => fs.readFileSync(path.join(d, f), 'utf8').trim();
  keys = { clientId: read('client_id.txt'), clientSecret: read('client_secret.txt'), webhookId: read('webhook_id.txt'),
    certPem: read('webhook_cert.pem'), certUrl: read('cert_url.txt') };
});

test.after(async () => {
  await kit.close();
  await rx.close();
});

test.beforeEach(() => kit.reset());

test('V15: CRC-32 and the signed message of the published vector', () => {
  const body = Buffer.from('{"id":"WH-TEST","event_type":"PAYMENT.CAPTURE.COMPLETED"}');
  assert.equal(zlib.crc32(body), 3391999205);
  assert.equal(zlib.crc32(Buffer.from('123456789')), 0xCBF43926);
  assert.equal(`b2a6b1c0-0000-11ee-0000-000000000000|2024-01-01T00:00:00Z|1JE4291016473214C|${zlib.crc32(body)}`,
    'b2a6b1c0-0000-11ee-0000-000000000000|2024-01-01T00:00:00Z|1JE4291016473214C|3391999205');
});

test('token: Basic client credentials -> bearer; a wrong secret -> 401 invalid_client (bad_sign)', async () => {
  const t = await token();
  assert.match(t, /^A21AA/);
  const bad = Buffer.from(`${keys.clientId}:nope`).toString('base64');
  const r = await call('POST', '/v1/oauth2/token', 'grant_type=client_credentials', { authorization: `Basic ${bad}` });
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'invalid_client');
});

test('orders: create -> payer-action link; approve; capture -> COMPLETED; get agrees', async () => {
  let r = await api('POST', '/v2/checkout/orders', orderBody('P1'), { 'paypal-request-id': 'pay-P1' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.status, 'PAYER_ACTION_REQUIRED');
  const id = r.json.id;
  assert.ok(r.json.links.find((l) => l.rel === 'payer-action'));
  r = await api('POST', `/v2/checkout/orders/${id}/capture`, {}, { 'paypal-request-id': 'capture-P1' });
  assert.equal(r.status, 422);
  assert.equal(r.json.details[0].issue, 'ORDER_NOT_APPROVED');
  await kit.pay('P1');
  r = await api('POST', `/v2/checkout/orders/${id}/capture`, {}, { 'paypal-request-id': 'capture-P1b' });
  assert.equal(r.status, 201, r.text);
  const cap = r.json.purchase_units[0].payments.captures[0];
  assert.equal(cap.status, 'COMPLETED');
  assert.equal(cap.amount.value, '10.00');
  r = await api('GET', `/v2/checkout/orders/${id}`);
  assert.equal(r.json.status, 'COMPLETED');
  r = await api('POST', `/v2/checkout/orders/${id}/capture`, {}, { 'paypal-request-id': 'capture-P1c' });
  assert.equal(r.json.details[0].issue, 'ORDER_ALREADY_CAPTURED');
});

test('PayPal-Request-Id: a resent create answers the same order', async () => {
  const a = await api('POST', '/v2/checkout/orders', orderBody('P2'), { 'paypal-request-id': 'pay-P2' });
  const b = await api('POST', '/v2/checkout/orders', orderBody('P2'), { 'paypal-request-id': 'pay-P2' });
  assert.equal(a.json.id, b.json.id);
  assert.equal(b.status, 200);
});

test('shape checks: decimals per currency, request id with payment_source, bearer required', async () => {
  let r = await api('POST', '/v2/checkout/orders', orderBody('P3', '10.001'), { 'paypal-request-id': 'x1' });
  assert.equal(r.status, 422);
  assert.equal(r.json.details[0].issue, 'DECIMAL_PRECISION');
  r = await api('POST', '/v2/checkout/orders', orderBody('P3', '100.5', 'JPY'), { 'paypal-request-id': 'x2' });
  assert.equal(r.json.details[0].issue, 'DECIMAL_PRECISION');
  r = await api('POST', '/v2/checkout/orders', orderBody('P3'));
  assert.equal(r.json.details[0].issue, 'PAYPAL_REQUEST_ID_REQUIRED');
  r = await call('GET', '/v2/checkout/orders/XYZ', undefined, { authorization: 'Bearer forged' });
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'invalid_token');
  await token();
  await kit.ctl('POST', '/_sim/paypal/expire-tokens', {});
  const old = await token();
  await kit.ctl('POST', '/_sim/paypal/expire-tokens', {});
  r = await call('GET', '/v2/checkout/orders/XYZ', undefined, { authorization: `Bearer ${old}` });
  assert.equal(r.status, 401);
});

test('refund a capture, then get the refund', async () => {
  const c = await api('POST', '/v2/checkout/orders', orderBody('P4'), { 'paypal-request-id': 'pay-P4' });
  await kit.pay('P4', { capture: true });
  const o = await api('GET', `/v2/checkout/orders/${c.json.id}`);
  const capId = o.json.purchase_units[0].payments.captures[0].id;
  let r = await api('POST', `/v2/payments/captures/${capId}/refund`,
    { amount: { currency_code: 'USD', value: '5.00' }, invoice_id: 'R4', custom_id: 'P4' }, { 'paypal-request-id': 'refund-R4' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.status, 'COMPLETED');
  r = await api('GET', `/v2/payments/refunds/${r.json.id}`);
  assert.equal(r.json.invoice_id, 'R4');
  assert.equal(r.json.amount.value, '5.00');
});

test('scripted outcomes', async () => {
  await kit.script({ out_trade_no: 'P5', pay: 'fail' });
  let r = await api('POST', '/v2/checkout/orders', orderBody('P5'), { 'paypal-request-id': 'pay-P5' });
  assert.equal(r.json.details[0].issue, 'CURRENCY_NOT_SUPPORTED');
  await kit.script({ out_trade_no: 'P6', query: ['processing', 'closed', 'fail', 'not_found', 'expired_token', 'status:SAVED'] });
  const c = await api('POST', '/v2/checkout/orders', orderBody('P6'), { 'paypal-request-id': 'pay-P6' });
  const g = () => api('GET', `/v2/checkout/orders/${c.json.id}`);
  assert.equal((await g()).json.status, 'APPROVED');
  assert.equal((await g()).json.status, 'VOIDED');
  assert.equal((await g()).json.purchase_units[0].payments.captures[0].status, 'DECLINED');
  assert.equal((await g()).status, 404);
  assert.equal((await g()).status, 401);
  assert.equal((await g()).json.status, 'SAVED');
});

test('webhooks: valid and contrary verify with the certificate; forged does not; duplicate is byte-identical', async () => {
  await kit.ctl('POST', '/_sim/pay', { channel: 'paypal', out_trade_no: 'P7', create: true, notify_url: rx.url('/notify/paypal') });
  let n = await kit.notify('P7', 'valid', { notify_url: rx.url('/notify/paypal') });
  assert.equal(n.status, 200);
  let got = rx.received.at(-1);
  assert.equal(got.headers['paypal-cert-url'], keys.certUrl);
  assert.equal(got.headers['paypal-auth-algo'], 'SHA256withRSA');
  assert.ok(verifyWebhook(got.headers, got.raw, keys.webhookId, keys.certPem));
  const ev = JSON.parse(got.raw.toString());
  assert.equal(ev.event_type, 'PAYMENT.CAPTURE.COMPLETED');
  assert.equal(ev.resource.custom_id, 'P7');
  n = await kit.notify('P7', 'duplicate', { notify_url: rx.url('/notify/paypal') });
  assert.equal(rx.received.at(-1).raw.toString(), got.raw.toString());
  assert.equal(rx.received.at(-1).headers['paypal-transmission-sig'], got.headers['paypal-transmission-sig']);
  await kit.notify('P7', 'contrary', { notify_url: rx.url('/notify/paypal') });
  got = rx.received.at(-1);
  assert.ok(verifyWebhook(got.headers, got.raw, keys.webhookId, keys.certPem));
  assert.equal(JSON.parse(got.raw.toString()).event_type, 'PAYMENT.CAPTURE.DENIED');
  await kit.notify('P7', 'forged', { notify_url: rx.url('/notify/paypal') });
  got = rx.received.at(-1);
  assert.equal(verifyWebhook(got.headers, got.raw, keys.webhookId, keys.certPem), false);
});

test('no sim-internal errors', () => assert.deepEqual(kit.errors(), []));
