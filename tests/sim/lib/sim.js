'use strict';
// Alipay OpenAPI v2 channel simulator + caller notify receiver (see ../README.md).

const http = require('node:http');
const crypto = require('node:crypto');
const { AlipaySide } = require('./alipay');

const OPS = {
  precreate: 'alipay.trade.precreate',
  query: 'alipay.trade.query',
  close: 'alipay.trade.close',
  cancel: 'alipay.trade.cancel',
};
const METHOD_TO_OP = Object.fromEntries(Object.entries(OPS).map(([op, m]) => [m, op]));
const SIMPLE_BEHAVIOURS = new Set([
  'success', 'fail', 'processing', 'not_found', 'unknown', '5xx', 'garbage', 'badsign',
  'timeout', 'drop', 'closed',
]);
const TRADE_STATUSES = new Set(['WAIT_BUYER_PAY', 'TRADE_SUCCESS', 'TRADE_FINISHED', 'TRADE_CLOSED']);
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const AMOUNT_RE = /^\d{1,10}(\.\d{1,2})?$/;

// Parse a behaviour string into {kind, ms?, status?, inner?, trade_status?}; throws on nonsense.
function parseBehaviour(b) {
  if (typeof b !== 'string') throw new Error(`behaviour must be a string, got ${JSON.stringify(b)}`);
  if (SIMPLE_BEHAVIOURS.has(b)) return { kind: b };
  let m = /^delay:(\d{1,7})(?::(.+))?$/.exec(b);
  if (m) {
    const inner = m[2] ? parseBehaviour(m[2]) : { kind: 'success' };
    if (inner.kind === 'delay') throw new Error(`nested delay in ${b}`);
    return { kind: 'delay', ms: Number(m[1]), inner };
  }
  m = /^5xx:(5\d\d)$/.exec(b);
  if (m) return { kind: '5xx', status: Number(m[1]) };
  m = /^trade_status:([A-Z_]+)$/.exec(b);
  if (m) {
    if (!TRADE_STATUSES.has(m[1])) throw new Error(`unknown trade_status in ${b}`);
    return { kind: 'trade_status', trade_status: m[1] };
  }
  throw new Error(`unknown behaviour ${JSON.stringify(b)}`);
}

function parseScriptValue(v) {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw new Error('empty behaviour list');
  return list.map(parseBehaviour);
}

function pad(n, w = 2) { return String(n).padStart(w, '0'); }

// Alipay's clock is Beijing time (UTC+8): "yyyy-MM-dd HH:mm:ss".
function beijingTime(ms = Date.now()) {
  const d = new Date(ms + 8 * 3600 * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function digits(n) {
  let s = '';
  while (s.length < n) s += crypto.randomInt(0, 1e9).toString().padStart(9, '0');
  return s.slice(0, n);
}

function newTradeNo(ms = Date.now()) {
  const d = new Date(ms + 8 * 3600 * 1000);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}22001${digits(15)}`;
}

function readBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let len = 0;
    req.on('data', (c) => {
      len += c.length;
      if (len > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function emptyCounts() {
  const c = {};
  for (const m of Object.values(OPS)) c[m] = 0;
  c.other = 0;
  c.bad_sign = 0;
  return c;
}

class Sim {
  constructor({ alipayPrivateKey, appPublicKey, appId = null, log = null }) {
    this.strictAppId = appId;
    this.alipay = new AlipaySide({ alipayPrivateKey, appPublicKey, appId: appId || '2021000000000001' });
    this.log = log;
    this.sockets = new Set();
    this.reset();
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        this.simErrors.push(String(e && e.stack || e));
        if (this.log) this.log(`sim error: ${e && e.stack || e}`);
        if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: `sim internal error: ${e.message}` });
      });
    });
    this.server.keepAliveTimeout = 30000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  reset() {
    if (this.hanging) for (const res of this.hanging) res.socket && res.socket.destroy();
    this.hanging = new Set();
    this.scripts = new Map();      // out_trade_no -> { op: {list, calls} }
    this.defaults = {};            // op -> {list, calls: Map(out_trade_no -> n)}
    this.orders = new Map();       // out_trade_no -> sim order
    this.counts = new Map();       // out_trade_no -> counts
    this.globalCounts = emptyCounts();
    this.requests = [];
    this.seq = 0;
    if (!this.simErrors) this.simErrors = []; // kept across resets: a sim bug must stay visible
    this.caller = { failFirst: 0, failStatus: 500, seen: 0, notifications: [] };
  }

  listen(port = 0, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.port = this.server.address().port;
        resolve(this.port);
      });
    });
  }

  close() {
    for (const res of this.hanging) res.socket && res.socket.destroy();
    this.hanging.clear();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  countsFor(otn) {
    let c = this.counts.get(otn);
    if (!c) {
      c = emptyCounts();
      this.counts.set(otn, c);
    }
    return c;
  }

  pick(otn, op) {
    const s = this.scripts.get(otn);
    if (s && s[op]) {
      const i = s[op].calls++;
      return s[op].list[Math.min(i, s[op].list.length - 1)];
    }
    const d = this.defaults[op];
    if (d) {
      const i = d.calls.get(otn) || 0;
      d.calls.set(otn, i + 1);
      return d.list[Math.min(i, d.list.length - 1)];
    }
    return { kind: 'success' };
  }

  async handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const path = url.pathname;
    if (path === '/gateway.do') return this.gateway(req, res, url);
    if (path.startsWith('/caller/')) return this.callerEndpoint(req, res, url);
    if (path.startsWith('/_sim/')) return this.control(req, res, url);
    const body = await readBody(req);
    void body;
    return sendJson(res, 404, { error: `no such path ${path}` });
  }

  // ---------------------------------------------------------------- Alipay gateway
  async gateway(req, res, url) {
    const t = Date.now();
    const raw = await readBody(req);
    const ctype = String(req.headers['content-type'] || '');
    const problems = [];
    const params = {};
    // SDK `exec` puts the common params in the query string and biz_content in the body;
    // a hand-built client usually puts everything in the body. Accept both, like Alipay.
    const add = (k, v, where) => {
      if (Object.prototype.hasOwnProperty.call(params, k)) {
        problems.push(`duplicate parameter ${k} (${where})`);
        return;
      }
      params[k] = v;
    };
    for (const [k, v] of url.searchParams) add(k, v, 'query string');
    if (req.method !== 'POST') problems.push(`HTTP method ${req.method}, Alipay expects POST`);
    if (raw.length > 0) {
      if (!/^application\/x-www-form-urlencoded/i.test(ctype)) {
        problems.push(`content-type ${JSON.stringify(ctype)} is not application/x-www-form-urlencoded`);
      }
      for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) add(k, v, 'body');
    }
    const method = params.method || '';
    const op = METHOD_TO_OP[method] || null;
    let biz = null;
    if (params.biz_content !== undefined) {
      try {
        biz = JSON.parse(params.biz_content);
      } catch (e) {
        problems.push(`biz_content is not JSON: ${e.message}`);
      }
    }
    const otn = biz && typeof biz.out_trade_no === 'string' ? biz.out_trade_no : '';
    const counts = otn ? this.countsFor(otn) : null;
    const countKey = op ? method : 'other';
    this.globalCounts[countKey]++;
    if (counts) counts[countKey]++;

    const v = this.alipay.verifyRequest(params);
    const entry = {
      seq: ++this.seq,
      t,
      received_at: new Date(t).toISOString(),
      method,
      out_trade_no: otn,
      http_method: req.method,
      url: req.url,
      content_type: ctype,
      headers: req.headers,
      body: raw.toString('utf8'),
      params,
      biz_content: biz,
      sign_ok: v.ok,
      sign_string: v.signString,
      problems,
      behaviour: null,
      response: null,
    };
    this.requests.push(entry);
    if (this.log) this.log(`gateway ${method} ${otn} sign_ok=${v.ok}`);

    const responseKey = `${(method || 'error').replace(/\./g, '_')}_response`;
    const reply = (status, body, headers = {}) => {
      entry.response = { status, body: Buffer.isBuffer(body) ? body.toString('latin1') : body, t: Date.now() };
      res.writeHead(status, {
        'content-type': 'text/html;charset=utf-8',
        trace_id: crypto.randomBytes(12).toString('hex'),
        'content-length': Buffer.byteLength(body),
        ...headers,
      });
      res.end(body);
    };
    const replySigned = (value, forged = false) =>
      reply(200, this.alipay.signResponse(responseKey, value, { forged }));
    const replyUnsigned = (key, value) => reply(200, `{"${key}":${JSON.stringify(value)}}`);

    // Gateway-level checks, in the order Alipay applies them.
    if (!method) {
      entry.behaviour = 'rejected:missing-method';
      return replyUnsigned('error_response', {
        code: '40001', msg: 'Missing Required Arguments', sub_code: 'isv.missing-method', sub_msg: '缺少方法名参数',
      });
    }
    if (!op) {
      entry.behaviour = 'rejected:invalid-method';
      return replyUnsigned('error_response', {
        code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-method', sub_msg: '不存在的方法名',
      });
    }
    if (!params.app_id) {
      entry.behaviour = 'rejected:missing-app-id';
      return replyUnsigned('error_response', {
        code: '40001', msg: 'Missing Required Arguments', sub_code: 'isv.missing-app-id', sub_msg: '缺少AppID参数',
      });
    }
    if (this.strictAppId && params.app_id !== this.strictAppId) {
      entry.behaviour = 'rejected:invalid-app-id';
      return replyUnsigned('error_response', {
        code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-app-id', sub_msg: '无效的AppID参数',
      });
    }
    if (!params.sign) {
      if (counts) counts.bad_sign++;
      this.globalCounts.bad_sign++;
      entry.behaviour = 'rejected:missing-signature';
      return replySigned({
        code: '40001', msg: 'Missing Required Arguments', sub_code: 'isv.missing-signature', sub_msg: '缺少签名参数',
      });
    }
    if (params.sign_type !== 'RSA2') {
      if (counts) counts.bad_sign++;
      this.globalCounts.bad_sign++;
      entry.behaviour = 'rejected:invalid-signature-type';
      return replySigned({
        code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-signature-type', sub_msg: '无效的签名类型',
      });
    }
    if (!v.ok) {
      if (counts) counts.bad_sign++;
      this.globalCounts.bad_sign++;
      entry.behaviour = 'rejected:invalid-signature';
      return replySigned({
        code: '40002',
        msg: 'Invalid Arguments',
        sub_code: 'isv.invalid-signature',
        sub_msg: `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${v.signString}`,
      });
    }
    if (!params.timestamp || !TIMESTAMP_RE.test(params.timestamp)) {
      entry.behaviour = 'rejected:invalid-timestamp';
      return replySigned({
        code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-timestamp', sub_msg: '非法的时间戳参数',
      });
    }
    if (params.charset && !/^utf-?8$/i.test(params.charset)) problems.push(`charset ${params.charset} (sim decodes UTF-8 only)`);
    if (params.version && params.version !== '1.0') problems.push(`version ${params.version}, expected 1.0`);
    if (params.format && params.format.toUpperCase() !== 'JSON') problems.push(`format ${params.format}, expected JSON`);
    if (!biz || !otn) {
      entry.behaviour = 'rejected:missing-out-trade-no';
      return replySigned({
        code: '40004', msg: 'Business Failed', sub_code: 'ACQ.INVALID_PARAMETER', sub_msg: '参数无效: out_trade_no',
      });
    }
    if (op === 'precreate') {
      const amt = biz.total_amount === undefined ? '' : String(biz.total_amount);
      if (!AMOUNT_RE.test(amt) || !biz.subject) {
        entry.behaviour = 'rejected:invalid-parameter';
        problems.push(`precreate needs total_amount in yuan (got ${JSON.stringify(biz.total_amount)}) and subject`);
        return replySigned({
          code: '40004', msg: 'Business Failed', sub_code: 'ACQ.INVALID_PARAMETER', sub_msg: '参数无效',
        });
      }
      if (!params.notify_url) problems.push('precreate without notify_url');
    }

    const beh = this.pick(otn, op);
    entry.behaviour = beh.kind === 'delay' ? `delay:${beh.ms}:${beh.inner.kind}` : beh.kind;
    const effective = beh.kind === 'delay' ? beh.inner : beh;

    // The request reached "Alipay": apply its state effect now, whatever happens to the answer.
    if (op === 'precreate' && effective.kind !== 'fail' && effective.kind !== 'not_found') {
      if (!this.orders.has(otn)) {
        this.orders.set(otn, {
          out_trade_no: otn,
          state: 'WAIT_BUYER_PAY',
          trade_no: newTradeNo(t),
          total_amount: String(biz.total_amount),
          subject: String(biz.subject),
          notify_url: params.notify_url || '',
          app_id: params.app_id,
          qr_code: `https://qr.alipay.com/bax0${crypto.randomBytes(10).toString('hex')}`,
          created_at: t,
          gmt_create: beijingTime(t),
          paid_at: null,
          closed_at: null,
          last_notify: null,
        });
      }
    }

    if (beh.kind === 'delay') await new Promise((r) => setTimeout(r, beh.ms));
    if (res.destroyed || req.socket.destroyed) {
      entry.response = { status: 0, body: '', note: 'client went away during delay', t: Date.now() };
      return undefined;
    }

    switch (effective.kind) {
      case 'timeout':
        entry.response = { status: 0, body: '', note: 'timeout: never answered', t: Date.now() };
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return undefined;
      case 'drop':
        entry.response = { status: 0, body: '', note: 'drop: socket destroyed', t: Date.now() };
        req.socket.destroy();
        return undefined;
      case '5xx': {
        const st = effective.status || 502;
        return reply(st, `<html><head><title>${st} Bad Gateway</title></head><body><center><h1>${st} Bad Gateway</h1></center></body></html>`);
      }
      case 'garbage':
        return reply(200, Buffer.concat([
          Buffer.from([0x00, 0xff, 0xfe]),
          Buffer.from('<html>garbage {"alipay_trade_response":', 'latin1'),
          crypto.randomBytes(16),
        ]));
      default: {
        const value = this.business(op, effective, otn, t);
        return replySigned(value, effective.kind === 'badsign');
      }
    }
  }

  // The business answer (the value of <method>_response) for one call.
  business(op, beh, otn, t) {
    const order = this.orders.get(otn);
    const notFound = {
      code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_NOT_EXIST', sub_msg: '交易不存在',
    };
    const unknown = {
      code: '40004', msg: 'Business Failed', sub_code: 'ACQ.SOMETHING_NEW', sub_msg: '一个没有人认识的新错误码',
    };
    const busy = {
      code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error', sub_msg: '系统繁忙',
    };
    const kind = beh.kind === 'badsign' ? 'success' : beh.kind;
    if (kind === 'not_found') return notFound;
    if (kind === 'unknown') return unknown;

    if (op === 'precreate') {
      if (kind === 'fail') {
        return { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TOTAL_FEE_EXCEED', sub_msg: '订单金额超过限额' };
      }
      if (kind === 'processing') return busy;
      if (!order) return busy;
      return { code: '10000', msg: 'Success', out_trade_no: otn, qr_code: order.qr_code };
    }

    if (op === 'query') {
      let status;
      if (kind === 'processing') status = 'WAIT_BUYER_PAY';
      else if (kind === 'fail' || kind === 'closed') status = 'TRADE_CLOSED';
      else if (kind === 'trade_status') status = beh.trade_status;
      else {
        if (!order) return notFound;
        status = order.state;
      }
      const o = order || { trade_no: newTradeNo(t), total_amount: '0.01', paid_at: null };
      const v = {
        code: '10000',
        msg: 'Success',
        buyer_logon_id: 'csq***@sandbox.com',
        buyer_pay_amount: '0.00',
        buyer_user_id: '2088102177846880',
        invoice_amount: '0.00',
        out_trade_no: otn,
        point_amount: '0.00',
        receipt_amount: '0.00',
        total_amount: o.total_amount,
        trade_no: o.trade_no,
        trade_status: status,
      };
      if (status === 'TRADE_SUCCESS' || status === 'TRADE_FINISHED') {
        v.buyer_pay_amount = o.total_amount;
        v.invoice_amount = o.total_amount;
        v.receipt_amount = o.total_amount;
        v.send_pay_date = beijingTime(o.paid_at || t);
        v.fund_bill_list = [{ amount: o.total_amount, fund_channel: 'ALIPAYACCOUNT' }];
      }
      return v;
    }

    // close / cancel
    if (kind === 'processing') return busy;
    if (kind === 'fail') {
      return { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_STATUS_ERROR', sub_msg: '交易状态不合法' };
    }
    if (!order) return notFound;
    if (op === 'close') {
      if (order.state === 'TRADE_SUCCESS' || order.state === 'TRADE_FINISHED') {
        return { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_STATUS_ERROR', sub_msg: '交易状态不合法' };
      }
      if (order.state !== 'TRADE_CLOSED') {
        order.state = 'TRADE_CLOSED';
        order.closed_at = t;
      }
      return { code: '10000', msg: 'Success', out_trade_no: otn, trade_no: order.trade_no };
    }
    // cancel: closes an unpaid trade, refunds a paid one
    const action = order.state === 'TRADE_SUCCESS' ? 'refund' : 'close';
    order.state = 'TRADE_CLOSED';
    order.closed_at = t;
    return { code: '10000', msg: 'Success', out_trade_no: otn, trade_no: order.trade_no, retry_flag: 'N', action };
  }

  // ---------------------------------------------------------------- caller endpoint
  async callerEndpoint(req, res, url) {
    const raw = await readBody(req);
    const c = this.caller;
    c.seen++;
    const status = c.seen <= c.failFirst ? c.failStatus : 200;
    const n = {
      seq: c.notifications.length + 1,
      t: Date.now(),
      received_at: new Date().toISOString(),
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      body: raw.toString('utf8'),
      answered: status,
    };
    c.notifications.push(n);
    const body = status === 200 ? 'ok' : 'caller failing on purpose';
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  // ---------------------------------------------------------------- control API
  async control(req, res, url) {
    const raw = await readBody(req);
    const path = url.pathname;
    let body = {};
    if (req.method === 'POST' && raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (e) {
        return sendJson(res, 400, { error: `body is not JSON: ${e.message}` });
      }
    }
    const otnQ = url.searchParams.get('out_trade_no');
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'GET /_sim/health':
        return sendJson(res, 200, { ok: true, port: this.port });
      case 'POST /_sim/reset':
        this.reset();
        return sendJson(res, 200, { ok: true });
      case 'POST /_sim/script':
        return this.ctlScript(res, body);
      case 'GET /_sim/counts':
        return sendJson(res, 200, otnQ ? { ...this.countsFor(otnQ) } : { ...this.globalCounts });
      case 'GET /_sim/requests': {
        const method = url.searchParams.get('method');
        let list = this.requests;
        if (otnQ) list = list.filter((r) => r.out_trade_no === otnQ);
        if (method) list = list.filter((r) => r.method === method);
        return sendJson(res, 200, { requests: list });
      }
      case 'GET /_sim/orders': {
        if (otnQ) {
          const o = this.orders.get(otnQ);
          if (!o) return sendJson(res, 404, { error: `sim knows no order ${otnQ}` });
          return sendJson(res, 200, this.orderView(o));
        }
        return sendJson(res, 200, { orders: [...this.orders.values()].map((o) => this.orderView(o)) });
      }
      case 'POST /_sim/pay':
        return this.ctlPay(res, body);
      case 'POST /_sim/notify':
        return this.ctlNotify(res, body);
      case 'POST /_sim/caller': {
        const n = Number(body.fail_first ?? 0);
        if (!Number.isInteger(n) || n < 0) return sendJson(res, 400, { error: 'fail_first must be an integer >= 0' });
        const st = Number(body.status ?? 500);
        if (!Number.isInteger(st) || st < 300 || st > 599) return sendJson(res, 400, { error: 'status must be 300..599' });
        this.caller.failFirst = n;
        this.caller.failStatus = st;
        this.caller.seen = 0;
        if (body.clear) this.caller.notifications = [];
        return sendJson(res, 200, { ok: true });
      }
      case 'GET /_sim/caller/notifications': {
        let list = this.caller.notifications;
        if (otnQ) {
          list = list.filter((n) => {
            try {
              return JSON.parse(n.body).out_trade_no === otnQ;
            } catch (_) {
              return false;
            }
          });
        }
        return sendJson(res, 200, { notifications: list });
      }
      case 'GET /_sim/errors':
        return sendJson(res, 200, { errors: this.simErrors });
      default:
        return sendJson(res, 404, { error: `no control route ${route}` });
    }
  }

  orderView(o) {
    const { last_notify: ln, ...rest } = o;
    return { ...rest, last_notify: ln ? { notify_id: ln.params.notify_id, kind: ln.kind } : null };
  }

  ctlScript(res, body) {
    const ops = Object.keys(body).filter((k) => k !== 'out_trade_no' && k !== 'default');
    const unknownKeys = ops.filter((k) => !OPS[k]);
    if (unknownKeys.length) return sendJson(res, 400, { error: `unknown operation(s) ${unknownKeys.join(', ')}; use ${Object.keys(OPS).join(', ')}` });
    const parsed = {};
    try {
      for (const op of ops) parsed[op] = parseScriptValue(body[op]);
    } catch (e) {
      return sendJson(res, 400, { error: e.message });
    }
    if (body.default === true) {
      for (const op of ops) this.defaults[op] = { list: parsed[op], calls: new Map() };
      return sendJson(res, 200, { ok: true, default: true, ops });
    }
    if (typeof body.out_trade_no !== 'string' || !body.out_trade_no) {
      return sendJson(res, 400, { error: 'out_trade_no (string) or "default":true required' });
    }
    let s = this.scripts.get(body.out_trade_no);
    if (!s) {
      s = {};
      this.scripts.set(body.out_trade_no, s);
    }
    for (const op of ops) s[op] = { list: parsed[op], calls: 0 };
    return sendJson(res, 200, { ok: true, out_trade_no: body.out_trade_no, ops });
  }

  ctlPay(res, body) {
    const otn = body.out_trade_no;
    if (typeof otn !== 'string' || !otn) return sendJson(res, 400, { error: 'out_trade_no required' });
    let o = this.orders.get(otn);
    if (!o) {
      if (!body.create) return sendJson(res, 404, { error: `sim knows no order ${otn} (no precreate reached it); pass "create":true to make one` });
      const t = Date.now();
      o = {
        out_trade_no: otn, state: 'WAIT_BUYER_PAY', trade_no: newTradeNo(t),
        total_amount: String(body.total_amount || '0.01'), subject: 'created by /_sim/pay',
        notify_url: body.notify_url || '', app_id: this.alipay.appId, qr_code: '',
        created_at: t, gmt_create: beijingTime(t), paid_at: null, closed_at: null, last_notify: null,
      };
      this.orders.set(otn, o);
    }
    if (o.state === 'TRADE_CLOSED') return sendJson(res, 409, { error: `order ${otn} is TRADE_CLOSED at the sim`, order: this.orderView(o) });
    if (o.state !== 'TRADE_SUCCESS') {
      o.state = 'TRADE_SUCCESS';
      o.paid_at = Date.now();
    }
    return sendJson(res, 200, { ok: true, order: this.orderView(o) });
  }

  notifyParams(o, tradeStatus, overrides) {
    const now = Date.now();
    const p = {
      gmt_create: o.gmt_create,
      charset: 'utf-8',
      seller_email: 'sim-merchant@sandbox.example',
      subject: o.subject,
      buyer_id: '2088102177846880',
      invoice_amount: o.total_amount,
      notify_id: `${beijingTime(now).replace(/\D/g, '')}${digits(22)}`,
      fund_bill_list: JSON.stringify([{ amount: o.total_amount, fundChannel: 'ALIPAYACCOUNT' }]),
      notify_type: 'trade_status_sync',
      trade_status: tradeStatus,
      receipt_amount: o.total_amount,
      app_id: o.app_id || this.alipay.appId,
      buyer_pay_amount: o.total_amount,
      seller_id: '2088102177296610',
      gmt_payment: beijingTime(o.paid_at || now),
      notify_time: beijingTime(now),
      version: '1.0',
      out_trade_no: o.out_trade_no,
      total_amount: o.total_amount,
      trade_no: o.trade_no,
      auth_app_id: o.app_id || this.alipay.appId,
      buyer_logon_id: 'csq***@sandbox.com',
      point_amount: '0.00',
    };
    if (tradeStatus === 'TRADE_CLOSED') {
      delete p.gmt_payment;
      delete p.fund_bill_list;
      delete p.receipt_amount;
      delete p.buyer_pay_amount;
      delete p.invoice_amount;
      p.gmt_close = beijingTime(now);
    } else if (tradeStatus === 'WAIT_BUYER_PAY') {
      delete p.gmt_payment;
      delete p.fund_bill_list;
      delete p.receipt_amount;
      delete p.buyer_pay_amount;
      delete p.invoice_amount;
    }
    for (const [k, v] of Object.entries(overrides || {})) {
      if (v === null) delete p[k];
      else p[k] = String(v);
    }
    return p;
  }

  async ctlNotify(res, body) {
    const otn = body.out_trade_no;
    const kind = body.kind || 'valid';
    if (typeof otn !== 'string' || !otn) return sendJson(res, 400, { error: 'out_trade_no required' });
    if (!['valid', 'forged', 'duplicate', 'contrary'].includes(kind)) {
      return sendJson(res, 400, { error: `kind must be valid|forged|duplicate|contrary, got ${JSON.stringify(kind)}` });
    }
    if (body.trade_status !== undefined && !TRADE_STATUSES.has(body.trade_status)) {
      return sendJson(res, 400, { error: `unknown trade_status ${JSON.stringify(body.trade_status)}` });
    }
    if (body.overrides !== undefined && (typeof body.overrides !== 'object' || body.overrides === null || Array.isArray(body.overrides))) {
      return sendJson(res, 400, { error: 'overrides must be an object of field -> string (null removes a field)' });
    }
    const o = this.orders.get(otn);
    if (!o) return sendJson(res, 404, { error: `sim knows no order ${otn} (no precreate reached it)` });
    const target = body.notify_url || o.notify_url;
    if (!target) return sendJson(res, 409, { error: `order ${otn} has no notify_url (precreate carried none); pass notify_url` });

    let payload;
    let contentType = 'application/x-www-form-urlencoded; charset=utf-8';
    let params = null;
    if (kind === 'duplicate') {
      if (!o.last_notify) return sendJson(res, 409, { error: `no notify was sent for ${otn} yet; nothing to duplicate` });
      payload = o.last_notify.payload;
      contentType = o.last_notify.contentType;
      params = o.last_notify.params;
    } else {
      let status;
      if (kind === 'contrary') {
        status = body.trade_status || (o.state === 'TRADE_CLOSED' ? 'TRADE_SUCCESS' : 'TRADE_CLOSED');
      } else {
        status = body.trade_status || 'TRADE_SUCCESS';
      }
      if (kind === 'valid' && body.set_state !== false && o.state !== status) {
        o.state = status;
        if (status === 'TRADE_SUCCESS' || status === 'TRADE_FINISHED') o.paid_at = o.paid_at || Date.now();
        if (status === 'TRADE_CLOSED') o.closed_at = Date.now();
      }
      const unsigned = this.notifyParams(o, status, body.overrides);
      params = this.alipay.signNotify(unsigned, { forged: kind === 'forged' });
      payload = new URLSearchParams(params).toString();
      o.last_notify = { kind, params, payload, contentType };
    }
    const result = await postForm(target, payload, contentType, Number(body.timeout_ms) || 10000);
    return sendJson(res, 200, { ...result, kind, notify_url: target, params });
  }
}

function postForm(target, payload, contentType, timeoutMs) {
  return new Promise((resolve) => {
    let u;
    try {
      u = new URL(target);
    } catch (e) {
      resolve({ status: 0, body: '', error: `bad notify_url ${target}: ${e.message}` });
      return;
    }
    if (u.protocol !== 'http:') {
      resolve({ status: 0, body: '', error: `sim sends notifies over http only, got ${target}` });
      return;
    }
    const req = http.request({
      host: u.hostname,
      port: u.port || 80,
      path: u.pathname + u.search,
      method: 'POST',
      headers: {
        'content-type': contentType,
        'content-length': Buffer.byteLength(payload),
        'user-agent': 'Mozilla/4.0',
        connection: 'close',
      },
      timeout: timeoutMs,
    }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode, body: Buffer.concat(chunks).toString('utf8'), headers: r.headers }));
      r.on('error', (e) => resolve({ status: r.statusCode || 0, body: '', error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
    req.end(payload);
  });
}

module.exports = { Sim, parseBehaviour, beijingTime, OPS };
