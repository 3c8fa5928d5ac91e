'use strict';
// Checkout.com channel plugin: unified Payments API + webhooks, mounted at /checkout/payments...
//   POST /payments                 pay           request a payment (key: reference)
//   GET  /payments/<id>            query         get payment details
//   GET  /payments?reference=…     query         payment list by reference
//   POST /payments/<id>/voids      cancel        void (async: 202 + action_id)
//   POST /payments/<id>/refunds    refund        refund (async: 202 + action_id; key: the refund reference)
//   GET  /payments/<id>/actions    refund_query  the payment's actions (key: the payment's reference)
// Checks: `Authorization: Bearer <secret key>` (401 with an empty body otherwise, counted
// bad_sign), JSON bodies with the published request shape (amount integer minor units,
// ISO currency, reference, source {type token|id}, capture boolean; unknown top-level
// fields refused) -> 422 request_invalid with error_codes, as the API answers.
// checkout-sdk-node has no webhook verifier and no request schema (it is ESM and only posts
// what it is given): the sim implements the published rules with node:crypto and its
// self-test (tests/sim/checkout.test.js) drives it with the SDK's Checkout client.
// Cko-Idempotency-Key: the same key and body replay the first answer; another body -> 409.
// Webhooks: Cko-Signature = hex HMAC-SHA256(webhook secret key, raw body). Checkout.com
// signs no API answer: `badsign` answers another order's payment (or an action of another
// amount), which a careful client must refuse.
// Keys (<keys>/checkout/, generated when missing): secret_key.txt (sk_sbox_…),
// webhook_secret.txt.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { ControlError } = require('../core/control_error');

const OPS = { pay: 'payments.request', query: 'payments.get', cancel: 'payments.void', refund: 'payments.refund', refund_query: 'payments.getActions' };
const PAY_FIELDS = new Set(['source', 'amount', 'currency', 'reference', 'capture', 'description', 'metadata',
  'processing_channel_id', 'success_url', 'failure_url', 'customer', 'payment_type', '3ds', 'capture_on']);
const EVENTS = new Set(['payment_approved', 'payment_captured', 'payment_paid', 'payment_declined', 'payment_voided',
  'payment_pending', 'payment_expired', 'payment_canceled', 'payment_capture_declined']);

function secretFile(dir, name, make) {
  const f = path.join(dir, name);
  if (!fs.existsSync(f)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(f, `${make()}\n`, { mode: 0o600 });
  }
  return fs.readFileSync(f, 'utf8').trim();
}

const ckoId = (p) => `${p}_${crypto.randomBytes(16).toString('base64').replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 26)}`;
const json = (status, obj) => ({ status, body: obj === undefined ? '' : JSON.stringify(obj) });
const invalid = (codes) => json(422, { request_id: crypto.randomUUID(), error_type: 'request_invalid', error_codes: codes });

function payErrors(b) {
  const e = [];
  for (const k of Object.keys(b)) if (!PAY_FIELDS.has(k)) e.push(`${k}_invalid`);
  if (!Number.isInteger(b.amount) || b.amount < 0) e.push('amount_invalid');
  if (!/^[A-Z]{3}$/.test(b.currency || '')) e.push('currency_invalid');
  if (typeof b.reference !== 'string' || !b.reference || b.reference.length > 80) e.push('reference_invalid');
  const s = b.source || {};
  if (!((s.type === 'token' && /^tok_/.test(s.token || '')) || (s.type === 'id' && /^src_/.test(s.id || '')))) e.push('source_invalid');
  if (b.capture !== undefined && typeof b.capture !== 'boolean') e.push('capture_invalid');
  return e;
}

function setup({ keysDir, orders }) {
  const secret = secretFile(keysDir, 'secret_key.txt', () => `sk_sbox_${crypto.randomBytes(14).toString('hex')}`);
  const whsec = secretFile(keysDir, 'webhook_secret.txt', () => crypto.randomBytes(24).toString('hex'));
  const byId = new Map();        // pay id -> reference
  const idem = new Map();        // Cko-Idempotency-Key -> {body, reply}

  const details = (o) => ({
    id: o.id, requested_on: o.requested_on, source: { type: 'card', last4: '4242', scheme: 'Visa' },
    amount: o.amount, currency: o.currency, payment_type: 'Regular', reference: o.reference,
    status: o.status, approved: ['Authorized', 'Captured', 'Paid', 'Refunded', 'Partially Refunded'].includes(o.status),
    metadata: o.metadata, _links: { self: { href: `/payments/${o.id}` } },
  });
  const stranger = (x) => ({ ...x, reference: 'SOMEONE_ELSE' });

  function route(req, body) {
    const m = /^\/payments\/([a-z0-9_]+)(?:\/(voids|refunds|actions))?$/.exec(req.path);
    if (req.path === '/payments' && req.method === 'POST') return { op: 'pay', key: String(body.reference || '') };
    if (req.path === '/payments' && req.method === 'GET') return { op: 'query', key: req.url.searchParams.get('reference') || '', list: true };
    if (!m) return { op: null, key: '' };
    const ref = byId.get(m[1]) || '';
    if (!m[2] && req.method === 'GET') return { op: 'query', key: ref, id: m[1] };
    if (m[2] === 'voids' && req.method === 'POST') return { op: 'cancel', key: ref, id: m[1] };
    if (m[2] === 'refunds' && req.method === 'POST') return { op: 'refund', key: String(body.reference || ''), id: m[1], parent: ref };
    if (m[2] === 'actions' && req.method === 'GET') return { op: 'refund_query', key: ref, id: m[1] };
    return { op: null, key: '' };
  }

  function payAnswer(p, beh) {
    const o = orders.get(p.key);
    if (beh.kind === 'rejected') return invalid(['amount_invalid']);
    if (beh.kind === 'not_found' || !o) return json(404);
    const d = { ...details(o), action_id: o.actions[0].id, processed_on: new Date().toISOString(), response_code: '10000', response_summary: 'Approved' };
    switch (beh.kind) {
      case 'fail': return json(201, { ...d, status: 'Declined', approved: false, response_code: '20051', response_summary: 'Insufficient Funds' });
      case 'closed': return json(201, { ...d, status: 'Declined', approved: false, response_code: '30004', response_summary: 'Pick up card' });
      case 'processing': return json(202, { id: o.id, status: 'Pending', reference: o.reference, _links: { self: d._links.self, redirect: { href: `https://3ds.sim.checkout.test/${o.id}` } } });
      case 'unknown': return json(201, { ...d, status: 'Something New', approved: false, response_code: '60001' });
      case 'badsign': return json(201, stranger(d));
      default: return json(201, d);
    }
  }

  function queryAnswer(p, beh) {
    const o = orders.get(p.key);
    if (beh.kind === 'not_found' || !o) return p.list ? json(200, { limit: 10, skip: 0, total_count: 0, data: [] }) : json(404);
    let d = details(o);
    const st = { fail: 'Declined', closed: 'Voided', processing: 'Pending', unknown: 'Something New', status: beh.status }[beh.kind];
    if (st) d = { ...d, status: st, approved: ['Authorized', 'Captured', 'Paid'].includes(st) };
    if (beh.kind === 'badsign') d = stranger(d);
    return p.list ? json(200, { limit: 10, skip: 0, total_count: 1, data: [d] }) : json(200, d);
  }

  function accepted(o, ref, kind) {
    return json(202, { action_id: kind.id, reference: ref, _links: { payment: { href: `/payments/${o.id}` } } });
  }

  function actionsAnswer(p, beh) {
    const o = orders.get(p.key);
    if (beh.kind === 'not_found' || !o) return json(404);
    let list = o.actions.map((a) => ({ ...a }));
    if (beh.kind === 'fail') list = list.map((a) => (a.type === 'Refund' ? { ...a, approved: false, response_code: '20005', response_summary: 'Declined - Do Not Honour' } : a));
    if (beh.kind === 'processing') list = list.filter((a) => a.type !== 'Refund');
    if (beh.kind === 'unknown') list = list.map((a) => (a.type === 'Refund' ? { ...a, approved: undefined, response_code: '10999' } : a));
    if (beh.kind === 'badsign') list = list.map((a) => (a.type === 'Refund' ? { ...a, amount: a.amount + 1 } : a));
    return json(200, list.reverse());
  }

  function event(o, type, extra = {}) {
    return {
      id: ckoId('evt'), type, version: '1.0.33', created_on: new Date().toISOString(),
      data: { id: o.id, action_id: o.actions[0].id, amount: o.amount, currency: o.currency, reference: o.reference, response_code: type === 'payment_declined' ? '20051' : '10000', metadata: o.metadata, processed_on: new Date().toISOString(), ...extra },
      _links: { self: { href: `/workflows/events/${o.id}` } },
    };
  }

  return {
    parse(req) {
      const problems = [];
      let body = {};
      if (req.raw.length) {
        try {
          body = JSON.parse(req.raw.toString('utf8'));
        } catch (e) {
          problems.push(`body is not JSON: ${e.message}`);
          body = null;
        }
      }
      const r = route(req, body || {});
      return { ...r, body, problems, label: r.op ? OPS[r.op] : `${req.method} ${req.path}`, fields: { json: body } };
    },

    verify(req, p) {
      const auth = String(req.headers.authorization || '');
      const ok = [`Bearer ${secret}`, secret].some((w) => auth.length === w.length && crypto.timingSafeEqual(Buffer.from(auth), Buffer.from(w)));
      return { ok, reason: ok ? '' : 'bad secret key', signString: '' };
    },

    check(req, p, v) {
      if (!v.ok) return { reason: 'unauthorized', badSign: true, reply: json(401) };
      if (!p.op) return { reason: 'no-route', reply: json(404) };
      if (p.body === null) return { reason: 'json', reply: invalid(['request_body_malformed']) };
      if (req.method === 'POST') {
        if (!/^application\/json/.test(String(req.headers['content-type'] || ''))) return { reason: 'content-type', reply: json(415) };
        const e = p.op === 'pay' ? payErrors(p.body)
          : p.op === 'refund' && (!Number.isInteger(p.body.amount) || p.body.amount < 1) ? ['amount_invalid'] : [];
        if (e.length) {
          p.problems.push(...e);
          return { reason: 'request_invalid', reply: invalid(e) };
        }
        const key = req.headers['cko-idempotency-key'];
        if (!key) p.problems.push('POST without Cko-Idempotency-Key');
        else if (idem.has(key)) {
          const prev = idem.get(key);
          if (prev.body !== JSON.stringify(p.body) || prev.path !== req.path) return { reason: 'idempotency', reply: json(409, { error_type: 'idempotency_key_conflict' }) };
          p.replay = prev.reply;
        }
      }
      if (p.op === 'refund' && !orders.has(p.parent)) return { reason: 'no-payment', reply: json(404) };
      return null;
    },

    receive(req, p, beh) {
      if (p.replay) return;
      if (p.op === 'pay' && !orders.has(p.key) && beh.kind !== 'not_found' && beh.kind !== 'rejected') {
        const st = { fail: 'Declined', closed: 'Declined', processing: 'Pending', unknown: 'Pending' }[beh.kind] || 'Authorized';
        orders.set(p.key, this.newOrder(p.key, { ...p.body, status: st }));
      }
      const o = orders.get(p.op === 'refund' ? p.parent : p.key);
      if (!o) return;
      if (p.op === 'cancel' && beh.kind !== 'fail' && beh.kind !== 'not_found' && (o.status === 'Authorized' || o.status === 'Pending')) {
        o.status = 'Voided';
        o.actions.push({ id: ckoId('act'), type: 'Void', processed_on: new Date().toISOString(), amount: o.amount, approved: true, response_code: '10000', reference: p.body.reference });
      }
      if (p.op === 'refund' && beh.kind !== 'not_found' && !o.actions.some((a) => a.type === 'Refund' && a.reference === p.key)) {
        o.actions.push({ id: ckoId('act'), type: 'Refund', processed_on: new Date().toISOString(), amount: p.body.amount, approved: beh.kind !== 'fail', response_code: beh.kind === 'fail' ? '20005' : '10000', reference: p.key, metadata: p.body.metadata });
        if (beh.kind !== 'fail') o.status = 'Partially Refunded';
      }
    },

    answer(req, p, beh) {
      if (p.replay) return p.replay;
      let reply;
      const o = orders.get(p.op === 'refund' ? p.parent : p.key);
      if (p.op === 'pay') reply = payAnswer(p, beh);
      else if (p.op === 'query') reply = queryAnswer(p, beh);
      else if (p.op === 'refund_query') reply = actionsAnswer(p, beh);
      else if (beh.kind === 'not_found' || !o) reply = json(404);
      else if (beh.kind === 'fail' && p.op === 'cancel') reply = json(403);
      else if (p.op === 'cancel' && o.status !== 'Voided') reply = json(403);
      else if (beh.kind === 'unknown') reply = json(200, {});
      else {
        const a = [...o.actions].reverse().find((x) => x.type === (p.op === 'cancel' ? 'Void' : 'Refund')) || { id: ckoId('act') };
        reply = accepted(o, p.op === 'cancel' ? p.body.reference : p.key, a);
      }
      const key = req.headers['cko-idempotency-key'];
      if (req.method === 'POST' && key && reply.status < 500) idem.set(key, { body: JSON.stringify(p.body), path: req.path, reply });
      return reply;
    },

    headers() {
      return { 'content-type': 'application/json; charset=utf-8', 'cko-request-id': crypto.randomUUID(), 'cko-version': '1.0.0' };
    },

    newOrder(key, body) {
      const id = ckoId('pay');
      byId.set(id, key);
      return {
        id, reference: key, amount: Number(body.amount || 100), currency: body.currency || 'EUR', status: body.status || 'Authorized',
        metadata: body.metadata || {}, requested_on: new Date().toISOString(), notify_url: body.notify_url || '',
        actions: [{ id: ckoId('act'), type: 'Authorization', processed_on: new Date().toISOString(), amount: Number(body.amount || 100), approved: true, response_code: '10000', reference: key }],
      };
    },

    pay(o) {
      if (['Declined', 'Voided', 'Canceled', 'Expired'].includes(o.status)) return { status: 409, error: `payment ${o.id} is ${o.status} at the sim` };
      o.status = 'Captured';
      o.actions.push({ id: ckoId('act'), type: 'Capture', processed_on: new Date().toISOString(), amount: o.amount, approved: true, response_code: '10000', reference: o.reference });
      return null;
    },

    // valid: payment_captured (or body.type), state moves; forged: another key; contrary: the
    // opposite outcome (declined after a success, captured after none), state untouched.
    notification(o, kind, body) {
      const good = ['Authorized', 'Captured', 'Paid', 'Partially Refunded', 'Refunded'].includes(o.status);
      const type = body.type || (kind === 'contrary' ? (good ? 'payment_declined' : 'payment_captured') : 'payment_captured');
      if (!EVENTS.has(type)) throw new ControlError(400, `type must be one of ${[...EVENTS].join(', ')}`);
      if (kind === 'valid' && body.set_state !== false) {
        o.status = { payment_captured: 'Captured', payment_approved: 'Authorized', payment_paid: 'Paid', payment_declined: 'Declined', payment_voided: 'Voided', payment_expired: 'Expired', payment_canceled: 'Canceled' }[type] || o.status;
      }
      const evt = event(o, type);
      for (const [k, v] of Object.entries(body.overrides || {})) if (v === null) delete evt.data[k]; else evt.data[k] = v;
      const text = JSON.stringify(evt);
      const key = kind === 'forged' ? crypto.randomBytes(24).toString('hex') : whsec;
      const sig = crypto.createHmac('sha256', key).update(text).digest('hex');
      return { headers: { 'content-type': 'application/json; charset=utf-8', 'cko-signature': sig }, body: text, params: evt, notify_id: evt.id };
    },

    reset() {
      byId.clear();
      idem.clear();
    },
  };
}

module.exports = {
  name: 'checkout',
  sdks: ['checkout-sdk-node'],
  ops: OPS,
  behaviours: {
    rejected: () => ({}),
    status: (arg) => {
      if (!arg) throw new Error('status:<Checkout.com payment status>');
      return { status: arg };
    },
  },
  routes: ['/payments'],
  setup,
};
