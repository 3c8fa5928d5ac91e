'use strict';
// tests/packs/lib.js — the conformance kit for channel packs: one simulator on
// 127.0.0.1 (tests/sim), a temporary paygwd.conf + keystore for one channel,
// and the pack driven through `paygwctl channel exchange|notify|test`, i.e. the
// same adapter runtime and classification paygwd uses (docs/pack-operations.md).
//
//   const kit = require('./lib');
//   const k = await kit.start({
//     channel: 'stripe',
//     keys({ simDir, keystore }) { ...write the sim's and our key files... },
//     params: { api_key: 'stripe_api_key' },        // channel NAME param k v
//     endpoint: (simBase) => `${simBase}/stripe`,   // default `${simBase}/${channel}`
//     conf: { timeout_ms: 3000 },                    // extra channel NAME k v lines
//   });
//   const r = await k.exchange('pay', order, { timeoutMs: 1500 });  // → paygwctl JSON
//   await k.script({ out_trade_no: 'T1', pay: 'fail' });           // /_sim/script
//   const n = await k.simNotify({ out_trade_no: 'T1', kind: 'valid' }); // sim sends to k.notifyUrl
//   const v = await k.verifyLastNotify();                          // paygwctl channel notify
//   await k.stop();
//
// Environment: PAYGWCTL (default build/paygwctl), PAYGW_KEEP=1 keeps the temp dir.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const crypto = require('node:crypto');
const { spawn, execFile } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const PAYGWCTL = process.env.PAYGWCTL || path.join(ROOT, 'build', 'paygwctl');

function writeKeyPair(dir, privName, pubName) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  fs.writeFileSync(path.join(dir, privName), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, pubName), publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey };
}

function run(file, args, { timeoutMs = 60000 } = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

function request(method, url, body, { headers = {}, timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(url, {
      method,
      headers: { ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}), ...headers },
      timeout: timeoutMs,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// A notify receiver standing in for paygwd's /notify/<channel>: records the raw
// request and answers what the test sets (default: 200 "success").
class Receiver {
  constructor() {
    this.requests = [];
    this.answer = { status: 200, body: 'success', contentType: 'text/plain' };
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({
          method: req.method, url: req.url, headers: { ...req.headers },
          body: Buffer.concat(chunks), t: Date.now(),
        });
        res.writeHead(this.answer.status, { 'content-type': this.answer.contentType });
        res.end(this.answer.body);
      });
    });
  }

  listen() {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(this.server.address().port)));
  }

  close() { return new Promise((resolve) => this.server.close(() => resolve())); }
}

class PackKit {
  constructor(opts) {
    if (!opts || !opts.channel) throw new Error('kit.start: channel is required');
    this.opts = opts;
    this.channel = opts.channel;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `paygw-pack-${opts.channel}-`));
    this.simDir = path.join(this.dir, 'sim');
    this.keystore = path.join(this.dir, 'keys');
    this.confFile = path.join(this.dir, 'paygwd.conf');
    fs.mkdirSync(path.join(this.simDir, opts.channel), { recursive: true });
    fs.mkdirSync(this.keystore, { recursive: true });
    this.receiver = new Receiver();
    this.seq = 0;
  }

  async start() {
    // the simulator always needs Alipay's pair at the root of its key dir
    if (!fs.existsSync(path.join(this.simDir, 'alipay_private.pem'))) {
      writeKeyPair(this.simDir, 'alipay_private.pem', 'alipay_public.tmp.pem');
      const app = writeKeyPair(this.simDir, 'app_private.tmp.pem', 'app_public.pem');
      void app;
    }
    if (this.opts.keys) await this.opts.keys({ simDir: path.join(this.simDir, this.channel), simRoot: this.simDir, keystore: this.keystore, dir: this.dir });
    this.notifyPort = await this.receiver.listen();
    this.notifyUrl = `http://127.0.0.1:${this.notifyPort}/notify/${this.channel}`;
    await this.startSim();
    this.writeConf();
  }

  startSim() {
    return new Promise((resolve, reject) => {
      const args = [path.join(ROOT, 'tests', 'sim', 'server.js'), '--port', '0', '--keys', this.simDir,
        ...(this.opts.simArgs || [])];
      this.simProc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`sim did not start in 60 s: ${err}`)), 60000);
      this.simProc.stdout.on('data', (c) => {
        out += c;
        const m = /sim listening 127\.0\.0\.1:(\d+)/.exec(out);
        if (m && !this.simBase) {
          clearTimeout(timer);
          this.simBase = `http://127.0.0.1:${m[1]}`;
          resolve();
        }
      });
      this.simProc.stderr.on('data', (c) => { err += c; this.simStderr = err; });
      this.simProc.on('exit', (code) => {
        if (!this.simBase) { clearTimeout(timer); reject(new Error(`sim exited ${code}: ${err}`)); }
      });
    });
  }

  writeConf(params = this.opts.params || {}) {
    const ch = this.channel;
    const endpoint = this.opts.endpoint ? this.opts.endpoint(this.simBase) : `${this.simBase}/${ch}`;
    const lines = [
      `templates ${path.join(ROOT, 'templates')}`,
      `scripts   ${path.join(ROOT, 'scripts')}`,
      `keystore  ${this.keystore}`,
      `db        ${path.join(this.dir, 'unused.db')}`,
      `public_url http://127.0.0.1:${this.notifyPort}`,
      `channel ${ch} endpoint ${endpoint}`,
    ];
    for (const [k, v] of Object.entries(this.opts.conf || {})) lines.push(`channel ${ch} ${k} ${v}`);
    for (const [k, v] of Object.entries(params)) lines.push(`channel ${ch} param ${k} ${v}`);
    fs.writeFileSync(this.confFile, `${lines.join('\n')}\n`);
  }

  // Rewrite the conf with other params (e.g. a wrong key name) for the next calls.
  setParams(params) { this.writeConf({ ...(this.opts.params || {}), ...params }); }

  async ctl(args, opts) {
    const r = await run(PAYGWCTL, ['channel', ...args, '--conf', this.confFile], opts);
    return r;
  }

  // paygwctl channel test NAME → { code, stdout, stderr }
  test() { return this.ctl(['test', this.channel]); }

  // paygwctl channel render NAME OP → the request JSON (raw: secrets unmasked)
  async render(op, order, { raw = false } = {}) {
    const f = path.join(this.dir, `order-${++this.seq}.json`);
    fs.writeFileSync(f, JSON.stringify(order));
    const r = await this.ctl(['render', this.channel, op, '--input', f, ...(raw ? ['--raw'] : [])]);
    if (r.code !== 0) throw new Error(`paygwctl channel render ${op} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  // paygwctl channel exchange NAME OP → {op, sent, http_status, class, code, fields, error, request}
  async exchange(op, order, { timeoutMs } = {}) {
    const f = path.join(this.dir, `order-${++this.seq}.json`);
    fs.writeFileSync(f, JSON.stringify(order));
    const args = ['exchange', this.channel, op, '--input', f];
    if (timeoutMs) args.push('--timeout-ms', String(timeoutMs));
    const r = await this.ctl(args, { timeoutMs: (timeoutMs || 20000) + 30000 });
    if (r.code !== 0) throw new Error(`paygwctl channel exchange ${op} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  // paygwctl channel notify NAME over a recorded request {body, headers, contentType, query}
  async verifyNotify({ body, headers = {}, contentType, query }) {
    const f = path.join(this.dir, `notify-${++this.seq}.bin`);
    fs.writeFileSync(f, body);
    const args = ['notify', this.channel, '--body-file', f];
    for (const [k, v] of Object.entries(headers)) {
      if (k === 'host' || k === 'content-length' || k === 'connection') continue;
      args.push('--header', `${k}: ${Array.isArray(v) ? v.join(', ') : v}`);
    }
    if (contentType) args.push('--content-type', contentType);
    if (query) args.push('--query', query);
    const r = await this.ctl(args);
    if (r.code !== 0) throw new Error(`paygwctl channel notify failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  // the last request the receiver got, verified by the pack
  async verifyLastNotify() {
    const n = this.receiver.requests[this.receiver.requests.length - 1];
    if (!n) throw new Error('no notification received');
    const u = new URL(n.url, 'http://x');
    return this.verifyNotify({
      body: n.body, headers: n.headers, contentType: n.headers['content-type'],
      query: u.search ? u.search.slice(1) : '',
    });
  }

  // simulator control API (channel added unless given)
  sim(p, body = {}) {
    return request('POST', `${this.simBase}${p}`, { channel: this.channel, ...body });
  }

  simGet(p, params = {}) {
    const q = new URLSearchParams({ channel: this.channel, ...params });
    return request('GET', `${this.simBase}${p}?${q}`);
  }

  script(s) { return this.sim('/_sim/script', s); }

  // ask the sim to send a notification (to this kit's receiver unless notify_url given)
  simNotify(body) { return this.sim('/_sim/notify', { notify_url: this.notifyUrl, ...body }); }

  async stop() {
    if (this.simProc && this.simProc.exitCode === null) {
      const done = new Promise((resolve) => this.simProc.once('exit', resolve));
      this.simProc.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
      if (this.simProc.exitCode === null) this.simProc.kill('SIGKILL');
    }
    await this.receiver.close();
    if (process.env.PAYGW_KEEP !== '1') fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

async function start(opts) {
  const k = new PackKit(opts);
  try {
    await k.start();
  } catch (e) {
    await k.stop().catch(() => {});
    throw e;
  }
  return k;
}

// a fresh order number for each test case
function tradeNo(prefix = 'T') {
  return `${prefix}${Date.now()}${crypto.randomInt(1e6).toString().padStart(6, '0')}`;
}

module.exports = { start, tradeNo, request, writeKeyPair, PAYGWCTL, ROOT };
