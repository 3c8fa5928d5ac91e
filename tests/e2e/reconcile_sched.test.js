'use strict';
// Keeping a payment's status honest over time (docs/status-keeping.md), on compressed
// clocks: the query schedule (first-query delay, backoff, a restart in the middle),
// not-found ageing, the review queue, ?refresh=true and its limits, close then a late
// success, notify-in checks (trade number, confirm-by-query above an amount, forged →
// alert), and caller notifications: ordered per order, an endpoint down "for hours"
// (the 12 h schedule / 10000) then up, GAVE_UP + alert + re-push with paygwctl.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { Stack, trace } = require('./lib/stack');
const { waitFor, tradeNo, sleep } = require('./lib/util');
const { assertStatus } = require('./lib/assertx');

const FIRST_MS = 800;
const BACKOFF = [300, 600, 2500];
const QUERY_MAX = 3;
// the default caller schedule (15 s … 6 h, ~11.7 h) divided by 10000
const NOTIFY_MS = [2, 2, 3, 18, 60, 180, 360, 1440, 2160];
const CONFIRM_ABOVE = 50000;
let stack;

before(async () => {
  stack = await Stack.start({
    name: 'sched',
    firstQueryDelayMs: FIRST_MS,
    queryBackoffMs: BACKOFF.join(','),
    extraConf: [
      `channel alipay query_max ${QUERY_MAX}`,
      `channel alipay notify_confirm_above ${CONFIRM_ABOVE}`,
      'not_found_alert_s 1',
      `notify_backoff_ms ${NOTIFY_MS.join(',')}`,
      'refresh_rate 1',
      'refresh_burst 2',
      'refresh_min_interval_ms 300',
    ],
  });
}, { timeout: 60000 });

after(async () => {
  if (stack) await stack.stop();
});

const queries = async (no) => stack.simRequests(no, 'alipay.trade.query');
const kinds = (o, kind) => trace.discrepancies(o).filter((d) => d.kind === kind);
const metric = async (name) => {
  const r = await stack.admin('GET', '/metrics');
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(r.text);
  return m ? Number(m[1]) : NaN;
};
const refresh = (no) => stack.api('GET', `/v1/payments/${encodeURIComponent(no)}?refresh=true`);

function paygwctl(args) {
  return new Promise((resolve) => {
    execFile(path.join(stack.build, 'paygwctl'), ['-A', `http://127.0.0.1:${stack.ports.admin}`, '-T', stack.adminToken, ...args],
      { timeout: 10000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

async function sent(prefix, over = {}, script = { query: 'processing' }) {
  const no = tradeNo(prefix);
  await stack.simScript({ out_trade_no: no, ...script });
  assertStatus(await stack.pay(no, over), 202);
  const [pre] = await waitFor(`precreate of ${no}`, () => stack.simRequests(no, 'alipay.trade.precreate'), (l) => l.length >= 1, { timeoutMs: 10000, intervalMs: 50 });
  return { no, sentAt: pre.t };
}

test('schedule: no query before the first-query delay, then the backoff; ?refresh=true has its own limits', { timeout: 30000 }, async () => {
  const { no, sentAt } = await sent('SQ');
  const early = await refresh(no);
  assertStatus(early, 200);
  assert.equal(early.json.status, 'PROCESSING');
  assert.equal(early.json.refresh.result, 'TOO_EARLY', JSON.stringify(early.json.refresh));
  assert.ok(early.json.refresh.retry_after_ms > 0);
  const qs = await waitFor(`three queries of ${no}`, () => queries(no), (l) => l.length >= 3, { timeoutMs: 10000, intervalMs: 50 });
  assert.ok(qs[0].t - sentAt >= FIRST_MS - 30, `first query ${qs[0].t - sentAt} ms after the pay (delay ${FIRST_MS})`);
  assert.ok(qs[1].t - qs[0].t >= BACKOFF[0] - 30, `gap ${qs[1].t - qs[0].t} >= ${BACKOFF[0]}`);
  assert.ok(qs[2].t - qs[1].t >= BACKOFF[1] - 30, `gap ${qs[2].t - qs[1].t} >= ${BACKOFF[1]}`);

  // the next scheduled query is 2.5 s away: a refresh asks now, a second one right
  // after is too soon, and the app's bucket (burst 2, 1/s) runs dry
  await sleep(350);
  const r1 = await refresh(no);
  assert.equal(r1.json.refresh.result, 'QUERYING', JSON.stringify(r1.json.refresh));
  await waitFor('the refresh query', () => queries(no), (l) => l.length >= 4, { timeoutMs: 3000, intervalMs: 50 });
  const r2 = await refresh(no);
  assert.equal(r2.json.refresh.result, 'TOO_SOON', JSON.stringify(r2.json.refresh));
  await sleep(350);
  assert.equal((await refresh(no)).json.refresh.result, 'QUERYING');
  await sleep(350);
  const r4 = await refresh(no);
  assert.equal(r4.json.refresh.result, 'RATE_LIMITED', JSON.stringify(r4.json.refresh));
  assert.ok(r4.json.refresh.retry_after_ms > 0);
  assert.equal(r4.json.status, 'PROCESSING', 'the order as stored comes with the hint');
  const o = await stack.adminOrder(no);
  assert.ok(o.attempts.filter((a) => a.op === 'pay').length === 1);
});

test('restart in the middle of the schedule: the next query comes at the stored time, not earlier, not lost', { timeout: 40000 }, async () => {
  const { no } = await sent('SR');
  const qs = await waitFor(`three queries of ${no}`, () => queries(no), (l) => l.length >= 3, { timeoutMs: 10000, intervalMs: 20 });
  const q3 = qs[2].t;
  await stack.killCore();
  await stack.restartCore();
  const after = await waitFor(`the 4th query of ${no}`, () => queries(no), (l) => l.length >= 4, { timeoutMs: 10000, intervalMs: 50 });
  const gap = after[3].t - q3;
  assert.ok(gap >= BACKOFF[2] - 30, `4th query ${gap} ms after the 3rd: the stored next_query_at is ${BACKOFF[2]} ms after it`);
  assert.ok(gap < BACKOFF[2] + 3000, `4th query ${gap} ms after the 3rd: not lost`);
  assert.equal((await stack.simCounts(no))['alipay.trade.precreate'], 1, 'never resent');
  assert.equal(await stack.paymentStatus(no), 'PROCESSING');
});

test('not-found ages into one alert; an exhausted schedule goes to the review queue (PROCESSING, still queried) until a late answer settles it', { timeout: 40000 }, async () => {
  const nf = await sent('SN', {}, { query: 'not_found' });
  const rv = await sent('SV');
  // not found: an alert once it lasted not_found_alert_s (1 s), raised once
  const o1 = await waitFor(`not-found alert on ${nf.no}`, () => stack.adminOrder(nf.no), (o) => kinds(o, 'not_found_alert').length >= 1, { timeoutMs: 15000, intervalMs: 200 });
  assert.equal(o1.status, 'PROCESSING');
  // review: after QUERY_MAX scheduled queries
  const row = await waitFor(`${rv.no} in the review queue`, async () => {
    const r = await stack.admin('GET', '/admin/review');
    return r.json.review.find((x) => x.out_trade_no === rv.no);
  }, Boolean, { timeoutMs: 15000, intervalMs: 200 });
  assert.equal(row.status, 'PROCESSING');
  assert.ok(row.query_count >= QUERY_MAX);
  const cli = await paygwctl(['review']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, new RegExp(rv.no));
  const before = (await queries(rv.no)).length;
  await waitFor(`${rv.no} still queried`, () => queries(rv.no), (l) => l.length > before, { timeoutMs: 6000, intervalMs: 100 });
  const o2 = await stack.adminOrder(rv.no);
  assert.equal(kinds(o2, 'review').length, 1, 'one review alert');
  assert.equal(o2.status, 'PROCESSING', 'never FAILED for an exhausted schedule');
  assert.equal(kinds(await stack.adminOrder(nf.no), 'not_found_alert').length, 1, 'one not-found alert however many queries');
  // a late answer settles it and takes it out of the queue
  await stack.simPay(rv.no);
  await stack.simScript({ out_trade_no: rv.no, query: 'success' });
  await waitFor(`${rv.no} SUCCESS`, () => stack.paymentStatus(rv.no), (s) => s === 'SUCCESS', { timeoutMs: 8000, intervalMs: 100 });
  const r = await stack.admin('GET', '/admin/review');
  assert.ok(!r.json.review.some((x) => x.out_trade_no === rv.no), 'cleared from the review queue');
});

test('close then a late success: CLOSED only on the channel\'s confirmed close; the late SUCCESS is a discrepancy', { timeout: 30000 }, async () => {
  const { no } = await sent('SC');
  const c = await stack.api('POST', `/v1/payments/${encodeURIComponent(no)}/close`, { body: {} });
  assertStatus(c, 202);
  await waitFor(`${no} CLOSED`, () => stack.paymentStatus(no), (s) => s === 'CLOSED', { timeoutMs: 8000, intervalMs: 100 });
  const o = await stack.adminOrder(no);
  const toClosed = trace.transitions(o).filter((t) => trace.to(t) === 'CLOSED');
  assert.equal(toClosed.length, 1);
  assert.match(toClosed[0].reason, /^close answer/, 'the close op\'s confirmed answer made it CLOSED');
  const ack = await stack.simNotify(no, 'valid', { set_state: false, overrides: { trade_status: 'TRADE_SUCCESS' } });
  assert.equal(ack.body, 'success', 'stored, so acknowledged');
  const o2 = await waitFor(`a discrepancy on ${no}`, () => stack.adminOrder(no), (x) => kinds(x, 'contrary_result').length >= 1, { timeoutMs: 8000 });
  assert.equal(o2.status, 'CLOSED');
  assert.ok(!trace.transitions(o2).some((t) => trace.to(t) === 'SUCCESS'));
});

test('notify in: SUCCESS above notify_confirm_above waits for a query; a wrong trade number is a discrepancy; forged is an alert', { timeout: 30000 }, async () => {
  const { no } = await sent('SB', { amount: CONFIRM_ABOVE + 1 }, { query: ['processing', 'success'] });
  const ack = await stack.simNotify(no, 'valid');
  assert.equal(ack.body, 'success', 'the evidence is stored: acknowledged');
  // the query brought forward answers "processing" first: the notify alone is not final
  await waitFor(`a query of ${no} after the notify`, () => queries(no), (l) => l.length >= 1, { timeoutMs: 5000, intervalMs: 50 });
  await sleep(100);
  assert.equal(await stack.paymentStatus(no), 'PROCESSING');
  await waitFor(`${no} SUCCESS`, () => stack.paymentStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 8000, intervalMs: 100 });
  const o = await stack.adminOrder(no);
  const ok = trace.transitions(o).find((t) => trace.to(t) === 'SUCCESS');
  assert.match(ok.reason, /^query answer/, 'confirmed by the query');
  assert.ok(o.messages.some((m) => /notify_confirm_above/.test(m.note || '')));

  const wrong = await stack.simNotify(no, 'valid', { set_state: false, overrides: { trade_no: '2099010122001400000000000001' } });
  assert.ok(wrong.status > 0);
  await waitFor(`trade_no_mismatch on ${no}`, () => stack.adminOrder(no), (x) => kinds(x, 'trade_no_mismatch').length === 1, { timeoutMs: 5000 });

  // a forged notify names no order we can trust: its alert is a discrepancy without one
  const before = await metric('paygw_discrepancies_total');
  const forged = await stack.simNotify(no, 'forged');
  assert.ok(forged.status >= 400 && forged.status < 500);
  await waitFor('the forged notify\'s alert', () => metric('paygw_discrepancies_total'), (n) => n >= before + 1, { timeoutMs: 5000 });
  assert.equal(await stack.paymentStatus(no), 'SUCCESS');
});

async function paidWithCallerDown(prefix) {
  const { no } = await sent(prefix, {}, { query: 'processing' });
  assert.equal((await stack.simNotify(no, 'valid')).body, 'success');
  await waitFor(`${no} SUCCESS`, () => stack.paymentStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 8000, intervalMs: 100 });
  return no;
}

test('caller notifications of one order go out in order: a refund.succeeded never overtakes the payment.succeeded', { timeout: 30000 }, async () => {
  await stack.sim('POST', '/_sim/caller', { fail_first: 100000, status: 503, clear: true });
  const no = await paidWithCallerDown('SO');
  const rf = tradeNo('SOR');
  assertStatus(await stack.api('POST', '/v1/refunds', { body: { out_refund_no: rf, out_trade_no: no, amount: 100, reason: 't', notify_url: stack.callerUrl } }), 202);
  await waitFor('both notifications queued', async () => (await stack.admin('GET', `/admin/notifications?out_trade_no=${no}`)).json.notifications,
    (l) => l.length === 2 && l.some((n) => n.type === 'refund.succeeded'), { timeoutMs: 10000, intervalMs: 100 });
  await stack.sim('POST', '/_sim/caller', { fail_first: 0 }); // the caller comes back
  const got = await waitFor('both delivered', () => stack.callerNotifications(no),
    (l) => l.filter((n) => n.answered === 200).length === 2, { timeoutMs: 10000, intervalMs: 100 });
  const types = got.map((n) => JSON.parse(n.body).type);
  const lastPay = types.lastIndexOf('payment.succeeded');
  const firstRefund = types.indexOf('refund.succeeded');
  assert.ok(lastPay < firstRefund, `delivery order: ${types.join(', ')}`);
  assert.equal(got.find((n) => JSON.parse(n.body).type === 'payment.succeeded' && n.answered === 200) !== undefined, true);
});

test('caller endpoint down for "hours" (compressed): 10 attempts on the schedule, GAVE_UP + alert, re-pushed with paygwctl once it is up', { timeout: 40000 }, async () => {
  await stack.sim('POST', '/_sim/caller', { fail_first: 100000, status: 500, clear: true });
  const no = await paidWithCallerDown('SD');
  const o = await waitFor(`${no} notification GAVE_UP`, () => stack.adminOrder(no),
    (x) => trace.notifications(x).some((n) => n.state === 'GAVE_UP'), { timeoutMs: 20000, intervalMs: 200 });
  const tries = await stack.callerNotifications(no);
  assert.equal(tries.length, NOTIFY_MS.length + 1, `attempts: ${tries.length}`);
  for (let i = 1; i < tries.length; i++) {
    const gap = tries[i].t - tries[i - 1].t;
    assert.ok(gap >= NOTIFY_MS[i - 1] - 30, `retry ${i} came ${gap} ms after the last, the schedule says ${NOTIFY_MS[i - 1]}`);
  }
  assert.equal(kinds(o, 'notify_gave_up').length, 1, 'an alert');
  const list = await paygwctl(['notify', 'list', '--status', 'gave_up', '--order', no]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`GAVE_UP\\s+${NOTIFY_MS.length + 1}\\s+${no}`));
  await sleep(300);
  assert.equal((await stack.callerNotifications(no)).length, tries.length, 'nothing more after GAVE_UP');

  await stack.sim('POST', '/_sim/caller', { fail_first: 0 });
  const push = await paygwctl(['notify', 'push', '--order', no, '--reason', 'caller is back']);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /queued for delivery now/);
  await waitFor(`${no} delivered after the push`, () => stack.callerNotifications(no), (l) => l.some((n) => n.answered === 200), { timeoutMs: 5000, intervalMs: 100 });
  const after = await stack.admin('GET', `/admin/notifications?out_trade_no=${no}`);
  assert.equal(after.json.notifications[0].state, 'DELIVERED');
  const bad = await paygwctl(['notify', 'push', '999999999']);
  assert.notEqual(bad.code, 0);
});
