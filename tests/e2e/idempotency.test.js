'use strict';
// Idempotency key (app_id, out_trade_no): same body → same voucher, different body → 409,
// concurrent duplicates → one order and one precreate at the channel.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Stack } = require('./lib/stack');
const { waitFor, tradeNo, sleep } = require('./lib/util');
const { assertError, assertStatus, assertSigned } = require('./lib/assertx');

let stack;

before(async () => {
  stack = await Stack.start({ name: 'idem' });
}, { timeout: 60000 });

after(async () => {
  if (stack) await stack.stop();
});

async function precreatesSettle(no) {
  await waitFor(`a precreate for ${no}`, () => stack.simCounts(no), (c) => c['alipay.trade.precreate'] >= 1, { timeoutMs: 10000 });
  await sleep(1500); // a duplicate send would arrive by now
  return (await stack.simCounts(no))['alipay.trade.precreate'];
}

test('same out_trade_no and same body → same voucher, one precreate', { timeout: 30000 }, async () => {
  const no = tradeNo('I');
  const r1 = await stack.pay(no);
  assertStatus(r1, 202);
  assertSigned(r1);
  const r2 = await stack.pay(no);
  assertStatus(r2, 202);
  assertSigned(r2);
  assert.equal(r2.json.voucher_id, r1.json.voucher_id);
  assert.equal(r2.json.out_trade_no, no);
  await waitFor(`${no} leaves ACCEPTED`, () => stack.paymentStatus(no), (s) => s === 'PROCESSING', { timeoutMs: 10000 });
  const r3 = await stack.pay(no);
  assertStatus(r3, 202);
  assert.equal(r3.json.voucher_id, r1.json.voucher_id, 'same voucher after the order was sent');
  assert.equal(await precreatesSettle(no), 1);
});

test('same out_trade_no, different body → 409 IDEMPOTENCY_CONFLICT; the stored order is unchanged', { timeout: 30000 }, async () => {
  const no = tradeNo('IC');
  const r1 = await stack.pay(no);
  assertStatus(r1, 202);
  for (const over of [{ amount: 1001 }, { subject: 'another subject' }, { currency: 'USD' }, { notify_url: `${stack.callerUrl}?x=1` }]) {
    const r = await stack.pay(no, over);
    assertError(r, 409, 'IDEMPOTENCY_CONFLICT');
    assertSigned(r);
  }
  const p = await stack.payment(no);
  assertStatus(p, 200);
  assert.equal(p.json.amount, 1000);
  assert.equal(p.json.currency, 'CNY');
  assert.equal(await precreatesSettle(no), 1);
  const [pre] = await stack.simRequests(no, 'alipay.trade.precreate');
  assert.equal(pre.biz_content.total_amount, '10.00');
});

test('20 concurrent identical requests → one voucher, one order, one precreate', { timeout: 30000 }, async () => {
  const no = tradeNo('ID');
  const rs = await Promise.all(Array.from({ length: 20 }, () => stack.pay(no)));
  for (const r of rs) {
    assertStatus(r, 202);
    assertSigned(r);
  }
  assert.equal(new Set(rs.map((r) => r.json.voucher_id)).size, 1, 'one voucher id');
  const o = await stack.adminOrder(no);
  assert.ok(o, 'order stored');
  const all = await stack.admin('GET', `/admin/orders/${no}`);
  assert.equal(all.status, 200);
  assert.equal(all.json.orders.length, 1, 'exactly one order row');
  assert.equal(await precreatesSettle(no), 1);
});

test('concurrent requests with two different bodies → one body wins, the other gets 409', { timeout: 30000 }, async () => {
  const no = tradeNo('IM');
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => stack.pay(no, { amount: i % 2 ? 2000 : 3000 }).then((r) => ({ r, amount: i % 2 ? 2000 : 3000 }))));
  const ok = rs.filter((x) => x.r.status === 202);
  const conflict = rs.filter((x) => x.r.status === 409);
  assert.equal(ok.length + conflict.length, 20, `only 202 and 409: ${rs.map((x) => x.r.status).join(',')}`);
  assert.ok(ok.length >= 1);
  const winner = ok[0].amount;
  for (const x of ok) {
    assert.equal(x.amount, winner, 'every 202 carries the winning body');
    assert.equal(x.r.json.voucher_id, ok[0].r.json.voucher_id);
  }
  for (const x of conflict) {
    assert.notEqual(x.amount, winner);
    assertError(x.r, 409, 'IDEMPOTENCY_CONFLICT');
  }
  assert.equal(await precreatesSettle(no), 1);
  const [pre] = await stack.simRequests(no, 'alipay.trade.precreate');
  assert.equal(pre.biz_content.total_amount, (winner / 100).toFixed(2));
});

test('the key includes the app: A2 may use an out_trade_no A1 already used', { timeout: 30000 }, async () => {
  const no = tradeNo('IA');
  const r1 = await stack.pay(no);
  assertStatus(r1, 202);
  const r2 = await stack.pay(no, { amount: 5000 }, { app: 'A2' });
  assertStatus(r2, 202);
  assertSigned(r2);
  assert.notEqual(r2.json.voucher_id, r1.json.voucher_id);
  const p1 = await stack.payment(no, 'A1');
  const p2 = await stack.payment(no, 'A2');
  assert.equal(p1.json.amount, 1000);
  assert.equal(p2.json.amount, 5000);
});
