'use strict';
// templates/paypal.fixtures/gen_webhooks.js -- regenerates the signed webhook
// cases of cases.lua (between the GENERATED WEBHOOKS markers) with the
// TEST-ONLY key in signer/ (its certificate is keys/fixture_paypal_webhook_cert.pem).
//
// Independent of paygw: PayPal's published offline algorithm
// (https://developer.paypal.com/api/rest/webhooks/rest/ "Verify the signature
// on your own"): SHA256withRSA over
//   transmission_id|transmission_time|webhook_id|crc32(raw body)
// with the CRC-32 of zlib (node:zlib.crc32, node >= 20.15) as unsigned decimal.
//
//   node templates/paypal.fixtures/gen_webhooks.js

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const zlib = require('node:zlib');

const DIR = __dirname;
const CASES = path.join(DIR, 'cases.lua');
const KEY = fs.readFileSync(path.join(DIR, 'signer', 'fixture_paypal_webhook_private.pem'));
const CERT = fs.readFileSync(path.join(DIR, 'keys', 'fixture_paypal_webhook_cert.pem'));

const WEBHOOK_ID = '1JE4291016473214C';            // channel-vectors.md V15
const CERT_URL = 'https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77';
const TIME = '2024-01-01T12:00:00Z';

function sign(tid, ttime, body, key = KEY) {
  const msg = `${tid}|${ttime}|${WEBHOOK_ID}|${zlib.crc32(Buffer.from(body))}`;
  const sig = crypto.sign('sha256', Buffer.from(msg), key).toString('base64');
  // self-check with the certificate the pack will use
  const ok = crypto.verify('sha256', Buffer.from(msg), new crypto.X509Certificate(CERT).publicKey,
    Buffer.from(sig, 'base64'));
  if (key === KEY && !ok) throw new Error('certificate does not match the signer key');
  return sig;
}

function headers(tid, sig, certUrl = CERT_URL, ttime = TIME) {
  return {
    'PAYPAL-TRANSMISSION-ID': tid,
    'PAYPAL-TRANSMISSION-TIME': ttime,
    'PAYPAL-TRANSMISSION-SIG': sig,
    'PAYPAL-CERT-URL': certUrl,
    'PAYPAL-AUTH-ALGO': 'SHA256withRSA',
  };
}

const capture = (type, status) => JSON.stringify({
  id: `WH-${type.replace(/\./g, '-')}`,
  event_version: '1.0',
  create_time: '2024-01-01T12:00:00.000Z',
  resource_type: 'capture',
  event_type: type,
  summary: `Payment ${status}`,
  resource: {
    id: '2GG279541U471931P',
    status,
    amount: { currency_code: 'USD', value: '10.00' },
    final_capture: true,
    custom_id: 'T20240101001',
    supplementary_data: { related_ids: { order_id: '5O190127TN364715T' } },
    create_time: '2024-01-01T12:00:00Z',
  },
});

const refund = JSON.stringify({
  id: 'WH-REFUND', event_version: '1.0', resource_type: 'refund',
  event_type: 'PAYMENT.CAPTURE.REFUNDED',
  resource: {
    id: '1JU08902781691411', status: 'COMPLETED',
    amount: { currency_code: 'USD', value: '5.00' },
    invoice_id: 'R20240101001', custom_id: 'T20240101001',
    create_time: '2024-01-01T12:05:00Z',
  },
});

const approved = JSON.stringify({
  id: 'WH-APPROVED', event_version: '1.0', resource_type: 'checkout-order',
  event_type: 'CHECKOUT.ORDER.APPROVED',
  resource: {
    id: '5O190127TN364715T', status: 'APPROVED', intent: 'CAPTURE',
    purchase_units: [{ reference_id: 'T20240101001', custom_id: 'T20240101001',
      amount: { currency_code: 'USD', value: '10.00' } }],
  },
});

const V15_BODY = '{"id":"WH-TEST","event_type":"PAYMENT.CAPTURE.COMPLETED"}';
const V15_TID = 'b2a6b1c0-0000-11ee-0000-000000000000';
const V15_TIME = '2024-01-01T00:00:00Z';

const completed = capture('PAYMENT.CAPTURE.COMPLETED', 'COMPLETED');
const denied = capture('PAYMENT.CAPTURE.DENIED', 'DECLINED');
const pending = capture('PAYMENT.CAPTURE.PENDING', 'PENDING');
const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

const cases = [
  { name: 'capture completed (signed, configured cert) -> SUCCESS',
    body: completed, headers: headers('tid-0001', sign('tid-0001', TIME, completed)),
    expect: { verified: true, class: 'SUCCESS', code: 'PAYMENT.CAPTURE.COMPLETED',
      out_trade_no: 'T20240101001', ack_status: 200, ack_body: 'OK',
      fields: { amount: 1000, capture_id: '2GG279541U471931P', channel_trade_no: '5O190127TN364715T' } } },
  { name: 'same capture resent (duplicate transmission) -> same result',
    body: completed, headers: headers('tid-0001', sign('tid-0001', TIME, completed)),
    expect: { verified: true, class: 'SUCCESS', out_trade_no: 'T20240101001' } },
  { name: 'capture denied (contrary) -> verified FAILED',
    body: denied, headers: headers('tid-0002', sign('tid-0002', TIME, denied)),
    expect: { verified: true, class: 'FAILED', code: 'PAYMENT.CAPTURE.DENIED', out_trade_no: 'T20240101001' } },
  { name: 'capture pending -> PROCESSING',
    body: pending, headers: headers('tid-0003', sign('tid-0003', TIME, pending)),
    expect: { verified: true, class: 'PROCESSING', out_trade_no: 'T20240101001' } },
  { name: 'order approved -> PROCESSING',
    body: approved, headers: headers('tid-0004', sign('tid-0004', TIME, approved)),
    expect: { verified: true, class: 'PROCESSING', out_trade_no: 'T20240101001',
      fields: { channel_trade_no: '5O190127TN364715T' } } },
  { name: 'refund completed -> refund notify',
    body: refund, headers: headers('tid-0005', sign('tid-0005', TIME, refund)),
    expect: { verified: true, class: 'SUCCESS', out_trade_no: 'T20240101001',
      fields: { kind: 'refund', out_refund_no: 'R20240101001', amount: 500 } } },
  { name: 'forged: body changed after signing (amount) -> not verified',
    body: completed.replace('"10.00"', '"1.00"'),
    headers: headers('tid-0001', sign('tid-0001', TIME, completed)),
    expect: { verified: false, class: 'PROCESSING', ack_status: 400, error: 'signature invalid' } },
  { name: 'forged: signed with a key PayPal never had -> not verified',
    body: completed, headers: headers('tid-0006', sign('tid-0006', TIME, completed, other)),
    expect: { verified: false, class: 'PROCESSING', ack_status: 400, error: 'signature invalid' } },
  { name: 'forged: PAYPAL-CERT-URL off paypal.com -> refused before any key is used',
    body: completed,
    headers: headers('tid-0001', sign('tid-0001', TIME, completed),
      'https://api.paypal.com.evil.example/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77'),
    expect: { verified: false, ack_status: 400, error: 'not a paypal.com certificate URL' } },
  { name: 'PAYPAL-CERT-URL on paypal.com but not the installed certificate -> refused',
    body: completed,
    headers: headers('tid-0001', sign('tid-0001', TIME, completed),
      'https://api.paypal.com/v1/notifications/certs/CERT-00000000-rotated'),
    expect: { verified: false, ack_status: 400, error: 'another certificate' } },
  { name: 'V15 vector: the signature verifies over tid|time|webhook_id|3391999205 (then: names no order)',
    body: V15_BODY, headers: headers(V15_TID, sign(V15_TID, V15_TIME, V15_BODY), CERT_URL, V15_TIME),
    expect: { verified: false, error: 'names no order', fields: { body_crc32: '3391999205' } } },
];

function lua(v, ind) {
  const pad = '  '.repeat(ind);
  if (typeof v === 'string') return `[==[${v}]==]`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const keys = Object.keys(v);
  const items = keys.map((k) => {
    const key = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : `[${JSON.stringify(k)}]`;
    return `${pad}  ${key} = ${lua(v[k], ind + 1)},`;
  });
  return `{\n${items.join('\n')}\n${pad}}`;
}

const out = cases.map((c) => `    ${lua({ name: c.name, kind: 'notify', content_type: 'application/json',
  headers: c.headers, body: c.body, expect: c.expect }, 2).replace(/^ {4}/, '')},`).join('\n');

const text = fs.readFileSync(CASES, 'utf8');
const begin = '    -- BEGIN GENERATED WEBHOOKS (gen_webhooks.js)\n';
const end = '    -- END GENERATED WEBHOOKS\n';
const a = text.indexOf(begin);
const b = text.indexOf(end);
if (a < 0 || b < a) throw new Error('markers not found in cases.lua');
fs.writeFileSync(CASES, text.slice(0, a + begin.length) + out + '\n' + text.slice(b));
console.log(`cases.lua: ${cases.length} webhook cases written`);
