'use strict';
// Generates templates/square.fixtures/cases.lua. Webhook signatures are computed with
// node:crypto (base64 HMAC-SHA256 of notificationUrl + body) and each one is checked with
// the square SDK's own WebhooksHelper.verifySignature before it is written.
//   node templates/square.fixtures/gen_cases.js > templates/square.fixtures/cases.lua

const path = require('node:path');
const crypto = require('node:crypto');
const { WebhooksHelper } = require(path.join(__dirname, '../../tests/sim/node_modules/square'));

// V5a of channel-vectors.md (published in square-nodejs-sdk tests/integration/webhooks.test.ts)
const URL_ = 'https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9';
const KEY = 'Ibxx_5AKakO-3qeNVR61Dw'; // = keys/fixture_square_sigkey.secret
const V5 = '{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}';
const V5_SIG = 'GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=';

function lua(v, ind = '') {
  const pad = `${ind}  `;
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return `[==[${v}]==]`;
  if (Array.isArray(v)) return `{\n${v.map((x) => `${pad}${lua(x, pad)},\n`).join('')}${ind}}`;
  return `{\n${Object.keys(v).map((k) => `${pad}${/^[a-z_][a-z0-9_]*$/i.test(k) ? k : `[${JSON.stringify(k)}]`} = ${lua(v[k], pad)},\n`).join('')}${ind}}`;
}

const sign = (body, key = KEY, url = URL_) => crypto.createHmac('sha256', key).update(url + body).digest('base64');
const idem = (kind, ref) => `pgw-${crypto.createHash('sha256').update(`${kind}:${ref}`).digest('hex').slice(0, 40)}`;

const ORDER = {
  out_trade_no: 'T20240101001', amount: 1000, currency: 'USD', subject: 'Order 1', method: 'square.card',
  expire_seconds: 900, notify_url: 'http://127.0.0.1:8080/notify/square', created_at_ms: 1704081600000,
  extra: { payment_method: 'cnon:card-nonce-ok' },
};
const KNOWN = { ...ORDER, channel_trade_no: 'KkAkhdMsgzn59SM8A89WgKwekxLZY' };
const REFUND = { ...KNOWN, refund: { out_refund_no: 'R20240101001', amount: 400, reason: 'returned' } };
const REFUND_KNOWN = { ...REFUND, refund: { ...REFUND.refund, channel_refund_no: 'KkAkhdMsgzn59SM8A89WgKwekxLZY_ptNBVqHYxt5gAdfcobBe4u1AZsXhoz06KTtJq' } };
const J = (o) => JSON.stringify(o);
const payment = (status, extra = {}) => ({
  payment: {
    id: 'KkAkhdMsgzn59SM8A89WgKwekxLZY', status, reference_id: 'T20240101001', location_id: 'L88917AVBK2S5',
    amount_money: { amount: 1000, currency: 'USD' }, total_money: { amount: 1000, currency: 'USD' },
    source_type: 'CARD', card_details: { status: status === 'FAILED' ? 'FAILED' : 'CAPTURED' },
    created_at: '2024-01-01T04:00:00.000Z', ...extra,
  },
});
const refund = (status, extra = {}) => ({
  refund: {
    id: REFUND_KNOWN.refund.channel_refund_no, status, payment_id: 'KkAkhdMsgzn59SM8A89WgKwekxLZY',
    amount_money: { amount: 400, currency: 'USD' }, location_id: 'L88917AVBK2S5', ...extra,
  },
});
const errs = (category, code, extra = {}) => ({ errors: [{ category, code, detail: `${category} ${code}` }], ...extra });

const cases = [];
const build = (name, op, order, expect) => cases.push({ name, kind: 'build', op, order, expect });
const parse = (name, op, order, status, response, expect) => cases.push({ name, kind: 'parse', op, order, status, response, expect });
const notify = (name, body, headers, expect) => cases.push({ name, kind: 'notify', content_type: 'application/json', headers, body, expect });

const AUTH = { Authorization: 'Bearer EAAAfixture_only_not_a_real_token', 'Square-Version': '2026-09-16' };
build('pay = CreatePayment', 'pay', ORDER, {
  method: 'POST', url: 'https://connect.squareup.com/v2/payments', content_type: 'application/json', headers: AUTH,
  body: J({
    amount_money: { amount: 1000, currency: 'USD' }, autocomplete: true, idempotency_key: idem('pay', 'T20240101001'),
    location_id: 'L88917AVBK2S5', note: 'Order 1', reference_id: 'T20240101001', source_id: 'cnon:card-nonce-ok',
  }),
});
build('query = GetPayment', 'query', KNOWN, { method: 'GET', url: 'https://connect.squareup.com/v2/payments/KkAkhdMsgzn59SM8A89WgKwekxLZY', headers: AUTH });
build('query without id = ListPayments around created_at', 'query', ORDER, {
  method: 'GET',
  url: 'https://connect.squareup.com/v2/payments?begin_time=2024-01-01T03%3A50%3A00Z&end_time=2024-01-01T05%3A00%3A00Z&location_id=L88917AVBK2S5&sort_order=ASC&limit=100',
});
build('cancel = CancelPayment', 'cancel', KNOWN, { url: 'https://connect.squareup.com/v2/payments/KkAkhdMsgzn59SM8A89WgKwekxLZY/cancel', body: '{}' });
build('cancel without id = CancelPaymentByIdempotencyKey', 'cancel', ORDER, {
  url: 'https://connect.squareup.com/v2/payments/cancel', body: J({ idempotency_key: idem('pay', 'T20240101001') }),
});
build('refund = RefundPayment', 'refund', REFUND, {
  url: 'https://connect.squareup.com/v2/refunds',
  body: J({ amount_money: { amount: 400, currency: 'USD' }, idempotency_key: idem('refund', 'R20240101001'), payment_id: 'KkAkhdMsgzn59SM8A89WgKwekxLZY', reason: 'returned' }),
});
build('refund_query = GetPaymentRefund', 'refund_query', REFUND_KNOWN, { method: 'GET', url: `https://connect.squareup.com/v2/refunds/${REFUND_KNOWN.refund.channel_refund_no}` });

parse('pay COMPLETED', 'pay', ORDER, 200, J(payment('COMPLETED')), { class: 'SUCCESS', code: 'COMPLETED', error: '', fields: { channel_trade_no: 'KkAkhdMsgzn59SM8A89WgKwekxLZY', amount: 1000 } });
parse('pay APPROVED (delayed capture)', 'pay', ORDER, 200, J(payment('APPROVED')), { class: 'PROCESSING', code: 'APPROVED' });
parse('pay declined: errors + FAILED payment -> FAILED', 'pay', ORDER, 400, J(errs('PAYMENT_METHOD_ERROR', 'GENERIC_DECLINE', payment('FAILED'))), { class: 'FAILED', code: 'FAILED', fields: { error_code: 'GENERIC_DECLINE' } });
parse('pay declined without the payment -> PROCESSING', 'pay', ORDER, 400, J(errs('PAYMENT_METHOD_ERROR', 'CARD_DECLINED')), { class: 'PROCESSING' });
parse('pay FAILED payment of another order -> PROCESSING', 'pay', ORDER, 400, J(errs('PAYMENT_METHOD_ERROR', 'GENERIC_DECLINE', payment('FAILED', { reference_id: 'OTHER' }))), { class: 'PROCESSING', error: 'not for out_trade_no' });
parse('pay 401 -> NOT_SENT', 'pay', ORDER, 401, J(errs('AUTHENTICATION_ERROR', 'UNAUTHORIZED')), { class: 'NOT_SENT' });
parse('pay 500 -> PROCESSING', 'pay', ORDER, 500, J(errs('API_ERROR', 'INTERNAL_SERVER_ERROR')), { class: 'PROCESSING' });
parse('pay idempotency key reused -> PROCESSING', 'pay', ORDER, 400, J(errs('INVALID_REQUEST_ERROR', 'IDEMPOTENCY_KEY_REUSED')), { class: 'PROCESSING' });
parse('pay unknown status', 'pay', ORDER, 200, J(payment('SOMETHING_NEW')), { class: 'PROCESSING' });
parse('pay amount differs', 'pay', ORDER, 200, J(payment('COMPLETED', { amount_money: { amount: 1, currency: 'USD' } })), { class: 'PROCESSING', error: 'amount differs' });
parse('pay garbage', 'pay', ORDER, 200, 'not json', { class: 'PROCESSING', error: 'not JSON' });

parse('query COMPLETED', 'query', KNOWN, 200, J(payment('COMPLETED')), { class: 'SUCCESS', fields: { trade_status: 'COMPLETED' } });
parse('query FAILED', 'query', KNOWN, 200, J(payment('FAILED')), { class: 'FAILED' });
parse('query CANCELED -> CLOSED', 'query', KNOWN, 200, J(payment('CANCELED')), { class: 'CLOSED' });
parse('query PENDING', 'query', KNOWN, 200, J(payment('PENDING')), { class: 'PROCESSING' });
parse('query 404 -> NOT_FOUND', 'query', KNOWN, 404, J(errs('INVALID_REQUEST_ERROR', 'NOT_FOUND')), { class: 'NOT_FOUND' });
parse('query list: ours', 'query', ORDER, 200, J({ payments: [payment('COMPLETED', { reference_id: 'X' }).payment, payment('COMPLETED').payment] }), { class: 'SUCCESS', fields: { channel_trade_no: 'KkAkhdMsgzn59SM8A89WgKwekxLZY' } });
parse('query list: none, complete -> NOT_FOUND', 'query', ORDER, 200, J({ payments: [payment('COMPLETED', { reference_id: 'X' }).payment] }), { class: 'NOT_FOUND' });
parse('query list: none, more pages -> PROCESSING', 'query', ORDER, 200, J({ payments: [], cursor: 'abc' }), { class: 'PROCESSING' });
parse('query unknown', 'query', KNOWN, 200, J(payment('MYSTERY')), { class: 'PROCESSING' });

parse('cancel CANCELED', 'cancel', KNOWN, 200, J(payment('CANCELED')), { class: 'SUCCESS' });
parse('cancel too late: COMPLETED -> PROCESSING', 'cancel', KNOWN, 400, J(errs('INVALID_REQUEST_ERROR', 'BAD_REQUEST')), { class: 'PROCESSING' });
parse('cancel by key: {} proves nothing', 'cancel', ORDER, 200, '{}', { class: 'PROCESSING', code: 'cancel_requested' });
parse('cancel 404', 'cancel', KNOWN, 404, J(errs('INVALID_REQUEST_ERROR', 'NOT_FOUND')), { class: 'NOT_FOUND' });

parse('refund PENDING', 'refund', REFUND, 200, J(refund('PENDING')), { class: 'PROCESSING', fields: { channel_refund_no: REFUND_KNOWN.refund.channel_refund_no } });
parse('refund COMPLETED', 'refund', REFUND, 200, J(refund('COMPLETED')), { class: 'SUCCESS' });
parse('refund REJECTED', 'refund', REFUND, 200, J(refund('REJECTED')), { class: 'FAILED' });
parse('refund of another payment', 'refund', REFUND, 200, J(refund('COMPLETED', { payment_id: 'OTHER' })), { class: 'PROCESSING', error: 'another payment' });
parse('refund 500', 'refund', REFUND, 500, J(errs('API_ERROR', 'INTERNAL_SERVER_ERROR')), { class: 'PROCESSING' });
parse('refund_query COMPLETED', 'refund_query', REFUND_KNOWN, 200, J(refund('COMPLETED')), { class: 'SUCCESS' });
parse('refund_query FAILED', 'refund_query', REFUND_KNOWN, 200, J(refund('FAILED')), { class: 'FAILED' });
parse('refund_query 404', 'refund_query', REFUND_KNOWN, 404, J(errs('INVALID_REQUEST_ERROR', 'NOT_FOUND')), { class: 'NOT_FOUND' });

if (sign(V5) !== V5_SIG) throw new Error('V5 does not reproduce');
notify('V5a vector: signature verifies, test event names no order', V5, { 'x-square-hmacsha256-signature': V5_SIG }, { verified: false, error: 'signature valid', ack_status: 400 });
const evt = (type, obj) => J({ merchant_id: 'MLEFBHHSJGVHD', type, event_id: 'b3f4a0e2-0000-4000-8000-000000000001', created_at: '2024-01-01T04:00:05Z', data: { type: 'payment', id: 'KkAkhdMsgzn59SM8A89WgKwekxLZY', object: obj } });
const done = evt('payment.updated', payment('COMPLETED'));
notify('payment.updated COMPLETED', done, { 'x-square-hmacsha256-signature': sign(done) }, {
  verified: true, class: 'SUCCESS', out_trade_no: 'T20240101001', ack_status: 200, ack_body: 'ok', fields: { amount: 1000, channel_trade_no: 'KkAkhdMsgzn59SM8A89WgKwekxLZY' },
});
notify('forged: another signature key', done, { 'x-square-hmacsha256-signature': sign(done, 'not-our-key') }, { verified: false, error: 'does not match', ack_status: 400 });
notify('signed for another notification URL', done, { 'x-square-hmacsha256-signature': sign(done, KEY, 'https://example.com/other') }, { verified: false });
notify('tampered body', done.replace('"amount":1000', '"amount":1'), { 'x-square-hmacsha256-signature': sign(done) }, { verified: false });
notify('no signature header', done, {}, { verified: false });
const failed = evt('payment.updated', payment('FAILED'));
notify('payment.updated FAILED', failed, { 'x-square-hmacsha256-signature': sign(failed) }, { verified: true, class: 'FAILED' });
const canceled = evt('payment.updated', payment('CANCELED'));
notify('payment.updated CANCELED -> CLOSED', canceled, { 'x-square-hmacsha256-signature': sign(canceled) }, { verified: true, class: 'CLOSED' });
const created = evt('payment.created', payment('APPROVED'));
notify('payment.created APPROVED -> PROCESSING', created, { 'x-square-hmacsha256-signature': sign(created) }, { verified: true, class: 'PROCESSING' });
const rf = J({ merchant_id: 'MLEFBHHSJGVHD', type: 'refund.updated', event_id: 'e2', data: { type: 'refund', id: 'r', object: refund('COMPLETED') } });
notify('refund.updated COMPLETED: the refund, found by its Square id', rf, { 'x-square-hmacsha256-signature': sign(rf) }, {
  verified: true, class: 'SUCCESS', code: 'REFUND.COMPLETED', fields: { kind: 'refund', channel_refund_no: JSON.parse(rf).data.object.refund.id },
});
const rfRejected = J({ merchant_id: 'MLEFBHHSJGVHD', type: 'refund.updated', event_id: 'e3', data: { type: 'refund', id: 'r', object: refund('REJECTED') } });
notify('refund.updated REJECTED -> FAILED', rfRejected, { 'x-square-hmacsha256-signature': sign(rfRejected) }, { verified: true, class: 'FAILED', code: 'REFUND.REJECTED' });
const rfOther = J({ merchant_id: 'MLEFBHHSJGVHD', type: 'inventory.count.updated', event_id: 'e4', data: { type: 'inventory', id: 'i', object: {} } });
notify('another event type names no order: refused past the signature', rfOther, { 'x-square-hmacsha256-signature': sign(rfOther) }, { verified: false, error: 'names no order' });

(async () => {
  for (const c of cases) {
    if (c.kind !== 'notify' || !c.headers['x-square-hmacsha256-signature']) continue;
    const ok = await WebhooksHelper.verifySignature({ requestBody: c.body, signatureHeader: c.headers['x-square-hmacsha256-signature'], signatureKey: KEY, notificationUrl: URL_ });
    const shouldPass = !/forged|another notification|tampered/.test(c.name);
    if (ok !== shouldPass) throw new Error(`SDK verifySignature=${ok} for ${c.name}`);
  }
  process.stdout.write(`-- templates/square.fixtures/cases.lua -- recorded request/answer pairs the host runs
-- before the square pack may go live (docs/packs.md §7).
-- GENERATED by templates/square.fixtures/gen_cases.js (signatures: node:crypto, each
-- checked with the square SDK's WebhooksHelper.verifySignature); TEST-ONLY secrets in
-- keys/; regenerate, do not hand-edit.
return ${lua({
  clock_ms: 1704081600000,
  config: {
    access_token: 'fixture_square_token', location_id: 'L88917AVBK2S5', webhook_signature_key: 'fixture_square_sigkey',
    notification_url: URL_, endpoint: 'https://connect.squareup.com',
  },
  cases,
})}
`);
})().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
