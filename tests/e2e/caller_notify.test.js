'use strict';
// Notifications to the caller come from a durable outbox and are retried on failure
// (notify_backoff 1,1,2 s here); every attempt is signed and recorded.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Stack, trace } = require('./lib/stack');
const { waitFor, tradeNo, sleep } = require('./lib/util');
const { assertStatus, assertNotificationSigned } = require('./lib/assertx');

let stack;

before(async () => {
  stack = await Stack.start({ name: 'callernotify', notifyBackoff: '1,1,2', firstQueryDelayMs: 300 });
}, { timeout: 60000 });

after(async () => {
  if (stack) await stack.stop();
});

test('the caller fails the first 2 deliveries → retried on the backoff, delivered on the 3rd, attempts recorded', { timeout: 60000 }, async () => {
  await stack.sim('POST', '/_sim/caller', { fail_first: 2, status: 500, clear: true });
  const no = tradeNo('CN');
  const r = await stack.pay(no);
  assertStatus(r, 202);
  await waitFor(`precreate of ${no}`, () => stack.simCounts(no), (c) => c['alipay.trade.precreate'] >= 1, { timeoutMs: 10000 });
  const ack = await stack.simNotify(no, 'valid');
  assert.equal(ack.body, 'success');
  await waitFor(`${no} SUCCESS`, () => stack.paymentStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 10000 });

  const list = await waitFor('a delivery the caller accepted', () => stack.callerNotifications(no), (l) => l.some((n) => n.answered === 200), { timeoutMs: 30000, intervalMs: 200 });
  await sleep(3000); // nothing more must come once it was acknowledged
  const all = await stack.callerNotifications(no);
  assert.equal(all.length, 3, `deliveries: ${all.map((n) => n.answered).join(',')}`);
  assert.deepEqual(all.map((n) => n.answered), [500, 500, 200]);
  assert.equal(list[list.length - 1].answered, 200);

  const bodies = all.map((n) => JSON.parse(n.body));
  for (const n of all) assertNotificationSigned(stack.apps.A1.secret, n);
  assert.equal(new Set(bodies.map((b) => b.event_id)).size, 1, 'one event, delivered three times');
  for (const b of bodies) {
    assert.equal(b.type, 'payment.succeeded');
    assert.equal(b.out_trade_no, no);
    assert.equal(b.status, 'SUCCESS');
  }
  const gaps = [all[1].t - all[0].t, all[2].t - all[1].t];
  assert.ok(gaps[0] >= 900 && gaps[1] >= 900, `retries follow the 1 s backoff, gaps ${gaps.join(',')} ms`);

  const o = await stack.adminOrder(no);
  const notes = trace.notifications(o);
  assert.equal(notes.length, 1, `admin trace notifications: ${JSON.stringify(notes)}`);
  assert.ok(trace.deliveryAttempts(notes[0]) >= 3, `attempts recorded: ${JSON.stringify(notes[0])}`);
});

test('a caller that keeps failing does not block other notifications', { timeout: 60000 }, async () => {
  await stack.sim('POST', '/_sim/caller', { fail_first: 1, status: 503, clear: true });
  const nos = [tradeNo('CM'), tradeNo('CM')];
  for (const no of nos) assertStatus(await stack.pay(no), 202);
  for (const no of nos) {
    await waitFor(`precreate of ${no}`, () => stack.simCounts(no), (c) => c['alipay.trade.precreate'] >= 1, { timeoutMs: 10000 });
    assert.equal((await stack.simNotify(no, 'valid')).body, 'success');
  }
  for (const no of nos) {
    await waitFor(`${no} delivered`, () => stack.callerNotifications(no), (l) => l.some((n) => n.answered === 200), { timeoutMs: 20000, intervalMs: 200 });
  }
  await sleep(2500);
  for (const no of nos) {
    const l = await stack.callerNotifications(no);
    assert.equal(l.filter((n) => n.answered === 200).length, 1, `${no}: exactly one accepted delivery`);
  }
});
