'use strict';
// Reconciliation never settles an order by itself (docs/reconciliation.md): a statement that
// lists a payment we hold PROCESSING makes that order's query due, and the query — the
// channel's own answer — settles it; one the channel still reports unpaid stays PROCESSING;
// one we hold FAILED stays FAILED with a status discrepancy. Then the discrepancy
// workflow through paygwctl and the admin API: acknowledge, resolve, each audited, wrong
// moves refused.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { Stack, trace } = require('./lib/stack');
const { waitFor, tradeNo } = require('./lib/util');
const zlib = require('node:zlib');
const fs = require('node:fs');
const { writeStatement, statementBuffer, beijingDate } = require('./lib/alipay_statement');

let stack;
let firstRows;       // the statement rows of the first run
const orders = {};   // role -> out_trade_no

// a ZIP archive (deflated entries) as Alipay serves its bill: the detail CSV and a summary
function zip(files) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (b) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const locals = []; const central = []; let off = 0;
  for (const [name, data] of files) {
    const n = Buffer.from(name); const d = zlib.deflateRawSync(data); const crc = crc32(data);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0); h.writeUInt16LE(20, 4); h.writeUInt16LE(0x800, 6); h.writeUInt16LE(8, 8);
    h.writeUInt32LE(crc, 14); h.writeUInt32LE(d.length, 18); h.writeUInt32LE(data.length, 22); h.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(20, 4); c.writeUInt16LE(20, 6); c.writeUInt16LE(0x800, 8); c.writeUInt16LE(8, 10);
    c.writeUInt32LE(crc, 16); c.writeUInt32LE(d.length, 20); c.writeUInt32LE(data.length, 24); c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(off, 42);
    locals.push(h, n, d); central.push(c, n);
    off += 30 + n.length + d.length;
  }
  const cd = Buffer.concat(central);
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0); e.writeUInt16LE(files.length, 8); e.writeUInt16LE(files.length, 10);
  e.writeUInt32LE(cd.length, 12); e.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, e]);
}

before(async () => {
  // nothing is queried on its own schedule: only the run makes a query due
  stack = await Stack.start({ name: 'recon-query', firstQueryDelayMs: 600000, queryBackoffMs: '600000' });
}, { timeout: 60000 });

after(async () => {
  if (stack) await stack.stop();
});

function ctl(args) {
  return new Promise((resolve) => {
    execFile(path.join(stack.build, 'paygwctl'), ['-A', `http://127.0.0.1:${stack.ports.admin}`, '-T', stack.adminToken, ...args],
      { encoding: 'utf8', timeout: 60000 }, (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

const status = (no) => stack.paymentStatus(no);

test('a PROCESSING order the statement lists is settled by its query, never by the statement', { timeout: 60000 }, async () => {
  const paid = tradeNo('RQP');      // paid at the channel, no notify reached us
  const unpaid = tradeNo('RQU');    // the statement says paid, the channel's query says not yet
  const failed = tradeNo('RQF');    // ours FAILED (definite failure), the statement says paid
  const ok = tradeNo('RQO');        // paid and notified: matched
  await stack.simScript({ out_trade_no: failed, precreate: 'fail' });
  for (const no of [paid, unpaid, failed, ok]) assert.equal((await stack.pay(no)).status, 202);
  for (const no of [paid, unpaid, ok]) await waitFor(`${no} PROCESSING`, () => status(no), (s) => s === 'PROCESSING');
  await waitFor(`${failed} FAILED`, () => status(failed), (s) => s === 'FAILED');
  await stack.simPay(paid);
  await stack.simPay(ok);
  await stack.simNotify(ok, 'valid');
  await waitFor(`${ok} SUCCESS`, () => status(ok), (s) => s === 'SUCCESS');
  await stack.simScript({ out_trade_no: unpaid, query: 'trade_status:WAIT_BUYER_PAY' });

  Object.assign(orders, { paid, unpaid, failed, ok });
  const now = Date.now();
  const sim = async (no) => (await stack.simOrder(no)) || {};
  const rows = [];
  for (const no of [paid, unpaid, failed, ok]) rows.push({ no, tradeNo: (await sim(no)).trade_no || `2026${no.slice(-10)}`, fen: 1000, created: now });
  rows.push({ no: tradeNo('RQG'), tradeNo: '2026000000000000000001', fen: 500, created: now });
  const f = path.join(stack.dir, 'stmt.csv');
  writeStatement(f, beijingDate(now), rows);
  firstRows = rows;
  // --window 0: an order of ours made just before Beijing midnight is short, not carried
  const r = await ctl(['recon', 'run', '--channel', 'alipay', '--date', beijingDate(now), '--file', f,
    '--window', '0', '--who', 'e2e-ops', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const rep = JSON.parse(r.stdout);
  const kinds = Object.fromEntries(rep.items.map((x) => [x.detail.out_trade_no, x.kind]));
  assert.deepEqual(kinds, {
    [paid]: 'recon_long', [unpaid]: 'recon_long', [failed]: 'recon_status_mismatch', [rows[4].no]: 'recon_long',
  });
  assert.equal(rep.run.counts.matched, 1);
  assert.equal(rep.items.filter((x) => x.detail.query_due).length, 2);

  // the query settles the paid one …
  await waitFor(`${paid} SUCCESS through its query`, () => status(paid), (s) => s === 'SUCCESS', { timeoutMs: 15000 });
  const t = await stack.adminOrder(paid);
  const q = trace.attempts(t).filter((a) => a.op === 'query');
  assert.ok(q.some((a) => a.class === 'SUCCESS'), JSON.stringify(trace.attempts(t)));
  assert.ok(trace.discrepancies(t).some((x) => x.kind === 'recon_long'));
  // … the unpaid one was asked too, and stays PROCESSING; the FAILED one stays FAILED
  await waitFor(`a query of ${unpaid}`, () => stack.simCounts(unpaid), (c) => c['alipay.trade.query'] >= 1, { timeoutMs: 15000 });
  assert.equal(await status(unpaid), 'PROCESSING');
  assert.equal(await status(failed), 'FAILED');
  assert.equal((await stack.simCounts(failed))['alipay.trade.query'] || 0, 0, 'a FAILED order is not queried');
  const tf = await stack.adminOrder(failed);
  assert.ok(trace.discrepancies(tf).some((x) => x.kind === 'recon_status_mismatch'));
  assert.ok(!trace.transitions(tf).some((x) => trace.to(x) === 'SUCCESS'));

  const m = await stack.admin('GET', '/metrics');
  assert.match(m.text, /paygw_recon_items_total\{channel="alipay",kind="long"\} 3/);
  assert.match(m.text, /paygw_recon_items_total\{channel="alipay",kind="matched"\} 1/);
});

test('discrepancy workflow: acknowledge, resolve, audited; wrong moves refused', { timeout: 30000 }, async () => {
  const l = await ctl(['discrepancy', 'list', '--state', 'open', '--kind', 'long', '--json']);
  assert.equal(l.code, 0, l.stderr);
  const open = JSON.parse(l.stdout).discrepancies;
  assert.equal(open.length, 3);
  const id = String(open[0].id);

  const a = await ctl(['discrepancy', 'ack', id, '--note', 'looking at it', '--who', 'alice']);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /open -> acknowledged by alice/);
  const again = await ctl(['discrepancy', 'ack', id, '--note', 'again', '--who', 'alice']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /CONFLICT/);
  const noNote = await stack.admin('POST', `/admin/discrepancies/${id}`, { body: { action: 'resolve', who: 'bob' } });
  assert.equal(noNote.status, 400);
  const res = await ctl(['discrepancy', 'resolve', id, '--note', 'settled by its query', '--who', 'bob']);
  assert.equal(res.code, 0, res.stderr);
  const done = await stack.admin('POST', `/admin/discrepancies/${id}`, { body: { action: 'resolve', who: 'bob', note: 'x' } });
  assert.equal(done.status, 409);
  const one = await stack.admin('GET', `/admin/discrepancies/${id}`);
  assert.equal(one.status, 200);
  assert.equal(one.json.discrepancy.state, 'resolved');
  assert.equal(one.json.discrepancy.handled_by, 'bob');
  assert.deepEqual(one.json.discrepancy.audit.map((x) => [x.who, x.old_state, x.new_state, x.note]),
    [['alice', 'open', 'acknowledged', 'looking at it'], ['bob', 'acknowledged', 'resolved', 'settled by its query']]);
  const still = JSON.parse((await ctl(['discrepancy', 'list', '--state', 'open', '--kind', 'long', '--json'])).stdout);
  assert.equal(still.discrepancies.length, 2);

  assert.equal((await stack.admin('GET', '/admin/discrepancies', { noAuth: true })).status, 401);
  const bad = await stack.admin('POST', '/admin/recon/runs?channel=alipay&date=2026-13-01&who=x');
  assert.equal(bad.status, 400);
  const noWho = await stack.admin('POST', '/admin/recon/runs?channel=alipay&date=2026-11-20');
  assert.equal(noWho.status, 400);
  const noChannel = await stack.admin('POST', '/admin/recon/runs?channel=nope&date=2026-11-20&who=x');
  assert.equal(noChannel.status, 400);
  const list = await ctl(['recon', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /alipay\s+\d{4}-\d\d-\d\d DONE/);
});

test('without --file paygwd fetches the statement through the pack (bill op + download URL)', { timeout: 30000 }, async () => {
  const date = beijingDate(Date.now());
  const r = await ctl(['recon', 'run', '--channel', 'alipay', '--date', date, '--window', '0', '--who', 'e2e-ops', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const rep = JSON.parse(r.stdout);
  assert.equal(rep.run.source, 'bill');
  assert.equal(rep.run.state, 'DONE');
  // the simulator's statement: what it holds paid — both settled SUCCESS by now
  assert.equal(rep.run.counts.matched, 2, r.stdout);
  assert.deepEqual(rep.items, []);
  assert.ok((await stack.simCounts())['alipay.data.dataservice.bill.downloadurl.query'] >= 1);
  // a day the channel has no statement for: the run fails with the channel's word
  await stack.simScript({ default: true, bill: 'not_found' });
  const nf = await ctl(['recon', 'run', '--channel', 'alipay', '--date', '2020-01-01', '--who', 'e2e-ops']);
  await stack.simScript({ default: true, bill: 'success' });
  assert.equal(nf.code, 1, nf.stdout);
  assert.match(nf.stdout, /FAILED/);
  assert.match(nf.stdout, /NOT_FOUND/);
});

test('a ZIP archive as the channel serves it: its detail file is reconciled', { timeout: 30000 }, async () => {
  const now = Date.now();
  const detail = statementBuffer(beijingDate(now), firstRows);
  const f = path.join(stack.dir, 'bill.zip');
  fs.writeFileSync(f, zip([['20881021772966100156_summary.csv', Buffer.from('#summary\r\n')], ['20881021772966100156_detail.csv', detail]]));
  const r = await ctl(['recon', 'run', '--channel', 'alipay', '--date', beijingDate(now), '--file', f, '--window', '0', '--who', 'e2e-ops', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const rep = JSON.parse(r.stdout);
  // the paid one is SUCCESS now: matched; the others as before
  const kinds = Object.fromEntries(rep.items.map((x) => [x.detail.out_trade_no, x.kind]));
  assert.deepEqual(kinds, { [orders.unpaid]: 'recon_long', [orders.failed]: 'recon_status_mismatch', [firstRows[4].no]: 'recon_long' });
  assert.equal(rep.run.counts.matched, 2);
});
