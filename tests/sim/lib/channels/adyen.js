'use strict';
// Adyen Checkout API channel plugin (v71; /v72 accepted too): POST /adyen/v71/payments,
// /payments/details, /payments/{pspReference}/cancels, /cancels, /payments/{pspReference}/refunds,
// and HMAC-signed standard webhooks (JSON notificationItems).
// SDK (@adyen/api-library 32.1.0), exactly:
//   - hmacValidator#calculateHmac signs every webhook; hmacValidator#validateHMAC checks it
//     before it is sent (a mismatch throws -> /_sim/errors);
//   - Types.checkout.{PaymentRequest, PaymentDetailsRequest, PaymentCancelRequest,
//     StandalonePaymentCancelRequest, PaymentRefundRequest}.getAttributeTypeMap(): every field
//     of our request must be a field of the SDK's model (unknown field -> 422 like Adyen's
//     "Structure ... contains the following unknown fields"), and ObjectSerializer.deserialize
//     must accept the body.
// Auth (no SDK function: Adyen checks it server side): `X-API-Key` must equal the key in
// <keys>/adyen/api_key.txt (constant-time compare), else 401 errorCode 000 "Unauthorized".
// Adyen does not sign API answers: `badsign` answers the success content unchanged.
// Keys, generated when missing: <keys>/adyen/api_key.txt, <keys>/adyen/hmac_key.txt (64 hex).
// Options: merchant_account (default TestMerchant), notify_url (webhook target default).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { hmacValidator, Types } = require('@adyen/api-library');
const { ControlError } = require('../core/control_error');

const T = Types.checkout;
const MODELS = {
  pay: T.PaymentRequest, details: T.PaymentDetailsRequest, cancel: T.PaymentCancelRequest,
  cancel_standalone: T.StandalonePaymentCancelRequest, refund: T.PaymentRefundRequest,
};
const MODEL_NAMES = {
  pay: 'PaymentRequest', details: 'PaymentDetailsRequest', cancel: 'PaymentCancelRequest',
  cancel_standalone: 'StandalonePaymentCancelRequest', refund: 'PaymentRefundRequest',
};
const REQUIRED = {
  pay: ['amount', 'merchantAccount', 'paymentMethod', 'reference'],
  details: ['details'],
  cancel: ['merchantAccount'],
  cancel_standalone: ['merchantAccount', 'paymentReference'],
  refund: ['amount', 'merchantAccount'],
};
const RESULT_CODES = new Set(Object.values(T.PaymentResponse.ResultCodeEnum));
const hv = new hmacValidator();

function readOrMake(dir, file, make) {
  const f = path.join(dir, file);
  if (!fs.existsSync(f)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(f, make(), { mode: 0o600 });
  }
  return fs.readFileSync(f, 'utf8').trim();
}

const pspRef = () => crypto.randomBytes(8).toString('hex').toUpperCase().slice(0, 16);
const errBody = (status, errorCode, message, errorType) => ({
  status, headers: {}, body: JSON.stringify({ status, errorCode, message, errorType }),
});
const json = (status, obj) => ({ status, headers: {}, body: JSON.stringify(obj) });

function safeEqual(a, b) {
  const x = Buffer.from(String(a || ''));
  const y = Buffer.from(String(b || ''));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

// The request body against the SDK's model: unknown fields, required fields, deserialize.
function checkModel(kind, body) {
  const names = new Set(MODELS[kind].getAttributeTypeMap().map((a) => a.baseName));
  const unknown = Object.keys(body).filter((k) => !names.has(k));
  if (unknown.length) return `Structure ${MODEL_NAMES[kind]} contains the following unknown fields: ${unknown.join(', ')}`;
  const missing = REQUIRED[kind].filter((k) => body[k] === undefined);
  if (missing.length) return `Required field(s) missing: ${missing.join(', ')}`;
  try {
    T.ObjectSerializer.deserialize(body, MODEL_NAMES[kind]);
  } catch (e) {
    return `SDK model refused the body: ${e.message}`;
  }
  if (body.amount !== undefined && (!Number.isInteger(body.amount.value) || !/^[A-Z]{3}$/.test(body.amount.currency || ''))) {
    return 'amount must be {currency: ISO 4217, value: integer minor units}';
  }
  return null;
}

function route(req, body) {
  const m = /^\/v7[12](\/.*)$/.exec(req.path);
  const p = m ? m[1] : '';
  if (req.method !== 'POST') return { op: null };
  if (p === '/payments') return { op: 'pay', model: 'pay', key: body.reference };
  if (p === '/payments/details') return { op: 'details', model: 'details' };
  if (p === '/cancels') return { op: 'cancel', model: 'cancel_standalone', key: body.paymentReference };
  let mm = /^\/payments\/([A-Za-z0-9]+)\/cancels$/.exec(p);
  if (mm) return { op: 'cancel', model: 'cancel', psp: mm[1] };
  mm = /^\/payments\/([A-Za-z0-9]+)\/refunds$/.exec(p);
  if (mm) return { op: 'refund', model: 'refund', psp: mm[1] };
  return { op: null };
}

function setup({ keysDir, options, orders }) {
  const apiKey = readOrMake(keysDir, 'api_key.txt', () => `AQE_sim_${crypto.randomBytes(16).toString('hex')}`);
  const hmacKey = readOrMake(keysDir, 'hmac_key.txt', () => crypto.randomBytes(32).toString('hex').toUpperCase());
  const forgedKey = crypto.randomBytes(32).toString('hex');
  const merchant = options.merchant_account || 'TestMerchant';
  const idem = new Map();        // Idempotency-Key -> first reply (Adyen answers a repeat the same)
  const details = new Map();     // redirectResult -> order key

  const byPsp = (psp) => [...orders.values()].find((o) => o.pspReference === psp);

  function newOrder(key, fields) {
    return {
      reference: key, pspReference: pspRef(), state: 'Received', amount: fields.amount,
      paymentMethodType: fields.paymentMethodType || 'scheme', modifications: [],
      notify_url: fields.notify_url || options.notify_url || '',
    };
  }

  function payAnswer(o, rc, extra = {}) {
    const out = { additionalData: {}, pspReference: o.pspReference, resultCode: rc, merchantReference: o.reference, ...extra };
    if (rc === 'Authorised') out.amount = o.amount;
    if (rc === 'RedirectShopper') {
      const rr = `rr${crypto.randomBytes(6).toString('hex')}`;
      details.set(rr, o.reference);
      out.action = { paymentMethodType: o.paymentMethodType, type: 'redirect', method: 'GET',
        url: `https://checkoutshopper-test.adyen.com/checkoutshopper/checkoutPaymentRedirect?redirectData=${rr}` };
    }
    if (rc === 'Refused') Object.assign(out, { refusalReason: 'Refused', refusalReasonCode: '2' });
    return json(200, out);
  }

  function answerPay(p, beh) {
    const o = orders.get(p.key);
    if (beh.kind === 'fail') return payAnswer(o || newOrder(p.key, {}), 'Refused');
    if (beh.kind === 'not_found') return errBody(422, '14_0', 'Invalid merchant reference', 'validation');
    if (beh.kind === 'unknown') return payAnswer(o, 'SomethingNew');
    if (beh.kind === 'processing') return payAnswer(o, 'Received');
    if (beh.kind === 'closed') return payAnswer(o, 'Cancelled');
    if (beh.kind === 'result') return payAnswer(o, beh.resultCode);
    if (beh.kind === 'error') return errBody(beh.status, beh.errorCode, 'Simulated error', 'validation');
    if (o.paymentMethodType !== 'scheme' && o.state === 'Received') return payAnswer(o, 'RedirectShopper');
    if (o.state === 'Received') o.state = 'Authorised';
    return payAnswer(o, o.state === 'Authorised' ? 'Authorised' : o.state);
  }

  function answerModification(p, beh, status) {
    if (beh.kind === 'error') return errBody(beh.status, beh.errorCode, 'Simulated error', 'validation');
    if (beh.kind === 'not_found' || beh.kind === 'fail' || !p.order) {
      return errBody(422, '167', 'Original pspReference required for this operation', 'validation');
    }
    if (beh.kind === 'unknown') status = 'weird';
    const out = { merchantAccount: merchant, paymentPspReference: p.order.pspReference, pspReference: p.modPsp,
      reference: p.body.reference, status };
    if (p.body.amount) out.amount = p.body.amount;
    return json(201, out);
  }

  function item(o, eventCode, success, overrides) {
    const mod = eventCode !== 'AUTHORISATION' && eventCode !== 'OFFER_CLOSED';
    const m = mod ? (o.modifications.filter((x) => x.event === eventCode).pop() || {}) : {};
    const it = {
      amount: m.amount || o.amount, eventCode, eventDate: new Date().toISOString().replace(/\.\d+Z$/, '+00:00'),
      merchantAccountCode: merchant, merchantReference: mod ? (m.reference || o.reference) : o.reference,
      originalReference: mod ? o.pspReference : '', pspReference: mod ? (m.psp || pspRef()) : o.pspReference,
      paymentMethod: o.paymentMethodType === 'scheme' ? 'visa' : o.paymentMethodType, reason: success ? '' : 'Refused',
      success: success ? 'true' : 'false', additionalData: {},
    };
    for (const [k, v] of Object.entries(overrides || {})) {
      if (v === null) delete it[k]; else it[k] = v;
    }
    return it;
  }

  return {
    parse(req) {
      let body = {};
      const problems = [];
      try {
        body = req.raw.length ? JSON.parse(req.raw.toString('utf8')) : {};
      } catch (e) {
        problems.push(`body is not JSON: ${e.message}`);
        return { op: 'pay', key: '', body: {}, problems, unparsable: true };
      }
      const r = route(req, body);
      if (!r.op) return { op: null, key: '', label: `${req.method} ${req.path}`, body, problems };
      if (!req.headers['idempotency-key']) problems.push('no Idempotency-Key header');
      if (!/^application\/json/i.test(String(req.headers['content-type'] || ''))) problems.push('content-type is not application/json');
      if (r.op === 'details') r.key = details.get(body.details && body.details.redirectResult) || '';
      let order = r.key ? orders.get(r.key) : null;
      if (r.psp) {
        order = byPsp(r.psp) || null;
        r.key = order ? order.reference : '';
      }
      // modifications are keyed by their own reference's second half (<out_trade_no>/<x>)
      const ref = typeof body.reference === 'string' ? body.reference : '';
      if (r.op === 'refund' && ref.includes('/')) r.key = ref.slice(ref.indexOf('/') + 1);
      return { ...r, body, order, problems, modPsp: pspRef() };
    },
    verify(req) {
      return { ok: safeEqual(req.headers['x-api-key'], apiKey), signString: 'X-API-Key header' };
    },
    check(req, p, v) {
      if (!p.op) return { reason: 'no-route', reply: errBody(404, '000', 'Not Found', 'internal') };
      if (!v.ok) return { reason: 'bad-api-key', badSign: true, reply: errBody(401, '000', 'HTTP Status Response - Unauthorized', 'security') };
      if (p.unparsable) return { reason: 'not-json', reply: errBody(400, '702', 'Unable to parse the request', 'validation') };
      const bad = checkModel(p.model, p.body);
      if (bad) return { reason: 'model', reply: errBody(422, '702', bad, 'validation') };
      if (p.body.merchantAccount !== undefined && p.body.merchantAccount !== merchant) {
        return { reason: 'merchant', reply: errBody(403, '010', 'Not allowed', 'security') };
      }
      if (p.op === 'details' && !p.key) return { reason: 'details', reply: errBody(422, '14_006', 'Invalid payload provided', 'validation') };
      return null;
    },
    receive(req, p, beh) {
      if (p.op === 'pay' && beh.kind !== 'not_found' && !orders.has(p.key)) {
        orders.set(p.key, newOrder(p.key, {
          amount: p.body.amount, paymentMethodType: (p.body.paymentMethod && p.body.paymentMethod.type) || 'scheme',
        }));
      }
      if (p.op === 'cancel' && !p.order && p.key) p.order = orders.get(p.key) || null;
      if ((p.op === 'cancel' || p.op === 'refund') && p.order && !['fail', 'not_found', 'error'].includes(beh.kind)) {
        p.order.modifications.push({ event: p.op === 'cancel' ? 'CANCELLATION' : 'REFUND', psp: p.modPsp,
          reference: p.body.reference, amount: p.body.amount || p.order.amount });
      }
    },
    answer(req, p, beh) {
      const kind = beh.kind === 'badsign' ? { kind: 'success' } : beh;   // Adyen signs no answer
      const key = req.headers['idempotency-key'];
      const memo = key && idem.get(`${p.op}:${key}`);
      if (memo && kind.kind === 'success') return memo;
      let reply;
      if (p.op === 'pay') reply = answerPay(p, kind);
      else if (p.op === 'details') {
        const o = orders.get(p.key);
        if (kind.kind === 'success' && o.state === 'Received') o.state = 'Authorised';
        reply = kind.kind === 'success' ? payAnswer(o, o.state) : answerPay({ key: p.key }, kind);
      } else reply = answerModification(p, kind, 'received');
      if (key && kind.kind === 'success') idem.set(`${p.op}:${key}`, reply);
      return reply;
    },
    headers: () => ({ 'content-type': 'application/json;charset=UTF-8', pspreference: pspRef() }),
    newOrder: (key, body) => newOrder(key, {
      amount: { currency: body.currency || 'EUR', value: Number(body.amount || body.total_amount || 1000) },
      notify_url: body.notify_url,
    }),
    pay(o) {
      if (o.state === 'Refused' || o.state === 'Cancelled') return { status: 409, error: `payment ${o.reference} is ${o.state}` };
      o.state = 'Authorised';
      return null;
    },
    // body.event (default AUTHORISATION), body.success (default: the order's state says)
    notification(o, kind, body) {
      const event = body.event || 'AUTHORISATION';
      let success = body.success !== undefined ? Boolean(body.success)
        : event === 'AUTHORISATION' ? o.state !== 'Refused' : true;
      if (kind === 'contrary') success = !success;
      if (kind === 'valid' && body.set_state !== false && event === 'AUTHORISATION') o.state = success ? 'Authorised' : 'Refused';
      const it = item(o, event, success, body.overrides);
      if (!it.merchantReference && it.merchantReference !== '') throw new ControlError(400, 'no merchantReference');
      it.additionalData.hmacSignature = hv.calculateHmac(it, kind === 'forged' ? forgedKey : hmacKey);
      if (kind !== 'forged' && !hv.validateHMAC(it, hmacKey)) throw new Error('adyen: SDK validateHMAC refused our own webhook');
      const text = JSON.stringify({ live: 'false', notificationItems: [{ NotificationRequestItem: it }] });
      return { headers: { 'content-type': 'application/json' }, body: text, params: it, notify_id: `${it.pspReference}:${event}:${it.success}` };
    },
    view: (o) => ({ ...o }),
    reset() { idem.clear(); details.clear(); },
  };
}

module.exports = {
  name: 'adyen',
  sdks: ['@adyen/api-library'],
  ops: { pay: 'adyen.payments', details: 'adyen.payments.details', cancel: 'adyen.cancels', refund: 'adyen.refunds' },
  behaviours: {
    // result:<resultCode> — /payments answers that resultCode (Pending, RedirectShopper, Error, ...)
    result: (arg) => {
      if (!RESULT_CODES.has(arg)) throw new Error(`unknown resultCode in result:${arg}`);
      return { resultCode: arg };
    },
    // error:<http status>:<errorCode> — Adyen's error shape, e.g. error:401:000, error:422:101
    error: (arg) => {
      const m = /^([45]\d\d):([0-9A-Za-z_]+)$/.exec(arg || '');
      if (!m) throw new Error('error:<4xx|5xx>:<errorCode> expected');
      return { status: Number(m[1]), errorCode: m[2] };
    },
  },
  routes: ['/v71/', '/v72/'],
  setup,
};
