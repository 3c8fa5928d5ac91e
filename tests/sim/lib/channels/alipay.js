'use strict';
// Alipay OpenAPI v2 channel plugin: POST /alipay/gateway.do (and /gateway.do for the e2e
// stack), methods alipay.trade.precreate / query / close / cancel, async notifies
// (trade_status_sync). Requests are verified and answers self-checked with alipay-sdk
// (see alipay/sign.js). Keys, at the keys ROOT (not <keys>/alipay/, for compatibility):
// alipay_private.pem (the sim signs with it), app_public.pem (the merchant's, verified).
// Options: app_id — when set, other app ids are refused (isv.invalid-app-id).

const crypto = require('node:crypto');
const path = require('node:path');
const { readKeyFile } = require('../keys');
const { ControlError } = require('../core/control_error');
const { AlipaySide } = require('./alipay/sign');
const { businessAnswer } = require('./alipay/answers');
const { notifyFields } = require('./alipay/notify_fields');
const { beijingTime, newTradeNo } = require('./alipay/clock');

const OPS = {
  precreate: 'alipay.trade.precreate',
  query: 'alipay.trade.query',
  close: 'alipay.trade.close',
  cancel: 'alipay.trade.cancel',
};
const METHOD_TO_OP = Object.fromEntries(Object.entries(OPS).map(([op, m]) => [m, op]));
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

function setup({ keysRoot, options, orders }) {
  const strictAppId = options.app_id || null;
  const side = new AlipaySide({
    alipayPrivateKey: readKeyFile(path.join(keysRoot, 'alipay_private.pem'), 'private'),
    appPublicKey: readKeyFile(path.join(keysRoot, 'app_public.pem'), 'public'),
    appId: strictAppId || DEFAULT_APP_ID,
  });

  const signed = (p, value, forged = false) => ({ body: side.signResponse(p.responseKey, value, { forged }) });
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

  return {
    parse(req) {
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
      return {
        op: METHOD_TO_OP[method] || null,
        label: method,
        key: biz && typeof biz.out_trade_no === 'string' ? biz.out_trade_no : '',
        fields: { params, biz_content: biz },
        problems,
        params,
        biz,
        responseKey: `${(method || 'error').replace(/\./g, '_')}_response`,
      };
    },

    verify(req, p) {
      return side.verifyRequest(p.params);
    },

    // Gateway-level checks, in the order Alipay applies them.
    check(req, p, v) {
      const { params, biz } = p;
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
      if (!biz || !p.key) {
        return reject('missing-out-trade-no', signed(p, err('40004', 'Business Failed', 'ACQ.INVALID_PARAMETER', '参数无效: out_trade_no')));
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
      if (p.op !== 'precreate' || beh.kind === 'fail' || beh.kind === 'not_found' || orders.has(p.key)) return;
      orders.set(p.key, newTrade(p.key, {
        total_amount: String(p.biz.total_amount),
        subject: String(p.biz.subject),
        notify_url: p.params.notify_url,
        app_id: p.params.app_id,
        qr_code: `https://qr.alipay.com/bax0${crypto.randomBytes(10).toString('hex')}`,
      }, req.t));
    },

    answer(req, p, beh) {
      return signed(p, businessAnswer(p.op, beh, p.key, orders.get(p.key), req.t), beh.kind === 'badsign');
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
      const params = side.signNotify(notifyFields(o, side.appId, status, body.overrides), { forged: kind === 'forged' });
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
  behaviours: { trade_status: tradeStatus },
  routes: ['/gateway.do'],
  compatRoutes: ['/gateway.do'],
  setup,
};
