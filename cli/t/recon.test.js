'use strict';
// paygwctl recon / discrepancy against a mock admin API: what is sent (the statement
// bytes — a ZIP unpacked to its largest file — and the run's parameters), the wait for
// the run, the human summary, the workflow requests, usage errors.
// Run: node --test cli/t/   (PAYGW_CTL or $PAYGW_BUILD/paygwctl or build/paygwctl)

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { execFile } = require('node:child_process');

const REPO = path.resolve(__dirname, '..', '..');
const CTL = process.env.PAYGW_CTL || path.join(process.env.PAYGW_BUILD || path.join(REPO, 'build'), 'paygwctl');
const TOKEN = 'recon-tok';
const seen = [];
let polls = 0;
let server;
let base;
let dir;

const RUN = {
  id: 5, channel: 'alipay', date: '2026-11-20', tz: '+08:00', window_s: 600, source: 'file:bill.zip', who: 'ops',
  error: null, rows: 3, orders: 3, counts: { matched: 1, long: 1, short: 1, amount_mismatch: 0, status_mismatch: 0, carried: 0, duplicate: 0 },
};
const ITEMS = [
  { id: 11, kind: 'recon_long', status: 'PROCESSING', state: 'open', detail: { out_trade_no: 'T-LONG', our_amount: 100, their_amount: 100, note: 'ours is PROCESSING' } },
  { id: 12, kind: 'recon_short', status: 'SUCCESS', state: 'open', detail: { out_trade_no: 'T-SHORT', our_amount: 300, note: 'not on the statement' } },
];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paygwctl-recon-'));
  server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
      const send = (status, j) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(j)); };
      const u = new URL(req.url, 'http://x');
      if (req.method === 'POST' && u.pathname === '/admin/recon/runs') return send(202, { run: { id: 5, state: 'RUNNING' } });
      if (req.method === 'GET' && u.pathname === '/admin/recon/runs/5') {
        polls++;
        return send(200, { run: { ...RUN, state: polls < 3 ? 'RUNNING' : 'DONE' }, items: polls < 3 ? [] : ITEMS });
      }
      if (req.method === 'POST' && u.pathname === '/admin/discrepancies/11') {
        return send(200, { id: 11, old_state: 'open', state: 'acknowledged', who: 'alice', note: 'x', at: 1 });
      }
      return send(404, { error: { code: 'NOT_FOUND', message: 'no' } });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function ctl(args) {
  return new Promise((resolve) => {
    execFile(CTL, ['-A', base, '-T', TOKEN, ...args], { encoding: 'utf8', timeout: 30000, env: { ...process.env, USER: 'ops' } },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

// a ZIP of deflated files (CRC left 0: paygw does not check it)
function zip(files) {
  const locals = []; const central = []; let off = 0;
  for (const [name, data] of files) {
    const n = Buffer.from(name); const d = zlib.deflateRawSync(data);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0); h.writeUInt16LE(20, 4); h.writeUInt16LE(8, 8);
    h.writeUInt32LE(d.length, 18); h.writeUInt32LE(data.length, 22); h.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(20, 4); c.writeUInt16LE(20, 6); c.writeUInt16LE(8, 10);
    c.writeUInt32LE(d.length, 20); c.writeUInt32LE(data.length, 24); c.writeUInt16LE(n.length, 28); c.writeUInt32LE(off, 42);
    locals.push(h, n, d); central.push(c, n);
    off += 30 + n.length + d.length;
  }
  const cd = Buffer.concat(central);
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0); e.writeUInt16LE(files.length, 8); e.writeUInt16LE(files.length, 10);
  e.writeUInt32LE(cd.length, 12); e.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, e]);
}

test('recon run: uploads the ZIP\'s largest file with the run parameters, waits, prints the summary', async () => {
  const detail = Buffer.from(`#detail\r\n${'x,'.repeat(500)}\r\n`);
  const f = path.join(dir, 'bill.zip');
  fs.writeFileSync(f, zip([['summary.csv', Buffer.from('#sum\r\n')], ['detail.csv', detail]]));
  const r = await ctl(['recon', 'run', '--channel', 'alipay', '--date', '2026-11-20', '--file', f, '--window', '10m', '--tz', '+08:00']);
  assert.equal(r.code, 0, r.stderr);
  const post = seen.find((x) => x.method === 'POST');
  const q = new URL(post.url, 'http://x').searchParams;
  assert.deepEqual([q.get('channel'), q.get('date'), q.get('who'), q.get('source'), q.get('window_s'), q.get('tz')],
    ['alipay', '2026-11-20', 'ops', 'bill.zip', '600', '+08:00']);
  assert.equal(post.auth, `Bearer ${TOKEN}`);
  assert.ok(post.body.equals(detail), 'the body is the unpacked detail file');
  assert.ok(polls >= 3, 'waited until the run left RUNNING');
  assert.match(r.stdout, /reconciliation run 5: alipay 2026-11-20 \(tz \+08:00, day-cut window 600s\) — DONE/);
  assert.match(r.stdout, /long\s+1/);
  assert.match(r.stdout, /T-SHORT/);
});

test('discrepancy ack sends action, note and who', async () => {
  const r = await ctl(['discrepancy', 'ack', '11', '--note', 'checked', '--who', 'alice']);
  assert.equal(r.code, 0, r.stderr);
  const post = seen.filter((x) => x.method === 'POST').pop();
  assert.deepEqual(JSON.parse(post.body.toString()), { action: 'acknowledge', note: 'checked', who: 'alice' });
  assert.match(r.stdout, /discrepancy 11: open -> acknowledged by alice/);
});

test('usage errors exit 2; a broken ZIP exits 1 and sends nothing', async () => {
  for (const args of [['recon'], ['recon', 'run', '--date', '2026-11-20'], ['recon', 'run', '--channel', 'alipay'],
    ['recon', 'run', '--channel', 'alipay', '--date', '2026-11-20', '--window', 'soon'],
    ['discrepancy'], ['discrepancy', 'ack', '11'], ['discrepancy', 'frob', '11', '--note', 'x']]) {
    const r = await ctl(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  const n = seen.length;
  const f = path.join(dir, 'broken.zip');
  fs.writeFileSync(f, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(40)]));
  const r = await ctl(['recon', 'run', '--channel', 'alipay', '--date', '2026-11-20', '--file', f]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /zip:/);
  assert.equal(seen.length, n);
});
