'use strict';
// Channel health and circuit breaker (issue 5 item 3; docs/routing.md "Health and circuit
// breaker"), end to end with two channels offering wechat.native/CNY: wechatpay_v2 (A) and
// wechatpay_v3 (B).
//  1. A times out (sim default script) until the breaker opens: new orders go to B with
//     "circuit open" in the decision, the alert is recorded, A's timed-out orders stay on
//     A, PROCESSING, never resent; a 5xx at B is never rerouted either. Heal A: the
//     half-open probe is a query (no pay reaches A), the breaker closes, A takes orders.
//  2. A refuses connections (endpoint at a closed loopback port): new orders drawn to A
//     are rerouted (NOT_SENT) to B, the breaker opens, and its probe fails -> open again;
//     a restart of paygwd keeps it open (breaker_state) and the probes go on.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { Stack, trace } = require('./lib/stack');
const { waitFor, tradeNo, freePort } = require('./lib/util');

const A = 'wechatpay_v2';
const B = 'wechatpay_v3';
const body = (over = {}) => ({ method: 'wechat.native', currency: 'CNY', amount: 1000, channel: undefined, ...over });

function sql(stack, q) {
  return execFileSync('sqlite3', ['-json', stack.dbFile, q], { encoding: 'utf8' }).trim();
}
function alerts(stack) {
  const t = sql(stack, "SELECT kind, order_id, detail FROM discrepancies WHERE kind LIKE 'breaker_%' ORDER BY id");
  return t ? JSON.parse(t) : [];
}
async function routes(stack) {
  const r = await stack.admin('GET', '/admin/routes');
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.json.channels.map((c) => [c.channel, c]));
}
async function order(stack, over = {}) {
  const no = tradeNo('BK');
  const r = await stack.pay(no, body(over));
  assert.equal(r.status, 202, r.text);
  return no;
}
async function pays(stack, no, n = 1) {
  return waitFor(`${no}: ${n} finished pay attempt(s)`,
    async () => trace.attempts(await stack.adminOrder(no)).filter((a) => a.op === 'pay'),
    // a NOT_SENT last attempt is followed by the reroute's: wait for it too
    (a) => a.length >= n && a.every((x) => x.state !== 'SENDING') && a[a.length - 1].state !== 'NOT_SENT',
    { timeoutMs: 10000, intervalMs: 50 });
}
async function simCounts(stack, ch) {
  const chans = (await stack.sim('GET', '/_sim/channels')).channels;
  const ops = chans.find((c) => c.name === ch).ops;
  const t = await stack.sim('GET', `/_sim/counts?channel=${ch}`);
  return { pay: t[ops.pay] || 0, query: t[ops.query] || 0 };
}

describe('breaker: timeouts open it, a query probe closes it', () => {
  let stack;
  before(async () => {
    stack = await Stack.start({
      name: 'breaker', channels: [A, B],
      firstQueryDelayMs: 60000, queryBackoffMs: '60000', timeoutMs: 5000,
      extraConf: [`channel ${A} timeout_ms 600`, `channel ${A} breaker_errors 3`,
        `channel ${A} breaker_open_ms 2000`],
    });
  }, { timeout: 90000 });
  after(async () => { if (stack) await stack.stop(); });

  const timedOut = [];
  it('A times out: each order stays on A, PROCESSING, one pay; 3 in a minute open the breaker', async () => {
    let r = await routes(stack);
    assert.equal(r[A].circuit, 'closed');
    // A is sick: pays and queries time out (so its probes fail while sick)
    await stack.sim('POST', '/_sim/script', { channel: A, default: true, pay: 'timeout', query: 'timeout' });
    for (let i = 0; i < 3; i++) {
      const no = await order(stack, { channel: A });
      const p = await pays(stack, no);
      assert.equal(p.length, 1);
      assert.equal(p[0].channel, A, 'a timeout is never rerouted');
      assert.equal(p[0].state, 'UNKNOWN');
      assert.equal(await stack.paymentStatus(no), 'PROCESSING');
      timedOut.push(no);
    }
    r = await waitFor('A open', () => routes(stack), (x) => x[A].circuit === 'open', { timeoutMs: 3000, intervalMs: 50 });
    assert.ok(r[A].errors_1m >= 3, JSON.stringify(r[A]));
    assert.equal(r[B].circuit, 'closed');
    const h = r[A].health.find((x) => x.method === 'wechat.native');
    assert.ok(h && h.timeouts_1m >= 3, JSON.stringify(r[A].health));
    const al = await waitFor('open alert', async () => alerts(stack), (a) => a.length >= 1, { timeoutMs: 3000, intervalMs: 50 });
    assert.equal(al[0].kind, 'breaker_open', JSON.stringify(al));
    assert.equal(al[0].order_id, null);
    assert.match(al[0].detail, /wechatpay_v2 wechat\.native: circuit open/);
  });

  it('open: new orders go to B ("circuit open"), an explicit A is refused, A never resent', async () => {
    const before = await simCounts(stack, A);
    for (let i = 0; i < 4; i++) {
      const no = await order(stack);
      const p = await pays(stack, no);
      assert.equal(p.length, 1);
      assert.equal(p[0].channel, B);
      const o = await stack.adminOrder(no);
      assert.match(o.routes[0].reason, /wechatpay_v2: circuit (open|half_open)/);
    }
    const r = await stack.pay(tradeNo('BK'), body({ channel: A }));
    assert.equal(r.status, 503, r.text);
    // the timed-out orders are still on A, one pay each, nothing resent
    for (const no of timedOut) {
      const p = trace.attempts(await stack.adminOrder(no)).filter((a) => a.op === 'pay');
      assert.equal(p.length, 1);
      assert.equal(p[0].channel, A);
    }
    const after = await simCounts(stack, A);
    assert.equal(after.pay, before.pay, 'no pay reached A while open');
  });

  it('a 5xx at B is not rerouted: the order stays on B, PROCESSING', async () => {
    const no = tradeNo('BK');
    await stack.sim('POST', '/_sim/script', { channel: B, out_trade_no: no, pay: '5xx' });
    const r = await stack.pay(no, body({ channel: B }));
    assert.equal(r.status, 202, r.text);
    const p = await pays(stack, no);
    assert.equal(p.length, 1);
    assert.equal(p[0].channel, B);
    assert.equal(await stack.paymentStatus(no), 'PROCESSING');
  });

  it('heal A: the half-open probe is a query, no pay; closed; A takes orders again', async () => {
    const before = await simCounts(stack, A);
    await stack.sim('POST', '/_sim/script', { channel: A, default: true, pay: 'success', query: 'success' });
    await waitFor('A closed', () => routes(stack), (x) => x[A].circuit === 'closed', { timeoutMs: 10000, intervalMs: 100 });
    const after = await simCounts(stack, A);
    assert.equal(after.pay, before.pay, 'the probe is never a payment');
    assert.ok(after.query > before.query, `the probe is a query: ${JSON.stringify({ before, after })}`);
    const kinds = await waitFor('closed alert', async () => alerts(stack).map((a) => a.kind),
      (k) => k.at(-1) === 'breaker_closed', { timeoutMs: 3000, intervalMs: 50 });
    assert.deepEqual(kinds.slice(-2), ['breaker_half_open', 'breaker_closed'], JSON.stringify(kinds));
    assert.match(alerts(stack).at(-1).detail, /probe query of order \d+: answered/);
    // A takes new orders again (weighted 50/50: within 16 orders, p(no A) = 2^-16)
    let sawA = false;
    for (let i = 0; i < 16 && !sawA; i++) {
      const p = await pays(stack, await order(stack));
      sawA = p[0].channel === A;
    }
    assert.ok(sawA, 'A takes orders again');
    assert.equal((await stack.pay(tradeNo('BK'), body({ channel: A }))).status, 202);
  });
});

describe('breaker: connect-refused reroutes (NOT_SENT) and a failed probe keeps it open', () => {
  let stack;
  let port;
  before(async () => {
    // a loopback port nobody listens on (freePort never hands it to the stack too)
    port = await freePort();
    stack = await Stack.start({
      name: 'breaker-refused', channels: [A, B],
      firstQueryDelayMs: 60000, queryBackoffMs: '60000', timeoutMs: 5000,
      extraConf: [`channel ${A} endpoint http://127.0.0.1:${port}`, `channel ${A} breaker_errors 3`,
        `channel ${A} breaker_open_ms 1000`],
    });
  }, { timeout: 90000 });
  after(async () => { if (stack) await stack.stop(); });

  it('orders drawn to A are rerouted to B until the breaker opens; the probe fails -> open', async () => {
    let rerouted = 0;
    for (let i = 0; i < 40 && rerouted < 3; i++) {
      const no = await order(stack);
      const p = await pays(stack, no);
      const last = p[p.length - 1];
      assert.equal(last.channel, B, JSON.stringify(p));
      if (p.length === 2) {
        assert.equal(p[0].channel, A);
        assert.equal(p[0].state, 'NOT_SENT');
        rerouted++;
      }
    }
    assert.equal(rerouted, 3);
    await waitFor('A open', () => routes(stack), (x) => x[A].circuit === 'open', { timeoutMs: 3000, intervalMs: 50 });
    // open: no more NOT_SENT attempts at A for new orders
    for (let i = 0; i < 4; i++) {
      const p = await pays(stack, await order(stack));
      assert.equal(p.length, 1);
      assert.equal(p[0].channel, B);
    }
    // the probe (a query at A) fails: half_open -> open again
    await waitFor('probe failed', async () => alerts(stack).map((a) => a.kind),
      (k) => k.length >= 3 && k.slice(-2).join() === 'breaker_half_open,breaker_open', { timeoutMs: 8000, intervalMs: 100 });
    assert.match(alerts(stack).at(-1).detail, /probe query of order \d+: failed/);
    assert.notEqual((await routes(stack))[A].circuit, 'closed');
  });

  it('a restart keeps the breaker open: new orders still go to B, never first to the sick A', async () => {
    await stack.restartCore();
    assert.equal((await routes(stack))[A].circuit, 'open', 'restored open');
    for (let i = 0; i < 3; i++) {
      const p = await pays(stack, await order(stack));
      assert.equal(p.length, 1, JSON.stringify(p));
      assert.equal(p[0].channel, B);
    }
    // and it keeps probing after the restart (A still refuses: open again)
    const n = alerts(stack).length;
    await waitFor('a probe after the restart', async () => alerts(stack).slice(n).map((a) => a.kind),
      (k) => k.join().includes('breaker_half_open,breaker_open'), { timeoutMs: 8000, intervalMs: 100 });
  });
});
