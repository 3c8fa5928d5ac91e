'use strict';
// Self-test of the Adyen plugin (lib/channels/adyen.js). The SDK's HTTP client only speaks
// HTTPS, so requests are hand-built (independent of the SDK); the SDK is the judge of the
// webhooks (hmacValidator.validateHMAC) and of the published vector V4 (channel-vectors.md).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { hmacValidator } = require('@adyen/api-library');
const { startSim, startReceiver } = require('./lib/testkit');

let kit;
let rx;
let apiKey;
let hmacKey;
const hv = new hmacValidator();

test.before(async () => {
  kit = await startSim({ channel: 'adyen', options: { adyen: { merchant_account: 'SimMerchant' } } });
  rx = await startReceiver({ status: 200, body: '[accepted]' });
  apiKey = fs.readFileSync(path.join(kit.keysDir, 'adyen', 'api_key.txt'), 'utf8').trim();
  hmacKey = fs.readFileSync(path.join(kit.keysDir, 'adyen', 'hmac_key.txt'), 'utf8').trim();
});
test.after(async () => { await kit.close(); await rx.close(); });
test.beforeEach(() => kit.reset());

async function call(p, body, { key = apiKey, idem = 'k1' } = {}) {
  const r = await fetch(`${kit.base}/adyen/v71${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key, 'idempotency-key': idem },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json().catch(() => null) };
}

const payBody = (reference, extra = {}) => ({
  amount: { currency: 'EUR', value: 1000 }, merchantAccount: 'SimMerchant', reference,
  paymentMethod: { type: 'scheme', encryptedCardNumber: 'test_x' }, ...extra,
});

test('published vector V4 (hmacValidator.spec.ts) with the SDK', () => {
  const item = { pspReference: 'pspReference', originalReference: 'originalReference', merchantAccountCode: 'merchantAccount',
    merchantReference: 'reference', amount: { currency: 'EUR', value: 1000 }, eventCode: 'CAPTURE', success: 'true' };
  const key = 'DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00';
  assert.equal(hv.getDataToSign(item), 'pspReference:originalReference:merchantAccount:reference:1000:EUR:CAPTURE:true');
  assert.equal(hv.calculateHmac(item, key), 'xhpHvYq2u2Np0rstbZ6QjLGu7JWhvf7Iwaa6EviJSX0=');
});

test('payments: Authorised, idempotent repeat, wrong key refused', async () => {
  const r = await call('/payments', payBody('A1'));
  assert.equal(r.status, 200);
  assert.equal(r.json.resultCode, 'Authorised');
  const again = await call('/payments', payBody('A1'));
  assert.equal(again.json.pspReference, r.json.pspReference);
  const bad = await call('/payments', payBody('A2'), { key: 'AQE_wrong' });
  assert.equal(bad.status, 401);
  assert.equal(bad.json.errorCode, '000');
  assert.equal((await kit.counts('A2')).bad_sign, 1);
});

test('payments: a field outside the SDK model is refused (422)', async () => {
  const r = await call('/payments', payBody('A3', { notAnAdyenField: 1 }));
  assert.equal(r.status, 422);
  assert.match(r.json.message, /unknown fields: notAnAdyenField/);
});

test('scripted results, modifications answer received', async () => {
  await kit.script({ out_trade_no: 'A4', pay: ['fail'] });
  assert.equal((await call('/payments', payBody('A4'))).json.resultCode, 'Refused');
  await kit.script({ out_trade_no: 'A5', pay: ['result:Pending'] });
  const p = await call('/payments', payBody('A5'));
  assert.equal(p.json.resultCode, 'Pending');
  const c = await call(`/payments/${p.json.pspReference}/cancels`, { merchantAccount: 'SimMerchant', reference: 'A5/cancel' }, { idem: 'c1' });
  assert.equal(c.status, 201);
  assert.equal(c.json.status, 'received');
  const s = await call('/cancels', { merchantAccount: 'SimMerchant', paymentReference: 'A5', reference: 'A5/cancel' }, { idem: 'c2' });
  assert.equal(s.json.status, 'received');
});

test('webhooks: valid passes the SDK validateHMAC, forged does not, contrary flips success', async () => {
  await call('/payments', payBody('A6'));
  const send = async (kind) => {
    const r = await kit.notify('A6', kind, { notify_url: rx.url('/n') });
    assert.equal(r.status, 200, r.text);
    const body = JSON.parse(rx.received[rx.received.length - 1].raw.toString('utf8'));
    return body.notificationItems[0].NotificationRequestItem;
  };
  const valid = await send('valid');
  assert.equal(hv.validateHMAC(valid, hmacKey), true);
  assert.equal(valid.success, 'true');
  const forged = await send('forged');
  assert.equal(hv.validateHMAC(forged, hmacKey), false);
  const contrary = await send('contrary');
  assert.equal(hv.validateHMAC(contrary, hmacKey), true);
  assert.equal(contrary.success, 'false');
});

test('no sim-internal errors', () => assert.deepEqual(kit.errors(), []));
