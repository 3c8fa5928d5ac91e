'use strict';
// bench.js — `make bench`: figures for the walking skeleton, each printed beside a
// baseline measured in the same run on the same stack (loopback only, every load loop
// bounded in time and count).
//
//  1. front baseline: an unsigned GET that nginx answers itself (no module work, no core)
//  2. voucher latency: signed POST /v1/payments while the simulated channel takes 500 ms
//     per precreate — the 202 must not wait for it (a synchronous gateway's floor is the
//     500 ms channel round trip: that is the baseline here)
//  3. accepted-to-settled throughput: orders accepted, prepaid at the channel and settled
//     to SUCCESS by the query scheduler; baseline: the channel's own precreate+query rate
//     driven directly (what the channel alone can do on this machine)

const { Stack } = require('../tests/e2e/lib/stack');
const { request } = require('../tests/e2e/lib/http');

const DURATION_CAP_MS = 60000;

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function pool(n, concurrency, fn) {
  let next = 0;
  const lat = [];
  const deadline = Date.now() + DURATION_CAP_MS;
  async function worker() {
    while (next < n && Date.now() < deadline) {
      const i = next++;
      const t0 = process.hrtime.bigint();
      await fn(i);
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const t0 = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { lat: lat.sort((a, b) => a - b), secs: (Date.now() - t0) / 1000 };
}

function row(name, r, extra = '') {
  const rate = r.lat.length / r.secs;
  console.log(`${name.padEnd(44)} n=${String(r.lat.length).padStart(5)}  ` +
    `p50 ${pct(r.lat, 50).toFixed(2).padStart(7)} ms  p99 ${pct(r.lat, 99).toFixed(2).padStart(7)} ms  ` +
    `${rate.toFixed(0).padStart(6)} req/s ${extra}`);
  return rate;
}

async function main() {
  const n = Number(process.env.BENCH_N || 1000);
  const conc = Number(process.env.BENCH_CONCURRENCY || 32);
  // the simulator is not Alipay: lift the pack's published caps (qps 100, the
  // bulkhead enforces them) so the figures are the gateway's, not the channel's
  const stack = await Stack.start({ name: 'bench', firstQueryDelayMs: 200,
    queryBackoffMs: '200,400,800', timeoutMs: 5000, connectTimeoutMs: 3000,
    extraConf: ['channel alipay qps 100000', 'channel alipay max_concurrency 2000',
      'channel alipay queue_max 10000'] });
  try {
    const run = Date.now().toString(36).toUpperCase();
    console.log(`paygw bench: ${n} requests per row, concurrency ${conc}, loopback`);

    // 1. front baseline
    const base = await pool(n, conc, () => request({ port: stack.ports.nginx, method: 'GET', path: '/bench-baseline' }));
    const baseRate = row('baseline: nginx answers itself (404 JSON)', base);

    // 2. voucher latency with a 500 ms channel
    await stack.simScript({ default: true, precreate: 'delay:500', query: 'trade_status:TRADE_SUCCESS' });
    const acc = await pool(n, conc, async (i) => {
      const r = await stack.pay(`BV${run}${i}`);
      if (r.status !== 202) throw new Error(`pay ${i}: HTTP ${r.status} ${r.raw}`);
    });
    const accRate = row('signed POST /v1/payments → 202 voucher', acc,
      `(${(pct(acc.lat, 50) / pct(base.lat, 50)).toFixed(1)}× the baseline p50; ` +
      `channel round trip 500 ms = ${(500 / pct(acc.lat, 99)).toFixed(0)}× the voucher p99)`);

    // 3. accepted-to-settled: every order of step 2 must reach SUCCESS through the
    //    scheduler's query; measure from the first accept until the last SUCCESS
    await stack.simScript({ default: true, precreate: 'success', query: 'trade_status:TRADE_SUCCESS' });
    const settleN = Math.min(n, 1000);
    const t0 = Date.now();
    await pool(settleN, conc, async (i) => {
      const r = await stack.pay(`BS${run}${i}`);
      if (r.status !== 202) throw new Error(`pay ${i}: HTTP ${r.status}`);
    });
    let settled = 0;
    const deadline = Date.now() + DURATION_CAP_MS;
    for (let i = 0; i < settleN && Date.now() < deadline; i++) {
      for (;;) {
        const st = await stack.paymentStatus(`BS${run}${i}`);
        if (st === 'SUCCESS') { settled++; break; }
        if (st === 'FAILED' || st === 'CLOSED' || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const secs = (Date.now() - t0) / 1000;
    const settleRate = settled / secs;

    // baseline for 3: the channel alone (precreate + query straight at the simulator,
    // unsigned by us, rejected by its signature check: its HTTP cost only)
    const chan = await pool(settleN, conc, async () => {
      await request({ port: stack.ports.sim, method: 'POST', path: '/gateway.do',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'method=alipay.trade.query&app_id=x&sign=x' });
    });
    const chanRate = chan.lat.length / chan.secs;
    console.log(`${'accepted → SUCCESS (query settles it)'.padEnd(44)} n=${String(settled).padStart(5)}  ` +
      `${settleRate.toFixed(0)} orders/s over ${secs.toFixed(1)} s ` +
      `(first-query delay 200 ms; channel alone: ${chanRate.toFixed(0)} calls/s, ratio ${(settleRate / chanRate).toFixed(2)})`);
    if (settled !== settleN) {
      throw new Error(`only ${settled} of ${settleN} orders settled`);
    }
    console.log(`summary: voucher p50 ${pct(acc.lat, 50).toFixed(1)} ms p99 ${pct(acc.lat, 99).toFixed(1)} ms ` +
      `at ${accRate.toFixed(0)} req/s (baseline ${baseRate.toFixed(0)} req/s); ` +
      `settled ${settleRate.toFixed(0)} orders/s`);
  } finally {
    await stack.stop(false);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
