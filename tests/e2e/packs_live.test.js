'use strict';
// Hot, versioned packs (issue 7 items 1-2, "must hold"; docs/pack-versions.md), end to end
// through nginx + paygwd + the simulator, with paygwd reading its own copy of templates/
// and scripts/ that the test edits.
//  1. Under steady load to alipay: a new version is written (the watcher reloads it after
//     its fixtures pass), then a broken one (refused: the new version keeps serving, the
//     refusal names file and line, an alert is raised), then ops roll back. No request
//     fails because of the swaps, none is sent twice, each order carries the version that
//     built it, and the broken one never serves.
//  2. A canary (reload --canary 50 through paygwctl) takes a share of new pays; when its
//     parser fails on some answers its error rate rises and paygwd drops it by itself
//     (alert, event); the orders it touched stay PROCESSING, never FAILED. A good canary
//     is promoted.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { Stack, BUILD } = require('./lib/stack');
const { sleep, tradeNo, pool, waitFor } = require('./lib/util');

const RATE = 40;                // orders per second offered
const body = (over = {}) => ({ method: 'alipay.qr', currency: 'CNY', amount: 1000, channel: 'alipay', ...over });

function sql(stack, q) {
  const t = execFileSync('sqlite3', ['-json', stack.dbFile, q], { encoding: 'utf8' }).trim();
  return t ? JSON.parse(t) : [];
}
async function status(stack) {
  const r = await stack.admin('GET', '/admin/channels');
  assert.equal(r.status, 200, r.text);
  return r.json.channels.find((c) => c.channel === 'alipay');
}
// steady load until stop() resolves; returns what was sent
function steadyLoad(stack, prefix) {
  const sent = [];
  const inflight = new Set();
  let stopped = false;
  const t0 = Date.now();
  const loop = (async () => {
    for (let i = 0; !stopped && Date.now() - t0 < 60000; i++) {
      const wait = t0 + (i * 1000) / RATE - Date.now();
      if (wait > 0) await sleep(wait);
      const no = tradeNo(prefix);
      const p = stack.pay(no, body())
        .then((r) => sent.push({ no, status: r.status, text: r.text }))
        .catch((e) => sent.push({ no, status: 0, text: String(e) }))
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
  })();
  return {
    sent,
    async stop() {
      stopped = true;
      await loop;
      await Promise.all([...inflight]);
      return sent;
    },
  };
}
// every order: 202, stored once, one pay attempt with its version, one pay at the simulator
async function accountFor(stack, sent, prefix) {
  assert.deepEqual(sent.filter((s) => s.status !== 202), [], 'every request accepted');
  // every accepted order dispatched and its pay answered before counting
  await waitFor('every pay attempt finished', () => sql(stack, "SELECT COUNT(*) AS n FROM orders o"
    + ` WHERE o.out_trade_no LIKE '${prefix}%' AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.order_id = o.id`
    + " AND a.op = 'pay' AND a.state <> 'SENDING')"), (r) => r[0].n === 0, { timeoutMs: 20000, intervalMs: 100 });
  const rows = sql(stack, "SELECT o.out_trade_no AS no, o.created_at AS at, COUNT(a.id) AS pays,"
    + " MIN(a.pack_version) AS v, MAX(a.pack_version) AS v2, MIN(o.pack_version) AS ov"
    + ` FROM orders o LEFT JOIN attempts a ON a.order_id = o.id AND a.op = 'pay' WHERE o.out_trade_no LIKE '${prefix}%'`
    + ' GROUP BY o.id');
  assert.equal(rows.length, sent.length, 'one stored order per accepted request');
  const twice = [];
  await pool(rows, 16, async (r) => {
    assert.equal(r.pays, 1, `${r.no}: one pay attempt`);
    assert.equal(r.v, r.v2);
    assert.equal(r.ov, r.v, `${r.no}: the order carries the version of its pay`);
    const c = await stack.simCounts(r.no);
    if ((c['alipay.trade.precreate'] || 0) !== 1) twice.push(`${r.no}: ${JSON.stringify(c)}`);
  });
  assert.deepEqual(twice, [], 'exactly one pay per order at the simulator');
  return rows;
}

describe('pack versions under steady load: new, broken, rollback', () => {
  let stack;
  before(async () => {
    stack = await Stack.start({
      name: 'packs-live', copyPacks: true, appOptions: { A1: 'rate=off concurrency=off' },
      firstQueryDelayMs: 60000, queryBackoffMs: '60000',
    });
  }, { timeout: 90000 });
  after(async () => { if (stack) await stack.stop(); });

  it('no request fails because of a swap, none is sent twice, each order carries its version', async (t) => {
    const script = path.join(stack.scriptsDir, 'alipay.lua');
    const template = path.join(stack.templatesDir, 'alipay.lua');
    const original = fs.readFileSync(script, 'utf8');
    const v1 = (await status(stack)).version;
    assert.match(v1, /^[0-9a-f]{12}$/);
    const load = steadyLoad(stack, 'PV');

    await sleep(1500);
    // 1. a new version: the watcher compiles it, runs its fixtures, swaps it in
    fs.writeFileSync(script, `${original}\n-- v2: clarified a comment\n`);
    const s2 = await waitFor('v2 serving', () => status(stack), (s) => s.version !== v1, { timeoutMs: 10000, intervalMs: 50 });
    const v2 = s2.version;
    const v2At = Date.now();
    assert.equal(s2.previous, v1);
    assert.equal(s2.last_reload.result, 'installed');

    await sleep(1500);
    // 2. a broken version: refused, v2 keeps serving, the refusal names file and line
    fs.appendFileSync(template, '\nthis is not lua at all\n');
    const s3 = await waitFor('broken refused', () => status(stack), (s) => s.last_reload.result === 'refused', { timeoutMs: 10000, intervalMs: 50 });
    assert.equal(s3.version, v2);
    assert.match(s3.last_reload.error, /alipay\.lua:\d+:/);
    const alerts = sql(stack, "SELECT detail FROM discrepancies WHERE kind = 'pack_reload_failed'");
    assert.equal(alerts.length, 1);
    assert.match(alerts[0].detail, /alipay: .*alipay\.lua:\d+:/);

    await sleep(1500);
    // 3. ops roll back (paygwctl, over the admin API): v1 again in one step
    const rb = spawnSync(path.join(BUILD, 'paygwctl'), ['-A', `http://127.0.0.1:${stack.ports.admin}`, '-T', stack.adminToken,
      'channel', 'rollback', 'alipay', '--reason', 'v2 misbehaves', '--who', 'e2e-ops'], { encoding: 'utf8' });
    assert.equal(rb.status, 0, rb.stderr);
    assert.match(rb.stdout, new RegExp(`alipay: rolled_back, version ${v1} \\(was ${v2}\\)`));
    const rbAt = Date.now();
    assert.equal((await status(stack)).version, v1);

    await sleep(1500);
    const sent = await load.stop();
    const rows = await accountFor(stack, sent, 'PV');
    const versions = new Set(rows.map((r) => r.v));
    assert.deepEqual([...versions].sort(), [v1, v2].sort(), 'only v1 and v2 ever served');
    const midV2 = rows.filter((r) => r.at > v2At + 200 && r.at < rbAt - 200);
    const afterRb = rows.filter((r) => r.at > rbAt + 200);
    assert.ok(midV2.length > RATE && afterRb.length > RATE / 2, `${midV2.length} / ${afterRb.length}`);
    assert.deepEqual(midV2.filter((r) => r.v !== v2).map((r) => r.no), [], 'accepted after the swap: v2');
    assert.deepEqual(afterRb.filter((r) => r.v !== v1).map((r) => r.no), [], 'accepted after the rollback: v1');
    const ev = (await stack.admin('GET', '/admin/channels/events')).json.events.filter((e) => e.channel === 'alipay').map((e) => e.action);
    assert.deepEqual(ev.slice(0, 3), ['rolled_back', 'refused', 'installed']);
    t.diagnostic(`${rows.length} orders: ${rows.filter((r) => r.v === v1).length} on ${v1}, ${rows.filter((r) => r.v === v2).length} on ${v2}`);
  });
});

describe('canary: a share of new pays, rolled back by itself when its error rate rises', () => {
  let stack;
  let script;
  let original;
  const ctl = (...args) => spawnSync(path.join(BUILD, 'paygwctl'), ['-A', `http://127.0.0.1:${stack.ports.admin}`, '-T', stack.adminToken,
    'channel', ...args, '--who', 'e2e-ops'], { encoding: 'utf8' });
  before(async () => {
    // no watcher: this test stages versions through the admin API only
    stack = await Stack.start({
      name: 'packs-canary', copyPacks: true, appOptions: { A1: 'rate=off concurrency=off' },
      firstQueryDelayMs: 60000, queryBackoffMs: '60000',
      extraConf: ['pack_watch 0', 'canary_min_samples 8'],
    });
    script = path.join(stack.scriptsDir, 'alipay.lua');
    original = fs.readFileSync(script, 'utf8');
  }, { timeout: 90000 });
  after(async () => { if (stack) await stack.stop(); });

  async function payVersion(over = {}) {
    const no = tradeNo('CN');
    const r = await stack.pay(no, body(over));
    assert.equal(r.status, 202, r.text);
    const a = await waitFor(`${no} answered`, () => sql(stack, "SELECT a.pack_version AS v, a.state AS s FROM attempts a JOIN orders o"
      + ` ON o.id = a.order_id WHERE o.out_trade_no = '${no}' AND a.op = 'pay'`), (x) => x.length === 1 && x[0].s !== 'SENDING',
    { timeoutMs: 10000, intervalMs: 50 });
    return { no, v: a[0].v };
  }

  it('a canary whose parser fails on some answers is dropped by itself; its orders stay PROCESSING', async () => {
    const v1 = (await status(stack)).version;
    // the canary's parser fails on every answer for amount 4242 (its fixtures do not see it)
    fs.writeFileSync(script, original.replace('function S.parse.pay(resp, order, ctx)\n',
      'function S.parse.pay(resp, order, ctx)\n  if order ~= nil and order.amount == 4242 then error("canary bug") end\n'));
    const r = ctl('reload', 'alipay', '--canary', '50', '--reason', 'try the new parser');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /alipay: canary, version [0-9a-f]{12} \(was /);
    const st = await status(stack);
    const vc = st.canary.version;
    assert.equal(st.version, v1);
    assert.equal(st.canary.pct, 50);
    const seen = { [v1]: [], [vc]: [] };
    for (let i = 0; i < 80 && (await status(stack)).canary; i++) {
      const p = await payVersion({ amount: 4242 });
      seen[p.v].push(p.no);
    }
    const after = await status(stack);
    assert.equal(after.canary, undefined, 'the canary was dropped');
    assert.equal(after.version, v1);
    assert.equal(after.last_reload.result, 'rolled_back');
    assert.match(after.last_reload.error, /canary [0-9a-f]{12}: \d+ errors in \d+ outcomes/);
    assert.ok(seen[vc].length >= 8 && seen[v1].length >= 1, `v1 ${seen[v1].length}, canary ${seen[vc].length}`);
    const alert = sql(stack, "SELECT code, detail FROM discrepancies WHERE kind = 'pack_canary_rolled_back'");
    assert.equal(alert.length, 1);
    assert.equal(alert[0].code, 'alipay');
    // the canary's broken answers are PROCESSING, never FAILED
    for (const no of seen[vc].slice(0, 5)) assert.equal(await stack.paymentStatus(no), 'PROCESSING');
    // after the rollback every new pay is on v1
    for (let i = 0; i < 5; i++) assert.equal((await payVersion()).v, v1);
  });

  it('a good canary is promoted; a reload of unchanged files changes nothing; bad input is refused', async () => {
    const v1 = (await status(stack)).version;
    fs.writeFileSync(script, `${original}\n-- v3\n`);
    assert.equal(ctl('reload', 'alipay', '--canary', '30', '--reason', 'v3').status, 0);
    const vc = (await status(stack)).canary.version;
    const p = ctl('promote', 'alipay', '--reason', 'v3 looks good');
    assert.equal(p.status, 0, p.stderr);
    const s = await status(stack);
    assert.equal(s.version, vc);
    assert.equal(s.previous, v1);
    assert.equal(s.canary, undefined);
    for (let i = 0; i < 3; i++) assert.equal((await payVersion()).v, vc);
    const u = ctl('reload', 'alipay', '--reason', 'same files');
    assert.equal(u.status, 0, u.stderr);
    assert.match(u.stdout, /alipay: unchanged/);
    assert.equal(ctl('promote', 'alipay', '--reason', 'nothing to promote').status, 1);
    assert.equal(ctl('reload', 'nosuch', '--reason', 'x').status, 1);
    assert.equal(ctl('reload', 'alipay').status, 2, 'no --reason: usage');
    const st = ctl('status');
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, new RegExp(`alipay\\s+${vc}\\s+${v1}\\s+-\\s+unchanged`));
  });
});
