'use strict';
// tests/packs/fixtures.test.js — every pack in templates/ loads and passes its own
// fixtures through `paygwctl channel test NAME` (compile, manifest and code-list
// checks, then every recorded case), exactly as paygwd does before a pack may serve.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { PAYGWCTL, ROOT } = require('./lib');

const packs = fs.readdirSync(path.join(ROOT, 'templates'))
  .filter((f) => f.endsWith('.lua') && fs.existsSync(path.join(ROOT, 'scripts', f)))
  .map((f) => f.slice(0, -4))
  .sort();

test('there are packs to check', () => {
  assert.ok(packs.includes('alipay'), `packs found: ${packs.join(', ')}`);
});

for (const name of packs) {
  test(`${name}: paygwctl channel test passes its fixtures`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `paygw-fx-${name}-`));
    try {
      fs.mkdirSync(path.join(dir, 'keys'));
      const conf = path.join(dir, 'paygwd.conf');
      fs.writeFileSync(conf, [
        `templates ${path.join(ROOT, 'templates')}`,
        `scripts   ${path.join(ROOT, 'scripts')}`,
        `keystore  ${path.join(dir, 'keys')}`,
        `channel ${name} endpoint http://127.0.0.1:9/${name}`,
        '',
      ].join('\n'));
      let out;
      try {
        out = execFileSync(PAYGWCTL, ['channel', 'test', name, '--conf', conf],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
      } catch (e) {
        assert.fail(`paygwctl channel test ${name} failed (${e.status}): ${e.stderr || e.message}`);
      }
      assert.match(out, new RegExp(`^${name}: version [0-9a-f]{12}: fixtures passed$`, 'm'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
