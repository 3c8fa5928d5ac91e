'use strict';
// Generates templates/checkout.fixtures/cases.lua. checkout-sdk-node has no webhook
// verifier, so Cko-Signature values are computed with node:crypto from the published
// algorithm (hex HMAC-SHA256 of the raw body with the webhook secret key); vector V16 of
// channel-vectors.md pins the construction.
//   node templates/checkout.fixtures/gen_cases.js > templates/checkout.fixtures/cases.lua

const crypto = require('node:crypto');

const KEY = 'cko_webhook_key'; // = keys/fixture_cko_whsec.secret (V16's key)
const V15_BODY = '{"id":"WH-TEST","event_type":"PAYMENT.CAPTURE.COMPLETED"}';
const V16 = '2ec5db8a7befaefa0e12d065ed56f6d9f27782c56e4b59737c8f74f743821a8e';

function lua(v, ind = '') {
  const pad = `${ind}  `;
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return `[==[${v}]==]`;
  if (Array.isArray(v)) return `{\n${v.map((x) => `${pad}${lua(x, pad)},\n`).join('')}${ind}}`;
  return `{\n${Object.keys(v).map((k) => `${pad}${/^[a-z_][a-z0-9_]*$/i.test(k) ? k : `[${JSON.stringify(k)}]`} = ${lua(v[k], pad)},\n`).join('')}${ind}}`;
}
const sign = (body, key = KEY) => crypto.createHmac('sha256', key).update(body).digest('hex');
if (sign(V15_BODY) !== V16) throw new Error('V16 does not reproduce');

const ORDER = {
  out_trade_no: 'T20240101001', amount: 1000, currency: 'EUR', subject: 'Order 1', method: 'checkout.card',
  expire_seconds: 900, notify_url: 'http://127.0.0.1:8080/notify/checkout', extra: { payment_method: 'tok_ubfj2q76miwundwlk72vxt2i7q' },
};
const KNOWN = { ...ORDER, channel_trade_no: 'pay_mbabizu24mvu3mela5njyhpit4' };
const REFUND = { ...KNOWN, refund: { out_refund_no: 'R20240101001', amount: 400 } };
const J = (o) => JSON.stringify(o);
const payment = (status, extra = {}) => ({
  id: 'pay_mbabizu24mvu3mela5njyhpit4', action_id: 'act_mbabizu24mvu3mela5njyhpit4', amount: 1000, currency: 'EUR',
  approved: ['Authorized', 'Captured', 'Paid'].includes(status), status, reference: 'T20240101001',
  response_code: status === 'Declined' ? '20051' : '10000', response_summary: status === 'Declined' ? 'Insufficient Funds' : 'Approved',
  processed_on: '2024-01-01T04:00:01Z', metadata: { out_trade_no: 'T20240101001' }, ...extra,
});
const action = (type, approved, extra = {}) => ({
  id: 'act_refund0000000000000000001', type, processed_on: '2024-01-01T05:00:00Z', amount: 400, approved,
  response_code: approved ? '10000' : '20005', reference: 'R20240101001', ...extra,
});

const cases = [];
const build = (name, op, order, expect) => cases.push({ name, kind: 'build', op, order, expect });
const parse = (name, op, order, status, response, expect) => cases.push({ name, kind: 'parse', op, order, status, response, expect });
const notify = (name, body, headers, expect) => cases.push({ name, kind: 'notify', content_type: 'application/json', headers, body, expect });
const AUTH = { Authorization: 'Bearer sk_sbox_fixture_only_not_a_real_key' };

build('pay = request a payment', 'pay', ORDER, {
  method: 'POST', url: 'https://api.checkout.com/payments', content_type: 'application/json',
  headers: { ...AUTH, 'Cko-Idempotency-Key': 'paygw-pay-T20240101001' },
  body: J({
    amount: 1000, capture: true, currency: 'EUR', description: 'Order 1', metadata: { out_trade_no: 'T20240101001' },
    processing_channel_id: 'pc_fixture0000000000000000001', reference: 'T20240101001',
    source: { token: 'tok_ubfj2q76miwundwlk72vxt2i7q', type: 'token' },
  }),
});
build('pay with a stored source', 'pay', { ...ORDER, extra: { payment_method: 'src_nwd3m4in3hkuddfpjsaevunhdy' } }, { body_contains: ['"source":{"id":"src_nwd3m4in3hkuddfpjsaevunhdy","type":"id"}'] });
build('query = get payment details', 'query', KNOWN, { method: 'GET', url: 'https://api.checkout.com/payments/pay_mbabizu24mvu3mela5njyhpit4', headers: AUTH });
build('query without id = payment list by reference', 'query', ORDER, { method: 'GET', url: 'https://api.checkout.com/payments?reference=T20240101001&limit=10' });
build('cancel = void', 'cancel', KNOWN, {
  url: 'https://api.checkout.com/payments/pay_mbabizu24mvu3mela5njyhpit4/voids', body: '{"reference":"T20240101001"}',
  headers: { 'Cko-Idempotency-Key': 'paygw-void-T20240101001' },
});
build('refund', 'refund', REFUND, {
  url: 'https://api.checkout.com/payments/pay_mbabizu24mvu3mela5njyhpit4/refunds',
  body: J({ amount: 400, metadata: { out_refund_no: 'R20240101001', out_trade_no: 'T20240101001' }, reference: 'R20240101001' }),
  headers: { 'Cko-Idempotency-Key': 'paygw-refund-R20240101001' },
});
build('refund_query = payment actions', 'refund_query', REFUND, { method: 'GET', url: 'https://api.checkout.com/payments/pay_mbabizu24mvu3mela5njyhpit4/actions' });

parse('pay 201 Authorized, approved, 10000', 'pay', ORDER, 201, J(payment('Authorized')), { class: 'SUCCESS', code: 'Authorized', error: '', fields: { channel_trade_no: 'pay_mbabizu24mvu3mela5njyhpit4', amount: 1000 } });
parse('pay 201 Captured', 'pay', ORDER, 201, J(payment('Captured')), { class: 'SUCCESS' });
parse('pay Authorized but approved=false -> PROCESSING', 'pay', ORDER, 201, J(payment('Authorized', { approved: false })), { class: 'PROCESSING', code: 'Authorized:unapproved' });
parse('pay Authorized with an unknown 10xxx code -> PROCESSING', 'pay', ORDER, 201, J(payment('Authorized', { response_code: '10100' })), { class: 'PROCESSING', code: 'Authorized:10100' });
parse('pay soft decline 20051 -> FAILED', 'pay', ORDER, 201, J(payment('Declined')), { class: 'FAILED', code: 'Declined:20xxx', fields: { response_code: '20051' } });
parse('pay hard decline 30004 -> FAILED', 'pay', ORDER, 201, J(payment('Declined', { response_code: '30004' })), { class: 'FAILED', code: 'Declined:30xxx' });
parse('pay risk decline 40101 -> FAILED', 'pay', ORDER, 201, J(payment('Declined', { response_code: '40101' })), { class: 'FAILED', code: 'Declined:40xxx' });
parse('pay Declined with an unknown family -> PROCESSING', 'pay', ORDER, 201, J(payment('Declined', { response_code: '50001' })), { class: 'PROCESSING' });
parse('pay Declined of another order -> PROCESSING', 'pay', ORDER, 201, J(payment('Declined', { reference: 'OTHER' })), { class: 'PROCESSING', error: 'not for out_trade_no' });
parse('pay 202 Pending 3DS -> PROCESSING with a redirect', 'pay', ORDER, 202, J(payment('Pending', { approved: undefined, response_code: undefined, _links: { redirect: { href: 'https://3ds.checkout.com/x' } } })), {
  class: 'PROCESSING', code: 'Pending', fields: { credential: { type: 'url', url: 'https://3ds.checkout.com/x' } },
});
parse('pay 422 request_invalid -> NOT_SENT', 'pay', ORDER, 422, J({ request_id: 'r1', error_type: 'request_invalid', error_codes: ['amount_invalid'] }), { class: 'NOT_SENT', fields: { error_code: 'amount_invalid' } });
parse('pay 401 -> NOT_SENT', 'pay', ORDER, 401, '', { class: 'NOT_SENT' });
parse('pay 502 -> PROCESSING', 'pay', ORDER, 502, '<html>bad gateway</html>', { class: 'PROCESSING' });
parse('pay garbage -> PROCESSING', 'pay', ORDER, 201, 'garbage{', { class: 'PROCESSING', error: 'not JSON' });
parse('pay unknown status -> PROCESSING', 'pay', ORDER, 201, J(payment('Mystery')), { class: 'PROCESSING' });
parse('pay amount differs -> PROCESSING', 'pay', ORDER, 201, J(payment('Captured', { amount: 1 })), { class: 'PROCESSING', error: 'amount differs' });

const details = (status, extra = {}) => { const p = payment(status, extra); delete p.response_code; delete p.response_summary; return p; };
parse('query Captured', 'query', KNOWN, 200, J(details('Captured')), { class: 'SUCCESS', fields: { trade_status: 'Captured' } });
parse('query Refunded (was paid)', 'query', KNOWN, 200, J(details('Refunded')), { class: 'SUCCESS' });
parse('query Declined -> FAILED', 'query', KNOWN, 200, J(details('Declined')), { class: 'FAILED' });
parse('query Voided -> CLOSED', 'query', KNOWN, 200, J(details('Voided')), { class: 'CLOSED' });
parse('query Pending', 'query', KNOWN, 200, J(details('Pending')), { class: 'PROCESSING' });
parse('query 404 -> NOT_FOUND', 'query', KNOWN, 404, '', { class: 'NOT_FOUND' });
parse('query list: ours', 'query', ORDER, 200, J({ limit: 10, skip: 0, total_count: 1, data: [details('Captured')] }), { class: 'SUCCESS' });
parse('query list: empty -> NOT_FOUND', 'query', ORDER, 200, J({ limit: 10, skip: 0, total_count: 0, data: [] }), { class: 'NOT_FOUND' });
parse('query unknown status', 'query', KNOWN, 200, J(details('Mystery')), { class: 'PROCESSING' });

parse('cancel 202 accepted -> PROCESSING (async void)', 'cancel', KNOWN, 202, J({ action_id: 'act_void1', reference: 'T20240101001' }), { class: 'PROCESSING', code: 'accepted' });
parse('cancel 403 void not allowed -> PROCESSING', 'cancel', KNOWN, 403, '', { class: 'PROCESSING' });
parse('cancel 404', 'cancel', KNOWN, 404, '', { class: 'NOT_FOUND' });

parse('refund 202 accepted', 'refund', REFUND, 202, J({ action_id: 'act_refund0000000000000000001', reference: 'R20240101001' }), { class: 'PROCESSING', fields: { channel_refund_no: 'act_refund0000000000000000001' } });
parse('refund 403 -> PROCESSING', 'refund', REFUND, 403, '', { class: 'PROCESSING' });
parse('refund_query approved', 'refund_query', REFUND, 200, J([action('Capture', true, { id: 'act_c', reference: 'T20240101001', amount: 1000 }), action('Refund', true)]), { class: 'SUCCESS', fields: { channel_refund_no: 'act_refund0000000000000000001' } });
parse('refund_query declined', 'refund_query', REFUND, 200, J([action('Refund', false)]), { class: 'FAILED' });
parse('refund_query none yet -> NOT_FOUND', 'refund_query', REFUND, 200, J([action('Capture', true, { reference: 'T20240101001' })]), { class: 'NOT_FOUND' });
parse('refund_query 404', 'refund_query', REFUND, 404, '', { class: 'NOT_FOUND' });

notify('V16 vector: signature verifies, body names no order', V15_BODY, { 'cko-signature': V16 }, { verified: false, error: 'signature valid', ack_status: 401 });
const evt = (type, data) => J({ id: 'evt_az5sblvku4ge3dwpztvyizgcau', type, version: '1.0.33', created_on: '2024-01-01T04:00:02Z', data, _links: { self: { href: 'https://api.checkout.com/workflows/events/evt_az5sblvku4ge3dwpztvyizgcau' } } });
const pd = (extra = {}) => ({ id: 'pay_mbabizu24mvu3mela5njyhpit4', action_id: 'act_x', amount: 1000, currency: 'EUR', reference: 'T20240101001', response_code: '10000', metadata: { out_trade_no: 'T20240101001' }, ...extra });
const cap = evt('payment_captured', pd());
notify('payment_captured', cap, { 'cko-signature': sign(cap) }, { verified: true, class: 'SUCCESS', out_trade_no: 'T20240101001', ack_status: 200, ack_body: 'ok', fields: { amount: 1000 } });
notify('forged: another key', cap, { 'cko-signature': sign(cap, 'not_our_key') }, { verified: false, error: 'does not match', ack_status: 401 });
notify('tampered body', cap.replace('"amount":1000', '"amount":1'), { 'cko-signature': sign(cap) }, { verified: false });
notify('no signature', cap, {}, { verified: false });
notify('upper-case hex accepted', cap, { 'cko-signature': sign(cap).toUpperCase() }, { verified: true, class: 'SUCCESS' });
const dec = evt('payment_declined', pd({ response_code: '20051' }));
notify('payment_declined -> FAILED', dec, { 'cko-signature': sign(dec) }, { verified: true, class: 'FAILED' });
const voided = evt('payment_voided', pd());
notify('payment_voided -> CLOSED', voided, { 'cko-signature': sign(voided) }, { verified: true, class: 'CLOSED' });
const pend = evt('payment_pending', pd());
notify('payment_pending -> PROCESSING', pend, { 'cko-signature': sign(pend) }, { verified: true, class: 'PROCESSING' });
const unk = evt('payment_something_new', pd());
notify('unknown event -> PROCESSING', unk, { 'cko-signature': sign(unk) }, { verified: true, class: 'PROCESSING' });
const rf = evt('payment_refunded', pd({ action_id: 'act_refund0000000000000000001', amount: 400, reference: 'R20240101001', metadata: { out_trade_no: 'T20240101001', out_refund_no: 'R20240101001' } }));
notify('payment_refunded', rf, { 'cko-signature': sign(rf) }, { verified: true, class: 'SUCCESS', out_trade_no: 'T20240101001', fields: { kind: 'refund', out_refund_no: 'R20240101001' } });

process.stdout.write(`-- templates/checkout.fixtures/cases.lua -- recorded request/answer pairs the host runs
-- before the checkout pack may go live (docs/packs.md §7).
-- GENERATED by templates/checkout.fixtures/gen_cases.js (Cko-Signature: node:crypto,
-- the published algorithm; V16 reproduced); TEST-ONLY secrets in keys/; regenerate,
-- do not hand-edit.
return ${lua({
  clock_ms: 1704081600000,
  config: { secret_key: 'fixture_cko_key', webhook_secret: 'fixture_cko_whsec', processing_channel_id: 'pc_fixture0000000000000000001', endpoint: 'https://api.checkout.com' },
  cases,
})}
`);
