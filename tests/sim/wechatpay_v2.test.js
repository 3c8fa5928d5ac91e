'use strict';
// Self-test of the wechatpay_v2 plugin: the channel's own SDK (wechatpay-axios-plugin
// Wechatpay client, v2 chain: it signs with Hash.sign and verifies every answer's sign with
// its Transformer verifier) talks to the sim; a hand-built XML request proves the sign rule
// independently of the SDK; the published vectors V1 (MD5 / HMAC-SHA256) and V11 (req_info)
// are reproduced; notifies are checked with the SDK's Hash / Aes.AesEcb.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Wechatpay, Hash, Aes, Transformer } = require('wechatpay-axios-plugin');
const { startSim, startReceiver } = require('./lib/testkit');

const APPID = 'wxd930ea5d5a258f4f';
const MCHID = '10000100';
let kit;
let rx;
let apiKey;

// the v2 chain of the SDK only needs mchid + secret; v3 fields are dummies it requires
function sdk(secret = apiKey) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return new Wechatpay({
    mchid: MCHID, serial: 'DUMMY', privateKey, certs: { PLATFORM: publicKey }, secret,
    baseURL: `${kit.base}/wechatpay_v2/`,
  });
}

async function post(p, xml) {
  const r = await fetch(`${kit.base}/wechatpay_v2${p}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: xml });
  return { status: r.status, text: await r.text() };
}
const toObj = (x) => Transformer.toObject.call({ url: '/pay/x' }, x);

test.before(async () => {
  kit = await startSim({ channel: 'wechatpay_v2' });
  rx = await startReceiver({ status: 200, body: '<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>' });
  apiKey = fs.readFileSync(path.join(kit.keysDir, 'wechatpay_v2', 'api_key.txt'), 'utf8').trim();
});
test.after(async () => { await kit.close(); await rx.close(); });
test.beforeEach(() => kit.reset());

test('V1: published MD5 and HMAC-SHA256 signs (SDK Hash.sign)', () => {
  const p = { appid: APPID, mch_id: MCHID, device_info: '1000', body: 'test', nonce_str: 'ibuaiVcKdpRxkhJA' };
  assert.equal(Hash.sign('MD5', p, '192006250b4c09247ec02edce69f6a2d'), '9A0A8659F005D6984697E2CA0A9CF3B7');
  assert.equal(Hash.sign('HMAC-SHA256', p, '192006250b4c09247ec02edce69f6a2d'),
    '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6');
});

test('V11: published req_info decrypts with md5hex(API key) (SDK Aes.AesEcb)', () => {
  const key = crypto.createHash('md5').update('192006250b4c09247ec02edce69f6a2d').digest('hex');
  assert.equal(key, 'd96eb16afdd491fa1e705096edbc2205');
  assert.equal(Aes.AesEcb.decrypt('WBzGpzQuNpcFxIlFjUUD9CdH4BF3YHmtiHaWV8j0mqDLQs/FUrjFmK+mli7+Iybd', key),
    '<root><out_refund_no>R1</out_refund_no></root>');
});

test('SDK client: micropay USERPAYING then orderquery SUCCESS, answers verified by the SDK', async () => {
  await kit.script({ out_trade_no: 'W1', pay: 'processing' });
  const wx = sdk();
  const base = { appid: APPID, mch_id: MCHID };
  const r1 = await wx.v2.pay.micropay.post({ ...base, body: 'x', out_trade_no: 'W1', total_fee: '101',
    spbill_create_ip: '127.0.0.1', auth_code: '134567890123456789' }).catch((e) => e);
  // result_code FAIL is a business error for the SDK, but the sign checked out first
  assert.equal(r1.response.data.err_code, 'USERPAYING');
  assert.equal((await kit.pay('W1')).status, 200);
  const r2 = await wx.v2.pay.orderquery.post({ ...base, out_trade_no: 'W1' });
  assert.equal(r2.data.trade_state, 'SUCCESS');
  assert.equal(r2.data.total_fee, '101');
});

test('SDK client with HMAC-SHA256: unifiedorder NATIVE, closeorder', async () => {
  const wx = sdk();
  const r = await wx.v2.pay.unifiedorder.post({ appid: APPID, mch_id: MCHID, sign_type: 'HMAC-SHA256', body: 'x',
    out_trade_no: 'W2', total_fee: '100', spbill_create_ip: '127.0.0.1', notify_url: rx.url('/n'), trade_type: 'NATIVE', product_id: 'W2' });
  assert.match(r.data.code_url, /^weixin:\/\//);
  assert.equal(r.data.sign.length, 64);
  const c = await wx.v2.pay.closeorder.post({ appid: APPID, mch_id: MCHID, sign_type: 'HMAC-SHA256', out_trade_no: 'W2' });
  assert.equal(c.data.result_code, 'SUCCESS');
  assert.equal((await kit.order('W2')).json.state, 'CLOSED');
});

test('badsign answers fail the SDK verifier', async () => {
  await kit.script({ out_trade_no: 'W3', query: 'badsign' });
  const wx = sdk();
  await wx.v2.pay.unifiedorder.post({ appid: APPID, mch_id: MCHID, body: 'x', out_trade_no: 'W3', total_fee: '100',
    spbill_create_ip: '127.0.0.1', notify_url: rx.url('/n'), trade_type: 'NATIVE', product_id: 'W3' });
  const e = await wx.v2.pay.orderquery.post({ appid: APPID, mch_id: MCHID, out_trade_no: 'W3' }).catch((x) => x);
  assert.equal(e.code, 'EV2_RES_SIGNATURE_NOT_EQUAL');
});

test('a request signed with another key is refused (return_code FAIL, bad_sign)', async () => {
  const wx = sdk('0'.repeat(32));
  const e = await wx.v2.pay.orderquery.post({ appid: APPID, mch_id: MCHID, out_trade_no: 'W4' }).catch((x) => x);
  assert.equal(e.response.data.return_code, 'FAIL');
  assert.equal(e.response.data.return_msg, '签名错误');
  assert.equal((await kit.counts('W4')).bad_sign, 1);
});

test('hand-built request: sorted k=v&key=, MD5 upper hex (independent of the SDK)', async () => {
  const p = { appid: APPID, mch_id: MCHID, nonce_str: 'abc', out_trade_no: 'W5' };
  const s = `${Object.keys(p).sort().map((k) => `${k}=${p[k]}`).join('&')}&key=${apiKey}`;
  const sign = crypto.createHash('md5').update(s).digest('hex').toUpperCase();
  const body = `<xml>${Object.entries({ ...p, sign }).map(([k, v]) => `<${k}>${v}</${k}>`).join('')}</xml>`;
  const r = toObj((await post('/pay/orderquery', body)).text);
  assert.equal(r.return_code, 'SUCCESS');
  assert.equal(r.err_code, 'ORDERNOTEXIST');
  assert.ok(Hash.equals(Hash.sign('MD5', r, apiKey), r.sign));
  const bad = toObj((await post('/pay/orderquery', body.replace('W5', 'W6'))).text);
  assert.equal(bad.return_code, 'FAIL');
});

test('notifies: valid pay notify verifies with the SDK, forged does not, refund req_info decrypts', async () => {
  const wx = sdk();
  await wx.v2.pay.unifiedorder.post({ appid: APPID, mch_id: MCHID, body: 'x', out_trade_no: 'W7', total_fee: '300',
    spbill_create_ip: '127.0.0.1', notify_url: rx.url('/n'), trade_type: 'NATIVE', product_id: 'W7' });
  assert.equal((await kit.notify('W7', 'valid', { notify_url: rx.url('/n') })).status, 200);
  assert.equal((await kit.notify('W7', 'forged', { notify_url: rx.url('/n') })).status, 200);
  const [valid, forged] = rx.received.map((x) => toObj(x.raw.toString()));
  assert.ok(Hash.equals(Hash.sign('MD5', valid, apiKey), valid.sign));
  assert.equal(valid.result_code, 'SUCCESS');
  assert.ok(!Hash.equals(Hash.sign('MD5', forged, apiKey), forged.sign));
  await wx.v2.secapi.pay.refund.post({ appid: APPID, mch_id: MCHID, out_trade_no: 'W7', out_refund_no: 'RW7', total_fee: '300', refund_fee: '100' });
  await kit.notify('W7', 'valid', { notify_url: rx.url('/n'), event: 'refund', out_refund_no: 'RW7' });
  const rn = toObj(rx.received[2].raw.toString());
  const plain = Aes.AesEcb.decrypt(rn.req_info, crypto.createHash('md5').update(apiKey).digest('hex'));
  assert.match(plain, /<refund_status><!\[CDATA\[SUCCESS\]\]><\/refund_status>/);
  assert.match(plain, /<out_refund_no><!\[CDATA\[RW7\]\]>/);
});

test('no sim-internal errors', () => assert.deepEqual(kit.errors(), []));
