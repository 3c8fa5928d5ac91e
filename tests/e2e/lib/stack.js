'use strict';
// The real paygw stack for end-to-end tests: the Alipay simulator (tests/sim), paygwd and
// nginx with ngx_http_paygw_module, all on 127.0.0.1 with ports chosen at run time, in a
// fresh temp directory with fresh keys.
//
// Apps: A1 and A2 (HMAC-SHA256) and, when conf/nginx.conf.in takes the gateway key
// (@SIGN_KEY@, i.e. the module signs for RSA2 apps), R1 (RSA2, key pair generated here).
// The gateway key pair: the private key is paygwd's sign_key (given relative to the
// config file) and nginx's paygw_sign_key; tests verify with the public half.
//
// Env: PAYGW_ROOT (repo root, default two levels above tests/e2e), PAYGW_BUILD (build dir,
// default $PAYGW_ROOT/build; `make test SAN=1` passes build-san), NGINX (nginx binary),
// PAYGW_E2E_KEEP=1 keeps the temp dir, PAYGW_E2E_VERBOSE=1 prints log tails at teardown,
// PAYGW_E2E_IGNORE_LEAKS=1 does not fail a file on LeakSanitizer reports (SAN=1 builds).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn, execFileSync } = require('node:child_process');
const { request } = require('./http');
const {
  authorization, authorizationRsa, schemeBForm, verifyPaygwSignature, verifyPaygwSignatureRsa,
} = require('./sign');
const { sleep, waitFor, freePort } = require('./util');

const ROOT = path.resolve(process.env.PAYGW_ROOT || path.join(__dirname, '..', '..', '..'));
const BUILD = path.resolve(process.env.PAYGW_BUILD || path.join(ROOT, 'build'));
const ALIPAY_APP_ID = '2021000000000001';

const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      process.kill(p.pid, p.stopSignal || 'SIGKILL');
    } catch (_) { /* already gone */ }
  }
});

function findNginx() {
  if (process.env.NGINX) return process.env.NGINX;
  for (const dir of (process.env.PATH || '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'])) {
    const p = path.join(dir, 'nginx');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch (_) { /* keep looking */ }
  }
  throw new Error('nginx not found (set NGINX=/path/to/nginx)');
}

function openssl(args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function fatal(msg) {
  return Object.assign(new Error(msg), { fatal: true });
}

function tail(file, lines = 40) {
  try {
    const t = fs.readFileSync(file, 'utf8').split('\n');
    return t.slice(-lines).join('\n');
  } catch (_) {
    return '(no such file)';
  }
}

class Proc {
  constructor(name, cmd, args, { cwd, logFile, stopSignal = 'SIGTERM', env }) {
    this.name = name;
    this.stopSignal = stopSignal;
    this.logFile = logFile;
    const fd = fs.openSync(logFile, 'a');
    fs.writeSync(fd, `\n==== ${new Date().toISOString()} start ${cmd} ${args.join(' ')}\n`);
    this.child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', fd], env: env || process.env });
    fs.closeSync(fd);
    this.pid = this.child.pid;
    this.stdout = '';
    this.exited = false;
    this.exitInfo = null;
    this.child.stdout.on('data', (d) => {
      this.stdout += d;
      fs.appendFileSync(logFile, d);
    });
    this.exitPromise = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = true;
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
      });
      this.child.on('error', (e) => {
        this.exited = true;
        this.exitInfo = { code: null, signal: null, error: e.message };
        live.delete(this);
        resolve(this.exitInfo);
      });
    });
    live.add(this);
  }

  async kill(signal) {
    if (this.exited) return this.exitInfo;
    try {
      process.kill(this.pid, signal);
    } catch (_) { /* gone */ }
    return this.exitPromise;
  }

  async stop(graceMs = 5000) {
    if (this.exited) return this.exitInfo;
    try {
      process.kill(this.pid, this.stopSignal);
    } catch (_) { /* gone */ }
    const r = await Promise.race([this.exitPromise, sleep(graceMs).then(() => null)]);
    if (r) return r;
    return this.kill('SIGKILL');
  }
}

class Stack {
  constructor(opts = {}) {
    this.opts = {
      name: 'e2e',
      firstQueryDelayMs: 300,
      queryBackoffMs: '300,500,1000',
      notifyBackoff: '1,1,2',
      timeoutMs: 1500,
      connectTimeoutMs: 500,
      extraConf: [],
      // channels: ['alipay', 'stripe', …] also configures those channels (keys on both
      // sides, paygwd.conf lines, sim options) from lib/channels.js; default: alipay only
      channels: null,
      nginx: true,          // false: paygwd + simulator only (tests that talk to core.sock)
      ...opts,
    };
    this.root = ROOT;
    this.build = BUILD;
    this.apps = {
      A1: { secret: `a1-${crypto.randomBytes(16).toString('hex')}` },
      A2: { secret: `a2-${crypto.randomBytes(16).toString('hex')}` },
    };
    // opts.appOptions: { A1: 'rate=off concurrency=off' } — apps-file options per app
    for (const [id, o] of Object.entries(this.opts.appOptions || {})) {
      if (this.apps[id]) this.apps[id].options = o;
    }
    this.adminToken = `adm-${crypto.randomBytes(16).toString('hex')}`;
    this.alipayAppId = ALIPAY_APP_ID;
  }

  static async start(opts) {
    const s = new Stack(opts);
    try {
      await s._start();
    } catch (e) {
      const logs = s.dir ? s.logTails() : '';
      await s.stop(false);
      e.message += logs ? `\n${logs}` : '';
      throw e;
    }
    return s;
  }

  async _start() {
    const paygwd = path.join(this.build, 'paygwd');
    const module = path.join(this.build, 'ngx_http_paygw_module.so');
    const tpl = path.join(this.root, 'conf', 'nginx.conf.in');
    for (const f of this.opts.nginx ? [paygwd, module, tpl] : [paygwd]) {
      if (!fs.existsSync(f)) throw new Error(`missing ${f} (build first: make; or set PAYGW_ROOT / PAYGW_BUILD)`);
    }
    if (!fs.existsSync(path.join(this.root, 'tests', 'sim', 'node_modules', 'alipay-sdk'))) {
      throw new Error('tests/sim/node_modules missing: run (cd tests/sim && npm ci)');
    }
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `paygw-${this.opts.name}-`));
    // nginx workers run as "nobody": they must enter the prefix and reach the socket.
    fs.chmodSync(this.dir, 0o755);
    this.rsa = !this.opts.nginx || fs.readFileSync(tpl, 'utf8').includes('@SIGN_KEY@');
    for (const d of ['keys', 'sim', 'run', 'logs', 'gw', 'app-keys']) {
      fs.mkdirSync(path.join(this.dir, d), { recursive: true, mode: 0o755 });
      fs.chmodSync(path.join(this.dir, d), 0o755);
    }
    this.logs = path.join(this.dir, 'logs');
    this.makeKeys();
    if (this.opts.channels) {
      this.channelKit = require('./channels');
      this.channelKit.writeChannelKeys(this.opts.channels, { simKeysRoot: path.join(this.dir, 'sim'), keystore: path.join(this.dir, 'keys') });
    }

    this.ports = { nginx: await freePort(), admin: await freePort(), sim: await freePort() };
    // opts.copyPacks: paygwd reads a copy of templates/ and scripts/ the test may change
    this.templatesDir = path.join(this.root, 'templates');
    this.scriptsDir = path.join(this.root, 'scripts');
    if (this.opts.copyPacks) {
      this.templatesDir = path.join(this.dir, 'packs', 'templates');
      this.scriptsDir = path.join(this.dir, 'packs', 'scripts');
      fs.cpSync(path.join(this.root, 'templates'), this.templatesDir, { recursive: true });
      fs.cpSync(path.join(this.root, 'scripts'), this.scriptsDir, { recursive: true });
    }
    this.coreSock = path.join(this.dir, 'run', 'core.sock');
    this.appsFile = path.join(this.dir, 'apps.conf');
    this.confFile = path.join(this.dir, 'paygwd.conf');
    this.nginxConf = path.join(this.dir, 'nginx.conf');
    this.dbFile = path.join(this.dir, 'paygw.db');

    await this.startSim();
    // opts.beforeCore(stack): after the simulator made its keys, before paygwd starts
    // (e.g. copy another channel's sim keys into paygwd's keystore)
    if (this.opts.beforeCore) await this.opts.beforeCore(this);
    this.writeApps();
    this.writeCoreConf();
    if (this.opts.nginx) this.writeNginxConf(tpl, module);
    await this.startCore();
    if (this.opts.nginx) await this.startNginx();
  }

  makeKeys() {
    const k = (n) => path.join(this.dir, 'keys', n);
    const s = (n) => path.join(this.dir, 'sim', n);
    const gen = (out) => openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', out]);
    const tmpApp = path.join(this.dir, 'app_private.tmp.pem');
    const tmpAli = path.join(this.dir, 'alipay_private.tmp.pem');
    gen(tmpApp);
    gen(tmpAli);
    // paygwd keystore: our app private key + the Alipay public key
    fs.copyFileSync(tmpApp, k('alipay_app_private.pem'));
    openssl(['pkey', '-in', tmpAli, '-pubout', '-out', k('alipay_public.pem')]);
    // simulator: the Alipay private key + our app public key
    fs.copyFileSync(tmpAli, s('alipay_private.pem'));
    openssl(['pkey', '-in', tmpApp, '-pubout', '-out', s('app_public.pem')]);
    fs.unlinkSync(tmpApp);
    fs.unlinkSync(tmpAli);
    for (const f of fs.readdirSync(path.join(this.dir, 'keys'))) fs.chmodSync(k(f), 0o600);
    // the gateway's key pair (paygwd sign_key, nginx paygw_sign_key)
    this.signKey = path.join(this.dir, 'gw', 'gateway_private.pem');
    gen(this.signKey);
    fs.chmodSync(this.signKey, 0o600);
    this.gatewayPublicKey = crypto.createPublicKey(fs.readFileSync(this.signKey));
    this.gatewayPublicPem = path.join(this.dir, 'gw', 'gateway_public.pem');
    fs.writeFileSync(this.gatewayPublicPem, this.gatewayPublicKey.export({ type: 'spki', format: 'pem' }));
    // the RSA2 app R1: its private key stays with the test (the caller), the public key
    // is registered in the apps file by a path relative to the apps file
    if (this.rsa) {
      const priv = path.join(this.dir, 'app-keys', 'r1_private.pem');
      gen(priv);
      openssl(['pkey', '-in', priv, '-pubout', '-out', path.join(this.dir, 'app-keys', 'r1_public.pem')]);
      this.apps.R1 = {
        type: 'RSA2',
        keyPath: 'app-keys/r1_public.pem',
        privateKeyFile: priv,
        privateKey: crypto.createPrivateKey(fs.readFileSync(priv)),
      };
    }
  }

  async startSim() {
    this.simProc = new Proc('sim', process.execPath, [
      path.join(this.root, 'tests', 'sim', 'server.js'), '--port', String(this.ports.sim), '--keys', path.join(this.dir, 'sim'),
      '--app-id', ALIPAY_APP_ID,
      ...(this.channelKit ? this.channelKit.simArgs(this.opts.channels, { publicUrl: `http://127.0.0.1:${this.ports.nginx}` }) : []),
    ], { cwd: this.dir, logFile: path.join(this.logs, 'sim.log') });
    const m = await waitFor('the simulator ready line', async () => {
      if (this.simProc.exited) throw fatal(`sim exited ${JSON.stringify(this.simProc.exitInfo)}:\n${tail(path.join(this.logs, 'sim.log'), 20)}`);
      return /sim listening 127\.0\.0\.1:(\d+)/.exec(this.simProc.stdout);
    }, Boolean, { timeoutMs: 15000, intervalMs: 50 });
    this.ports.sim = Number(m[1]);
    this.simBase = `http://127.0.0.1:${this.ports.sim}`;
    this.callerUrl = `${this.simBase}/caller/notify`;
  }

  writeApps() {
    const lines = ['# app_id   key_type      key    options'];
    for (const [id, a] of Object.entries(this.apps)) {
      lines.push(a.type === 'RSA2' ? `${id} RSA2 ${a.keyPath} apis=*` : `${id} HMAC-SHA256 ${a.secret}${a.options ? ` ${a.options}` : ''}`);
    }
    fs.writeFileSync(this.appsFile, `${lines.join('\n')}\n`, { mode: 0o644 });
  }

  writeCoreConf() {
    const o = this.opts;
    const lines = [
      `listen_unix     ${this.coreSock}`,
      `admin_listen    127.0.0.1:${this.ports.admin}`,
      `admin_token     ${this.adminToken}`,
      `db              ${this.dbFile}`,
      `apps            ${this.appsFile}`,
      'sign_key        gw/gateway_private.pem',
      `templates       ${this.templatesDir}`,
      `scripts         ${this.scriptsDir}`,
      `keystore        ${path.join(this.dir, 'keys')}`,
      `public_url      http://127.0.0.1:${this.ports.nginx}`,
      `notify_backoff  ${o.notifyBackoff}`,
      `channel alipay  endpoint              ${this.simBase}/gateway.do`,
      `channel alipay  first_query_delay_ms  ${o.firstQueryDelayMs}`,
      `channel alipay  query_backoff_ms      ${o.queryBackoffMs}`,
      `channel alipay  connect_timeout_ms    ${o.connectTimeoutMs}`,
      `channel alipay  timeout_ms            ${o.timeoutMs}`,
      `channel alipay  param app_id          ${ALIPAY_APP_ID}`,
      'channel alipay  param app_private_key alipay_app_private',
      'channel alipay  param channel_public_key alipay_public',
      ...(this.channelKit ? this.channelKit.confLines(o.channels, {
        simBase: this.simBase,
        publicUrl: `http://127.0.0.1:${this.ports.nginx}`,
        conf: {
          first_query_delay_ms: o.firstQueryDelayMs,
          query_backoff_ms: o.queryBackoffMs,
          connect_timeout_ms: o.connectTimeoutMs,
          timeout_ms: o.timeoutMs,
        },
      }) : []),
      // extraConf: lines, or a function of the stack (e.g. for the sim's address)
      ...(typeof o.extraConf === 'function' ? o.extraConf(this) : o.extraConf),
    ];
    fs.writeFileSync(this.confFile, `${lines.join('\n')}\n`);
  }

  writeNginxConf(tpl, module) {
    const text = fs.readFileSync(tpl, 'utf8')
      .replaceAll('@PREFIX@', this.dir)
      .replaceAll('@LISTEN@', `127.0.0.1:${this.ports.nginx}`)
      .replaceAll('@MODULE@', module)
      .replaceAll('@APPS@', this.appsFile)
      .replaceAll('@CORE_SOCK@', this.coreSock)
      .replaceAll('@SIGN_KEY@', this.signKey);
    const left = /@[A-Z_]+@/.exec(text);
    if (left) throw new Error(`conf/nginx.conf.in has a placeholder the harness does not know: ${left[0]}`);
    fs.writeFileSync(this.nginxConf, text);
  }

  async startCore() {
    this.coreProc = new Proc('paygwd', path.join(this.build, 'paygwd'), ['-c', this.confFile], {
      cwd: this.dir, logFile: path.join(this.logs, 'paygwd.log'),
    });
    await waitFor('paygwd admin /admin/health and its unix socket', async () => {
      if (this.coreProc.exited) throw fatal(`paygwd exited ${JSON.stringify(this.coreProc.exitInfo)}:\n${tail(path.join(this.logs, 'paygwd.log'), 30)}`);
      if (!fs.existsSync(this.coreSock)) return false;
      const r = await this.admin('GET', '/admin/health', { timeoutMs: 1000 });
      return r.status === 200;
    }, Boolean, { timeoutMs: 20000, intervalMs: 50 });
  }

  async startNginx() {
    this.nginxProc = new Proc('nginx', findNginx(), ['-p', this.dir, '-c', this.nginxConf, '-g', 'daemon off;'], {
      cwd: this.dir, logFile: path.join(this.logs, 'nginx.out'), stopSignal: 'SIGTERM',
    });
    await waitFor('nginx answering on its listener', async () => {
      if (this.nginxProc.exited) throw fatal(`nginx exited ${JSON.stringify(this.nginxProc.exitInfo)}:\n${tail(path.join(this.logs, 'nginx.out'), 20)}\n${tail(path.join(this.dir, 'error.log'), 20)}`);
      const r = await request({ port: this.ports.nginx, path: '/v1/payments/READYPROBE', timeoutMs: 1000, keepAlive: false });
      // only nginx's answer counts: anything else on this port means nginx could not bind
      if (r.status > 0 && r.headers.server !== 'nginx') {
        throw fatal(`127.0.0.1:${this.ports.nginx} is answered by something other than nginx (server: ${r.headers.server}):\n${tail(path.join(this.dir, 'error.log'), 20)}`);
      }
      return r.status > 0;
    }, Boolean, { timeoutMs: 20000, intervalMs: 50 });
  }

  // kill -9 the daemon (nothing flushed, nothing closed).
  async killCore() {
    return this.coreProc.kill('SIGKILL');
  }

  async restartCore() {
    if (!this.coreProc.exited) await this.killCore();
    await this.startCore();
  }

  // Stops everything. Throws when a sanitizer (SAN=1 builds) reported anything in the
  // daemon's or nginx's output, so the report cannot go unnoticed.
  async stop(failed = false) {
    const procs = [this.nginxProc, this.coreProc, this.simProc].filter(Boolean);
    for (const p of procs) await p.stop();
    if (!this.dir) return;
    const reports = this.sanitizerReports();
    if (process.env.PAYGW_E2E_VERBOSE || failed || reports.length) process.stderr.write(`${this.logTails()}\n`);
    if (process.env.PAYGW_E2E_KEEP || reports.length) {
      process.stderr.write(`e2e: kept ${this.dir}\n`);
    } else {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
    if (reports.length) throw new Error(`sanitizer reports:\n${reports.join('\n')}`);
  }

  sanitizerReports() {
    // PAYGW_E2E_IGNORE_LEAKS=1 tolerates LeakSanitizer reports (memory errors and UBSan
    // reports always count).
    const re = process.env.PAYGW_E2E_IGNORE_LEAKS
      ? /ERROR: AddressSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer/
      : /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)\w*Sanitizer/;
    const out = [];
    for (const f of [path.join(this.logs, 'paygwd.log'), path.join(this.logs, 'nginx.out'), path.join(this.dir, 'error.log')]) {
      let text = '';
      try {
        text = fs.readFileSync(f, 'utf8');
      } catch (_) {
        continue;
      }
      for (const line of text.split('\n')) if (re.test(line)) out.push(`${path.basename(f)}: ${line}`);
    }
    return out;
  }

  logTails(lines = 40) {
    return [
      `---- ${this.dir}`,
      `---- paygwd.log\n${tail(path.join(this.logs, 'paygwd.log'), lines)}`,
      `---- nginx error.log\n${tail(path.join(this.dir, 'error.log'), lines)}`,
      `---- nginx.out\n${tail(path.join(this.logs, 'nginx.out'), 10)}`,
      `---- sim.log\n${tail(path.join(this.logs, 'sim.log'), 10)}`,
    ].join('\n');
  }

  // ------------------------------------------------------------------ caller API
  // Signed request through nginx. opts: app, body (object → JSON), raw (string/Buffer body
  // sent as is), secret (override), timestamp, nonce, headers, noAuth, authHeader,
  // signPath (path used in the signature, default = path), signBody (body used in the
  // signature, default = the body sent), scheme ('A' default; 'B': body is a form of the
  // object in opts.form, signed with the app's key type). RSA2 apps sign scheme A with
  // PAYGW-SHA256-RSA2048; their answers are checked with the gateway's public key.
  async api(method, pathAndQuery, opts = {}) {
    const app = opts.app || 'A1';
    const a = this.apps[app];
    const headers = { ...(opts.headers || {}) };
    let body;
    if (opts.scheme === 'B') {
      const key = a && a.type === 'RSA2' ? { privateKey: a.privateKey } : { secret: opts.secret || (a ? a.secret : 'no-such-secret') };
      const f = schemeBForm(app, opts.form || {}, key, { timestamp: opts.timestamp, nonce: opts.nonce });
      body = opts.raw !== undefined ? String(opts.raw) : f.body;
      headers['content-type'] = headers['content-type'] || 'application/x-www-form-urlencoded';
      opts = { ...opts, noAuth: true };
    } else {
      body = opts.raw !== undefined ? opts.raw : (opts.body !== undefined ? JSON.stringify(opts.body) : '');
      if (Buffer.isBuffer(body)) body = body.toString('utf8');
      if (body.length && !headers['content-type']) headers['content-type'] = 'application/json';
    }
    if (!opts.noAuth) {
      if (opts.authHeader) {
        headers.authorization = opts.authHeader;
      } else {
        const sign = {
          appId: app, method,
          pathAndQuery: opts.signPath || pathAndQuery,
          body: opts.signBody !== undefined ? opts.signBody : body,
          timestamp: opts.timestamp, nonce: opts.nonce,
        };
        headers.authorization = a && a.type === 'RSA2'
          ? authorizationRsa({ ...sign, privateKey: a.privateKey }).header
          : authorization({ ...sign, secret: opts.secret || (a ? a.secret : 'no-such-secret') }).header;
      }
    }
    const res = await request({
      port: this.ports.nginx, method, path: pathAndQuery, headers,
      body: body.length || method === 'POST' ? body : undefined, timeoutMs: opts.timeoutMs || 15000,
    });
    if (a) res.sig = this.verifyFor(app, res.headers, res.raw);
    return res;
  }

  // The Paygw-Signature check for app's answers and notifications: its secret (HMAC) or
  // the gateway's public key (RSA2).
  verifyFor(app, headers, raw) {
    const a = this.apps[app];
    return a.type === 'RSA2'
      ? verifyPaygwSignatureRsa(this.gatewayPublicKey, headers, raw)
      : verifyPaygwSignature(a.secret, headers, raw);
  }

  // A request straight to paygwd's unix socket, as nginx would send it after verifying:
  // opts.app → X-Paygw-App-Id, opts.headers, opts.body (object → JSON) or opts.raw with
  // opts.contentType.
  core(method, pathAndQuery, opts = {}) {
    const headers = { ...(opts.app !== null ? { 'x-paygw-app-id': opts.app || 'A1' } : {}), ...(opts.headers || {}) };
    let body;
    if (opts.raw !== undefined) {
      body = String(opts.raw);
      headers['content-type'] = opts.contentType || 'application/x-www-form-urlencoded';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    return request({ socketPath: this.coreSock, method, path: pathAndQuery, headers, body, timeoutMs: opts.timeoutMs || 15000 });
  }

  paymentBody(no, over = {}) {
    return {
      out_trade_no: no,
      amount: 1000,
      currency: 'CNY',
      method: 'alipay.qr',
      subject: `Order ${no}`,
      notify_url: this.callerUrl,
      expire_seconds: 900,
      channel: 'alipay',
      ...over,
    };
  }

  // opts.scheme 'B' sends the order as a signed form instead of JSON
  pay(no, over = {}, opts = {}) {
    if (opts.scheme === 'B') return this.api('POST', '/v1/payments', { ...opts, form: this.paymentBody(no, over) });
    return this.api('POST', '/v1/payments', { ...opts, body: this.paymentBody(no, over) });
  }

  async payment(no, app = 'A1') {
    return this.api('GET', `/v1/payments/${encodeURIComponent(no)}`, { app });
  }

  async paymentStatus(no, app = 'A1') {
    const r = await this.payment(no, app);
    if (r.status !== 200 || !r.json) return `HTTP ${r.status}`;
    return r.json.status;
  }

  voucher(id, waitMs = 0, app = 'A1') {
    const q = waitMs ? `?wait_ms=${waitMs}` : '';
    return this.api('GET', `/v1/vouchers/${encodeURIComponent(id)}${q}`, { app, timeoutMs: waitMs + 15000 });
  }

  // ------------------------------------------------------------------ admin API
  admin(method, p, opts = {}) {
    const headers = { ...(opts.headers || {}), ...(opts.noAuth ? {} : { authorization: `Bearer ${opts.token || this.adminToken}` }) };
    let body;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    return request({ port: this.ports.admin, method, path: p, headers, body, timeoutMs: opts.timeoutMs || 10000 });
  }

  // The admin trace of one order, or null when paygwd has no such order.
  async adminOrder(no, app = 'A1') {
    const r = await this.admin('GET', `/admin/orders/${encodeURIComponent(no)}?app_id=${encodeURIComponent(app)}`);
    if (r.status === 404) return null;
    if (r.status !== 200 || !r.json) throw new Error(`admin orders ${no}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    const list = Array.isArray(r.json.orders) ? r.json.orders : [];
    return list.length ? list[0] : null;
  }

  // ------------------------------------------------------------------ simulator
  async sim(method, p, body) {
    const r = await request({
      port: this.ports.sim, method, path: p,
      headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      body: body !== undefined ? JSON.stringify(body) : undefined,
      timeoutMs: 20000,
    });
    if (r.status >= 300) throw new Error(`sim ${method} ${p}: HTTP ${r.status} ${r.text}`);
    return r.json;
  }

  simScript(s) { return this.sim('POST', '/_sim/script', s); }
  simCounts(no) { return this.sim('GET', `/_sim/counts${no ? `?out_trade_no=${encodeURIComponent(no)}` : ''}`); }
  async simRequests(no, method) {
    const q = [no ? `out_trade_no=${encodeURIComponent(no)}` : '', method ? `method=${encodeURIComponent(method)}` : ''].filter(Boolean).join('&');
    return (await this.sim('GET', `/_sim/requests${q ? `?${q}` : ''}`)).requests;
  }
  async simOrder(no) {
    const r = await request({ port: this.ports.sim, method: 'GET', path: `/_sim/orders?out_trade_no=${encodeURIComponent(no)}` });
    return r.status === 200 ? r.json : null;
  }
  simPay(no) { return this.sim('POST', '/_sim/pay', { out_trade_no: no }); }
  simNotify(no, kind, extra = {}) { return this.sim('POST', '/_sim/notify', { out_trade_no: no, kind, ...extra }); }
  async callerNotifications(no) {
    return (await this.sim('GET', `/_sim/caller/notifications${no ? `?out_trade_no=${encodeURIComponent(no)}` : ''}`)).notifications;
  }
}

// Tolerant readers for the admin trace (docs/internals.md names the lists, not every field).
const trace = {
  transitions: (o) => (o && Array.isArray(o.transitions) ? o.transitions : []),
  to: (t) => t.to_status ?? t.to ?? t.status ?? t.new_status,
  from: (t) => t.from_status ?? t.from ?? t.old_status,
  discrepancies: (o) => (o && Array.isArray(o.discrepancies) ? o.discrepancies : []),
  notifications: (o) => (o && Array.isArray(o.notifications) ? o.notifications : []),
  attempts: (o) => (o && Array.isArray(o.attempts) ? o.attempts : []),
  // delivery attempts of one caller notification: a count, or a list of tries
  deliveryAttempts: (n) => {
    if (Array.isArray(n.tries)) return n.tries.length;
    if (Array.isArray(n.attempts)) return n.attempts.length;
    if (typeof n.attempts === 'number') return n.attempts;
    return 0;
  },
};

module.exports = { Stack, trace, ROOT, BUILD, ALIPAY_APP_ID };
