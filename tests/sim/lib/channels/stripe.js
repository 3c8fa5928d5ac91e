'use strict';
// Stripe channel plugin: PaymentIntents + Refunds + webhooks, mounted at /stripe/v1/...
//   POST /v1/payment_intents               pay      (create, confirm=true when a payment_method comes)
//   POST /v1/payment_intents/<id>/confirm  confirm
//   GET  /v1/payment_intents/<id>          query
//   GET  /v1/payment_intents/search        query    (metadata['out_trade_no']:'…')
//   POST /v1/payment_intents/<id>/cancel   close
//   POST /v1/refunds                       refund        (key: metadata[out_refund_no])
//   GET  /v1/refunds/<id>, GET /v1/refunds refund_query  (key: the refund's out_refund_no)
// Checks on every request: `Authorization: Bearer <api key>` (401 otherwise, counted
// bad_sign), Stripe-Version present, POST bodies form-encoded with an Idempotency-Key, and
// the body must survive the stripe SDK's own form encoder: decode(ours) must equal
// decode(stripe utils.queryStringifyRequestData(decode(ours))) — SDK function used:
// stripe/cjs/utils.js queryStringifyRequestData. Idempotency: a replay with the same key and
// body returns the first answer; the same key with another body is a 400 idempotency_error.
// Webhooks: Stripe-Signature made by stripe.webhooks.generateTestHeaderString and checked
// with stripe.webhooks.constructEvent before sending.
// Stripe does not sign API answers; `badsign` answers the success content for ANOTHER order
// (metadata.out_trade_no of a stranger), which a careful client must refuse.
// Keys (<keys>/stripe/, generated when missing): api_key.txt (sk_test_…, what paygw must
// send), webhook_secret.txt (whsec_…, paygw's webhook_secret).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { ControlError } = require('../core/control_error');

const NODE_MODULES = path.join(__dirname, '..', '..', 'node_modules');
const Stripe = require(path.join(NODE_MODULES, 'stripe'));
const { queryStringifyRequestData } = require(path.join(NODE_MODULES, 'stripe', 'cjs', 'utils.js'));
const stripe = Stripe('sk_test_sim_webhooks_only');

const OPS = {
  pay: 'payment_intents.create', confirm: 'payment_intents.confirm', query: 'payment_intents.retrieve',
  close: 'payment_intents.cancel', refund: 'refunds.create', refund_query: 'refunds.retrieve',
};

function secretFile(dir, name, make) {
  const f = path.join(dir, name);
  if (!fs.existsSync(f)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(f, `${make()}\n`, { mode: 0o600 });
  }
  return fs.readFileSync(f, 'utf8').trim();
}

// Stripe's bracket form -> nested object (a[b]=1, a[0]=x)
function decodeForm(text) {
  const out = {};
  for (const [k, v] of new URLSearchParams(text)) {
    const parts = k.split(/\[|\]\[|\]$/).filter((s, i) => i === 0 || s !== '');
    let o = out;
    for (let i = 0; i < parts.length - 1; i++) {
      if (typeof o[parts[i]] !== 'object') o[parts[i]] = {};
      o = o[parts[i]];
    }
    if (Object.prototype.hasOwnProperty.call(o, parts[parts.length - 1])) throw new Error(`duplicate parameter ${k}`);
    o[parts[parts.length - 1]] = v;
  }
  return out;
}

const canon = (o) => (o && typeof o === 'object'
  ? `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canon(o[k])}`).join(',')}}` : JSON.stringify(o));

const newId = (p) => `${p}_3Sim${crypto.randomBytes(9).toString('hex')}`;
const err = (status, type, code, extra = {}) => ({ status, body: JSON.stringify({ error: { type, code, message: `${type}: ${code}`, ...extra } }) });
const ok = (obj, status = 200) => ({ status, body: JSON.stringify(obj) });

function setup({ keysDir, orders, options }) {
  const apiKey = secretFile(keysDir, 'api_key.txt', () => `sk_test_${crypto.randomBytes(12).toString('hex')}`);
  const whsec = secretFile(keysDir, 'webhook_secret.txt', () => `whsec_${crypto.randomBytes(16).toString('hex')}`);
  const idem = new Map();          // Idempotency-Key -> {body, reply}
  const byPi = new Map();          // pi id -> out_trade_no
  const refunds = new Map();       // out_refund_no -> refund object
  const refundIds = new Map();     // re id -> out_refund_no

  const intent = (o) => ({ ...o.pi });
  const stranger = (obj) => ({ ...obj, metadata: { ...obj.metadata, out_trade_no: 'SOMEONE_ELSE', out_refund_no: 'SOMEONE_ELSE' } });

  function newPi(otn, f) {
    const id = newId('pi');
    byPi.set(id, otn);
    return {
      out_trade_no: otn, notify_url: options.notify_url || '', created_at: Date.now(),
      pi: {
        id, object: 'payment_intent', amount: Number(f.amount), amount_received: 0, currency: f.currency,
        client_secret: `${id}_secret_${crypto.randomBytes(6).toString('hex')}`, metadata: { out_trade_no: otn },
        description: f.description || null, payment_method: f.payment_method || null, status: 'requires_payment_method',
        last_payment_error: null, created: Math.floor(Date.now() / 1000), livemode: false,
      },
    };
  }
  const succeed = (o) => { o.pi.status = 'succeeded'; o.pi.amount_received = o.pi.amount; o.pi.last_payment_error = null; };
  const decline = (o) => {
    o.pi.status = 'requires_payment_method';
    o.pi.last_payment_error = { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' };
  };

  function route(req, body) {
    const m = /^\/v1\/payment_intents\/([A-Za-z0-9_]+)(?:\/(confirm|cancel))?$/.exec(req.path);
    const r = /^\/v1\/refunds(?:\/([A-Za-z0-9_]+))?$/.exec(req.path);
    if (req.method === 'POST' && req.path === '/v1/payment_intents') return { op: 'pay', key: body.metadata?.out_trade_no || '' };
    if (req.method === 'GET' && req.path === '/v1/payment_intents/search') {
      const q = /metadata\['out_trade_no'\]:'([^']*)'/.exec(req.url.searchParams.get('query') || '');
      return { op: 'query', key: q ? q[1] : '', search: true };
    }
    if (m && m[1] !== 'search') {
      const op = m[2] === 'confirm' ? 'confirm' : m[2] === 'cancel' ? 'close' : 'query';
      if ((op === 'query') !== (req.method === 'GET')) return { op: null };
      return { op, key: byPi.get(m[1]) || '', id: m[1] };
    }
    if (r && req.method === 'POST' && !r[1]) return { op: 'refund', key: body.metadata?.out_refund_no || '' };
    if (r && req.method === 'GET' && r[1]) return { op: 'refund_query', key: refundIds.get(r[1]) || '', id: r[1] };
    if (r && req.method === 'GET') return { op: 'refund_query', key: '', list: req.url.searchParams.get('payment_intent') || '' };
    return { op: null };
  }

  function newRefund(p, status) {
    const otn = byPi.get(p.body.payment_intent);
    const id = newId('re');
    const rf = {
      id, object: 'refund', amount: Number(p.body.amount), currency: otn ? orders.get(otn).pi.currency : 'usd',
      payment_intent: p.body.payment_intent, metadata: { ...(p.body.metadata || {}) }, reason: p.body.reason || null,
      status, created: Math.floor(Date.now() / 1000),
    };
    refunds.set(p.key, rf);
    refundIds.set(id, p.key);
    return rf;
  }

  function payAnswer(p, beh) {
    const o = orders.get(p.key);
    if (beh.kind === 'rejected') return err(400, 'invalid_request_error', 'amount_too_small');
    if (!o) return err(404, 'invalid_request_error', 'resource_missing');
    switch (beh.kind) {
      case 'fail': return err(402, 'card_error', 'card_declined', { decline_code: 'generic_decline', payment_intent: intent(o) });
      case 'fail_canceled':
      case 'closed': return err(402, 'card_error', 'card_declined', { decline_code: 'generic_decline', payment_intent: { ...intent(o), status: 'canceled' } });
      case 'processing': return ok({ ...intent(o), status: 'processing' });
      case 'not_found': return err(404, 'invalid_request_error', 'resource_missing');
      case 'unknown': return err(400, 'invalid_request_error', 'something_new_and_unlisted');
      case 'badsign': return ok(stranger(intent(o)));
      default: return ok(intent(o));
    }
  }

  function queryAnswer(p, beh) {
    const o = orders.get(p.key);
    if (beh.kind === 'not_found' || !o) {
      return p.search ? ok({ object: 'search_result', data: [], has_more: false, url: '/v1/payment_intents/search' })
        : err(404, 'invalid_request_error', 'resource_missing');
    }
    let pi = intent(o);
    if (beh.kind === 'fail') pi = { ...pi, status: 'requires_payment_method', last_payment_error: { type: 'card_error', code: 'card_declined' } };
    if (beh.kind === 'closed') pi = { ...pi, status: 'canceled' };
    if (beh.kind === 'processing') pi = { ...pi, status: 'processing' };
    if (beh.kind === 'unknown') pi = { ...pi, status: 'requires_something_new' };
    if (beh.kind === 'status') pi = { ...pi, status: beh.status, amount_received: beh.status === 'succeeded' ? pi.amount : 0 };
    if (beh.kind === 'badsign') pi = stranger(pi);
    return p.search ? ok({ object: 'search_result', data: [pi], has_more: false, url: '/v1/payment_intents/search' }) : ok(pi);
  }

  function closeAnswer(p, beh) {
    const o = orders.get(p.key);
    if (beh.kind === 'not_found' || !o) return err(404, 'invalid_request_error', 'resource_missing');
    if (beh.kind === 'fail' || o.pi.status === 'succeeded') {
      return err(400, 'invalid_request_error', 'payment_intent_unexpected_state', { payment_intent: intent(o) });
    }
    if (beh.kind === 'unknown') return err(400, 'invalid_request_error', 'something_new_and_unlisted');
    if (beh.kind === 'processing') return ok({ ...intent(o), status: 'processing' });
    if (beh.kind === 'badsign') return ok(stranger({ ...intent(o), status: 'canceled' }));
    return ok(intent(o));
  }

  function refundAnswer(p, beh) {
    let rf = refunds.get(p.key);
    if (p.list !== undefined) {
      const data = [...refunds.values()].filter((x) => x.payment_intent === p.list);
      if (beh.kind === 'not_found') return ok({ object: 'list', data: [], has_more: false });
      return ok({ object: 'list', data: data.map((x) => (beh.kind === 'badsign' ? stranger(x) : x)), has_more: false });
    }
    if (beh.kind === 'not_found' || !rf) return err(404, 'invalid_request_error', 'resource_missing');
    const st = { fail: 'failed', processing: 'pending', unknown: 'something_new', closed: 'canceled' }[beh.kind];
    rf = st ? { ...rf, status: st } : rf;
    return ok(beh.kind === 'badsign' ? stranger(rf) : rf);
  }

  function event(o, type, obj) {
    return { id: `evt_${crypto.randomBytes(12).toString('hex')}`, object: 'event', api_version: '2026-10-28.endive', created: Math.floor(Date.now() / 1000), type, livemode: false, pending_webhooks: 1, data: { object: obj } };
  }

  return {
    parse(req) {
      const problems = [];
      let body = {};
      if (req.raw.length) {
        try {
          body = decodeForm(req.raw.toString('utf8'));
        } catch (e) {
          problems.push(e.message);
        }
      }
      const r = route(req, body);
      return { ...r, label: r.op ? OPS[r.op] : `${req.method} ${req.path}`, body, problems, fields: { form: body } };
    },

    verify(req, p) {
      const auth = String(req.headers.authorization || '');
      const want = `Bearer ${apiKey}`;
      const authOk = auth.length === want.length && crypto.timingSafeEqual(Buffer.from(auth), Buffer.from(want));
      if (!authOk) return { ok: false, reason: 'bad api key', signString: '' };
      if (req.method !== 'POST') return { ok: true, signString: '' };
      const ours = req.raw.toString('utf8');
      const sdk = queryStringifyRequestData(p.body);
      let same = false;
      try {
        same = canon(decodeForm(sdk)) === canon(p.body);
      } catch (_) {
        same = false;
      }
      return { ok: same, reason: same ? '' : 'body does not round-trip through the stripe SDK encoder', signString: sdk, ours };
    },

    check(req, p, v) {
      const s = String(req.headers.authorization || '');
      if (!/^Bearer /.test(s) || v.reason === 'bad api key') {
        return { reason: 'invalid-api-key', badSign: true, reply: err(401, 'invalid_request_error', null, { message: 'Invalid API Key provided' }) };
      }
      if (!p.op) return { reason: 'no-route', reply: err(404, 'invalid_request_error', 'resource_missing') };
      if (!req.headers['stripe-version']) p.problems.push('no Stripe-Version header');
      if (req.method === 'POST') {
        if (!/^application\/x-www-form-urlencoded/.test(String(req.headers['content-type'] || ''))) {
          return { reason: 'content-type', reply: err(400, 'invalid_request_error', 'parameter_invalid_empty') };
        }
        if (!v.ok) return { reason: 'form-encoding', reply: err(400, 'invalid_request_error', 'parameter_unknown') };
        const key = req.headers['idempotency-key'];
        if (!key) p.problems.push('POST without Idempotency-Key');
        else if (idem.has(key)) {
          const prev = idem.get(key);
          if (prev.body !== canon(p.body) || prev.path !== req.path) {
            return { reason: 'idempotency-mismatch', reply: err(400, 'idempotency_error', null, { message: 'Keys for idempotent requests can only be used with the same parameters' }) };
          }
          p.replay = prev;
        }
      }
      if (p.op === 'pay') {
        const a = Number(p.body.amount);
        if (!Number.isInteger(a) || a < 1 || !/^[a-z]{3}$/.test(p.body.currency || '')) {
          return { reason: 'parameter', reply: err(400, 'invalid_request_error', 'parameter_invalid_integer') };
        }
        if (!p.key) return { reason: 'no-metadata', reply: err(400, 'invalid_request_error', 'parameter_missing') };
      }
      if (p.op === 'refund' && (!p.key || !byPi.has(p.body.payment_intent))) {
        return { reason: 'refund-target', reply: err(404, 'invalid_request_error', 'resource_missing') };
      }
      return null;
    },

    // a create / confirm / cancel / refund that reached Stripe changes state whatever its answer
    receive(req, p, beh) {
      if (p.replay) return;
      if (p.op === 'pay' && !orders.has(p.key) && beh.kind !== 'not_found' && beh.kind !== 'rejected') {
        orders.set(p.key, newPi(p.key, p.body));
      }
      const o = orders.get(p.key);
      if ((p.op === 'pay' || p.op === 'confirm') && o && o.pi.status !== 'succeeded' && o.pi.status !== 'canceled') {
        const confirming = p.op === 'confirm' || p.body.confirm === 'true';
        if (confirming && (beh.kind === 'fail')) decline(o);
        else if (confirming && (beh.kind === 'fail_canceled' || beh.kind === 'closed')) o.pi.status = 'canceled';
        else if (confirming && beh.kind !== 'processing' && beh.kind !== 'unknown' && beh.kind !== 'rejected') succeed(o);
        else if (confirming && beh.kind === 'processing') o.pi.status = 'processing';
      }
      if (p.op === 'close' && o && beh.kind !== 'fail' && beh.kind !== 'not_found' && o.pi.status !== 'succeeded') {
        o.pi.status = 'canceled';
        o.pi.cancellation_reason = p.body.cancellation_reason || null;
      }
      if (p.op === 'refund' && !refunds.has(p.key) && beh.kind !== 'not_found') {
        newRefund(p, beh.kind === 'fail' ? 'failed' : beh.kind === 'processing' ? 'pending' : 'succeeded');
      }
    },

    answer(req, p, beh) {
      if (p.replay) return p.replay.reply;
      let reply;
      if (p.op === 'pay' || p.op === 'confirm') reply = payAnswer(p, beh);
      else if (p.op === 'query') reply = queryAnswer(p, beh);
      else if (p.op === 'close') reply = closeAnswer(p, beh);
      else reply = refundAnswer(p, beh);
      const key = req.headers['idempotency-key'];
      if (req.method === 'POST' && key && reply.status !== 400) idem.set(key, { body: canon(p.body), path: req.path, reply });
      return reply;
    },

    headers() {
      return { 'content-type': 'application/json', 'request-id': `req_${crypto.randomBytes(7).toString('hex')}`, 'stripe-version': '2026-10-28.endive' };
    },

    newOrder(otn, body) {
      return newPi(otn, { amount: Number(body.amount || 100), currency: body.currency || 'usd' });
    },

    pay(o) {
      if (o.pi.status === 'canceled') return { status: 409, error: `payment_intent ${o.pi.id} is canceled at the sim` };
      succeed(o);
      return null;
    },

    // valid: payment_intent.succeeded (or body.type) and the state moves; forged: another
    // secret; contrary: the opposite outcome, genuinely signed, state untouched.
    notification(o, kind, body) {
      const paid = o.pi.status === 'succeeded';
      let type = body.type || (kind === 'contrary' ? (paid ? 'payment_intent.canceled' : 'payment_intent.succeeded') : 'payment_intent.succeeded');
      if (!/^payment_intent\.[a-z_]+$/.test(type)) throw new ControlError(400, `type must be payment_intent.*, got ${type}`);
      if (kind === 'valid' && body.set_state !== false) {
        if (type === 'payment_intent.succeeded') succeed(o);
        if (type === 'payment_intent.canceled') o.pi.status = 'canceled';
        if (type === 'payment_intent.payment_failed') decline(o);
      }
      let pi = intent(o);
      if (kind === 'contrary') pi = { ...pi, status: type === 'payment_intent.succeeded' ? 'succeeded' : 'canceled', amount_received: type === 'payment_intent.succeeded' ? pi.amount : 0 };
      for (const [k, v] of Object.entries(body.overrides || {})) if (v === null) delete pi[k]; else pi[k] = v;
      type = body.type || type;
      const evt = event(o, type, pi);
      const payload = JSON.stringify(evt);
      const secret = kind === 'forged' ? `whsec_${crypto.randomBytes(16).toString('hex')}` : whsec;
      const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
      if (kind !== 'forged') stripe.webhooks.constructEvent(payload, header, whsec); // throws on a sim bug
      return { headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' }, body: payload, params: evt, notify_id: evt.id };
    },

    view(o) {
      return o && { out_trade_no: o.out_trade_no, notify_url: o.notify_url, payment_intent: o.pi };
    },

    reset() {
      idem.clear();
      byPi.clear();
      refunds.clear();
      refundIds.clear();
    },

    controls: {
      'GET /refunds': () => ({ refunds: [...refunds.values()] }),
    },
  };
}

module.exports = {
  name: 'stripe',
  sdks: ['stripe'],
  ops: OPS,
  behaviours: {
    fail_canceled: () => ({}),
    rejected: () => ({}),
    status: (arg) => {
      if (!/^[a-z_]+$/.test(arg || '')) throw new Error('status:<payment_intent status>');
      return { status: arg };
    },
  },
  routes: ['/v1/'],
  setup,
};
