'use strict';
// Conformance of the wechatpay_v3 pack (templates/wechatpay_v3.lua, scripts/wechatpay_v3.lua)
// against the simulator's WeChat Pay v3 plugin (tests/sim/lib/channels/wechatpay_v3.js, which
// checks our Authorization with wechatpay-axios-plugin Formatter.request + Rsa.verify and
// signs answers / notifies as the platform), through `paygwctl channel`.
// Every op (pay native/jsapi/h5/app, query, close, refund, refund_query, payout,
// payout_query) meets success, definite failure (where one exists), unknown code, not-found,
// 5xx, garbage, bad answer signature, delay beyond the timeout, held and dropped
// connections; pay then paid (query); payment and refund notifies valid / forged / duplicate
// / contrary; a request signed with the wrong merchant key is refused by the sim.
// The platform side runs in WeChat Pay public-key mode (PUB_KEY_ID_… serial).
// Run: node --test tests/packs/wechatpay_v3.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const kit = require('./lib');

const MCHID = '1230000109';
const APPID = 'wxd678efh567hg6787';
const MERCHANT_SERIAL = crypto.randomBytes(20).toString('hex').toUpperCase();
const PLATFORM_SERIAL = `PUB_KEY_ID_0112${crypto.randomInt(1e9)}`;
const APIV3 = crypto.randomBytes(16).toString('hex');
const SHORT = 800;
let k;

const pem = (key, type) => key.export({ type, format: 'pem' });

test.before(async () => {
  k = await kit.start({
    channel: 'wechatpay_v3',
    keys({ simDir, keystore }) {
      const platform = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const merchant = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const wrong = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const w = (dir, f, text) => fs.writeFileSync(path.join(dir, f), text, { mode: 0o600 });
      w(simDir, 'platform_private.pem', pem(platform.privateKey, 'pkcs8'));
      w(simDir, 'platform_public.pem', pem(platform.publicKey, 'spki'));
      w(simDir, 'merchant_private.pem', pem(merchant.privateKey, 'pkcs8'));
      w(simDir, 'merchant_public.pem', pem(merchant.publicKey, 'spki'));
      w(simDir, 'platform_serial.txt', `${PLATFORM_SERIAL}\n`);
      w(simDir, 'merchant_serial.txt', `${MERCHANT_SERIAL}\n`);
      w(simDir, 'apiv3_key.txt', `${APIV3}\n`);
      w(keystore, 'wx3_merchant_private.pem', pem(merchant.privateKey, 'pkcs8'));
      w(keystore, 'wx3_wrong_private.pem', pem(wrong.privateKey, 'pkcs8'));
      w(keystore, 'wx3_platform_public.pem', pem(platform.publicKey, 'spki'));
      w(keystore, 'wx3_apiv3.secret', `${APIV3}\n`);
    },
    params: { mchid: MCHID, appid: APPID, app_appid: 'wx8888888888888888', merchant_private_key: 'wx3_merchant_private',
      merchant_serial_no: MERCHANT_SERIAL, platform_cert: 'wx3_platform_public', platform_serial: PLATFORM_SERIAL,
      api_v3_key: 'wx3_apiv3' },
  });
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return { out_trade_no: kit.tradeNo('V'), amount: 1000, currency: 'CNY', subject: 'conformance',
    method: 'wechat.native', expire_seconds: 900, notify_url: k.notifyUrl, ...extra };
}
const refundOf = (o) => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 400, reason: 'test' } });
const payoutOf = (extra = {}) => order({ payout: { out_payout_no: kit.tradeNo('P'), amount: 500, currency: 'CNY', remark: 'prize',
  payee: { account_no: 'o-MYE42l80oelYMDE34nYD456Xoy', type: 'openid', ...extra } } });
function keyOf(op, o) {
  if (op.startsWith('refund')) return o.refund.out_refund_no;
  if (op.startsWith('payout')) return o.payout.out_payout_no;
  return o.out_trade_no;
}

async function created(o = order()) {
  const r = await k.exchange('pay', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  return o;
}
async function paid(o = order()) {
  await created(o);
  assert.equal((await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no })).status, 200);
  return o;
}
async function refunded() {
  const o = refundOf(await paid());
  assert.equal((await k.exchange('refund', o)).class, 'PROCESSING');
  return o;
}
async function paidOut() {
  const o = payoutOf();
  assert.equal((await k.exchange('payout', o)).code, 'ACCEPTED');
  return o;
}

async function run(op, o, behaviour, opts = {}) {
  const s = await k.script({ out_trade_no: keyOf(op, o), [op]: behaviour });
  assert.equal(s.status, 200, s.text);
  return k.exchange(op, o, opts);
}

const TRANSPORT = [['5xx', 'PROCESSING'], ['garbage', 'PROCESSING'], ['badsign', 'PROCESSING'], ['drop', 'PROCESSING']];
async function expectAll(op, make, rows) {
  for (const [b, cls, code] of [...rows, ...TRANSPORT]) {
    const o = await make();
    const r = await run(op, o, b);
    assert.equal(r.class, cls, `${op} ${b}: ${JSON.stringify(r)}`);
    if (code) assert.equal(r.code, code, `${op} ${b}`);
    if (cls === 'PROCESSING') assert.notEqual(r.sent, 'NOT_SENT', `${op} ${b}`);
    if (b === 'badsign') assert.match(r.error, /signature/, `${op} badsign`);
  }
  for (const b of ['delay:3000', 'timeout']) {
    const o = await make();
    const r = await run(op, o, b, { timeoutMs: SHORT });
    assert.equal(r.class, 'PROCESSING', `${op} ${b}: ${JSON.stringify(r)}`);
    assert.notEqual(r.sent, 'NOT_SENT', `${op} ${b}`);
  }
}

test('fixtures pass under paygwctl channel test', async () => {
  const r = await k.test();
  assert.equal(r.code, 0, r.stderr);
});

test('pay: native code_url, jsapi paySign, h5 url, app sign; failure, unknown, transport', async () => {
  const n = await k.exchange('pay', order());
  assert.equal(n.class, 'SUCCESS', JSON.stringify(n));
  assert.match(n.fields.credential.qr_code, /^weixin:\/\//);
  const j = await k.exchange('pay', order({ method: 'wechat.jsapi', extra: { openid: 'o1' } }));
  assert.equal(j.fields.credential.type, 'jsapi');
  const c = j.fields.credential;
  const pub = crypto.createPublicKey(fs.readFileSync(path.join(k.keystore, 'wx3_merchant_private.pem')));
  assert.ok(crypto.verify('sha256', Buffer.from(`${c.appId}\n${c.timeStamp}\n${c.nonceStr}\n${c.package}\n`), pub,
    Buffer.from(c.paySign, 'base64')), 'jsapi paySign');
  const h = await k.exchange('pay', order({ method: 'wechat.h5', extra: { payer_client_ip: '10.1.2.3' } }));
  assert.equal(h.fields.credential.type, 'url');
  const a = await k.exchange('pay', order({ method: 'wechat.app' }));
  assert.equal(a.fields.credential.type, 'app');
  assert.equal(a.fields.credential.appid, 'wx8888888888888888');
  await expectAll('pay', order, [['fail', 'FAILED', 'ORDER_CLOSED'], ['processing', 'PROCESSING', 'FREQUENCY_LIMITED'],
    ['unknown', 'PROCESSING', 'SIM_UNDOCUMENTED_CODE']]);
});

test('query: NOTPAY then paid; PAYERROR, CLOSED, not found, unknown, transport', async () => {
  const o = await created();
  assert.equal((await k.exchange('query', o)).code, 'NOTPAY');
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.fields.amount, 1000);
  assert.ok(q.fields.paid_at_ms > 0);
  assert.equal((await k.exchange('query', order())).class, 'NOT_FOUND');
  await expectAll('query', created, [['fail', 'FAILED', 'PAYERROR'], ['closed', 'CLOSED', 'CLOSED'],
    ['not_found', 'NOT_FOUND', 'ORDER_NOT_EXIST'], ['unknown', 'PROCESSING', 'SIM_NEW_STATE'], ['processing', 'PROCESSING', 'USERPAYING']]);
});

test('close: 204 SUCCESS, ORDERPAID stays PROCESSING, not found, transport', async () => {
  assert.equal((await k.exchange('close', await created())).class, 'SUCCESS');
  assert.equal((await k.exchange('close', await paid())).code, 'ORDERPAID');
  await expectAll('close', created, [['fail', 'PROCESSING', 'ORDERPAID'], ['not_found', 'NOT_FOUND'],
    ['unknown', 'PROCESSING'], ['processing', 'PROCESSING']]);
});

test('refund: PROCESSING answer, NOT_ENOUGH FAILED, not found, transport', async () => {
  const r = await k.exchange('refund', refundOf(await paid()));
  assert.equal(r.class, 'PROCESSING');
  assert.equal(r.code, 'PROCESSING');
  assert.ok(r.fields.channel_refund_no);
  await expectAll('refund', async () => refundOf(await paid()), [['fail', 'FAILED', 'NOT_ENOUGH'], ['not_found', 'NOT_FOUND'],
    ['unknown', 'PROCESSING']]);
});

test('refund_query: SUCCESS, CLOSED, PROCESSING, not found, unknown, transport', async () => {
  const r = await k.exchange('refund_query', await refunded());
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal(r.fields.amount, 400);
  assert.equal((await k.exchange('refund_query', refundOf(order()))).class, 'NOT_FOUND');
  await expectAll('refund_query', refunded, [['fail', 'FAILED', 'CLOSED'], ['processing', 'PROCESSING', 'PROCESSING'],
    ['not_found', 'NOT_FOUND'], ['unknown', 'PROCESSING']]);
});

test('payout: accepted is never final, NOT_ENOUGH is not a failure, encrypted user_name, transport', async () => {
  const o = payoutOf({ account_name: '张三' });
  const r = await k.exchange('payout', o);
  assert.equal(r.class, 'PROCESSING', JSON.stringify(r));
  assert.equal(r.code, 'ACCEPTED');
  const reqs = (await k.simGet('/_sim/requests', { out_trade_no: o.payout.out_payout_no })).json.requests;
  assert.equal(reqs[0].behaviour, 'success', JSON.stringify(reqs[0]));
  await expectAll('payout', async () => payoutOf(), [['fail', 'PROCESSING', 'NOT_ENOUGH'], ['unknown', 'PROCESSING'],
    ['processing', 'PROCESSING', 'PROCESSING']]);
});

test('payout_query: SUCCESS, FAIL, PROCESSING, not found, unknown, transport', async () => {
  const r = await k.exchange('payout_query', await paidOut());
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal(r.fields.amount, 500);
  assert.equal((await k.exchange('payout_query', payoutOf())).class, 'NOT_FOUND');
  await expectAll('payout_query', paidOut, [['fail', 'FAILED', 'FAIL'], ['processing', 'PROCESSING', 'PROCESSING'],
    ['not_found', 'NOT_FOUND'], ['unknown', 'PROCESSING']]);
});

test('payment notify: valid, duplicate, forged, contrary', async () => {
  const o = await created();
  assert.equal((await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' })).status, 200);
  const v = await k.verifyLastNotify();
  assert.equal(v.verified, true, JSON.stringify(v));
  assert.equal(v.class, 'SUCCESS');
  assert.equal(v.out_trade_no, o.out_trade_no);
  assert.equal(v.fields.amount, 1000);
  assert.equal(v.ack.status, 204);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'duplicate' });
  assert.deepEqual(await k.verifyLastNotify(), v);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const f = await k.verifyLastNotify();
  assert.equal(f.verified, false);
  assert.equal(f.class, 'PROCESSING');
  assert.equal(f.ack.status, 500);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const c = await k.verifyLastNotify();
  assert.equal(c.verified, true);
  assert.equal(c.class, 'CLOSED');
});

test('refund notify: valid, forged, contrary', async () => {
  const o = await refunded();
  const send = async (kind) => {
    await k.simNotify({ out_trade_no: o.out_trade_no, kind, event: 'refund', out_refund_no: o.refund.out_refund_no });
    return k.verifyLastNotify();
  };
  const v = await send('valid');
  assert.equal(v.verified, true, JSON.stringify(v));
  assert.equal(v.code, 'REFUND.SUCCESS');
  assert.equal(v.fields.out_refund_no, o.refund.out_refund_no);
  assert.equal((await send('forged')).verified, false);
  const c = await send('contrary');
  assert.equal(c.verified, true);
  assert.equal(c.class, 'FAILED');
});

test('the sim refuses a request signed with the wrong merchant key (its check is real)', async () => {
  k.setParams({ merchant_private_key: 'wx3_wrong_private' });
  let o;
  try {
    o = order();
    const r = await k.exchange('pay', o);
    // WeChat signs its 401 SIGN_ERROR: proof the request was refused before processing
    assert.equal(r.class, 'NOT_SENT', JSON.stringify(r));
    assert.equal(r.code, 'SIGN_ERROR');
  } finally { k.setParams({}); }
  const c = (await k.simGet('/_sim/counts', { out_trade_no: o.out_trade_no })).json;
  assert.equal(c.bad_sign, 1, JSON.stringify(c));
});
