'use strict';
// Alipay async notifies through nginx → paygwd: forged ones change nothing, duplicates apply
// once, a contrary notify after a final status records a discrepancy and changes nothing.
// The query scheduler is pushed far out (first_query_delay_ms 60 s) so that every change
// seen here comes from the notify path.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Stack, trace } = require('./lib/stack');
const { waitFor, tradeNo, sleep } = require('./lib/util');
const { assertStatus, assertNotificationSigned } = require('./lib/assertx');
const { execFileSync } = require('node:child_process');
const { request } = require('./lib/http');

let stack;

before(async () => {
  stack = await Stack.start({ name: 'notify', firstQueryDelayMs: 60000, queryBackoffMs: '60000' });
}, { timeout: 60000 });

after(async () => {
  if (stack) await stack.stop();
});

// A sent order (PROCESSING, voucher READY) whose trade exists at the sim.
async function sentOrder(prefix) {
  const no = tradeNo(prefix);
  const r = await stack.pay(no);
  assertStatus(r, 202);
  const v = await stack.voucher(r.json.voucher_id, 5000);
  assert.equal(v.json && v.json.status, 'READY', `voucher: ${v.text}`);
  assert.equal(await stack.paymentStatus(no), 'PROCESSING');
  return { no, voucher_id: r.json.voucher_id };
}

async function stays(no, status, ms = 1500) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const s = await stack.paymentStatus(no);
    assert.equal(s, status, `${no} must stay ${status}`);
    await sleep(100);
  }
}

test('forged notify (wrong key) → not acknowledged as success, order unchanged', { timeout: 30000 }, async () => {
  const { no } = await sentOrder('NF');
  const ack = await stack.simNotify(no, 'forged');
  assert.ok(ack.status >= 400 && ack.status < 500, `forged notify ack must be 4xx, got ${ack.status} ${JSON.stringify(ack.body)}`);
  assert.notEqual(ack.body, 'success');
  await stays(no, 'PROCESSING');
  const o = await stack.adminOrder(no);
  assert.ok(!trace.transitions(o).some((t) => trace.to(t) === 'SUCCESS'), 'no transition to SUCCESS');
  assert.equal((await stack.callerNotifications(no)).length, 0, 'no caller notification');
});

test('genuinely signed notify whose amount does not match the order does not settle it', { timeout: 30000 }, async () => {
  const { no } = await sentOrder('NA');
  const ack = await stack.simNotify(no, 'valid', { set_state: false, overrides: { total_amount: '0.01', receipt_amount: '0.01', buyer_pay_amount: '0.01', invoice_amount: '0.01' } });
  assert.ok(ack.status > 0, `notify reached paygwd: ${JSON.stringify(ack)}`);
  await stays(no, 'PROCESSING', 2000);
  assert.equal((await stack.callerNotifications(no)).length, 0);
});

test('genuinely signed notify for another Alipay app_id does not settle the order', { timeout: 30000 }, async () => {
  const { no } = await sentOrder('NI');
  const ack = await stack.simNotify(no, 'valid', { set_state: false, overrides: { app_id: '2021000000009999', auth_app_id: '2021000000009999' } });
  assert.ok(ack.status > 0, `notify reached paygwd: ${JSON.stringify(ack)}`);
  await stays(no, 'PROCESSING', 2000);
  assert.equal((await stack.callerNotifications(no)).length, 0);
});

let settled; // {no, voucher_id}

test('valid notify then its exact duplicate → one transition to SUCCESS, one caller notification', { timeout: 30000 }, async () => {
  const o1 = await sentOrder('ND');
  const { no } = o1;
  const ack1 = await stack.simNotify(no, 'valid');
  assert.equal(ack1.status, 200);
  assert.equal(ack1.body, 'success');
  await waitFor(`${no} SUCCESS`, () => stack.paymentStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 10000 });
  const ack2 = await stack.simNotify(no, 'duplicate');
  assert.equal(ack2.status, 200, 'a duplicate is acknowledged (else Alipay retries for a day)');
  assert.equal(ack2.body, 'success');
  const ack3 = await stack.simNotify(no, 'duplicate');
  assert.equal(ack3.body, 'success');
  await sleep(2500);
  assert.equal(await stack.paymentStatus(no), 'SUCCESS');
  const o = await stack.adminOrder(no);
  const toSuccess = trace.transitions(o).filter((t) => trace.to(t) === 'SUCCESS');
  assert.equal(toSuccess.length, 1, `transitions: ${JSON.stringify(trace.transitions(o))}`);
  const notes = await stack.callerNotifications(no);
  assert.equal(notes.length, 1, `caller notifications: ${notes.length}`);
  assertNotificationSigned(stack.apps.A1.secret, notes[0]);
  assert.equal(JSON.parse(notes[0].body).type, 'payment.succeeded');
  settled = o1;
});

test('contrary notify (validly signed TRADE_CLOSED) after SUCCESS → stays SUCCESS, discrepancy recorded', { timeout: 30000 }, async () => {
  assert.ok(settled, 'the previous test settled an order');
  const { no } = settled;
  const before = trace.discrepancies(await stack.adminOrder(no)).length;
  const ack = await stack.simNotify(no, 'contrary');
  assert.ok(ack.status > 0, `notify reached paygwd: ${JSON.stringify(ack)}`);
  const o = await waitFor(`a discrepancy on ${no}`, () => stack.adminOrder(no), (x) => trace.discrepancies(x).length > before, { timeoutMs: 10000 });
  await stays(no, 'SUCCESS', 1500);
  const p = await stack.payment(no);
  assert.equal(p.json.status, 'SUCCESS');
  assert.equal(trace.transitions(o).filter((t) => trace.to(t) === 'SUCCESS').length, 1);
  assert.ok(!trace.transitions(o).some((t) => ['FAILED', 'CLOSED'].includes(trace.to(t))), 'no transition away from SUCCESS');
  const notes = await stack.callerNotifications(no);
  assert.equal(notes.length, 1, 'no new caller notification for contrary evidence');
});

test('a flood of forged notifies naming no order: each refused, counted, but one alert per 10 s', { timeout: 30000 }, async () => {
  const metric = async (name) => {
    const r = await stack.admin('GET', '/metrics');
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(r.text);
    return m ? Number(m[1]) : NaN;
  };
  const alerts = () => Number(execFileSync('sqlite3', [stack.dbFile,
    "SELECT COUNT(*) FROM discrepancies WHERE kind = 'notify_forged' AND order_id IS NULL"], { encoding: 'utf8' }).trim());
  const rejected0 = await metric('paygw_notifies_rejected_total');
  const alerts0 = alerts();
  for (let i = 0; i < 20; i++) {
    // a "paid" notify for an order we never stored, with a made-up signature
    const body = `out_trade_no=${tradeNo('NX')}&trade_status=TRADE_SUCCESS&total_amount=10.00&sign_type=RSA2&sign=${'A'.repeat(344)}`;
    const ack = await request({ port: stack.ports.nginx, method: 'POST', path: '/notify/alipay', body,
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } });
    assert.ok(ack.status >= 400 && ack.status < 500, `forged notify ${i}: ${ack.status}`);
  }
  await waitFor('every forgery counted', () => metric('paygw_notifies_rejected_total'), (n) => n >= rejected0 + 20, { timeoutMs: 5000 });
  await sleep(300);
  assert.ok(alerts() - alerts0 <= 1, `at most one unattached forged alert in 10 s, got ${alerts() - alerts0}`);
});
