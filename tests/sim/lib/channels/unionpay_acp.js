'use strict';
// China UnionPay online gateway (ACP 5.1.0, 全渠道) channel plugin:
//   POST /unionpay_acp/gateway/api/frontTransReq.do   front consume: the form the BUYER's browser
//                                                     auto-submits (paygw builds it as a local
//                                                     credential and never posts it); answers
//                                                     the cashier page
//   POST /unionpay_acp/gateway/api/backTransReq.do    back consume (txnType 01), refund (04),
//                                                     consume void (31)
//   POST /unionpay_acp/gateway/api/queryTrans.do      queryTrans (txnType 00) of a consume or
//                                                     a refund (by orderId + txnTime or queryId)
// backUrl notifies: url-encoded form POSTs signed like the answers.
// No official UnionPay npm SDK exists: requests are verified and answers signed with the
// published algorithm written independently in ./unionpay_acp/sign.js (node:crypto, and
// sm-crypto's sm3 for signMethod 12), checked against vectors V13c / V14. Answers are
// `k=v&…` text (not url-encoded), signMethod 01 with signPubKeyCert (issued by the sim's
// middle CA under its root CA, as ACP 5.1.0 sends it), or 11/12 when the request used 11/12.
// Keys: see ./unionpay_acp/keys.js. Options: mer_id (refuse others).

const crypto = require('node:crypto');
const acp = require('./unionpay_acp/sign');
const { loadKeys } = require('./unionpay_acp/keys');
const { syncAnswer, queryAnswer, notifyFields } = require('./unionpay_acp/answers');
const { ControlError } = require('../core/control_error');

const PATHS = {
  '/gateway/api/frontTransReq.do': 'front',
  '/gateway/api/backTransReq.do': 'back',
  '/gateway/api/queryTrans.do': 'query',
};
const BACK_OPS = { '01': 'pay', '04': 'refund', 31: 'cancel' };
const ORDER_ID_RE = /^[A-Za-z0-9]{8,40}$/;
const TIME_RE = /^20\d{12}$/;
const AMOUNT_RE = /^[1-9]\d{0,11}$/;

const newQueryId = (t) => `${new Date(t + 8 * 3600e3).toISOString().replace(/\D/g, '').slice(2, 14)}${crypto.randomInt(1e9).toString().padStart(9, '0')}`;

function setup({ keysDir, options, orders }) {
  const keys = loadKeys(keysDir);
  const refunds = new Map(); // refund orderId -> refund record (also reachable by queryId)

  const upSigner = { method: '01', key: keys.platformKey, certId: keys.platformCertId };
  const forgedSigner = { method: '01', key: keys.forgedKey, certId: keys.platformCertId };
  // an impostor with a UnionPay-named certificate of ANOTHER root: its signature matches its
  // own signPubKeyCert, only the chain is wrong
  const otherRootSigner = { method: '01', key: keys.otherKey, certId: keys.otherCertId };
  // sign an answer like UnionPay: with the request's signMethod (11/12: the secure key)
  function signFields(fields, method, forged, signer) {
    if (method === '11' || method === '12') {
      return acp.sign(fields, { method, secureKey: forged ? `${keys.secureKey}x` : keys.secureKey }, { skipEmpty: false }).fields;
    }
    if (signer === 'other_root') return acp.sign({ ...fields, signPubKeyCert: keys.otherCert }, otherRootSigner, { skipEmpty: false }).fields;
    const signed = acp.sign({ ...fields, signPubKeyCert: keys.platformCert }, forged ? forgedSigner : upSigner, { skipEmpty: false }).fields;
    if (!forged && !acp.verify(signed, { publicKey: crypto.createPublicKey(keys.platformKey) }).ok) throw new Error('unionpay_acp: own answer does not verify');
    return signed;
  }
  const kv = (fields, method, forged = false) => ({ body: acp.answerText(signFields(fields, method, forged)) });
  const unsignedKv = (fields) => ({ body: acp.answerText(fields) });
  const reject = (reason, reply, badSign = false) => ({ reason, reply, badSign });

  function findTxn(f) {
    if (f.queryId) {
      for (const r of refunds.values()) if (r.queryId === f.queryId) return { t: r, refund: true };
      for (const o of orders.values()) if (o.queryId === f.queryId) return { t: o, refund: false };
      return { t: null, refund: false };
    }
    if (refunds.has(f.orderId)) return { t: refunds.get(f.orderId), refund: true };
    const o = orders.get(f.orderId) || null;
    return { t: o && o.txnTime === f.txnTime ? o : null, refund: false, mismatch: !!o && o.txnTime !== f.txnTime };
  }

  function newConsume(f, t, front) {
    return {
      kind: 'consume', front, txnType: '01', bizType: f.bizType || '', orderId: f.orderId, txnTime: f.txnTime, txnAmt: f.txnAmt, merId: f.merId,
      state: front ? 'WAIT' : '05', queryId: newQueryId(t), traceNo: String(crypto.randomInt(1e6)).padStart(6, '0'),
      notify_url: f.backUrl || '', signMethod: f.signMethod, created_at: t, paid_at: null,
    };
  }

  return {
    parse(req) {
      const problems = [];
      const where = PATHS[req.path] || null;
      const ctype = String(req.headers['content-type'] || '');
      if (req.method !== 'POST') problems.push(`HTTP method ${req.method}, UnionPay expects POST`);
      if (!/^application\/x-www-form-urlencoded/i.test(ctype)) problems.push(`content-type ${JSON.stringify(ctype)}`);
      const f = {};
      for (const [k, v] of new URLSearchParams(req.raw.toString('utf8'))) {
        if (Object.prototype.hasOwnProperty.call(f, k)) problems.push(`duplicate field ${k}`);
        else f[k] = v;
      }
      let op = null;
      if (where === 'front') op = f.txnType === '01' ? 'pay' : null;
      else if (where === 'back') op = BACK_OPS[f.txnType] || null;
      else if (where === 'query' && f.txnType === '00') op = findTxn(f).refund ? 'refund_query' : 'query';
      let key = f.orderId || '';
      if (op === 'refund_query' && f.queryId) key = findTxn(f).t.orderId;
      if (op === 'query' && f.queryId) { const x = findTxn(f).t; key = x ? x.orderId : f.queryId; }
      if (op === 'cancel') key = f.reqReserved || f.orderId || '';
      return { op, key, label: op ? undefined : `${where || req.path} txnType=${f.txnType}`, fields: { params: f }, problems, f, where };
    },

    verify(req, p) {
      const r = acp.verify(p.f, { publicKey: keys.merchantPublic, secureKey: keys.secureKey });
      if (r.ok && p.f.signMethod === '01' && p.f.certId !== keys.merchantCertId) {
        return { ok: false, signString: r.signString, reason: `certId ${p.f.certId} is not the merchant certificate's ${keys.merchantCertId}` };
      }
      return r;
    },

    check(req, p, v) {
      const f = p.f;
      const base = { version: f.version || '5.1.0', encoding: 'UTF-8', txnType: f.txnType || '', merId: f.merId || '', orderId: f.orderId || '', txnTime: f.txnTime || '' };
      const fail = (code, m) => ({ ...base, respCode: code, respMsg: m });
      if (!p.where) return reject('no-route', { status: 404, body: 'Not Found' });
      if (!p.op) return reject('bad-txnType', unsignedKv(fail('10', `报文格式错误: txnType ${f.txnType} on ${p.where}`)));
      // a request UnionPay cannot authenticate gets an UNSIGNED 11
      if (!v.ok) return reject('bad-signature', unsignedKv(fail('11', `验证签名失败 ${v.reason || ''}`)), true);
      if (options.mer_id && f.merId !== options.mer_id) return reject('bad-merId', kv(fail('31', '商户状态不正确'), f.signMethod));
      if (f.version !== '5.1.0' || f.encoding !== 'UTF-8') return reject('bad-version', kv(fail('10', '报文格式错误 version/encoding'), f.signMethod));
      if (!f.queryId && (!ORDER_ID_RE.test(f.orderId || '') || !TIME_RE.test(f.txnTime || ''))) {
        return reject('bad-order', kv(fail('10', '报文格式错误 orderId/txnTime'), f.signMethod));
      }
      if (p.op !== 'query' && p.op !== 'refund_query') {
        if (!AMOUNT_RE.test(f.txnAmt || '') || f.currencyCode !== '156') return reject('bad-amount', kv(fail('13', '报文交易要素缺失 txnAmt/currencyCode'), f.signMethod));
        if (!f.backUrl) return reject('no-backUrl', kv(fail('13', '报文交易要素缺失 backUrl'), f.signMethod));
        if ((p.op === 'refund' || p.op === 'cancel') && !f.origQryId) return reject('no-origQryId', kv(fail('13', '报文交易要素缺失 origQryId'), f.signMethod));
      }
      return null;
    },

    receive(req, p, beh) {
      const f = p.f;
      if (beh.kind === 'fail' || beh.kind === 'not_found') return;
      if (p.op === 'pay' && !orders.has(f.orderId)) orders.set(f.orderId, newConsume(f, req.t, p.where === 'front'));
      if (p.op === 'refund' && !refunds.has(f.orderId)) {
        refunds.set(f.orderId, {
          kind: 'refund', txnType: '04', orderId: f.orderId, txnTime: f.txnTime, txnAmt: f.txnAmt, merId: f.merId, state: '00',
          queryId: newQueryId(req.t), traceNo: String(crypto.randomInt(1e6)).padStart(6, '0'), origQryId: f.origQryId,
          reqReserved: f.reqReserved, notify_url: f.backUrl,
        });
      }
      if (p.op === 'cancel') {
        const o = [...orders.values()].find((x) => x.queryId === f.origQryId);
        if (o && o.state === '00') o.voided = true;
      }
    },

    answer(req, p, beh) {
      const f = p.f;
      const forged = beh.kind === 'badsign';
      if (p.op === 'pay' && p.where === 'front' && (beh.kind === 'success' || beh.kind === 'closed')) {
        const o = orders.get(f.orderId);
        return { headers: { 'content-type': 'text/html;charset=UTF-8' }, body: `<html><head><meta charset="UTF-8"/></head><body onload="document.forms[0].submit()"><form action="https://cashier.95516.com/b2c/index.action" method="post"><input type="hidden" name="transNumber" value="${o ? o.queryId : ''}"/></form></body></html>` };
      }
      if (p.op === 'query' || p.op === 'refund_query') {
        const { t } = findTxn(f);
        return kv(queryAnswer(beh.kind, f, t, p.op === 'refund_query'), f.signMethod, forged);
      }
      const t = p.op === 'pay' ? orders.get(f.orderId) : (p.op === 'refund' ? refunds.get(f.orderId) : null);
      const extra = {};
      if (t) extra.queryId = t.queryId;
      if (f.origQryId) extra.origQryId = f.origQryId;
      return kv(syncAnswer(p.op, beh.kind, f, extra), f.signMethod, forged);
    },

    headers() {
      return { 'content-type': 'text/html;charset=UTF-8' };
    },

    newOrder(key, body) {
      const t = Date.now();
      const amt = String(Math.round(Number(body.total_amount || '0.01') * 100));
      return newConsume({ orderId: key, txnTime: body.txn_time || new Date(t + 8 * 3600e3).toISOString().replace(/\D/g, '').slice(0, 14), txnAmt: amt, merId: body.mer_id || options.mer_id || '777290058110048', backUrl: body.notify_url || '', signMethod: '01' }, t, false);
    },

    pay(o) {
      if (o.state !== '00' && o.state !== '05' && o.state !== 'WAIT') return { status: 409, error: `order ${o.orderId} is ${o.state} at the sim` };
      o.state = '00';
      o.paid_at = o.paid_at || Date.now();
      return null;
    },

    // valid: a genuinely signed notify of the order's success (state -> 00 unless
    // set_state:false); forged: signed with a key UnionPay never had; contrary: the opposite
    // outcome (61 declined if paid, else 00), genuinely signed. body.refund: the notify of that
    // refund (orderId) instead of the consume. body.resp_code overrides the code.
    // body.signer 'other_root': signed (consistently) by a UnionPay-named certificate that
    // chains to another root -- a forgery only the chain check catches.
    notification(o, kind, body) {
      let t = o;
      if (body.refund) {
        t = refunds.get(body.refund);
        if (!t) throw new ControlError(404, `sim knows no refund ${body.refund}`);
      }
      let code = body.resp_code || (kind === 'contrary' ? (t.state === '00' ? '61' : '00') : '00');
      if (!/^[0-9A-Z]{2}$/.test(code)) throw new ControlError(400, `bad resp_code ${code}`);
      if (kind === 'valid' && body.set_state !== false && t === o && code === '00') o.state = '00';
      if (kind === 'valid' && body.set_state !== false && t === o && code === '00') o.paid_at = o.paid_at || Date.now();
      const fields = notifyFields(t, code);
      for (const [k, v] of Object.entries(body.overrides || {})) {
        if (v === null) delete fields[k];
        else fields[k] = String(v);
      }
      if (body.signer !== undefined && body.signer !== 'other_root') throw new ControlError(400, `bad signer ${body.signer}`);
      const signed = signFields(fields, body.sign_method || '01', kind === 'forged', body.signer);
      code = signed.respCode;
      return {
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
        body: new URLSearchParams(signed).toString(),
        params: signed,
        notify_id: `${t.queryId}-${Date.now()}`,
      };
    },

    view(o) {
      return o ? { ...o, refunds: [...refunds.values()].filter((r) => r.origQryId === o.queryId) } : o;
    },

    reset() {
      refunds.clear();
    },
  };
}

module.exports = {
  name: 'unionpay_acp',
  sdks: ['sm-crypto'],
  ops: {
    pay: 'unionpay.consume',
    query: 'unionpay.queryTrans',
    refund: 'unionpay.refund',
    refund_query: 'unionpay.queryTrans.refund',
    cancel: 'unionpay.consumeUndo',
  },
  routes: ['/gateway/api/'],
  setup,
};
