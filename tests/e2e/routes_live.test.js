'use strict';
// Live toggle under load (issue 5, "must hold"): signed payments flow through nginx at a
// steady rate to two channels offering wechat.native/CNY (wechatpay_v2 = A, wechatpay_v3
// = B). Mid-run ops disable A; later they enable it again. Then every request is
// accounted for:
//  - every request got 202 (none refused, none lost) and its order is stored once;
//  - every order has exactly one pay attempt, and the simulator saw exactly one pay for
//    it (none sent twice), on the channel the attempt names;
//  - orders accepted more than a second after the disable answered all went to B;
//  - after the enable, A takes orders again.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { Stack } = require('./lib/stack');
const { sleep, tradeNo, pool, waitFor } = require('./lib/util');

const A = 'wechatpay_v2';
const B = 'wechatpay_v3';
const RATE = 80;              // orders per second offered
const PHASE_MS = 2000;        // before the disable, disabled, after the enable

describe('live toggle under load', () => {
  let stack;
  before(async () => {
    stack = await Stack.start({
      name: 'routes-live', channels: [A, B],
      appOptions: { A1: 'rate=off concurrency=off' },
      firstQueryDelayMs: 60000, queryBackoffMs: '60000', timeoutMs: 5000,
    });
  }, { timeout: 90000 });
  after(async () => { if (stack) await stack.stop(); });

  it('disable then enable A mid-run: none lost, none sent twice, new orders leave A within a second', async (t) => {
    const sent = [];            // {no, status, at}
    const inflight = new Set();
    let stop = false;
    const t0 = Date.now();
    const runFor = 3 * PHASE_MS;
    // the load: one order every 1000/RATE ms, each request on its own, bounded in time
    const load = (async () => {
      for (let i = 0; !stop && Date.now() - t0 < runFor; i++) {
        const due = t0 + (i * 1000) / RATE;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        const no = tradeNo('LV');
        const p = stack.pay(no, { method: 'wechat.native', currency: 'CNY', amount: 1000, channel: undefined })
          .then((r) => sent.push({ no, status: r.status, text: r.text, at: Date.now() }))
          .catch((e) => sent.push({ no, status: 0, text: String(e), at: Date.now() }))
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
    })();
    const ops = (action) => stack.admin('POST', '/admin/routes', {
      body: { channel: A, action, reason: `live toggle test: ${action}`, who: 'e2e-ops' },
    });

    await sleep(PHASE_MS);
    const d = await ops('disable');
    assert.equal(d.status, 200, d.text);
    const disabledAt = Date.now();
    await sleep(PHASE_MS);
    const e = await ops('enable');
    assert.equal(e.status, 200, e.text);
    const enabledAt = Date.now();
    await load;
    stop = true;
    await Promise.all([...inflight]);

    // 1. every request answered 202
    const bad = sent.filter((s) => s.status !== 202);
    assert.deepEqual(bad, [], 'every request accepted');
    assert.ok(sent.length >= RATE * (runFor / 1000) * 0.8, `offered ${sent.length} orders`);

    // 2. each order stored once, one pay attempt each, on record with its channel
    // (every accepted order dispatched and answered before counting)
    const pending = () => Number(execFileSync('sqlite3', [stack.dbFile, "SELECT COUNT(*) FROM orders o WHERE"
      + " o.out_trade_no LIKE 'LV%' AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.order_id = o.id"
      + " AND a.op = 'pay' AND a.state <> 'SENDING')"], { encoding: 'utf8' }).trim());
    await waitFor('every pay attempt finished', pending, (n) => n === 0, { timeoutMs: 20000, intervalMs: 100 });
    const rows = JSON.parse(execFileSync('sqlite3', ['-json', stack.dbFile,
      "SELECT o.out_trade_no AS no, o.created_at AS at, COUNT(a.id) AS pays, MIN(a.channel) AS ch,"
      + " MAX(a.channel) AS ch2 FROM orders o LEFT JOIN attempts a ON a.order_id = o.id AND a.op = 'pay'"
      + " WHERE o.out_trade_no LIKE 'LV%' GROUP BY o.id"], { encoding: 'utf8' }) || '[]');
    const byNo = new Map(rows.map((r) => [r.no, r]));
    assert.equal(rows.length, sent.length, 'one stored order per accepted request');
    for (const s of sent) {
      const r = byNo.get(s.no);
      assert.ok(r, `${s.no} stored`);
      assert.equal(r.pays, 1, `${s.no}: one pay attempt`);
      assert.equal(r.ch, r.ch2);
    }

    // 3. the simulator saw exactly one pay per order, at the channel of its attempt
    const labels = {};
    for (const c of (await stack.sim('GET', '/_sim/channels')).channels) labels[c.name] = c.ops.pay;
    const twice = [];
    await pool(rows, 16, async (r) => {
      const c = await stack.sim('GET', `/_sim/counts?channel=${r.ch}&out_trade_no=${encodeURIComponent(r.no)}`);
      const other = await stack.sim('GET', `/_sim/counts?channel=${r.ch === A ? B : A}&out_trade_no=${encodeURIComponent(r.no)}`);
      if ((c[labels[r.ch]] || 0) !== 1 || (other[labels[r.ch === A ? B : A]] || 0) !== 0) twice.push(r.no);
    });
    assert.deepEqual(twice, [], 'exactly one pay per order at the simulator');

    // 4. within a second of the disable, new orders stop going to A; A comes back after
    const during = rows.filter((r) => r.at > disabledAt + 1000 && r.at < enabledAt);
    const after = rows.filter((r) => r.at > enabledAt + 1000);
    const before = rows.filter((r) => r.at < disabledAt - 200);
    assert.ok(during.length >= RATE / 2, `orders while A was disabled: ${during.length}`);
    assert.deepEqual(during.filter((r) => r.ch === A).map((r) => r.no), [], 'no order to A while disabled');
    assert.ok(before.some((r) => r.ch === A) && before.some((r) => r.ch === B), 'both served before');
    assert.ok(after.some((r) => r.ch === A), 'A serves again after the enable');
    t.diagnostic(`live toggle: ${sent.length} orders; before ${before.length}, disabled ${during.length}`
      + ` (all to ${B}), after ${after.length} (${after.filter((r) => r.ch === A).length} to ${A})`);
  });
});
