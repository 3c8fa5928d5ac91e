'use strict';
// Live route controls (issue 5; docs/routing.md), end to end on a stack with two channels
// that offer the same method and currency: wechatpay_v2 and wechatpay_v3 (wechat.native,
// CNY). Through the admin API: disable one live -> new orders go to the other, none lost,
// none sent twice, the in-flight order of the disabled one still settles; a timed disable
// reverts by itself; drain shows as draining; weights split the traffic; every change is
// audited with who and why; a restart keeps the rules; bad input -> 400, nothing changed.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Stack, trace } = require('./lib/stack');
const { waitFor, tradeNo, sleep } = require('./lib/util');

const V2 = 'wechatpay_v2';
const V3 = 'wechatpay_v3';
let stack;

before(async () => {
  stack = await Stack.start({
    name: 'routes', channels: [V2, V3],
    firstQueryDelayMs: 200, queryBackoffMs: '200,300,400,500', timeoutMs: 5000,
  });
}, { timeout: 90000 });

after(async () => {
  if (stack) await stack.stop();
});

const body = (over = {}) => ({ method: 'wechat.native', currency: 'CNY', amount: 1000, channel: undefined, ...over });
const change = (b, headers) => stack.admin('POST', '/admin/routes', { body: b, ...(headers ? { headers } : {}) });
const routes = async () => {
  const r = await stack.admin('GET', '/admin/routes');
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.json.channels.map((c) => [c.channel, c]));
};
const audit = async () => (await stack.admin('GET', '/admin/routes/audit')).json.audit;
const ok = async (b) => {
  const r = await change({ who: 'e2e-ops', reason: 'test', ...b });
  assert.equal(r.status, 200, r.text);
  return r.json;
};
// one order: accepted, and the channel its (only) pay attempt went to
async function order(over = {}, script) {
  const no = tradeNo('RT');
  if (script) await stack.sim('POST', '/_sim/script', { channel: script.channel, out_trade_no: no, ...script.ops });
  const r = await stack.pay(no, body(over));
  assert.equal(r.status, 202, r.text);
  return no;
}
async function payChannel(no) {
  const pays = await waitFor(`${no}: pay attempt`, async () => trace.attempts(await stack.adminOrder(no)).filter((a) => a.op === 'pay'),
    (a) => a.length >= 1, { timeoutMs: 10000, intervalMs: 50 });
  assert.equal(pays.length, 1, `${no}: one pay attempt, got ${JSON.stringify(pays)}`);
  return pays[0].channel;
}
async function settle(no, ch) {
  await stack.sim('POST', '/_sim/pay', { channel: ch, out_trade_no: no });
  await waitFor(`${no} SUCCESS`, () => stack.paymentStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 15000, intervalMs: 200 });
}
let labels;   // channel -> sim op -> request-log label (as tests/e2e/channels.test.js)
async function simPays(no, ch) {
  if (!labels) {
    labels = {};
    for (const c of (await stack.sim('GET', '/_sim/channels')).channels) labels[c.name] = c.ops;
  }
  const c = await stack.sim('GET', `/_sim/counts?channel=${ch}&out_trade_no=${encodeURIComponent(no)}`);
  return c[labels[ch].pay] || 0;
}

describe('route controls', () => {
  it('lists both channels enabled with weight 100 and their stats', async () => {
    const r = await routes();
    for (const ch of [V2, V3]) {
      assert.equal(r[ch].state, 'enabled');
      assert.equal(r[ch].weight, 100);
      assert.equal(typeof r[ch].in_flight, 'number');
      assert.ok('success_rate_10m' in r[ch] && 'p99_ms_10m' in r[ch]);
    }
  });

  it('bad admin input -> 400 with a clear message, nothing changed', async () => {
    const before = (await audit()).length;
    const rulesBefore = JSON.stringify(await routes());
    const bad = [
      [{ channel: V2, action: 'disable', who: 'x' }, /reason/],
      [{ channel: V2, action: 'disable', reason: 'r' }, /who/],
      [{ channel: 'nope', action: 'disable', reason: 'r', who: 'x' }, /channel/],
      [{ channel: V2, action: 'explode', reason: 'r', who: 'x' }, /action/],
      [{ channel: V2, action: 'weight', weight: -1, reason: 'r', who: 'x' }, /weight/],
      [{ channel: V2, action: 'weight', weight: 'a', reason: 'r', who: 'x' }, /weight/],
      [{ channel: V2, action: 'enable', ttl_s: 5, reason: 'r', who: 'x' }, /ttl_s/],
      [{ channel: V2, action: 'disable', ttl_s: 0, reason: 'r', who: 'x' }, /ttl_s/],
      [{ channel: V2, method: '', action: 'disable', reason: 'r', who: 'x' }, /method/],
    ];
    for (const [b, re] of bad) {
      const r = await change(b);
      assert.equal(r.status, 400, `${JSON.stringify(b)}: ${r.text}`);
      assert.match(r.json.message || r.text, re);
    }
    const raw = await stack.admin('POST', '/admin/routes', { body: 'not json' });
    assert.equal(raw.status, 400);
    assert.equal((await audit()).length, before);
    const after = await routes();
    for (const ch of [V2, V3]) {
      assert.deepEqual({ ...after[ch], answered_10m: 0, success_rate_10m: 0, p99_ms_10m: 0, in_flight: 0 },
        { ...JSON.parse(rulesBefore)[ch], answered_10m: 0, success_rate_10m: 0, p99_ms_10m: 0, in_flight: 0 });
    }
  });

  it('disable live: new orders go to the other channel at once, none lost or sent twice, in-flight settles', async () => {
    // an order in flight on v2: its pay answer takes 2.5 s
    const inflight = await order({ channel: V2 }, { channel: V2, ops: { pay: 'delay:2500' } });
    await waitFor('v2 pay in flight', async () => (await routes())[V2].in_flight, (n) => n >= 1, { timeoutMs: 5000, intervalMs: 50 });
    const t0 = Date.now();
    const j = await ok({ channel: V2, action: 'disable', reason: 'v2 incident 42' });
    assert.equal(j.rule.state, 'disabled');
    assert.ok(Date.now() - t0 < 1000);
    const nos = [];
    for (let i = 0; i < 8; i++) nos.push(await order());
    for (const no of nos) assert.equal(await payChannel(no), V3, `${no} must go to ${V3}`);
    const o = await stack.adminOrder(nos[0]);
    assert.match(o.routes[0].reason, /wechatpay_v2: disabled by ops/);
    // a new order asking for the disabled channel is refused, not stored
    const pinned = await stack.pay(tradeNo('RTP'), body({ channel: V2 }));
    assert.equal(pinned.status, 503, pinned.text);
    // the in-flight one was not moved or resent, and settles on v2
    assert.equal(await payChannel(inflight), V2);
    await waitFor('v2 pay answered', async () => trace.attempts(await stack.adminOrder(inflight)).filter((a) => a.op === 'pay' && a.class), (a) => a.length === 1, { timeoutMs: 10000, intervalMs: 100 });
    await settle(inflight, V2);
    assert.equal(await simPays(inflight, V2), 1);
    await settle(nos[0], V3);
    for (const no of nos) {
      assert.equal(await simPays(no, V3), 1, `${no}: sent once`);
      assert.equal(await simPays(no, V2), 0, `${no}: never sent to v2`);
      assert.ok(['PROCESSING', 'SUCCESS'].includes(await stack.paymentStatus(no)));
    }
    await ok({ channel: V2, action: 'enable', reason: 'v2 recovered' });
  });

  it('a timed disable reverts by itself', async () => {
    await ok({ channel: V3, action: 'disable', ttl_s: 2, reason: 'v3 maintenance window' });
    let r = await routes();
    assert.equal(r[V3].state, 'disabled');
    assert.ok(r[V3].remaining_s >= 1 && r[V3].remaining_s <= 2, JSON.stringify(r[V3]));
    assert.equal(await payChannel(await order()), V2);
    assert.equal((await stack.pay(tradeNo('RTP'), body({ channel: V3 }))).status, 503);
    await sleep(2300);
    r = await routes();
    assert.equal(r[V3].state, 'enabled');
    assert.equal(r[V3].rules.length, 0);
    assert.equal(await payChannel(await order({ channel: V3 })), V3);
  });

  it('drain shows as draining and takes no new orders', async () => {
    await ok({ channel: V3, action: 'drain', reason: 'v3 contract ends' });
    const r = await routes();
    assert.equal(r[V3].state, 'draining');
    for (let i = 0; i < 3; i++) assert.equal(await payChannel(await order()), V2);
    await ok({ channel: V3, action: 'enable', reason: 'v3 back' });
  });

  it('a method-scoped rule beats the channel rule', async () => {
    await ok({ channel: V2, action: 'disable', reason: 'channel-wide' });
    await ok({ channel: V2, method: 'wechat.native', action: 'enable', reason: 'but native is fine' });
    assert.equal(await payChannel(await order({ channel: V2 })), V2);
    await ok({ channel: V2, action: 'enable', reason: 'done' });
  });

  it('weights split the traffic', async () => {
    // the method-scoped rule of the test above is the most specific rule for these
    // orders, so the weight goes there (a rule carries its own weight)
    await ok({ channel: V2, method: 'wechat.native', action: 'weight', weight: 300, reason: 'v2 is cheaper' });
    await ok({ channel: V3, action: 'weight', weight: 100, reason: 'v3 keeps a share' });
    const nos = [];
    for (let i = 0; i < 40; i++) nos.push(await order());
    let v2 = 0;
    for (const no of nos) if (await payChannel(no) === V2) v2 += 1;
    assert.ok(v2 >= 20 && v2 <= 39, `v2 got ${v2} of 40 (expected ~30)`);
    const o = await stack.adminOrder(nos[0]);
    assert.match(o.routes[0].reason, /weight (300|100) of 400/);
    // weight 0: never chosen
    await ok({ channel: V3, action: 'weight', weight: 0, reason: 'v3 off by weight' });
    for (let i = 0; i < 5; i++) assert.equal(await payChannel(await order()), V2);
  });

  it('every change is audited with who and why', async () => {
    const r = await change({ channel: V3, action: 'weight', weight: 50, reason: 'header who' }, { 'X-Paygw-Operator': 'alice' });
    assert.equal(r.status, 200, r.text);
    const a = await audit();
    assert.equal(a[0].who, 'alice');
    assert.equal(a[0].reason, 'header who');
    assert.equal(JSON.parse(a[0].old).weight, 0);
    assert.equal(JSON.parse(a[0].new).weight, 50);
    const inc = a.find((x) => x.reason === 'v2 incident 42');
    assert.ok(inc && inc.who === 'e2e-ops' && inc.action === 'disable' && inc.channel === V2);
    assert.equal(JSON.parse(inc.new).state, 'disabled');
    for (const x of a) assert.ok(x.who && x.reason && x.at > 0);
  });

  it('a restart keeps the rules', async () => {
    const before = await routes();
    await stack.restartCore();
    const after = await routes();
    assert.equal(after[V2].rules.find((x) => x.method === 'wechat.native').weight, 300);
    assert.deepEqual(after[V2].rules, before[V2].rules);
    assert.equal(after[V3].weight, 50);
    assert.deepEqual(after[V3].rules, before[V3].rules);
    assert.ok((await audit()).length >= 10);
  });
});
