'use strict';
// Statement reconciliation over a whole day (issue 6, item 4; docs/reconciliation.md):
// 100 000 Alipay orders of 2026-11-20 (Beijing time) written straight into paygwd's
// database (one sqlite3 transaction, paygwd stopped meanwhile), a GBK trade statement of
// that day in Alipay's layout with seeded differences, and `paygwctl recon run`. Every
// seeded difference must come back with its kind and nothing else, in under 30 s.
//
// Seeded: long (rows of no order of ours; rows of orders we hold PROCESSING), short
// (SUCCESS orders left off the statement), amount (the statement's amount + 1), status
// (orders we hold CLOSED / FAILED that the statement lists as paid), day cut (SUCCESS
// orders of the last 10 minutes left off: carried, not short). Before D, the run of D-1
// carries 15 orders of D-1's last minutes; 10 of them are on D's statement (matched, the
// carried items resolved), 5 are on neither (short on D). Noise that must stay silent:
// CLOSED and PROCESSING orders that are on no statement.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, execFile } = require('node:child_process');
const { Stack } = require('./lib/stack');
const { waitFor } = require('./lib/util');
const { writeStatement } = require('./lib/alipay_statement');

const N = 100000;
const DATE = '2026-11-20';
const PREV = '2026-11-19';
const D0 = Date.UTC(2026, 10, 19, 16, 0, 0);   // 2026-11-20 00:00 +08:00
const D1 = D0 + 86400000;
const WINDOW = 600000;
const STEP = 860;                                // ms between two orders of the day

let stack;

// order i (1..N) of the day; the same formulas are in the SQL below
const created = (i) => D0 + 1000 + (i - 1) * STEP;
const amount = (i) => 100 + (i % 5000);
const tradeNoOf = (i) => `2026112022001${String(i).padStart(10, '0')}`;
const outNo = (i) => `R${i}`;

function pick(from, to, count, taken) {
  const out = [];
  for (let i = from; out.length < count; i += 997) {
    const v = from + ((i - from) % (to - from));
    if (!taken.has(v)) {
      taken.add(v);
      out.push(v);
    }
  }
  return out;
}

function seedPlan() {
  const taken = new Set();
  // quiet noise first: never on a statement, never a finding
  const closedQuiet = []; const processingQuiet = [];
  for (let i = 1; i <= N; i++) {
    if (i % 50 === 7) { closedQuiet.push(i); taken.add(i); }
    else if (i % 97 === 3) { processingQuiet.push(i); taken.add(i); }
  }
  const cutFrom = Math.ceil((D1 - WINDOW - D0 - 1000) / STEP) + 1;   // first order in the window
  return {
    closedQuiet, processingQuiet, cutFrom,
    longProcessing: pick(1, cutFrom - 10, 30, taken),
    short: pick(11, cutFrom - 10, 50, taken),
    amount: pick(23, cutFrom - 10, 40, taken),
    statusClosed: pick(37, cutFrom - 10, 20, taken),
    statusFailed: pick(51, cutFrom - 10, 10, taken),
    carried: pick(cutFrom, N, 20, taken),
    longUnknown: Array.from({ length: 40 }, (_, k) => `X${k + 1}`),
  };
}

const statementFile = writeStatement;

function sql(q) {
  return execFileSync('sqlite3', [stack.dbFile], { input: q, encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
}

function ctl(args) {
  return new Promise((resolve) => {
    execFile(path.join(stack.build, 'paygwctl'), ['-A', `http://127.0.0.1:${stack.ports.admin}`, '-T', stack.adminToken, ...args],
      { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120000 }, (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

describe('reconciliation of a day of 100 000 orders', () => {
  let plan;
  let runD;
  let itemsD;
  const prevOnD = [];       // D-1 orders of the window that D's statement lists
  const prevOnNeither = []; // D-1 orders of the window on neither statement

  before(async () => {
    stack = await Stack.start({ name: 'recon-day', nginx: false, firstQueryDelayMs: 600000, queryBackoffMs: '600000' });
    await stack.coreProc.stop();
    plan = seedPlan();
    // the day, in one transaction: every order SUCCESS first, then the seeded statuses
    const list = (a) => a.join(',');
    const t0 = Date.now();
    sql(`BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
INSERT INTO orders (id, app_id, out_trade_no, voucher_id, request_hash, request, amount, currency, method,
  subject, expire_seconds, channel, pack_version, channel_trade_no, status, voucher_status, query_count,
  created_at, updated_at, finished_at)
SELECT i, 'A1', 'R' || i, printf('V%030d', i), 'h', '{}', 100 + (i % 5000), 'CNY', 'alipay.qr', 'order', 315360000,
  'alipay', 'seed', printf('2026112022001%010d', i), 'SUCCESS', 'SUCCESS', 0,
  ${D0 + 1000} + (i - 1) * ${STEP}, ${D0 + 1000} + (i - 1) * ${STEP} + 5000, ${D0 + 1000} + (i - 1) * ${STEP} + 5000 FROM n;
UPDATE orders SET status = 'CLOSED', voucher_status = 'CLOSED', channel_trade_no = NULL WHERE id IN (${list(plan.closedQuiet)});
UPDATE orders SET status = 'PROCESSING', voucher_status = 'PENDING', finished_at = NULL, channel_trade_no = NULL WHERE id IN (${list(plan.processingQuiet)});
UPDATE orders SET status = 'PROCESSING', voucher_status = 'PENDING', finished_at = NULL WHERE id IN (${list(plan.longProcessing)});
UPDATE orders SET status = 'CLOSED', voucher_status = 'CLOSED' WHERE id IN (${list(plan.statusClosed)});
UPDATE orders SET status = 'FAILED', voucher_status = 'FAILED' WHERE id IN (${list(plan.statusFailed)});
${Array.from({ length: 15 }, (_, k) => {
    const id = N + 1 + k;
    const c = D0 - 300000 + k * 1000;   // 2026-11-19 23:55 Beijing: D-1's day cut
    return `INSERT INTO orders (id, app_id, out_trade_no, voucher_id, request_hash, request, amount, currency, method, subject,
  expire_seconds, channel, pack_version, channel_trade_no, status, voucher_status, query_count, created_at, updated_at, finished_at)
  VALUES (${id}, 'A1', 'P${k + 1}', printf('V%030d', ${id}), 'h', '{}', 777, 'CNY', 'alipay.qr', 'order', 900, 'alipay', 'seed',
  '20261119220019${String(k + 1).padStart(9, '0')}', 'SUCCESS', 'SUCCESS', 0, ${c}, ${c + 400000}, ${c + 400000});`;
  }).join('\n')}
COMMIT;`);
    for (let k = 0; k < 15; k++) (k < 10 ? prevOnD : prevOnNeither).push(`P${k + 1}`);
    console.log(`# seeded ${N + 15} orders in ${Date.now() - t0} ms`);
    await stack.startCore();
  }, { timeout: 120000 });

  after(async () => {
    if (stack) await stack.stop();
  });

  it('D-1: its last minutes are carried, not short', async () => {
    const f = path.join(stack.dir, 'statement-prev.csv');
    statementFile(f, PREV, []);
    const r = await ctl(['recon', 'run', '--channel', 'alipay', '--date', PREV, '--file', f, '--who', 'e2e', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.run.state, 'DONE', r.stdout);
    assert.equal(rep.run.tz, '+08:00');
    assert.deepEqual(rep.items.map((x) => x.kind).sort(), Array(15).fill('recon_carried'));
    assert.ok(rep.items.every((x) => x.state === 'carried'));
  });

  it('D: every seeded difference with its kind, nothing else, in under 30 s', async () => {
    const rows = [];
    const skip = new Set([...plan.closedQuiet, ...plan.processingQuiet, ...plan.short, ...plan.carried]);
    for (let i = 1; i <= N; i++) {
      if (skip.has(i)) continue;
      rows.push({ no: outNo(i), tradeNo: tradeNoOf(i), fen: amount(i) + (plan.amount.includes(i) ? 1 : 0), created: created(i) });
    }
    for (const no of plan.longUnknown) rows.push({ no, tradeNo: `2026112022009${no.slice(1).padStart(10, '0')}`, fen: 4200, created: D0 + 7200000 });
    prevOnD.forEach((no, k) => rows.push({ no, tradeNo: `20261119220019${String(k + 1).padStart(9, '0')}`, fen: 777, created: D0 + 100000 }));
    const f = path.join(stack.dir, 'statement.csv');
    statementFile(f, DATE, rows);
    const size = fs.statSync(f).size;

    const t0 = Date.now();
    const r = await ctl(['recon', 'run', '--channel', 'alipay', '--date', DATE, '--file', f, '--who', 'e2e', '--json']);
    const ms = Date.now() - t0;
    console.log(`# recon run: ${rows.length} statement rows (${(size / 1048576).toFixed(1)} MiB), ${N + 15} orders: ${ms} ms`);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
    assert.ok(ms < 30000, `took ${ms} ms`);
    const rep = JSON.parse(r.stdout);
    runD = rep.run;
    itemsD = rep.items;
    assert.equal(runD.state, 'DONE');
    assert.equal(runD.error, null);
    assert.equal(runD.rows, rows.length);

    const expect = new Map();
    for (const i of plan.longProcessing) expect.set(outNo(i), 'recon_long');
    for (const no of plan.longUnknown) expect.set(no, 'recon_long');
    for (const i of plan.short) expect.set(outNo(i), 'recon_short');
    for (const no of prevOnNeither) expect.set(no, 'recon_short');
    for (const i of plan.amount) expect.set(outNo(i), 'recon_amount_mismatch');
    for (const i of [...plan.statusClosed, ...plan.statusFailed]) expect.set(outNo(i), 'recon_status_mismatch');
    for (const i of plan.carried) expect.set(outNo(i), 'recon_carried');

    const got = new Map();
    for (const it of itemsD) {
      assert.ok(!got.has(it.detail.out_trade_no), `${it.detail.out_trade_no} reported twice`);
      got.set(it.detail.out_trade_no, it.kind);
    }
    const missing = [...expect].filter(([no, k]) => got.get(no) !== k);
    const extra = [...got].filter(([no]) => !expect.has(no));
    assert.deepEqual(missing, [], 'seeded differences not found with their kind');
    assert.deepEqual(extra, [], 'findings nobody seeded');
    assert.deepEqual(runD.counts, {
      matched: rows.length - 70 - 40 - 30, long: 70, short: 55, amount_mismatch: 40, status_mismatch: 30,
      carried: 20, duplicate: 0,
    });
    // the amounts are in the evidence; a PROCESSING long is made due for its query
    const a = itemsD.find((x) => x.kind === 'recon_amount_mismatch');
    assert.equal(a.detail.their_amount, a.detail.our_amount + 1);
    const lp = itemsD.find((x) => x.detail.out_trade_no === outNo(plan.longProcessing[0]));
    assert.equal(lp.detail.query_due, true);
    assert.equal(lp.status, 'PROCESSING');
    const lu = itemsD.find((x) => x.detail.out_trade_no === 'X1');
    assert.equal(lu.order_id, null);
  });

  it('the statement changed no status (the PROCESSING longs were queried); D-1 carried items are resolved by D', async () => {
    // the run made their queries due; the sim knows none of them: "not found" keeps them PROCESSING
    await waitFor('a query of every PROCESSING order the statement lists', async () => Number(sql(
      `SELECT COUNT(DISTINCT order_id) FROM attempts WHERE op = 'query' AND order_id IN (${plan.longProcessing.join(',')});`)),
    (n) => n === plan.longProcessing.length, { timeoutMs: 15000, intervalMs: 200 });
    const counts = sql("SELECT status || '=' || COUNT(*) FROM orders GROUP BY status ORDER BY status;").split('\n');
    const closed = plan.closedQuiet.length + plan.statusClosed.length;
    const processing = plan.processingQuiet.length + plan.longProcessing.length;
    assert.deepEqual(counts, [`CLOSED=${closed}`, `FAILED=${plan.statusFailed.length}`,
      `PROCESSING=${processing}`, `SUCCESS=${N + 15 - closed - plan.statusFailed.length - processing}`]);
    const prev = JSON.parse(sql("SELECT json_group_array(json_object('state', state, 'note', note)) FROM discrepancies WHERE kind = 'recon_carried' AND run_id = (SELECT MIN(id) FROM recon_runs);"));
    assert.equal(prev.length, 15);
    assert.ok(prev.every((x) => x.state === 'resolved'), JSON.stringify(prev));
    assert.equal(prev.filter((x) => /short/.test(x.note)).length, 5);
  });

  it('report, list and metrics', async () => {
    const r = await ctl(['recon', 'report', String(runD.id)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /short\s+55/);
    assert.match(r.stdout, /amount_mismatch\s+40/);
    const l = await ctl(['discrepancy', 'list', '--kind', 'short', '--run', String(runD.id), '--json']);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(JSON.parse(l.stdout).discrepancies.length, 55);
    const m = await stack.admin('GET', '/metrics');
    assert.match(m.text, /paygw_recon_items_total\{channel="alipay",kind="short"\} 55/);
    assert.match(m.text, /paygw_recon_runs_total\{channel="alipay",state="DONE"\} 2/);
  });
});
