'use strict';
// Paytm Payment Gateway channel plugin:
//   POST /paytm/theia/api/v1/initiateTransaction?mid=&orderId=   pay (-> txnToken)
//   POST /paytm/v3/order/status                                  query
//   POST /paytm/refund/apply                                     refund (keyed by refId)
//   POST /paytm/v2/refund/status                                 refund_query (keyed by refId)
// Requests are JSON {body, head:{signature}}; the signature is checked with Paytm's own SDK,
// paytmchecksum: PaytmChecksum.verifySignature(<exact body text>, merchantKey, signature).
// Answers are signed the way Paytm does (head.signature over the body text) with
// PaytmChecksum.calculateChecksum(text, key, <4 random base64 chars>) — exactly what
// generateSignature does, synchronously — and self-checked with verifySignature.
// Callbacks: form POST to callbackUrl with CHECKSUMHASH (calculateChecksum over
// getStringByParams(params)). Keys: <keys>/paytm/merchant_key.txt (16 chars, generated).
// Options: mid (refuse others).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const PaytmChecksum = require('paytmchecksum');
const { rawMember } = require('./paytm/raw_json');
const { ControlError } = require('../core/control_error');

const ROUTES = {
  '/theia/api/v1/initiateTransaction': 'pay',
  '/v3/order/status': 'query',
  '/refund/apply': 'refund',
  '/v2/refund/status': 'refund_query',
};

function loadKey(dir) {
  const f = path.join(dir, 'merchant_key.txt');
  if (!fs.existsSync(f)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(f, crypto.randomBytes(12).toString('base64'), { mode: 0o600 }); // 16 chars
  }
  const key = fs.readFileSync(f, 'utf8').trim();
  if (Buffer.byteLength(key) !== 16) throw new Error(`${f}: the merchant key must be 16 bytes (AES-128)`);
  return key;
}

const salt = () => crypto.randomBytes(3).toString('base64');
const ri = (resultStatus, resultCode, resultMsg) => ({ resultInfo: { resultStatus, resultCode, resultMsg } });
const rupees = (paise) => (paise / 100).toFixed(2);
const istTime = (t) => `${new Date(t + 330 * 60e3).toISOString().replace('T', ' ').slice(0, 19)}.0`;

function setup({ keysDir, options, orders }) {
  const key = loadKey(keysDir);
  const forgedKey = crypto.randomBytes(8).toString('hex');
  const refunds = new Map();

  function signed(body, forged = false) {
    const text = JSON.stringify(body);
    const sig = PaytmChecksum.calculateChecksum(text, forged ? forgedKey : key, salt());
    if (!forged && !PaytmChecksum.verifySignature(text, key, sig)) throw new Error('paytm: own answer does not verify');
    return { body: `{"head":{"responseTimestamp":"${Date.now()}","version":"v1","signature":"${sig}"},"body":${text}}` };
  }
  const unsigned = (body) => ({ body: `{"head":{"responseTimestamp":"${Date.now()}","version":"v1"},"body":${JSON.stringify(body)}}` });

  function statusBody(o, s, c, m) {
    return {
      ...ri(s, c, m), txnId: o.txnId, bankTxnId: s === 'TXN_SUCCESS' ? o.bankTxnId : '', orderId: o.orderId,
      txnAmount: o.txnAmount, txnType: 'SALE', gatewayName: 'HDFC', bankName: 'HDFC Bank', mid: o.mid,
      paymentMode: 'UPI', refundAmt: '0.00', txnDate: istTime(o.created_at),
    };
  }
  const STATE = { TXN_SUCCESS: ['TXN_SUCCESS', '01', 'Txn Success'], PENDING: ['PENDING', '402', 'Looks like the payment is not complete.'], TXN_FAILURE: ['TXN_FAILURE', '227', 'Your payment has been declined by your bank.'] };

  function refundBody(r, s, c, m) {
    return { txnTimestamp: istTime(r.created_at), orderId: r.orderId, mid: r.mid, refId: r.refId, ...ri(s, c, m), refundId: r.refundId, txnId: r.txnId, refundAmount: r.refundAmount };
  }

  function newOrder(orderId, b, t) {
    return {
      orderId, mid: b.mid, txnAmount: (b.txnAmount && b.txnAmount.value) || '', notify_url: b.callbackUrl || '', state: 'PENDING',
      txnToken: crypto.randomBytes(16).toString('hex') + t, txnId: `${new Date(t).toISOString().replace(/\D/g, '').slice(0, 14)}${crypto.randomInt(1e9)}`,
      bankTxnId: String(crypto.randomInt(1e9)), created_at: t, initiated: 0,
    };
  }

  return {
    parse(req) {
      const op = ROUTES[req.path] || null;
      const problems = [];
      const text = req.raw.toString('utf8');
      let json = null;
      let bodyText = null;
      try {
        json = JSON.parse(text);
        bodyText = rawMember(text, 'body');
      } catch (e) {
        problems.push(`not JSON: ${e.message}`);
      }
      const b = (json && json.body) || {};
      if (!/^application\/json/i.test(String(req.headers['content-type'] || ''))) problems.push('content-type is not application/json');
      if (op === 'pay' && (req.url.searchParams.get('mid') !== b.mid || req.url.searchParams.get('orderId') !== b.orderId)) {
        problems.push('mid / orderId of the query string differ from the body');
      }
      const key = op === 'refund' || op === 'refund_query' ? (b.refId || '') : (b.orderId || '');
      return { op, key, label: op ? undefined : `${req.method} ${req.path}`, fields: { params: b }, problems, b, bodyText, head: (json && json.head) || {} };
    },

    verify(req, p) {
      if (p.bodyText == null) return { ok: false, signString: '', reason: 'no body member' };
      const sig = p.head.signature;
      let ok = false;
      try {
        ok = typeof sig === 'string' && sig !== '' && PaytmChecksum.verifySignature(p.bodyText, key, sig);
      } catch (_) {
        ok = false;
      }
      return { ok, signString: p.bodyText };
    },

    check(req, p, v) {
      if (!p.op) return { reason: 'no-route', reply: { status: 404, body: '{"error":"Not Found"}' } };
      const fail = p.op === 'pay' ? ri('F', '2005', 'Checksum provided is invalid') : ri('TXN_FAILURE', '330', 'Paytm checksum mismatch.');
      if (!v.ok) return { reason: 'bad-checksum', badSign: true, reply: unsigned(fail) };
      const b = p.b;
      if (options.mid && b.mid !== options.mid) return { reason: 'bad-mid', reply: signed(p.op === 'pay' ? ri('F', '2013', 'Mid in the query param doesn\'t match with the Mid send in the request') : ri('TXN_FAILURE', '335', 'Mid is invalid')) };
      if (!b.mid || !b.orderId) return { reason: 'missing', reply: signed(p.op === 'pay' ? ri('F', '1001', 'Request parameters are not valid') : ri('TXN_FAILURE', '501', 'System Error')) };
      if (p.op === 'pay') {
        const a = b.txnAmount || {};
        if (!/^\d+\.\d{2}$/.test(a.value || '') || a.currency !== 'INR') return { reason: 'bad-amount', reply: signed(ri('F', '2007', 'Txn amount is invalid')) };
        if (b.requestType !== 'Payment' || !b.websiteName || !b.callbackUrl || !(b.userInfo && b.userInfo.custId)) return { reason: 'missing', reply: signed(ri('F', '1001', 'Request parameters are not valid')) };
      }
      if (p.op === 'refund' && (b.txnType !== 'REFUND' || !b.txnId || !b.refId || !/^\d+\.\d{2}$/.test(b.refundAmount || ''))) {
        return { reason: 'missing', reply: signed(ri('TXN_FAILURE', '501', 'System Error')) };
      }
      return null;
    },

    receive(req, p, beh) {
      if (beh.kind === 'fail' || beh.kind === 'not_found') return;
      const b = p.b;
      if (p.op === 'pay' && !orders.has(b.orderId)) orders.set(b.orderId, newOrder(b.orderId, b, req.t));
      if (p.op === 'refund' && !refunds.has(b.refId) && orders.has(b.orderId)) {
        refunds.set(b.refId, { orderId: b.orderId, mid: b.mid, refId: b.refId, txnId: b.txnId, refundAmount: b.refundAmount, refundId: `${Date.now()}${crypto.randomInt(1e6)}`, state: 'TXN_SUCCESS', created_at: req.t });
      }
    },

    answer(req, p, beh) {
      const b = p.b;
      const forged = beh.kind === 'badsign';
      const k = beh.kind;
      if (p.op === 'pay') {
        const o = orders.get(b.orderId);
        if (k === 'fail') return signed(ri('F', '2007', 'Txn amount is invalid'), forged);
        if (k === 'processing') return signed(ri('F', '501', 'System Error'), forged);
        if (k === 'unknown' || k === 'not_found' || !o) return signed(ri('F', '9999', 'Something new'), forged);
        o.initiated++;
        const code = o.initiated > 1 ? ['0002', 'Success Idempotent'] : ['0000', 'Success'];
        return signed({ ...ri('S', ...code), txnToken: o.txnToken, isPromoCodeValid: false, authenticated: false }, forged);
      }
      if (p.op === 'query') {
        const o = orders.get(b.orderId);
        if (k === 'not_found' || !o) return signed(ri('TXN_FAILURE', '334', 'Invalid Order Id.'), forged);
        if (k === 'fail') return signed(statusBody(o, ...STATE.TXN_FAILURE), forged);
        if (k === 'closed') return signed(statusBody(o, 'TXN_FAILURE', '810', 'Txn Failed'), forged);
        if (k === 'processing') return signed(statusBody(o, ...STATE.PENDING), forged);
        if (k === 'unknown') return signed(statusBody(o, 'TXN_FAILURE', '7777', 'Something new'), forged);
        return signed(statusBody(o, ...STATE[o.state]), forged);
      }
      const r = refunds.get(b.refId);
      const stub = r || { orderId: b.orderId, mid: b.mid, refId: b.refId, txnId: b.txnId || '', refundAmount: b.refundAmount || '', refundId: '', created_at: req.t };
      if (k === 'fail') return signed(refundBody(stub, 'TXN_FAILURE', p.op === 'refund' ? '619' : '620', 'Refund failed'), forged);
      if (k === 'unknown') return signed(refundBody(stub, 'TXN_FAILURE', '6999', 'Something new'), forged);
      if (k === 'not_found' || !r) return signed({ orderId: b.orderId, mid: b.mid, refId: b.refId, ...ri('TXN_FAILURE', '631', 'Record not found') }, forged);
      if (k === 'processing' || p.op === 'refund') return signed(refundBody(r, 'PENDING', '601', 'Refund request was raised for this transaction. But it is pending state.'), forged);
      return signed(refundBody(r, 'TXN_SUCCESS', '10', 'Refund Successfull'), forged);
    },

    headers() {
      return { 'content-type': 'application/json' };
    },

    newOrder(orderId, body) {
      return newOrder(orderId, { mid: options.mid || 'SIM_MID', txnAmount: { value: String(body.total_amount || '1.00') }, callbackUrl: body.notify_url }, Date.now());
    },

    pay(o) {
      if (o.state === 'TXN_FAILURE') return { status: 409, error: `order ${o.orderId} is TXN_FAILURE at the sim` };
      o.state = 'TXN_SUCCESS';
      return null;
    },

    // valid: TXN_SUCCESS 01 (order -> TXN_SUCCESS unless set_state:false); forged: CHECKSUMHASH
    // under a key Paytm never had; contrary: TXN_FAILURE 227 when paid, else TXN_SUCCESS.
    notification(o, kind, body) {
      let status = kind === 'contrary' ? (o.state === 'TXN_SUCCESS' ? 'TXN_FAILURE' : 'TXN_SUCCESS') : 'TXN_SUCCESS';
      if (body.status) status = body.status;
      if (!STATE[status]) throw new ControlError(400, `unknown status ${status}`);
      if (kind === 'valid' && body.set_state !== false) o.state = status;
      const [, code, msg] = STATE[status];
      const params = {
        BANKNAME: 'HDFC Bank', BANKTXNID: o.bankTxnId, CURRENCY: 'INR', GATEWAYNAME: 'HDFC', MID: o.mid, ORDERID: o.orderId,
        PAYMENTMODE: 'UPI', RESPCODE: code, RESPMSG: msg, STATUS: status, TXNAMOUNT: o.txnAmount, TXNDATE: istTime(o.created_at), TXNID: o.txnId,
      };
      for (const [k, v] of Object.entries(body.overrides || {})) {
        if (v === null) delete params[k];
        else params[k] = String(v);
      }
      const sorted = Object.fromEntries(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1)));
      params.CHECKSUMHASH = PaytmChecksum.calculateChecksum(PaytmChecksum.getStringByParams(sorted), kind === 'forged' ? forgedKey : key, salt());
      if (kind !== 'forged' && !PaytmChecksum.verifySignature({ ...params }, key, params.CHECKSUMHASH)) throw new Error('paytm: own callback does not verify');
      return {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(params).toString(),
        params,
        notify_id: `${o.txnId}-${Date.now()}`,
      };
    },

    view(o) {
      return o ? { ...o, refunds: [...refunds.values()].filter((r) => r.orderId === o.orderId) } : o;
    },

    reset() {
      refunds.clear();
    },
  };
}

module.exports = {
  name: 'paytm',
  sdks: ['paytmchecksum'],
  ops: { pay: 'paytm.initiateTransaction', query: 'paytm.orderStatus', refund: 'paytm.refundApply', refund_query: 'paytm.refundStatus' },
  routes: ['/theia/', '/v3/', '/refund/', '/v2/'],
  setup,
};
