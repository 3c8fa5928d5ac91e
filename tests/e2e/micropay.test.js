'use strict';
// Micropay orchestration (issue 4): a payment-code pay (Alipay barcode, WeChat micropay) whose
// answer says "the buyer is still confirming" is queried every poll_ms; if it is not paid
// give_up_after_ms after the pay was sent, the host calls the channel's reverse (cancel),
// repeated while the reverse itself is unconfirmed, at most reverse_max times, then an
// alert. Only a confirmed reverse makes the order CLOSED; nothing here is ever FAILED, and
// the pay reaches the channel exactly once. `sync: true` payments answer with the outcome
// (or PROCESSING at sync_timeout_ms).
//
// Both channels run through nginx + paygwd + the simulator, with the policy shortened in
// paygwd.conf (`channel X micropay key value`).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Stack, trace } = require('./lib/stack');
const { waitFor, tradeNo, sleep } = require('./lib/util');
const { assertStatus, assertSigned } = require('./lib/assertx');

const POLL_MS = 200;
const GIVE_UP_MS = 1500;
const REVERSE_RETRY_MS = 300;
const REVERSE_MAX = 3;
const SYNC_TIMEOUT_MS = 5000;

// per channel: the caller method, the sim's script op for that pay call, the auth code
const CHANNELS = {
  wechatpay_v2: { method: 'wechat.micropay', payOp: 'pay', reverseNotBefore: 1000 },
  alipay: { method: 'alipay.barcode', payOp: 'barcode', reverseNotBefore: 0 },
};

let stack;

before(async () => {
  const extraConf = ['sync_timeout_ms ' + SYNC_TIMEOUT_MS];
  for (const [ch, c] of Object.entries(CHANNELS)) {
    extraConf.push(
      `channel ${ch} micropay poll_ms ${POLL_MS}`,
      `channel ${ch} micropay give_up_after_ms ${GIVE_UP_MS}`,
      `channel ${ch} micropay reverse_not_before_ms ${c.reverseNotBefore}`,
      `channel ${ch} micropay reverse_retry_ms ${REVERSE_RETRY_MS}`,
      `channel ${ch} micropay reverse_max ${REVERSE_MAX}`,
    );
  }
  stack = await Stack.start({
    name: 'micropay',
    channels: Object.keys(CHANNELS),
    firstQueryDelayMs: 5000,      // the micropay poll, not the generic delay, must apply
    queryBackoffMs: '5000',
    timeoutMs: 1000,
    connectTimeoutMs: 500,
    extraConf,
  });
}, { timeout: 90000 });

after(async () => {
  if (stack) await stack.stop();
});

function kit(ch) {
  const C = CHANNELS[ch];
  const sim = (method, p, body) => stack.sim(method, p, { channel: ch, ...body });
  const k = {
    script: (no, s) => sim('POST', '/_sim/script', { out_trade_no: no, ...s }),
    attempts: async (no) => trace.attempts(await stack.adminOrder(no)),
    ops: async (no, op) => (await k.attempts(no)).filter((a) => a.op === op),
    // prefix: a fresh number is made from it, unless it already is one (tradeNo output)
    pay: async (prefix, script, { sync = false } = {}) => {
      const no = prefix.length > 8 ? prefix : tradeNo(prefix);
      await k.script(no, script);
      const t0 = Date.now();
      const r = await stack.pay(no, {
        channel: ch, method: C.method, extra: { auth_code: '287654321098765432' }, sync,
      }, { timeoutMs: SYNC_TIMEOUT_MS + 15000 });
      return { no, r, ms: Date.now() - t0 };
    },
    status: (no) => stack.paymentStatus(no),
    waitStatus: (no, want) => waitFor(`${ch} ${no} ${want}`, () => stack.paymentStatus(no),
      (s) => s === want, { timeoutMs: 15000, intervalMs: 100 }),
    neverFailed: async (no) => {
      const to = trace.transitions(await stack.adminOrder(no)).map(trace.to);
      assert.ok(!to.includes('FAILED'), `${ch} ${no}: ${to.join(',')}`);
    },
    onePay: async (no) => assert.equal((await k.ops(no, 'pay')).length, 1, `${ch} ${no}: the pay is sent once`),
  };
  return k;
}

describe('micropay: query while the buyer confirms, then reverse', { concurrency: true }, () => {
  for (const ch of Object.keys(CHANNELS)) {
    const C = CHANNELS[ch];
    describe(ch, { concurrency: true }, () => {
      const k = kit(ch);

      it('the buyer confirms in time: a sync payment answers SUCCESS, nothing is reversed', { timeout: 30000 }, async () => {
        const no = tradeNo('MPOK');
        const pending = k.pay(no, { [C.payOp]: 'processing', query: 'processing' }, { sync: true });
        // the buyer enters the password once we polled: the channel now says paid
        await waitFor(`${ch} ${no}: polled`, () => k.ops(no, 'query'), (q) => q.some((a) => a.class === 'PROCESSING'), { timeoutMs: 10000, intervalMs: 50 });
        await stack.sim('POST', '/_sim/pay', { channel: ch, out_trade_no: no });
        await k.script(no, { query: 'success' });
        const o = await pending;
        assertStatus(o.r, 200);
        assertSigned(o.r);
        assert.equal(o.r.json.status, 'SUCCESS', `${ch} sync answer: ${o.r.text}`);
        assert.ok(o.ms < SYNC_TIMEOUT_MS, `${ch}: answered when paid (${o.ms} ms), not at the deadline`);
        const queries = await k.ops(o.no, 'query');
        assert.ok(queries.length >= 2, `${ch}: polled (${queries.length} queries)`);
        // polled at poll_ms, not at the channel's generic first-query delay (5 s here)
        assert.ok(queries[0].started_at - (await k.ops(o.no, 'pay'))[0].started_at < 1500,
          `${ch}: first poll ${queries[0].started_at - (await k.ops(o.no, 'pay'))[0].started_at} ms after the pay`);
        assert.equal((await k.ops(o.no, 'cancel')).length, 0);
        await k.onePay(o.no);
      });

      it('the buyer never confirms: reversed after give_up_after_ms, CLOSED only when the reverse is confirmed', { timeout: 30000 }, async () => {
        const o = await k.pay('MPRV', { [C.payOp]: 'processing', query: 'processing', cancel: ['processing', 'success'] }, { sync: true });
        assertStatus(o.r, 200);
        assert.equal(o.r.json.status, 'CLOSED', `${ch} sync answer: ${o.r.text}`);
        const pay = (await k.ops(o.no, 'pay'))[0];
        const rev = await k.ops(o.no, 'cancel');
        assert.equal(rev.length, 2, `${ch}: an unconfirmed reverse is called again, a confirmed one ends it`);
        assert.equal(rev[0].class, 'PROCESSING');
        assert.equal(rev[1].class, 'SUCCESS');
        assert.ok(rev[0].started_at - pay.started_at >= Math.max(GIVE_UP_MS, C.reverseNotBefore),
          `${ch}: reversed ${rev[0].started_at - pay.started_at} ms after the pay`);
        assert.ok((await k.ops(o.no, 'query')).length >= 2, `${ch}: polled before reversing`);
        await k.neverFailed(o.no);
        await k.onePay(o.no);
        const notes = await waitFor(`${ch} caller notification`, () => stack.callerNotifications(o.no), (n) => n.length >= 1, { timeoutMs: 10000 });
        assert.equal(JSON.parse(notes[0].body).type, 'payment.closed');
      });

      it('a reverse that stays unconfirmed: bounded retries, an alert, the order stays PROCESSING (sync answers PROCESSING at its deadline)', { timeout: 40000 }, async () => {
        const o = await k.pay('MPUC', { [C.payOp]: 'processing', query: 'processing', cancel: 'processing' }, { sync: true });
        assertStatus(o.r, 200);
        assert.equal(o.r.json.status, 'PROCESSING', `${ch} sync answer: ${o.r.text}`);
        assert.ok(o.ms >= SYNC_TIMEOUT_MS - 200, `${ch}: waited until sync_timeout_ms (${o.ms} ms)`);
        const tr = await waitFor(`${ch} the reverse_unconfirmed alert`, () => stack.adminOrder(o.no),
          (x) => trace.discrepancies(x).some((d) => d.kind === 'reverse_unconfirmed'), { timeoutMs: 10000 });
        assert.equal(trace.discrepancies(tr).filter((d) => d.kind === 'reverse_unconfirmed').length, 1, 'one alert');
        // the buyer may have paid after all: a person looks at it
        const inReview = async () => (await stack.admin('GET', '/admin/review')).json.review.find((x) => x.out_trade_no === o.no);
        const row = await inReview();
        assert.ok(row, `${ch}: an unconfirmed reverse puts the order in the review queue`);
        assert.equal(row.reason, 'micropay reverse unconfirmed');
        await sleep(1000);
        assert.equal((await k.ops(o.no, 'cancel')).length, REVERSE_MAX, `${ch}: at most reverse_max reverses`);
        assert.equal(await k.status(o.no), 'PROCESSING');
        await k.neverFailed(o.no);
        await k.onePay(o.no);
        // the queries go on and settle it when the channel knows (here: it was paid after all)
        await k.script(o.no, { query: 'success' });
        await sim_pay(ch, o.no);
        await k.waitStatus(o.no, 'SUCCESS');
        assert.equal(await inReview(), undefined, `${ch}: the final answer clears it from the queue`);
      });

      it('a pay whose answer is lost (timeout): queried, then reversed; never resent, never FAILED', { timeout: 30000 }, async () => {
        const o = await k.pay('MPTO', { [C.payOp]: 'delay:2500:processing', query: 'not_found', cancel: 'success' });
        assertStatus(o.r, 202);
        await k.waitStatus(o.no, 'CLOSED');
        const pay = (await k.ops(o.no, 'pay'));
        assert.equal(pay.length, 1);
        assert.equal(pay[0].class, 'PROCESSING', `${ch}: a timeout is PROCESSING, never NOT_SENT`);
        assert.ok((await k.ops(o.no, 'query')).some((q) => q.class === 'NOT_FOUND'), `${ch}: not-found did not fail it`);
        assert.equal((await k.ops(o.no, 'cancel')).length, 1);
        await k.neverFailed(o.no);
      });
    });
  }
});

async function sim_pay(ch, no) {
  await stack.sim('POST', '/_sim/pay', { channel: ch, out_trade_no: no });
  await waitFor(`${ch} ${no} SUCCESS after the channel says paid`, () => stack.paymentStatus(no),
    (s) => s === 'SUCCESS', { timeoutMs: 15000, intervalMs: 200 });
}
