'use strict';
// Refunds and payouts (SPEC §3.4, docs/refunds-payouts.md) over nginx + paygwd + the
// simulator: refunds on wechatpay_v2 (its refund answer is "accepted", refundquery settles
// it), payouts on wechatpay_v3 (a transfer batch is accepted, the detail query settles it).
// The refund sum never exceeds the payment (also under concurrency), a refund / payout whose
// send timed out is never sent again and is settled by its query, idempotent replays and
// 409s, refunds of unpaid payments refused, caller notifications signed.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Stack } = require('./lib/stack');
const { waitFor, tradeNo, sleep } = require('./lib/util');
const { assertStatus, assertError, assertSigned, assertNotificationSigned } = require('./lib/assertx');

const V2 = { appid: 'wxd930ea5d5a258f4f', mch_id: '10000100' };
const V3 = { mchid: '1230000109', appid: 'wxd678efh567hg6787' };
let stack;

function channelLines(name, s, params) {
  const base = [
    `channel ${name} endpoint ${s.simBase}/${name}`,
    `channel ${name} first_query_delay_ms 300`,
    `channel ${name} query_backoff_ms 300,500,1000`,
    `channel ${name} connect_timeout_ms 500`,
    `channel ${name} timeout_ms 1500`,
  ];
  return base.concat(Object.entries(params).map(([k, v]) => `channel ${name} param ${k} ${v}`));
}

before(async () => {
  stack = await Stack.start({
    name: 'refunds',
    // the sim made its wechatpay keys at start; paygwd's keystore gets our halves
    beforeCore(s) {
      const sim = (ch, f) => fs.readFileSync(path.join(s.dir, 'sim', ch, f), 'utf8').trim();
      const key = (f, text) => fs.writeFileSync(path.join(s.dir, 'keys', f), `${text}\n`, { mode: 0o600 });
      key('wx_api_key.secret', sim('wechatpay_v2', 'api_key.txt'));
      key('wx3_merchant_private.pem', sim('wechatpay_v3', 'merchant_private.pem'));
      key('wx3_platform_public.pem', sim('wechatpay_v3', 'platform_public.pem'));
      key('wx3_apiv3.secret', sim('wechatpay_v3', 'apiv3_key.txt'));
      s.v3serials = { merchant: sim('wechatpay_v3', 'merchant_serial.txt'), platform: sim('wechatpay_v3', 'platform_serial.txt') };
    },
    extraConf: (s) => [
      'refresh_min_interval_ms 300',
      ...channelLines('wechatpay_v2', s, { ...V2, api_key: 'wx_api_key', sign_type: 'MD5', spbill_create_ip: '127.0.0.1' }),
      ...channelLines('wechatpay_v3', s, {
        ...V3, app_appid: 'wx8888888888888888', merchant_private_key: 'wx3_merchant_private',
        merchant_serial_no: s.v3serials.merchant, platform_cert: 'wx3_platform_public',
        platform_serial: s.v3serials.platform, api_v3_key: 'wx3_apiv3',
      }),
    ],
  });
}, { timeout: 90000 });

after(async () => {
  if (stack) await stack.stop();
});

const sim = (p, body) => stack.sim('POST', p, body);
const script = (channel, key, s) => sim('/_sim/script', { channel, out_trade_no: key, ...s });

// a SUCCESS payment of `amount` at wechatpay_v2
async function paidPayment(amount = 1000) {
  const no = tradeNo('RP');
  const r = await stack.pay(no, { method: 'wechat.native', channel: 'wechatpay_v2', amount });
  assertStatus(r, 202);
  await waitFor(`${no} prepay`, () => stack.voucher(r.json.voucher_id, 3000), (v) => v.json && v.json.status === 'READY', { timeoutMs: 15000 });
  await sim('/_sim/pay', { channel: 'wechatpay_v2', out_trade_no: no });
  await waitFor(`${no} SUCCESS`, () => stack.paymentStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 20000, intervalMs: 200 });
  return no;
}

function refundBody(tradeNoOf, no, amount, over = {}) {
  return { out_refund_no: no, out_trade_no: tradeNoOf, amount, reason: 'test', notify_url: stack.callerUrl, ...over };
}
const refund = (body) => stack.api('POST', '/v1/refunds', { body });
const getRefund = (no) => stack.api('GET', `/v1/refunds/${encodeURIComponent(no)}`);
const refundStatus = async (no) => { const r = await getRefund(no); return r.json ? r.json.status : `HTTP ${r.status}`; };
// the simulator's request log names each request by the channel's API
const LABEL = { refund: 'secapi.pay.refund', refund_query: 'pay.refundquery', payout: 'v3.transfer.batches', payout_query: 'v3.transfer.batches.detail' };
const isOp = (op) => (q) => q.method === LABEL[op];
const simRequests = async (channel, key) => (await stack.sim('GET', `/_sim/requests?channel=${channel}&out_trade_no=${encodeURIComponent(key)}`)).requests;

test('refund: accepted, refund_query settles it SUCCESS, signed answers and a signed refund.succeeded', { timeout: 60000 }, async () => {
  const pay = await paidPayment();
  const no = tradeNo('RF');
  const r = await refund(refundBody(pay, no, 400));
  assertStatus(r, 202);
  assertSigned(r);
  assert.equal(r.json.out_refund_no, no);
  assert.equal(r.json.status, 'ACCEPTED');
  await waitFor(`${no} SUCCESS`, () => refundStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 20000, intervalMs: 200 });
  const g = await getRefund(no);
  assertSigned(g);
  assert.equal(g.json.amount, 400);
  assert.equal(g.json.channel, 'wechatpay_v2');
  assert.ok(g.json.channel_refund_no, JSON.stringify(g.json));
  assert.deepEqual(g.json.attempts.map((a) => a.op).slice(0, 2), ['refund', 'refund_query']);
  // exactly one refund request reached the channel
  assert.equal((await simRequests('wechatpay_v2', no)).filter(isOp('refund')).length, 1);
  const list = await waitFor('refund.succeeded delivered', () => stack.callerNotifications(pay),
    (l) => l.some((n) => JSON.parse(n.body).type === 'refund.succeeded' && n.answered === 200), { timeoutMs: 20000, intervalMs: 200 });
  // the admin trace of the payment shows its refund and the transitions
  const tr = await stack.adminOrder(pay);
  const rf = tr.refunds.find((x) => x.out_refund_no === no);
  assert.equal(rf.status, 'SUCCESS');
  assert.deepEqual(JSON.parse(rf.transitions).map((t) => t.to), ['ACCEPTED', 'PROCESSING', 'SUCCESS']);
  const n = list.find((x) => JSON.parse(x.body).type === 'refund.succeeded');
  assertNotificationSigned(stack.apps.A1.secret, n);
  const ev = JSON.parse(n.body);
  assert.equal(ev.out_refund_no, no);
  assert.equal(ev.status, 'SUCCESS');
  assert.equal(ev.amount, 400);
});

test('partial refunds up to the total; the one that would exceed it is refused and nothing is sent', { timeout: 60000 }, async () => {
  const pay = await paidPayment(1000);
  const a = tradeNo('RA');
  const b = tradeNo('RB');
  const c = tradeNo('RC');
  assertStatus(await refund(refundBody(pay, a, 600)), 202);
  assertStatus(await refund(refundBody(pay, b, 400)), 202);
  const x = await refund(refundBody(pay, c, 1));
  assertError(x, 409, 'REFUND_EXCEEDS_PAYMENT');
  assert.equal((await getRefund(c)).status, 404);
  await sleep(500);
  assert.equal((await simRequests('wechatpay_v2', c)).length, 0);
  for (const no of [a, b]) await waitFor(`${no} SUCCESS`, () => refundStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 20000, intervalMs: 200 });
});

test('concurrent refunds cannot exceed the payment', { timeout: 60000 }, async () => {
  const pay = await paidPayment(1000);
  const nos = Array.from({ length: 8 }, () => tradeNo('RX'));
  const rs = await Promise.all(nos.map((no) => refund(refundBody(pay, no, 300))));
  const ok = rs.filter((r) => r.status === 202);
  assert.equal(ok.length, 3, rs.map((r) => `${r.status} ${r.text}`).join('\n'));
  for (const r of rs.filter((q) => q.status !== 202)) assertError(r, 409, 'REFUND_EXCEEDS_PAYMENT');
});

test('refund answer unknown -> PROCESSING -> refund_query SUCCESS; a refund timeout is never resent', { timeout: 60000 }, async () => {
  const pay = await paidPayment();
  const u = tradeNo('RU');
  await script('wechatpay_v2', u, { refund: 'unknown' });
  assertStatus(await refund(refundBody(pay, u, 100)), 202);
  await waitFor(`${u} SUCCESS`, () => refundStatus(u), (s) => s === 'SUCCESS', { timeoutMs: 20000, intervalMs: 200 });

  const t = tradeNo('RT');
  await script('wechatpay_v2', t, { refund: 'timeout' });
  assertStatus(await refund(refundBody(pay, t, 100)), 202);
  // the send's outcome is unknown (PROCESSING); refund_query settles it, never a resend
  const done = await waitFor(`${t} settled`, () => getRefund(t), (r) => r.json && r.json.status === 'SUCCESS', { timeoutMs: 20000, intervalMs: 200 });
  assert.deepEqual(done.json.attempts.filter((a) => a.op === 'refund').map((a) => a.state), ['UNKNOWN']);
  assert.ok(done.json.attempts.some((a) => a.op === 'refund_query' && a.class === 'SUCCESS'));
  await sleep(1000);
  const reqs = await simRequests('wechatpay_v2', t);
  assert.equal(reqs.filter(isOp('refund')).length, 1, 'the refund was sent once');
});

test('refund idempotency: the same body answers the same, another body 409', { timeout: 60000 }, async () => {
  const pay = await paidPayment();
  const no = tradeNo('RI');
  const body = refundBody(pay, no, 100);
  const r1 = await refund(body);
  assertStatus(r1, 202);
  const r2 = await refund(body);
  assertStatus(r2, 202);
  assert.equal(r2.json.out_refund_no, no);
  assertError(await refund({ ...body, amount: 101 }), 409, 'IDEMPOTENCY_CONFLICT');
  await waitFor(`${no} SUCCESS`, () => refundStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 20000, intervalMs: 200 });
  assert.equal((await simRequests('wechatpay_v2', no)).filter(isOp('refund')).length, 1);
});

test('refunds of an unknown or unpaid payment are refused; bad bodies 400', { timeout: 60000 }, async () => {
  assertError(await refund(refundBody(tradeNo('NOPE'), tradeNo('RN'), 100)), 400, 'PAYMENT_NOT_FOUND');
  const unpaid = tradeNo('UP');
  assertStatus(await stack.pay(unpaid, { method: 'wechat.native', channel: 'wechatpay_v2' }), 202);
  const no = tradeNo('RN');
  assertError(await refund(refundBody(unpaid, no, 100)), 409, 'PAYMENT_NOT_REFUNDABLE');
  assert.equal((await getRefund(no)).status, 404);
  assertError(await refund({ out_refund_no: tradeNo('RN'), out_trade_no: unpaid, amount: -1 }), 400, 'INVALID_PARAMETER');
  assertError(await stack.api('GET', '/v1/refunds/NOSUCHREFUND'), 404, 'NOT_FOUND');
});

test('a verified refund notify settles the refund; a contrary one afterwards is a discrepancy; a forged one changes nothing', { timeout: 60000 }, async () => {
  const pay = await paidPayment();
  const no = tradeNo('RW');
  await script('wechatpay_v2', no, { refund_query: 'processing' });
  assertStatus(await refund(refundBody(pay, no, 300)), 202);
  await waitFor(`${no} queried`, () => getRefund(no), (r) => r.json && r.json.attempts.some((a) => a.op === 'refund_query'), { timeoutMs: 20000, intervalMs: 200 });
  assert.equal(await refundStatus(no), 'PROCESSING');
  const f = await sim('/_sim/notify', { channel: 'wechatpay_v2', out_trade_no: pay, kind: 'forged', event: 'refund', out_refund_no: no });
  assert.notEqual(f.status, 200);
  assert.equal(await refundStatus(no), 'PROCESSING');
  const v = await sim('/_sim/notify', { channel: 'wechatpay_v2', out_trade_no: pay, kind: 'valid', event: 'refund', out_refund_no: no });
  assert.equal(v.status, 200, JSON.stringify(v));
  assert.equal(await refundStatus(no), 'SUCCESS');
  const c = await sim('/_sim/notify', { channel: 'wechatpay_v2', out_trade_no: pay, kind: 'contrary', event: 'refund', out_refund_no: no });
  assert.equal(c.status, 200, JSON.stringify(c));
  assert.equal(await refundStatus(no), 'SUCCESS');
  const tr = await stack.adminOrder(pay);
  assert.ok(tr.discrepancies.some((d) => d.kind === 'refund_contrary_result' && d.detail.includes(no)), JSON.stringify(tr.discrepancies));
});

test('?refresh=true on a refund: never before its first query is due, then a query now, then too soon; FINAL once settled', { timeout: 60000 }, async () => {
  const pay = await paidPayment();
  const no = tradeNo('RR');
  await script('wechatpay_v2', no, { refund_query: 'processing' });
  assertStatus(await refund(refundBody(pay, no, 200)), 202);
  const refresh = () => stack.api('GET', `/v1/refunds/${encodeURIComponent(no)}?refresh=true`);
  const early = await refresh();
  assertStatus(early, 200);
  assertSigned(early);
  assert.ok(['NOT_SENT_YET', 'TOO_EARLY'].includes(early.json.refresh.result), JSON.stringify(early.json.refresh));
  if (early.json.refresh.result === 'TOO_EARLY') assert.ok(early.json.refresh.retry_after_ms > 0 && early.json.refresh.retry_after_ms <= 300);
  // the schedule queries at +300, +800, +1800, +2800 ms; after the third the next is 1 s away
  const qs = await waitFor(`three refund queries of ${no}`, async () => (await simRequests('wechatpay_v2', no)).filter(isOp('refund_query')),
    (l) => l.length >= 3, { timeoutMs: 10000, intervalMs: 50 });
  await sleep(350);
  const r1 = await refresh();
  assert.equal(r1.json.refresh.result, 'QUERYING', JSON.stringify(r1.json.refresh));
  assert.equal(r1.json.status, 'PROCESSING');
  const after = await waitFor('the refresh query', async () => (await simRequests('wechatpay_v2', no)).filter(isOp('refund_query')),
    (l) => l.length >= 4, { timeoutMs: 3000, intervalMs: 20 });
  assert.ok(after[3].t - qs[2].t < 900, `4th query ${after[3].t - qs[2].t} ms after the 3rd: the refresh asked, not the schedule (1000 ms)`);
  const r2 = await refresh();
  assert.equal(r2.json.refresh.result, 'TOO_SOON', JSON.stringify(r2.json.refresh));
  assert.ok(r2.json.refresh.retry_after_ms > 0 && r2.json.refresh.retry_after_ms <= 300);
  // the channel settles it; a refresh of a final refund asks nobody
  await script('wechatpay_v2', no, { refund_query: 'success' });
  await waitFor(`${no} SUCCESS`, () => refundStatus(no), (st) => st === 'SUCCESS', { timeoutMs: 20000, intervalMs: 200 });
  const n = (await simRequests('wechatpay_v2', no)).filter(isOp('refund_query')).length;
  const fin = await refresh();
  assert.equal(fin.json.refresh.result, 'FINAL');
  await sleep(400);
  assert.equal((await simRequests('wechatpay_v2', no)).filter(isOp('refund_query')).length, n, 'no query after FINAL');
  assert.deepEqual((await simRequests('wechatpay_v2', no)).filter(isOp('refund')).length, 1, 'the refund itself was sent once');
});

// ------------------------------------------------------------------ payouts

function payoutBody(no, over = {}) {
  return {
    out_payout_no: no, amount: 500, currency: 'CNY', notify_url: stack.callerUrl, channel: 'wechatpay_v3',
    payee: { account_no: '6222020200112233', account_name: 'Zhang San', bank_code: 'ICBC' }, ...over,
  };
}
const payout = (body) => stack.api('POST', '/v1/payouts', { body });
const getPayout = (no) => stack.api('GET', `/v1/payouts/${encodeURIComponent(no)}`);
const payoutStatus = async (no) => { const r = await getPayout(no); return r.json ? r.json.status : `HTTP ${r.status}`; };

test('payout: accepted at the channel that offers it, payout_query settles SUCCESS, account masked', { timeout: 60000 }, async () => {
  const no = tradeNo('PO');
  const r = await payout(payoutBody(no));
  assertStatus(r, 202);
  assertSigned(r);
  assert.equal(r.json.status, 'ACCEPTED');
  await waitFor(`${no} SUCCESS`, () => payoutStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 20000, intervalMs: 200 });
  const g = await getPayout(no);
  assert.equal(g.json.channel, 'wechatpay_v3');
  assert.equal(g.json.payee.account_no, '622202******2233');
  assert.ok(!g.text.includes('6222020200112233'));
  assert.deepEqual(g.json.attempts.map((a) => a.op).slice(0, 2), ['payout', 'payout_query']);
  // idempotent replay and conflict
  assertStatus(await payout(payoutBody(no)), 202);
  assertError(await payout(payoutBody(no, { amount: 501 })), 409, 'IDEMPOTENCY_CONFLICT');
  // the caller's payout.succeeded, signed (payout events carry no out_trade_no)
  const list = await waitFor('payout.succeeded delivered', () => stack.callerNotifications(), (l) => l.some((n) => {
    const b = JSON.parse(n.body);
    return b.type === 'payout.succeeded' && b.out_payout_no === no && n.answered === 200;
  }), { timeoutMs: 20000, intervalMs: 200 });
  const n = list.find((x) => JSON.parse(x.body).out_payout_no === no);
  assertNotificationSigned(stack.apps.A1.secret, n);
  // the account number is in no message paygwd recorded, nor in its log
  const { execFileSync } = require('node:child_process');
  const msgs = execFileSync('sqlite3', [stack.dbFile, 'SELECT body FROM messages WHERE op LIKE \'payout%\''], { encoding: 'utf8' });
  assert.ok(msgs.length > 0);
  assert.ok(!msgs.includes('6222020200112233'), 'account_no unmasked in messages');
  assert.ok(!fs.readFileSync(path.join(stack.logs, 'paygwd.log'), 'utf8').includes('6222020200112233'));
});

test('?refresh=true on a payout asks payout_query now, within the same limits', { timeout: 60000 }, async () => {
  const no = tradeNo('PR');
  await script('wechatpay_v3', no, { payout_query: 'processing' });
  assertStatus(await payout(payoutBody(no)), 202);
  const refresh = () => stack.api('GET', `/v1/payouts/${encodeURIComponent(no)}?refresh=true`);
  const qs = await waitFor(`three payout queries of ${no}`, async () => (await simRequests('wechatpay_v3', no)).filter(isOp('payout_query')),
    (l) => l.length >= 3, { timeoutMs: 10000, intervalMs: 50 });
  await sleep(350);
  const r1 = await refresh();
  assertSigned(r1);
  assert.equal(r1.json.refresh.result, 'QUERYING', JSON.stringify(r1.json.refresh));
  assert.equal(r1.json.payee.account_no, '622202******2233', 'the refresh answer is masked like any read');
  const after = await waitFor('the refresh query', async () => (await simRequests('wechatpay_v3', no)).filter(isOp('payout_query')),
    (l) => l.length >= 4, { timeoutMs: 3000, intervalMs: 20 });
  assert.ok(after[3].t - qs[2].t < 900, `4th query ${after[3].t - qs[2].t} ms after the 3rd: the refresh asked`);
  assert.equal((await refresh()).json.refresh.result, 'TOO_SOON');
  assert.equal((await simRequests('wechatpay_v3', no)).filter(isOp('payout')).length, 1, 'the payout itself was sent once');
  assert.equal(await payoutStatus(no), 'PROCESSING');
});

test('a payout notify: a forged one is refused; a verified "batch finished" settles nothing by itself but makes payout_query due now', { timeout: 60000 }, async () => {
  const no = tradeNo('PB');
  await script('wechatpay_v3', no, { payout_query: 'processing' });
  assertStatus(await payout(payoutBody(no)), 202);
  const queries = async () => (await simRequests('wechatpay_v3', no)).filter(isOp('payout_query'));
  const qs = await waitFor(`three payout queries of ${no}`, queries, (l) => l.length >= 3, { timeoutMs: 10000, intervalMs: 50 });
  const notifyUrl = `http://127.0.0.1:${stack.ports.nginx}/notify/wechatpay_v3`;
  const forged = await sim('/_sim/wechatpay_v3/payout_notify', { out_batch_no: no, notify_url: notifyUrl, kind: 'forged' });
  // refused with the pack's failure ack (WeChat v3: any 4xx/5xx means "not taken")
  assert.ok(forged.status >= 400, JSON.stringify(forged));
  assert.equal(await payoutStatus(no), 'PROCESSING');
  // the channel now has the detail's outcome; the batch notify only says "done"
  await script('wechatpay_v3', no, { payout_query: 'success' });
  const t0 = Date.now();
  const valid = await sim('/_sim/wechatpay_v3/payout_notify', { out_batch_no: no, notify_url: notifyUrl });
  assert.ok(valid.status === 200 || valid.status === 204, JSON.stringify(valid));
  const done = await waitFor(`${no} SUCCESS`, () => getPayout(no), (r) => r.json && r.json.status === 'SUCCESS', { timeoutMs: 5000, intervalMs: 20 });
  const after = await queries();
  const settling = after[after.length - 1];
  // the schedule's next query was up to 1 s after the 3rd; the hint made it due at once
  assert.ok(settling.t - t0 < 600, `the settling payout_query came ${settling.t - t0} ms after the notify`);
  assert.ok(after.length <= qs.length + 2, 'one query brought forward, not a burst');
  assert.ok(done.json.attempts.some((a) => a.op === 'payout_query' && a.class === 'SUCCESS'), 'the query settled it, not the notify');
  assert.equal((await simRequests('wechatpay_v3', no)).filter(isOp('payout')).length, 1, 'the payout was sent once');
  // the forged notify was recorded as such and changed nothing
  const { execFileSync } = require('node:child_process');
  const forgedRows = execFileSync('sqlite3', [stack.dbFile, "SELECT COUNT(*) FROM discrepancies WHERE kind = 'notify_forged'"], { encoding: 'utf8' });
  assert.ok(Number(forgedRows) >= 1, 'the forged payout notify was recorded');
});

test('payout timeout stays PROCESSING, is never resent, and payout_query settles it', { timeout: 60000 }, async () => {
  const no = tradeNo('PT');
  await script('wechatpay_v3', no, { payout: 'timeout' });
  assertStatus(await payout(payoutBody(no, { payee: { account_no: '12345678', account_name: 'Li Si', bank_code: 'ABC' } })), 202);
  const done = await waitFor(`${no} settled`, () => getPayout(no), (r) => r.json && r.json.status === 'SUCCESS', { timeoutMs: 20000, intervalMs: 200 });
  assert.deepEqual(done.json.attempts.filter((a) => a.op === 'payout').map((a) => a.state), ['UNKNOWN']);
  assert.ok(done.json.attempts.some((a) => a.op === 'payout_query' && a.class === 'SUCCESS'));
  assert.equal(done.json.payee.account_no, '****5678');
  await sleep(1000);
  const reqs = await simRequests('wechatpay_v3', no);
  assert.equal(reqs.filter(isOp('payout')).length, 1, 'the payout was sent once');
});

test('payout without a channel goes to the first configured channel offering payout in its currency', { timeout: 30000 }, async () => {
  const no = tradeNo('PD');
  const body = payoutBody(no);
  delete body.channel;
  assertStatus(await payout(body), 202);
  // paygwd.conf lists alipay first, and the alipay pack offers payout in CNY
  const g = await waitFor(`${no} sent`, () => getPayout(no), (r) => r.json && r.json.status !== 'ACCEPTED', { timeoutMs: 10000, intervalMs: 100 });
  assert.equal(g.json.channel, 'alipay');
  assert.notEqual(g.json.status, 'FAILED');
});

test('payout with no channel offering it is refused, nothing stored', { timeout: 30000 }, async () => {
  const no = tradeNo('PN');
  assertError(await payout(payoutBody(no, { currency: 'USD' })), 503, 'NO_CHANNEL_AVAILABLE');
  assertError(await payout(payoutBody(no, { channel: 'wechatpay_v2' })), 503, 'NO_CHANNEL_AVAILABLE');
  assert.equal((await getPayout(no)).status, 404);
});
