'use strict';
// Conformance of the wechatpay_v2 pack (templates/wechatpay_v2.lua, scripts/wechatpay_v2.lua)
// against the simulator's WeChat Pay v2 plugin (tests/sim/lib/channels/wechatpay_v2.js, which
// checks every request with wechatpay-axios-plugin's Hash.sign), through `paygwctl channel`.
// Every op (pay NATIVE/JSAPI/micropay, query, close, cancel = reverse, refund, refund_query,
// bill) meets success, definite failure, unknown code, not-found (queries), 5xx, garbage, bad
// answer signature, delay beyond the timeout, a held (timeout) and a dropped connection;
// micropay USERPAYING then paid (query); pay and refund notifies valid / forged / duplicate /
// contrary; MD5 and HMAC-SHA256; a wrong API key is refused by the sim.
// Run: node --test tests/packs/wechatpay_v2.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const kit = require('./lib');

const API_KEY = crypto.randomBytes(16).toString('hex');
const APPID = 'wxd930ea5d5a258f4f';
const MCHID = '10000100';
const SHORT = 800;
let k;

test.before(async () => {
  k = await kit.start({
    channel: 'wechatpay_v2',
    keys({ simDir, keystore }) {
      fs.writeFileSync(path.join(simDir, 'api_key.txt'), `${API_KEY}\n`);
      fs.writeFileSync(path.join(keystore, 'wx_api_key.secret'), `${API_KEY}\n`);
      fs.writeFileSync(path.join(keystore, 'wx_wrong_key.secret'), `${crypto.randomBytes(16).toString('hex')}\n`);
    },
    params: { appid: APPID, mch_id: MCHID, api_key: 'wx_api_key', sign_type: 'MD5', spbill_create_ip: '127.0.0.1' },
  });
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return { out_trade_no: kit.tradeNo('W'), amount: 1000, currency: 'CNY', subject: 'conformance',
    method: 'wechat.native', expire_seconds: 900, notify_url: k.notifyUrl, ...extra };
}
const micro = () => order({ method: 'wechat.micropay', extra: { auth_code: '134567890123456789' } });
const refundOf = (o) => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 400, reason: 'test' } });
const billOf = () => order({ bill: { date: '2024-01-01', type: 'all' } });
const keyOf = (op, o) => (op.startsWith('refund') ? o.refund.out_refund_no : op === 'bill' ? 'bill-20240101' : o.out_trade_no);

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
  const r = await k.exchange('refund', o);
  assert.equal(r.class, 'PROCESSING', JSON.stringify(r));
  return o;
}

async function run(op, o, behaviour, opts = {}) {
  const s = await k.script({ out_trade_no: keyOf(op, o), [op]: behaviour });
  assert.equal(s.status, 200, s.text);
  return k.exchange(op, o, opts);
}

// rows: [behaviour, class, code?]; every op also meets the transport rows below
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

test('pay NATIVE (unifiedorder): code_url; failure, unknown and transport outcomes', async () => {
  const o = order();
  const r = await k.exchange('pay', o);
  assert.equal(r.class, 'SUCCESS');
  assert.equal(r.fields.credential.type, 'qr_code');
  assert.match(r.fields.credential.qr_code, /^weixin:\/\//);
  await expectAll('pay', order, [['fail', 'FAILED', 'ORDERCLOSED'], ['processing', 'PROCESSING', 'SYSTEMERROR'],
    ['unknown', 'PROCESSING', 'SIM_UNDOCUMENTED_CODE']]);
});

test('pay JSAPI: a paySign the SDK would compute', async () => {
  const r = await k.exchange('pay', order({ method: 'wechat.jsapi', extra: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } }));
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  const c = r.fields.credential;
  const { Hash } = require('../sim/node_modules/wechatpay-axios-plugin');
  const { paySign, type, ...signed } = c;
  assert.equal(type, 'jsapi');
  assert.equal(paySign, Hash.sign('MD5', signed, API_KEY));
});

test('pay micropay: USERPAYING stays PROCESSING, then query SUCCESS; SYSTEMERROR and AUTHCODEEXPIRE', async () => {
  const o = micro();
  const r = await run('pay', o, 'processing');
  assert.equal(r.class, 'PROCESSING');
  assert.equal(r.code, 'USERPAYING');
  assert.equal((await k.exchange('query', o)).code, 'USERPAYING');
  assert.equal((await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no })).status, 200);
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.fields.amount, 1000);
  const ok = await k.exchange('pay', micro());
  assert.equal(ok.class, 'SUCCESS', JSON.stringify(ok));
  assert.ok(ok.fields.channel_trade_no);
  assert.equal((await run('pay', micro(), 'fail')).class, 'FAILED');
});

test('query: NOTPAY, paid, PAYERROR, CLOSED, not found, unknown, transport', async () => {
  const o = await created();
  assert.equal((await k.exchange('query', o)).code, 'NOTPAY');
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS');
  assert.equal(q.code, 'SUCCESS');
  assert.equal((await k.exchange('query', order())).class, 'NOT_FOUND');
  await expectAll('query', created, [['fail', 'FAILED', 'PAYERROR'], ['closed', 'CLOSED', 'CLOSED'],
    ['not_found', 'NOT_FOUND', 'ORDERNOTEXIST'], ['unknown', 'PROCESSING', 'SIM_NEW_STATE'], ['processing', 'PROCESSING', 'USERPAYING']]);
});

test('close: SUCCESS, ORDERPAID stays PROCESSING, not found, transport', async () => {
  assert.equal((await k.exchange('close', await created())).class, 'SUCCESS');
  assert.equal((await k.exchange('close', await paid())).code, 'ORDERPAID');
  await expectAll('close', created, [['fail', 'PROCESSING', 'ORDERPAID'], ['not_found', 'NOT_FOUND'],
    ['unknown', 'PROCESSING'], ['processing', 'PROCESSING', 'SYSTEMERROR']]);
});

test('cancel (reverse): SUCCESS, recall=Y -> PROCESSING with recall, REVERSE_EXPIRE, not found, transport', async () => {
  const o = micro();
  await run('pay', o, 'processing');
  assert.equal((await k.exchange('cancel', o)).class, 'SUCCESS');
  const m2 = micro();
  await run('pay', m2, 'processing');
  const again = await run('cancel', m2, 'processing');
  assert.equal(again.class, 'PROCESSING');
  assert.equal(again.fields.recall, true);
  await expectAll('cancel', async () => { const m = micro(); await run('pay', m, 'processing'); return m; },
    [['fail', 'FAILED', 'REVERSE_EXPIRE'], ['not_found', 'NOT_FOUND'], ['unknown', 'PROCESSING']]);
});

test('refund: accepted is PROCESSING, NOTENOUGH FAILED, not found, transport', async () => {
  const o = refundOf(await paid());
  const r = await k.exchange('refund', o);
  assert.equal(r.class, 'PROCESSING');
  assert.equal(r.code, 'SUCCESS');
  assert.ok(r.fields.channel_refund_no);
  await expectAll('refund', async () => refundOf(await paid()), [['fail', 'FAILED', 'NOTENOUGH'], ['not_found', 'NOT_FOUND'],
    ['unknown', 'PROCESSING'], ['processing', 'PROCESSING', 'SYSTEMERROR']]);
});

test('refund_query: SUCCESS, REFUNDCLOSE, PROCESSING, REFUNDNOTEXIST, unknown, transport', async () => {
  const o = await refunded();
  const r = await k.exchange('refund_query', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal(r.fields.amount, 400);
  assert.equal((await k.exchange('refund_query', refundOf(order()))).class, 'NOT_FOUND');
  await expectAll('refund_query', refunded, [['fail', 'FAILED', 'REFUNDCLOSE'], ['processing', 'PROCESSING', 'PROCESSING'],
    ['not_found', 'NOT_FOUND', 'REFUNDNOTEXIST'], ['unknown', 'PROCESSING']]);
});

test('bill: the statement, No Bill Exist, transport', async () => {
  await paid();
  const r = await k.exchange('bill', billOf());
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.match(r.fields.statement, /交易时间/);
  for (const [b, cls] of [['not_found', 'NOT_FOUND'], ['processing', 'PROCESSING'], ['5xx', 'PROCESSING'], ['drop', 'PROCESSING']]) {
    const x = await run('bill', billOf(), b);
    assert.equal(x.class, cls, `bill ${b}: ${JSON.stringify(x)}`);
  }
  assert.equal((await run('bill', billOf(), 'delay:3000', { timeoutMs: SHORT })).class, 'PROCESSING');
});

test('pay notify: valid, forged, duplicate, contrary', async () => {
  const o = await created();
  assert.equal((await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' })).status, 200);
  const v = await k.verifyLastNotify();
  assert.equal(v.verified, true);
  assert.equal(v.class, 'SUCCESS');
  assert.equal(v.out_trade_no, o.out_trade_no);
  assert.equal(v.fields.amount, 1000);
  assert.equal(v.ack.status, 200);
  assert.match(v.ack.body, /SUCCESS/);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'duplicate' });
  const d = await k.verifyLastNotify();
  assert.deepEqual({ ...d }, { ...v });
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const f = await k.verifyLastNotify();
  assert.equal(f.verified, false);
  assert.equal(f.class, 'PROCESSING');
  assert.notEqual(f.ack.status, 200);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const c = await k.verifyLastNotify();
  assert.equal(c.verified, true);
  assert.notEqual(c.class, 'SUCCESS');
});

test('refund notify (req_info AES-256-ECB): valid, forged, contrary', async () => {
  const o = await refunded();
  const send = async (kind) => {
    await k.simNotify({ out_trade_no: o.out_trade_no, kind, event: 'refund', out_refund_no: o.refund.out_refund_no });
    return k.verifyLastNotify();
  };
  const v = await send('valid');
  assert.equal(v.verified, true, JSON.stringify(v));
  assert.equal(v.code, 'REFUND.SUCCESS');
  assert.equal(v.fields.kind, 'refund');
  assert.equal(v.fields.out_refund_no, o.refund.out_refund_no);
  assert.equal((await send('forged')).verified, false);
  const c = await send('contrary');
  assert.equal(c.verified, true);
  assert.equal(c.class, 'FAILED');
});

test('HMAC-SHA256 signing: pay and query accepted by the sim, answers verified', async () => {
  k.setParams({ sign_type: 'HMAC-SHA256' });
  try {
    const o = await created();
    await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
    const q = await k.exchange('query', o);
    assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
    const reqs = (await k.simGet('/_sim/requests', { out_trade_no: o.out_trade_no })).json.requests;
    assert.ok(reqs.every((x) => x.sign_ok === true && x.params.sign_type === 'HMAC-SHA256'), JSON.stringify(reqs));
  } finally { k.setParams({}); }
});

test('the sim refuses a request signed with the wrong API key (its check is real)', async () => {
  k.setParams({ api_key: 'wx_wrong_key' });
  let o;
  try {
    o = order();
    const r = await k.exchange('pay', o);
    assert.equal(r.class, 'PROCESSING');            // unsigned return_code FAIL proves nothing
    assert.match(r.error, /return_code FAIL/);
  } finally { k.setParams({}); }
  const c = (await k.simGet('/_sim/counts', { out_trade_no: o.out_trade_no })).json;
  assert.equal(c.bad_sign, 1, JSON.stringify(c));
});
