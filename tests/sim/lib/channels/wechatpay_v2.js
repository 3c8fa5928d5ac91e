'use strict';
// WeChat Pay API v2 channel plugin (mount /wechatpay_v2): XML POSTs to
//   /pay/unifiedorder (NATIVE/JSAPI), /pay/micropay, /pay/orderquery, /pay/closeorder,
//   /secapi/pay/reverse, /secapi/pay/refund, /pay/refundquery, /pay/downloadbill.
//
// Checked and signed with the channel's SDK, wechatpay-axios-plugin@0.9.6:
//   Transformer.toObject(xml)              reads our XML as the SDK's client reads answers
//   Hash.sign('MD5'|'HMAC-SHA256', o, key)  the v2 sign (sorted k=v&…&key=KEY, upper hex):
//                                           verifies every request of ours (sign_type from
//                                           the request, MD5 when absent) and signs answers
//                                           and pay notifies with the request's type
//   Hash.equals                             timing-safe compare
//   Aes.AesEcb.encrypt + Aes.pkcs7.padding  refund-notify req_info (key = md5hex(API key))
// Every signed answer is re-verified with Hash.sign before it is sent (throws otherwise).
//
// Gateway checks, in WeChat's order: unknown path -> return_code FAIL; missing/bad sign ->
// return_code FAIL "签名错误" (unsigned, counted bad_sign); wrong appid/mch_id (when the
// options set them) -> signed result FAIL APPID_MCHID_NOT_MATCH; missing fields -> signed
// LACK_PARAMS.  Bills are not signed (WeChat does not sign them).
//
// Behaviours: success = the real state; fail = the op's definite failure (unifiedorder
// ORDERCLOSED, micropay AUTHCODEEXPIRE, query PAYERROR, reverse REVERSE_EXPIRE, refund
// NOTENOUGH, refundquery REFUNDCLOSE, bill No Bill Exist); processing = USERPAYING
// (micropay/query), SYSTEMERROR elsewhere (reverse: recall=Y), refundquery PROCESSING;
// not_found = ORDERNOTEXIST / REFUNDNOTEXIST; closed = query CLOSED; unknown = a code
// WeChat never documented; badsign = the success answer signed with another key.
// Notifications: valid / forged / contrary pay notifies (contrary = a genuinely signed
// result_code FAIL); with {"event":"refund","out_refund_no":…} a refund notify whose
// req_info is encrypted (forged = another API key; contrary = REFUNDCLOSE).
//
// Keys: <keys>/wechatpay_v2/api_key.txt (32 chars), generated when missing; paygw's
// keystore needs the same text as <name>.secret.  Options: appid, mch_id (refuse others).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Hash, Aes, Transformer } = require('wechatpay-axios-plugin');
const { ControlError } = require('../core/control_error');

const OPS = {
  pay: 'pay.unifiedorder|micropay',
  query: 'pay.orderquery',
  close: 'pay.closeorder',
  cancel: 'secapi.pay.reverse',
  refund: 'secapi.pay.refund',
  refund_query: 'pay.refundquery',
  bill: 'pay.downloadbill',
};
const PATHS = {
  '/pay/unifiedorder': 'pay', '/pay/micropay': 'pay', '/pay/orderquery': 'query',
  '/pay/closeorder': 'close', '/secapi/pay/reverse': 'cancel', '/secapi/pay/refund': 'refund',
  '/pay/refundquery': 'refund_query', '/pay/downloadbill': 'bill',
};
const REQUIRED = {
  '/pay/unifiedorder': ['body', 'out_trade_no', 'total_fee', 'spbill_create_ip', 'notify_url', 'trade_type'],
  '/pay/micropay': ['body', 'out_trade_no', 'total_fee', 'spbill_create_ip', 'auth_code'],
  '/secapi/pay/refund': ['out_refund_no', 'total_fee', 'refund_fee'],
  '/pay/downloadbill': ['bill_date', 'bill_type'],
};
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const token = (n) => Array.from(crypto.randomBytes(n), (x) => ALNUM[x % ALNUM.length]).join('');
const digits = (n) => Array.from(crypto.randomBytes(n), (x) => String(x % 10)).join('');
const md5hex = (s) => crypto.createHash('md5').update(s).digest('hex');

function beijing(ms = Date.now(), fmt = 'compact') {
  const d = new Date(ms + 8 * 3600e3).toISOString();
  return fmt === 'compact' ? d.slice(0, 19).replace(/[-T:]/g, '') : d.slice(0, 19).replace('T', ' ');
}

function loadKey(keysDir) {
  const file = path.join(keysDir, 'api_key.txt');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(keysDir, { recursive: true });
    fs.writeFileSync(file, `${token(32)}\n`, { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

// WeChat's XML: every value in CDATA
function xml(obj) {
  const cdata = (v) => `<![CDATA[${String(v).replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
  return `<xml>${Object.entries(obj).filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `<${k}>${cdata(v)}</${k}>`).join('')}</xml>`;
}

const signType = (p) => (p && p.sign_type === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5');

function setup({ keysDir, options, orders, log }) {
  const apiKey = loadKey(keysDir);
  const forgedKey = token(32);
  const refunds = new Map();          // out_refund_no -> out_trade_no
  const txnIndex = new Map();         // transaction_id -> out_trade_no
  const refundIds = new Map();        // refund_id -> out_refund_no (refundquery by refund_id)

  // a signed answer; self-checked with the SDK unless deliberately forged
  function signed(fields, type, forged = false) {
    const body = { return_code: 'SUCCESS', return_msg: 'OK', ...fields };
    for (const k of Object.keys(body)) if (body[k] === undefined || body[k] === null) delete body[k];
    body.nonce_str = token(16);
    body.sign = Hash.sign(type, body, forged ? forgedKey : apiKey);
    if (!forged && !Hash.equals(Hash.sign(type, body, apiKey), body.sign)) throw new Error('v2 answer self-check failed');
    return body;
  }
  const reply = (obj) => ({ status: 200, body: xml(obj) });
  const commFail = (msg) => reply({ return_code: 'FAIL', return_msg: msg });

  function ids(p) {
    return { appid: p.appid, mch_id: p.mch_id, ...(p.sub_mch_id ? { sub_mch_id: p.sub_mch_id } : {}) };
  }
  const ok = (p, f, forged) => reply(signed({ ...ids(p.params), result_code: 'SUCCESS', ...f }, signType(p.params), forged));
  const fail = (p, code, f, forged) => reply(signed({ ...ids(p.params), result_code: 'FAIL', err_code: code,
    err_code_des: `sim ${code}`, ...f }, signType(p.params), forged));

  function orderOf(p) {
    const q = p.params;
    const key = q.out_trade_no || txnIndex.get(q.transaction_id) || '';
    return orders.get(key);
  }

  function tradeFields(o) {
    return { out_trade_no: o.out_trade_no, trade_type: o.trade_type, total_fee: o.total_fee, fee_type: 'CNY',
      ...(o.transaction_id && ['SUCCESS', 'REFUND', 'REVOKED'].includes(o.state)
        ? { transaction_id: o.transaction_id, time_end: o.time_end, bank_type: 'OTHERS', openid: o.openid, cash_fee: o.total_fee } : {}) };
  }

  function markPaid(o) {
    o.state = 'SUCCESS';
    o.transaction_id = o.transaction_id || `42000${digits(23)}`;
    o.time_end = beijing();
    txnIndex.set(o.transaction_id, o.out_trade_no);
  }

  const answers = {
    pay(p, beh, o, forged) {
      const micro = p.path === '/pay/micropay';
      switch (beh.kind) {
        case 'fail': return fail(p, micro ? 'AUTHCODEEXPIRE' : 'ORDERCLOSED');
        case 'processing': return fail(p, micro ? 'USERPAYING' : 'SYSTEMERROR');
        case 'not_found': return fail(p, 'SYSTEMERROR');
        case 'closed': return fail(p, micro ? 'ORDERREVERSED' : 'ORDERCLOSED');
        case 'unknown': return fail(p, 'SIM_UNDOCUMENTED_CODE');
        default: break;
      }
      if (micro) {
        if (!forged) markPaid(o);
        return ok(p, { ...tradeFields({ ...o, state: 'SUCCESS', transaction_id: o.transaction_id || `42000${digits(23)}`, time_end: o.time_end || beijing() }) }, forged);
      }
      return ok(p, { trade_type: o.trade_type, prepay_id: o.prepay_id,
        ...(o.trade_type === 'NATIVE' ? { code_url: `weixin://wxpay/bizpayurl?pr=${o.prepay_id.slice(-7)}` } : {}) }, forged);
    },
    query(p, beh, o, forged) {
      if (beh.kind === 'not_found' || !o) return fail(p, 'ORDERNOTEXIST');
      const state = { fail: 'PAYERROR', processing: 'USERPAYING', closed: 'CLOSED', unknown: 'SIM_NEW_STATE' }[beh.kind]
        || beh.trade_state || o.state;
      return ok(p, { ...tradeFields(o), trade_state: state, trade_state_desc: state }, forged);
    },
    close(p, beh, o, forged) {
      if (beh.kind === 'not_found' || !o) return fail(p, 'ORDERNOTEXIST');
      if (beh.kind === 'processing') return fail(p, 'SYSTEMERROR');
      if (beh.kind === 'unknown') return fail(p, 'SIM_UNDOCUMENTED_CODE');
      if (beh.kind === 'fail' || o.state === 'SUCCESS') return fail(p, 'ORDERPAID');
      if (!forged) o.state = 'CLOSED';
      return ok(p, {}, forged);
    },
    cancel(p, beh, o, forged) {
      if (beh.kind === 'not_found' || !o) return fail(p, 'ORDERNOTEXIST', { recall: 'N' });
      if (beh.kind === 'processing') return fail(p, 'SYSTEMERROR', { recall: 'Y' });
      if (beh.kind === 'fail') return fail(p, 'REVERSE_EXPIRE', { recall: 'N' });
      if (beh.kind === 'unknown') return fail(p, 'SIM_UNDOCUMENTED_CODE', { recall: 'N' });
      if (!forged) o.state = 'REVOKED';
      return ok(p, { recall: 'N' }, forged);
    },
    refund(p, beh, o, forged) {
      if (beh.kind === 'not_found' || !o) return fail(p, 'ORDERNOTEXIST');
      if (beh.kind === 'fail') return fail(p, 'NOTENOUGH');
      if (beh.kind === 'processing') return fail(p, 'SYSTEMERROR');
      if (beh.kind === 'unknown') return fail(p, 'SIM_UNDOCUMENTED_CODE');
      const r = o.refunds.get(p.key);
      return ok(p, { out_trade_no: o.out_trade_no, transaction_id: o.transaction_id, out_refund_no: r.out_refund_no,
        refund_id: r.refund_id, refund_fee: r.refund_fee, total_fee: o.total_fee, cash_fee: o.total_fee }, forged);
    },
    refund_query(p, beh, o, forged) {
      const r = o && o.refunds.get(p.key);
      if (beh.kind === 'not_found' || !r) return fail(p, 'REFUNDNOTEXIST');
      const status = { fail: 'REFUNDCLOSE', closed: 'REFUNDCLOSE', processing: 'PROCESSING', unknown: 'SIM_NEW_STATUS' }[beh.kind]
        || (beh.kind === 'success' && !forged ? 'SUCCESS' : r.status);
      if (beh.kind === 'success' && !forged) r.status = 'SUCCESS';
      return ok(p, { out_trade_no: o.out_trade_no, transaction_id: o.transaction_id, total_fee: o.total_fee, refund_count: '1',
        out_refund_no_0: r.out_refund_no, refund_id_0: r.refund_id, refund_fee_0: r.refund_fee, refund_status_0: status,
        refund_recv_accout_0: '支付用户的零钱' }, forged);
    },
    bill(p, beh) {
      if (beh.kind === 'fail' || beh.kind === 'not_found') return reply({ return_code: 'FAIL', return_msg: 'No Bill Exist', error_code: '20002' });
      if (beh.kind === 'processing') return reply({ return_code: 'FAIL', return_msg: 'Bill Creating', error_code: '20003' });
      if (beh.kind === 'unknown') return reply({ return_code: 'FAIL', return_msg: 'SIM undocumented', error_code: '29999' });
      const rows = [...orders.values()].filter((o) => o.state === 'SUCCESS');
      const line = (o) => ['`' + beijing(Date.now(), 'space'), p.params.appid, p.params.mch_id, '0', '', o.transaction_id, o.out_trade_no,
        o.openid || 'oUpF8u', o.trade_type, 'SUCCESS', 'OTHERS', 'CNY', (o.total_fee / 100).toFixed(2), '0.00', '0', '0', '0.00', '0.00',
        '', '', o.body || '', '', '0.00000', '0.60%', (o.total_fee / 100).toFixed(2), '0.00', ''].join(',`');
      const sum = rows.reduce((a, o) => a + Number(o.total_fee), 0);
      const text = '\ufeff交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n'
        + rows.map((o) => `${line(o)}\n`).join('')
        + '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n'
        + `\`${rows.length},\`${(sum / 100).toFixed(2)},\`0.00,\`0.00,\`0.00000,\`${(sum / 100).toFixed(2)},\`0.00\n`;
      return { status: 200, headers: { 'content-type': 'text/plain;charset=utf-8' }, body: text };
    },
  };

  function payNotify(o, kind, body) {
    const type = o.sign_type || 'MD5';
    const contrary = kind === 'contrary';
    if (kind === 'valid' && body.set_state !== false) markPaid(o);
    const t = { ...o };
    if (!t.transaction_id) { t.transaction_id = `42000${digits(23)}`; t.time_end = beijing(); }
    let f = { return_code: 'SUCCESS', return_msg: 'OK', appid: o.appid, mch_id: o.mch_id, nonce_str: token(16),
      result_code: contrary ? 'FAIL' : 'SUCCESS', ...(contrary ? { err_code: 'PAYERROR', err_code_des: 'sim contrary' } : {}),
      openid: o.openid || 'oUpF8u', is_subscribe: 'N', trade_type: o.trade_type, bank_type: 'OTHERS',
      total_fee: String(o.total_fee), fee_type: 'CNY', cash_fee: String(o.total_fee), transaction_id: t.transaction_id,
      out_trade_no: o.out_trade_no, time_end: t.time_end };
    f = applyOverrides(f, body.overrides);
    f.sign = Hash.sign(type, f, kind === 'forged' ? forgedKey : apiKey);
    return { headers: { 'content-type': 'text/xml' }, body: xml(f), params: f, notify_id: f.nonce_str };
  }

  function refundNotify(o, kind, body) {
    const r = o.refunds.get(body.out_refund_no) || [...o.refunds.values()][0];
    if (!r) throw new ControlError(400, `order ${o.out_trade_no} has no refund at the sim`);
    let status = kind === 'contrary' ? 'REFUNDCLOSE' : (body.refund_status || 'SUCCESS');
    if (kind === 'valid' && body.set_state !== false) r.status = status;
    let plain = { out_refund_no: r.out_refund_no, out_trade_no: o.out_trade_no, refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
      refund_fee: r.refund_fee, refund_id: r.refund_id, refund_recv_accout: '支付用户零钱', refund_request_source: 'API',
      refund_status: status, settlement_refund_fee: r.refund_fee, settlement_total_fee: String(o.total_fee),
      success_time: beijing(Date.now(), 'space'), total_fee: String(o.total_fee), transaction_id: o.transaction_id || '' };
    plain = applyOverrides(plain, body.overrides);
    status = plain.refund_status;
    const inner = `<root>${Object.entries(plain).map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`).join('')}</root>`;
    const key = md5hex(kind === 'forged' ? forgedKey : apiKey);
    // full PKCS#7 as WeChat pads; the SDK's encrypt pads only when needed
    const reqInfo = Aes.AesEcb.encrypt(Aes.pkcs7.padding(Buffer.from(inner), false), key);
    const f = { return_code: 'SUCCESS', appid: o.appid, mch_id: o.mch_id, nonce_str: token(16), req_info: reqInfo };
    return { headers: { 'content-type': 'text/xml' }, body: xml(f), params: { ...f, decrypted: plain }, notify_id: f.nonce_str };
  }

  return {
    parse(req) {
      const op = PATHS[req.path] || null;
      const problems = [];
      let params = {};
      try {
        params = Transformer.toObject.call({ url: req.path }, req.raw.toString('utf8')) || {};
      } catch (e) {
        problems.push(`not XML: ${e.message}`);
      }
      if (typeof params !== 'object') params = {};
      if (req.method !== 'POST') problems.push(`HTTP method ${req.method}, WeChat expects POST`);
      let key = params.out_trade_no || txnIndex.get(params.transaction_id) || '';
      if (op === 'refund' || op === 'refund_query') key = params.out_refund_no || refundIds.get(params.refund_id) || '';
      if (op === 'bill') key = `bill-${params.bill_date || ''}`;
      const label = op === 'pay' ? req.path.slice(1).replace('/', '.') : (op ? OPS[op] : req.path);
      return { op, key, label, fields: { params }, problems, params, path: req.path };
    },
    verify(req, p) {
      const q = p.params;
      if (!q.sign) return { ok: false, reason: 'no sign' };
      const type = signType(q);
      const signString = `${Object.keys(q).filter((k) => k !== 'sign' && q[k] !== '' && q[k] !== undefined).sort()
        .map((k) => `${k}=${q[k]}`).join('&')}&key=***`;
      const good = Hash.equals(Hash.sign(type, q, apiKey), q.sign);
      return { ok: good, signString, reason: good ? undefined : `${type} sign does not verify` };
    },
    check(req, p, v) {
      if (!p.op) return { reason: 'no-route', reply: commFail('invalid request path') };
      if (p.problems.some((x) => x.startsWith('not XML'))) return { reason: 'xml', reply: commFail('XML格式错误') };
      if (!v.ok) return { reason: 'bad-signature', badSign: true, reply: commFail('签名错误') };
      const q = p.params;
      if ((options.appid && q.appid !== options.appid) || (options.mch_id && q.mch_id !== options.mch_id)) {
        return { reason: 'appid-mch', reply: fail(p, 'APPID_MCHID_NOT_MATCH') };
      }
      const missing = [...(REQUIRED[p.path] || []), 'appid', 'mch_id', 'nonce_str'].filter((k) => !q[k]);
      if (p.path === '/pay/unifiedorder' && q.trade_type === 'JSAPI' && !q.openid) missing.push('openid');
      if (p.path === '/pay/unifiedorder' && q.trade_type === 'NATIVE' && !q.product_id) missing.push('product_id');
      if (['query', 'close', 'cancel'].includes(p.op) && !q.out_trade_no && !q.transaction_id) missing.push('out_trade_no');
      if (missing.length) return { reason: `lack-params:${missing.join(',')}`, reply: fail(p, 'LACK_PARAMS', { err_code_des: `缺少参数 ${missing.join(',')}` }) };
      if (q.total_fee && !/^[1-9]\d{0,9}$/.test(q.total_fee)) return { reason: 'total_fee', reply: fail(p, 'PARAM_ERROR') };
      return null;
    },
    receive(req, p, beh) {
      const q = p.params;
      if (p.op === 'pay' && beh.kind !== 'fail' && beh.kind !== 'not_found' && !orders.has(p.key)) {
        const micro = p.path === '/pay/micropay';
        orders.set(p.key, { out_trade_no: p.key, appid: q.appid, mch_id: q.mch_id, sign_type: signType(q),
          trade_type: micro ? 'MICROPAY' : q.trade_type, total_fee: Number(q.total_fee), body: q.body,
          notify_url: q.notify_url || '', openid: q.openid, state: micro ? 'USERPAYING' : 'NOTPAY',
          prepay_id: `wx${beijing()}${token(18)}`, refunds: new Map() });
      }
      if (p.op === 'refund' && beh.kind !== 'fail' && beh.kind !== 'not_found') {
        const o = orderOf(p);
        if (o && !o.refunds.has(p.key)) {
          const refundId = `5000${digits(25)}`;
          o.refunds.set(p.key, { out_refund_no: p.key, refund_id: refundId, refund_fee: q.refund_fee, status: 'PROCESSING' });
          refunds.set(p.key, o.out_trade_no);
          refundIds.set(refundId, p.key);
        }
      }
    },
    answer(req, p, beh) {
      const forged = beh.kind === 'badsign';
      const eff = forged ? { kind: 'success' } : beh;
      const o = (p.op === 'refund_query') ? orders.get(refunds.get(p.key) || '') : orderOf(p);
      log(`wechatpay_v2 ${p.op} ${p.key} ${beh.kind}`);
      return answers[p.op](p, eff, o, forged);
    },
    headers: () => ({ 'content-type': 'text/xml;charset=utf-8' }),
    garbage: () => Buffer.from('<html><body>502 Bad Gateway</body'),
    newOrder: (key, body) => ({ out_trade_no: key, appid: options.appid || 'wxd930ea5d5a258f4f', mch_id: options.mch_id || '10000100',
      sign_type: body.sign_type === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5', trade_type: 'NATIVE',
      total_fee: Number(body.total_fee || body.amount || 100), notify_url: body.notify_url || '', state: 'NOTPAY',
      prepay_id: `wx${token(20)}`, refunds: new Map() }),
    pay(o) {
      if (['CLOSED', 'REVOKED'].includes(o.state)) return { status: 409, error: `order ${o.out_trade_no} is ${o.state} at the sim` };
      markPaid(o);
      return null;
    },
    notification(o, kind, body) {
      return body.event === 'refund' ? refundNotify(o, kind, body) : payNotify(o, kind, body);
    },
    view: (o) => ({ ...o, refunds: [...o.refunds.values()] }),
    reset() { refunds.clear(); txnIndex.clear(); refundIds.clear(); },
  };
}

function applyOverrides(f, overrides) {
  const out = { ...f };
  for (const [k, v] of Object.entries(overrides || {})) {
    if (v === null) delete out[k]; else out[k] = String(v);
  }
  return out;
}

module.exports = {
  name: 'wechatpay_v2',
  sdks: ['wechatpay-axios-plugin'],
  ops: OPS,
  behaviours: {
    trade_state: (arg) => {
      if (!['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR'].includes(arg)) throw new Error(`unknown trade_state ${arg}`);
      return { trade_state: arg };
    },
  },
  routes: ['/pay/', '/secapi/'],
  setup,
};
