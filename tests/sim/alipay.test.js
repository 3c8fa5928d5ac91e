'use strict';
// Self-test of the Alipay channel plugin. The client side is the official alipay-sdk (`exec`
// against the sim's gateway, `checkResponseSign` via validateSign, `checkNotifySignV2`),
// plus a hand-built form request signed with node:crypto as an independent second client.
// Run: node --test tests/sim/alipay.test.js (or `npm test` in tests/sim for every channel)

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { AlipaySdk } = require('alipay-sdk');
const { startSim, startReceiver, writePem } = require('./lib/testkit');
const { beijingTime } = require('./lib/channels/alipay/clock');
const { AlipaySide } = require('./lib/channels/alipay/sign');
const { privatePem, publicPem, loadPrivateKey, loadPublicKey } = require('./lib/keys');
const V = require('./fixtures/vectors.json');

const APP_ID = '2021000000000001';
const gen = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const alipayKey = gen();
const appKey = gen();
const strangerKey = gen();

let kit;           // the sim under test (lib/testkit.js)
let sim;
let base;
let ctl;
let rx;            // a stand-in for paygwd's /notify/alipay endpoint
let receiverUrl;

function sdkClient(opts = {}) {
  return new AlipaySdk({
    appId: APP_ID,
    privateKey: privatePem(opts.signKey || appKey),
    keyType: 'PKCS8',
    alipayPublicKey: publicPem(alipayKey),
    gateway: `${base}/gateway.do`,
    timeout: opts.timeout || 3000,
  });
}

function precreate(sdk, otn, extra = {}) {
  return sdk.exec('alipay.trade.precreate', {
    notifyUrl: receiverUrl,
    bizContent: { outTradeNo: otn, totalAmount: '10.00', subject: '测试订单 1', ...extra },
  }, { validateSign: true });
}

function query(sdk, otn) {
  return sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: otn } }, { validateSign: true });
}

const script = (b) => ctl('POST', '/_sim/script', b);
const counts = async (otn) => (await ctl('GET', `/_sim/counts${otn ? `?out_trade_no=${encodeURIComponent(otn)}` : ''}`)).json;
const requests = async (otn) => (await ctl('GET', `/_sim/requests?out_trade_no=${encodeURIComponent(otn)}`)).json.requests;

// A hand-built OpenAPI v2 request, signed with node:crypto (independent of the SDK).
function handBuilt(method, biz, { key = appKey, dropSignType = false, extra = {} } = {}) {
  const p = {
    app_id: APP_ID,
    method,
    format: 'JSON',
    charset: 'utf-8',
    sign_type: 'RSA2',
    timestamp: beijingTime(),
    version: '1.0',
    biz_content: JSON.stringify(biz),
    ...extra,
  };
  const signed = { ...p };
  if (dropSignType) delete signed.sign_type;
  const str = Object.keys(signed).filter((k) => signed[k] !== '').sort().map((k) => `${k}=${signed[k]}`).join('&');
  p.sign = crypto.sign('sha256', Buffer.from(str, 'utf8'), key).toString('base64');
  return { params: p, signString: str };
}

async function postForm(params) {
  const r = await fetch(`${base}/gateway.do`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
    body: new URLSearchParams(params).toString(),
  });
  return { status: r.status, text: await r.text() };
}

let otnSeq = 0;
const newOtn = (p = 'T') => `${p}${Date.now()}${++otnSeq}`;

test.before(async () => {
  kit = await startSim({
    channel: 'alipay',
    options: { alipay: { app_id: APP_ID } },
    prepareKeys: (dir) => {
      writePem(path.join(dir, 'alipay_private.pem'), alipayKey, 'private');
      writePem(path.join(dir, 'app_public.pem'), appKey, 'public');
    },
  });
  ({ sim, base, ctl } = kit);
  rx = await startReceiver();
  receiverUrl = rx.url('/notify/alipay');
});

test.after(async () => {
  await kit.close();
  await rx.close();
});

test.beforeEach(async () => {
  await ctl('POST', '/_sim/reset');
});

test('published vectors: the SDK-built sign strings match V2 / V3 / V13a', () => {
  // V2: notify sign string built by the SDK (through AlipaySide) equals the published one,
  // and the published Alipay signature verifies over it.
  const params = Object.fromEntries(V.V2.signString.split('&').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  }));
  const side = new AlipaySide({ alipayPrivateKey: alipayKey, appPublicKey: crypto.createPublicKey(appKey) });
  assert.equal(side.notifySignString({ ...params, sign_type: 'RSA2', sign: V.V2.sign }), V.V2.signString);
  assert.ok(crypto.verify('sha256', Buffer.from(V.V2.signString), loadPublicKey(V.V2.alipayPublicKey), Buffer.from(V.V2.sign, 'base64')));
  const merchant = new AlipaySdk({ appId: '2019073166072302', privateKey: privatePem(appKey), keyType: 'PKCS8', alipayPublicKey: V.V2.alipayPublicKey });
  assert.equal(merchant.checkNotifySignV2({ ...params, sign_type: 'RSA2', sign: V.V2.sign }), true);

  // V3: response sign string extraction.
  const raw = JSON.parse(V.V3.raw);
  assert.equal(merchant.getSignStr(V.V3.raw, V.V3.responseKey), V.V3.signed);
  const m3 = new AlipaySdk({ appId: 'x', privateKey: privatePem(appKey), keyType: 'PKCS8', alipayPublicKey: V.V3.alipayPublicKey });
  m3.checkResponseSign(V.V3.raw, V.V3.responseKey, raw.sign, 't');

  // V13a: a request signed by the SDK with the TEST key verifies in the sim's request
  // verifier, and the verifier's sign string is the published one.
  const testKey = loadPrivateKey(V.V13a.privateKey);
  const client = new AlipaySdk({ appId: V.V13a.appId, privateKey: V.V13a.privateKey, keyType: 'PKCS8', signType: 'RSA2' });
  const qs = client.sdkExecute('alipay.trade.query', { timestamp: V.V13a.timestamp, bizContent: { outTradeNo: V.V13a.outTradeNo } });
  const sent = Object.fromEntries(new URLSearchParams(qs));
  assert.equal(sent.sign, V.V13a.sign);
  const verifier = new AlipaySide({ alipayPrivateKey: alipayKey, appPublicKey: crypto.createPublicKey(testKey) });
  const v = verifier.verifyRequest(sent);
  assert.equal(v.ok, true);
  assert.equal(v.signString, V.V13a.signString);
});

test('precreate success through alipay-sdk exec: signed response verifies, \\/ escapes kept, counted', async () => {
  const sdk = sdkClient();
  const otn = newOtn();
  const r = await precreate(sdk, otn);
  assert.equal(r.code, '10000');
  assert.equal(r.outTradeNo, otn);
  assert.match(r.qrCode, /^https:\/\/qr\.alipay\.com\/bax0[0-9a-f]+$/);
  const reqs = await requests(otn);
  assert.equal(reqs.length, 1);
  assert.equal(reqs[0].sign_ok, true);
  assert.equal(reqs[0].method, 'alipay.trade.precreate');
  assert.equal(reqs[0].params.notify_url, receiverUrl);
  assert.equal(reqs[0].biz_content.total_amount, '10.00');
  assert.match(reqs[0].sign_string, /^app_id=2021000000000001&biz_content=\{.*\}&charset=utf-8&method=alipay\.trade\.precreate&notify_url=http:\/\/127\.0\.0\.1:\d+\/notify\/alipay&sign_type=RSA2&timestamp=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d&version=1\.0$/);
  assert.deepEqual(reqs[0].problems, []);
  assert.ok(reqs[0].response.body.includes('https:\\/\\/qr.alipay.com\\/'), 'qr_code is written with \\/ like Alipay');
  assert.ok(reqs[0].response.body.startsWith('{"alipay_trade_precreate_response":{"code":"10000"'));
  const c = await counts(otn);
  assert.equal(c['alipay.trade.precreate'], 1);
  assert.equal(c['alipay.trade.query'], 0);
  assert.equal(c.bad_sign, 0);
  const o = (await ctl('GET', `/_sim/orders?out_trade_no=${otn}`)).json;
  assert.equal(o.state, 'WAIT_BUYER_PAY');
  assert.equal(o.qr_code, r.qrCode);
  assert.equal(o.notify_url, receiverUrl);
  // precreate again with the same out_trade_no: same QR, counted twice
  const r2 = await precreate(sdk, otn);
  assert.equal(r2.qrCode, r.qrCode);
  assert.equal((await counts(otn))['alipay.trade.precreate'], 2);
});

test('hand-built form request (node:crypto) is accepted; wrong key, missing sign_type in the string and tampering are rejected as 40002 isv.invalid-signature', async () => {
  const merchant = sdkClient();
  const otn = newOtn();
  const good = handBuilt('alipay.trade.precreate', { out_trade_no: otn, total_amount: '0.01', subject: 's' }, { extra: { notify_url: receiverUrl } });
  let r = await postForm(good.params);
  assert.equal(r.status, 200);
  let j = JSON.parse(r.text);
  assert.equal(j.alipay_trade_precreate_response.code, '10000');
  merchant.checkResponseSign(r.text, 'alipay_trade_precreate_response', j.sign, 't');
  assert.equal((await requests(otn))[0].sign_string, good.signString);

  const bad = [
    handBuilt('alipay.trade.query', { out_trade_no: otn }, { key: strangerKey }).params,
    handBuilt('alipay.trade.query', { out_trade_no: otn }, { dropSignType: true }).params,
    { ...handBuilt('alipay.trade.query', { out_trade_no: otn }).params, biz_content: JSON.stringify({ out_trade_no: otn, x: 1 }) },
  ];
  for (const p of bad) {
    r = await postForm(p);
    assert.equal(r.status, 200);
    j = JSON.parse(r.text);
    const v = j.alipay_trade_query_response;
    assert.equal(v.code, '40002');
    assert.equal(v.sub_code, 'isv.invalid-signature');
    assert.ok(v.sub_msg.includes('app_id=2021000000000001'));
    merchant.checkResponseSign(r.text, 'alipay_trade_query_response', j.sign, 't');
  }
  const c = await counts(otn);
  assert.equal(c.bad_sign, 3);
  assert.equal(c['alipay.trade.query'], 3, 'bad-signed requests still count as received');
  assert.equal((await counts()).bad_sign, 3);
  // the SDK exec with a key Alipay does not know for this app
  await assert.rejects(query(sdkClient({ signKey: strangerKey }), otn).then((x) => {
    assert.equal(x.code, '40002');
    assert.equal(x.subCode, 'isv.invalid-signature');
    throw new Error('rejected-as-expected');
  }), /rejected-as-expected/);
  // other gateway checks
  r = await postForm({ ...handBuilt('alipay.trade.nonexistent', { out_trade_no: otn }).params });
  assert.equal(JSON.parse(r.text).error_response.sub_code, 'isv.invalid-method');
  const noSign = handBuilt('alipay.trade.query', { out_trade_no: otn }).params;
  delete noSign.sign;
  r = await postForm(noSign);
  assert.equal(JSON.parse(r.text).alipay_trade_query_response.sub_code, 'isv.missing-signature');
  const badTs = handBuilt('alipay.trade.query', { out_trade_no: otn }, { extra: { timestamp: '2024-01-01T00:00:00Z' } }).params;
  r = await postForm(badTs);
  assert.equal(JSON.parse(r.text).alipay_trade_query_response.sub_code, 'isv.invalid-timestamp');
  const badAmt = handBuilt('alipay.trade.precreate', { out_trade_no: newOtn(), total_amount: 1000, subject: 's' }).params;
  r = await postForm(badAmt);
  assert.equal(JSON.parse(r.text).alipay_trade_precreate_response.code, '10000', 'a JSON number amount is accepted like Alipay');
  const badAmt2 = handBuilt('alipay.trade.precreate', { out_trade_no: newOtn(), total_amount: '10.001', subject: 's' }).params;
  r = await postForm(badAmt2);
  assert.equal(JSON.parse(r.text).alipay_trade_precreate_response.sub_code, 'ACQ.INVALID_PARAMETER');
});

test('query follows the sim order state; /_sim/pay; close', async () => {
  const sdk = sdkClient();
  const otn = newOtn();
  let q = await query(sdk, otn);
  assert.equal(q.code, '40004');
  assert.equal(q.subCode, 'ACQ.TRADE_NOT_EXIST');
  assert.equal((await ctl('POST', '/_sim/pay', { out_trade_no: otn })).status, 404);
  await precreate(sdk, otn);
  q = await query(sdk, otn);
  assert.equal(q.code, '10000');
  assert.equal(q.tradeStatus, 'WAIT_BUYER_PAY');
  assert.equal(q.totalAmount, '10.00');
  const p = await ctl('POST', '/_sim/pay', { out_trade_no: otn });
  assert.equal(p.status, 200);
  assert.equal(p.json.order.state, 'TRADE_SUCCESS');
  q = await query(sdk, otn);
  assert.equal(q.tradeStatus, 'TRADE_SUCCESS');
  assert.equal(q.buyerPayAmount, '10.00');
  assert.match(q.sendPayDate, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.ok(q.tradeNo.length >= 20);
  // close of a paid trade is refused, of an unpaid trade succeeds
  let c = await sdk.exec('alipay.trade.close', { bizContent: { outTradeNo: otn } }, { validateSign: true });
  assert.equal(c.subCode, 'ACQ.TRADE_STATUS_ERROR');
  const otn2 = newOtn();
  await precreate(sdk, otn2);
  c = await sdk.exec('alipay.trade.close', { bizContent: { outTradeNo: otn2 } }, { validateSign: true });
  assert.equal(c.code, '10000');
  q = await query(sdk, otn2);
  assert.equal(q.tradeStatus, 'TRADE_CLOSED');
  assert.equal((await ctl('POST', '/_sim/pay', { out_trade_no: otn2 })).status, 409);
  const cnt = await counts(otn2);
  assert.equal(cnt['alipay.trade.close'], 1);
  assert.equal(cnt['alipay.trade.query'], 1);
  // pay with create:true
  const otn3 = newOtn();
  assert.equal((await ctl('POST', '/_sim/pay', { out_trade_no: otn3, create: true, total_amount: '1.00' })).status, 200);
  assert.equal((await query(sdk, otn3)).tradeStatus, 'TRADE_SUCCESS');
});

test('scripted business answers: fail / processing / not_found / unknown / trade_status', async () => {
  const sdk = sdkClient();
  const a = newOtn();
  await script({ out_trade_no: a, precreate: 'fail' });
  let r = await precreate(sdk, a);
  assert.equal(r.code, '40004');
  assert.equal(r.subCode, 'ACQ.TOTAL_FEE_EXCEED');
  assert.equal((await ctl('GET', `/_sim/orders?out_trade_no=${a}`)).status, 404, 'a failed precreate creates no trade');

  const b = newOtn();
  await script({ out_trade_no: b, precreate: 'processing', query: 'processing' });
  r = await precreate(sdk, b);
  assert.equal(r.code, '20000');
  assert.equal(r.subCode, 'isp.unknow-error');
  await ctl('POST', '/_sim/pay', { out_trade_no: b });
  r = await query(sdk, b);
  assert.equal(r.tradeStatus, 'WAIT_BUYER_PAY', 'query "processing" hides the real state');

  const c = newOtn();
  await script({ out_trade_no: c, precreate: 'unknown', query: ['not_found', 'unknown', 'fail', 'trade_status:TRADE_FINISHED', 'success'], close: 'processing' });
  r = await precreate(sdk, c);
  assert.equal(r.code, '40004');
  assert.equal(r.subCode, 'ACQ.SOMETHING_NEW');
  assert.equal((await query(sdk, c)).subCode, 'ACQ.TRADE_NOT_EXIST');
  assert.equal((await query(sdk, c)).subCode, 'ACQ.SOMETHING_NEW');
  assert.equal((await query(sdk, c)).tradeStatus, 'TRADE_CLOSED');
  assert.equal((await query(sdk, c)).tradeStatus, 'TRADE_FINISHED');
  assert.equal((await query(sdk, c)).tradeStatus, 'WAIT_BUYER_PAY', 'unknown precreate still created the trade');
  assert.equal((await query(sdk, c)).tradeStatus, 'WAIT_BUYER_PAY', 'the last list element repeats');
  assert.equal((await sdk.exec('alipay.trade.close', { bizContent: { outTradeNo: c } }, { validateSign: true })).code, '20000');

  const d = newOtn();
  await script({ out_trade_no: d, precreate: 'not_found' });
  assert.equal((await precreate(sdk, d)).subCode, 'ACQ.TRADE_NOT_EXIST');

  // bad behaviours are refused
  for (const b2 of ['nope', 'delay:x', 'delay:5:delay:5', '5xx:200', 'trade_status:PAID', 7, []]) {
    const res = await script({ out_trade_no: d, query: b2 });
    assert.equal(res.status, 400, `behaviour ${JSON.stringify(b2)} must be refused`);
  }
  assert.equal((await script({ out_trade_no: d, capture: 'success' })).status, 400);
  assert.equal((await script({ query: 'success' })).status, 400);
});

test('transport behaviours: 5xx / garbage / badsign / delay / timeout / drop, each counted once', async () => {
  const sdk = sdkClient({ timeout: 700 });
  const cases = [
    ['5xx', /HTTP 请求错误, status: 502/],
    ['5xx:503', /status: 503/],
    ['garbage', /Response 格式错误/],
    ['badsign', /验签失败/],
    ['timeout', /Request error|timeout|Timeout/i],
    ['drop', /Request error|socket|other side closed|closed/i],
  ];
  for (const [beh, re] of cases) {
    const otn = newOtn();
    await script({ out_trade_no: otn, precreate: beh });
    await assert.rejects(precreate(sdk, otn), re, beh);
    const sent = await requests(otn);
    if (beh === 'drop') {
      // urllib (the SDK's HTTP client) resends once on a socket error (socketErrorRetry: 1,
      // marked by the x-urllib-retry-on-socket-error header). The sim counts what arrives.
      assert.ok(sent.length >= 1 && sent.length <= 2, beh);
      assert.equal((await counts(otn))['alipay.trade.precreate'], sent.length, beh);
      if (sent.length === 2) assert.ok(sent[1].headers['x-urllib-retry-on-socket-error'], 'the second one is urllib\'s retry');
    } else {
      assert.equal(sent.length, 1, beh);
      assert.equal((await counts(otn))['alipay.trade.precreate'], 1, beh);
    }
    // the request reached "Alipay": the trade exists, a later query finds it
    const q = await query(sdkClient(), otn);
    assert.equal(q.tradeStatus, 'WAIT_BUYER_PAY', beh);
  }
  // drop with a client that does not retry: exactly one request, the socket is closed unanswered
  const dr = newOtn();
  await script({ out_trade_no: dr, precreate: 'drop' });
  await assert.rejects(postForm(handBuilt('alipay.trade.precreate', { out_trade_no: dr, total_amount: '1.00', subject: 's' }).params));
  assert.equal((await counts(dr))['alipay.trade.precreate'], 1);
  assert.equal((await requests(dr))[0].response.note, 'drop: socket destroyed');
  // garbage really is non-JSON and 5xx really is 502
  const g = newOtn();
  await script({ out_trade_no: g, query: ['garbage', '5xx'] });
  const p = handBuilt('alipay.trade.query', { out_trade_no: g }).params;
  let r = await fetch(`${base}/gateway.do`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(p).toString() });
  assert.equal(r.status, 200);
  const bytes = Buffer.from(await r.arrayBuffer());
  assert.throws(() => JSON.parse(bytes.toString('utf8')));
  r = await fetch(`${base}/gateway.do`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(p).toString() });
  assert.equal(r.status, 502);
  await r.text();
  // badsign on a query: the content is the real state, only the signature is wrong
  const bs = newOtn();
  await precreate(sdkClient(), bs);
  await ctl('POST', '/_sim/pay', { out_trade_no: bs });
  await script({ out_trade_no: bs, query: 'badsign' });
  const raw = await postForm(handBuilt('alipay.trade.query', { out_trade_no: bs }).params);
  const j = JSON.parse(raw.text);
  assert.equal(j.alipay_trade_query_response.trade_status, 'TRADE_SUCCESS');
  assert.throws(() => sdk.checkResponseSign(raw.text, 'alipay_trade_query_response', j.sign, 't'), /验签失败/);

  // delay, then the normal answer; delay:<ms>:<behaviour>
  const d = newOtn();
  await script({ out_trade_no: d, precreate: 'delay:300', query: 'delay:200:not_found' });
  let t0 = Date.now();
  const ok = await precreate(sdkClient(), d);
  assert.ok(Date.now() - t0 >= 290, `delay honoured (${Date.now() - t0} ms)`);
  assert.equal(ok.code, '10000');
  t0 = Date.now();
  assert.equal((await query(sdkClient(), d)).subCode, 'ACQ.TRADE_NOT_EXIST');
  assert.ok(Date.now() - t0 >= 190);

  // list form: first call times out, second succeeds
  const l = newOtn();
  await script({ out_trade_no: l, precreate: ['timeout', 'success'] });
  await assert.rejects(precreate(sdk, l));
  const second = await precreate(sdk, l);
  assert.equal(second.code, '10000');
  const lr = await requests(l);
  assert.deepEqual(lr.map((x) => x.behaviour), ['timeout', 'success']);
  assert.equal(lr[0].response.note, 'timeout: never answered');
  // a client that waits forever: the answer is held open until reset destroys the socket
  const h = newOtn();
  await script({ out_trade_no: h, query: 'timeout' });
  const pending = postForm(handBuilt('alipay.trade.query', { out_trade_no: h }).params);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(sim.hanging.size, 1, 'timed-out answers are held open');
  await ctl('POST', '/_sim/reset');
  await assert.rejects(pending);
  assert.equal(sim.hanging.size, 0, 'reset releases held sockets');
});

test('default scripts apply per order and per call; an order script overrides them', async () => {
  const sdk = sdkClient();
  assert.equal((await script({ default: true, precreate: ['processing', 'success'], query: 'not_found' })).status, 200);
  const a = newOtn();
  const b = newOtn();
  assert.equal((await precreate(sdk, a)).code, '20000');
  assert.equal((await precreate(sdk, b)).code, '20000', 'the list index is per order');
  assert.equal((await precreate(sdk, a)).code, '10000');
  assert.equal((await query(sdk, a)).subCode, 'ACQ.TRADE_NOT_EXIST');
  await script({ out_trade_no: b, query: 'success' });
  assert.equal((await query(sdk, b)).tradeStatus, 'WAIT_BUYER_PAY');
  await ctl('POST', '/_sim/reset');
  assert.equal((await precreate(sdk, newOtn())).code, '10000', 'reset clears defaults');
});

test('notify: valid / duplicate / forged / contrary are sent to the precreate notify_url, signed like Alipay', async () => {
  const sdk = sdkClient();
  const merchant = sdkClient();
  const otn = newOtn();
  await precreate(sdk, otn, { totalAmount: '12.34' });
  rx.received.length = 0;
  rx.answer = { status: 200, body: 'success' };

  let r = await ctl('POST', '/_sim/notify', { out_trade_no: otn, kind: 'valid' });
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 200);
  assert.equal(r.json.body, 'success');
  assert.equal(rx.received.length, 1);
  const n1 = rx.received[0];
  assert.match(n1.headers['content-type'], /^application\/x-www-form-urlencoded/);
  const p1 = Object.fromEntries(new URLSearchParams(n1.raw.toString('utf8')));
  assert.equal(merchant.checkNotifySignV2({ ...p1 }), true);
  for (const f of ['notify_id', 'notify_type', 'trade_status', 'out_trade_no', 'trade_no', 'total_amount', 'app_id', 'gmt_payment', 'sign_type', 'sign', 'notify_time', 'buyer_pay_amount', 'receipt_amount']) {
    assert.ok(p1[f], `notify carries ${f}`);
  }
  assert.equal(p1.notify_type, 'trade_status_sync');
  assert.equal(p1.trade_status, 'TRADE_SUCCESS');
  assert.equal(p1.total_amount, '12.34');
  assert.equal(p1.out_trade_no, otn);
  assert.equal(p1.app_id, APP_ID);
  assert.equal(p1.sign_type, 'RSA2');
  assert.ok(n1.raw.toString().includes('+'), 'spaces are form-encoded as + like Alipay');
  // the signature is over the string WITHOUT sign_type (V2 rule), checked independently
  const { sign, sign_type: st, ...rest } = p1;
  void st;
  const str = Object.keys(rest).sort().map((k) => `${k}=${rest[k]}`).join('&');
  assert.ok(crypto.verify('sha256', Buffer.from(str), crypto.createPublicKey(alipayKey), Buffer.from(sign, 'base64')));
  assert.equal((await query(sdk, otn)).tradeStatus, 'TRADE_SUCCESS', 'a valid success notify marks the sim trade paid');

  r = await ctl('POST', '/_sim/notify', { out_trade_no: otn, kind: 'duplicate' });
  assert.equal(r.json.status, 200);
  assert.equal(rx.received.length, 2);
  assert.ok(rx.received[1].raw.equals(n1.raw), 'duplicate = the exact same bytes');

  rx.answer = { status: 400, body: 'fail' };
  r = await ctl('POST', '/_sim/notify', { out_trade_no: otn, kind: 'forged' });
  assert.equal(r.json.status, 400);
  assert.equal(r.json.body, 'fail');
  const p3 = Object.fromEntries(new URLSearchParams(rx.received[2].raw.toString('utf8')));
  assert.equal(merchant.checkNotifySignV2({ ...p3 }), false);
  assert.notEqual(p3.notify_id, p1.notify_id);

  rx.answer = { status: 200, body: 'success' };
  r = await ctl('POST', '/_sim/notify', { out_trade_no: otn, kind: 'contrary' });
  const p4 = Object.fromEntries(new URLSearchParams(rx.received[3].raw.toString('utf8')));
  assert.equal(p4.trade_status, 'TRADE_CLOSED');
  assert.ok(p4.gmt_close);
  assert.equal(merchant.checkNotifySignV2({ ...p4 }), true);
  assert.equal((await query(sdk, otn)).tradeStatus, 'TRADE_SUCCESS', 'a contrary notify does not change the sim truth');

  // overrides and set_state:false
  const o2 = newOtn();
  await precreate(sdk, o2);
  r = await ctl('POST', '/_sim/notify', { out_trade_no: o2, kind: 'valid', set_state: false, overrides: { total_amount: '0.01' } });
  const p5 = Object.fromEntries(new URLSearchParams(rx.received[4].raw.toString('utf8')));
  assert.equal(p5.total_amount, '0.01');
  assert.equal(merchant.checkNotifySignV2({ ...p5 }), true);
  assert.equal((await query(sdk, o2)).tradeStatus, 'WAIT_BUYER_PAY');

  // errors
  assert.equal((await ctl('POST', '/_sim/notify', { out_trade_no: 'nobody', kind: 'valid' })).status, 404);
  const o3 = newOtn();
  await precreate(sdk, o3);
  assert.equal((await ctl('POST', '/_sim/notify', { out_trade_no: o3, kind: 'duplicate' })).status, 409);
  assert.equal((await ctl('POST', '/_sim/notify', { out_trade_no: o3, kind: 'weird' })).status, 400);
  // unreachable notify_url: status 0 + error
  r = await ctl('POST', '/_sim/notify', { out_trade_no: o3, kind: 'valid', notify_url: 'http://127.0.0.1:1/x' });
  assert.equal(r.json.status, 0);
  assert.ok(r.json.error);
});

test('caller endpoint records notifications and fails the first n on request', async () => {
  const url = `${base}/caller/notify`;
  assert.equal((await ctl('POST', '/_sim/caller', { fail_first: 2 })).status, 200);
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'paygw-signature': `s${i}` },
      body: JSON.stringify({ out_trade_no: 'C1', n: i }),
    });
    statuses.push(r.status);
    await r.text();
  }
  assert.deepEqual(statuses, [500, 500, 200]);
  const list = (await ctl('GET', '/_sim/caller/notifications')).json.notifications;
  assert.equal(list.length, 3);
  assert.deepEqual(list.map((n) => n.answered), [500, 500, 200]);
  assert.equal(list[2].headers['paygw-signature'], 's2');
  assert.equal(JSON.parse(list[2].body).n, 2);
  assert.equal((await ctl('GET', '/_sim/caller/notifications?out_trade_no=C1')).json.notifications.length, 3);
  assert.equal((await ctl('GET', '/_sim/caller/notifications?out_trade_no=C2')).json.notifications.length, 0);
  assert.equal((await ctl('POST', '/_sim/caller', { fail_first: -1 })).status, 400);
});

test('server.js CLI: loads openssl-generated PEM keys, prints the ready line, serves, stops on SIGTERM', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paygw-sim-'));
  try {
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path.join(dir, 'alipay_private.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path.join(dir, 'app_private.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['rsa', '-in', path.join(dir, 'app_private.pem'), '-pubout', '-out', path.join(dir, 'app_public.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['rsa', '-in', path.join(dir, 'alipay_private.pem'), '-pubout', '-out', path.join(dir, 'alipay_public.pem')], { stdio: 'ignore' });
    const child = spawn(process.execPath, [path.join(__dirname, 'server.js'), '--port', '0', '--keys', dir, '--app-id', APP_ID], { stdio: ['ignore', 'pipe', 'pipe'] });
    const port = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no ready line: ${out}`)), 10000);
      child.stdout.on('data', (d) => {
        out += d;
        const m = /sim listening 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    const client = new AlipaySdk({
      appId: APP_ID,
      privateKey: fs.readFileSync(path.join(dir, 'app_private.pem'), 'utf8'),
      keyType: 'PKCS8',
      alipayPublicKey: fs.readFileSync(path.join(dir, 'alipay_public.pem'), 'utf8'),
      gateway: `http://127.0.0.1:${port}/gateway.do`,
    });
    const r = await client.exec('alipay.trade.precreate', { notifyUrl: 'http://127.0.0.1:1/n', bizContent: { outTradeNo: 'CLI1', totalAmount: '1.00', subject: 's' } }, { validateSign: true });
    assert.equal(r.code, '10000');
    // --app-id is enforced
    const other = new AlipaySdk({
      appId: '2021999999999999',
      privateKey: fs.readFileSync(path.join(dir, 'app_private.pem'), 'utf8'),
      keyType: 'PKCS8',
      alipayPublicKey: fs.readFileSync(path.join(dir, 'alipay_public.pem'), 'utf8'),
      gateway: `http://127.0.0.1:${port}/gateway.do`,
    });
    const e = await other.exec('alipay.trade.query', { bizContent: { outTradeNo: 'CLI1' } });
    assert.equal(e.subCode, 'isv.invalid-app-id');
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    // missing key file: clear message, non-zero exit
    fs.unlinkSync(path.join(dir, 'app_public.pem'));
    const bad = spawn(process.execPath, [path.join(__dirname, 'server.js'), '--port', '0', '--keys', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    bad.stderr.on('data', (d) => { err += d; });
    const code = await new Promise((resolve) => bad.on('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(err, /app_public\.pem/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('keys: bare base64 PKCS#1 / PKCS#8 / SPKI are accepted like channels hand them out', () => {
  const k = gen();
  const b64 = (pem) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const pk1 = b64(k.export({ type: 'pkcs1', format: 'pem' }));
  const pk8 = b64(k.export({ type: 'pkcs8', format: 'pem' }));
  const spki = b64(crypto.createPublicKey(k).export({ type: 'spki', format: 'pem' }));
  const msg = Buffer.from('x');
  const sig = crypto.sign('sha256', msg, k);
  for (const s of [pk1, pk8]) assert.ok(crypto.verify('sha256', msg, crypto.createPublicKey(loadPrivateKey(s)), sig));
  assert.ok(crypto.verify('sha256', msg, loadPublicKey(spki), sig));
  assert.throws(() => loadPrivateKey('bm90IGEga2V5'));
});

// ---- the ops beyond precreate (issue 4): alipay-sdk exec as the client, validateSign on ----
const exec = (method, bizContent, params = {}) => sdkClient().exec(method, { ...params, bizContent }, { validateSign: true });
const newNo = (p) => `${p}${Date.now()}${crypto.randomInt(1e6)}`;

test('barcode pay (alipay.trade.pay): paid at once; 10003 then /_sim/pay then query; auth code refused; scene checked', async () => {
  const biz = (otn) => ({ outTradeNo: otn, scene: 'bar_code', authCode: '28763443825664394', totalAmount: '10.00', subject: '条码' });
  const a = newNo('B');
  const r = await exec('alipay.trade.pay', biz(a));
  assert.equal(r.code, '10000');
  assert.equal(r.totalAmount, '10.00');
  assert.ok(r.gmtPayment);
  const b = newNo('B');
  await script({ out_trade_no: b, barcode: 'processing' });
  assert.equal((await exec('alipay.trade.pay', biz(b))).code, '10003');
  assert.equal((await query(sdkClient(), b)).tradeStatus, 'WAIT_BUYER_PAY');
  assert.equal((await ctl('POST', '/_sim/pay', { out_trade_no: b })).status, 200);
  assert.equal((await query(sdkClient(), b)).tradeStatus, 'TRADE_SUCCESS');
  const c = newNo('B');
  await script({ out_trade_no: c, barcode: 'fail' });
  assert.equal((await exec('alipay.trade.pay', biz(c))).subCode, 'ACQ.PAYMENT_AUTH_CODE_INVALID');
  const d = newNo('B');
  assert.equal((await exec('alipay.trade.pay', { ...biz(d), scene: 'wave' })).subCode, 'ACQ.INVALID_PARAMETER');
});

test('cancel: action refund on a paid trade; processing = retry_flag Y; fail = ACQ.TRADE_CANCEL_TIME_OUT', async () => {
  const a = newNo('C');
  await exec('alipay.trade.pay', { outTradeNo: a, scene: 'bar_code', authCode: '28763443825664394', totalAmount: '1.00', subject: 's' });
  await script({ out_trade_no: a, cancel: ['processing', 'success'] });
  const again = await exec('alipay.trade.cancel', { outTradeNo: a });
  assert.equal(again.retryFlag, 'Y');
  const ok = await exec('alipay.trade.cancel', { outTradeNo: a });
  assert.equal(ok.code, '10000');
  assert.equal(ok.action, 'refund');
  await script({ out_trade_no: a, cancel: 'fail' });
  assert.equal((await exec('alipay.trade.cancel', { outTradeNo: a })).subCode, 'ACQ.TRADE_CANCEL_TIME_OUT');
});

test('refund: fund_change Y; processing = fund_change N, then refund query REFUND_SUCCESS; not-exist refund query is empty', async () => {
  const a = newNo('F');
  await exec('alipay.trade.pay', { outTradeNo: a, scene: 'bar_code', authCode: '28763443825664394', totalAmount: '10.00', subject: 's' });
  const r1 = newNo('R');
  const ok = await exec('alipay.trade.refund', { outTradeNo: a, refundAmount: '4.00', outRequestNo: r1 });
  assert.equal(ok.fundChange, 'Y');
  const r2 = newNo('R');
  await script({ out_trade_no: r2, refund: 'processing', refund_query: ['processing', 'success'] });
  assert.equal((await exec('alipay.trade.refund', { outTradeNo: a, refundAmount: '6.00', outRequestNo: r2 })).fundChange, 'N');
  const q1 = await exec('alipay.trade.fastpay.refund.query', { outTradeNo: a, outRequestNo: r2 });
  assert.equal(q1.refundStatus, undefined);
  assert.equal(q1.refundAmount, '6.00');
  assert.equal((await exec('alipay.trade.fastpay.refund.query', { outTradeNo: a, outRequestNo: r2 })).refundStatus, 'REFUND_SUCCESS');
  assert.equal((await query(sdkClient(), a)).tradeStatus, 'TRADE_CLOSED', 'a full refund closes the trade');
  const none = await exec('alipay.trade.fastpay.refund.query', { outTradeNo: a, outRequestNo: newNo('R') });
  assert.equal(none.code, '10000');
  assert.equal(none.outRequestNo, undefined);
  assert.equal((await exec('alipay.trade.refund', { outTradeNo: newNo('X'), refundAmount: '1.00', outRequestNo: newNo('R') })).subCode, 'ACQ.TRADE_NOT_EXIST');
});

test('bill: the download URL serves the GBK statement with our trades and refunds; bad token 403; not_found', async () => {
  const a = newNo('S');
  await exec('alipay.trade.pay', { outTradeNo: a, scene: 'bar_code', authCode: '28763443825664394', totalAmount: '2.50', subject: 'stmt' });
  const rn = newNo('R');
  await exec('alipay.trade.refund', { outTradeNo: a, refundAmount: '1.00', outRequestNo: rn });
  const r = await exec('alipay.data.dataservice.bill.downloadurl.query', { billType: 'trade', billDate: '2024-01-01' });
  assert.equal(r.code, '10000');
  const res = await fetch(r.billDownloadUrl);
  assert.equal(res.status, 200);
  const text = new TextDecoder('gbk', { fatal: true }).decode(Buffer.from(await res.arrayBuffer()));
  assert.match(text, /^#支付宝业务明细查询/);
  assert.match(text, new RegExp(`${a}\\t,交易,stmt,.*,2\\.50,2\\.50,`));
  assert.match(text, new RegExp(`${a}\\t,退款,.*,-1\\.00,-1\\.00,.*,${rn},`));
  assert.equal((await fetch(r.billDownloadUrl.replace(/token=\w+/, 'token=nope'))).status, 403);
  await script({ out_trade_no: 'bill-20240102', bill: 'not_found' });
  assert.equal((await exec('alipay.data.dataservice.bill.downloadurl.query', { billType: 'trade', billDate: '2024-01-02' })).subCode, 'isp.bill_not_exist');
});

test('fund transfer: SUCCESS; DEALING then /_sim/pay then common.query SUCCESS; PAYEE_NOT_EXIST; query ORDER_NOT_EXIST', async () => {
  const t = (no, amount = '1.00') => ({ outBizNo: no, transAmount: amount, productCode: 'TRANS_ACCOUNT_NO_PWD', bizScene: 'DIRECT_TRANSFER',
    orderTitle: 'payout', payeeInfo: { identity: 'payee@example.com', identityType: 'ALIPAY_LOGON_ID', name: '张三' } });
  const q = (no) => exec('alipay.fund.trans.common.query', { outBizNo: no, productCode: 'TRANS_ACCOUNT_NO_PWD', bizScene: 'DIRECT_TRANSFER' });
  const a = newNo('P');
  assert.equal((await exec('alipay.fund.trans.uni.transfer', t(a))).status, 'SUCCESS');
  const b = newNo('P');
  await script({ out_trade_no: b, payout: 'processing' });
  assert.equal((await exec('alipay.fund.trans.uni.transfer', t(b))).status, 'DEALING');
  assert.equal((await q(b)).status, 'DEALING');
  await ctl('POST', '/_sim/pay', { out_trade_no: b });
  const done = await q(b);
  assert.equal(done.status, 'SUCCESS');
  assert.equal(done.transAmount, '1.00');
  const c = newNo('P');
  await script({ out_trade_no: c, payout: 'fail' });
  assert.equal((await exec('alipay.fund.trans.uni.transfer', t(c))).subCode, 'PAYEE_NOT_EXIST');
  assert.equal((await q(newNo('P'))).subCode, 'ORDER_NOT_EXIST');
  assert.equal((await exec('alipay.fund.trans.uni.transfer', { ...t(newNo('P')), bizScene: 'X' })).subCode, 'ACQ.INVALID_PARAMETER');
});

test('refund notify: refund_fee / gmt_refund / out_biz_no, verified by checkNotifySignV2', async () => {
  const a = newNo('N');
  await precreate(sdkClient(), a);
  await ctl('POST', '/_sim/pay', { out_trade_no: a });
  const rn = newNo('R');
  await exec('alipay.trade.refund', { outTradeNo: a, refundAmount: '3.00', outRequestNo: rn });
  const before = rx.received.length;
  const r = await ctl('POST', '/_sim/notify', { out_trade_no: a, kind: 'valid', event: 'refund', out_refund_no: rn, notify_url: receiverUrl });
  assert.equal(r.status, 200, r.text);
  const got = rx.received[before];
  const params = Object.fromEntries(new URLSearchParams(got.raw.toString('utf8')));
  assert.equal(params.out_biz_no, rn);
  assert.equal(params.refund_fee, '3.00');
  assert.equal(params.trade_status, 'TRADE_SUCCESS');
  assert.ok(sdkClient().checkNotifySignV2(params));
});

test('no sim-internal errors happened', async () => {
  assert.deepEqual(sim.simErrors, []);
});

// ---- certificate mode (公钥证书模式): alipay-sdk in certificate mode is the client ----
test('certificate mode: a real alipay-sdk cert-mode request is accepted; wrong app / root SN refused; alipay_cert_sn; rotation', async () => {
  const ck = await startSim({
    channel: 'alipay',
    options: { alipay: { app_id: APP_ID, cert_mode: '1' } },
    prepareKeys: (dir) => {
      writePem(path.join(dir, 'alipay_private.pem'), alipayKey, 'private');
      writePem(path.join(dir, 'app_public.pem'), appKey, 'public');
    },
  });
  try {
    const dir = path.join(ck.keysDir, 'alipay_cert');
    const read = (n) => fs.readFileSync(path.join(dir, n), 'utf8');
    const client = (o = {}) => new AlipaySdk({
      appId: APP_ID,
      privateKey: privatePem(o.signKey || appKey),
      keyType: 'PKCS8',
      appCertContent: o.appCert || read('app_cert.pem'),
      alipayPublicCertContent: o.alipayCert || read('alipay_cert.pem'),
      alipayRootCertContent: o.rootCert || read('root_cert.pem'),
      gateway: `${ck.base}/gateway.do`,
      timeout: 3000,
    });
    const sdk = client();
    // the SDK's own SNs: the root SN has one part (the EC root of the bundle is skipped)
    assert.match(sdk.config.appCertSn, /^[0-9a-f]{32}$/);
    assert.match(sdk.config.alipayRootCertSn, /^[0-9a-f]{32}$/);
    const otn = newOtn('C');
    const r = await sdk.exec('alipay.trade.precreate', { notifyUrl: receiverUrl,
      bizContent: { outTradeNo: otn, totalAmount: '10.00', subject: '证书模式' } }, { validateSign: true });
    assert.equal(r.code, '10000', JSON.stringify(r));
    // a fund API (certificate mode is required for it), answer verified with the cert's key
    const t = await sdk.exec('alipay.fund.trans.uni.transfer', { bizContent: { outBizNo: newOtn('P'), transAmount: '1.00',
      productCode: 'TRANS_ACCOUNT_NO_PWD', bizScene: 'DIRECT_TRANSFER', orderTitle: 't',
      payeeInfo: { identity: 'payee@example.com', identityType: 'ALIPAY_LOGON_ID' } } }, { validateSign: true });
    assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
    // the answer carries alipay_cert_sn = the SDK's alipayCertSn (hand-built request, same SNs)
    const hb = handBuilt('alipay.trade.query', { out_trade_no: otn },
      { extra: { app_cert_sn: sdk.config.appCertSn, alipay_root_cert_sn: sdk.config.alipayRootCertSn } });
    const post = (params) => fetch(`${ck.base}/gateway.do`, { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
      body: new URLSearchParams(params).toString() }).then((x) => x.text());
    const raw = await post(hb.params);
    assert.equal(JSON.parse(raw).alipay_cert_sn, sdk.config.alipayCertSn, raw);
    assert.equal(JSON.parse(raw).alipay_trade_query_response.code, '10000', raw);
    // public-key-mode request (no SNs) to a certificate-mode app: refused
    const plain = await post(handBuilt('alipay.trade.query', { out_trade_no: otn }).params);
    assert.equal(JSON.parse(plain).alipay_trade_query_response.sub_code, 'isv.app-cert-not-exist');
    // the wrong app certificate (another certificate's SN): refused, signed, nothing created
    const wrongApp = await client({ appCert: read('rotated_cert.pem') }).exec('alipay.trade.precreate', { notifyUrl: receiverUrl,
      bizContent: { outTradeNo: newOtn('W'), totalAmount: '1.00', subject: 's' } }, { validateSign: true });
    assert.equal(wrongApp.subCode, 'isv.app-cert-not-exist', JSON.stringify(wrongApp));
    // the wrong root bundle
    const wrongRoot = await client({ rootCert: read('alipay_cert.pem') }).exec('alipay.trade.query',
      { bizContent: { outTradeNo: otn } }, { validateSign: true });
    assert.equal(wrongRoot.subCode, 'isv.invalid-alipay-root-cert-sn', JSON.stringify(wrongRoot));
    // right SNs, wrong signing key: still the signature check
    const badKey = await client({ signKey: strangerKey }).exec('alipay.trade.query', { bizContent: { outTradeNo: otn } });
    assert.equal(badKey.subCode, 'isv.invalid-signature');
    // rotation: answered under the rotated certificate — the old configuration cannot verify
    // it, an SDK holding the rotated certificate can, and sees its SN
    await ck.script({ out_trade_no: otn, query: ['rotated_cert', 'rotated_cert'] });
    await assert.rejects(sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: otn } }, { validateSign: true }), /验签失败/);
    const rotated = client({ alipayCert: read('rotated_cert.pem') });
    assert.notEqual(rotated.config.alipayCertSn, sdk.config.alipayCertSn);
    const q = await rotated.exec('alipay.trade.query', { bizContent: { outTradeNo: otn } }, { validateSign: true });
    assert.equal(q.code, '10000', JSON.stringify(q));
  } finally {
    await ck.close();
  }
});
