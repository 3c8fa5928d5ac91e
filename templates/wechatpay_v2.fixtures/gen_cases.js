#!/usr/bin/env node
// templates/wechatpay_v2.fixtures/gen_cases.js -- writes cases.lua next to
// this file: the fixtures of the wechatpay_v2 pack.  Every signature and
// every encrypted req_info here is made by the channel's own SDK
// (wechatpay-axios-plugin@0.9.6 in tests/sim/node_modules):
//   Hash.sign('MD5'|'HMAC-SHA256', params, key)   request/answer/notify sign
//   Aes.AesEcb.encrypt(plain, md5hex(key))        refund-notify req_info
//   Aes.pkcs7.padding                              (full PKCS#7, as WeChat)
// and the request XML is written here independently of paygw (sorted
// elements, & < > " ' escaped), so a recorded body proves the pack's bytes.
// TEST-ONLY secret: the published V1 API key of channel-vectors.md.
//
//   node templates/wechatpay_v2.fixtures/gen_cases.js
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const SDK = path.resolve(__dirname, '../../tests/sim/node_modules/wechatpay-axios-plugin');
const { Hash, Aes } = require(SDK);

const KEY = '192006250b4c09247ec02edce69f6a2d';     // V1 API key
const WRONG_KEY = '00000000000000000000000000000000';
const APPID = 'wxd930ea5d5a258f4f';
const MCHID = '10000100';
const ENDPOINT = 'https://api.mch.weixin.qq.com';
const CLOCK_MS = 1704081600000;                       // 2024-01-01 12:00:00 +08:00
const NOTIFY_URL = 'http://127.0.0.1:8080/notify/wechatpay_v2';

let idSeq = 0;
const nextId = () => (++idSeq).toString(16).padStart(32, '0');

function escXml(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

// the pack's request body: sorted elements, escaped text
function requestXml(p) {
  return `<xml>${Object.keys(p).sort().map((k) => `<${k}>${escXml(p[k])}</${k}>`).join('')}</xml>`;
}

// WeChat's answer shape: CDATA text
function answerXml(p) {
  return `<xml>${Object.entries(p).map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`).join('')}</xml>`;
}

function signed(p, key = KEY, type = 'MD5') {
  return { ...p, sign: Hash.sign(type, p, key) };
}

function request(fields) {
  const p = { appid: APPID, mch_id: MCHID, nonce_str: nextId(), ...fields };
  for (const k of Object.keys(p)) if (p[k] === undefined) delete p[k];
  return requestXml(signed(p));
}

const ORDER = {
  out_trade_no: 'T20240101001', amount: 1000, currency: 'CNY', subject: 'Order 1',
  method: 'wechat.native', expire_seconds: 900, notify_url: NOTIFY_URL,
};
const order = (extra) => ({ ...ORDER, ...extra });
const REFUND = { out_refund_no: 'R20240101001', amount: 300, reason: 'returned' };

const cases = [];
const build = (name, op, o, p, url) => cases.push({
  name, kind: 'build', op, order: o,
  expect: { method: 'POST', url: ENDPOINT + url, content_type: 'text/xml;charset=utf-8', body: request(p) },
});

// ---- builds (each consumes one gw.id nonce, in this order) ----
const common = { body: 'Order 1', out_trade_no: 'T20240101001', total_fee: '1000', fee_type: 'CNY',
  spbill_create_ip: '127.0.0.1', time_expire: '20240101121500' };
build('unifiedorder NATIVE (MD5, V1 key)', 'pay', order({}),
  { ...common, trade_type: 'NATIVE', notify_url: NOTIFY_URL, product_id: 'T20240101001' }, '/pay/unifiedorder');
build('unifiedorder JSAPI with openid', 'pay',
  order({ method: 'wechat.jsapi', extra: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', payer_client_ip: '10.0.0.7' } }),
  { ...common, spbill_create_ip: '10.0.0.7', trade_type: 'JSAPI', notify_url: NOTIFY_URL, openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
  '/pay/unifiedorder');
build('micropay with auth_code', 'pay',
  order({ method: 'wechat.micropay', expire_seconds: 0, extra: { auth_code: '134567890123456789' } }),
  { ...common, time_expire: undefined, auth_code: '134567890123456789' }, '/pay/micropay');
build('orderquery', 'query', order({}), { out_trade_no: 'T20240101001' }, '/pay/orderquery');
build('closeorder', 'close', order({}), { out_trade_no: 'T20240101001' }, '/pay/closeorder');
build('reverse (cancel)', 'cancel', order({ method: 'wechat.micropay' }), { out_trade_no: 'T20240101001' },
  '/secapi/pay/reverse');
build('refund', 'refund', order({ refund: REFUND }), {
  out_trade_no: 'T20240101001', out_refund_no: 'R20240101001', total_fee: '1000', refund_fee: '300',
  refund_fee_type: 'CNY', refund_desc: 'returned', notify_url: NOTIFY_URL,
}, '/secapi/pay/refund');
build('refundquery', 'refund_query', order({ refund: REFUND }), { out_refund_no: 'R20240101001' }, '/pay/refundquery');
build('downloadbill', 'bill', order({ bill: { date: '2024-01-01', type: 'all' } }),
  { bill_date: '20240101', bill_type: 'ALL' }, '/pay/downloadbill');

// ---- answers ----
const base = { return_code: 'SUCCESS', return_msg: 'OK', appid: APPID, mch_id: MCHID, nonce_str: 'IITRi8Iabbblz1Jc' };
const ok = (f) => answerXml(signed({ ...base, result_code: 'SUCCESS', ...f }));
const fail = (err, f) => answerXml(signed({ ...base, result_code: 'FAIL', err_code: err, err_code_des: 'x', ...f }));
const forged = (f) => answerXml(signed({ ...base, result_code: 'SUCCESS', ...f }, WRONG_KEY));
const parse = (name, op, o, response, expect, status = 200) => cases.push({ name, kind: 'parse', op, order: o, status, response, expect });

const paid = { trade_type: 'MICROPAY', openid: 'oUpF8u', transaction_id: '4200000001202401011234567890',
  out_trade_no: 'T20240101001', total_fee: '1000', fee_type: 'CNY', time_end: '20240101120005', bank_type: 'OTHERS' };

// the jsapi parse consumes the next id for nonceStr (after the 9 builds)
const jsNonce = nextId();
const jsCred = { appId: APPID, timeStamp: String(CLOCK_MS / 1000), nonceStr: jsNonce,
  package: 'prepay_id=wx201410272009395522657a690389285100', signType: 'MD5' };
jsCred.paySign = Hash.sign('MD5', jsCred, KEY);
parse('unifiedorder JSAPI -> jsapi credential with paySign', 'pay', order({ method: 'wechat.jsapi' }),
  ok({ trade_type: 'JSAPI', prepay_id: 'wx201410272009395522657a690389285100' }),
  { class: 'SUCCESS', code: 'SUCCESS', error: '', fields: { credential: { type: 'jsapi', ...jsCred } } });
parse('unifiedorder NATIVE -> code_url', 'pay', order({}),
  ok({ trade_type: 'NATIVE', prepay_id: 'wx2014', code_url: 'weixin://wxpay/bizpayurl/up?pr=NwY5Mz9&groupid=00' }),
  { class: 'SUCCESS', code: 'SUCCESS', error: '', fields: { credential: { type: 'qr_code', qr_code: 'weixin://wxpay/bizpayurl/up?pr=NwY5Mz9&groupid=00' } } });
parse('micropay paid', 'pay', order({ method: 'wechat.micropay' }), ok(paid),
  { class: 'SUCCESS', code: 'SUCCESS', error: '', fields: { channel_trade_no: paid.transaction_id, amount: 1000, paid_at_ms: 1704081605000 } });
parse('micropay USERPAYING -> processing', 'pay', order({ method: 'wechat.micropay' }), fail('USERPAYING'),
  { class: 'PROCESSING', code: 'USERPAYING', error: '' });
parse('micropay SYSTEMERROR -> processing', 'pay', order({ method: 'wechat.micropay' }), fail('SYSTEMERROR'),
  { class: 'PROCESSING', code: 'SYSTEMERROR', error: '' });
parse('micropay AUTHCODEEXPIRE -> failed', 'pay', order({ method: 'wechat.micropay' }), fail('AUTHCODEEXPIRE'),
  { class: 'FAILED', code: 'AUTHCODEEXPIRE', error: '' });
parse('signed APPID_NOT_EXIST -> not sent', 'pay', order({}), fail('APPID_NOT_EXIST'),
  { class: 'NOT_SENT', code: 'APPID_NOT_EXIST', error: '' });
parse('unknown err_code -> processing', 'pay', order({ method: 'wechat.micropay' }), fail('SOMETHING_NEW'),
  { class: 'PROCESSING', code: 'SOMETHING_NEW' });
parse('micropay paid, forged sign -> processing', 'pay', order({ method: 'wechat.micropay' }), forged(paid),
  { class: 'PROCESSING', error: 'signature invalid' });
parse('micropay paid, other amount -> processing', 'pay', order({ method: 'wechat.micropay' }), ok({ ...paid, total_fee: '1' }),
  { class: 'PROCESSING', error: 'amount differs' });
parse('return_code FAIL (unsigned) -> processing', 'pay', order({}),
  answerXml({ return_code: 'FAIL', return_msg: '签名错误' }), { class: 'PROCESSING', error: 'return_code FAIL' });
parse('garbage -> processing', 'pay', order({}), '<html>bad gateway', { class: 'PROCESSING' });
parse('HTTP 500 -> processing', 'pay', order({}), ok(paid), { class: 'PROCESSING', error: 'HTTP status 500' }, 500);
// V1 of channel-vectors.md: the published MD5 sign verifies (the document
// has no return_code, so it stays PROCESSING with that complaint, not a
// signature complaint)
parse('V1 published MD5 sign verifies', 'query', order({}),
  answerXml({ appid: APPID, mch_id: MCHID, device_info: '1000', body: 'test', nonce_str: 'ibuaiVcKdpRxkhJA',
    sign: '9A0A8659F005D6984697E2CA0A9CF3B7' }),
  { class: 'PROCESSING', error: 'no return_code' });
parse('V1 with a changed field does not verify', 'query', order({}),
  answerXml({ appid: APPID, mch_id: MCHID, device_info: '1001', body: 'test', nonce_str: 'ibuaiVcKdpRxkhJA',
    sign: '9A0A8659F005D6984697E2CA0A9CF3B7' }),
  { class: 'PROCESSING', error: 'signature invalid' });

const q = { ...paid, trade_type: 'NATIVE' };
parse('orderquery SUCCESS', 'query', order({}), ok({ ...q, trade_state: 'SUCCESS' }),
  { class: 'SUCCESS', code: 'SUCCESS', error: '', fields: { channel_trade_no: q.transaction_id, amount: 1000, paid_at_ms: 1704081605000 } });
parse('orderquery REFUND (was paid)', 'query', order({}), ok({ ...q, trade_state: 'REFUND' }), { class: 'SUCCESS', code: 'REFUND' });
parse('orderquery NOTPAY', 'query', order({}), ok({ out_trade_no: 'T20240101001', trade_state: 'NOTPAY' }), { class: 'PROCESSING', code: 'NOTPAY', error: '' });
parse('orderquery USERPAYING', 'query', order({}), ok({ out_trade_no: 'T20240101001', trade_state: 'USERPAYING' }), { class: 'PROCESSING', code: 'USERPAYING' });
parse('orderquery CLOSED', 'query', order({}), ok({ out_trade_no: 'T20240101001', trade_state: 'CLOSED' }), { class: 'CLOSED', code: 'CLOSED' });
parse('orderquery REVOKED', 'query', order({}), ok({ out_trade_no: 'T20240101001', trade_state: 'REVOKED' }), { class: 'FAILED', code: 'REVOKED' });
parse('orderquery PAYERROR', 'query', order({}), ok({ out_trade_no: 'T20240101001', trade_state: 'PAYERROR' }), { class: 'FAILED', code: 'PAYERROR' });
parse('orderquery ORDERNOTEXIST -> not found', 'query', order({}), fail('ORDERNOTEXIST'), { class: 'NOT_FOUND', code: 'ORDERNOTEXIST' });
parse('orderquery unknown trade_state', 'query', order({}), ok({ out_trade_no: 'T20240101001', trade_state: 'NEWSTATE' }), { class: 'PROCESSING', code: 'NEWSTATE' });
parse('orderquery SUCCESS for another order', 'query', order({}), ok({ ...q, out_trade_no: 'T-OTHER', trade_state: 'SUCCESS' }), { class: 'PROCESSING', error: 'differs' });
parse('orderquery SUCCESS, forged sign', 'query', order({}), forged({ ...q, trade_state: 'SUCCESS' }), { class: 'PROCESSING', error: 'signature invalid' });

parse('closeorder SUCCESS', 'close', order({}), ok({}), { class: 'SUCCESS', code: 'SUCCESS', error: '' });
parse('closeorder ORDERPAID -> processing', 'close', order({}), fail('ORDERPAID'), { class: 'PROCESSING', code: 'ORDERPAID' });
parse('closeorder ORDERNOTEXIST', 'close', order({}), fail('ORDERNOTEXIST'), { class: 'NOT_FOUND' });
parse('closeorder forged', 'close', order({}), forged({}), { class: 'PROCESSING', error: 'signature invalid' });

parse('reverse SUCCESS recall=N', 'cancel', order({}), ok({ recall: 'N' }), { class: 'SUCCESS', code: 'SUCCESS', error: '', fields: { recall: false } });
parse('reverse FAIL recall=Y -> call again', 'cancel', order({}), fail('SYSTEMERROR', { recall: 'Y' }),
  { class: 'PROCESSING', code: 'RECALL', fields: { recall: true } });
parse('reverse REVERSE_EXPIRE', 'cancel', order({}), fail('REVERSE_EXPIRE', { recall: 'N' }), { class: 'FAILED', code: 'REVERSE_EXPIRE' });
parse('reverse unknown', 'cancel', order({}), fail('WHATEVER'), { class: 'PROCESSING', code: 'WHATEVER' });
parse('reverse forged', 'cancel', order({}), forged({ recall: 'N' }), { class: 'PROCESSING', error: 'signature invalid' });

const rf = { transaction_id: q.transaction_id, out_trade_no: 'T20240101001', out_refund_no: 'R20240101001',
  refund_id: '50000000382019052709732678859', refund_fee: '300', total_fee: '1000', cash_fee: '1000' };
parse('refund accepted -> processing', 'refund', order({ refund: REFUND }), ok(rf),
  { class: 'PROCESSING', code: 'SUCCESS', error: '', fields: { channel_refund_no: rf.refund_id } });
parse('refund NOTENOUGH -> failed', 'refund', order({ refund: REFUND }), fail('NOTENOUGH'), { class: 'FAILED', code: 'NOTENOUGH' });
parse('refund SYSTEMERROR', 'refund', order({ refund: REFUND }), fail('SYSTEMERROR'), { class: 'PROCESSING' });
parse('refund unknown', 'refund', order({ refund: REFUND }), fail('NEWCODE'), { class: 'PROCESSING', code: 'NEWCODE' });
parse('refund forged', 'refund', order({ refund: REFUND }), forged(rf), { class: 'PROCESSING', error: 'signature invalid' });

const rq = (st) => ok({ transaction_id: q.transaction_id, out_trade_no: 'T20240101001', total_fee: '1000', refund_count: '1',
  out_refund_no_0: 'R20240101001', refund_id_0: rf.refund_id, refund_fee_0: '300', refund_status_0: st });
parse('refundquery SUCCESS', 'refund_query', order({ refund: REFUND }), rq('SUCCESS'),
  { class: 'SUCCESS', code: 'SUCCESS', error: '', fields: { channel_refund_no: rf.refund_id, amount: 300 } });
parse('refundquery REFUNDCLOSE', 'refund_query', order({ refund: REFUND }), rq('REFUNDCLOSE'), { class: 'FAILED', code: 'REFUNDCLOSE' });
parse('refundquery PROCESSING', 'refund_query', order({ refund: REFUND }), rq('PROCESSING'), { class: 'PROCESSING', code: 'PROCESSING' });
parse('refundquery CHANGE', 'refund_query', order({ refund: REFUND }), rq('CHANGE'), { class: 'PROCESSING', code: 'CHANGE' });
parse('refundquery REFUNDNOTEXIST', 'refund_query', order({ refund: REFUND }), fail('REFUNDNOTEXIST'), { class: 'NOT_FOUND' });
parse('refundquery forged', 'refund_query', order({ refund: REFUND }),
  forged({ refund_count: '1', out_refund_no_0: 'R20240101001', refund_status_0: 'SUCCESS' }), { class: 'PROCESSING', error: 'signature invalid' });

const bill = '\ufeff交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n'
  + '`2024-01-01 12:00:05,`wxd930ea5d5a258f4f,`10000100,`0,`,`4200000001202401011234567890,`T20240101001,`oUpF8u,`NATIVE,`SUCCESS,`OTHERS,`CNY,`10.00,`0.00,`0,`0,`0.00,`0.00,`,`,`Order 1,`,`0.06000,`0.60%,`10.00,`0.00,`\n'
  + '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n'
  + '`1,`10.00,`0.00,`0.00,`0.06000,`10.00,`0.00\n';
parse('downloadbill statement', 'bill', order({ bill: { date: '2024-01-01', type: 'all' } }), bill,
  { class: 'SUCCESS', code: 'SUCCESS', error: '', fields: { lines: 2 } });
parse('downloadbill No Bill Exist', 'bill', order({ bill: { date: '2024-01-01', type: 'all' } }),
  '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[No Bill Exist]]></return_msg><error_code><![CDATA[20002]]></error_code></xml>',
  { class: 'NOT_FOUND', code: 'No Bill Exist' });

// ---- notifications ----
const ACK_OK = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
const notify = (name, body, expect) => cases.push({ name, kind: 'notify', content_type: 'text/xml', body, expect });
const payNotify = { ...base, result_code: 'SUCCESS', openid: 'oUpF8u', is_subscribe: 'N', trade_type: 'NATIVE',
  bank_type: 'CMC', total_fee: '1000', fee_type: 'CNY', cash_fee: '1000', transaction_id: q.transaction_id,
  out_trade_no: 'T20240101001', time_end: '20240101120005' };
notify('pay notify valid', answerXml(signed(payNotify)), { verified: true, class: 'SUCCESS', code: 'SUCCESS',
  out_trade_no: 'T20240101001', ack_status: 200, ack_body: ACK_OK, fields: { amount: 1000, channel_trade_no: q.transaction_id } });
notify('pay notify forged', answerXml(signed(payNotify, WRONG_KEY)), { verified: false, class: 'PROCESSING', ack_status: 500 });
notify('pay notify tampered amount', answerXml({ ...signed(payNotify), total_fee: '1' }), { verified: false, class: 'PROCESSING' });
notify('pay notify for another merchant', answerXml(signed({ ...payNotify, mch_id: '10000999' })), { verified: false });

function reqInfo(plain, key = KEY) {
  const aesKey = crypto.createHash('md5').update(key).digest('hex');
  // full PKCS#7 (WeChat's), then the SDK's encrypt (its padding is optional)
  return Aes.AesEcb.encrypt(Aes.pkcs7.padding(Buffer.from(plain), false), aesKey);
}
const refundPlain = (st) => `<root><out_refund_no><![CDATA[R20240101001]]></out_refund_no><out_trade_no><![CDATA[T20240101001]]></out_trade_no><refund_account><![CDATA[REFUND_SOURCE_RECHARGE_FUNDS]]></refund_account><refund_fee><![CDATA[300]]></refund_fee><refund_id><![CDATA[${rf.refund_id}]]></refund_id><refund_recv_accout><![CDATA[支付用户零钱]]></refund_recv_accout><refund_request_source><![CDATA[API]]></refund_request_source><refund_status><![CDATA[${st}]]></refund_status><settlement_refund_fee><![CDATA[300]]></settlement_refund_fee><settlement_total_fee><![CDATA[1000]]></settlement_total_fee><success_time><![CDATA[2024-01-01 12:30:00]]></success_time><total_fee><![CDATA[1000]]></total_fee><transaction_id><![CDATA[${q.transaction_id}]]></transaction_id></root>`;
const refundNotify = (info) => answerXml({ return_code: 'SUCCESS', appid: APPID, mch_id: MCHID, nonce_str: 'TeqClE3i0mvn3DrK', req_info: info });
notify('refund notify SUCCESS (req_info AES-256-ECB)', refundNotify(reqInfo(refundPlain('SUCCESS'))), {
  verified: true, class: 'SUCCESS', code: 'REFUND.SUCCESS', out_trade_no: 'T20240101001', ack_status: 200,
  fields: { kind: 'refund', out_refund_no: 'R20240101001', amount: 300, refunded_at_ms: 1704083400000 } });
notify('refund notify REFUNDCLOSE', refundNotify(reqInfo(refundPlain('REFUNDCLOSE'))),
  { verified: true, class: 'FAILED', code: 'REFUND.REFUNDCLOSE' });
notify('refund notify CHANGE', refundNotify(reqInfo(refundPlain('CHANGE'))), { verified: true, class: 'PROCESSING' });
const good = Buffer.from(reqInfo(refundPlain('SUCCESS')), 'base64');
good[good.length - 1] ^= 0x01;    // flip a bit in the last block
notify('refund notify tampered ciphertext', refundNotify(good.toString('base64')), { verified: false, class: 'PROCESSING', ack_status: 500 });
notify('refund notify under another key', refundNotify(reqInfo(refundPlain('SUCCESS'), WRONG_KEY)), { verified: false });
// V11 of channel-vectors.md: the SDK-generated req_info decrypts (to a
// document without out_trade_no, so it is refused for that, not for the key)
notify('V11 req_info vector decrypts', refundNotify('WBzGpzQuNpcFxIlFjUUD9CdH4BF3YHmtiHaWV8j0mqDLQs/FUrjFmK+mli7+Iybd'),
  { verified: false, error: 'lacks out_trade_no' });

// ---- Lua writer ----
function lua(v, ind = '') {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') {
    return `"${Buffer.from(v).toString('latin1').replace(/[\\"\x00-\x1f\x7f]/g, (c) => {
      if (c === '\\') return '\\\\';
      if (c === '"') return '\\"';
      if (c === '\n') return '\\n';
      return `\\${String(c.charCodeAt(0)).padStart(3, '0')}`;
    })}"`;
  }
  const inner = `${ind}  `;
  if (Array.isArray(v)) return `{\n${v.map((x) => inner + lua(x, inner)).join(',\n')},\n${ind}}`;
  const keys = Object.keys(v).filter((k) => v[k] !== undefined);
  return `{\n${keys.map((k) => `${inner}${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : `["${k}"]`} = ${lua(v[k], inner)}`).join(',\n')},\n${ind}}`;
}

const out = `-- templates/wechatpay_v2.fixtures/cases.lua -- recorded requests, answers and
-- notifications the host runs before the wechatpay_v2 pack may go live.
-- GENERATED by templates/wechatpay_v2.fixtures/gen_cases.js with the channel's
-- SDK (wechatpay-axios-plugin Hash.sign / Aes.AesEcb) and the TEST-ONLY V1
-- API key (keys/fixture_api_key.secret); regenerate, do not hand-edit.
return ${lua({
  clock_ms: CLOCK_MS,
  config: { appid: APPID, mch_id: MCHID, api_key: 'fixture_api_key', sign_type: 'MD5',
    spbill_create_ip: '127.0.0.1', endpoint: ENDPOINT },
  cases,
})}
`;
// strings were written as latin1 bytes of UTF-8: re-encode byte-for-byte
fs.writeFileSync(path.join(__dirname, 'cases.lua'), Buffer.from(out, 'latin1'));
console.log(`wrote ${cases.length} cases`);
