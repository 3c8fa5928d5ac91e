'use strict';
// paygwctl against nginx + ngx_http_paygw_module in front of a mock paygwd
// (unix socket), plus a mock admin API and a mock gateway that signs badly.
// Run: node --test cli/t/
//
// Environment: PAYGW_CTL (the paygwctl binary; default $PAYGW_BUILD/ then
// build/paygwctl, else compiled into $TMPDIR), and the variables of
// ngx_module/t/harness.js.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const { Gateway, REPO, SECRETS, KEYS } = require('../../ngx_module/t/harness');

const TOKEN = 'admin-tok';

function ctlPath() {
  if (process.env.PAYGW_CTL) return process.env.PAYGW_CTL;
  for (const dir of [process.env.PAYGW_BUILD, path.join(REPO, 'build')]) {
    const built = dir && path.join(dir, 'paygwctl');
    if (built && fs.existsSync(built)) return built;
  }
  const out = path.join(os.tmpdir(), 'paygwctl-test-build');
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'libcurl', 'jansson', 'libcrypto'],
    { encoding: 'utf8' }).stdout.trim().split(/\s+/).filter(Boolean);
  const srcs = fs.readdirSync(path.join(REPO, 'cli')).filter((f) => f.endsWith('.c'))
    .map((f) => path.join(REPO, 'cli', f));
  const r = spawnSync('cc', ['-std=c17', '-Wall', '-Wextra', '-Werror', '-D_GNU_SOURCE', '-O1', '-g',
    '-o', out, ...srcs, ...flags], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot build paygwctl:\n${r.stderr}`);
  return out;
}

// ---- mock paygwd behind nginx ----

const orders = new Map();
const closes = [];
let voucherPolls = 0;

// Independent checks (node:crypto) of what paygwctl signed, as the mock core
// sees it behind nginx.
function formStringToSign(params) {
  return [...params.keys()].filter((k) => k !== 'sign' && params.get(k) !== '')
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((k) => `${k}=${params.get(k)}`).join('&');
}

function formSignatureOk(params) {
  const sts = formStringToSign(params);
  const sign = params.get('sign') || '';
  if (params.get('sign_type') === 'RSA2') {
    return crypto.verify('sha256', Buffer.from(sts), KEYS[params.get('app_id')].publicKey,
      Buffer.from(sign, 'base64'));
  }
  const secret = SECRETS[params.get('app_id')];
  const want = crypto.createHmac('sha256', secret).update(`${sts}&key=${secret}`).digest('hex').toUpperCase();
  return sign === want;
}

// PAYGW-SHA256-RSA2048 app_id="…",timestamp="…",nonce="…",signature="…"
function rsaAuthOk(req, body) {
  const h = req.headers.authorization || '';
  const m = h.match(/^PAYGW-SHA256-RSA2048 app_id="([^"]+)",timestamp="(\d+)",nonce="([^"]+)",signature="([^"]+)"$/);
  if (!m) return false;
  const sts = Buffer.concat([Buffer.from(`${req.method}\n${req.url}\n${m[2]}\n${m[3]}\n`), body, Buffer.from('\n')]);
  return crypto.verify('sha256', sts, KEYS[m[1]].publicKey, Buffer.from(m[4], 'base64'));
}

function isForm(req) {
  return /^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] || '');
}

function json(res, status, obj) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(obj));
}

function core(req, res, body) {
  const app = req.headers['x-paygw-app-id'];
  if (!app) { json(res, 401, { error: { code: 'SIGNATURE_INVALID', message: 'no app' } }); return; }
  const u = new URL(req.url, 'http://x');
  let m;
  if (req.method === 'POST' && u.pathname === '/v1/payments') {
    let o;
    const seen = { contentType: req.headers['content-type'], authorization: req.headers.authorization };
    if (isForm(req)) {
      const params = new URLSearchParams(body.toString());
      seen.params = Object.fromEntries(params);
      seen.formSignatureOk = formSignatureOk(params);
      o = { ...seen.params, amount: Number(seen.params.amount) };
    } else {
      o = JSON.parse(body.toString());
      if ((req.headers.authorization || '').startsWith('PAYGW-SHA256-RSA2048')) seen.rsaAuthOk = rsaAuthOk(req, body);
    }
    const vid = `V${orders.size + 1}`;
    orders.set(o.out_trade_no, { ...o, app, voucher_id: vid, status: 'PROCESSING', seen });
    json(res, 202, { voucher_id: vid, out_trade_no: o.out_trade_no, status: 'ACCEPTED' });
  } else if (req.method === 'GET' && (m = u.pathname.match(/^\/v1\/vouchers\/([^/]+)$/))) {
    assert.equal(u.searchParams.get('wait_ms'), '5000');
    voucherPolls++;
    setTimeout(() => {
      if (voucherPolls % 2 === 1) {
        json(res, 200, { voucher_id: m[1], status: 'PENDING' });
      } else {
        json(res, 200, {
          voucher_id: m[1], status: 'READY', channel: 'alipay',
          credential: { type: 'qr_code', qr_code: 'https://qr.alipay.com/bax0001' },
          payment_status: 'PROCESSING',
        });
      }
    }, 50);
  } else if (req.method === 'GET' && (m = u.pathname.match(/^\/v1\/payments\/([^/]+)$/))) {
    const o = orders.get(decodeURIComponent(m[1]));
    if (!o) { json(res, 404, { error: { code: 'NOT_FOUND', message: 'no such payment' } }); return; }
    json(res, 200, {
      out_trade_no: o.out_trade_no, status: o.status, amount: o.amount, currency: o.currency,
      channel: 'alipay', channel_trade_no: null, attempts: 1, refresh: u.searchParams.get('refresh'),
    });
  } else if (req.method === 'POST' && (m = u.pathname.match(/^\/v1\/payments\/([^/]+)\/close$/))) {
    const o = orders.get(decodeURIComponent(m[1]));
    if (!o) { json(res, 404, { error: { code: 'NOT_FOUND', message: 'no such payment' } }); return; }
    if (isForm(req)) {
      const params = new URLSearchParams(body.toString());
      closes.push({ params: Object.fromEntries(params), ok: formSignatureOk(params) });
    } else {
      assert.equal(body.toString(), '{}');
      closes.push({ json: true });
    }
    o.status = 'CLOSED';
    json(res, 200, { out_trade_no: o.out_trade_no, status: 'CLOSED' });
  } else {
    json(res, 404, { error: { code: 'NOT_FOUND', message: 'no route' } });
  }
}

// ---- mock admin API ----

function admin(req, res) {
  if (req.headers.authorization !== `Bearer ${TOKEN}`) {
    json(res, 401, { error: { code: 'UNAUTHORIZED', message: 'bad token' } });
    return;
  }
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/admin/routes') { routesMock(req, res); return; }
  if (u.pathname === '/admin/routes/reload') { reloadMock(req, res); return; }
  const m = u.pathname.match(/^\/admin\/orders\/([^/]+)$/);
  if (!m || m[1] === 'NONE') { json(res, 200, { orders: [] }); return; }
  json(res, 200, {
    orders: [{
      out_trade_no: m[1], app_id: u.searchParams.get('app_id') || 'A1', status: 'SUCCESS',
      amount: 1000, currency: 'CNY', channel: 'alipay', channel_trade_no: '2026112222001',
      transitions: [
        { at: '2026-11-22T10:00:00Z', from: 'ACCEPTED', to: 'PROCESSING', evidence: 'send started' },
        { at: '2026-11-22T10:00:09Z', from: 'PROCESSING', to: 'SUCCESS', evidence: 'notify TRADE_SUCCESS' },
      ],
      attempts: [{ n: 1, channel: 'alipay', op: 'pay', class: 'PROCESSING', code: '10000', latency_ms: 120 }],
      messages: [{
        at: '2026-11-22T10:00:00Z', direction: 'out', op: 'pay',
        masked: `app_id=2021000000000001&sign=***&biz_content=${'x'.repeat(90)}\nsecond line`,
      }],
      notifications: [], discrepancies: [],
    }],
  });
}

// the route controls as paygwd answers them (core/pgw_admin.c), one stripe rule kept
const ROUTES = { posts: [], stripe: null };
function routesMock(req, res) {
  if (req.method === 'GET') {
    const rules = ROUTES.stripe ? [ROUTES.stripe] : [];
    json(res, 200, {
      now: Date.now(),
      channels: [
        { channel: 'alipay', configured: true, state: 'enabled', weight: 100, rules: [], in_flight: 2,
          answered_10m: 40, success_rate_10m: 0.975, p99_ms_10m: 812,
          circuit: 'open', errors_1m: 12 },
        { channel: 'stripe', configured: true, state: ROUTES.stripe ? ROUTES.stripe.state : 'enabled',
          weight: 100, rules, in_flight: 0, answered_10m: 0, success_rate_10m: null, p99_ms_10m: null,
          ...(ROUTES.stripe && ROUTES.stripe.remaining_s ? { remaining_s: ROUTES.stripe.remaining_s } : {}) },
      ],
    });
    return;
  }
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const b = JSON.parse(body);
    ROUTES.posts.push(b);
    if (!b.reason) { json(res, 400, { error: { code: 'INVALID_PARAMETER', message: 'reason: required' } }); return; }
    const state = { enable: 'enabled', disable: 'disabled', drain: 'draining', weight: 'enabled' }[b.action];
    ROUTES.stripe = { channel: b.channel, state, weight: b.weight ?? 100,
      ...(b.ttl_s ? { until_ms: Date.now() + b.ttl_s * 1000, remaining_s: b.ttl_s } : {}) };
    json(res, 200, { rule: ROUTES.stripe, old: null, who: b.who, reason: b.reason });
  });
}

// POST /admin/routes/reload: a good file the first time, a refused one after
const RELOADS = [];
function reloadMock(req, res) {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    RELOADS.push(JSON.parse(body));
    if (RELOADS.length > 1) {
      json(res, 400, { error: { code: 'INVALID_PARAMETER', message: '/etc/paygw/routes.conf:3: route: fee: fee is FIXED, RATE% or FIXED+RATE% (e.g. 30+0.6%)' } });
      return;
    }
    json(res, 200, { who: 'dave', reason: 'v3 fee cut', routes_file: {
      path: '/etc/paygw/routes.conf', sha256: 'ab'.repeat(32),
      routes: [{ line: 2 }, { line: 3 }], apps: [], strategies: [{ line: 1, method: 'wechat.native', strategy: 'lowest_cost' }] } });
  });
}

// ---- a "gateway" whose response signatures are wrong or missing ----

function forger(req, res) {
  const body = '{"voucher_id":"V1","out_trade_no":"T1","status":"ACCEPTED"}';
  const headers = { 'Content-Type': 'application/json' };
  if (!req.url.includes('unsigned')) {
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = crypto.randomBytes(8).toString('hex');
    headers['Paygw-Timestamp'] = ts;
    headers['Paygw-Nonce'] = nonce;
    headers['Paygw-Signature'] = crypto.createHmac('sha256', 'not-the-secret')
      .update(`${ts}\n${nonce}\n${body}\n`).digest('base64');
  }
  res.writeHead(202, headers);
  res.end(body);
}

const gw = new Gateway({ handler: core });
let adminSrv;
let forgeSrv;
let ctl;
let keyDir;
let r3Key;
let gwPub;

function listen(handler) {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

before(async () => {
  ctl = ctlPath();
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paygwctl-keys-'));
  r3Key = path.join(keyDir, 'r3_private.pem');
  gwPub = path.join(keyDir, 'gateway_public.pem');
  fs.writeFileSync(r3Key, KEYS.R3.privateKey, { mode: 0o600 });
  fs.writeFileSync(gwPub, KEYS.gateway.publicKey);
  await gw.start();
  adminSrv = await listen(admin);
  forgeSrv = await listen(forger);
});

after(async () => {
  await gw.stop();
  adminSrv.close();
  forgeSrv.close();
  fs.rmSync(keyDir, { recursive: true, force: true });
});

function run(args, env = {}) {
  return new Promise((resolve) => {
    const p = spawn(ctl, args, {
      env: {
        PATH: process.env.PATH,
        PAYGW_URL: `http://127.0.0.1:${gw.port}`,
        PAYGW_ADMIN_URL: `http://127.0.0.1:${adminSrv.address().port}`,
        PAYGW_APPS: gw.apps,
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('pay: voucher, long-polled credential, payment status, all signatures verified', async () => {
  const r = await run(['pay', '--amount', '1000', '--out-trade-no', 'T-PAY-1', '--subject', 'Order 1',
    '--notify-url', 'http://127.0.0.1:9000/notify']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /POST \/v1\/payments -> HTTP 202 \(response signature verified\)/);
  assert.match(r.stdout, /voucher V\d+ for T-PAY-1: ACCEPTED/);
  assert.match(r.stdout, /still PENDING/);
  assert.match(r.stdout, /credential \(qr_code\): https:\/\/qr\.alipay\.com\/bax0001/);
  assert.match(r.stdout, /payment T-PAY-1: status PROCESSING, channel alipay/);
  assert.doesNotMatch(r.stdout, /NOT signed|INVALID/);
  const o = orders.get('T-PAY-1');
  assert.equal(o.amount, 1000);
  assert.equal(o.currency, 'CNY');
  assert.equal(o.method, 'alipay.qr');
  assert.equal(o.notify_url, 'http://127.0.0.1:9000/notify');
  assert.equal(o.app, 'A1');
});

test('pay generates an out_trade_no and signs as another app with -s', async () => {
  const r = await run(['-a', 'B2', '-s', SECRETS.B2, 'pay', '--amount', '5', '--wait', '0'],
    { PAYGW_APPS: '/nonexistent' });
  assert.equal(r.code, 1, 'no credential within --wait 0 is a failure');
  assert.match(r.stdout, /voucher V\d+ for T\d{20}: ACCEPTED/);
  const no = r.stdout.match(/for (T\d{20})/)[1];
  assert.equal(orders.get(no).app, 'B2');
});

test('get and close', async () => {
  let r = await run(['get', 'T-PAY-1', '--refresh']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /GET \/v1\/payments\/T-PAY-1\?refresh=true -> HTTP 200 \(response signature verified\)/);
  r = await run(['close', 'T-PAY-1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /"status": "CLOSED"/);
  r = await run(['get', 'T-NOPE']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /HTTP 404 \(response signature verified\)/);
  assert.match(r.stderr, /error NOT_FOUND: no such payment/);
});

test('gateway refusals are reported with their code and a failure status', async () => {
  let r = await run(['-s', 'wrong-secret', 'get', 'T-PAY-1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error SIGNATURE_INVALID/);
  // an unknown app's refusal is signed with the gateway key: not checkable with a
  // secret, verified with --gateway-key
  r = await run(['-a', 'ZZ', '-s', 'x0123456789abcdef', 'get', 'T-PAY-1']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /HTTP 401 \(response signature INVALID\)/);
  assert.match(r.stderr, /error APP_UNKNOWN/);
  r = await run(['-a', 'ZZ', '-s', 'x0123456789abcdef', '--gateway-key', gwPub, 'get', 'T-PAY-1']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /HTTP 401 \(response signature verified with the gateway key\)/);
  assert.match(r.stderr, /error APP_UNKNOWN/);
});

test('responses with a wrong or missing signature are not trusted', async () => {
  const url = `http://127.0.0.1:${forgeSrv.address().port}`;
  let r = await run(['-u', url, 'pay', '--amount', '1']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /response signature INVALID/);
  assert.match(r.stderr, /not trusting this response/);
  r = await run(['-u', `${url}/unsigned`, 'pay', '--amount', '1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not trusting this response: response NOT signed/);
});

test('apps file problems are explained', async () => {
  let r = await run(['-a', 'Q9', 'get', 'T1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /app "Q9" is not in/);
  const bad = path.join(gw.dir, 'bad-apps.conf');
  fs.writeFileSync(bad, 'A1 HMAC-SHA256 s3cr3t-for-app-A1\nB2 HMAC-SHA256\n');
  r = await run(['--apps', bad, 'get', 'T1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad-apps\.conf:2: missing key after key_type/);
  fs.writeFileSync(bad, 'A1 HMAC-SHA256 short\n');
  r = await run(['--apps', bad, 'get', 'T1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad-apps\.conf:1: secret must be 16 to 255 bytes/);
  // apps file v2: options are checked, RSA2 keys must load
  fs.writeFileSync(bad, 'A1 HMAC-SHA256 s3cr3t-for-app-A1 apis=* rate=200r/s burst=50\nB2 HMAC-SHA256 an0ther-secret-B2 rate=fast\n');
  r = await run(['--apps', bad, 'get', 'T1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad-apps\.conf:2: rate=fast: rate: Nr\/s, Nr\/m or off/);
  fs.writeFileSync(bad, 'A1 HMAC-SHA256 s3cr3t-for-app-A1 concurrency=20 concurrency=30\n');
  r = await run(['--apps', bad, 'get', 'T1']);
  assert.match(r.stderr, /bad-apps\.conf:1: concurrency=30: option given twice/);
  fs.writeFileSync(bad, 'A1 HMAC-SHA256 s3cr3t-for-app-A1\nR9 RSA2 keys/nope.pem\n');
  r = await run(['--apps', bad, 'get', 'T1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad-apps\.conf:2: cannot open .*keys\/nope\.pem/);
  fs.writeFileSync(bad, 'A1 HMAC-SHA256 s3cr3t-for-app-A1\nR9 RSA2 gateway_key.pem\n');
  r = await run(['--apps', bad, 'get', 'T1']);
  assert.match(r.stderr, /bad-apps\.conf:2: .*gateway_key\.pem is not a PEM public key/);
  fs.writeFileSync(bad, 'A1 MD5 s3cr3t-for-app-A1\n');
  r = await run(['--apps', bad, 'get', 'T1']);
  assert.match(r.stderr, /bad-apps\.conf:1: unsupported key_type/);
});

test('pay --scheme B (HMAC-SHA256): a signed form the front and node:crypto accept', async () => {
  const r = await run(['pay', '--scheme', 'B', '--amount', '1000', '--out-trade-no', 'T-B-1',
    '--subject', 'Order + & = ü%', '--notify-url', 'http://127.0.0.1:9000/notify?a=1&b=2', '--wait', '5']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /POST \/v1\/payments -> HTTP 202 \(response signature verified\)/);
  assert.match(r.stdout, /GET \/v1\/payments\/T-B-1 -> HTTP 200 \(response signature verified\)/);
  const o = orders.get('T-B-1');
  assert.equal(o.app, 'A1');
  assert.match(o.seen.contentType, /^application\/x-www-form-urlencoded/);
  assert.equal(o.seen.authorization, undefined, 'scheme B carries no Authorization header');
  assert.ok(o.seen.formSignatureOk, `form signature: ${JSON.stringify(o.seen.params)}`);
  const p = o.seen.params;
  assert.equal(p.app_id, 'A1');
  assert.equal(p.sign_type, 'HMAC-SHA256');
  assert.match(p.sign, /^[0-9A-F]{64}$/);
  assert.match(p.nonce_str, /^[0-9a-f]{32}$/);
  assert.ok(Math.abs(Number(p.timestamp) - Date.now() / 1000) < 60);
  assert.equal(p.amount, '1000');
  assert.equal(p.subject, 'Order + & = ü%');
  assert.equal(p.notify_url, 'http://127.0.0.1:9000/notify?a=1&b=2');

  // close --scheme B: a form with only the signature parameters
  const c = await run(['close', 'T-B-1', '--scheme', 'B']);
  assert.equal(c.code, 0, c.stderr + c.stdout);
  const last = closes[closes.length - 1];
  assert.ok(last.params && last.ok, JSON.stringify(last));
  assert.deepEqual(Object.keys(last.params).sort(), ['app_id', 'nonce_str', 'sign', 'sign_type', 'timestamp']);
});

test('RSA2 app: scheme A as PAYGW-SHA256-RSA2048, answers checked with the gateway public key', async () => {
  const r = await run(['-a', 'R3', '--key', r3Key, '--gateway-key', gwPub, 'pay', '--amount', '7',
    '--out-trade-no', 'T-R-1', '--wait', '5']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /POST \/v1\/payments -> HTTP 202 \(response signature verified\)/);
  assert.match(r.stdout, /payment T-R-1: status PROCESSING/);
  const o = orders.get('T-R-1');
  assert.equal(o.app, 'R3');
  assert.match(o.seen.authorization, /^PAYGW-SHA256-RSA2048 app_id="R3",/);
  assert.equal(o.seen.rsaAuthOk, true, 'node:crypto verifies the RSA signature with R3\'s public key');

  // the same from the environment, and scheme B with sign_type RSA2
  const b = await run(['pay', '--scheme', 'B', '--amount', '8', '--out-trade-no', 'T-R-2', '--wait', '5'],
    { PAYGW_APP_ID: 'R3', PAYGW_APP_KEY: r3Key, PAYGW_GATEWAY_PUBKEY: gwPub });
  assert.equal(b.code, 0, b.stderr + b.stdout);
  const o2 = orders.get('T-R-2');
  assert.equal(o2.seen.params.sign_type, 'RSA2');
  assert.ok(o2.seen.formSignatureOk, 'node:crypto verifies the form\'s RSA2 sign');
  assert.equal(Buffer.from(o2.seen.params.sign, 'base64').length, 256);
});

test('RSA2 app: missing or wrong keys are explained and answers are not trusted', async () => {
  let r = await run(['-a', 'R3', 'get', 'T-R-1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /app "R3" is an RSA2 app: give its private key with --key FILE/);
  r = await run(['-a', 'R3', '--key', r3Key, 'get', 'T-R-1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--gateway-key FILE/);
  r = await run(['-a', 'R3', '--key', gwPub, '--gateway-key', gwPub, 'get', 'T-R-1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--key: .*is not a PEM private key/);
  // the app's own public key is not the gateway's: the answer is not trusted
  const r3Pub = path.join(keyDir, 'r3_public.pem');
  fs.writeFileSync(r3Pub, KEYS.R3.publicKey);
  r = await run(['-a', 'R3', '--key', r3Key, '--gateway-key', r3Pub, 'get', 'T-R-1']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /HTTP 200 \(response signature INVALID\)/);
  assert.match(r.stderr, /not trusting this response/);
  r = await run(['--scheme', 'C', 'get', 'T1']);
  assert.equal(r.code, 2);
});

test('trace prints transitions, attempts and masked messages; --json is raw', async () => {
  let r = await run(['-T', TOKEN, 'trace', 'T-TR-1', '--app', 'A1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /order T-TR-1 \(app A1\)/);
  assert.match(r.stdout, /transitions \(2\)/);
  assert.match(r.stdout, /from=PROCESSING {2}to=SUCCESS/);
  assert.match(r.stdout, /attempts \(1\)/);
  assert.match(r.stdout, /masked:\n\s+app_id=2021000000000001&sign=\*\*\*/);
  assert.match(r.stdout, /\n\s+second line/);
  r = await run(['trace', 'T-TR-1', '--json'], { PAYGW_ADMIN_TOKEN: TOKEN });
  assert.equal(r.code, 0);
  assert.equal(JSON.parse(r.stdout).orders[0].out_trade_no, 'T-TR-1');
  r = await run(['-T', 'bad', 'trace', 'T-TR-1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refused the token/);
  r = await run(['-T', TOKEN, 'trace', 'NONE']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no order NONE/);
  r = await run(['trace', 'T1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no admin token/);
});

test('route list prints a table; a disable round trip with --for and --reason', async () => {
  let r = await run(['-T', TOKEN, 'route', 'list']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /CHANNEL\s+STATE\s+CIRCUIT\s+WEIGHT\s+IN-FLIGHT\s+SUCCESS%\s+P99-MS\s+ERR-1M/);
  assert.match(r.stdout, /\nalipay\s+enabled\s+open\s+100\s+2\s+97\.5\s+812\s+12\n/);
  assert.match(r.stdout, /\nstripe\s+enabled\s+-\s+100\s+0\s+-\s+-\s+0\n/);
  r = await run(['-T', TOKEN, 'route', 'disable', 'stripe', '--for', '10m', '--reason', 'stripe 5xx spike', '--who', 'bob']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /stripe method=\* app=\*: disabled, weight 100, for 600s/);
  assert.deepEqual(ROUTES.posts.at(-1), { channel: 'stripe', action: 'disable', reason: 'stripe 5xx spike', who: 'bob', ttl_s: 600 });
  r = await run(['-T', TOKEN, 'route', 'list']);
  assert.match(r.stdout, /\nstripe\s+disabled\s+-\s+100\s+0\s+-\s+-\s+0\s+10m00s left\n/);
  assert.match(r.stdout, /rule method=\* app=\*: disabled, weight 100, 10m00s left/);
  r = await run(['-T', TOKEN, 'route', 'weight', 'stripe', '--method', 'stripe.card', '--weight', '30', '--reason', 'r'], { USER: 'carol' });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(ROUTES.posts.at(-1), { channel: 'stripe', action: 'weight', reason: 'r', who: 'carol', method: 'stripe.card', weight: 30 });
  r = await run(['-T', TOKEN, 'route', 'enable', 'stripe', '--reason', 'ok', '--who', 'bob']);
  assert.equal(r.code, 0, r.stderr);
  assert.match((await run(['-T', TOKEN, 'route', 'list'])).stdout, /\nstripe\s+enabled/);
  r = await run(['-T', TOKEN, 'route', 'list', '--json']);
  assert.equal(JSON.parse(r.stdout).channels.length, 2);
  // usage: no reason, --for on enable, weight without --weight, no channel
  const n = ROUTES.posts.length;
  for (const args of [['disable', 'stripe'], ['enable', 'stripe', '--for', '5m', '--reason', 'x'],
    ['weight', 'stripe', '--reason', 'x'], ['disable', '--reason', 'x'], ['disable', 'stripe', '--for', '5y', '--reason', 'x'], ['bogus']]) {
    r = await run(['-T', TOKEN, 'route', ...args], { USER: 'u' });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  assert.equal(ROUTES.posts.length, n, 'no usage error reaches the admin API');
  r = await run(['route', 'list']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no admin token/);
});

test('route reload: the file in force, or the line that was refused', async () => {
  let r = await run(['-T', TOKEN, 'route', 'reload', '--reason', 'v3 fee cut', '--who', 'dave']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'reloaded: routes.conf: /etc/paygw/routes.conf (sha256 abababababab); strategies wechat.native=lowest_cost; 2 route lines, 0 app rules\n');
  assert.deepEqual(RELOADS[0], { reason: 'v3 fee cut', who: 'dave' });
  r = await run(['-T', TOKEN, 'route', 'reload', '--reason', 'typo'], { USER: 'erin' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error INVALID_PARAMETER: \/etc\/paygw\/routes\.conf:3: route: fee/);
  r = await run(['-T', TOKEN, 'route', 'reload'], { USER: 'erin' });
  assert.equal(r.code, 2, 'no --reason: a usage error');
  assert.equal(RELOADS.length, 2);
});

test('usage errors exit 2', async () => {
  for (const args of [[], ['bogus'], ['pay'], ['pay', '--amount', 'x'], ['get'], ['close'], ['trace']]) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /PAYGW_ADMIN_TOKEN/);
});
