'use strict';
// Mollie Payments API v2 channel plugin (mount /mollie, API under /mollie/v2/).
//
// Ops: pay (POST /v2/payments), query (GET /v2/payments/<tr_id>), close (DELETE
// /v2/payments/<tr_id>), refund (POST /v2/payments/<tr_id>/refunds, keyed by
// metadata.out_refund_no), refund_query (GET /v2/payments/<tr_id>/refunds/<re_id>).
//
// Mollie signs nothing: a request is authenticated by `Authorization: Bearer <API key>`
// (a wrong key -> 401 problem+json, counted bad_sign). Mollie's answers are plain
// application/hal+json; its errors application/problem+json-like `{status, title, detail,
// field?, _links.documentation}` (docs.mollie.com/reference/handling-errors). The SDK
// (@mollie/api-client 4.6.0) has no verifier of any kind; what it gives us is a client:
// tests/sim/mollie.test.js drives this plugin with `createMollieClient` (payments.create /
// get / cancel, paymentRefunds.create / get) so the answers are read by Mollie's own code,
// and tests/packs/mollie.test.js checks that paygw's request bodies parse to what that
// client sends for the same payment. Request shape checks here follow the API reference
// (amount {currency, value "10.00"}, description, redirectUrl, webhookUrl), written
// independently of paygw.
//
// POST and DELETE honour `Idempotency-Key` like Mollie: a repeated key answers the first
// answer's resource again (no second payment / refund).
//
// Webhook (classic): POST application/x-www-form-urlencoded `id=tr_…` to the payment's
// webhookUrl, no signature by design. `forged` = an id Mollie never issued; `contrary` =
// the same genuine id while the payment is in the opposite state (a webhook says nothing
// by itself either way: the receiver must fetch).
//
// Behaviours (besides the generic transport ones): success = the state as it is
// (pay: open + checkout link; query: the payment's status; close: canceled, or 422 when not
// cancelable; refund: `pending` (Mollie's real first state: accepted, not final);
// refund_query: `refunded` (the sim completes a pending refund when asked)); fail = pay /
// refund 422, query `failed`, close 422, refund_query `failed`; processing = `pending`;
// closed = `canceled` (refund: `canceled`); unknown = a status Mollie never documented;
// not_found = 404; badsign = Mollie does not sign, so it is the `success` answer about
// ANOTHER payment (the only unauthenticated-answer failure a TLS-only API has: the pack
// must notice it is not about its order); `status:<s>` forces a status.
//
// Keys: <keys>/mollie/api_key.txt (`test_` + 30 alphanumerics), generated when missing;
// paygw's keystore needs the same text as `<name>.secret`.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const PROBLEM_DOC = 'https://docs.mollie.com/overview/handling-errors';
const EXP = { EUR: 2, GBP: 2, USD: 2, CHF: 2, SEK: 2, NOK: 2, DKK: 2, PLN: 2, CZK: 2, HUF: 2, AUD: 2, CAD: 2 };
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function token(n) {
  const b = crypto.randomBytes(n);
  return Array.from(b, (x) => ALNUM[x % ALNUM.length]).join('');
}

function loadApiKey(keysDir) {
  const file = path.join(keysDir, 'api_key.txt');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(keysDir, { recursive: true });
    fs.writeFileSync(file, `test_${token(30)}\n`, { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

function problem(status, title, detail, field) {
  const b = { status, title, detail, ...(field ? { field } : {}),
    _links: { documentation: { href: PROBLEM_DOC, type: 'text/html' } } };
  return { status, headers: { 'content-type': 'application/hal+json' }, body: JSON.stringify(b) };
}

function hal(status, obj) {
  return { status, headers: { 'content-type': 'application/hal+json' }, body: JSON.stringify(obj) };
}

function jsonBody(req) {
  if (!req.raw.length) return {};
  try {
    return JSON.parse(req.raw.toString('utf8'));
  } catch {
    return null;
  }
}

// amount {currency, value} with exactly the currency's decimals
function amountProblem(a, field) {
  if (!a || typeof a !== 'object' || typeof a.currency !== 'string' || typeof a.value !== 'string') {
    return `The amount is invalid (${field})`;
  }
  const exp = EXP[a.currency];
  if (exp === undefined) return `The currency ${a.currency} is not supported`;
  const re = exp === 0 ? /^[1-9]\d*$/ : new RegExp(`^(0|[1-9]\\d*)\\.\\d{${exp}}$`);
  if (!re.test(a.value) || Number(a.value) <= 0) return `The amount value ${a.value} is invalid`;
  return null;
}

function isUrl(s) {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

// POST /payments body checks (Create payment reference)
function payProblems(b) {
  const p = amountProblem(b.amount, 'amount');
  if (p) return [p, 'amount'];
  if (typeof b.description !== 'string' || b.description === '' || b.description.length > 255) {
    return ['The description is invalid', 'description'];
  }
  if (!isUrl(b.redirectUrl)) return ['The redirect URL is invalid', 'redirectUrl'];
  if (b.webhookUrl !== undefined && !isUrl(b.webhookUrl)) return ['The webhook URL is invalid', 'webhookUrl'];
  return null;
}

function setup({ keysDir, orders, log }) {
  const apiKey = loadApiKey(keysDir);
  const byId = new Map();          // tr_… -> order key
  const refundsById = new Map();   // re_… -> {order key, refund key}
  const idem = new Map();          // Idempotency-Key -> {op, key}
  const base = () => 'https://api.mollie.com/v2';

  const paymentJson = (o, status = o.status) => ({
    resource: 'payment',
    id: o.id,
    mode: apiKey.startsWith('live_') ? 'live' : 'test',
    createdAt: o.createdAt,
    amount: o.amount,
    description: o.description,
    method: o.method || null,
    metadata: o.metadata ?? null,
    status,
    isCancelable: status === 'open',
    ...(status === 'paid' ? { paidAt: o.paidAt, amountRefunded: { value: '0.00', currency: o.amount.currency } } : {}),
    ...(status === 'canceled' ? { canceledAt: o.canceledAt || new Date().toISOString() } : {}),
    ...(status === 'open' ? { expiresAt: new Date(Date.parse(o.createdAt) + 15 * 60000).toISOString() } : {}),
    profileId: 'pfl_SimProfile01',
    sequenceType: 'oneoff',
    redirectUrl: o.redirectUrl,
    webhookUrl: o.webhookUrl ?? null,
    _links: {
      self: { href: `${base()}/payments/${o.id}`, type: 'application/hal+json' },
      ...(status === 'open' ? { checkout: { href: `https://www.mollie.com/checkout/select-method/${o.id.slice(3)}`, type: 'text/html' } } : {}),
      documentation: { href: 'https://docs.mollie.com/reference/get-payment', type: 'text/html' },
    },
  });

  const refundJson = (o, r, status = r.status) => ({
    resource: 'refund',
    id: r.id,
    amount: r.amount,
    status,
    createdAt: r.createdAt,
    description: r.description,
    metadata: r.metadata ?? null,
    paymentId: o.id,
    settlementAmount: { value: `-${r.amount.value}`, currency: r.amount.currency },
    _links: {
      self: { href: `${base()}/payments/${o.id}/refunds/${r.id}`, type: 'application/hal+json' },
      payment: { href: `${base()}/payments/${o.id}`, type: 'application/hal+json' },
    },
  });

  function newPayment(key, b) {
    const o = {
      id: `tr_${token(10)}`,
      out_trade_no: key,
      amount: b.amount,
      description: b.description,
      method: b.method,
      metadata: b.metadata,
      redirectUrl: b.redirectUrl,
      webhookUrl: b.webhookUrl,
      notify_url: b.webhookUrl || '',
      status: 'open',
      createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00'),
      refunds: new Map(),
    };
    orders.set(key, o);
    byId.set(o.id, key);
    return o;
  }

  const other = () => ({ id: `tr_${token(10)}`, amount: { currency: 'EUR', value: '1.00' },
    description: 'another payment', metadata: { out_trade_no: `OTHER-${token(6)}` },
    redirectUrl: 'https://shop.example/other', status: 'open', createdAt: new Date().toISOString() });

  return {
    parse(req) {
      const b = jsonBody(req);
      const seg = req.path.split('/').filter(Boolean);     // ['v2','payments',id?,'refunds',rid?]
      const label = `${req.method} /v2/${seg.slice(1).join('/')}`;
      const none = { op: null, key: '', label, body: b };
      if (seg[0] !== 'v2' || seg[1] !== 'payments') return none;
      if (seg.length === 2 && req.method === 'POST') {
        const key = (b && b.metadata && typeof b.metadata.out_trade_no === 'string' && b.metadata.out_trade_no)
          || (b && typeof b.description === 'string' && b.description) || '';
        return { op: 'pay', key, body: b };
      }
      const pid = seg[2];
      const okey = byId.get(pid) || pid || '';
      if (seg.length === 3 && req.method === 'GET') return { op: 'query', key: okey, pid, body: b };
      if (seg.length === 3 && req.method === 'DELETE') return { op: 'close', key: okey, pid, body: b };
      if (seg.length === 4 && seg[3] === 'refunds' && req.method === 'POST') {
        const rkey = (b && b.metadata && typeof b.metadata.out_refund_no === 'string' && b.metadata.out_refund_no) || '';
        return { op: 'refund', key: rkey || okey, pid, okey, body: b };
      }
      if (seg.length === 5 && seg[3] === 'refunds' && req.method === 'GET') {
        const rr = refundsById.get(seg[4]);
        return { op: 'refund_query', key: rr ? rr.rkey : seg[4], pid, rid: seg[4], okey, body: b };
      }
      return none;
    },

    // Mollie's only request authentication: the bearer API key
    verify(req) {
      const auth = String(req.headers.authorization || '');
      return { ok: auth === `Bearer ${apiKey}`, signString: auth.replace(/^(Bearer \w{5}).*$/, '$1…') };
    },

    check(req, p, v) {
      if (!p.op) return { reason: 'no-route', reply: problem(404, 'Not Found', 'The resource could not be found.') };
      if (!v.ok) {
        return { reason: 'bad-api-key', badSign: true,
          reply: problem(401, 'Unauthorized Request', 'Missing authentication, or failed to authenticate') };
      }
      if (p.body === null) return { reason: 'bad-json', reply: problem(400, 'Bad Request', 'The request body is not valid JSON') };
      if (req.method === 'POST' && !/^application\/json\b/.test(String(req.headers['content-type'] || ''))) {
        return { reason: 'content-type', reply: problem(415, 'Unsupported Media Type', 'Use application/json') };
      }
      if (p.op === 'pay') {
        const pr = payProblems(p.body);
        if (pr) return { reason: `invalid:${pr[1]}`, reply: problem(422, 'Unprocessable Entity', pr[0], pr[1]) };
      }
      if (p.op === 'refund') {
        const pr = amountProblem(p.body.amount, 'amount');
        if (pr) return { reason: 'invalid:amount', reply: problem(422, 'Unprocessable Entity', pr, 'amount') };
      }
      return null;
    },

    receive(req, p, beh) {
      const idemKey = req.headers['idempotency-key'];
      if (idemKey && idem.has(idemKey)) {
        p.replayed = idem.get(idemKey);
        return;
      }
      if (beh.kind === 'fail' || beh.kind === 'not_found') return;
      if (p.op === 'pay') {
        if (!orders.has(p.key)) newPayment(p.key, p.body);
        p.order = orders.get(p.key);
        if (idemKey) idem.set(idemKey, { op: 'pay', key: p.key });
      } else if (p.op === 'refund') {
        const o = orders.get(p.okey);
        if (!o) return;
        const r = { id: `re_${token(10)}`, amount: p.body.amount, description: p.body.description || '',
          metadata: p.body.metadata, status: 'pending', createdAt: new Date().toISOString() };
        o.refunds.set(r.id, r);
        refundsById.set(r.id, { okey: p.okey, rkey: p.key });
        p.refund = r;
        if (idemKey) idem.set(idemKey, { op: 'refund', key: p.key, rid: r.id, okey: p.okey });
      }
    },

    answer(req, p, beh) {
      const kind = beh.kind;
      const forced = kind === 'status' ? beh.status : null;
      if (kind === 'not_found') {
        return problem(404, 'Not Found', `No ${p.op.startsWith('refund') ? 'refund' : 'payment'} exists with token ${p.rid || p.pid || ''}.`);
      }
      if (kind === 'badsign') {
        const o2 = other();
        if (p.op.startsWith('refund')) {
          const r2 = { id: `re_${token(10)}`, amount: o2.amount, status: 'refunded', createdAt: o2.createdAt,
            description: 'x', metadata: { out_refund_no: `OTHER-${token(6)}` } };
          return hal(p.op === 'refund' ? 201 : 200, refundJson(o2, r2));
        }
        return hal(p.op === 'pay' ? 201 : 200, paymentJson(o2, p.op === 'query' ? 'paid' : o2.status));
      }
      if (p.op === 'pay') {
        if (kind === 'fail') return problem(422, 'Unprocessable Entity', 'The amount is higher than the maximum', 'amount');
        const o = p.replayed ? orders.get(p.replayed.key) : p.order;
        const st = forced || { processing: 'pending', unknown: 'brand-new-status', closed: 'canceled' }[kind] || o.status;
        return hal(201, paymentJson(o, st));
      }
      if (p.op === 'query' || p.op === 'close') {
        const o = orders.get(p.key);
        if (!o || o.id !== p.pid) return problem(404, 'Not Found', `No payment exists with token ${p.pid}.`);
        if (p.op === 'close') {
          if (kind === 'fail' || (kind === 'success' && o.status !== 'open' && o.status !== 'canceled')) {
            return problem(422, 'Unprocessable Entity', 'The payment cannot be canceled');
          }
          if (kind === 'success') {
            o.status = 'canceled';
            o.canceledAt = new Date().toISOString();
          }
        }
        const st = forced || { fail: 'failed', processing: 'pending', unknown: 'brand-new-status', closed: 'canceled' }[kind] || o.status;
        return hal(200, paymentJson(o, st));
      }
      // refund / refund_query
      const o = orders.get(p.okey) || orders.get(p.replayed && p.replayed.okey);
      if (!o) return problem(404, 'Not Found', `No payment exists with token ${p.pid}.`);
      if (p.op === 'refund') {
        if (kind === 'fail') return problem(422, 'Unprocessable Entity', 'The amount is higher than the amount that is left to refund', 'amount');
        const r = p.refund || o.refunds.get(p.replayed && p.replayed.rid);
        if (!r) return problem(404, 'Not Found', 'No refund exists');
        const st = forced || { processing: 'pending', unknown: 'brand-new-status', closed: 'canceled' }[kind] || r.status;
        return hal(201, refundJson(o, r, st));
      }
      const r = o.refunds.get(p.rid);
      if (!r) return problem(404, 'Not Found', `No refund exists with token ${p.rid}.`);
      if (kind === 'success' && r.status === 'pending') r.status = 'refunded';
      const st = forced || { fail: 'failed', processing: 'pending', unknown: 'brand-new-status', closed: 'canceled' }[kind] || r.status;
      return hal(200, refundJson(o, r, st));
    },

    headers: () => ({ 'content-type': 'application/hal+json' }),

    newOrder(key, body) {
      const cur = body.currency || 'EUR';
      return newPayment(key, {
        amount: { currency: cur, value: body.total_amount || '10.00' },
        description: key,
        metadata: { out_trade_no: key },
        redirectUrl: 'https://shop.example/return',
        webhookUrl: body.notify_url || '',
      });
    },

    pay(o) {
      if (o.status !== 'open' && o.status !== 'pending') {
        return { status: 409, error: `payment ${o.id} is ${o.status} at the sim` };
      }
      o.status = 'paid';
      o.paidAt = new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00');
      return null;
    },

    notification(o, kind, body) {
      if (kind === 'valid' && body.set_state !== false && o.status !== 'paid') {
        o.status = 'paid';
        o.paidAt = new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00');
      }
      const params = { id: kind === 'forged' ? `tr_${token(10)}` : o.id, ...(body.overrides || {}) };
      for (const k of Object.keys(params)) if (params[k] === null) delete params[k];
      const text = new URLSearchParams(params).toString();
      log(`mollie webhook ${kind} ${text}`);
      return {
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Mollie HTTP client/1.0' },
        body: text,
        params,
        notify_id: `${kind}:${params.id}`,
      };
    },

    view(o) {
      const { refunds, ...rest } = o;
      return { ...rest, refunds: Array.from(refunds.values()) };
    },

    reset() {
      byId.clear();
      refundsById.clear();
      idem.clear();
    },
  };
}

module.exports = {
  name: 'mollie',
  sdks: ['@mollie/api-client'],
  ops: {
    pay: 'mollie.payments.create',
    query: 'mollie.payments.get',
    close: 'mollie.payments.cancel',
    refund: 'mollie.refunds.create',
    refund_query: 'mollie.refunds.get',
  },
  behaviours: {
    status: (arg) => {
      if (!/^[a-z_-]{1,40}$/.test(arg || '')) throw new Error('status:<mollie status> expected');
      return { status: arg };
    },
  },
  routes: ['/v2/'],
  setup,
};
