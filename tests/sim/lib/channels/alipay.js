'use strict';
// Alipay OpenAPI v2 channel plugin: POST /alipay/gateway.do (and /gateway.do for the e2e
// stack), methods alipay.trade.precreate / pay (barcode) / query / close / cancel / refund /
// fastpay.refund.query, alipay.data.dataservice.bill.downloadurl.query (+ GET
// /alipay/gateway.do?bill_file=<yyyy-MM-dd>&token=… serving the GBK statement: the
// download URL stays on the one route Alipay's gateway has here), alipay.fund.trans.uni.transfer
// / common.query, async notifies (trade_status_sync, refunds with refund_fee/out_biz_no).
// Script ops are these labels' keys (barcode = alipay.trade.pay: `pay` stays no alipay op).
// Script keys: out_trade_no for trade ops, out_request_no for refund / refund_query,
// out_biz_no for payout / payout_query, bill-<yyyyMMdd> for bill, billfile-<yyyy-MM-dd>. Requests are verified and answers self-checked with alipay-sdk
// (see alipay/sign.js). Keys, at the keys ROOT (not <keys>/alipay/, for compatibility):
// alipay_private.pem (the sim signs with it), app_public.pem (the merchant's, verified).
// Options: app_id — when set, other app ids are refused (isv.invalid-app-id); cert_mode=1 —
// public-key certificate mode (公钥证书模式): the files of alipay/certs.js (generated in
// <keys>/alipay_cert/ when missing), requests must carry the app_cert_sn /
// alipay_root_cert_sn alipay-sdk computes from them (else 40002 isv.app-cert-not-exist /
// isv.invalid-alipay-root-cert-sn, signed), answers carry alipay_cert_sn; the behaviour
// `rotated_cert` answers success signed under the rotated Alipay certificate (its key, its SN).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { readKeyFile } = require('../keys');
const { ControlError } = require('../core/control_error');
const { AlipaySide } = require('./alipay/sign');
const { businessAnswer } = require('./alipay/answers');
const { notifyFields } = require('./alipay/notify_fields');
const { beijingTime, newTradeNo, digits } = require('./alipay/clock');
const more = require('./alipay/answers_more');
const { statementCsv } = require('./alipay/statement');
const { loadCerts } = require('./alipay/certs');

const OPS = {
  precreate: 'alipay.trade.precreate',
  query: 'alipay.trade.query',
  close: 'alipay.trade.close',
  cancel: 'alipay.trade.cancel',
  barcode: 'alipay.trade.pay',
  refund: 'alipay.trade.refund',
  refund_query: 'alipay.trade.fastpay.refund.query',
  bill: 'alipay.data.dataservice.bill.downloadurl.query',
  payout: 'alipay.fund.trans.uni.transfer',
  payout_query: 'alipay.fund.trans.common.query',
  bill_file: 'alipay.bill.download',
};
const TRADE_OPS = new Set(['precreate', 'query', 'close', 'cancel', 'barcode', 'refund', 'refund_query']);
const METHOD_TO_OP = Object.fromEntries(Object.entries(OPS).filter(([op]) => op !== 'bill_file').map(([op, m]) => [m, op]));
const BILL_DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const TRADE_STATUSES = new Set(['WAIT_BUYER_PAY', 'TRADE_SUCCESS', 'TRADE_FINISHED', 'TRADE_CLOSED']);
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const AMOUNT_RE = /^\d{1,10}(\.\d{1,2})?$/;
const DEFAULT_APP_ID = '2021000000000001';

const err = (code, msg, subCode, subMsg) => ({ code, msg, sub_code: subCode, sub_msg: subMsg });
const MISSING = 'Missing Required Arguments';
const INVALID = 'Invalid Arguments';

function tradeStatus(arg) {
  if (!TRADE_STATUSES.has(arg)) throw new Error(`unknown trade_status in trade_status:${arg}`);
  return { trade_status: arg };
}

// Parameters from the query string and the form body, like the gateway: the SDK's `exec`
// splits them that way; a hand-built client usually puts everything in the body.
function readParams(req, problems) {
  const params = {};
  const add = (k, v, where) => {
    if (Object.prototype.hasOwnProperty.call(params, k)) problems.push(`duplicate parameter ${k} (${where})`);
    else params[k] = v;
  };
  for (const [k, v] of req.url.searchParams) add(k, v, 'query string');
  if (req.method !== 'POST') problems.push(`HTTP method ${req.method}, Alipay expects POST`);
  if (req.raw.length > 0) {
    const ctype = String(req.headers['content-type'] || '');
    if (!/^application\/x-www-form-urlencoded/i.test(ctype)) {
      problems.push(`content-type ${JSON.stringify(ctype)} is not application/x-www-form-urlencoded`);
    }
    for (const [k, v] of new URLSearchParams(req.raw.toString('utf8'))) add(k, v, 'body');
  }
  return params;
}

function keyOf(op, biz) {
  if (!biz) return '';
  const s = (v) => (typeof v === 'string' ? v : '');
  if (op === 'refund' || op === 'refund_query') return s(biz.out_request_no);
  if (op === 'payout' || op === 'payout_query') return s(biz.out_biz_no);
  if (op === 'bill') return typeof biz.bill_date === 'string' ? `bill-${biz.bill_date.replace(/-/g, '')}` : '';
  return s(biz.out_trade_no);
}

// The business parameters each API requires (as its doc lists them); a string = what is wrong.
function bizProblems(op, biz) {
  const amount = (v) => AMOUNT_RE.test(v === undefined ? '' : String(v));
  switch (op) {
    case 'barcode':
      if (biz.scene !== 'bar_code') return `scene ${JSON.stringify(biz.scene)}, expected bar_code`;
      if (!/^\d{16,24}$/.test(String(biz.auth_code || ''))) return 'auth_code';
      if (!amount(biz.total_amount) || !biz.subject) return 'total_amount / subject';
      return null;
    case 'refund':
      return amount(biz.refund_amount) ? null : 'refund_amount';
    case 'bill':
      if (!['trade', 'signcustomer'].includes(biz.bill_type)) return 'bill_type';
      return /^\d{4}-\d{2}(-\d{2})?$/.test(String(biz.bill_date || '')) ? null : 'bill_date';
    case 'payout': {
      const pi = biz.payee_info || {};
      if (biz.product_code !== 'TRANS_ACCOUNT_NO_PWD' || biz.biz_scene !== 'DIRECT_TRANSFER') return 'product_code / biz_scene';
      if (!amount(biz.trans_amount) || !biz.order_title) return 'trans_amount / order_title';
      if (!pi.identity || !['ALIPAY_USER_ID', 'ALIPAY_LOGON_ID'].includes(pi.identity_type)) return 'payee_info';
      return null;
    }
    case 'payout_query':
      return biz.order_id || (biz.product_code && biz.biz_scene) ? null : 'product_code / biz_scene with out_biz_no';
    default:
      return null;
  }
}

function certsOf(keysRoot, options) {
  if (!['1', 'true', 'yes'].includes(String(options.cert_mode || ''))) return null;
  const f = loadCerts(keysRoot);
  const read = (file) => fs.readFileSync(file, 'utf8');
  return { appCert: read(f.app_cert), rootCert: read(f.root_cert), alipayCert: read(f.alipay_cert),
    rotatedCert: read(f.rotated_cert), rotatedKey: readKeyFile(f.rotated_private, 'private') };
}

function setup({ keysRoot, options, orders }) {
  const strictAppId = options.app_id || null;
  const side = new AlipaySide({
    alipayPrivateKey: readKeyFile(path.join(keysRoot, 'alipay_private.pem'), 'private'),
    appPublicKey: readKeyFile(path.join(keysRoot, 'app_public.pem'), 'public'),
    appId: strictAppId || DEFAULT_APP_ID,
    certs: certsOf(keysRoot, options),
  });

  const billToken = crypto.randomBytes(12).toString('hex');
  const signed = (p, value, forged = false, rotated = false) => ({ body: side.signResponse(p.responseKey, value, { forged, rotated }) });
  const unsigned = (value) => ({ body: `{"error_response":${JSON.stringify(value)}}` });
  const reject = (reason, reply, badSign = false) => ({ reason, reply, badSign });

  function newTrade(otn, fields, t) {
    return {
      out_trade_no: otn,
      state: 'WAIT_BUYER_PAY',
      trade_no: newTradeNo(t),
      total_amount: fields.total_amount,
      subject: fields.subject,
      notify_url: fields.notify_url || '',
      app_id: fields.app_id,
      qr_code: fields.qr_code,
      created_at: t,
      gmt_create: beijingTime(t),
      paid_at: null,
      closed_at: null,
    };
  }

  // refund / payout records live in `orders` too (keyed by out_request_no / out_biz_no, with
  // `kind`), so scripts, counts, /_sim/pay (settles them) and /_sim/orders see them.
  function settleRefund(r, t) {
    if (r.state === 'REFUND_SUCCESS') return;
    r.state = 'REFUND_SUCCESS';
    r.refunded_at = t;
    r.gmt_refund = beijingTime(t);
    const trade = orders.get(r.out_trade_no);
    if (trade) {
      const total = Math.round(Number(trade.refunded_total || '0') * 100) + Math.round(Number(r.refund_amount) * 100);
      trade.refunded_total = (total / 100).toFixed(2);
      trade.refunded = true;
      if (total >= Math.round(Number(trade.total_amount) * 100)) closeTradeForRefund(trade, t);
    }
    r.refunded_total = trade ? trade.refunded_total : r.refund_amount;
  }

  function closeTradeForRefund(trade, t) {
    trade.state = 'TRADE_CLOSED';
    trade.closed_at = t;
  }

  const NO_EFFECT = new Set(['fail', 'not_found', 'unknown']);

  function receiveMore(req, p, beh) {
    if (NO_EFFECT.has(beh.kind)) return;
    const t = orders.get(p.otn);
    if (p.op === 'barcode') {
      let trade = t;
      if (!trade) {
        trade = newTrade(p.otn, { total_amount: String(p.biz.total_amount), subject: String(p.biz.subject),
          notify_url: p.params.notify_url, app_id: p.params.app_id, qr_code: '' }, req.t);
        orders.set(p.otn, trade);
      }
      if (beh.kind !== 'processing' && trade.state === 'WAIT_BUYER_PAY') {
        trade.state = 'TRADE_SUCCESS';
        trade.paid_at = req.t;
      }
    } else if (p.op === 'refund') {
      if (!t || (t.state !== 'TRADE_SUCCESS' && t.state !== 'TRADE_FINISHED') || orders.has(p.key)) return;
      const r = { kind: 'refund', out_request_no: p.key, out_trade_no: p.otn, refund_amount: String(p.biz.refund_amount),
        state: 'REFUND_PENDING', created_at: req.t, notify_url: t.notify_url };
      orders.set(p.key, r);
      if (beh.kind !== 'processing') settleRefund(r, req.t);
    } else if (p.op === 'refund_query') {
      const r = orders.get(p.key);
      if (r && r.kind === 'refund' && beh.kind === 'success') settleRefund(r, req.t);
    } else if (p.op === 'payout' && !orders.has(p.key)) {
      orders.set(p.key, { kind: 'payout', out_biz_no: p.key, order_id: `${beijingTime(req.t).replace(/\D/g, '').slice(0, 8)}1100700000${digits(14)}`,
        pay_fund_order_id: `${beijingTime(req.t).replace(/\D/g, '').slice(0, 8)}1100701506${digits(14)}`,
        trans_amount: String(p.biz.trans_amount), state: beh.kind === 'processing' ? 'DEALING' : 'SUCCESS',
        trans_date: beijingTime(req.t), payee: p.biz.payee_info, notify_url: '' });
    }
  }

  function billFile(kind, date) {
    if (kind === 'not_found' || kind === 'fail') return { status: 404, headers: { 'content-type': 'text/html' }, body: '<html>404 Not Found</html>' };
    const all = [...orders.values()];
    const trades = all.filter((o) => !o.kind);
    const refunds = all.filter((o) => o.kind === 'refund' && o.state === 'REFUND_SUCCESS')
      .map((r) => ({ ...r, trade: orders.get(r.out_trade_no) })).filter((r) => r.trade);
    return { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${date.replace(/-/g, '')}_业务明细.csv"`.replace(/[^\x20-\x7e]/g, '') },
      body: statementCsv(date, trades, refunds) };
  }

  return {
    parse(req) {
      const bf = req.method === 'GET' ? req.url.searchParams.get('bill_file') : null;
      if (bf !== null && BILL_DATE_RE.test(bf)) {
        return { op: 'bill_file', key: `billfile-${bf}`, billDate: bf, problems: [], params: {}, biz: null };
      }
      const problems = [];
      const params = readParams(req, problems);
      let biz = null;
      if (params.biz_content !== undefined) {
        try {
          biz = JSON.parse(params.biz_content);
        } catch (e) {
          problems.push(`biz_content is not JSON: ${e.message}`);
        }
      }
      const method = params.method || '';
      const op = METHOD_TO_OP[method] || null;
      return {
        op,
        label: method,
        key: keyOf(op, biz),
        otn: biz && typeof biz.out_trade_no === 'string' ? biz.out_trade_no : '',
        fields: { params, biz_content: biz },
        problems,
        params,
        biz,
        responseKey: `${(method || 'error').replace(/\./g, '_')}_response`,
      };
    },

    verify(req, p) {
      if (p.op === 'bill_file') {
        const ok = req.url.searchParams.get('token') === billToken;
        return { ok, signString: '', reason: ok ? '' : 'bad download token' };
      }
      return side.verifyRequest(p.params);
    },

    // Gateway-level checks, in the order Alipay applies them.
    check(req, p, v) {
      const { params, biz } = p;
      if (p.op === 'bill_file') {
        return v.ok ? null : reject('bad-download-token', { status: 403, headers: { 'content-type': 'text/html' }, body: '<html>403 Forbidden</html>' });
      }
      if (!params.method) return reject('missing-method', unsigned(err('40001', MISSING, 'isv.missing-method', '缺少方法名参数')));
      if (!p.op) return reject('invalid-method', unsigned(err('40002', INVALID, 'isv.invalid-method', '不存在的方法名')));
      if (!params.app_id) return reject('missing-app-id', unsigned(err('40001', MISSING, 'isv.missing-app-id', '缺少AppID参数')));
      if (strictAppId && params.app_id !== strictAppId) {
        return reject('invalid-app-id', unsigned(err('40002', INVALID, 'isv.invalid-app-id', '无效的AppID参数')));
      }
      if (!params.sign) {
        return reject('missing-signature', signed(p, err('40001', MISSING, 'isv.missing-signature', '缺少签名参数')), true);
      }
      if (params.sign_type !== 'RSA2') {
        return reject('invalid-signature-type', signed(p, err('40002', INVALID, 'isv.invalid-signature-type', '无效的签名类型')), true);
      }
      // certificate mode: the gateway finds the app's key by app_cert_sn before it can verify
      const cp = side.certProblem(params);
      if (cp) return reject(cp.subCode.replace(/^isv\./, ''), signed(p, err('40002', INVALID, cp.subCode, cp.subMsg)));
      if (!v.ok) {
        return reject('invalid-signature', signed(p, err('40002', INVALID, 'isv.invalid-signature',
          `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${v.signString}`)), true);
      }
      if (!params.timestamp || !TIMESTAMP_RE.test(params.timestamp)) {
        return reject('invalid-timestamp', signed(p, err('40002', INVALID, 'isv.invalid-timestamp', '非法的时间戳参数')));
      }
      if (params.charset && !/^utf-?8$/i.test(params.charset)) p.problems.push(`charset ${params.charset} (sim decodes UTF-8 only)`);
      if (params.version && params.version !== '1.0') p.problems.push(`version ${params.version}, expected 1.0`);
      if (params.format && params.format.toUpperCase() !== 'JSON') p.problems.push(`format ${params.format}, expected JSON`);
      if (!biz || !p.key || (TRADE_OPS.has(p.op) && !p.otn)) {
        return reject('missing-out-trade-no', signed(p, err('40004', 'Business Failed', 'ACQ.INVALID_PARAMETER', '参数无效: out_trade_no / out_request_no / out_biz_no / bill_date')));
      }
      const bad = bizProblems(p.op, biz);
      if (bad) {
        p.problems.push(bad);
        return reject('invalid-parameter', signed(p, err('40004', 'Business Failed', 'ACQ.INVALID_PARAMETER', `参数无效: ${bad}`)));
      }
      if (p.op === 'precreate') {
        const amt = biz.total_amount === undefined ? '' : String(biz.total_amount);
        if (!AMOUNT_RE.test(amt) || !biz.subject) {
          p.problems.push(`precreate needs total_amount in yuan (got ${JSON.stringify(biz.total_amount)}) and subject`);
          return reject('invalid-parameter', signed(p, err('40004', 'Business Failed', 'ACQ.INVALID_PARAMETER', '参数无效')));
        }
        if (!params.notify_url) p.problems.push('precreate without notify_url');
      }
      return null;
    },

    // A precreate that reached Alipay creates the trade, whatever happens to its answer.
    receive(req, p, beh) {
      if (p.op !== 'precreate') { receiveMore(req, p, beh); return; }
      if (beh.kind === 'fail' || beh.kind === 'not_found' || orders.has(p.key)) return;
      orders.set(p.key, newTrade(p.key, {
        total_amount: String(p.biz.total_amount),
        subject: String(p.biz.subject),
        notify_url: p.params.notify_url,
        app_id: p.params.app_id,
        qr_code: `https://qr.alipay.com/bax0${crypto.randomBytes(10).toString('hex')}`,
      }, req.t));
    },

    answer(req, p, beh) {
      const forged = beh.kind === 'badsign';
      const rotated = beh.kind === 'rotated_cert';
      const kind = forged || rotated ? 'success' : beh.kind;
      const b = rotated ? { kind: 'success' } : beh;
      const sig = (v) => signed(p, v, forged, rotated);
      const t = orders.get(p.otn);
      switch (p.op) {
        case 'barcode': return sig(more.barcodePay(kind, p.otn, t));
        case 'refund': return sig(more.refund(kind, p.biz, t, orders.get(p.key)));
        case 'refund_query': return sig(more.refundQuery(kind, p.otn, t, orders.get(p.key)));
        case 'bill': return sig(more.bill(kind, `http://${req.headers.host}/alipay/gateway.do?bill_file=${p.biz.bill_date}&token=${billToken}`));
        case 'payout':
        case 'payout_query': return sig(more.transfer(p.op, kind, p.biz, orders.get(p.key)));
        case 'bill_file': return billFile(kind, p.billDate);
        default: return sig(businessAnswer(p.op, b, p.key, orders.get(p.key), req.t));
      }
    },

    headers() {
      return { 'content-type': 'text/html;charset=utf-8', trace_id: crypto.randomBytes(12).toString('hex') };
    },

    garbage() {
      return Buffer.concat([
        Buffer.from([0x00, 0xff, 0xfe]),
        Buffer.from('<html>garbage {"alipay_trade_response":', 'latin1'),
        crypto.randomBytes(16),
      ]);
    },

    newOrder(otn, body) {
      return newTrade(otn, {
        total_amount: String(body.total_amount || '0.01'),
        subject: 'created by /_sim/pay',
        notify_url: body.notify_url,
        app_id: side.appId,
        qr_code: '',
      }, Date.now());
    },

    pay(o) {
      if (o.kind === 'refund') { settleRefund(o, Date.now()); return null; }
      if (o.kind === 'payout') { o.state = 'SUCCESS'; return null; }
      if (o.state === 'TRADE_CLOSED') return { status: 409, error: `order ${o.out_trade_no} is TRADE_CLOSED at the sim` };
      if (o.state !== 'TRADE_SUCCESS') {
        o.state = 'TRADE_SUCCESS';
        o.paid_at = Date.now();
      }
      return null;
    },

    // valid: moves the trade to trade_status (unless set_state:false); forged: a key Alipay
    // never had; contrary: the opposite outcome, genuinely signed, state untouched.
    notification(o, kind, body) {
      if (body.trade_status !== undefined && !TRADE_STATUSES.has(body.trade_status)) {
        throw new ControlError(400, `unknown trade_status ${JSON.stringify(body.trade_status)}`);
      }
      const contraryStatus = o.state === 'TRADE_CLOSED' ? 'TRADE_SUCCESS' : 'TRADE_CLOSED';
      const status = body.trade_status || (kind === 'contrary' ? contraryStatus : 'TRADE_SUCCESS');
      if (kind === 'valid' && body.set_state !== false && o.state !== status) {
        o.state = status;
        if (status === 'TRADE_SUCCESS' || status === 'TRADE_FINISHED') o.paid_at = o.paid_at || Date.now();
        if (status === 'TRADE_CLOSED') o.closed_at = Date.now();
      }
      let overrides = body.overrides;
      if (body.event === 'refund' && kind !== 'contrary') {
        const r = orders.get(body.out_refund_no || '');
        if (!r || r.kind !== 'refund' || r.out_trade_no !== o.out_trade_no) {
          throw new ControlError(400, `no refund ${JSON.stringify(body.out_refund_no)} of ${o.out_trade_no} at the sim`);
        }
        if (kind === 'valid') settleRefund(r, Date.now());
        overrides = { refund_fee: o.refunded_total || r.refund_amount, gmt_refund: `${beijingTime(r.refunded_at || Date.now())}.000`,
          out_biz_no: r.out_request_no, ...overrides };
        const full = Number(o.refunded_total || r.refund_amount) >= Number(o.total_amount);
        const params = side.signNotify(notifyFields(o, side.appId, full ? 'TRADE_CLOSED' : 'TRADE_SUCCESS', overrides), { forged: kind === 'forged' });
        return {
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'user-agent': 'Mozilla/4.0' },
          body: new URLSearchParams(params).toString(), params, notify_id: params.notify_id,
        };
      }
      const params = side.signNotify(notifyFields(o, side.appId, status, overrides), { forged: kind === 'forged' });
      return {
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'user-agent': 'Mozilla/4.0' },
        body: new URLSearchParams(params).toString(),
        params,
        notify_id: params.notify_id,
      };
    },
  };
}

module.exports = {
  name: 'alipay',
  sdks: ['alipay-sdk'],
  ops: OPS,
  behaviours: { trade_status: tradeStatus, rotated_cert: () => ({}) },
  routes: ['/gateway.do'],
  compatRoutes: ['/gateway.do'],
  setup,
};
