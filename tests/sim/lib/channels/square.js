'use strict';
// Square channel plugin: Payments + Refunds API and payment webhooks, mounted at /square/v2/...
//   POST /v2/payments                 pay           CreatePayment (key: reference_id)
//   GET  /v2/payments/<id>            query         GetPayment
//   GET  /v2/payments?begin_time=…    query         ListPayments (key '' — no filter on reference)
//   POST /v2/payments/<id>/cancel     cancel        CancelPayment
//   POST /v2/payments/cancel          cancel        CancelPaymentByIdempotencyKey
//   POST /v2/refunds                  refund        RefundPayment   (key: the refund's idempotency_key)
//   GET  /v2/refunds/<id>             refund_query  GetPaymentRefund (key: the same idempotency_key)
// Checks: `Authorization: Bearer <access token>` (401 AUTHENTICATION_ERROR otherwise, counted
// bad_sign), Square-Version present, JSON bodies parsed with the square SDK's own request
// serializers with unknown keys refused — SDK functions used: serialization.payments.
// CreatePaymentRequest / CancelPaymentByIdempotencyKeyRequest .parse and serialization.refunds.
// RefundPaymentRequest.parse ({unrecognizedObjectKeys:'fail'}); every answer is checked with
// the SDK's response serializers (CreatePaymentResponse, GetPaymentResponse, …) before it
// is sent. Idempotency: a replayed idempotency_key answers the first payment / refund.
// Webhooks: x-square-hmacsha256-signature = base64 HMAC-SHA256(signature key, notification
// URL + body) with node:crypto (the SDK's WebhooksHelper.verifySignature is async, so the
// self-test, tests/sim/square.test.js, checks every kind with it). Square signs no API answer:
// `badsign` answers a payment of ANOTHER reference_id, which a careful client must refuse.
// Keys (<keys>/square/, generated when missing): access_token.txt, signature_key.txt.
// Options: autocomplete=false makes a successful CreatePayment APPROVED instead of COMPLETED;
// notification_url = default target of /_sim/notify.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { ControlError } = require('../core/control_error');

const ser = require(path.join(__dirname, '..', '..', 'node_modules', 'square', 'serialization', 'index.js'));

const OPS = { pay: 'CreatePayment', query: 'GetPayment', cancel: 'CancelPayment', refund: 'RefundPayment', refund_query: 'GetPaymentRefund' };
const STATUSES = new Set(['APPROVED', 'PENDING', 'COMPLETED', 'CANCELED', 'FAILED']);

function secretFile(dir, name, make) {
  const f = path.join(dir, name);
  if (!fs.existsSync(f)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(f, `${make()}\n`, { mode: 0o600 });
  }
  return fs.readFileSync(f, 'utf8').trim();
}

const sqId = () => crypto.randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 29);
const errors = (status, category, code, extra = {}) => ({ status, body: JSON.stringify({ errors: [{ category, code, detail: `${category} ${code}` }], ...extra }) });
const now = () => new Date().toISOString();

function checked(schema, obj, status = 200) {
  const r = schema.parse(obj, { unrecognizedObjectKeys: 'passthrough', skipValidation: false });
  if (!r.ok) throw new Error(`square sim answer fails the SDK serializer: ${JSON.stringify(r.errors)}`);
  return { status, body: JSON.stringify(obj) };
}

function setup({ keysDir, orders, options }) {
  const token = secretFile(keysDir, 'access_token.txt', () => `EAAAsim${crypto.randomBytes(24).toString('hex')}`);
  const sigKey = secretFile(keysDir, 'signature_key.txt', () => crypto.randomBytes(16).toString('base64url'));
  const autocomplete = options.autocomplete !== 'false';
  const byId = new Map();        // payment id -> reference_id
  const byPayKey = new Map();    // create idempotency_key -> reference_id
  const refunds = new Map();     // refund idempotency_key -> refund
  const refundIds = new Map();   // refund id -> idempotency_key

  const view = (o) => ({ ...o.payment, updated_at: now() });
  const stranger = (p) => ({ ...p, reference_id: 'SOMEONE_ELSE' });

  function route(req) {
    const m = /^\/v2\/payments\/([A-Za-z0-9_-]+)(\/cancel)?$/.exec(req.path);
    const r = /^\/v2\/refunds(?:\/([A-Za-z0-9_-]+))?$/.exec(req.path);
    if (req.path === '/v2/payments' && req.method === 'POST') return { op: 'pay', schema: ser.payments.CreatePaymentRequest };
    if (req.path === '/v2/payments' && req.method === 'GET') return { op: 'query', list: true };
    if (req.path === '/v2/payments/cancel' && req.method === 'POST') return { op: 'cancel', byKey: true, schema: ser.payments.CancelPaymentByIdempotencyKeyRequest };
    if (m && m[2] && req.method === 'POST') return { op: 'cancel', id: m[1] };
    if (m && !m[2] && req.method === 'GET') return { op: 'query', id: m[1] };
    if (r && !r[1] && req.method === 'POST') return { op: 'refund', schema: ser.refunds.RefundPaymentRequest };
    if (r && r[1] && req.method === 'GET') return { op: 'refund_query', id: r[1] };
    return { op: null };
  }

  function keyOf(p, body) {
    if (p.op === 'pay') return String(body.reference_id || '');
    if (p.byKey) return byPayKey.get(body.idempotency_key) || '';
    if (p.op === 'query' || p.op === 'cancel') return byId.get(p.id) || '';
    if (p.op === 'refund') return String(body.idempotency_key || '');
    if (p.op === 'refund_query') return refundIds.get(p.id) || '';
    return '';
  }

  function newPayment(ref, body) {
    const id = sqId();
    byId.set(id, ref);
    byPayKey.set(body.idempotency_key, ref);
    return {
      out_trade_no: ref, notify_url: options.notification_url || '', idempotency_key: body.idempotency_key,
      body: JSON.stringify(body),
      payment: {
        id, created_at: now(), amount_money: body.amount_money, total_money: body.amount_money,
        status: 'PENDING', source_type: 'CARD', location_id: body.location_id, reference_id: ref,
        note: body.note, card_details: { status: 'AUTHORIZED', card: { card_brand: 'VISA', last_4: '1111' } },
        version_token: crypto.randomBytes(8).toString('hex'),
      },
    };
  }

  function payAnswer(p, beh) {
    const o = orders.get(p.key);
    if (beh.kind === 'rejected') return errors(400, 'INVALID_REQUEST_ERROR', 'MISSING_REQUIRED_PARAMETER');
    if (beh.kind === 'not_found' || !o) return errors(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND');
    const pay = view(o);
    switch (beh.kind) {
      case 'fail': return checked(ser.CreatePaymentResponse, { errors: [{ category: 'PAYMENT_METHOD_ERROR', code: 'GENERIC_DECLINE', detail: 'Authorization error' }], payment: pay }, 400);
      case 'unknown': return errors(400, 'INVALID_REQUEST_ERROR', 'SOMETHING_NEW_AND_UNLISTED');
      case 'badsign': return checked(ser.CreatePaymentResponse, { payment: stranger(pay) });
      default: return checked(ser.CreatePaymentResponse, { payment: pay });
    }
  }

  function queryAnswer(p, beh) {
    if (p.list) {
      let list = [...orders.values()].map(view);
      if (beh.kind === 'not_found') list = [];
      if (beh.kind === 'badsign') list = list.map(stranger);
      return checked(ser.ListPaymentsResponse, { payments: list });
    }
    const o = orders.get(p.key);
    if (beh.kind === 'not_found' || !o) return errors(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND');
    let pay = view(o);
    const st = { fail: 'FAILED', closed: 'CANCELED', processing: 'PENDING', unknown: 'SOMETHING_NEW', status: beh.status }[beh.kind];
    if (st) pay = { ...pay, status: st };
    if (beh.kind === 'badsign') pay = stranger(pay);
    return checked(ser.GetPaymentResponse, { payment: pay });
  }

  function cancelAnswer(p, beh) {
    const o = orders.get(p.key);
    if (p.byKey && beh.kind !== 'fail' && beh.kind !== 'unknown') return checked(ser.CancelPaymentByIdempotencyKeyResponse, {});
    if (beh.kind === 'not_found' || !o) return errors(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND');
    if (beh.kind === 'fail' || o.payment.status === 'COMPLETED') return errors(400, 'INVALID_REQUEST_ERROR', 'BAD_REQUEST');
    if (beh.kind === 'unknown') return errors(400, 'INVALID_REQUEST_ERROR', 'SOMETHING_NEW_AND_UNLISTED');
    const pay = beh.kind === 'badsign' ? stranger(view(o)) : view(o);
    return checked(ser.CancelPaymentResponse, { payment: pay });
  }

  function refundAnswer(p, beh) {
    const rf = refunds.get(p.key);
    if (beh.kind === 'not_found' || !rf) return errors(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND');
    const st = { fail: 'REJECTED', closed: 'FAILED', processing: 'PENDING', unknown: 'SOMETHING_NEW' }[beh.kind];
    let out = st ? { ...rf, status: st } : rf;
    if (beh.kind === 'badsign') out = { ...out, payment_id: 'SOMEONE_ELSES_PAYMENT' };
    return checked(p.op === 'refund' ? ser.RefundPaymentResponse : ser.GetPaymentRefundResponse, { refund: out });
  }

  function sign(url, body, key = sigKey) {
    return crypto.createHmac('sha256', key).update(url + body).digest('base64');
  }

  return {
    parse(req) {
      const r = route(req);
      const problems = [];
      let body = {};
      if (req.raw.length) {
        try {
          body = JSON.parse(req.raw.toString('utf8'));
        } catch (e) {
          problems.push(`body is not JSON: ${e.message}`);
        }
      }
      const key = keyOf(r, body);
      return { ...r, key, body, problems, label: r.op ? (r.byKey ? 'CancelPaymentByIdempotencyKey' : r.list ? 'ListPayments' : OPS[r.op]) : `${req.method} ${req.path}`, fields: { json: body } };
    },

    verify(req, p) {
      const auth = String(req.headers.authorization || '');
      const want = `Bearer ${token}`;
      const authOk = auth.length === want.length && crypto.timingSafeEqual(Buffer.from(auth), Buffer.from(want));
      if (!authOk) return { ok: false, reason: 'bad access token', signString: '' };
      if (!p.schema) return { ok: true, signString: '' };
      const r = p.schema.parse(p.body, { unrecognizedObjectKeys: 'fail' });
      return { ok: r.ok, reason: r.ok ? '' : JSON.stringify(r.errors), signString: r.ok ? 'sdk serializer ok' : JSON.stringify(r.errors) };
    },

    check(req, p, v) {
      if (v.reason === 'bad access token') {
        return { reason: 'unauthorized', badSign: true, reply: errors(401, 'AUTHENTICATION_ERROR', 'UNAUTHORIZED') };
      }
      if (!p.op) return { reason: 'no-route', reply: errors(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND') };
      if (!req.headers['square-version']) p.problems.push('no Square-Version header');
      if (req.method === 'POST' && req.raw.length && !/^application\/json/.test(String(req.headers['content-type'] || ''))) {
        return { reason: 'content-type', reply: errors(400, 'INVALID_REQUEST_ERROR', 'INVALID_CONTENT_TYPE') };
      }
      if (!v.ok) return { reason: 'serializer', reply: errors(400, 'INVALID_REQUEST_ERROR', 'INVALID_VALUE') };
      if (p.op === 'pay') {
        const m = p.body.amount_money || {};
        if (!p.key || p.key.length > 40 || !Number.isInteger(m.amount) || m.amount < 1 || !/^[A-Z]{3}$/.test(m.currency || '') || !p.body.location_id) {
          return { reason: 'parameter', reply: errors(400, 'INVALID_REQUEST_ERROR', 'MISSING_REQUIRED_PARAMETER') };
        }
        const o = orders.get(p.key);
        if (o && o.idempotency_key === p.body.idempotency_key && o.body !== JSON.stringify(p.body)) {
          return { reason: 'idempotency', reply: errors(400, 'INVALID_REQUEST_ERROR', 'IDEMPOTENCY_KEY_REUSED') };
        }
        if (o && o.idempotency_key === p.body.idempotency_key) p.replay = true;
      }
      if (p.op === 'refund' && !byId.has(p.body.payment_id)) {
        return { reason: 'refund-target', reply: errors(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND') };
      }
      return null;
    },

    receive(req, p, beh) {
      if (p.op === 'pay' && !p.replay && !orders.has(p.key) && beh.kind !== 'not_found' && beh.kind !== 'rejected') {
        const o = newPayment(p.key, p.body);
        orders.set(p.key, o);
        const st = { fail: 'FAILED', closed: 'CANCELED', processing: 'PENDING', unknown: 'PENDING' }[beh.kind];
        o.payment.status = st || (p.body.autocomplete === false || !autocomplete ? 'APPROVED' : 'COMPLETED');
        if (o.payment.status === 'FAILED') o.payment.card_details.status = 'FAILED';
        if (o.payment.status === 'COMPLETED') o.payment.card_details.status = 'CAPTURED';
      }
      const o = orders.get(p.key);
      if (p.op === 'cancel' && o && beh.kind !== 'fail' && beh.kind !== 'not_found' && beh.kind !== 'unknown'
          && (o.payment.status === 'APPROVED' || o.payment.status === 'PENDING')) {
        o.payment.status = 'CANCELED';
        o.payment.card_details.status = 'VOIDED';
      }
      if (p.op === 'refund' && !refunds.has(p.key) && beh.kind !== 'not_found') {
        const id = `${p.body.payment_id}_${sqId()}`;
        refunds.set(p.key, {
          id, status: beh.kind === 'fail' ? 'REJECTED' : beh.kind === 'processing' ? 'PENDING' : 'COMPLETED',
          payment_id: p.body.payment_id, amount_money: p.body.amount_money, reason: p.body.reason,
          location_id: 'L88917AVBK2S5', created_at: now(),
        });
        refundIds.set(id, p.key);
      }
    },

    answer(req, p, beh) {
      if (p.op === 'pay') return payAnswer(p, beh);
      if (p.op === 'query') return queryAnswer(p, beh);
      if (p.op === 'cancel') return cancelAnswer(p, beh);
      return refundAnswer(p, beh);
    },

    headers() {
      return { 'content-type': 'application/json', 'square-version': '2026-09-16', 'x-request-id': crypto.randomUUID() };
    },

    newOrder(key, body) {
      return newPayment(key, {
        idempotency_key: crypto.randomUUID(), amount_money: { amount: Number(body.amount || 100), currency: body.currency || 'USD' },
        location_id: 'L88917AVBK2S5', source_id: 'cnon:card-nonce-ok', reference_id: key,
      });
    },

    pay(o) {
      if (o.payment.status === 'CANCELED' || o.payment.status === 'FAILED') {
        return { status: 409, error: `payment ${o.payment.id} is ${o.payment.status} at the sim` };
      }
      o.payment.status = 'COMPLETED';
      o.payment.card_details.status = 'CAPTURED';
      return null;
    },

    // valid: payment.updated with body.status (default COMPLETED), state moves; forged: a key
    // Square never had; contrary: the opposite outcome, genuinely signed, state untouched.
    notification(o, kind, body) {
      const url = body.notify_url || o.notify_url || options.notification_url;
      if (!url) throw new ControlError(409, 'square signs the notification URL: pass notify_url');
      if (body.status !== undefined && !STATUSES.has(body.status)) throw new ControlError(400, `unknown status ${body.status}`);
      const done = o.payment.status === 'COMPLETED';
      const status = body.status || (kind === 'contrary' ? (done ? 'FAILED' : 'COMPLETED') : 'COMPLETED');
      if (kind === 'valid' && body.set_state !== false) o.payment.status = status;
      const pay = { ...view(o), status };
      for (const [k, v] of Object.entries(body.overrides || {})) if (v === null) delete pay[k]; else pay[k] = v;
      const evt = {
        merchant_id: 'MLSIMMERCHANT', type: 'payment.updated', event_id: crypto.randomUUID(), created_at: now(),
        data: { type: 'payment', id: pay.id, object: { payment: pay } },
      };
      const text = JSON.stringify(evt);
      const sig = sign(url, text, kind === 'forged' ? crypto.randomBytes(16).toString('base64url') : sigKey);
      return {
        headers: { 'content-type': 'application/json', 'x-square-hmacsha256-signature': sig, 'square-version': '2026-09-16', 'user-agent': 'Square Connect v2' },
        body: text, params: evt, notify_id: evt.event_id,
      };
    },

    view(o) {
      return o && { out_trade_no: o.out_trade_no, notify_url: o.notify_url, payment: o.payment };
    },

    reset() {
      byId.clear();
      byPayKey.clear();
      refunds.clear();
      refundIds.clear();
    },
  };
}

module.exports = {
  name: 'square',
  sdks: ['square'],
  ops: OPS,
  behaviours: {
    rejected: () => ({}),
    status: (arg) => {
      if (!STATUSES.has(arg)) throw new Error(`status:<${[...STATUSES].join('|')}>`);
      return { status: arg };
    },
  },
  routes: ['/v2/'],
  setup,
};
