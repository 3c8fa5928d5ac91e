'use strict';
// Conservative classification (SPEC §4): anything that is not an explicit answer keeps the
// order PROCESSING — never FAILED — and is never resent; the query scheduler settles it.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Stack } = require('./lib/stack');
const { waitFor, tradeNo, sleep } = require('./lib/util');
const { assertStatus, assertSigned, assertNeverFailed } = require('./lib/assertx');

const FIRST_QUERY_DELAY_MS = 800;
let stack;

before(async () => {
  stack = await Stack.start({
    name: 'conservative',
    firstQueryDelayMs: FIRST_QUERY_DELAY_MS,
    queryBackoffMs: '300,500,1000',
    timeoutMs: 1500,
  });
}, { timeout: 60000 });

after(async () => {
  if (stack) await stack.stop();
});

// Poll the order until pred(status) holds; collects every status seen.
async function watch(no, pred, what, timeoutMs = 15000, seen = []) {
  await waitFor(what, async () => {
    const s = await stack.paymentStatus(no);
    seen.push(s);
    return s;
  }, pred, { timeoutMs, intervalMs: 100 });
  return seen;
}

async function precreateCount(no) {
  return (await stack.simCounts(no))['alipay.trade.precreate'];
}

const UNCLEAR = ['timeout', 'drop', '5xx', 'garbage', 'unknown', 'badsign', 'processing'];

test(`unclear precreate answers (${UNCLEAR.join(', ')}) → PROCESSING, never resent, settled by query`, { timeout: 60000 }, async () => {
  const cases = UNCLEAR.map((b) => ({ b, no: tradeNo(`C${b.replace(/\W/g, '').slice(0, 4).toUpperCase()}`) }));
  for (const c of cases) await stack.simScript({ out_trade_no: c.no, precreate: c.b, query: 'success' });
  for (const c of cases) {
    const r = await stack.pay(c.no);
    assertStatus(r, 202);
    assertSigned(r);
    c.voucher = r.json.voucher_id;
  }
  await Promise.all(cases.map(async (c) => {
    const seen = [];
    // the scheduler's first query proves the precreate outcome was classified
    await waitFor(`${c.b}: first query of ${c.no}`, async () => {
      seen.push(await stack.paymentStatus(c.no));
      return stack.simCounts(c.no);
    }, (x) => x['alipay.trade.query'] >= 1, { timeoutMs: 15000 });
    await sleep(300);
    seen.push(await stack.paymentStatus(c.no));
    assertNeverFailed(seen, c.b);
    assert.equal(seen[seen.length - 1], 'PROCESSING', `${c.b}: status after the first query (sim says WAIT_BUYER_PAY): ${seen.join(',')}`);
    assert.equal(await precreateCount(c.no), 1, `${c.b}: precreate never resent`);

    const v = await stack.voucher(c.voucher, 0);
    assertStatus(v, 200);
    assert.notEqual(v.json.status, 'FAILED', `${c.b}: voucher must not say FAILED: ${v.text}`);
    assert.notEqual(v.json.payment_status, 'FAILED', `${c.b}: ${v.text}`);
    if (c.b === 'badsign') {
      assert.notEqual(v.json.status, 'READY', `a QR code from a response whose signature fails must not be handed out: ${v.text}`);
    }

    // first query not before first_query_delay_ms after the precreate reached the channel
    const [pre] = await stack.simRequests(c.no, 'alipay.trade.precreate');
    const [q1] = await stack.simRequests(c.no, 'alipay.trade.query');
    assert.ok(q1.t - pre.t >= FIRST_QUERY_DELAY_MS - 50, `${c.b}: first query ${q1.t - pre.t} ms after the precreate, configured ${FIRST_QUERY_DELAY_MS}`);

    // the buyer pays; the scheduler's query settles it
    await stack.simPay(c.no);
    await watch(c.no, (s) => s === 'SUCCESS', `${c.b}: ${c.no} SUCCESS after payment`, 15000, seen);
    assertNeverFailed(seen, c.b);
    assert.equal(await precreateCount(c.no), 1, `${c.b}: precreate still sent once`);
    assert.equal((await stack.simCounts(c.no)).bad_sign, 0);
  }));
  // the unknown code stayed PROCESSING and is visible to ops as unmapped
  const m = await stack.admin('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.text, /^paygw_channel_unmapped_codes_total\{channel="alipay",code="40004:ACQ\.SOMETHING_NEW"\} [1-9]\d*$/m,
    `unmapped code counted in /metrics:\n${m.text}`);
});

test('query "order does not exist" keeps the order PROCESSING', { timeout: 30000 }, async () => {
  const no = tradeNo('CNF');
  await stack.simScript({ out_trade_no: no, query: 'not_found' });
  assertStatus(await stack.pay(no), 202);
  const seen = [];
  await waitFor(`three not-found queries of ${no}`, async () => {
    seen.push(await stack.paymentStatus(no));
    return stack.simCounts(no);
  }, (c) => c['alipay.trade.query'] >= 3, { timeoutMs: 15000 });
  seen.push(await stack.paymentStatus(no));
  assertNeverFailed(seen, 'query not_found');
  assert.equal(seen[seen.length - 1], 'PROCESSING');
  assert.equal(await precreateCount(no), 1, 'not found at query time is no reason to resend');
  await stack.simScript({ out_trade_no: no, query: 'success' });
  await stack.simPay(no);
  await watch(no, (s) => s === 'SUCCESS', `${no} SUCCESS`, 15000, seen);
  assertNeverFailed(seen, 'query not_found then success');
  assert.equal(await precreateCount(no), 1);
});

test('unclear query answers never settle an order; only a verified TRADE_SUCCESS does', { timeout: 45000 }, async () => {
  const no = tradeNo('CQ');
  const steps = ['unknown', '5xx', 'garbage', 'badsign', 'drop', 'timeout', 'not_found', 'success'];
  await stack.simScript({ out_trade_no: no, query: steps });
  assertStatus(await stack.pay(no), 202);
  await waitFor(`precreate of ${no}`, () => stack.simCounts(no), (c) => c['alipay.trade.precreate'] >= 1, { timeoutMs: 10000 });
  await stack.simPay(no); // the channel truth is paid from now on; only the last step says so verifiably
  const seen = [];
  await waitFor(`${no} settles`, async () => {
    const s = await stack.paymentStatus(no);
    const c = await stack.simCounts(no); // read after the status: count now >= count then
    seen.push(s);
    if (s === 'SUCCESS' && c['alipay.trade.query'] < steps.length) {
      throw Object.assign(new Error(`${no} became SUCCESS after only ${c['alipay.trade.query']} queries (an unverified answer was trusted)`), { fatal: true });
    }
    return s;
  }, (s) => s === 'SUCCESS', { timeoutMs: 40000, intervalMs: 100 });
  assertNeverFailed(seen, 'unclear queries');
  const qs = await stack.simRequests(no, 'alipay.trade.query');
  assert.ok(qs.length >= steps.length, `queries: ${qs.map((q) => q.behaviour).join(',')}`);
  assert.equal(await precreateCount(no), 1);
});

test('query with a badly signed TRADE_SUCCESS keeps PROCESSING', { timeout: 30000 }, async () => {
  const no = tradeNo('CBS');
  await stack.simScript({ out_trade_no: no, query: 'badsign' });
  assertStatus(await stack.pay(no), 202);
  await waitFor(`precreate of ${no}`, () => stack.simCounts(no), (c) => c['alipay.trade.precreate'] >= 1, { timeoutMs: 10000 });
  await stack.simPay(no);
  const seen = [];
  await waitFor(`three badly signed answers to ${no}`, async () => {
    seen.push(await stack.paymentStatus(no));
    return stack.simCounts(no);
  }, (c) => c['alipay.trade.query'] >= 3, { timeoutMs: 15000 });
  seen.push(await stack.paymentStatus(no));
  assert.ok(seen.every((s) => s === 'PROCESSING'), `only PROCESSING allowed, saw ${[...new Set(seen)].join(',')}`);
  await stack.simScript({ out_trade_no: no, query: 'success' });
  await watch(no, (s) => s === 'SUCCESS', `${no} SUCCESS once verified`);
});

test('a definitive precreate failure → FAILED, voucher FAILED with a reason, sent once', { timeout: 30000 }, async () => {
  const no = tradeNo('CF');
  await stack.simScript({ out_trade_no: no, precreate: 'fail' });
  const r = await stack.pay(no);
  assertStatus(r, 202);
  await watch(no, (s) => s === 'FAILED', `${no} FAILED`);
  const v = await stack.voucher(r.json.voucher_id, 5000);
  assertStatus(v, 200);
  assertSigned(v);
  assert.equal(v.json.status, 'FAILED', v.text);
  assert.equal(v.json.payment_status, 'FAILED');
  assert.equal(typeof v.json.reason, 'string');
  assert.ok(v.json.reason.length > 0, 'the reason is not empty');
  await sleep(1500);
  assert.equal(await precreateCount(no), 1);
  assert.equal(await stack.paymentStatus(no), 'FAILED', 'final states never change');
  // a caller notification reports the failure
  const list = await waitFor('payment.failed notification', () => stack.callerNotifications(no), (l) => l.length >= 1, { timeoutMs: 10000 });
  assert.equal(JSON.parse(list[0].body).type, 'payment.failed');
});

test('query TRADE_CLOSED (closed unpaid) is final: FAILED or CLOSED, never SUCCESS', { timeout: 30000 }, async () => {
  const no = tradeNo('CCL');
  await stack.simScript({ out_trade_no: no, query: ['processing', 'fail'] });
  assertStatus(await stack.pay(no), 202);
  const seen = await watch(no, (s) => s === 'FAILED' || s === 'CLOSED', `${no} final after TRADE_CLOSED`);
  assert.ok(!seen.includes('SUCCESS'));
  assert.ok((await stack.simCounts(no))['alipay.trade.query'] >= 2, 'not final before the TRADE_CLOSED answer');
  assert.equal(await precreateCount(no), 1);
});

test('paygwd sent nothing the channel could not verify', async () => {
  assert.equal((await stack.simCounts()).bad_sign, 0);
});
