'use strict';
// tests/packs/generators.test.js — the fixture generators stay in step with the fixtures
// they generate: each runs into a temp file and its output must equal the committed
// templates/<channel>.fixtures/cases.lua byte for byte, so a hand edit of a generated file
// (or a generator change not regenerated) fails here. The three generators are
// deterministic (fixed keys, clock and salts; RSA PKCS#1 v1.5) and run in well under a
// second each. The alipay one needs python3 with `cryptography`; without it that case is
// skipped, saying so.
// Run: node --test tests/packs/generators.test.js

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');

const generators = [
  { channel: 'alipay', cmd: 'python3', script: 'tests/vectors/alipay/gen_fixtures.py',
    needs: () => spawnSync('python3', ['-c', 'import cryptography'], { timeout: 10000 }).status === 0
      || 'python3 with the cryptography package is not installed' },
  { channel: 'unionpay_acp', cmd: process.execPath, script: 'tests/vectors/unionpay_acp/gen_fixtures.js' },
  { channel: 'paytm', cmd: process.execPath, script: 'tests/vectors/paytm/gen_fixtures.js' },
];

for (const g of generators) {
  const ok = g.needs ? g.needs() : true;
  test(`${g.channel}: ${g.script} reproduces templates/${g.channel}.fixtures/cases.lua`,
    { skip: ok === true ? false : ok }, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `paygw-gen-${g.channel}-`));
      try {
        const out = path.join(dir, 'cases.lua');
        try {
          execFileSync(g.cmd, [g.script, out],
            { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
        } catch (e) {
          assert.fail(`${g.script} failed (${e.status}): ${e.stderr || e.message}`);
        }
        const committed = path.join(ROOT, 'templates', `${g.channel}.fixtures`, 'cases.lua');
        const want = fs.readFileSync(committed, 'utf8');
        const got = fs.readFileSync(out, 'utf8');
        if (got !== want) {
          const a = want.split('\n');
          const b = got.split('\n');
          let i = 0;
          while (i < a.length && a[i] === b[i]) i++;
          assert.fail(`${g.script} output differs from ${path.relative(ROOT, committed)} at line ` +
            `${i + 1}:\n  committed: ${String(a[i]).slice(0, 200)}\n  generated: ` +
            `${String(b[i]).slice(0, 200)}\nregenerate (and commit both) instead of hand-editing`);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
}
