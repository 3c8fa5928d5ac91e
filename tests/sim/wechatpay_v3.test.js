'use strict';
// Self-test of the wechatpay_v3 plugin: the channel's own SDK (wechatpay-axios-plugin
// Wechatpay client, v3 chain: it signs the Authorization header and verifies every answer's
// Wechatpay-* signature with the platform key) talks to the sim; a hand-built request proves
// the signing rule independently; vectors V10 (AES-GCM) and V13b (request signature) are
// reproduced with the SDK and checked by the sim's verification path; notifies are checked
// with the SDK's Rsa.verify / Formatter.response / Aes.AesGcm.decrypt.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Wechatpay, Rsa, Aes, Formatter } = require('wechatpay-axios-plugin');
const { startSim, startReceiver } = require('./lib/testkit');

const MCHID = '1230000109';
const APPID = 'wxd678efh567hg6787';
let kit;
let rx;
let K;

const read = (f) => fs.readFileSync(path.join(kit.keysDir, 'wechatpay_v3', f), 'utf8').trim();

function sdk({ privateKey = K.merchantPrivate, serial = K.merchantSerial } = {}) {
  return new Wechatpay({ mchid: MCHID, serial, privateKey, certs: { [K.platformSerial]: K.platformPublic },
    baseURL: `${kit.base}/wechatpay_v3/` });
}

test.before(async () => {
  kit = await startSim({ channel: 'wechatpay_v3' });
  rx = await startReceiver({ status: 204, body: '' });
  K = {
    merchantPrivate: Rsa.from(read('merchant_private.pem'), Rsa.KEY_TYPE_PRIVATE),
    platformPublic: Rsa.from(read('platform_public.pem'), Rsa.KEY_TYPE_PUBLIC),
    merchantSerial: read('merchant_serial.txt'),
    platformSerial: read('platform_serial.txt'),
    apiv3Key: read('apiv3_key.txt'),
  };
});
test.after(async () => { await kit.close(); await rx.close(); });
test.beforeEach(() => kit.reset());

test('V10: published AES-256-GCM vectors (SDK Aes.AesGcm)', () => {
  const key = '0123456789abcdef0123456789abcdef';
  assert.equal(Aes.AesGcm.encrypt('hello', key, '0123456789abcdef', 'world'), 'APoZlYpivU3HjbAiB4CvW1rAFr8J');
  assert.equal(Aes.AesGcm.decrypt('4ouITzeV7GmUYUbi3WteHWDS5e076h4ZReuqRrqM+N1PXV1boadmhiW9LEO2a7PGvKtw1AMKIESyCxKlSw==', key,
    '0123456789ab', 'transaction'), '{"out_trade_no":"T1","trade_state":"SUCCESS"}');
});

test('V13b: published request signature (SDK Formatter.request + Rsa.sign/verify)', () => {
  const v13 = fs.readFileSync(path.join(__dirname, '../../templates/wechatpay_v3.fixtures/keys/fixture_merchant_private.pem'));
  const body = '{"appid":"wxd678efh567hg6787","mchid":"1230000109","description":"test","out_trade_no":"T20240101001","notify_url":"https://example.com/notify","amount":{"total":1,"currency":"CNY"}}';
  const msg = Formatter.request('POST', '/v3/pay/transactions/native', 1554208460, '593BEC0C930BF1AFEB40B4A08C8FB242', body);
  const sig = 'BwpOaCtybpm3MJeoiBfYq1qw1uoyLtgOAN2sEIbJ/6Ed5hC9pFb/YlWo7AC93sWAsaoWEK+NoX2S1s+InAiPhHI1YnqZ60kzbmukchNXKlsf8tbL5Aa7YBeHG7wiO73uwVWd/tFoO/HeWJKA2SNUpDHybpBCnYS9gdCISzS3/lcmaRQ9Ye3TTaPW5SFQwgOqSt5lyQYELftB5f+wcZ9xGGkxwBRdPoE5WAyrb834+nGJPvIE53qiItmLttP70QQK7veTdTMhAl1l1+nIO2aevRGPqbGHJWmd22L5mH6jQFwAX0lCxBllRIxRvS3c9UtzuFJSHa14kfG0ZnKHDAFZyQ==';
  assert.equal(Rsa.sign(msg, Rsa.from(v13, Rsa.KEY_TYPE_PRIVATE)), sig);
  assert.ok(Rsa.verify(msg, sig, crypto.createPublicKey(v13)));
});

test('SDK client: native prepay, query NOTPAY, pay, query SUCCESS, answers verified by the SDK', async () => {
  const wx = sdk();
  const r = await wx.v3.pay.transactions.native.post({ appid: APPID, mchid: MCHID, description: 'x', out_trade_no: 'V1',
    notify_url: rx.url('/n'), amount: { total: 100, currency: 'CNY' } });
  assert.match(r.data.code_url, /^weixin:\/\//);
  const q = await wx.v3.pay.transactions.outTradeNo['{out_trade_no}'].get({ params: { mchid: MCHID }, out_trade_no: 'V1' });
  assert.equal(q.data.trade_state, 'NOTPAY');
  await kit.pay('V1');
  const q2 = await wx.v3.pay.transactions.outTradeNo['{out_trade_no}'].get({ params: { mchid: MCHID }, out_trade_no: 'V1' });
  assert.equal(q2.data.trade_state, 'SUCCESS');
  assert.equal(q2.data.amount.total, 100);
  const rf = await wx.v3.refund.domestic.refunds.post({ out_trade_no: 'V1', out_refund_no: 'RV1', amount: { refund: 40, total: 100, currency: 'CNY' } });
  assert.equal(rf.data.status, 'PROCESSING');
  const rq = await wx.v3.refund.domestic.refunds['{out_refund_no}'].get({ out_refund_no: 'RV1' });
  assert.equal(rq.data.status, 'SUCCESS');
});

test('SDK client: jsapi prepay, close 204, 404 on an unknown order', async () => {
  const wx = sdk();
  const r = await wx.v3.pay.transactions.jsapi.post({ appid: APPID, mchid: MCHID, description: 'x', out_trade_no: 'V2',
    notify_url: rx.url('/n'), amount: { total: 100, currency: 'CNY' }, payer: { openid: 'o1' } });
  assert.match(r.data.prepay_id, /^wx/);
  const c = await wx.v3.pay.transactions.outTradeNo['{out_trade_no}'].close.post({ mchid: MCHID }, { out_trade_no: 'V2' });
  assert.equal(c.status, 204);
  const e = await wx.v3.pay.transactions.outTradeNo['{out_trade_no}'].get({ params: { mchid: MCHID }, out_trade_no: 'NOPE' }).catch((x) => x);
  assert.equal(e.response.status, 404);
  assert.equal(e.response.data.code, 'ORDER_NOT_EXIST');
});

test('badsign answers fail the SDK verifier', async () => {
  await kit.script({ out_trade_no: 'V3', pay: 'badsign' });
  const e = await sdk().v3.pay.transactions.native.post({ appid: APPID, mchid: MCHID, description: 'x', out_trade_no: 'V3',
    notify_url: rx.url('/n'), amount: { total: 100, currency: 'CNY' } }).catch((x) => x);
  assert.ok(e instanceof Error);
  assert.match(String(e.message), /verif|signature|sign/i);
});

test('a request signed with another merchant key is refused: 401 SIGN_ERROR, bad_sign', async () => {
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const e = await sdk({ privateKey: other }).v3.pay.transactions.outTradeNo['{out_trade_no}'].get({ params: { mchid: MCHID }, out_trade_no: 'V4' }).catch((x) => x);
  assert.equal(e.response.status, 401);
  assert.equal(e.response.data.code, 'SIGN_ERROR');
  assert.equal((await kit.counts('V4')).bad_sign, 1);
});

test('hand-built GET: METHOD\\nURI\\nts\\nnonce\\n\\n signed with node:crypto (independent of the SDK)', async () => {
  const uri = `/wechatpay_v3/v3/pay/transactions/out-trade-no/V5?mchid=${MCHID}`;
  const ts = String(Math.floor(Date.now() / 1000));
  const nonce = 'N0NCE';
  const sig = crypto.sign('sha256', Buffer.from(`GET\n${uri}\n${ts}\n${nonce}\n\n`), K.merchantPrivate).toString('base64');
  const auth = `WECHATPAY2-SHA256-RSA2048 mchid="${MCHID}",nonce_str="${nonce}",signature="${sig}",timestamp="${ts}",serial_no="${K.merchantSerial}"`;
  const r = await fetch(`${kit.base}${uri}`, { headers: { authorization: auth, accept: 'application/json' } });
  assert.equal(r.status, 404);
  const body = await r.text();
  const h = (n) => r.headers.get(n);
  assert.ok(crypto.verify('sha256', Buffer.from(`${h('wechatpay-timestamp')}\n${h('wechatpay-nonce')}\n${body}\n`), K.platformPublic,
    Buffer.from(h('wechatpay-signature'), 'base64')));
  const bad = await fetch(`${kit.base}${uri.replace('V5', 'V6')}`, { headers: { authorization: auth, accept: 'application/json' } });
  assert.equal(bad.status, 401);
});

test('notifies: valid verifies and decrypts with the SDK, forged does not, contrary is CLOSED', async () => {
  await sdk().v3.pay.transactions.native.post({ appid: APPID, mchid: MCHID, description: 'x', out_trade_no: 'V7',
    notify_url: rx.url('/n'), amount: { total: 100, currency: 'CNY' } });
  for (const kind of ['valid', 'forged', 'contrary']) assert.equal((await kit.notify('V7', kind, { notify_url: rx.url('/n') })).status, 200);
  const [valid, forged, contrary] = rx.received.map((x) => ({ h: x.headers, body: x.raw.toString() }));
  const ok = (n) => Rsa.verify(Formatter.response(n.h['wechatpay-timestamp'], n.h['wechatpay-nonce'], n.body), n.h['wechatpay-signature'], K.platformPublic);
  const plain = (n) => { const r = JSON.parse(n.body).resource; return JSON.parse(Aes.AesGcm.decrypt(r.ciphertext, K.apiv3Key, r.nonce, r.associated_data)); };
  assert.ok(ok(valid));
  assert.equal(plain(valid).trade_state, 'SUCCESS');
  assert.ok(!ok(forged));
  assert.ok(ok(contrary));
  assert.equal(plain(contrary).trade_state, 'CLOSED');
});

test('no sim-internal errors', () => assert.deepEqual(kit.errors(), []));
