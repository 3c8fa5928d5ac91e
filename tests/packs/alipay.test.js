'use strict';
// Conformance of the alipay pack (templates/alipay.lua, scripts/alipay.lua) against the
// simulator's Alipay plugin (tests/sim/lib/channels/alipay.js, which verifies every request
// with alipay-sdk's own sign-string builder + rsaCheck), through `paygwctl channel`.
// Every op (pay qr/barcode, query, close, cancel, refund, refund_query, bill, payout,
// payout_query) meets success, definite failure, unknown code, not-found (queries), 5xx,
// garbage, bad answer signature, delay beyond the timeout, a held and a dropped connection;
// barcode 10003 then paid (query); cancel retry_flag=Y; refund fund_change=N then refund
// query; bill URL + the GBK statement parsed by `paygwctl channel statement`; payout DEALING
// then SUCCESS; wap/page/app local credentials checked with alipay-sdk (sdkExecute with the
// same timestamp must produce the same signature); pay and refund notifies valid / forged /
// duplicate / contrary; a wrong app key is refused by the sim.
// Run: node --test tests/packs/alipay.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const kit = require('./lib');
const { AlipaySdk } = require('../sim/node_modules/alipay-sdk');

const APP_ID = '2021000000000001';
const SHORT = 800;
let k;
let appPrivatePem;
let appPublicPem;

test.before(async () => {
  k = await kit.start({
    channel: 'alipay',
    keys({ simRoot, keystore }) {
      appPrivatePem = fs.readFileSync(path.join(simRoot, 'app_private.tmp.pem'), 'utf8');
      appPublicPem = fs.readFileSync(path.join(simRoot, 'app_public.pem'), 'utf8');
      fs.writeFileSync(path.join(keystore, 'app_private.pem'), appPrivatePem, { mode: 0o600 });
      fs.copyFileSync(path.join(simRoot, 'alipay_public.tmp.pem'), path.join(keystore, 'alipay_public.pem'));
      kit.writeKeyPair(keystore, 'wrong_private.pem', 'wrong_public.pem');
    },
    params: { app_id: APP_ID, app_private_key: 'app_private', channel_public_key: 'alipay_public' },
    endpoint: (simBase) => `${simBase}/alipay/gateway.do`,
  });
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return { out_trade_no: kit.tradeNo('A'), amount: 1000, currency: 'CNY', subject: 'conformance',
    method: 'alipay.qr', expire_seconds: 900, notify_url: k.notifyUrl, ...extra };
}
const barcode = () => order({ method: 'alipay.barcode', extra: { auth_code: '28763443825664394' } });
const refundOf = (o, amount = 400) => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount, reason: 'test' } });
const billOf = (date = '2024-01-01') => ({ bill: { date, type: 'trade' } });
const payoutOf = () => ({ payout: { out_payout_no: kit.tradeNo('P'), amount: 1000, currency: 'CNY',
  payee: { account_no: 'payee@example.com', account_name: '张三' }, remark: 'conformance' } });
function keyOf(op, o) {
  if (op.startsWith('refund')) return o.refund.out_refund_no;
  if (op.startsWith('payout')) return o.payout.out_payout_no;
  if (op === 'bill') return `bill-${o.bill.date.replace(/-/g, '')}`;
  return o.out_trade_no;
}
// the sim's op names: precreate (alipay.qr) and barcode (alipay.trade.pay) for our pay
const simOp = (op, o) => (op !== 'pay' ? op : o.method === 'alipay.barcode' ? 'barcode' : 'precreate');

async function paid(o = barcode()) {
  const r = await k.exchange('pay', o);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  return o;
}
async function refunded() {
  const o = refundOf(await paid());
  assert.equal((await k.exchange('refund', o)).class, 'SUCCESS');
  return o;
}
async function paidOut() {
  const o = payoutOf();
  assert.equal((await k.exchange('payout', o)).class, 'SUCCESS');
  return o;
}

async function run(op, o, behaviour, opts = {}) {
  const s = await k.script({ out_trade_no: keyOf(op, o), [simOp(op, o)]: behaviour });
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

test('pay alipay.qr (precreate): qr_code; failure, unknown and transport outcomes', async () => {
  const r = await k.exchange('pay', order());
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.match(r.fields.credential.qr_code, /^https:\/\/qr\.alipay\.com\//);
  await expectAll('pay', async () => order(), [['fail', 'FAILED', '40004:ACQ.TOTAL_FEE_EXCEED'],
    ['processing', 'PROCESSING', '20000:isp.unknow-error'], ['unknown', 'PROCESSING', '40004:ACQ.SOMETHING_NEW']]);
});

test('pay alipay.barcode: 10000 paid; 10003 stays PROCESSING, then query SUCCESS; auth code invalid FAILED; transport', async () => {
  const ok = await k.exchange('pay', barcode());
  assert.equal(ok.class, 'SUCCESS', JSON.stringify(ok));
  assert.equal(ok.fields.amount, 1000);
  const o = barcode();
  const w = await run('pay', o, 'processing');
  assert.equal(w.class, 'PROCESSING');
  assert.equal(w.code, '10003');
  assert.equal((await k.exchange('query', o)).code, 'WAIT_BUYER_PAY');
  assert.equal((await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no })).status, 200);
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.fields.amount, 1000);
  await expectAll('pay', async () => barcode(), [['fail', 'FAILED', '40004:ACQ.PAYMENT_AUTH_CODE_INVALID'],
    ['unknown', 'PROCESSING'], ['not_found', 'PROCESSING']]);
});

test('the manifest declares barcode as micropay with the query-then-cancel schedule', async () => {
  const r = await k.render('pay', barcode());
  assert.match(r.body, /method=alipay\.trade\.pay/);
  const lua = fs.readFileSync(path.join(kit.ROOT, 'templates', 'alipay.lua'), 'utf8');
  assert.match(lua, /\["alipay\.barcode"\] = \{ kind = "micropay"/);
  assert.match(lua, /reverse_op = "cancel"/);
});

function sdkAs(privatePem, publicPem) {
  return new AlipaySdk({ appId: APP_ID, privateKey: privatePem, keyType: 'PKCS8', alipayPublicKey: publicPem });
}

// the credential's parameters must be what alipay-sdk itself signs for the same inputs
function checkWithSdk(params, method) {
  assert.equal(params.method, method);
  const { sign, ...rest } = params;
  // 1) the SDK's own verifier over the sorted sign string, with our app public key
  assert.equal(sdkAs(appPrivatePem, appPublicPem).notifyRSACheck(rest, sign, 'RSA2', true), true, 'SDK rsaCheck');
  // 2) sdkExecute with the same timestamp and biz_content signs to the same bytes
  const extra = {};
  for (const kk of ['format', 'notify_url', 'return_url']) if (rest[kk]) extra[kk] = rest[kk];
  const s = sdkAs(appPrivatePem, appPublicPem).sdkExecute(method,
    { timestamp: rest.timestamp, bizContent: JSON.parse(rest.biz_content), ...extra }, { bizContentAutoSnakeCase: false });
  const theirs = Object.fromEntries(new URLSearchParams(s));
  assert.equal(theirs.sign, sign, 'sdkExecute produced another signature');
}

test('alipay.wap / alipay.page: a signed GET URL, nothing sent; alipay-sdk verifies and reproduces it', async () => {
  for (const [m, api, pc] of [['alipay.wap', 'alipay.trade.wap.pay', 'QUICK_WAP_WAY'], ['alipay.page', 'alipay.trade.page.pay', 'FAST_INSTANT_TRADE_PAY']]) {
    const o = order({ method: m, extra: { return_url: 'https://shop.example.com/back' } });
    const before = (await k.simGet('/_sim/counts', { out_trade_no: o.out_trade_no })).json;
    const r = await k.exchange('pay', o);
    assert.equal(r.sent, 'LOCAL', JSON.stringify(r));
    assert.equal(r.class, 'SUCCESS');
    assert.equal(r.fields.credential.type, 'page_url');
    const u = new URL(r.fields.credential.url);
    assert.equal(`${u.origin}${u.pathname}`, `${k.simBase}/alipay/gateway.do`);
    const params = Object.fromEntries(u.searchParams);
    assert.equal(JSON.parse(params.biz_content).product_code, pc);
    assert.equal(params.return_url, 'https://shop.example.com/back');
    checkWithSdk(params, api);
    const after = (await k.simGet('/_sim/counts', { out_trade_no: o.out_trade_no })).json;
    assert.deepEqual(after, before, 'nothing reached the sim');
  }
});

test('alipay.app: the signed order string the app SDK takes; alipay-sdk verifies and reproduces it', async () => {
  const r = await k.exchange('pay', order({ method: 'alipay.app' }));
  assert.equal(r.sent, 'LOCAL');
  assert.equal(r.fields.credential.type, 'app_order_string');
  const params = Object.fromEntries(new URLSearchParams(r.fields.credential.order_string));
  assert.equal(JSON.parse(params.biz_content).product_code, 'QUICK_MSECURITY_PAY');
  checkWithSdk(params, 'alipay.trade.app.pay');
});

test('query: WAIT_BUYER_PAY, paid, closed, not found, unknown, transport', async () => {
  const o = order();
  await k.exchange('pay', o);
  assert.equal((await k.exchange('query', o)).code, 'WAIT_BUYER_PAY');
  assert.equal((await k.exchange('query', order())).class, 'NOT_FOUND');
  await expectAll('query', async () => { const x = order(); await k.exchange('pay', x); return x; },
    [['fail', 'CLOSED', 'TRADE_CLOSED'], ['closed', 'CLOSED'], ['not_found', 'NOT_FOUND'], ['unknown', 'PROCESSING'],
      ['processing', 'PROCESSING', 'WAIT_BUYER_PAY'], ['trade_status:TRADE_FINISHED', 'SUCCESS']]);
});

test('close: SUCCESS, a paid trade stays PROCESSING, not found, transport', async () => {
  const o = order();
  await k.exchange('pay', o);
  assert.equal((await k.exchange('close', o)).class, 'SUCCESS');
  assert.equal((await k.exchange('close', await paid())).class, 'PROCESSING');
  await expectAll('close', async () => { const x = order(); await k.exchange('pay', x); return x; },
    [['not_found', 'NOT_FOUND'], ['unknown', 'PROCESSING'], ['processing', 'PROCESSING']]);
});

test('cancel: SUCCESS (action refund / close), retry_flag=Y -> PROCESSING + recall, TIME_OUT FAILED, not found, transport', async () => {
  const p = await paid();
  const r = await k.exchange('cancel', p);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal(r.fields.action, 'refund');
  const w = barcode();
  await run('pay', w, 'processing');
  const again = await run('cancel', w, ['processing', 'success']);
  assert.equal(again.class, 'PROCESSING');
  assert.equal(again.fields.recall, true);
  const done = await k.exchange('cancel', w);
  assert.equal(done.class, 'SUCCESS');
  assert.equal(done.fields.action, 'close');
  await expectAll('cancel', async () => { const m = barcode(); await run('pay', m, 'processing'); return m; },
    [['fail', 'FAILED', '40004:ACQ.TRADE_CANCEL_TIME_OUT'], ['not_found', 'NOT_FOUND'], ['unknown', 'PROCESSING']]);
});

test('refund: fund_change=Y SUCCESS; fund_change=N PROCESSING then refund_query SUCCESS; status error FAILED; not found', async () => {
  const o = refundOf(await paid());
  const n = await run('refund', o, 'processing');
  assert.equal(n.class, 'PROCESSING', JSON.stringify(n));
  assert.equal(n.code, '10000:fund_change_N');
  const q = await k.exchange('refund_query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.fields.amount, 400);
  assert.equal((await k.exchange('refund', refundOf({ ...order(), out_trade_no: kit.tradeNo('X') }))).class, 'NOT_FOUND');
  await expectAll('refund', async () => refundOf(await paid()), [['fail', 'FAILED', '40004:ACQ.TRADE_STATUS_ERROR'],
    ['not_found', 'NOT_FOUND'], ['unknown', 'PROCESSING']]);
});

test('refund_query: REFUND_SUCCESS, no status yet, nothing came back = NOT_FOUND, unknown, transport', async () => {
  const o = await refunded();
  assert.equal((await k.exchange('refund_query', o)).class, 'SUCCESS');
  assert.equal((await k.exchange('refund_query', refundOf(await paid()))).class, 'NOT_FOUND');
  await expectAll('refund_query', refunded, [['processing', 'PROCESSING', '10000'], ['not_found', 'NOT_FOUND', 'REFUND_NOT_EXIST'],
    ['fail', 'PROCESSING'], ['unknown', 'PROCESSING']]);
});

test('bill: download URL, the GBK statement parsed by paygwctl channel statement; not found; transport', async (t) => {
  const p = await paid();
  const rf = refundOf(p, 300);
  assert.equal((await k.exchange('refund', rf)).class, 'SUCCESS');
  const r = await k.exchange('bill', billOf());
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  const f = path.join(k.dir, 'statement.csv');
  const raw = await new Promise((resolve, reject) => {
    require('node:http').get(r.fields.download_url, (x) => { const c = []; x.on('data', (d) => c.push(d)); x.on('end', () => resolve(Buffer.concat(c))); }).on('error', reject);
  });
  fs.writeFileSync(f, raw);
  const s = await k.ctl(['statement', 'alipay', '--file', f]);
  if (/unknown channel command/.test(s.stderr)) {
    t.diagnostic('paygwctl has no `channel statement` (older build): statement parse not checked');
  } else {
    assert.equal(s.code, 0, s.stderr);
    const st = JSON.parse(s.stdout);
    assert.equal(st.error, undefined, s.stdout);
    const pay = st.rows.find((x) => x.out_trade_no === p.out_trade_no && x.type === 'pay');
    const ref = st.rows.find((x) => x.out_trade_no === p.out_trade_no && x.type === 'refund');
    assert.equal(pay.amount, 1000);
    assert.equal(ref.amount, 300);
    assert.equal(ref.out_refund_no, rf.refund.out_refund_no);
    assert.equal(st.totals.refund_count, st.totals.footer_refund_count);
  }
  for (const [b, cls] of [['not_found', 'NOT_FOUND'], ['processing', 'PROCESSING'], ['unknown', 'PROCESSING'], ['badsign', 'PROCESSING'],
    ['5xx', 'PROCESSING'], ['garbage', 'PROCESSING'], ['drop', 'PROCESSING']]) {
    const x = await run('bill', billOf('2024-01-02'), b);
    assert.equal(x.class, cls, `bill ${b}: ${JSON.stringify(x)}`);
  }
  assert.equal((await run('bill', billOf('2024-01-02'), 'delay:3000', { timeoutMs: SHORT })).class, 'PROCESSING');
});

test('payout: SUCCESS; DEALING then payout_query SUCCESS; PAYEE_NOT_EXIST FAILED; the rest PROCESSING', async () => {
  const o = payoutOf();
  const d = await run('payout', o, 'processing');
  assert.equal(d.class, 'PROCESSING');
  assert.equal(d.code, 'DEALING');
  assert.equal((await k.exchange('payout_query', o)).code, 'DEALING');
  await k.sim('/_sim/pay', { out_trade_no: o.payout.out_payout_no });
  const q = await k.exchange('payout_query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.fields.amount, 1000);
  await expectAll('payout', async () => payoutOf(), [['fail', 'FAILED', '40004:PAYEE_NOT_EXIST'],
    ['not_found', 'FAILED', '40004:PAYEE_USER_INFO_ERROR'], ['unknown', 'PROCESSING']]);
});

test('payout_query: SUCCESS, FAIL FAILED, DEALING, not found, unknown, transport', async () => {
  assert.equal((await k.exchange('payout_query', payoutOf())).class, 'NOT_FOUND');
  await expectAll('payout_query', paidOut, [['fail', 'FAILED', 'FAIL'], ['processing', 'PROCESSING', 'DEALING'],
    ['not_found', 'NOT_FOUND'], ['unknown', 'PROCESSING']]);
});

test('pay notify: valid, duplicate, forged, contrary', async () => {
  const o = order();
  await k.exchange('pay', o);
  assert.equal((await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' })).status, 200);
  const v = await k.verifyLastNotify();
  assert.equal(v.verified, true, JSON.stringify(v));
  assert.equal(v.class, 'SUCCESS');
  assert.equal(v.fields.amount, 1000);
  assert.equal(v.ack.body, 'success');
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'duplicate' });
  assert.deepEqual(await k.verifyLastNotify(), v);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const f = await k.verifyLastNotify();
  assert.equal(f.verified, false);
  assert.equal(f.class, 'PROCESSING');
  assert.equal(f.ack.body, 'fail');
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const c = await k.verifyLastNotify();
  assert.equal(c.verified, true);
  assert.equal(c.class, 'CLOSED');
});

test('refund notify: refund_fee / out_biz_no -> kind refund, REFUND_SUCCESS; forged refused', async () => {
  const o = await refunded();
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid', event: 'refund', out_refund_no: o.refund.out_refund_no });
  const v = await k.verifyLastNotify();
  assert.equal(v.verified, true, JSON.stringify(v));
  assert.equal(v.class, 'SUCCESS');
  assert.equal(v.code, 'REFUND_SUCCESS');
  assert.equal(v.fields.kind, 'refund');
  assert.equal(v.fields.out_refund_no, o.refund.out_refund_no);
  assert.equal(v.fields.refund_amount, 400);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged', event: 'refund', out_refund_no: o.refund.out_refund_no });
  assert.equal((await k.verifyLastNotify()).verified, false);
});

test('the sim refuses a request signed with the wrong app key (its check is real)', async () => {
  k.setParams({ app_private_key: 'wrong_private' });
  let o;
  try {
    o = order();
    const r = await k.exchange('pay', o);
    assert.equal(r.class, 'NOT_SENT', JSON.stringify(r));     // signed 40002 isv.invalid-signature
    assert.equal(r.code, '40002:isv.invalid-signature');
  } finally { k.setParams({}); }
  const c = (await k.simGet('/_sim/counts', { out_trade_no: o.out_trade_no })).json;
  assert.equal(c.bad_sign, 1, JSON.stringify(c));
});
