'use strict';
// Helpers for a channel's own self-test (tests/sim/<name>.test.js): an in-process sim on
// 127.0.0.1:0 with a fresh keys directory, control-API calls scoped to one channel, and a
// local notify receiver that records what the sim sends. See ../CHANNELS.md.

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { Sim } = require('./sim');
const { privatePem, publicPem } = require('./keys');

// Write a key object into a keys dir as PEM (private: PKCS#8, public or private's public: SPKI).
function writePem(file, keyObject, kind = keyObject.type) {
  const text = kind === 'private' ? privatePem(keyObject) : publicPem(keyObject);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode: 0o600 });
}

// opts: {channel (default 'alipay'), channels (names to load, default [channel]), options,
// plugins (modules instead of discovery), prepareKeys(dir) (write keys before start-up)}.
async function startSim(opts = {}) {
  const channel = opts.channel || 'alipay';
  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), `paygw-sim-${channel}-`));
  if (opts.prepareKeys) await opts.prepareKeys(keysDir);
  const sim = new Sim({
    keysDir,
    channels: opts.plugins ? undefined : (opts.channels || [channel]),
    plugins: opts.plugins,
    options: opts.options || {},
  });
  const port = await sim.listen(0);
  const base = `http://127.0.0.1:${port}`;

  async function ctl(method, p, body) {
    const r = await fetch(`${base}${p}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch (_) { /* not JSON */ }
    return { status: r.status, json, text };
  }
  const qs = (o) => {
    const u = new URLSearchParams({ channel });
    for (const [k, v] of Object.entries(o)) if (v) u.set(k, v);
    return u.toString();
  };

  return {
    sim,
    base,
    port,
    keysDir,
    channel,
    ctl,
    script: (body) => ctl('POST', '/_sim/script', { channel, ...body }),
    pay: (key, extra = {}) => ctl('POST', '/_sim/pay', { channel, out_trade_no: key, ...extra }),
    notify: (key, kind, extra = {}) => ctl('POST', '/_sim/notify', { channel, out_trade_no: key, kind, ...extra }),
    counts: async (key) => (await ctl('GET', `/_sim/counts?${qs({ out_trade_no: key })}`)).json,
    requests: async (key, method) => (await ctl('GET', `/_sim/requests?${qs({ out_trade_no: key, method })}`)).json.requests,
    order: (key) => ctl('GET', `/_sim/orders?${qs({ out_trade_no: key })}`),
    reset: () => ctl('POST', '/_sim/reset'),
    errors: () => sim.simErrors,
    async close() {
      await sim.close();
      fs.rmSync(keysDir, { recursive: true, force: true });
    },
  };
}

// A stand-in for paygwd's notify endpoint: records {method, path, headers, raw} and answers
// `answer` ({status, body}, changeable at any time).
async function startReceiver(answer = { status: 200, body: 'success' }) {
  const rx = { received: [], answer };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      rx.received.push({ method: req.method, path: req.url, headers: req.headers, raw: Buffer.concat(chunks) });
      res.writeHead(rx.answer.status, { 'content-type': 'text/plain' });
      res.end(rx.answer.body);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  rx.url = (p = '/notify') => `http://127.0.0.1:${server.address().port}${p}`;
  rx.close = () => new Promise((r) => server.close(r));
  return rx;
}

module.exports = { startSim, startReceiver, writePem };
