'use strict';
// `npm test` entry (package.json runs only this file): runs every other *.test.js of this
// folder, one at a time, each in its own `node --test` process, one test per file.
// Under a folder-wide run (`node --test tests/sim/`, as tests/run-node-tests.sh does) the
// runner itself already runs every file, so this one only runs them when started by npm.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const startedByNpmTest = process.env.npm_lifecycle_event === 'test' && process.env.npm_package_name === 'paygw-alipay-sim';
const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js') && f !== path.basename(__filename)).sort();

for (const f of files) {
  test(f, { skip: !startedByNpmTest && 'run by the folder-wide node --test' }, () => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // a nested `node --test` must report on its own
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', path.join(__dirname, f)], {
      cwd: __dirname, env, encoding: 'utf8', maxBuffer: 64 << 20,
    });
    process.stderr.write(r.stdout + r.stderr);
    assert.equal(r.status, 0, `${f} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''})`);
  });
}
