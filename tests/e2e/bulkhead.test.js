'use strict';
// Per-channel bulkheads (issue 5 item 5; docs/bulkheads.md), end to end: channel A
// (alipay) hangs — the simulator holds every pay request 30 s, A's timeout_ms is 30 s —
// while channel B (wechatpay_v2) takes a steady open-loop load of sync payments through
// nginx. B's p50/p99 and throughput with A hung stay within 10 % (+5 ms absolute floor for
// timer noise) of its figures with A healthy under the same side traffic; A holds at most max_concurrency sends, its queue fills and the
// excess pays are NOT_SENT with the cap message and never reach the simulator; no request
// is lost. The rate aims at 500 req/s (issue 5) and is lowered to what this machine's
// stack sustains (PAYGW_BULKHEAD_RATE forces one); the figures are printed side by side.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Stack, trace } = require('./lib/stack');
const { waitFor, tradeNo, sleep, percentile } = require('./lib/util');

const A = 'alipay';
const B = 'wechatpay_v2';
const A_CAP = 4;
const A_QUEUE = 4;
const PHASE_MS = Number(process.env.PAYGW_BULKHEAD_PHASE_MS || 8000);
let stack;

before(async () => {
  stack = await Stack.start({
    name: 'bulkhead', channels: [B], timeoutMs: 5000,
    appOptions: { A1: 'rate=off concurrency=off' },   // the load is ours, not the edge's limits
    firstQueryDelayMs: 60000, queryBackoffMs: '60000',
    extraConf: [
      `channel ${A} timeout_ms 30000`,
      `channel ${A} max_concurrency ${A_CAP}`,
      `channel ${A} queue_max ${A_QUEUE}`,
      `channel ${A} queue_wait_ms 2000`,
      // B's manifest caps it at 100 qps (what WeChat Pay publishes); the simulator takes
      // more, and issue 5 asks for B at 500 req/s
      `channel ${B} max_concurrency 500`,
      `channel ${B} qps 2000`,
    ],
  });
}, { timeout: 90000 });

after(async () => {
  if (stack) await stack.stop();
});

const bBody = { method: 'wechat.native', currency: 'CNY', amount: 1000, channel: B };

// one pay on B, end to end: accepted (202), then its voucher READY (the channel's answer
// came back); the latency (ms) of both and whether it got there
async function payB(prefix) {
  const no = tradeNo(prefix);
  const t0 = process.hrtime.bigint();
  const since = () => Number(process.hrtime.bigint() - t0) / 1e6;
  try {
    const r = await stack.pay(no, bBody, { timeoutMs: 20000 });
    if (r.status !== 202) return { no, ms: since(), ok: false, err: `pay ${r.status} ${r.text.slice(0, 200)}` };
    const v = await stack.voucher(r.json.voucher_id, 10000);
    const ok = v.status === 200 && v.json && v.json.status === 'READY';
    return { no, ms: since(), ok, err: ok ? '' : `voucher ${v.status} ${v.text.slice(0, 200)}` };
  } catch (e) {
    return { no, ms: since(), ok: false, err: String(e) };
  }
}

// closed loop, `conc` in flight, for ms: what the stack sustains here
async function capacity(conc, ms) {
  const end = Date.now() + ms;
  let n = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (Date.now() < end) {
      const r = await payB('BC');
      assert.ok(r.ok, r.err);
      n++;
    }
  }));
  return (n * 1000) / (Date.now() - t0);
}

// open loop at `rate` req/s for ms (issued in 10 ms ticks); every request awaited
async function load(rate, ms, prefix, side) {
  const results = [];
  const pending = [];
  const t0 = Date.now();
  let issued = 0;
  while (Date.now() - t0 < ms) {
    const due = Math.floor(((Date.now() - t0) * rate) / 1000);
    while (issued < due) {
      issued++;
      pending.push(payB(prefix).then((r) => results.push(r)));
    }
    if (side) side(Date.now() - t0);
    await sleep(10);
  }
  await Promise.all(pending);
  const elapsed = Date.now() - t0;
  const lat = results.filter((r) => r.ok).map((r) => r.ms);
  return {
    issued, answered: lat.length, failed: results.filter((r) => !r.ok),
    rps: (lat.length * 1000) / elapsed,
    p50: percentile(lat, 50), p99: percentile(lat, 99),
  };
}

let labels;
async function simPays(ch, op, no) {
  if (!labels) {
    labels = {};
    for (const c of (await stack.sim('GET', '/_sim/channels')).channels) labels[c.name] = c.ops;
  }
  const c = await stack.sim('GET', `/_sim/counts?channel=${ch}&out_trade_no=${encodeURIComponent(no)}`);
  return c[labels[ch][op]] || 0;
}

async function metric(name, ch) {
  const r = await stack.admin('GET', '/metrics');
  assert.equal(r.status, 200, r.text);
  const m = new RegExp(`^${name}\\{channel="${ch}"\\} (\\d+)$`, 'm').exec(r.text);
  return m ? Number(m[1]) : null;
}

describe('bulkhead: a hung channel never delays another', () => {
  it('B keeps its latency and throughput while A hangs; A sheds the excess as NOT_SENT', async () => {
    // warm up B, then find what the stack sustains on this machine
    await capacity(8, 1000);
    const cap = await capacity(32, 2000);
    const rate = Number(process.env.PAYGW_BULKHEAD_RATE) || Math.min(500, Math.floor(cap * 0.6));
    console.log(`# bulkhead: closed-loop capacity of B through nginx ${cap.toFixed(0)} req/s; `
      + `driving B at ${rate} req/s open loop (issue 5 asks 500)`);

    // the same side traffic on A in both phases: 10 pays/s
    const aOrders = [];
    const aHealthy = [];
    const payA = async (list) => {
      const no = tradeNo('AH');
      list.push(no);
      const r = await stack.pay(no, {});
      assert.equal(r.status, 202, r.text);
    };
    const side = (list) => {
      const pays = [];
      let n = 0;
      return {
        pays,
        tick: (t) => {
          while (n < Math.floor(t / 100)) {
            n++;
            pays.push(payA(list));
          }
        },
      };
    };

    // phase 1: B with A healthy (A answers at once)
    const s1 = side(aHealthy);
    const alone = await load(rate, PHASE_MS, 'BA', s1.tick);
    await Promise.all(s1.pays);

    // A hangs: every pay held 30 s by the simulator
    await stack.sim('POST', '/_sim/script', { channel: A, default: true, precreate: 'delay:30000' });
    await Promise.all(Array.from({ length: A_CAP + A_QUEUE + 6 }, () => payA(aOrders)));
    await waitFor('A at its cap with a full queue', async () => ({
      inFlight: await metric('paygw_channel_in_flight', A),
      rejected: await metric('paygw_channel_rejected_total', A),
    }), (m) => m.inFlight === A_CAP && m.rejected >= 6, { timeoutMs: 10000, intervalMs: 100 });

    // phase 2: the same load on B and A while A is hung
    const s2 = side(aOrders);
    const hung = await load(rate, PHASE_MS, 'BH', s2.tick);
    await Promise.all(s2.pays);
    assert.equal(await metric('paygw_channel_in_flight', A), A_CAP, 'A held only its cap');
    const rejectedHung = await metric('paygw_channel_rejected_total', A);

    // A heals: its held sends answer when their 30 s are up, the queue empties; then
    // phase 3: B with A healthy again (before and after: drift over the run cancels out)
    await stack.sim('POST', '/_sim/script', { channel: A, default: true, precreate: 'success' });
    await waitFor('A drained', async () => ({
      inFlight: await metric('paygw_channel_in_flight', A),
      queued: await metric('paygw_channel_queued', A),
    }), (m) => m.inFlight === 0 && m.queued === 0, { timeoutMs: 45000, intervalMs: 250 });
    const s3 = side(aHealthy);
    const after = await load(rate, PHASE_MS, 'BB', s3.tick);
    await Promise.all(s3.pays);

    const row = (k, f) => `${k.padEnd(16)} ${f(alone).padStart(12)} ${f(hung).padStart(12)} ${f(after).padStart(12)}`;
    console.log([
      `# bulkhead figures (B = ${B}, A = ${A}; ${PHASE_MS} ms per phase, offered ${rate} req/s)`,
      `${''.padEnd(16)} ${'A healthy'.padStart(12)} ${'A hung'.padStart(12)} ${'A healthy'.padStart(12)}`,
      row('answered', (x) => String(x.answered)),
      row('throughput/s', (x) => x.rps.toFixed(1)),
      row('p50 ms', (x) => x.p50.toFixed(2)),
      row('p99 ms', (x) => x.p99.toFixed(2)),
    ].map((l) => `# ${l}`).join('\n'));

    // no B request lost or failed
    for (const [name, x] of [['A healthy', alone], ['A hung', hung], ['A healthy again', after]]) {
      assert.deepEqual(x.failed, [], `B with ${name}: every pay answered`);
      assert.equal(x.answered, x.issued, `B with ${name}: nothing lost`);
    }
    // within 10 % (+5 ms absolute for timer noise) of B's figures with A healthy (the
    // healthy runs before and after: the range this machine gives with nothing hung)
    const hRps = Math.min(alone.rps, after.rps);
    const hP50 = Math.max(alone.p50, after.p50);
    const hP99 = Math.max(alone.p99, after.p99);
    assert.ok(hung.rps >= hRps * 0.9, `throughput ${hung.rps.toFixed(1)} vs ${hRps.toFixed(1)}`);
    assert.ok(hung.p50 <= hP50 * 1.1 + 5, `p50 ${hung.p50.toFixed(2)} vs ${hP50.toFixed(2)}`);
    assert.ok(hung.p99 <= hP99 * 1.1 + 5, `p99 ${hung.p99.toFixed(2)} vs ${hP99.toFixed(2)}`);

    // A: at most A_CAP sends ever reached the simulator, one per order; every other pay is
    // either still waiting in A's queue or NOT_SENT with the cap message, never sent
    let reached = 0;
    let notSent = 0;
    for (const no of aOrders) {
      const o = await waitFor(`${no} in paygwd`, () => stack.adminOrder(no), Boolean, { timeoutMs: 5000, intervalMs: 50 });
      const pays = await waitFor(`${no}: pay attempt`, async () => trace.attempts(await stack.adminOrder(no)).filter((a) => a.op === 'pay'),
        (a) => a.length >= 1, { timeoutMs: 5000, intervalMs: 50 });
      assert.ok(o);
      assert.equal(pays.length, 1, `${no}: one pay attempt, got ${JSON.stringify(pays)}`);
      const sent = await simPays(A, 'precreate', no);   // alipay.qr's pay call
      assert.ok(sent <= 1, `${no}: sent ${sent} times`);
      reached += sent;
      if (pays[0].state === 'NOT_SENT') {
        notSent++;
        assert.equal(sent, 0, `${no}: NOT_SENT but the simulator saw it`);
        assert.match(pays[0].error, new RegExp(`channel ${A} at its concurrency cap: (queue full|waited \\d+ ms)`));
        assert.equal(pays[0].class, 'NOT_SENT');
      } else {
        assert.equal(sent, 1, `${no}: ${JSON.stringify(pays[0])} not refused, so sent once`);
      }
    }
    console.log(`# A: ${aOrders.length} pays, ${reached} reached the simulator (cap ${A_CAP}), `
      + `${notSent} NOT_SENT by the bulkhead; rejected_total ${rejectedHung}`);
    assert.equal(reached, A_CAP);
    assert.equal(notSent, aOrders.length - A_CAP);
  }, { timeout: 120000 });
});
