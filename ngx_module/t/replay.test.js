'use strict';
// The replay store (paygw_nonce_zone) end to end: a nonce is accepted once
// per app inside the time window, whichever nginx worker the replay lands
// on; a request that fails its signature does not use up its nonce; a full
// store refuses (503) rather than forgets; a reload keeps the store.
// Run: node --test ngx_module/t/

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const { Gateway, assertError } = require('./harness');

// Sets an http{}-level directive, whether or not the shipped conf has it.
function httpDirective(text, name, value) {
  const re = new RegExp(`^([ \\t]*)${name}[ \\t][^;]*;`, 'm');
  if (re.test(text)) return text.replace(re, `$1${name} ${value};`);
  return text.replace(/^([ \t]*)paygw_apps [^;]*;/m, (m, ind) => `${m}\n${ind}${name} ${value};`);
}

// reuseport: the kernel spreads fresh connections over both workers;
// X-Pid tells which worker answered.
function spreadAndTag(text) {
  return text
    .replace(/^([ \t]*listen[ \t]+[^;\s]+)[ \t]*;/m, '$1 reuseport;')
    .replace(/^([ \t]*)server_name _;/m, '$1server_name _;\n$1add_header X-Pid $pid always;');
}

const nonce = () => crypto.randomBytes(12).toString('hex');
const now = () => Math.floor(Date.now() / 1000);

describe('replay store', () => {
  const edit = (zone) => (t) => spreadAndTag(httpDirective(t, 'paygw_nonce_zone', zone));
  const gw = new Gateway({ confEdit: edit('1m') });

  before(async () => { await gw.start(); });
  after(async () => { await gw.stop(); });

  test('a replayed nonce is 401 NONCE_REPLAYED and not forwarded', async () => {
    const n = nonce();
    const first = await gw.request({ method: 'POST', path: '/v1/payments', body: '{"a":1}', sign: { nonce: n } });
    assert.equal(first.status, 200, first.raw.toString());
    const hits = gw.upstream.hits.length;

    // a fresh, valid signature over a different timestamp and body
    const again = await gw.request({
      method: 'POST', path: '/v1/payments', body: '{"a":2}', sign: { nonce: n, ts: now() - 1 },
    });
    assertError(again, 401, 'NONCE_REPLAYED');
    assert.equal(gw.upstream.hits.length, hits, 'a replay reached the upstream');
  });

  test('replays are caught on both workers', async () => {
    const n = nonce();
    const first = await gw.request({ path: '/v1/echo', sign: { nonce: n } });
    assert.equal(first.status, 200);
    const hits = gw.upstream.hits.length;

    const pids = new Set();
    const replays = [];
    for (let i = 0; i < 40; i++) {
      // fresh connection each (agent: false), half of them at once
      replays.push(gw.request({ path: `/v1/echo?i=${i}`, sign: { nonce: n } }));
      if (i % 2) await new Promise((r) => setImmediate(r));
    }
    for (const res of await Promise.all(replays)) {
      assertError(res, 401, 'NONCE_REPLAYED');
      pids.add(res.headers['x-pid']);
    }
    assert.equal(gw.upstream.hits.length, hits);
    assert.equal(pids.size, 2, `replays landed on workers ${[...pids]}`);
  });

  test('concurrent first uses: exactly one passes', async () => {
    const n = nonce();
    const hits = gw.upstream.hits.length;
    const all = await Promise.all(Array.from({ length: 30 },
      (_, i) => gw.request({ path: `/v1/echo?race=${i}`, sign: { nonce: n } })));
    const ok = all.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, all.map((r) => r.status).join(','));
    for (const r of all) if (r.status !== 200) assertError(r, 401, 'NONCE_REPLAYED');
    assert.equal(gw.upstream.hits.length, hits + 1);
    assert.equal(new Set(all.map((r) => r.headers['x-pid'])).size, 2);
  });

  test('the same nonce is fine for another app', async () => {
    const n = nonce();
    assert.equal((await gw.request({ path: '/v1/echo', sign: { app: 'A1', nonce: n } })).status, 200);
    const b = await gw.request({ path: '/v1/echo', sign: { app: 'B2', nonce: n } });
    assert.equal(b.status, 200, b.raw.toString());
    assertError(await gw.request({ path: '/v1/echo', sign: { app: 'B2', nonce: n } }), 401, 'NONCE_REPLAYED');
  });

  test('nonces are compared whole, not by prefix or hash alone', async () => {
    const n = nonce();
    assert.equal((await gw.request({ path: '/v1/echo', sign: { nonce: n } })).status, 200);
    for (const other of [n.slice(0, -1), `${n}0`, n.toUpperCase()]) {
      const res = await gw.request({ path: '/v1/echo', sign: { nonce: other } });
      assert.equal(res.status, 200, `${other}: ${res.raw.toString()}`);
    }
  });

  test('a forged request does not use up the nonce', async () => {
    const n = nonce();
    const hits = gw.upstream.hits.length;
    const forged = await gw.request({ path: '/v1/echo', sign: { nonce: n, secret: 'not-the-secret-of-A1' } });
    assertError(forged, 401, 'SIGNATURE_INVALID');
    const stale = await gw.request({ path: '/v1/echo', sign: { nonce: n, ts: now() - 3600 } });
    assertError(stale, 401, 'TIMESTAMP_EXPIRED');
    assert.equal(gw.upstream.hits.length, hits);

    const real = await gw.request({ path: '/v1/echo', sign: { nonce: n } });
    assert.equal(real.status, 200, real.raw.toString());
  });

  test('nginx -s reload keeps the store', async () => {
    const n = nonce();
    assert.equal((await gw.request({ path: '/v1/echo', sign: { nonce: n } })).status, 200);
    const r = await gw.reload();
    assert.equal(r.status, 0, r.stderr);
    for (let i = 0; i < 10; i++) {
      assertError(await gw.request({ path: '/v1/echo', sign: { nonce: n } }), 401, 'NONCE_REPLAYED');
    }
  });

  test('a reload with another zone size starts an empty store, and says so', async () => {
    const n = nonce();
    assert.equal((await gw.request({ path: '/v1/echo', sign: { nonce: n } })).status, 200);
    const r = await gw.reload({ edit: edit('2m') });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await gw.request({ path: '/v1/echo', sign: { nonce: n } })).status, 200);
    assertError(await gw.request({ path: '/v1/echo', sign: { nonce: n } }), 401, 'NONCE_REPLAYED');
    assert.match(gw.errorLog(), /paygw_nonce zone size changed .*starts empty/);
  });
});

describe('a full replay store', () => {
  // 8 pages, the smallest zone nginx's slab allocator is given: a few hundred nonces
  // (the shipped app rate is lifted so that the store, not a limit, fills)
  const gw = new Gateway({ confEdit: (t) => httpDirective(httpDirective(t, 'paygw_nonce_zone', '32k'), 'paygw_app_rate', 'off') });

  before(async () => { await gw.start(); });
  after(async () => { await gw.stop(); });

  test('refuses with 503 REPLAY_STORE_FULL, never lets a request through', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const used = [];
    let full = null;
    for (let i = 0; i < 5000 && !full; i++) {
      const n = nonce();
      const res = await gw.request({ path: '/v1/echo', sign: { nonce: n }, agent });
      if (res.status === 200) {
        used.push(n);
      } else {
        full = res;
      }
    }
    assert.ok(full, 'the store never filled');
    assertError(full, 503, 'REPLAY_STORE_FULL');
    assert.ok(used.length > 50, `only ${used.length} nonces fitted`);
    assert.equal(gw.upstream.hits.length, used.length);

    // still full: every new nonce is refused, none is forwarded
    const more = await Promise.all(Array.from({ length: 40 },
      () => gw.request({ path: '/v1/echo', sign: { nonce: nonce() }, agent })));
    for (const res of more) assertError(res, 503, 'REPLAY_STORE_FULL');
    assert.equal(gw.upstream.hits.length, used.length);

    // and nothing recorded was forgotten to make room
    for (const n of [used[0], used[Math.floor(used.length / 2)], used[used.length - 1]]) {
      assertError(await gw.request({ path: '/v1/echo', sign: { nonce: n }, agent }), 401, 'NONCE_REPLAYED');
    }
    agent.destroy();
    assert.match(gw.errorLog(), /paygw_nonce_zone "paygw_nonce" is full/);
  });

  test('a zone below 8 pages is refused at configuration time', () => {
    const { spawnSync } = require('node:child_process');
    const { NGINX } = require('./harness');
    const conf = path.join(gw.dir, 'small.conf');
    const text = fs.readFileSync(gw.conf, 'utf8').replace(/paygw_nonce_zone [^;]*;/, 'paygw_nonce_zone 16k;');
    fs.writeFileSync(conf, text);
    const r = spawnSync(NGINX, ['-t', '-p', gw.dir, '-c', conf], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    const line = text.split('\n').findIndex((l) => l.includes('paygw_nonce_zone 16k;')) + 1;
    assert.match(r.stderr, /zone "16k" is too small/);
    assert.ok(r.stderr.includes(`${conf}:${line}`), r.stderr);
  });
});
