'use strict';
// Razorpay API v1 channel plugin: POST /razorpay/v1/orders, GET /v1/orders?receipt=,
// GET /v1/orders/{id}/payments, GET /v1/payments/{id}, POST /v1/payments/{id}/capture,
// POST /v1/payments/{id}/refund, GET /v1/refunds/{id}, GET /v1/payments/{id}/refunds;
// webhooks (X-Razorpay-Signature) and the Checkout callback (form POST to callback_url).
// SDK (razorpay 2.9.8), exactly:
//   - Razorpay.validateWebhookSignature(body, signature, secret) checks every webhook the sim
//     signs before it is sent (a mismatch throws -> /_sim/errors);
//   - validatePaymentVerification({order_id, payment_id}, signature, key_secret) from
//     razorpay/dist/utils/razorpay-utils checks every Checkout callback signature it makes.
// Auth (no SDK function: Razorpay checks it server side): HTTP Basic key_id:key_secret must
// match <keys>/razorpay/key_id.txt + key_secret.txt, else 401 BAD_REQUEST_ERROR
// "Authentication failed". Razorpay signs no API answer: `badsign` answers success unchanged.
// Keys, generated when missing: <keys>/razorpay/key_id.txt, key_secret.txt, webhook_secret.txt.
// Options: notify_url (webhook target default), account_id (default acc_SimAccount00001).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const Razorpay = require('razorpay');
const { validatePaymentVerification } = require('razorpay/dist/utils/razorpay-utils');
const { ControlError } = require('../core/control_error');

const STATUSES = new Set(['created', 'authorized', 'captured', 'refunded', 'failed']);
const hmac = (secret, text) => crypto.createHmac('sha256', secret).update(text).digest('hex');
const id = (prefix) => `${prefix}_${crypto.randomBytes(7).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 14)}`;
const now = () => Math.floor(Date.now() / 1000);

function readOrMake(dir, file, make) {
  const f = path.join(dir, file);
  if (!fs.existsSync(f)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(f, make(), { mode: 0o600 });
  }
  return fs.readFileSync(f, 'utf8').trim();
}

const json = (status, obj) => ({ status, headers: {}, body: JSON.stringify(obj) });
const error = (status, description, code = 'BAD_REQUEST_ERROR') => json(status, {
  error: { code, description, source: 'business', step: 'payment_initiation', reason: 'input_validation_failed', metadata: {} },
});
const NOT_EXIST = () => error(400, 'The id provided does not exist');
const collection = (items) => ({ entity: 'collection', count: items.length, items });

function safeEqual(a, b) {
  const x = Buffer.from(String(a || ''));
  const y = Buffer.from(String(b || ''));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function route(req) {
  const m = /^\/v1(\/.*)$/.exec(req.path);
  const p = m ? m[1] : '';
  const M = req.method;
  if (M === 'POST' && p === '/orders') return { op: 'pay' };
  if (M === 'GET' && p === '/orders') return { op: 'query', by: 'receipt' };
  let mm = /^\/orders\/(order_\w+)\/payments$/.exec(p);
  if (M === 'GET' && mm) return { op: 'query', by: 'order', rid: mm[1] };
  mm = /^\/payments\/(pay_\w+)$/.exec(p);
  if (M === 'GET' && mm) return { op: 'query', by: 'payment', rid: mm[1] };
  mm = /^\/payments\/(pay_\w+)\/capture$/.exec(p);
  if (M === 'POST' && mm) return { op: 'capture', rid: mm[1] };
  mm = /^\/payments\/(pay_\w+)\/refund$/.exec(p);
  if (M === 'POST' && mm) return { op: 'refund', rid: mm[1] };
  mm = /^\/payments\/(pay_\w+)\/refunds$/.exec(p);
  if (M === 'GET' && mm) return { op: 'refund_query', by: 'payment', rid: mm[1] };
  mm = /^\/refunds\/(rfnd_\w+)$/.exec(p);
  if (M === 'GET' && mm) return { op: 'refund_query', by: 'refund', rid: mm[1] };
  return { op: null };
}

function setup({ keysDir, options, orders }) {
  const keyId = readOrMake(keysDir, 'key_id.txt', () => `rzp_test_${crypto.randomBytes(7).toString('hex')}`);
  const keySecret = readOrMake(keysDir, 'key_secret.txt', () => crypto.randomBytes(18).toString('base64url'));
  const webhookSecret = readOrMake(keysDir, 'webhook_secret.txt', () => crypto.randomBytes(18).toString('hex'));
  const forged = crypto.randomBytes(18).toString('hex');
  const account = options.account_id || 'acc_SimAccount00001';

  const all = () => [...orders.values()];
  const byOrderId = (oid) => all().find((o) => o.id === oid);
  const byPayment = (pid) => all().find((o) => o.payments.some((p) => p.id === pid));
  const byRefund = (rid) => all().find((o) => o.refunds.some((r) => r.id === rid));
  const byReceipt = (r) => all().filter((o) => o.receipt === r);

  function orderEntity(o) {
    const paid = o.payments.filter((p) => p.status === 'captured' || p.status === 'refunded').reduce((a, p) => a + p.amount, 0);
    return { id: o.id, entity: 'order', amount: o.amount, amount_paid: paid, amount_due: o.amount - paid, currency: o.currency,
      receipt: o.receipt, offer_id: null, status: o.status, attempts: o.payments.length, notes: o.notes, created_at: o.created_at };
  }

  function addPayment(o, status) {
    const p = { id: id('pay'), entity: 'payment', amount: o.amount, currency: o.currency, status, order_id: o.id,
      method: 'upi', captured: status === 'captured', notes: { out_trade_no: o.notes.out_trade_no || o.key },
      error_code: status === 'failed' ? 'BAD_REQUEST_ERROR' : null, error_reason: status === 'failed' ? 'payment_failed' : null,
      created_at: now() };
    o.payments.push(p);
    o.status = status === 'captured' ? 'paid' : 'attempted';
    return p;
  }

  function newOrder(key, body) {
    return { key, id: id('order'), amount: Number(body.amount), currency: body.currency || 'INR', receipt: body.receipt || key,
      notes: body.notes || { out_trade_no: key }, status: 'created', payments: [], refunds: [], created_at: now(),
      notify_url: body.notify_url || options.notify_url || '' };
  }

  function answerQuery(p, beh) {
    if (beh.kind === 'not_found') return p.by === 'receipt' ? json(200, collection([])) : NOT_EXIST();
    if (p.by === 'receipt') {
      const list = byReceipt(p.receipt);
      return json(200, collection(list.map(orderEntity)));
    }
    const o = p.order;
    if (!o) return NOT_EXIST();
    if (beh.kind === 'fail' || beh.kind === 'closed') {
      if (!o.payments.some((x) => x.status === 'failed')) addPayment(o, 'failed');
      const failed = o.payments.filter((x) => x.status === 'failed');
      return p.by === 'payment' ? json(200, failed[0]) : json(200, collection(failed));
    }
    let items = o.payments;
    if (beh.kind === 'processing') items = [{ ...(items[0] || addPayment(o, 'authorized')), status: 'authorized', captured: false }];
    if (beh.kind === 'unknown') items = [{ ...(items[0] || addPayment(o, 'created')), status: 'novel' }];
    if (beh.kind === 'payment_status') items = [{ ...(items[0] || addPayment(o, beh.status)), status: beh.status }];
    if (p.by === 'payment') return json(200, items.find((x) => x.id === p.rid) || items[0]);
    return json(200, collection(items));
  }

  function answerRefund(p, beh) {
    const o = p.order;
    if (beh.kind === 'not_found' || !o) return NOT_EXIST();
    const pay = o.payments.find((x) => x.id === p.rid);
    if (beh.kind === 'fail' || !pay || pay.status !== 'captured' && pay.status !== 'refunded') {
      return error(400, 'The payment has not been captured or the refund amount is greater than amount captured');
    }
    const r = p.refund;
    if (beh.kind === 'processing') r.status = 'pending';
    if (beh.kind === 'unknown') return json(200, { ...r, status: 'queued' });
    if (beh.kind === 'refund_status') r.status = beh.status;
    return json(200, r);
  }

  function answerRefundQuery(p, beh) {
    const o = p.order;
    if (beh.kind === 'not_found' || !o) return p.by === 'payment' && o ? json(200, collection([])) : NOT_EXIST();
    const pick = (r) => (beh.kind === 'unknown' ? { ...r, status: 'queued' } : beh.kind === 'fail' ? { ...r, status: 'failed' }
      : beh.kind === 'processing' ? { ...r, status: 'pending' } : r);
    if (p.by === 'refund') return json(200, pick(o.refunds.find((r) => r.id === p.rid)));
    return json(200, collection(o.refunds.filter((r) => r.payment_id === p.rid).map(pick)));
  }

  function event(o, name, overrides) {
    const pay = o.payments[o.payments.length - 1] || { id: id('pay'), entity: 'payment', amount: o.amount, currency: o.currency,
      status: 'created', order_id: o.id, notes: { out_trade_no: o.key } };
    const payload = {};
    if (name.startsWith('refund.')) {
      const r = o.refunds[o.refunds.length - 1];
      if (!r) throw new ControlError(409, `order ${o.key} has no refund to notify about`);
      payload.refund = { entity: { ...r, status: name === 'refund.failed' ? 'failed' : name === 'refund.processed' ? 'processed' : r.status } };
      payload.payment = { entity: pay };
    } else {
      const status = name === 'payment.captured' || name === 'order.paid' ? 'captured' : name === 'payment.failed' ? 'failed'
        : name === 'payment.authorized' ? 'authorized' : pay.status;
      payload.payment = { entity: { ...pay, status, captured: status === 'captured' } };
      if (name === 'order.paid') payload.order = { entity: orderEntity(o) };
    }
    const ev = { entity: 'event', account_id: account, event: name, contains: Object.keys(payload), payload, created_at: now() };
    for (const [k, v] of Object.entries(overrides || {})) {
      if (v === null) delete ev[k]; else ev[k] = v;
    }
    return ev;
  }

  function callback(o, kind) {
    const pay = o.payments[o.payments.length - 1];
    if (!pay) throw new ControlError(409, `order ${o.key} has no payment for a Checkout callback`);
    const sig = hmac(kind === 'forged' ? forged : keySecret, `${o.id}|${pay.id}`);
    if (kind !== 'forged' && !validatePaymentVerification({ order_id: o.id, payment_id: pay.id }, sig, keySecret)) {
      throw new Error('razorpay: SDK validatePaymentVerification refused our own callback');
    }
    const params = { razorpay_payment_id: pay.id, razorpay_order_id: o.id, razorpay_signature: sig };
    return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString(),
      params, notify_id: `cb:${pay.id}` };
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
          return { op: r.op, key: '', body: {}, problems, unparsable: true };
        }
        if (!/^application\/json/i.test(String(req.headers['content-type'] || ''))) problems.push('content-type is not application/json');
      }
      if (!r.op) return { op: null, key: '', label: `${req.method} ${req.path}`, body, problems };
      let order = null;
      let key = '';
      if (r.op === 'pay') key = (body.notes && body.notes.out_trade_no) || body.receipt || '';
      if (r.by === 'receipt') {
        r.receipt = req.url.searchParams.get('receipt') || '';
        const list = byReceipt(r.receipt);
        order = list[0] || null;
        key = order ? order.key : r.receipt;
      }
      if (r.by === 'order') order = byOrderId(r.rid) || null;
      if (r.rid && r.rid.startsWith('pay_')) order = byPayment(r.rid) || null;
      if (r.by === 'refund') order = byRefund(r.rid) || null;
      if (order && !key) key = order.key;
      if (r.op === 'refund') {
        key = (body.notes && body.notes.out_refund_no) || body.receipt || '';
        if (!req.headers['x-refund-idempotency']) problems.push('no X-Refund-Idempotency header');
      }
      if (r.op === 'refund_query' && r.by === 'refund' && order) {
        const rf = order.refunds.find((x) => x.id === r.rid);
        key = (rf && rf.notes && rf.notes.out_refund_no) || key;
      }
      return { ...r, key, body, order, problems };
    },
    verify(req) {
      const h = String(req.headers.authorization || '');
      const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(h);
      const got = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
      return { ok: safeEqual(got, `${keyId}:${keySecret}`), signString: 'Authorization: Basic key_id:key_secret' };
    },
    check(req, p, v) {
      if (!p.op) return { reason: 'no-route', reply: error(404, 'The requested URL was not found on the server.') };
      if (!v.ok) return { reason: 'bad-auth', badSign: true, reply: error(401, 'Authentication failed') };
      if (p.unparsable) return { reason: 'not-json', reply: error(400, 'The request body is not valid JSON') };
      const b = p.body;
      if (p.op === 'pay') {
        if (!Number.isInteger(b.amount) || b.amount < 100) return { reason: 'amount', reply: error(400, 'Order amount less than minimum amount allowed') };
        if (!/^[A-Z]{3}$/.test(b.currency || '')) return { reason: 'currency', reply: error(400, 'The currency field is invalid.') };
        if (typeof b.receipt === 'string' && b.receipt.length > 40) return { reason: 'receipt', reply: error(400, 'The receipt may not be greater than 40 characters.') };
      }
      if ((p.op === 'capture' || p.op === 'refund') && !Number.isInteger(b.amount)) {
        return { reason: 'amount', reply: error(400, 'The amount must be an integer.') };
      }
      return null;
    },
    receive(req, p, beh) {
      if (p.op === 'pay' && !['fail', 'not_found'].includes(beh.kind) && !orders.has(p.key)) {
        orders.set(p.key, newOrder(p.key, p.body));
      }
      if (p.op === 'refund' && p.order && !['fail', 'not_found'].includes(beh.kind)) {
        const pay = p.order.payments.find((x) => x.id === p.rid);
        if (pay && (pay.status === 'captured' || pay.status === 'refunded')) {
          p.refund = p.order.refunds.find((r) => r.notes && p.body.notes && r.notes.out_refund_no === p.body.notes.out_refund_no);
          if (!p.refund) {
            p.refund = { id: id('rfnd'), entity: 'refund', amount: p.body.amount, currency: pay.currency, payment_id: pay.id,
              notes: p.body.notes || {}, receipt: p.body.receipt || null, status: 'processed', speed_requested: p.body.speed || 'normal',
              created_at: now() };
            p.order.refunds.push(p.refund);
          }
        }
      }
    },
    answer(req, p, beh) {
      const b = beh.kind === 'badsign' ? { kind: 'success' } : beh;   // Razorpay signs no answer
      if (p.op === 'pay') {
        if (b.kind === 'fail' || b.kind === 'not_found') return error(400, 'Order amount less than minimum amount allowed');
        if (b.kind === 'processing') return error(429, 'Too many requests');
        const o = orders.get(p.key);
        if (b.kind === 'unknown') return json(200, { ...orderEntity(o), status: 'weird' });
        return json(200, orderEntity(o));
      }
      if (p.op === 'query') return answerQuery(p, b);
      if (p.op === 'capture') {
        const o = p.order;
        const pay = o && o.payments.find((x) => x.id === p.rid);
        if (b.kind === 'not_found' || !pay) return NOT_EXIST();
        if (b.kind === 'fail') return error(400, 'This payment has already been captured');
        if (b.kind === 'unknown') return json(200, { ...pay, status: 'odd' });
        if (b.kind === 'processing') return json(200, pay);
        if (pay.status === 'authorized') {
          pay.status = 'captured';
          pay.captured = true;
          o.status = 'paid';
        } else if (pay.status !== 'captured') return error(400, `This payment is ${pay.status} and cannot be captured`);
        return json(200, pay);
      }
      if (p.op === 'refund') return answerRefund(p, b);
      return answerRefundQuery(p, b);
    },
    headers: () => ({ 'content-type': 'application/json; charset=UTF-8' }),
    newOrder: (key, body) => newOrder(key, { amount: Number(body.amount || 50000), currency: body.currency, notify_url: body.notify_url }),
    // body.status: 'captured' (default) or 'authorized' — the payment the buyer made in Checkout
    pay(o, body) {
      const status = body.status || 'captured';
      if (!STATUSES.has(status)) return { status: 400, error: `unknown payment status ${status}` };
      if (o.status === 'paid') return { status: 409, error: `order ${o.id} is already paid` };
      addPayment(o, status);
      return null;
    },
    // body.event: webhook event (default by state) or 'checkout.callback' (form to callback_url)
    notification(o, kind, body) {
      if (body.event === 'checkout.callback') return callback(o, kind);
      const paid = o.status === 'paid';
      let name = body.event || (paid ? 'payment.captured' : 'payment.failed');
      if (kind === 'contrary') name = paid ? 'payment.failed' : 'payment.captured';
      if (kind === 'valid' && body.set_state !== false && name === 'payment.captured' && !paid) addPayment(o, 'captured');
      const text = JSON.stringify(event(o, name, body.overrides));
      const sig = hmac(kind === 'forged' ? forged : webhookSecret, text);
      if (kind !== 'forged' && !Razorpay.validateWebhookSignature(text, sig, webhookSecret)) {
        throw new Error('razorpay: SDK validateWebhookSignature refused our own webhook');
      }
      const evId = `evt_${crypto.randomBytes(7).toString('hex')}`;
      return { headers: { 'content-type': 'application/json', 'x-razorpay-signature': sig, 'x-razorpay-event-id': evId },
        body: text, params: { event: name }, notify_id: evId };
    },
    view: (o) => ({ ...o, order: orderEntity(o) }),
  };
}

module.exports = {
  name: 'razorpay',
  sdks: ['razorpay'],
  ops: { pay: 'razorpay.orders.create', query: 'razorpay.payments.fetch', capture: 'razorpay.payments.capture',
    refund: 'razorpay.refunds.create', refund_query: 'razorpay.refunds.fetch' },
  behaviours: {
    // payment_status:<s> — the query answers a payment in state s
    payment_status: (arg) => {
      if (!STATUSES.has(arg)) throw new Error(`unknown payment status in payment_status:${arg}`);
      return { status: arg };
    },
    // refund_status:<s> — the refund create answers the refund in state s
    refund_status: (arg) => {
      if (!['pending', 'processed', 'failed'].includes(arg)) throw new Error(`unknown refund status ${arg}`);
      return { status: arg };
    },
  },
  routes: ['/v1/'],
  setup,
};
