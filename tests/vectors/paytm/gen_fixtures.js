'use strict';
// Generates templates/paytm.fixtures/cases.lua: recorded requests and Paytm answers /
// callbacks for the paytm pack, signed with Paytm's official SDK
// (tests/sim/node_modules/paytmchecksum: PaytmChecksum.calculateChecksum with the fixed salt
// the fixture run gives — gw.id() is a counter there, the pack takes its last 4 chars —
// and verifySignature as a self-check), never with paygw code.
// TEST-ONLY merchant key: templates/paytm.fixtures/keys/fixture_merchant_key.secret =
// "YOUR_KEY_HERE_16", MID "YOUR_MID_HERE" — the inputs of vector V9, which the
// "vector V9" cases reproduce.  Run from the repository root:
//   node tests/vectors/paytm/gen_fixtures.js [OUT]   (default: templates/paytm.fixtures/cases.lua)

const fs = require('node:fs');
const path = require('node:path');
const PaytmChecksum = require('../../sim/node_modules/paytmchecksum');

const ROOT = path.join(__dirname, '..', '..', '..');
const KEY = fs.readFileSync(path.join(ROOT, 'templates', 'paytm.fixtures', 'keys', 'fixture_merchant_key.secret'), 'utf8');
const OTHER_KEY = 'ANOTHER_KEY_0016';
const MID = 'YOUR_MID_HERE';
const ENDPOINT = 'https://securegw.paytm.in';
const CREATED = 1704081600000;
const config = { mid: MID, merchant_key: 'fixture_merchant_key', website: 'DEFAULT', endpoint: ENDPOINT };

const cs = (text, salt, key = KEY) => {
  const c = PaytmChecksum.calculateChecksum(text, key, salt);
  if (key === KEY && !PaytmChecksum.verifySignature(text, KEY, c)) throw new Error('SDK self-check failed');
  return c;
};
// JSON text as gw.json.encode makes it: compact, keys sorted at every level
const canon = (v) => (v && typeof v === 'object' && !Array.isArray(v)
  ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(',')}}`
  : JSON.stringify(v));
let seq = 0;
const nextSalt = () => (++seq).toString(16).padStart(32, '0').slice(-4);
const reqBody = (body) => {
  const text = canon(body);
  return `{"body":${text},"head":{"signature":"${cs(text, nextSalt())}"}}`;
};
// an answer as Paytm writes it: head first, body text signed as is
const answer = (body, { key = KEY, salt = 'Zq9/' } = {}) => {
  const text = JSON.stringify(body);
  return `{"head":{"responseTimestamp":"1704081605000","version":"v1","signature":"${cs(text, salt, key)}"},"body":${text}}`;
};
const form = (p, key = KEY) => {
  const sorted = Object.fromEntries(Object.entries(p).sort(([a], [b]) => (a < b ? -1 : 1)));
  const c = PaytmChecksum.calculateChecksum(PaytmChecksum.getStringByParams(sorted), key, 'k3Y+');
  return new URLSearchParams({ ...p, CHECKSUMHASH: c }).toString();
};

const order = { out_trade_no: 'T20240101001', amount: 1000, currency: 'INR', subject: 'Order 1', method: 'paytm.checkout', expire_seconds: 900, notify_url: 'http://127.0.0.1:8080/notify/paytm', created_at_ms: CREATED };
const paid = { ...order, channel_trade_no: '20240101111212800110168123456789' };
const rorder = { ...paid, refund: { out_refund_no: 'R20240101001', amount: 400, reason: 'test' } };

const cases = [];
const build = (name, op, ord, url, body) => cases.push({ name, kind: 'build', op, order: ord, expect: { method: 'POST', url, content_type: 'application/json', body } });
const parse = (name, op, ord, status, response, expect) => cases.push({ name, kind: 'parse', op, order: ord, status, response, expect });
const note = (name, body, expect) => cases.push({ name, kind: 'notify', content_type: 'application/x-www-form-urlencoded', body, expect });

build('initiateTransaction', 'pay', order, `${ENDPOINT}/theia/api/v1/initiateTransaction?mid=${MID}&orderId=T20240101001`, reqBody({
  requestType: 'Payment', mid: MID, websiteName: 'DEFAULT', orderId: 'T20240101001', callbackUrl: order.notify_url,
  txnAmount: { value: '10.00', currency: 'INR' }, userInfo: { custId: 'CUST_T20240101001' },
}));
build('transaction status', 'query', order, `${ENDPOINT}/v3/order/status`, reqBody({ mid: MID, orderId: 'T20240101001' }));
build('refund apply', 'refund', rorder, `${ENDPOINT}/refund/apply`, reqBody({ mid: MID, txnType: 'REFUND', orderId: 'T20240101001', txnId: paid.channel_trade_no, refId: 'R20240101001', refundAmount: '4.00' }));
build('refund status', 'refund_query', rorder, `${ENDPOINT}/v2/refund/status`, reqBody({ mid: MID, orderId: 'T20240101001', refId: 'R20240101001' }));

const ri = (resultStatus, resultCode, resultMsg) => ({ resultInfo: { resultStatus, resultCode, resultMsg } });
const initAns = (st, code, extra = {}) => ({ ...ri(st, code, st === 'S' ? 'Success' : 'Failed'), ...extra });
parse('initiate success -> txnToken', 'pay', order, 200, answer(initAns('S', '0000', { txnToken: 'fe795335ed3049c78a57271075f2199e1704081605000', isPromoCodeValid: false, authenticated: false })), { class: 'SUCCESS', code: 'S:0000', error: '', fields: { credential: { type: 'client_secret', client_secret: 'fe795335ed3049c78a57271075f2199e1704081605000', txn_token: 'fe795335ed3049c78a57271075f2199e1704081605000', mid: MID, order_id: 'T20240101001', amount: '10.00' } } });
parse('initiate idempotent success', 'pay', order, 200, answer(initAns('S', '0002', { txnToken: 'tok2' })), { class: 'SUCCESS', code: 'S:0002' });
parse('initiate refused (invalid amount)', 'pay', order, 200, answer(initAns('F', '2007')), { class: 'FAILED', code: 'F:2007', error: '' });
parse('initiate duplicate order id stays processing', 'pay', order, 200, answer(initAns('F', '325')), { class: 'PROCESSING', code: 'F:325' });
parse('initiate unknown code', 'pay', order, 200, answer(initAns('F', '9999')), { class: 'PROCESSING', code: 'F:9999', error: '' });
parse('initiate bad signature', 'pay', order, 200, answer(initAns('S', '0000', { txnToken: 'x' }), { key: OTHER_KEY }), { class: 'PROCESSING', error: 'response signature invalid' });
parse('initiate unsigned refusal stays processing', 'pay', order, 200, `{"head":{"version":"v1"},"body":${JSON.stringify(initAns('F', '2007'))}}`, { class: 'PROCESSING', error: 'not signed' });
parse('initiate HTTP 500', 'pay', order, 500, 'Internal Server Error', { class: 'PROCESSING', error: 'HTTP status 500' });
parse('initiate garbage', 'pay', order, 200, '<html>garbage', { class: 'PROCESSING', error: 'not a JSON object' });

const st = (s, c, extra = {}) => ({ ...ri(s, c, 'msg'), txnId: paid.channel_trade_no, bankTxnId: '777001234', orderId: 'T20240101001', txnAmount: '10.00', txnType: 'SALE', gatewayName: 'HDFC', mid: MID, paymentMode: 'UPI', refundAmt: '0.00', txnDate: '2024-01-01 09:30:05.0', ...extra });
parse('status TXN_SUCCESS', 'query', order, 200, answer(st('TXN_SUCCESS', '01')), { class: 'SUCCESS', code: 'TXN_SUCCESS:01', error: '', fields: { amount: 1000, channel_trade_no: paid.channel_trade_no, paid_at_ms: CREATED + 5000 } });
parse('status PENDING', 'query', order, 200, answer(st('PENDING', '402')), { class: 'PROCESSING', code: 'PENDING:402' });
parse('status declined by the bank', 'query', order, 200, answer(st('TXN_FAILURE', '227')), { class: 'FAILED', code: 'TXN_FAILURE:227' });
parse('status system error is not a failure', 'query', order, 200, answer(st('TXN_FAILURE', '501')), { class: 'PROCESSING', code: 'TXN_FAILURE:501' });
parse('status invalid order id = not found', 'query', order, 200, answer({ ...ri('TXN_FAILURE', '334', 'Invalid Order Id.') }), { class: 'NOT_FOUND', code: 'TXN_FAILURE:334' });
parse('status unknown code', 'query', order, 200, answer(st('TXN_FAILURE', '7777')), { class: 'PROCESSING', code: 'TXN_FAILURE:7777', error: '' });
parse('status paid amount differs', 'query', order, 200, answer(st('TXN_SUCCESS', '01', { txnAmount: '0.01' })), { class: 'PROCESSING', error: 'paid amount differs' });
parse('status success without txnAmount', 'query', order, 200, answer(st('TXN_SUCCESS', '01', { txnAmount: undefined })), { class: 'PROCESSING', error: 'paid amount differs' });
parse('status bad signature', 'query', order, 200, answer(st('TXN_SUCCESS', '01'), { key: OTHER_KEY }), { class: 'PROCESSING', error: 'response signature invalid' });
parse('status signature over other text', 'query', order, 200, answer(st('TXN_SUCCESS', '01')).replace('"10.00"', '"10.000"'), { class: 'PROCESSING', error: 'response signature invalid' });
parse('status HTTP 502', 'query', order, 502, '<html>Bad Gateway</html>', { class: 'PROCESSING', error: 'HTTP status 502' });
// V9b: the vector's body text and checksum, received as a status answer (no resultInfo -> PROCESSING)
parse('vector V9b checksum verifies over the raw body text', 'query', { ...order, out_trade_no: 'ORDERID_98765' }, 200,
  '{"head":{"signature":"jqnLf1i9C69pxwlRgJ+zQv/IlqXG07YDXzTmozVWs5Qa+GYeDMJ68cff2A5Lscgl2McJw7CBwscuAopJ+3Iwe60QhPgDGd0z630MTVdW7Dg="},"body":{"mid":"YOUR_MID_HERE","orderId":"ORDERID_98765"}}',
  { class: 'PROCESSING', code: '', error: '' });

const rf = (s, c, extra = {}) => ({ txnTimestamp: '2024-01-01 13:00:00.0', orderId: 'T20240101001', mid: MID, refId: 'R20240101001', ...ri(s, c, 'msg'), refundId: '20240101011230000123', txnId: paid.channel_trade_no, refundAmount: '4.00', ...extra });
parse('refund pending (601)', 'refund', rorder, 200, answer(rf('PENDING', '601')), { class: 'PROCESSING', code: 'PENDING:601', error: '', fields: { channel_refund_no: '20240101011230000123' } });
parse('refund successful (10)', 'refund', rorder, 200, answer(rf('TXN_SUCCESS', '10')), { class: 'SUCCESS', code: 'TXN_SUCCESS:10', fields: { amount: 400 } });
parse('refund refused (invalid refund amount)', 'refund', rorder, 200, answer(rf('TXN_FAILURE', '619')), { class: 'FAILED', code: 'TXN_FAILURE:619' });
parse('refund already raised stays processing', 'refund', rorder, 200, answer(rf('TXN_FAILURE', '617')), { class: 'PROCESSING', code: 'TXN_FAILURE:617' });
parse('refund unknown', 'refund', rorder, 200, answer(rf('TXN_FAILURE', '6999')), { class: 'PROCESSING', code: 'TXN_FAILURE:6999' });
parse('refund bad signature', 'refund', rorder, 200, answer(rf('TXN_SUCCESS', '10'), { key: OTHER_KEY }), { class: 'PROCESSING', error: 'response signature invalid' });
parse('refund status success', 'refund_query', rorder, 200, answer(rf('TXN_SUCCESS', '10')), { class: 'SUCCESS', code: 'TXN_SUCCESS:10', error: '' });
parse('refund status pending', 'refund_query', rorder, 200, answer(rf('PENDING', '601')), { class: 'PROCESSING', code: 'PENDING:601' });
parse('refund status failed', 'refund_query', rorder, 200, answer(rf('TXN_FAILURE', '620')), { class: 'FAILED', code: 'TXN_FAILURE:620' });
parse('refund status not found', 'refund_query', rorder, 200, answer({ orderId: 'T20240101001', mid: MID, refId: 'R20240101001', ...ri('TXN_FAILURE', '631', 'Record not found') }), { class: 'NOT_FOUND', code: 'TXN_FAILURE:631' });
parse('refund status bad signature', 'refund_query', rorder, 200, answer(rf('TXN_SUCCESS', '10'), { key: OTHER_KEY }), { class: 'PROCESSING', error: 'response signature invalid' });

const cb = (STATUS, RESPCODE, extra = {}) => ({ BANKNAME: 'HDFC Bank', BANKTXNID: '777001234', CURRENCY: 'INR', GATEWAYNAME: 'HDFC', MID, ORDERID: 'T20240101001', PAYMENTMODE: 'UPI', RESPCODE, RESPMSG: STATUS === 'TXN_SUCCESS' ? 'Txn Success' : 'Txn failed', STATUS, TXNAMOUNT: '10.00', TXNDATE: '2024-01-01 09:30:05.0', TXNID: paid.channel_trade_no, ...extra });
note('callback TXN_SUCCESS', form(cb('TXN_SUCCESS', '01')), { verified: true, class: 'SUCCESS', code: 'TXN_SUCCESS:01', out_trade_no: 'T20240101001', ack_status: 200, ack_body: 'OK', fields: { amount: 1000, channel_trade_no: paid.channel_trade_no } });
note('callback TXN_FAILURE (contrary)', form(cb('TXN_FAILURE', '227')), { verified: true, class: 'FAILED', code: 'TXN_FAILURE:227', out_trade_no: 'T20240101001' });
note('callback PENDING', form(cb('PENDING', '402')), { verified: true, class: 'PROCESSING', code: 'PENDING:402' });
note('forged callback (amount changed after signing)', form(cb('TXN_SUCCESS', '01')).replace('TXNAMOUNT=10.00', 'TXNAMOUNT=1.00'), { verified: false, class: 'PROCESSING', ack_status: 400, ack_body: 'FAIL' });
note('callback signed with another key', form(cb('TXN_SUCCESS', '01'), OTHER_KEY), { verified: false, ack_status: 400 });
note('callback for another MID', form(cb('TXN_SUCCESS', '01', { MID: 'OTHER_MID' })), { verified: false, ack_status: 400 });
note('unsigned callback', new URLSearchParams(cb('TXN_SUCCESS', '01')).toString(), { verified: false, ack_status: 400 });
// V9a: the vector's form params and checksum (no STATUS -> PROCESSING, but verified)
note('vector V9a checksum verifies over sorted values', 'MID=YOUR_MID_HERE&ORDERID=ORDERID_98765&CHECKSUMHASH=VKwXhULsh86zvxMbkPzcxeTJv0wgVk5sM%2F%2FscSSkPL%2BSksDyuKXf5Ayzi6Y4Qplb4KXbKoWaPDEZJeFOD6JutDF087Paw2asYM0SmkXoW6I%3D', { verified: true, class: 'PROCESSING', code: '', out_trade_no: 'ORDERID_98765' });

const luaStr = (s) => (/^[\x20-\x7e]*$/.test(s) && !s.includes(']==]') ? `[==[${s}]==]` : `"${[...Buffer.from(s, 'utf8')].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`)).join('')}"`);
function lua(v, ind) {
  const pad = '  '.repeat(ind);
  if (typeof v === 'string') return luaStr(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{\n${v.map((x) => `${pad}  ${lua(x, ind + 1)},`).join('\n')}\n${pad}}`;
  return `{\n${Object.keys(v).map((k) => `${pad}  ${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : `[ ${luaStr(k)} ]`} = ${lua(v[k], ind + 1)},`).join('\n')}\n${pad}}`;
}
// argv[2]: write there instead (tests/packs/generators.test.js compares it with the committed file)
fs.writeFileSync(process.argv[2] || path.join(ROOT, 'templates', 'paytm.fixtures', 'cases.lua'), `-- templates/paytm.fixtures/cases.lua -- recorded requests and Paytm answers / callbacks the
-- host runs before the paytm pack may go live (docs/packs.md §7).
-- GENERATED by tests/vectors/paytm/gen_fixtures.js (checksums by the official paytmchecksum
-- SDK) with the TEST-ONLY merchant key of vector V9 (keys/); regenerate, do not hand-edit.
-- Vector V9a / V9b are the "vector V9" cases (exact published checksums).
return {
  clock_ms = ${CREATED},
  config = ${lua(config, 1)},
  cases = {
${cases.map((c) => `    ${lua(c, 2)},`).join('\n')}
  },
}
`);
console.log(`wrote ${cases.length} cases`);
