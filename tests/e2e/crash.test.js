'use strict';
// kill -9 of paygwd: every 202 survives; no order is ever sent twice; orders whose send may
// have started come back PROCESSING and are settled by query; stored-but-unsent orders are
// sent after the restart.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Stack } = require('./lib/stack');
const { waitFor, tradeNo, sleep, pool } = require('./lib/util');
const { assertStatus, assertSigned } = require('./lib/assertx');

let stack;

before(async () => {
  stack = await Stack.start({ name: 'crash', firstQueryDelayMs: 300, queryBackoffMs: '300,500,1000', timeoutMs: 1500 });
}, { timeout: 60000 });

after(async () => {
  if (stack) await stack.stop();
});

async function precreateCounts(nos) {
  const reqs = await stack.simRequests(undefined, 'alipay.trade.precreate');
  const per = new Map(nos.map((n) => [n, []]));
  for (const r of reqs) if (per.has(r.out_trade_no)) per.get(r.out_trade_no).push(r);
  return per;
}

async function statusOf(no) {
  const o = await stack.adminOrder(no);
  return o ? o.status : null;
}

test('kill -9 with ~100 payments arriving and in flight: 202s survive, nothing is sent twice, everything settles', { timeout: 180000 }, async () => {
  await stack.simScript({ default: true, precreate: 'delay:300', query: 'success' });
  const N = 100;
  const KILL_AFTER = 50;
  const PACE_MS = 10; // requests keep arriving over ~1 s, so the kill lands in the middle of them
  const nos = Array.from({ length: N }, () => tradeNo('K'));
  const accepted = new Map();
  let killAt = 0;
  const results = await Promise.all(nos.map((no, i) => sleep(i * PACE_MS).then(() => stack.pay(no)).then((r) => {
    if (r.status === 202) {
      accepted.set(no, r.json.voucher_id);
      if (!killAt && accepted.size >= KILL_AFTER) {
        killAt = Date.now();
        process.kill(stack.coreProc.pid, 'SIGKILL');
      }
    }
    return { no, status: r.status, text: r.text };
  }, (e) => ({ no, status: 0, text: e.message }))));
  if (!killAt) {
    killAt = Date.now();
    process.kill(stack.coreProc.pid, 'SIGKILL');
  }
  await stack.coreProc.exitPromise;
  const statuses = results.reduce((m, r) => ({ ...m, [r.status]: (m[r.status] || 0) + 1 }), {});
  console.log(`answers around the kill: ${JSON.stringify(statuses)}`);
  assert.ok(accepted.size >= KILL_AFTER);
  for (const r of results) {
    assert.ok([202, 0, 502, 503, 504].includes(r.status), `unexpected answer ${r.status} ${r.text}`);
  }
  const atKill = await precreateCounts(nos);

  await sleep(500); // the channel keeps answering to a dead client meanwhile
  const restartAt = Date.now();
  await stack.startCore();

  // every 202 survived
  for (const [no, vid] of accepted) {
    const o = await stack.adminOrder(no);
    assert.ok(o, `${no} got a 202 and must survive kill -9`);
    const p = await stack.payment(no);
    assertStatus(p, 200);
    assert.equal(p.json.voucher_id, vid);
  }

  // nothing stays ACCEPTED: unsent orders are sent, possibly-sent ones become PROCESSING
  await waitFor('no order left ACCEPTED', async () => {
    const out = [];
    for (const no of nos) out.push([no, await statusOf(no)]);
    return out.filter(([, s]) => s === 'ACCEPTED');
  }, (left) => left.length === 0, { timeoutMs: 30000, intervalMs: 300 });

  const afterRestart = await precreateCounts(nos);
  let sentBefore = 0;
  let inFlight = 0;
  let sentAfter = 0;
  let neverSent = 0;
  for (const no of nos) {
    const list = afterRestart.get(no);
    assert.ok(list.length <= 1, `${no} was sent ${list.length} times`);
    if (list.length === 0) {
      neverSent++;
      const s = await statusOf(no);
      if (s !== null) assert.equal(s, 'PROCESSING', `${no} exists, was never seen by the channel: must be PROCESSING, is ${s}`);
      continue;
    }
    const pre = list[0];
    if (pre.t >= restartAt) sentAfter++;
    else if (pre.response && pre.response.status === 200 && pre.response.t < killAt) sentBefore++;
    else inFlight++;
    assert.ok(atKill.get(no).length <= 1);
  }
  console.log(`${accepted.size} accepted; precreates: answered before the kill ${sentBefore}, in flight at the kill ${inFlight}, sent after the restart ${sentAfter}, never sent ${neverSent}`);

  // the buyers pay; the query scheduler settles every order the channel knows
  const known = nos.filter((no) => afterRestart.get(no).length === 1);
  await pool(known, 10, (no) => stack.simPay(no));
  await waitFor('every order known to the channel SUCCESS', async () => {
    const left = [];
    for (const no of known) {
      const s = await statusOf(no);
      if (s !== 'SUCCESS') left.push(`${no}:${s}`);
    }
    return left;
  }, (left) => left.length === 0, { timeoutMs: 60000, intervalMs: 500 });

  // still nobody sent twice, and nobody FAILED
  const final = await precreateCounts(nos);
  for (const no of nos) {
    assert.ok(final.get(no).length <= 1, `${no} was sent ${final.get(no).length} times`);
    const s = await statusOf(no);
    assert.ok(s === null || s === 'SUCCESS' || s === 'PROCESSING', `${no} is ${s}`);
  }

  // the same request again after the crash: same voucher, no new send
  for (const [no, vid] of [...accepted].slice(0, 5)) {
    const r = await stack.pay(no);
    assertStatus(r, 202);
    assertSigned(r);
    assert.equal(r.json.voucher_id, vid);
  }
  await sleep(1000);
  const again = await precreateCounts(nos);
  for (const no of nos) assert.ok(again.get(no).length <= 1);
  assert.equal((await stack.simCounts()).bad_sign, 0);
});

test('kill -9 while precreates hang at the channel: they come back PROCESSING, are queried, never resent', { timeout: 120000 }, async () => {
  await stack.sim('POST', '/_sim/reset');
  const nos = Array.from({ length: 5 }, () => tradeNo('KH'));
  for (const no of nos) await stack.simScript({ out_trade_no: no, precreate: 'timeout', query: 'success' });
  for (const no of nos) assertStatus(await stack.pay(no), 202);
  await waitFor('all precreates at the sim', async () => {
    const c = await Promise.all(nos.map((no) => stack.simCounts(no)));
    return c.every((x) => x['alipay.trade.precreate'] === 1);
  }, Boolean, { timeoutMs: 10000, intervalMs: 20 });
  await stack.killCore();
  // paygwd died while every send was still open (channel timeout_ms is 1500)
  const pres = (await Promise.all(nos.map((no) => stack.simRequests(no, 'alipay.trade.precreate')))).map((l) => l[0]);
  const oldest = Math.min(...pres.map((p) => p.t));
  assert.ok(Date.now() - oldest < 1500, `kill came ${Date.now() - oldest} ms after the first send; too late to prove anything`);
  await stack.startCore();
  for (const no of nos) {
    await waitFor(`${no} queried after the restart`, () => stack.simCounts(no), (c) => c['alipay.trade.query'] >= 1, { timeoutMs: 15000 });
    const s = await stack.paymentStatus(no);
    assert.equal(s, 'PROCESSING', `${no} after restart`);
  }
  await sleep(1000);
  for (const no of nos) assert.equal((await stack.simCounts(no))['alipay.trade.precreate'], 1, `${no} must not be resent`);
  for (const no of nos) await stack.simPay(no);
  for (const no of nos) {
    await waitFor(`${no} SUCCESS`, () => stack.paymentStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 15000 });
    assert.equal((await stack.simCounts(no))['alipay.trade.precreate'], 1);
  }
});

test('kill -9 on the first 202 of a burst: orders stored but not yet sent are sent after the restart, once', { timeout: 120000 }, async () => {
  await stack.sim('POST', '/_sim/reset');
  await stack.simScript({ default: true, precreate: 'delay:300', query: 'success' });
  const nos = Array.from({ length: 40 }, () => tradeNo('KB'));
  let killAt = 0;
  const accepted = new Set();
  await Promise.all(nos.map((no) => stack.pay(no).then((r) => {
    if (r.status === 202) {
      accepted.add(no);
      if (!killAt) {
        killAt = Date.now();
        process.kill(stack.coreProc.pid, 'SIGKILL');
      }
    }
  }, () => {})));
  await stack.coreProc.exitPromise;
  assert.ok(killAt, 'at least one 202 before the kill');
  const restartAt = Date.now();
  await stack.startCore();
  for (const no of accepted) assert.ok(await stack.adminOrder(no), `${no} got a 202 and must survive`);
  await waitFor('no order left ACCEPTED', async () => {
    const left = [];
    for (const no of nos) if ((await statusOf(no)) === 'ACCEPTED') left.push(no);
    return left;
  }, (left) => left.length === 0, { timeoutMs: 30000, intervalMs: 300 });
  await sleep(1000);
  const per = await precreateCounts(nos);
  let stored = 0;
  let sentAfter = 0;
  for (const no of nos) {
    const list = per.get(no);
    assert.ok(list.length <= 1, `${no} was sent ${list.length} times`);
    const s = await statusOf(no);
    if (s !== null) stored++;
    if (list.length === 1 && list[0].t >= restartAt) sentAfter++;
    if (list.length === 0 && s !== null) assert.equal(s, 'PROCESSING', `${no} stored, never seen by the channel`);
  }
  console.log(`burst: ${accepted.size} answered 202 before the kill, ${stored} stored, ${sentAfter} sent only after the restart`);
  const known = nos.filter((no) => per.get(no).length === 1);
  await pool(known, 10, (no) => stack.simPay(no));
  await waitFor('every order known to the channel SUCCESS', async () => {
    const left = [];
    for (const no of known) if ((await statusOf(no)) !== 'SUCCESS') left.push(no);
    return left;
  }, (left) => left.length === 0, { timeoutMs: 60000, intervalMs: 500 });
  const final = await precreateCounts(nos);
  for (const no of nos) assert.ok(final.get(no).length <= 1, `${no} was sent ${final.get(no).length} times`);
});
