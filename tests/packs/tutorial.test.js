'use strict';
// tests/packs/tutorial.test.js — docs/integrating-a-bank.md works exactly as
// written: every fenced block marked "sh tutorial" (and "<lang> tutorial
// file=PATH", written to PATH) is run in order, in one shell, in an empty
// directory, with the channel simulator standing in for the bank's sandbox.
// The pack it scaffolds, edits and records must end passing its fixtures.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { PAYGWCTL, ROOT } = require('./lib');

const DOC = path.join(ROOT, 'docs', 'integrating-a-bank.md');

// the doc's runnable blocks, in order, as one shell script
function tutorialScript(text) {
  const re = /^```(\w+) tutorial(?: file=(\S+))?\n([\s\S]*?)^```$/gm;
  const parts = [];
  let m;
  while ((m = re.exec(text)) !== null) {
    const [, lang, file, body] = m;
    if (file) {
      parts.push(`cat > '${file}' <<'PAYGW_TUTORIAL_EOF'\n${body}PAYGW_TUTORIAL_EOF\n`);
    } else if (lang === 'sh') {
      parts.push(`echo '+++ block ${parts.length + 1}'\n${body}`);
    } else {
      throw new Error(`tutorial block in ${lang} without file=`);
    }
  }
  return parts;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test('docs/integrating-a-bank.md, run as written, ends with a pack passing its fixtures', async () => {
  const blocks = tutorialScript(fs.readFileSync(DOC, 'utf8'));
  assert.ok(blocks.length >= 10, `only ${blocks.length} tutorial blocks found`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paygw-tutorial-'));
  const script = path.join(dir, '..', `${path.basename(dir)}.sh`);
  fs.writeFileSync(script, blocks.join('\n'));
  const env = {
    ...process.env,
    PAYGW: ROOT,
    PAYGW_BUILD: path.dirname(path.resolve(PAYGWCTL)),
    SIM_PORT: String(await freePort()),
  };
  let r;
  try {
    r = await new Promise((resolve) => {
      execFile('sh', ['-eu', script], { cwd: dir, env, timeout: 60000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => resolve({ code: err ? (err.code ?? -1) : 0, stdout, stderr }));
    });
    assert.strictEqual(r.code, 0, `tutorial failed:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
    // every "channel test" in the doc passed, the last one after recording
    const passed = r.stdout.match(/^demobank: version [0-9a-f]{12}: fixtures passed$/gm) || [];
    assert.ok(passed.length >= 3, r.stdout);
    const cases = fs.readFileSync(path.join(dir, 'templates', 'demobank.fixtures', 'cases.lua'), 'utf8');
    assert.strictEqual((cases.match(/name = "recorded (pay|query) /g) || []).length, 2, 'two recorded cases');
    assert.ok(!/^\s*review = true,/m.test(cases), 'review marks dropped as the doc says');
    // the recorded cases hold no secret: the request comment is masked, no key material
    assert.ok(!/PRIVATE KEY/.test(cases));
    assert.match(cases, /sign=\*\*\*/);
    const tpl = fs.readFileSync(path.join(dir, 'templates', 'demobank.lua'), 'utf8');
    assert.match(tpl, /channel = "demobank"/);
    assert.match(tpl, /store_id = ctx.config.store_id/);
    const scr = fs.readFileSync(path.join(dir, 'scripts', 'demobank.lua'), 'utf8');
    assert.match(scr, /"40004:DB.MERCHANT_SUSPENDED"/);
    assert.match(r.stdout, /"class": "SUCCESS"/);            // the exchange against the sandbox
    assert.match(r.stdout, /%22store_id%22%3A%22S001%22/);         // render shows the builder edit
  } finally {
    try {
      const pid = Number(fs.readFileSync(path.join(dir, 'sim.pid'), 'utf8'));
      if (pid) process.kill(pid, 'SIGKILL');
    } catch { /* already gone */ }
    if (process.env.PAYGW_KEEP !== '1') {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(script, { force: true });
    }
  }
});
