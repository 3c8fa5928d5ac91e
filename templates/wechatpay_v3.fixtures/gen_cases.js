#!/usr/bin/env node
// templates/wechatpay_v3.fixtures/gen_cases.js -- writes cases.lua next to
// this file: the fixtures of the wechatpay_v3 pack.  Signatures and
// ciphertexts come from the channel's own SDK (wechatpay-axios-plugin@0.9.6
// in tests/sim/node_modules):
//   Formatter.request / Formatter.authorization / Rsa.sign  our Authorization
//   Formatter.response + Rsa.sign (platform key)            answers, notifies
//   Aes.AesGcm.encrypt (APIv3 key)                          notify resources
// Request JSON is written here independently of paygw (compact, keys sorted).
// TEST-ONLY keys: keys/fixture_merchant_private.pem = the V13 key of
// channel-vectors.md; gen/platform_private.pem + keys/fixture_platform_cert.pem
// = a self-signed "platform" pair made for these fixtures (serial
// 5157F09E…B8E1); keys/fixture_api_v3_key.secret = the V10 key.
//
//   node templates/wechatpay_v3.fixtures/gen_cases.js
'use strict';

const fs = require('fs');
const path = require('path');

const SDK = path.resolve(__dirname, '../../tests/sim/node_modules/wechatpay-axios-plugin');
const { Rsa, Aes, Formatter } = require(SDK);

const read = (p) => fs.readFileSync(path.join(__dirname, p));
const MERCHANT_KEY = Rsa.from(read('keys/fixture_merchant_private.pem'), Rsa.KEY_TYPE_PRIVATE);
const PLATFORM_KEY = Rsa.from(read('gen/platform_private.pem'), Rsa.KEY_TYPE_PRIVATE);
const OTHER_KEY = Rsa.from(read('gen/other_private.pem'), Rsa.KEY_TYPE_PRIVATE);  // a key WeChat never had
const PLATFORM_SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const APIV3_KEY = '0123456789abcdef0123456789abcdef';   // V10 key
const MCHID = '1230000109';
const APPID = 'wxd678efh567hg6787';
const APP_APPID = 'wx8888888888888888';
const MERCHANT_SERIAL = '444F4864EA9B34415E7B5E0FD16C1C5A3E6E2B83';
const ENDPOINT = 'https://api.mch.weixin.qq.com';
const CLOCK_MS = 1704081600000;                    // 2024-01-01 12:00:00 +08:00
const TS = String(CLOCK_MS / 1000);
const NOTIFY_URL = 'http://127.0.0.1:8080/notify/wechatpay_v3';

let idSeq = 0;
const nextNonce = () => (++idSeq).toString(16).padStart(32, '0').toUpperCase();

// compact JSON with sorted keys (what the pack sends)
function sortedJson(v) {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).filter((k) => v[k] !== undefined).sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const ORDER = {
  out_trade_no: 'T20240101001', amount: 1000, currency: 'CNY', subject: 'Order 1',
  method: 'wechat.native', expire_seconds: 900, notify_url: NOTIFY_URL,
};
const order = (x) => ({ ...ORDER, ...x });
const REFUND = { out_refund_no: 'R20240101001', amount: 300, reason: 'returned' };
const PAYOUT = { out_payout_no: 'P20240101001', amount: 500, currency: 'CNY', remark: 'prize',
  payee: { account_no: 'o-MYE42l80oelYMDE34nYD456Xoy', type: 'openid' } };

const cases = [];
function build(name, op, o, method, uri, bodyObj) {
  const body = bodyObj === undefined ? '' : sortedJson(bodyObj);
  const nonce = nextNonce();
  const signature = Rsa.sign(Formatter.request(method, uri, TS, nonce, body), MERCHANT_KEY);
  cases.push({
    name, kind: 'build', op, order: o,
    expect: {
      method, url: ENDPOINT + uri, content_type: method === 'GET' ? '' : 'application/json', body,
      headers: { Authorization: Formatter.authorization(MCHID, nonce, signature, TS, MERCHANT_SERIAL),
        Accept: 'application/json' },
    },
  });
}

// ---- builds (each consumes one gw.id nonce, in this order) ----
const prepay = (x) => ({ appid: APPID, mchid: MCHID, description: 'Order 1', out_trade_no: 'T20240101001',
  notify_url: NOTIFY_URL, amount: { total: 1000, currency: 'CNY' }, time_expire: '2024-01-01T12:15:00+08:00', ...x });
build('native prepay (V13 merchant key)', 'pay', order({}), 'POST', '/v3/pay/transactions/native', prepay({}));
build('jsapi prepay', 'pay', order({ method: 'wechat.jsapi', extra: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } }),
  'POST', '/v3/pay/transactions/jsapi', prepay({ payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } }));
build('h5 prepay', 'pay', order({ method: 'wechat.h5', extra: { payer_client_ip: '10.0.0.7' } }),
  'POST', '/v3/pay/transactions/h5', prepay({ scene_info: { payer_client_ip: '10.0.0.7', h5_info: { type: 'Wap' } } }));
build('app prepay (app appid)', 'pay', order({ method: 'wechat.app', expire_seconds: 0 }),
  'POST', '/v3/pay/transactions/app', prepay({ appid: APP_APPID, time_expire: undefined }));
build('query by out_trade_no', 'query', order({}), 'GET', `/v3/pay/transactions/out-trade-no/T20240101001?mchid=${MCHID}`);
build('close', 'close', order({}), 'POST', '/v3/pay/transactions/out-trade-no/T20240101001/close', { mchid: MCHID });
build('refund', 'refund', order({ refund: REFUND }), 'POST', '/v3/refund/domestic/refunds', {
  out_trade_no: 'T20240101001', out_refund_no: 'R20240101001', reason: 'returned', notify_url: NOTIFY_URL,
  amount: { refund: 300, total: 1000, currency: 'CNY' } });
build('refund query', 'refund_query', order({ refund: REFUND }), 'GET', '/v3/refund/domestic/refunds/R20240101001');
build('payout = transfer batch of one detail', 'payout', order({ payout: PAYOUT }), 'POST', '/v3/transfer/batches', {
  appid: APPID, out_batch_no: 'P20240101001', batch_name: 'prize', batch_remark: 'prize', total_amount: 500, total_num: 1,
  transfer_detail_list: [{ out_detail_no: 'P20240101001', transfer_amount: 500, transfer_remark: 'prize',
    openid: 'o-MYE42l80oelYMDE34nYD456Xoy' }] });
build('payout query (the detail)', 'payout_query', order({ payout: PAYOUT }), 'GET',
  '/v3/transfer/batches/out-batch-no/P20240101001/details/out-detail-no/P20240101001');
// user_name is RSA-OAEP (random): body_contains + the Wechatpay-Serial header
nextNonce();
cases.push({ name: 'payout with the payee name encrypted for the platform cert', kind: 'build', op: 'payout',
  order: order({ payout: { ...PAYOUT, payee: { ...PAYOUT.payee, account_name: '张三' } } }),
  expect: { method: 'POST', url: `${ENDPOINT}/v3/transfer/batches`,
    body_contains: ['"user_name":"', '"openid":"o-MYE42l80oelYMDE34nYD456Xoy"'],
    headers: { 'Wechatpay-Serial': PLATFORM_SERIAL } } });

// ---- answers ----
function signedHeaders(body, { key = PLATFORM_KEY, ts = TS, serial = PLATFORM_SERIAL, nonce = 'c5ac7061fccab6bf3e254dcf98995b8c', sig } = {}) {
  return { 'wechatpay-timestamp': ts, 'wechatpay-nonce': nonce, 'wechatpay-serial': serial,
    'wechatpay-signature': sig || Rsa.sign(Formatter.response(ts, nonce, body), key),
    'content-type': 'application/json', 'request-id': '08F78BB5AF0610D302' };
}
function parse(name, op, o, status, bodyObj, expect, hopt) {
  const body = bodyObj === null ? '' : JSON.stringify(bodyObj);
  cases.push({ name, kind: 'parse', op, order: o, status, response: body,
    headers: hopt === false ? { 'content-type': 'application/json' } : signedHeaders(body, hopt), expect });
}
const err = (code) => ({ code, message: 'x' });

// the jsapi and app parses consume the next ids (nonceStr / noncestr)
const jsNonce = nextNonce();
const jsPaySign = Rsa.sign(`${APPID}\n${TS}\n${jsNonce}\nprepay_id=wx201410272009395522657a690389285100\n`, MERCHANT_KEY);
parse('jsapi prepay -> jsapi credential (paySign RSA)', 'pay', order({ method: 'wechat.jsapi' }), 200,
  { prepay_id: 'wx201410272009395522657a690389285100' },
  { class: 'SUCCESS', code: 'SUCCESS', error: '', fields: { credential: { type: 'jsapi', appId: APPID, timeStamp: TS,
    nonceStr: jsNonce, package: 'prepay_id=wx201410272009395522657a690389285100', signType: 'RSA', paySign: jsPaySign } } });
const appNonce = nextNonce();
const appSign = Rsa.sign(`${APP_APPID}\n${TS}\n${appNonce}\nwx2014\n`, MERCHANT_KEY);
parse('app prepay -> app credential', 'pay', order({ method: 'wechat.app' }), 200, { prepay_id: 'wx2014' },
  { class: 'SUCCESS', code: 'SUCCESS', fields: { credential: { type: 'app', appid: APP_APPID, partnerid: MCHID,
    prepayid: 'wx2014', package: 'Sign=WXPay', noncestr: appNonce, timestamp: TS, sign: appSign } } });
parse('native prepay -> code_url', 'pay', order({}), 200, { code_url: 'weixin://wxpay/bizpayurl?pr=p4lpSuKzz' },
  { class: 'SUCCESS', code: 'SUCCESS', error: '', fields: { credential: { type: 'qr_code', qr_code: 'weixin://wxpay/bizpayurl?pr=p4lpSuKzz' } } });
parse('h5 prepay -> url', 'pay', order({ method: 'wechat.h5' }), 200, { h5_url: 'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2016' },
  { class: 'SUCCESS', fields: { credential: { type: 'url', url: 'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2016' } } });
parse('prepay 400 ORDER_CLOSED -> failed', 'pay', order({}), 400, err('ORDER_CLOSED'), { class: 'FAILED', code: 'ORDER_CLOSED' });
parse('prepay 401 SIGN_ERROR signed -> not sent', 'pay', order({}), 401, err('SIGN_ERROR'), { class: 'NOT_SENT', code: 'SIGN_ERROR' });
parse('prepay 403 OUT_TRADE_NO_USED -> processing', 'pay', order({}), 403, err('OUT_TRADE_NO_USED'), { class: 'PROCESSING', code: 'OUT_TRADE_NO_USED' });
parse('prepay unknown code', 'pay', order({}), 400, err('BRAND_NEW'), { class: 'PROCESSING', code: 'BRAND_NEW' });
parse('prepay 500 SYSTEM_ERROR', 'pay', order({}), 500, err('SYSTEM_ERROR'), { class: 'PROCESSING' });
parse('prepay signed by another key', 'pay', order({}), 200, { code_url: 'weixin://x' }, { class: 'PROCESSING', error: 'signature invalid' }, { key: OTHER_KEY });
parse('prepay 401 SIGN_ERROR unsigned -> processing', 'pay', order({}), 401, err('SIGN_ERROR'), { class: 'PROCESSING', error: 'no Wechatpay' }, false);
parse('prepay with an unknown Wechatpay-Serial', 'pay', order({}), 200, { code_url: 'weixin://x' }, { class: 'PROCESSING', error: 'unknown Wechatpay-Serial' }, { serial: '1111' });
parse('prepay with a stale timestamp', 'pay', order({}), 200, { code_url: 'weixin://x' }, { class: 'PROCESSING', error: 'outside' }, { ts: String(CLOCK_MS / 1000 - 3600) });
parse('prepay with a WECHATPAY/SIGNTEST probe', 'pay', order({}), 200, { code_url: 'weixin://x' }, { class: 'PROCESSING', error: 'probe' }, { sig: 'WECHATPAY/SIGNTEST/abc' });

const txn = (state, x) => ({ appid: APPID, mchid: MCHID, out_trade_no: 'T20240101001', transaction_id: '4200000001202401011234567890',
  trade_type: 'NATIVE', trade_state: state, trade_state_desc: 'x', bank_type: 'OTHERS', success_time: '2024-01-01T12:00:05+08:00',
  payer: { openid: 'oUpF8u' }, amount: { total: 1000, payer_total: 1000, currency: 'CNY', payer_currency: 'CNY' }, ...x });
parse('query SUCCESS', 'query', order({}), 200, txn('SUCCESS'),
  { class: 'SUCCESS', code: 'SUCCESS', error: '', fields: { channel_trade_no: '4200000001202401011234567890', amount: 1000, paid_at_ms: 1704081605000 } });
parse('query NOTPAY', 'query', order({}), 200, txn('NOTPAY', { transaction_id: undefined, success_time: undefined }), { class: 'PROCESSING', code: 'NOTPAY', error: '' });
parse('query CLOSED', 'query', order({}), 200, txn('CLOSED'), { class: 'CLOSED', code: 'CLOSED' });
parse('query PAYERROR', 'query', order({}), 200, txn('PAYERROR'), { class: 'FAILED', code: 'PAYERROR' });
parse('query 404 ORDER_NOT_EXIST -> not found', 'query', order({}), 404, err('ORDER_NOT_EXIST'), { class: 'NOT_FOUND', code: 'ORDER_NOT_EXIST' });
parse('query unknown trade_state', 'query', order({}), 200, txn('NEW_STATE'), { class: 'PROCESSING', code: 'NEW_STATE' });
parse('query SUCCESS with another amount', 'query', order({}), 200, txn('SUCCESS', { amount: { total: 1 } }), { class: 'PROCESSING', error: 'amount differs' });
parse('query SUCCESS forged', 'query', order({}), 200, txn('SUCCESS'), { class: 'PROCESSING', error: 'signature invalid' }, { key: OTHER_KEY });
parse('query garbage', 'query', order({}), 200, null, { class: 'PROCESSING' }, false);

parse('close 204', 'close', order({}), 204, null, { class: 'SUCCESS', code: 'SUCCESS', error: '' });
parse('close 400 ORDERPAID -> processing', 'close', order({}), 400, err('ORDERPAID'), { class: 'PROCESSING', code: 'ORDERPAID' });
parse('close 404 -> not found', 'close', order({}), 404, err('ORDER_NOT_EXIST'), { class: 'NOT_FOUND' });
parse('close 204 forged', 'close', order({}), 204, null, { class: 'PROCESSING', error: 'signature invalid' }, { key: OTHER_KEY });

const rf = (status, x) => ({ refund_id: '50000000382019052709732678859', out_refund_no: 'R20240101001', transaction_id: '4200000001202401011234567890',
  out_trade_no: 'T20240101001', channel: 'ORIGINAL', user_received_account: '支付用户零钱', create_time: '2024-01-01T12:30:00+08:00',
  status, amount: { total: 1000, refund: 300, payer_total: 1000, payer_refund: 300, currency: 'CNY' }, ...x });
parse('refund PROCESSING', 'refund', order({ refund: REFUND }), 200, rf('PROCESSING'),
  { class: 'PROCESSING', code: 'PROCESSING', error: '', fields: { channel_refund_no: '50000000382019052709732678859' } });
parse('refund SUCCESS at once', 'refund', order({ refund: REFUND }), 200, rf('SUCCESS', { success_time: '2024-01-01T12:30:01+08:00' }), { class: 'SUCCESS', code: 'SUCCESS' });
parse('refund 403 NOT_ENOUGH -> failed', 'refund', order({ refund: REFUND }), 403, err('NOT_ENOUGH'), { class: 'FAILED', code: 'NOT_ENOUGH' });
parse('refund unknown code', 'refund', order({ refund: REFUND }), 400, err('NEW_REFUND_CODE'), { class: 'PROCESSING' });
parse('refund forged', 'refund', order({ refund: REFUND }), 200, rf('SUCCESS'), { class: 'PROCESSING', error: 'signature invalid' }, { key: OTHER_KEY });
parse('refund query SUCCESS', 'refund_query', order({ refund: REFUND }), 200, rf('SUCCESS'), { class: 'SUCCESS', code: 'SUCCESS', fields: { amount: 300 } });
parse('refund query CLOSED', 'refund_query', order({ refund: REFUND }), 200, rf('CLOSED'), { class: 'FAILED', code: 'CLOSED' });
parse('refund query ABNORMAL', 'refund_query', order({ refund: REFUND }), 200, rf('ABNORMAL'), { class: 'PROCESSING', code: 'ABNORMAL' });
parse('refund query 404', 'refund_query', order({ refund: REFUND }), 404, err('RESOURCE_NOT_EXISTS'), { class: 'NOT_FOUND' });
parse('refund query forged', 'refund_query', order({ refund: REFUND }), 200, rf('SUCCESS'), { class: 'PROCESSING', error: 'signature invalid' }, { key: OTHER_KEY });

parse('payout accepted -> processing', 'payout', order({ payout: PAYOUT }), 200,
  { out_batch_no: 'P20240101001', batch_id: '1030000071100999991182020050700019480001', create_time: '2024-01-01T12:00:00+08:00', batch_status: 'ACCEPTED' },
  { class: 'PROCESSING', code: 'ACCEPTED', error: '', fields: { channel_batch_no: '1030000071100999991182020050700019480001' } });
parse('payout 403 NOT_ENOUGH stays processing', 'payout', order({ payout: PAYOUT }), 403, err('NOT_ENOUGH'), { class: 'PROCESSING', code: 'NOT_ENOUGH' });
parse('payout 401 SIGN_ERROR signed -> not sent', 'payout', order({ payout: PAYOUT }), 401, err('SIGN_ERROR'), { class: 'NOT_SENT' });
parse('payout unknown', 'payout', order({ payout: PAYOUT }), 400, err('NEW'), { class: 'PROCESSING', code: 'NEW' });
parse('payout forged', 'payout', order({ payout: PAYOUT }), 200, { out_batch_no: 'P20240101001', batch_id: '1' }, { class: 'PROCESSING', error: 'signature invalid' }, { key: OTHER_KEY });
const detail = (st, x) => ({ mchid: MCHID, out_batch_no: 'P20240101001', batch_id: '1030000071100999991182020050700019480001', appid: APPID,
  out_detail_no: 'P20240101001', detail_id: '1040000071100999991182020050700019500100', detail_status: st, transfer_amount: 500,
  transfer_remark: 'prize', openid: 'o-MYE42l80oelYMDE34nYD456Xoy', initiate_time: '2024-01-01T12:00:00+08:00', update_time: '2024-01-01T12:00:10+08:00', ...x });
parse('payout query SUCCESS', 'payout_query', order({ payout: PAYOUT }), 200, detail('SUCCESS'),
  { class: 'SUCCESS', code: 'SUCCESS', error: '', fields: { channel_payout_no: '1040000071100999991182020050700019500100', amount: 500 } });
parse('payout query FAIL', 'payout_query', order({ payout: PAYOUT }), 200, detail('FAIL', { fail_reason: 'ACCOUNT_FROZEN' }), { class: 'FAILED', code: 'FAIL', fields: { fail_reason: 'ACCOUNT_FROZEN' } });
parse('payout query PROCESSING', 'payout_query', order({ payout: PAYOUT }), 200, detail('PROCESSING'), { class: 'PROCESSING', code: 'PROCESSING' });
parse('payout query 404 -> not found', 'payout_query', order({ payout: PAYOUT }), 404, err('NOT_FOUND'), { class: 'NOT_FOUND' });
parse('payout query forged', 'payout_query', order({ payout: PAYOUT }), 200, detail('SUCCESS'), { class: 'PROCESSING', error: 'signature invalid' }, { key: OTHER_KEY });

// ---- notifications ----
function event(eventType, resourceType, plain, { nonce = 'fdasflkja484', aad = 'transaction', key = APIV3_KEY } = {}) {
  return JSON.stringify({ id: 'EV-2018022511223320873', create_time: '2024-01-01T12:00:06+08:00', resource_type: 'encrypt-resource',
    event_type: eventType, summary: '支付成功',
    resource: { original_type: resourceType, algorithm: 'AEAD_AES_256_GCM',
      ciphertext: Aes.AesGcm.encrypt(typeof plain === 'string' ? plain : JSON.stringify(plain), key, nonce, aad), associated_data: aad, nonce } });
}
const notify = (name, body, expect, hopt) => cases.push({ name, kind: 'notify', content_type: 'application/json',
  headers: signedHeaders(body, hopt), body, expect });
const paidEvent = event('TRANSACTION.SUCCESS', 'transaction', txn('SUCCESS'));
notify('payment notify valid', paidEvent, { verified: true, class: 'SUCCESS', code: 'SUCCESS', out_trade_no: 'T20240101001',
  ack_status: 204, ack_body: '', fields: { amount: 1000, channel_trade_no: '4200000001202401011234567890' } });
notify('payment notify forged signature', paidEvent, { verified: false, class: 'PROCESSING', ack_status: 500 }, { key: OTHER_KEY });
notify('payment notify stale timestamp', paidEvent, { verified: false, error: 'outside' }, { ts: String(CLOCK_MS / 1000 - 600) });
const tampered = JSON.parse(paidEvent);
const ct = Buffer.from(tampered.resource.ciphertext, 'base64'); ct[5] ^= 1;
tampered.resource.ciphertext = ct.toString('base64');
const tamperedBody = JSON.stringify(tampered);
notify('payment notify tampered ciphertext (signed after tampering)', tamperedBody, { verified: false, class: 'PROCESSING', error: 'does not decrypt' });
notify('payment notify under another APIv3 key', event('TRANSACTION.SUCCESS', 'transaction', txn('SUCCESS'), { key: 'ffffffffffffffffffffffffffffffff' }),
  { verified: false, error: 'does not decrypt' });
notify('payment notify for another mchid', event('TRANSACTION.SUCCESS', 'transaction', txn('SUCCESS', { mchid: '1999999999' })), { verified: false, error: 'mchid' });
notify('payment notify CLOSED (contrary)', event('TRANSACTION.SUCCESS', 'transaction', txn('CLOSED')), { verified: true, class: 'CLOSED', code: 'CLOSED' });
const refundPlain = (st) => ({ mchid: MCHID, out_trade_no: 'T20240101001', transaction_id: '4200000001202401011234567890',
  out_refund_no: 'R20240101001', refund_id: '50000000382019052709732678859', refund_status: st, success_time: '2024-01-01T12:30:01+08:00',
  user_received_account: '支付用户零钱', amount: { total: 1000, refund: 300, payer_total: 1000, payer_refund: 300 } });
notify('refund notify SUCCESS', event('REFUND.SUCCESS', 'refund', refundPlain('SUCCESS'), { aad: 'refund' }),
  { verified: true, class: 'SUCCESS', code: 'REFUND.SUCCESS', out_trade_no: 'T20240101001',
    fields: { kind: 'refund', out_refund_no: 'R20240101001', amount: 300, refunded_at_ms: 1704083401000 } });
notify('refund notify CLOSED', event('REFUND.CLOSED', 'refund', refundPlain('CLOSED'), { aad: 'refund' }), { verified: true, class: 'FAILED', code: 'REFUND.CLOSED' });
notify('refund notify ABNORMAL', event('REFUND.ABNORMAL', 'refund', refundPlain('ABNORMAL'), { aad: 'refund' }), { verified: true, class: 'PROCESSING' });
notify('transfer batch finished -> query the detail', event('MCHTRANSFER.BATCH.FINISHED', 'mch_payment',
  { mchid: MCHID, out_batch_no: 'P20240101001', batch_id: '1030000071100999991182020050700019480001', batch_status: 'FINISHED',
    total_num: 1, total_amount: 500, success_amount: 500, success_num: 1, fail_amount: 0, fail_num: 0 }, { aad: 'mch_payment' }),
  { verified: true, class: 'PROCESSING', code: 'MCHTRANSFER.FINISHED', out_trade_no: 'P20240101001', fields: { kind: 'payout', out_payout_no: 'P20240101001' } });
// V10b of channel-vectors.md: the published resource decrypts with the V10
// key (its plaintext names no mchid, so it is refused for that reason only)
const v10b = JSON.stringify({ id: 'EV-V10B', create_time: '2024-01-01T12:00:06+08:00', resource_type: 'encrypt-resource',
  event_type: 'TRANSACTION.SUCCESS', resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM',
    ciphertext: '4ouITzeV7GmUYUbi3WteHWDS5e076h4ZReuqRrqM+N1PXV1boadmhiW9LEO2a7PGvKtw1AMKIESyCxKlSw==',
    associated_data: 'transaction', nonce: '0123456789ab' } });
notify('V10b resource vector decrypts', v10b, { verified: false, error: 'another mchid' });

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

const out = `-- templates/wechatpay_v3.fixtures/cases.lua -- recorded requests, answers and
-- notifications the host runs before the wechatpay_v3 pack may go live.
-- GENERATED by templates/wechatpay_v3.fixtures/gen_cases.js with the channel's
-- SDK (wechatpay-axios-plugin Formatter / Rsa / Aes.AesGcm) and TEST-ONLY
-- keys (keys/); regenerate, do not hand-edit.  The "other key" signatures
-- change on every run (a fresh throw-away key), the rest is deterministic.
return ${lua({
  clock_ms: CLOCK_MS,
  config: { mchid: MCHID, appid: APPID, app_appid: APP_APPID, merchant_private_key: 'fixture_merchant_private',
    merchant_serial_no: MERCHANT_SERIAL, platform_cert: 'fixture_platform_cert', api_v3_key: 'fixture_api_v3_key',
    endpoint: ENDPOINT },
  cases,
})}
`;
fs.writeFileSync(path.join(__dirname, 'cases.lua'), Buffer.from(out, 'latin1'));
console.log(`wrote ${cases.length} cases`);
