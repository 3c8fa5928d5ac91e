'use strict';
// Rates and concurrency (paygw_limit_zone) end to end through nginx with two
// workers: exact admission across workers, per-app and per-API buckets,
// apps-file overrides, concurrency that never leaks (client abort, worker
// killed), state kept across reloads with new limits, broken directives.
// Run: node --test ngx_module/t/

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const { Gateway, assertError, signRequest, SECRETS, NGINX } = require('./harness');

const MORE = {
  C3: 'c3-secret-0123456789',
  D4: 'd4-secret-0123456789',
};
const secretOf = (app) => SECRETS[app] || MORE[app];

// Sets an http{}-level directive, whether or not the shipped conf has it.
function httpDirective(text, name, value) {
  const re = new RegExp(`^([ \\t]*)${name}[ \\t][^;]*;`, 'm');
  if (re.test(text)) return text.replace(re, `$1${name} ${value};`);
  return text.replace(/^([ \t]*)paygw_apps [^;]*;/m, (m, ind) => `${m}\n${ind}${name} ${value};`);
}

// Adds directives at the top of the location opened by `open`.
function inLocation(text, open, lines) {
  assert.ok(text.includes(open), `no "${open}" in the conf`);
  return text.replace(open, `${open}\n            ${lines}`);
}

// reuseport: fresh connections spread over both workers; X-Pid says which
// worker answered, X-Worker (to the upstream) which worker forwarded.
function spread(text) {
  return text
    .replace(/^([ \t]*listen[ \t]+[^;\s]+)[ \t]*;/m, '$1 reuseport;')
    .replace(/^([ \t]*)server_name _;/m, '$1server_name _;\n$1add_header X-Pid $pid always;')
    .replace(/^([ \t]*)proxy_set_header Connection "";/m,
      '$1proxy_set_header Connection "";\n$1proxy_set_header X-Worker $pid;');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function req(gw, app, p = '/v1/echo', extra = {}) {
  return gw.request({ path: p, sign: { app, secret: secretOf(app) }, ...extra });
}

function assertLimited(res) {
  assertError(res, 429, 'RATE_LIMITED');
  assert.match(res.headers['retry-after'] || '', /^[1-9][0-9]*$/, 'Retry-After');
}

function statuses(list) { return list.map((r) => r.status).join(','); }

// A request the upstream holds until released; destroy() aborts it.
function held(gw, app, p = '/v1/hold') {
  const ts = Math.floor(Date.now() / 1000);
  const nonce = crypto.randomBytes(8).toString('hex');
  const sig = signRequest(secretOf(app), 'GET', p, ts, nonce, Buffer.alloc(0));
  const r = http.request({
    host: '127.0.0.1', port: gw.port, method: 'GET', path: p, agent: false,
    headers: { authorization: `PAYGW-HMAC-SHA256 app_id="${app}",timestamp="${ts}",nonce="${nonce}",signature="${sig}"` },
  });
  const done = new Promise((resolve) => {
    r.on('response', (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    r.on('error', () => resolve('aborted'));
  });
  r.end();
  return { destroy: () => r.destroy(), done };
}

// an upstream that holds /v1/hold* until release() and answers the rest
function holdingUpstream() {
  const parked = [];
  return {
    parked,
    handler(q, s) {
      if (q.url.startsWith('/v1/hold')) { parked.push(s); return; }
      s.writeHead(200, { 'content-type': 'application/json' });
      s.end('{"ok":true}');
    },
    release() {
      for (const s of parked.splice(0)) {
        try { s.writeHead(200, { 'content-type': 'application/json' }); s.end('{}'); } catch { /* gone */ }
      }
    },
  };
}

async function until(what, fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const holdHits = (gw) => gw.upstream.hits.filter((h) => h.url.startsWith('/v1/hold'));

describe('rates', () => {
  const gw = new Gateway({
    confEdit: (t) => spread(httpDirective(t, 'paygw_app_rate', '1r/m burst=4')),
  });

  before(async () => { await gw.start(); });
  after(async () => { await gw.stop(); });

  test('a burst on fresh connections: exactly burst+1 pass, on both workers together', async () => {
    const n = gw.upstream.hits.length;
    const all = await Promise.all(Array.from({ length: 40 }, (_, i) => req(gw, 'A1', `/v1/echo?i=${i}`)));
    const ok = all.filter((r) => r.status === 200);
    assert.equal(ok.length, 5, statuses(all));
    for (const r of all) if (r.status !== 200) assertLimited(r);
    assert.equal(gw.upstream.hits.length, n + 5);
    assert.equal(new Set(all.map((r) => r.headers['x-pid'])).size, 2, 'both workers answered');

    // 1r/m: the 6th request waits for one emission interval (60 s, 62.5 in
    // milli-r/s), never more
    const ra = Number(all.find((r) => r.status === 429).headers['retry-after']);
    assert.ok(ra >= 55 && ra <= 63, `Retry-After ${ra}`);
  });

  test('another app has its own bucket', async () => {
    const all = await Promise.all(Array.from({ length: 8 }, () => req(gw, 'B2')));
    assert.equal(all.filter((r) => r.status === 200).length, 5, statuses(all));
  });

  test('a broken limit directive fails nginx -t and the reload, naming file and line; the old workers serve on', async () => {
    const pids = gw.workerPids();
    const bad = [
      ['paygw_app_rate', '5r/h', /invalid rate "5r\/h"/],
      ['paygw_app_rate', '0r/s', /invalid rate "0r\/s"/],
      ['paygw_app_rate', '1000001r/s', /invalid rate/],
      ['paygw_app_rate', '5r/s burst=-1', /invalid burst "-1"/],
      ['paygw_app_rate', '5r/s brust=3', /invalid parameter "brust=3"/],
      ['paygw_app_rate', 'off burst=3', /"off" takes no burst/],
      ['paygw_app_concurrency', '0', /invalid concurrency "0"/],
      ['paygw_app_concurrency', 'lots', /invalid concurrency "lots"/],
      ['paygw_limit_zone', '16k', /zone "16k" is too small/],
    ];
    for (const [name, value, re] of bad) {
      const r = await gw.reload({ edit: (t) => spread(httpDirective(t, name, value)) });
      assert.notEqual(r.status, 0, `${name} ${value} was accepted`);
      const text = fs.readFileSync(gw.conf, 'utf8');
      const line = text.split('\n').findIndex((l) => l.includes(`${name} ${value};`)) + 1;
      assert.match(r.stderr, re);
      assert.ok(r.stderr.includes(`in ${gw.conf}:${line}`), r.stderr);
    }

    const dup = await gw.reload({
      edit: (t) => inLocation(spread(t), 'location /v1/ {', 'paygw_app_rate 1r/s; paygw_app_rate 2r/s;'),
    });
    assert.notEqual(dup.status, 0);
    assert.match(dup.stderr, /"paygw_app_rate" directive is duplicate/);

    gw.writeConf(gw.opts.confEdit);
    const apps = fs.readFileSync(gw.apps, 'utf8');
    const r = await gw.reload({ apps: `${apps}E5 HMAC-SHA256 e5-secret-0123456789 rate=9r/h\n` });
    assert.notEqual(r.status, 0);
    assert.ok(r.stderr.includes(`${gw.apps}:${apps.split('\n').length}`), r.stderr);
    fs.writeFileSync(gw.apps, apps);

    // nothing changed for the running workers: same processes, same buckets
    assert.deepEqual(gw.workerPids().sort(), pids.sort());
    assertLimited(await req(gw, 'A1'));
  });

  test('a reload with new rates keeps the buckets and applies the new rate to them', async () => {
    const set = (v) => gw.reload({ edit: (t) => spread(httpDirective(t, 'paygw_app_rate', v)) });

    // B2 used its 5 under burst=4: with burst=0 it waits
    let r = await set('1r/m');
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await req(gw, 'B2', '/v1/echo?fresh')).status, 429, 'B2 used 5 under the old burst');

    // A1 is exhausted (5 requests, 1r/m); a still slow rate keeps it so,
    // rescaled: 2r/m halves the wait, it does not start a fresh bucket
    r = await set('2r/m');
    assert.equal(r.status, 0, r.stderr);
    const still = await req(gw, 'A1');
    assertLimited(still);
    const ra = Number(still.headers['retry-after']);
    assert.ok(ra > 60 && ra <= 160, `Retry-After ${ra} after 2r/m`);

    // a fast rate drains the same backlog (5 requests) in 100 ms, counted
    // from the first request that sees the new rate
    r = await set('50r/s');
    assert.equal(r.status, 0, r.stderr);
    const soon = await req(gw, 'A1');
    assertLimited(soon);
    assert.equal(soon.headers['retry-after'], '1');
    await sleep(150);
    const ok = await req(gw, 'A1');
    assert.equal(ok.status, 200, `${ok.raw.toString()} retry-after ${ok.headers['retry-after']}`);
    // burst=0 at 50r/s: a second request right away is one interval early
    const next = await Promise.all([req(gw, 'A1'), req(gw, 'A1')]);
    assert.ok(next.some((x) => x.status === 429), statuses(next));
  });
});

describe('per-app and per-API rates, apps-file overrides', () => {
  const apps = [
    'A1 HMAC-SHA256 s3cr3t-for-app-A1 rate=1r/m burst=1',
    'B2 HMAC-SHA256 an0ther-secret-B2 rate.payments.get=1r/m burst.payments.get=2',
    `C3 HMAC-SHA256 ${MORE.C3} rate=off`,
    `D4 HMAC-SHA256 ${MORE.D4}`,
    '',
  ].join('\n');
  const gw = new Gateway({
    apps,
    confEdit: (t) => inLocation(spread(httpDirective(t, 'paygw_app_rate', '1r/m burst=3')),
      'location /v1/payments/ {', 'paygw_api_rate 1r/m burst=1;'),
  });

  before(async () => { await gw.start(); });
  after(async () => { await gw.stop(); });

  test('the API bucket and the app bucket both apply; a refusal uses up neither', async () => {
    // D4: directive limits, app 1r/m burst=3 (4), payments.get 1r/m burst=1 (2)
    assert.equal((await req(gw, 'D4', '/v1/payments/P1')).status, 200);
    assert.equal((await req(gw, 'D4', '/v1/payments/P2')).status, 200);
    assertLimited(await req(gw, 'D4', '/v1/payments/P3'));   // API bucket
    assertLimited(await req(gw, 'D4', '/v1/payments/P4'));
    // the refused ones took nothing from the app bucket: 2 of 4 left
    assert.equal((await req(gw, 'D4', '/v1/echo')).status, 200);
    assert.equal((await req(gw, 'D4', '/v1/echo')).status, 200);
    assertLimited(await req(gw, 'D4', '/v1/echo'));           // app bucket
    // a location with no API limit is still under the app's
    assertLimited(await req(gw, 'D4', '/v1/vouchers/V1'));
  });

  test('apps file rate= and burst= override paygw_app_rate', async () => {
    const a = await Promise.all(Array.from({ length: 6 }, () => req(gw, 'A1')));
    assert.equal(a.filter((r) => r.status === 200).length, 2, statuses(a));
  });

  test('apps file rate=off lifts the app rate', async () => {
    const c = await Promise.all(Array.from({ length: 12 }, () => req(gw, 'C3')));
    assert.equal(c.filter((r) => r.status === 200).length, 12, statuses(c));
  });

  test('apps file rate.API= and burst.API= override paygw_api_rate', async () => {
    const b = [];
    for (let i = 0; i < 5; i++) b.push(await req(gw, 'B2', `/v1/payments/Q${i}`));
    assert.equal(b.filter((r) => r.status === 200).length, 3, statuses(b));
    // 3 of the app's 4 used: one more on another API, then none
    assert.equal((await req(gw, 'B2', '/v1/echo')).status, 200);
    assertLimited(await req(gw, 'B2', '/v1/echo'));
  });
});

describe('rates above 1000 r/s', () => {
  const gw = new Gateway({
    confEdit: (t) => spread(httpDirective(httpDirective(t, 'paygw_app_rate', '5000r/s'),
      'paygw_app_concurrency', 'off')),
  });

  before(async () => { await gw.start(); });
  after(async () => { await gw.stop(); });

  test('burst=0: requests closer than a millisecond but not than 1/rate all pass', async () => {
    // one keep-alive connection, one request at a time: each is at least a
    // round trip (> 200 us) after the last, so 5000r/s admits every one;
    // a millisecond clock would refuse those landing in the same ms
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const t0 = process.hrtime.bigint();
    const res = [];
    for (let i = 0; i < 400; i++) res.push(await req(gw, 'A1', '/v1/echo', { agent }));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    agent.destroy();
    const ok = res.filter((r) => r.status === 200).length;
    assert.ok(400 / secs < 5000, `client too fast for this test: ${400 / secs}/s`);
    assert.equal(ok, 400, `${ok}/400 at ${Math.round(400 / secs)}/s`);
  });

  test('a stream faster than the rate gets the rate, not a millisecond cap', async (t) => {
    // a little burst absorbs the client's jitter (with burst=0 every gap
    // between arrivals is lost, whatever the clock); 1500 r/s is above what
    // one request per millisecond per worker could give with this burst
    const rate = 1500;
    const burst = 15;
    const r = await gw.reload({ edit: (x) => spread(httpDirective(httpDirective(x, 'paygw_app_rate',
      `${rate}r/s burst=${burst}`), 'paygw_app_concurrency', 'off')) });
    assert.equal(r.status, 0, r.stderr);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 48 });
    let sent = 0;
    let ok = 0;
    const t0 = Date.now();
    const end = t0 + 1500;
    async function pump() {
      while (Date.now() < end) {
        const res = await req(gw, 'B2', '/v1/echo', { agent });
        sent++;
        if (res.status === 200) ok++;
      }
    }
    await Promise.all(Array.from({ length: 48 }, pump));
    const secs = (Date.now() - t0) / 1000;
    agent.destroy();
    if (sent / secs < rate * 1.3) {
      t.skip(`this machine offered only ${Math.round(sent / secs)}/s`);
      return;
    }
    const got = (ok - burst - 1) / secs;
    assert.ok(got > rate * 0.9 && got < rate * 1.05,
      `admitted ${Math.round(got)}/s (+${burst + 1}) of ${Math.round(sent / secs)}/s offered at ${rate}r/s`);
  });
});

describe('concurrency', () => {
  const up = holdingUpstream();
  const apps = [
    'A1 HMAC-SHA256 s3cr3t-for-app-A1',
    'B2 HMAC-SHA256 an0ther-secret-B2',
    `D4 HMAC-SHA256 ${MORE.D4} concurrency=1`,
    '',
  ].join('\n');
  const gw = new Gateway({
    apps,
    handler: (q, s) => up.handler(q, s),
    confEdit: (t) => spread(httpDirective(t, 'paygw_app_concurrency', '2')),
  });

  before(async () => { await gw.start(); });
  after(async () => { up.release(); await gw.stop(); });

  test('the third request in progress is 429; aborted clients give their units back', async () => {
    const n = holdHits(gw).length;
    const h = [held(gw, 'A1'), held(gw, 'A1')];
    await until('2 held requests upstream', () => holdHits(gw).length === n + 2);

    const third = await req(gw, 'A1');
    assertLimited(third);
    assert.equal(third.headers['retry-after'], '1');
    assert.equal((await req(gw, 'B2')).status, 200, 'another app is not held up');

    for (const x of h) x.destroy();
    await until('a unit back after the client aborts', async () => (await req(gw, 'A1')).status === 200, 1000);
    // both units back: two at once are held again, the third refused
    const h2 = [held(gw, 'A1'), held(gw, 'A1')];
    await until('2 held again', () => holdHits(gw).length === n + 4);
    assertLimited(await req(gw, 'A1'));
    up.release();
    assert.deepEqual(await Promise.all(h2.map((x) => x.done)), [200, 200]);
    assert.equal((await req(gw, 'A1')).status, 200);
  });

  test('apps file concurrency= overrides paygw_app_concurrency', async () => {
    const n = holdHits(gw).length;
    const h = held(gw, 'D4');
    await until('held', () => holdHits(gw).length === n + 1);
    assertLimited(await req(gw, 'D4'));
    up.release();
    assert.equal(await h.done, 200);
    assert.equal((await req(gw, 'D4')).status, 200);
  });

  test('units of a worker killed mid-request are reclaimed once it is respawned', async () => {
    const n = gw.upstream.hits.length;
    const h = [held(gw, 'A1'), held(gw, 'A1')];
    await until('2 held', () => holdHits(gw).length >= 2 && gw.upstream.hits.length === n + 2);
    assertLimited(await req(gw, 'A1'));

    const holders = [...new Set(gw.upstream.hits.slice(n).map((x) => Number(x.headers['x-worker'])))];
    assert.ok(holders.length >= 1 && holders.every((p) => gw.workerPids().includes(p)), `${holders}`);
    for (const pid of holders) process.kill(pid, 'SIGKILL');
    await Promise.all(h.map((x) => x.done));
    up.release();

    await until('the master respawned the workers', () => {
      const now = gw.workerPids();
      return now.length === 2 && !now.some((p) => holders.includes(p));
    });
    for (let i = 0; i < 6; i++) {
      const r = await req(gw, 'A1');
      assert.equal(r.status, 200, `request ${i}: ${r.raw.toString()}`);
    }
    assert.match(gw.errorLog(), /reclaimed 1 concurrency units? of process|reclaimed 2 concurrency units of process/);
  });

  test('a reload keeps the counts of requests in progress', async () => {
    const n = holdHits(gw).length;
    const h = [held(gw, 'A1'), held(gw, 'A1')];
    await until('2 held', () => holdHits(gw).length === n + 2);
    const r = await gw.reload({ edit: (t) => spread(httpDirective(t, 'paygw_app_concurrency', '3')) });
    assert.equal(r.status, 0, r.stderr);
    // the old workers still hold 2; the new limit allows one more
    const h3 = held(gw, 'A1');
    await until('3 held', () => holdHits(gw).length === n + 3);
    assertLimited(await req(gw, 'A1'));
    up.release();
    await Promise.all([...h, h3].map((x) => x.done));
    await until('units back', async () => (await req(gw, 'A1')).status === 200, 1000);
  });
});
