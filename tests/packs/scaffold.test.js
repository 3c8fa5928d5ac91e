'use strict';
// tests/packs/scaffold.test.js — paygwctl channel new: every archetype in
// templates/archetypes/ scaffolds a pack that passes its fixtures right away,
// carries INTEGRATOR: marks and its archetype's sources, never overwrites, and
// refuses bad names; paygwctl channel record refuses (and leaves the fixtures
// as they were) an answer the fixture keys cannot verify.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const kit = require('./lib');
const { PAYGWCTL, ROOT } = kit;

const archetypes = fs.readdirSync(path.join(ROOT, 'templates', 'archetypes'))
  .filter((f) => f.endsWith('.arch')).map((f) => f.slice(0, -5)).sort();

function ctl(args) {
  return new Promise((resolve) => {
    require('node:child_process').execFile(PAYGWCTL, args, { timeout: 30000 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? -1) : 0, stdout, stderr }));
  });
}

function conf(dir, name, extra = []) {
  const f = path.join(dir, `${name}.conf`);
  fs.mkdirSync(path.join(dir, 'keys'), { recursive: true });
  fs.writeFileSync(f, [`templates ${dir}/templates`, `scripts ${dir}/scripts`,
    `keystore ${dir}/keys`, `db ${dir}/unused.db`, `channel ${name} endpoint http://127.0.0.1:9/x`,
    ...extra, ''].join('\n'));
  return f;
}

test('the archetypes named in the docs exist', () => {
  for (const a of ['form_rsa2', 'xml_hmac', 'json_header_rsa', 'sm2_sm4', 'iso20022']) assert.ok(archetypes.includes(a), a);
});

for (const arch of archetypes) {
  test(`channel new --like ${arch}: a working skeleton`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `paygw-scaffold-${arch}-`));
    try {
      const name = `bank_${arch}`;
      const r = await ctl(['channel', 'new', name, '--like', arch, '--dir', dir]);
      assert.strictEqual(r.code, 0, r.stderr);
      const t = await ctl(['channel', 'test', name, '--conf', conf(dir, name)]);
      assert.strictEqual(t.code, 0, t.stderr);
      assert.match(t.stdout, new RegExp(`^${name}: version [0-9a-f]{12}: fixtures passed`));
      const tpl = fs.readFileSync(path.join(dir, 'templates', `${name}.lua`), 'utf8');
      const scr = fs.readFileSync(path.join(dir, 'scripts', `${name}.lua`), 'utf8');
      assert.match(tpl, new RegExp(`channel = "${name}"`));
      assert.match(tpl, /INTEGRATOR:/);
      assert.match(scr, /INTEGRATOR:/);
      assert.match(scr, /source = /);          // the archetype's sources are kept, cited
      assert.ok(!/TODO source/i.test(scr));
      // never overwrites: a second run changes nothing
      const before = fs.readFileSync(path.join(dir, 'templates', `${name}.lua`), 'utf8');
      const again = await ctl(['channel', 'new', name, '--like', arch, '--dir', dir]);
      assert.notStrictEqual(again.code, 0);
      assert.match(again.stderr, /already exists; nothing written/);
      assert.strictEqual(fs.readFileSync(path.join(dir, 'templates', `${name}.lua`), 'utf8'), before);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
}

test('channel new refuses bad names and unknown archetypes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paygw-scaffold-bad-'));
  try {
    for (const bad of ['A', 'x', 'Bank', 'a-b', '../evil', 'a'.repeat(32)]) {
      const r = await ctl(['channel', 'new', bad, '--like', 'form_rsa2', '--dir', dir]);
      assert.strictEqual(r.code, 2, `${bad}: ${r.stderr}`);
    }
    const u = await ctl(['channel', 'new', 'okbank', '--like', 'nosuch', '--dir', dir]);
    assert.strictEqual(u.code, 2);
    assert.match(u.stderr, /no archetype 'nosuch'/);
    assert.deepStrictEqual(fs.readdirSync(dir), []);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('channel record keeps a case only if the fixtures still pass with it', async () => {
  // the sandbox signs with a key the fixtures do not have: refused, file untouched
  const k = await kit.start({
    channel: 'alipay',
    keys({ simRoot, keystore }) {
      const ali = kit.writeKeyPair(simRoot, 'alipay_private.pem', 'alipay_public.tmp.pem');
      const app = kit.writeKeyPair(keystore, 'app_private.pem', 'app_public.tmp.pem');
      fs.writeFileSync(path.join(simRoot, 'app_public.pem'), app.publicKey.export({ type: 'spki', format: 'pem' }));
      fs.writeFileSync(path.join(keystore, 'bank_public.pem'), ali.publicKey.export({ type: 'spki', format: 'pem' }));
    },
    endpoint: (b) => `${b}/gateway.do`,
    params: { app_id: '2021000000000001', app_private_key: 'app_private', channel_public_key: 'bank_public' },
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paygw-record-'));
  try {
    const r = await ctl(['channel', 'new', 'recbank', '--like', 'form_rsa2', '--dir', dir]);
    assert.strictEqual(r.code, 0, r.stderr);
    const c = conf(dir, 'recbank', [
      `channel recbank param app_id 2021000000000001`,
      `channel recbank param app_private_key app_private`,
      `channel recbank param channel_public_key bank_public`]);
    let text = fs.readFileSync(c, 'utf8').replace(`keystore ${dir}/keys`, `keystore ${k.keystore}`)
      .replace('http://127.0.0.1:9/x', `${k.simBase}/gateway.do`);
    fs.writeFileSync(c, text);
    const order = path.join(dir, 'order.json');
    fs.writeFileSync(order, JSON.stringify({ out_trade_no: kit.tradeNo('R'), amount: 100, currency: 'CNY',
      subject: 's', method: 'alipay.qr', expire_seconds: 0, notify_url: 'http://127.0.0.1:1/notify/recbank' }));
    const cases = path.join(dir, 'templates', 'recbank.fixtures', 'cases.lua');
    const before = fs.readFileSync(cases, 'utf8');
    const rec = await ctl(['channel', 'record', 'recbank', 'pay', '--input', order, '--conf', c]);
    assert.strictEqual(rec.code, 1, rec.stdout + rec.stderr);
    assert.match(rec.stderr, /does not pass in the fixture instance/);
    assert.strictEqual(fs.readFileSync(cases, 'utf8'), before);
    // --out writes elsewhere without the check (for a human to move over)
    const out = path.join(dir, 'review.lua');
    fs.writeFileSync(out, 'return {\n  cases = {\n  },\n}\n');
    const rec2 = await ctl(['channel', 'record', 'recbank', 'pay', '--input', order, '--conf', c, '--out', out]);
    assert.strictEqual(rec2.code, 0, rec2.stderr);
    const o = fs.readFileSync(out, 'utf8');
    assert.match(o, /review = true,/);
    assert.match(o, /sign=\*\*\*/);
    assert.ok(!/PRIVATE KEY/.test(o));
  } finally {
    await k.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
