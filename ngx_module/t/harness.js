'use strict';
// Test harness for ngx_http_paygw_module: renders conf/nginx.conf.in into a
// private prefix, runs Debian's nginx with the module against a small echo
// upstream on a unix socket, and signs requests the way SPEC 3.1 says.
//
// Environment:
//   PAYGW_NGX_MODULE  the .so to load (default: $PAYGW_BUILD/ then build/
//                     ngx_http_paygw_module.so, else built with
//                     ngx_module/build.sh into $TMPDIR)
//   PAYGW_BUILD       the build directory (build/ or build-san/)
//   PAYGW_NGINX       nginx binary (default /usr/sbin/nginx)
//   PAYGW_NGX_SRC     nginx source / nginx-dev kit (default /usr/share/nginx/src)

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const REPO = path.resolve(__dirname, '..', '..');
const NGINX = process.env.PAYGW_NGINX || '/usr/sbin/nginx';

const APPS = [
  '# app_id   key_type      key',
  'A1         HMAC-SHA256   s3cr3t-for-app-A1',
  'B2\tHMAC-SHA256\tan0ther-secret-B2#trailing comment',
  'R3         RSA2          r3_public.pem',
  '',
].join('\n');

const SECRETS = { A1: 's3cr3t-for-app-A1', B2: 'an0ther-secret-B2' };

// RSA keys made once per test process: the app R3's pair and the gateway's
const rsaPair = () => crypto.generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const KEYS = { R3: rsaPair(), gateway: rsaPair() };

function modulePath() {
  if (process.env.PAYGW_NGX_MODULE) return process.env.PAYGW_NGX_MODULE;
  for (const dir of [process.env.PAYGW_BUILD, path.join(REPO, 'build')]) {
    const built = dir && path.join(dir, 'ngx_http_paygw_module.so');
    if (built && fs.existsSync(built)) return built;
  }
  const out = path.join(os.tmpdir(), 'paygw-ngx-module');
  const src = process.env.PAYGW_NGX_SRC || '/usr/share/nginx/src';
  const r = spawnSync('sh', [path.join(REPO, 'ngx_module', 'build.sh'), src, out],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build.sh failed:\n${r.stderr}`);
  return path.join(out, 'ngx_http_paygw_module.so');
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

function render(template, vars) {
  return template.replace(/@([A-Z_]+)@/g, (m, k) => {
    if (!(k in vars)) throw new Error(`no value for placeholder ${m}`);
    return vars[k];
  });
}

// ---- the echo upstream (stands in for paygwd) ----

class Upstream {
  // handler(req, res, body): optional replacement for the echo behaviour
  constructor(sock, handler) {
    this.sock = sock;
    this.hits = [];
    this.server = null;
    this.custom = handler || null;
  }

  handler(req, res) {
    if (this.custom) {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.hits.push({ method: req.method, url: req.url, headers: req.headers, body });
        this.custom(req, res, body);
      });
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      this.hits.push({ method: req.method, url: req.url, headers: req.headers, body });
      const echo = JSON.stringify({
        method: req.method, url: req.url, headers: req.headers,
        body: body.toString('utf8'),
      });
      if (req.url.startsWith('/v1/big')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(Buffer.alloc(1536 * 1024, 'x'));
      } else if (req.url.startsWith('/v1/chunked')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        let i = 0;
        const tick = () => {
          if (i === 20) { res.end('"end"]'); return; }
          res.write(i === 0 ? '[' : '');
          res.write(`"${'c'.repeat(5000)}${i}",`);
          i++;
          setTimeout(tick, 2);
        };
        tick();
      } else if (req.url.startsWith('/v1/missing')) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end('{"error":{"code":"NOT_FOUND","message":"no such order"}}');
      } else if (req.url.startsWith('/v1/forged')) {
        res.writeHead(200, {
          'Content-Type': 'application/json',
          'Paygw-Signature': 'forged', 'Paygw-Nonce': 'forged',
          'Paygw-Timestamp': '1',
        });
        res.end(echo);
      } else if (req.url.startsWith('/v1/empty')) {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(echo);
      }
    });
  }

  start() {
    return new Promise((resolve, reject) => {
      fs.rmSync(this.sock, { force: true });
      this.server = http.createServer((q, s) => this.handler(q, s));
      this.server.keepAliveTimeout = 60000;
      this.server.on('error', reject);
      this.server.listen(this.sock, () => {
        fs.chmodSync(this.sock, 0o666); // nginx workers may run as nobody
        resolve();
      });
    });
  }

  stop() {
    return new Promise((resolve) => {
      if (!this.server) { resolve(); return; }
      this.server.closeAllConnections();
      this.server.close(() => resolve());
      this.server = null;
    });
  }
}

// ---- nginx ----

class Gateway {
  // opts.handler: upstream handler (see Upstream); default echoes requests
  constructor(opts = {}) {
    this.opts = opts;
  }

  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paygw-ngx-t-'));
    fs.chmodSync(this.dir, 0o755);
    this.port = await freePort();
    this.apps = path.join(this.dir, 'apps.conf');
    fs.writeFileSync(this.apps, this.opts.apps !== undefined ? this.opts.apps : APPS);
    fs.writeFileSync(path.join(this.dir, 'r3_public.pem'), KEYS.R3.publicKey);
    this.signKey = path.join(this.dir, 'gateway_key.pem');
    fs.writeFileSync(this.signKey, KEYS.gateway.privateKey, { mode: 0o644 });
    for (const [name, text] of Object.entries(this.opts.files || {})) {
      fs.writeFileSync(path.join(this.dir, name), text);
    }
    this.upstream = new Upstream(path.join(this.dir, 'core.sock'), this.opts.handler);
    await this.upstream.start();

    // Exercise the read-back of request bodies spooled to a temp file:
    // the shipped 64k buffer keeps every accepted body in memory.
    const tpl = fs.readFileSync(path.join(REPO, 'conf', 'nginx.conf.in'), 'utf8')
      .replace('client_body_buffer_size 64k;', 'client_body_buffer_size 8k;');
    this.tpl = tpl;
    this.conf = path.join(this.dir, 'nginx.conf');
    this.writeConf(this.opts.confEdit);

    const t = spawnSync(NGINX, ['-t', '-p', this.dir, '-c', this.conf], { encoding: 'utf8' });
    assert.equal(t.status, 0, `nginx -t failed:\n${t.stderr}`);

    this.proc = spawn(NGINX, ['-p', this.dir, '-c', this.conf, '-g', 'daemon off;'],
      { stdio: ['ignore', 'inherit', 'inherit'] });
    for (let i = 0; i < 100; i++) {
      if (await this.ready()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('nginx did not come up');
  }

  // Renders the shipped template (through edit(text) when given).
  writeConf(edit) {
    let text = render(this.tpl, {
      PREFIX: this.dir,
      LISTEN: `127.0.0.1:${this.port}`,
      MODULE: modulePath(),
      APPS: this.apps,
      SIGN_KEY: this.signKey,
      CORE_SOCK: this.upstream.sock,
    });
    if (edit) text = edit(text);
    fs.writeFileSync(this.conf, text);
  }

  // `nginx -s reload` after optionally rewriting the conf (edit) and/or
  // the apps file (apps); resolves to {status, stderr} once the new
  // workers serve (or at once when the reload was refused).
  async reload({ edit, apps } = {}) {
    if (edit) this.writeConf(edit);
    if (apps !== undefined) fs.writeFileSync(this.apps, apps);
    const before = this.workerPids();
    const r = spawnSync(NGINX, ['-p', this.dir, '-c', this.conf, '-s', 'reload'],
      { encoding: 'utf8' });
    if (r.status !== 0) return { status: r.status, stderr: r.stderr };
    for (let i = 0; i < 200; i++) {
      const now = this.workerPids();
      if (now.length >= 2 && now.every((p) => !before.includes(p))) break;
      await new Promise((res) => setTimeout(res, 25));
    }
    return { status: r.status, stderr: r.stderr };
  }

  // the master's live worker processes (old ones shutting down excluded)
  workerPids() {
    const r = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(this.proc.pid)],
      { encoding: 'utf8' });
    return r.stdout.split('\n').filter((l) => /worker process$/.test(l.trim()))
      .map((l) => Number(l.trim().split(/\s+/)[0]));
  }

  ready() {
    return new Promise((resolve) => {
      const s = net.connect(this.port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
  }

  async stop() {
    if (this.proc) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGQUIT');
      await exited;
      this.proc = null;
    }
    await this.upstream.stop();
    if (!process.env.PAYGW_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  errorLog() {
    return fs.readFileSync(path.join(this.dir, 'error.log'), 'utf8');
  }

  // Sends one request; opts: method, path, body (string|Buffer|Buffer[] for
  // chunked), headers, sign {app, secret, ts, nonce} | false.
  request(opts) {
    const method = opts.method || 'GET';
    const p = opts.path || '/v1/echo';
    const chunked = Array.isArray(opts.body);
    const body = chunked ? Buffer.concat(opts.body)
      : Buffer.from(opts.body === undefined ? '' : opts.body);
    const headers = { ...(opts.headers || {}) };
    if (opts.form) {
      // scheme B: the body is the signed form, no Authorization header
      const form = signForm(opts.form, opts.formKey);
      return this.request({ ...opts, form: undefined, body: form, sign: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
    }
    if (method === 'POST' && !('content-type' in headers)) headers['content-type'] = 'application/json';
    if (opts.sign !== false) {
      const s = { app: 'A1', ts: Math.floor(Date.now() / 1000), nonce: crypto.randomBytes(8).toString('hex'), ...(opts.sign || {}) };
      const rsa = s.rsa !== undefined ? s.rsa : s.app in KEYS;
      let sig;
      if (s.signature !== undefined) sig = s.signature;
      else if (rsa) sig = signRequestRsa(s.key || KEYS[s.app].privateKey, method, p, s.ts, s.nonce, body);
      else sig = signRequest(s.secret !== undefined ? s.secret : SECRETS[s.app], method, p, s.ts, s.nonce, body);
      const scheme = rsa ? 'PAYGW-SHA256-RSA2048' : 'PAYGW-HMAC-SHA256';
      headers.authorization = s.header !== undefined ? s.header
        : `${scheme} app_id="${s.app}",timestamp="${s.ts}",nonce="${s.nonce}",signature="${sig}"`;
    }
    if (!chunked) headers['content-length'] = body.length;
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: this.port, method, path: p, headers,
        agent: opts.agent || false,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          let json = null;
          try { json = JSON.parse(raw.toString('utf8')); } catch { json = null; }
          resolve({ status: res.statusCode, headers: res.headers, raw, json });
        });
      });
      req.on('error', reject);
      if (chunked) {
        for (const c of opts.body) req.write(c);
        req.end();
      } else {
        req.end(body);
      }
    });
  }
}

function signRequest(secret, method, pathq, ts, nonce, body) {
  return crypto.createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`${method}\n${pathq}\n${ts}\n${nonce}\n`), body, Buffer.from('\n')]))
    .digest('base64');
}

function signRequestRsa(privateKey, method, pathq, ts, nonce, body) {
  return crypto.sign('sha256',
    Buffer.concat([Buffer.from(`${method}\n${pathq}\n${ts}\n${nonce}\n`), body, Buffer.from('\n')]),
    privateKey).toString('base64');
}

// SPEC 3.1 scheme B string_to_sign: non-empty params but sign, sorted by
// name (byte order), k=v joined with '&'
function formStringToSign(params) {
  return Object.keys(params).filter((k) => k !== 'sign' && params[k] !== '')
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((k) => `${k}=${params[k]}`).join('&');
}

// Builds a scheme B body.  params may omit app_id (A1), timestamp (now),
// nonce_str (random), sign_type (by the app's key); key overrides the
// secret / private key; params.sign, when given, is used as is.
function signForm(params, key) {
  const p = { app_id: 'A1', timestamp: String(Math.floor(Date.now() / 1000)),
    nonce_str: crypto.randomBytes(8).toString('hex'), ...params };
  if (!('sign_type' in p)) p.sign_type = p.app_id in KEYS ? 'RSA2' : 'HMAC-SHA256';
  if (!('sign' in p)) {
    const sts = formStringToSign(p);
    if (p.sign_type === 'RSA2') {
      p.sign = crypto.sign('sha256', Buffer.from(sts), key || KEYS[p.app_id].privateKey)
        .toString('base64');
    } else {
      const secret = key !== undefined ? key : SECRETS[p.app_id];
      p.sign = crypto.createHmac('sha256', secret).update(`${sts}&key=${secret}`)
        .digest('hex').toUpperCase();
    }
  }
  return new URLSearchParams(p).toString();
}

// Asserts the response carries a valid Paygw-Signature for the app (an
// RSA2 app, or app null for an unknown app: the gateway key).
function assertSigned(res, app = 'A1') {
  const ts = res.headers['paygw-timestamp'];
  const nonce = res.headers['paygw-nonce'];
  const sig = res.headers['paygw-signature'];
  assert.ok(ts && nonce && sig, `response is not signed: ${JSON.stringify(res.headers)}`);
  assert.match(ts, /^\d+$/);
  assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 60, 'response timestamp is off');
  assert.match(nonce, /^[0-9a-f]{16}$/);
  const signed = Buffer.concat([Buffer.from(`${ts}\n${nonce}\n`), res.raw, Buffer.from('\n')]);
  if (app === null || app in KEYS) {
    assert.ok(crypto.verify('sha256', signed, KEYS.gateway.publicKey, Buffer.from(sig, 'base64')),
      'response signature does not verify with the gateway key');
    return;
  }
  const want = crypto.createHmac('sha256', SECRETS[app]).update(signed).digest('base64');
  assert.equal(sig, want, 'response signature does not verify');
}

function assertUnsigned(res) {
  assert.equal(res.headers['paygw-signature'], undefined);
  assert.equal(res.headers['paygw-nonce'], undefined);
  assert.equal(res.headers['paygw-timestamp'], undefined);
}

function assertError(res, status, code, messageRe) {
  assert.equal(res.status, status, `status: ${res.raw.toString()}`);
  assert.match(res.headers['content-type'] || '', /^application\/json/);
  assert.ok(res.json && res.json.error, `not a JSON error: ${res.raw.toString()}`);
  assert.equal(res.json.error.code, code);
  assert.equal(typeof res.json.error.message, 'string');
  if (messageRe) assert.match(res.json.error.message, messageRe);
}

module.exports = {
  Gateway, signRequest, signRequestRsa, signForm, formStringToSign,
  assertSigned, assertUnsigned, assertError, render,
  modulePath, NGINX, REPO, SECRETS, KEYS, APPS,
};
