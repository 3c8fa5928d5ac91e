'use strict';
// PayPal REST channel plugin (mount /paypal): OAuth2 client credentials, Orders v2
// (create / capture / get), Payments v2 (refund a capture, get a refund) and signed
// webhooks.
//
// Ops: token (POST /v1/oauth2/token), pay (POST /v2/checkout/orders, keyed by
// purchase_units[0].custom_id, else reference_id), capture (POST
// /v2/checkout/orders/<id>/capture), query (GET /v2/checkout/orders/<id>), refund (POST
// /v2/payments/captures/<capture id>/refund, keyed by invoice_id = out_refund_no),
// refund_query (GET /v2/payments/refunds/<id>).
//
// No SDK check: PayPal's current server SDK (@paypal/paypal-server-sdk) is not installed
// and has no webhook helper; the deprecated ones only call the online verify API. So this
// plugin implements PayPal's published rules independently with node:crypto + node:zlib:
//   * requests: `Authorization: Basic base64(client_id:secret)` on the token call, then
//     `Authorization: Bearer <token this sim issued, unexpired>` (a wrong / stale token ->
//     401 invalid_token, counted bad_sign). Shapes per the Orders v2 reference (intent,
//     purchase_units[].amount {currency_code, value with the currency's decimals}).
//   * PayPal-Request-Id (developer.paypal.com/api/rest/reference/idempotency/): a POST
//     repeated with the same id answers the first call's resource again, no second order /
//     capture / refund.
//   * webhooks ("Verify the signature on your own", developer.paypal.com/api/rest/webhooks/rest/):
//     PAYPAL-TRANSMISSION-SIG = base64 SHA256withRSA over
//     `<transmission id>|<transmission time>|<webhook id>|<crc32 of the raw body, unsigned
//     decimal>` (CRC-32 = zlib.crc32), with PAYPAL-CERT-URL naming the certificate; every
//     genuine notification is verified with the certificate before it is sent.
// PayPal signs no API answer, so `badsign` is the success answer about ANOTHER order (the
// pack must notice it is not about its request).
//
// Behaviours: success (the state as it is; capture of an APPROVED order -> COMPLETED),
// fail (pay 422 CURRENCY_NOT_SUPPORTED; capture and query: capture DECLINED; refund 422
// REFUND_AMOUNT_EXCEEDED; refund_query FAILED; token 401 invalid_client), processing (pay
// SAVED, capture PENDING, query APPROVED, refund / refund_query PENDING), closed (query
// VOIDED, refund_query CANCELLED), unknown (a status PayPal never documented), not_found
// (404 RESOURCE_NOT_FOUND / INVALID_RESOURCE_ID), badsign (see above), expired_token (401
// invalid_token whatever the token), status:<S> (forces the resource status).
// `/_sim/pay` = the buyer approves (APPROVED); with `"capture": true` it is captured too.
// Control: POST /_sim/paypal/expire-tokens revokes every issued token.
//
// Keys (<keys>/paypal/, generated when missing): client_id.txt, client_secret.txt (paygw's
// keystore: the secret as `<name>.secret`), webhook_id.txt, webhook_private.pem +
// webhook_cert.pem (self-signed, made with the openssl CLI; paygw's keystore: the cert),
// cert_url.txt (the PAYPAL-CERT-URL the sim sends; paygw: param webhook_cert_url).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { execFileSync } = require('node:child_process');

const ZERO_DECIMAL = new Set(['HUF', 'JPY', 'TWD']);
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const API = 'https://api-m.paypal.com';

const ppId = (n = 17) => Array.from(crypto.randomBytes(n), (x) => UPPER[x % UPPER.length]).join('');
const isoNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

if (typeof zlib.crc32 !== 'function') {
  throw new Error('paypal plugin needs node:zlib.crc32 (node >= 20.15)');
}

function readOrMake(file, make) {
  if (!fs.existsSync(file)) fs.writeFileSync(file, make(), { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

function loadKeys(keysDir) {
  fs.mkdirSync(keysDir, { recursive: true });
  const f = (n) => path.join(keysDir, n);
  const clientId = readOrMake(f('client_id.txt'), () => `A${ppId(40)}\n`);
  const clientSecret = readOrMake(f('client_secret.txt'), () => `E${ppId(40)}\n`);
  const webhookId = readOrMake(f('webhook_id.txt'), () => `${ppId(17)}\n`);
  if (!fs.existsSync(f('webhook_private.pem')) || !fs.existsSync(f('webhook_cert.pem'))) {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(f('webhook_private.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    execFileSync('openssl', ['req', '-x509', '-key', f('webhook_private.pem'), '-days', '3650',
      '-subj', '/C=US/O=paygw simulator (TEST ONLY)/CN=messageverificationcerts.sandbox.paypal.com',
      '-out', f('webhook_cert.pem')], { stdio: 'ignore' });
  }
  const certUrl = readOrMake(f('cert_url.txt'),
    () => `https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-${ppId(8).toLowerCase()}\n`);
  const privateKey = crypto.createPrivateKey(fs.readFileSync(f('webhook_private.pem')));
  const cert = new crypto.X509Certificate(fs.readFileSync(f('webhook_cert.pem')));
  return { clientId, clientSecret, webhookId, privateKey, cert, certUrl };
}

function json(status, obj, extra = {}) {
  return { status, headers: { 'content-type': 'application/json', 'paypal-debug-id': ppId(13).toLowerCase(), ...extra },
    body: JSON.stringify(obj) };
}

function ppError(status, name, issue, message) {
  return json(status, {
    name, message: message || name, debug_id: ppId(13).toLowerCase(),
    ...(issue ? { details: [{ issue, description: issue.toLowerCase().replace(/_/g, ' ') }] } : {}),
    links: [{ href: `https://developer.paypal.com/docs/api/orders/v2/#error-${issue || name}`, rel: 'information_link', method: 'GET' }],
  });
}

const notFound = () => ppError(404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID', 'The specified resource does not exist.');

function bodyOf(req) {
  if (!req.raw.length) return {};
  try {
    return JSON.parse(req.raw.toString('utf8'));
  } catch {
    return null;
  }
}

// amount {currency_code, value}: the currency's decimals at most, positive
function amountIssue(a) {
  if (!a || typeof a !== 'object' || typeof a.currency_code !== 'string' || typeof a.value !== 'string') {
    return 'MISSING_REQUIRED_PARAMETER';
  }
  if (!/^[A-Z]{3}$/.test(a.currency_code)) return 'INVALID_CURRENCY_CODE';
  if (!/^\d{1,10}(\.\d+)?$/.test(a.value)) return 'INVALID_PARAMETER_SYNTAX';
  const dec = (a.value.split('.')[1] || '').length;
  if (dec > (ZERO_DECIMAL.has(a.currency_code) ? 0 : 2)) return 'DECIMAL_PRECISION';
  if (Number(a.value) <= 0) return 'CANNOT_BE_ZERO_OR_NEGATIVE';
  return null;
}

function setup({ keysDir, orders, options, log }) {
  const k = loadKeys(keysDir);
  const forgedKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const tokens = new Map();         // access token -> expiry ms
  const byId = new Map();           // order id -> key
  const captures = new Map();       // capture id -> key
  const refunds = new Map();        // refund id -> {key, refund}
  const requestIds = new Map();     // PayPal-Request-Id -> {op, key, ...}

  const captureJson = (o) => o.capture && {
    id: o.capture.id, status: o.capture.status, amount: o.amount, final_capture: true,
    custom_id: o.key, seller_protection: { status: 'ELIGIBLE' },
    create_time: o.capture.time, update_time: o.capture.time,
    links: [{ href: `${API}/v2/payments/captures/${o.capture.id}`, rel: 'self', method: 'GET' },
      { href: `${API}/v2/payments/captures/${o.capture.id}/refund`, rel: 'refund', method: 'POST' }],
  };

  const orderJson = (o, status = o.status, capStatus) => {
    const pu = { reference_id: o.reference_id, custom_id: o.key, amount: o.amount, description: o.description };
    const cap = captureJson(o);
    if (cap && status === 'COMPLETED') pu.payments = { captures: [{ ...cap, status: capStatus || cap.status }] };
    return {
      id: o.id, intent: o.intent, status, purchase_units: [pu], create_time: o.createTime,
      ...(status === 'COMPLETED' ? { payer: { payer_id: 'SIMPAYER01', email_address: 'buyer@example.com' } } : {}),
      links: [{ href: `${API}/v2/checkout/orders/${o.id}`, rel: 'self', method: 'GET' },
        ...(status === 'PAYER_ACTION_REQUIRED' || status === 'CREATED'
          ? [{ href: `https://www.sandbox.paypal.com/checkoutnow?token=${o.id}`,
            rel: status === 'CREATED' ? 'approve' : 'payer-action', method: 'GET' }] : []),
        ...(status === 'APPROVED' ? [{ href: `${API}/v2/checkout/orders/${o.id}/capture`, rel: 'capture', method: 'POST' }] : []),
      ],
    };
  };

  const refundJson = (o, r, status = r.status) => ({
    id: r.id, status, amount: r.amount, invoice_id: r.invoice_id, custom_id: r.custom_id,
    note_to_payer: r.note, create_time: r.time, update_time: r.time,
    links: [{ href: `${API}/v2/payments/refunds/${r.id}`, rel: 'self', method: 'GET' },
      { href: `${API}/v2/payments/captures/${o.capture.id}`, rel: 'up', method: 'GET' }],
  });

  function newOrder(key, b) {
    const pu = b.purchase_units[0];
    const o = {
      id: ppId(), key, reference_id: pu.reference_id || 'default', intent: b.intent || 'CAPTURE',
      amount: pu.amount, description: pu.description,
      status: b.payment_source ? 'PAYER_ACTION_REQUIRED' : 'CREATED',
      createTime: isoNow(), capture: null, refunds: [],
      notify_url: options.webhook_url || '',
    };
    orders.set(key, o);
    byId.set(o.id, key);
    return o;
  }

  function capture(o, status) {
    o.status = 'COMPLETED';
    o.capture = { id: ppId(), status, time: isoNow() };
    captures.set(o.capture.id, o.key);
  }

  const other = () => {
    const o = { id: ppId(), key: `OTHER-${ppId(6)}`, reference_id: 'default', intent: 'CAPTURE',
      amount: { currency_code: 'USD', value: '1.00' }, status: 'PAYER_ACTION_REQUIRED', createTime: isoNow(), refunds: [] };
    o.capture = { id: ppId(), status: 'COMPLETED', time: isoNow() };
    return o;
  };

  // one signed webhook (genuine key unless forged); the genuine ones are self-checked
  function signWebhook(event, forged) {
    const text = JSON.stringify(event);
    const tid = crypto.randomUUID();
    const time = isoNow();
    const msg = `${tid}|${time}|${k.webhookId}|${zlib.crc32(Buffer.from(text))}`;
    const sig = crypto.sign('sha256', Buffer.from(msg), forged ? forgedKey : k.privateKey).toString('base64');
    if (!forged && !crypto.verify('sha256', Buffer.from(msg), k.cert.publicKey, Buffer.from(sig, 'base64'))) {
      throw new Error('paypal: webhook signature does not verify with the webhook certificate');
    }
    return {
      headers: {
        'content-type': 'application/json',
        'paypal-transmission-id': tid,
        'paypal-transmission-time': time,
        'paypal-transmission-sig': sig,
        'paypal-cert-url': k.certUrl,
        'paypal-auth-algo': 'SHA256withRSA',
        'user-agent': 'PayPal/AUHD-214.0-58792133',
      },
      body: text,
      tid,
    };
  }

  return {
    parse(req) {
      const b = bodyOf(req);
      const seg = req.path.split('/').filter(Boolean);
      const label = `${req.method} /${seg.join('/')}`;
      const none = { op: null, key: '', label, body: b };
      const p = seg.join('/');
      if (req.method === 'POST' && p === 'v1/oauth2/token') return { op: 'token', key: 'oauth2', body: b };
      if (req.method === 'POST' && p === 'v2/checkout/orders') {
        const pu = b && Array.isArray(b.purchase_units) && b.purchase_units[0];
        return { op: 'pay', key: (pu && (pu.custom_id || pu.reference_id)) || '', body: b };
      }
      if (seg[0] === 'v2' && seg[1] === 'checkout' && seg[2] === 'orders' && seg[3]) {
        const key = byId.get(seg[3]) || seg[3];
        if (req.method === 'POST' && seg[4] === 'capture' && seg.length === 5) return { op: 'capture', key, oid: seg[3], body: b };
        if (req.method === 'GET' && seg.length === 4) return { op: 'query', key, oid: seg[3], body: b };
      }
      if (req.method === 'POST' && seg[0] === 'v2' && seg[1] === 'payments' && seg[2] === 'captures' && seg[4] === 'refund' && seg.length === 5) {
        const okey = captures.get(seg[3]) || '';
        return { op: 'refund', key: (b && b.invoice_id) || okey || seg[3], okey, cid: seg[3], body: b };
      }
      if (req.method === 'GET' && p.startsWith('v2/payments/refunds/') && seg.length === 4) {
        const r = refunds.get(seg[3]);
        return { op: 'refund_query', key: r ? r.rkey : seg[3], okey: r ? r.key : '', rid: seg[3], body: b };
      }
      return none;
    },

    verify(req, p) {
      const auth = String(req.headers.authorization || '');
      if (p.op === 'token') {
        const want = `Basic ${Buffer.from(`${k.clientId}:${k.clientSecret}`).toString('base64')}`;
        return { ok: auth === want, signString: 'Basic client_id:secret' };
      }
      const m = /^Bearer (\S+)$/.exec(auth);
      const exp = m && tokens.get(m[1]);
      return { ok: Boolean(exp && exp > Date.now()), signString: 'Bearer <token>' };
    },

    check(req, p, v) {
      if (!p.op) return { reason: 'no-route', reply: { status: 404, headers: { 'content-type': 'application/json' }, body: '' } };
      if (p.op === 'token') {
        if (!v.ok) return { reason: 'bad-client', badSign: true, reply: json(401, { error: 'invalid_client', error_description: 'Client Authentication failed' }) };
        if (req.raw.toString('utf8') !== 'grant_type=client_credentials') {
          return { reason: 'grant_type', reply: json(400, { error: 'unsupported_grant_type', error_description: 'Grant Type is NULL' }) };
        }
        return null;
      }
      if (!v.ok) {
        return { reason: 'bad-token', badSign: true,
          reply: json(401, { error: 'invalid_token', error_description: 'Token signature verification failed' }) };
      }
      if (p.body === null) return { reason: 'bad-json', reply: ppError(400, 'INVALID_REQUEST', 'MALFORMED_REQUEST_JSON') };
      if (req.method === 'POST' && !/^application\/json\b/.test(String(req.headers['content-type'] || ''))) {
        return { reason: 'content-type', reply: ppError(415, 'UNSUPPORTED_MEDIA_TYPE', null, 'The request payload is not supported') };
      }
      if (p.op === 'pay') {
        const b = p.body;
        if (b.intent !== 'CAPTURE' && b.intent !== 'AUTHORIZE') {
          return { reason: 'invalid:intent', reply: ppError(400, 'INVALID_REQUEST', b.intent ? 'INVALID_PARAMETER_VALUE' : 'MISSING_REQUIRED_PARAMETER') };
        }
        if (!Array.isArray(b.purchase_units) || b.purchase_units.length === 0) {
          return { reason: 'invalid:purchase_units', reply: ppError(400, 'INVALID_REQUEST', 'MISSING_REQUIRED_PARAMETER') };
        }
        const issue = amountIssue(b.purchase_units[0].amount);
        if (issue) {
          const st = issue === 'DECIMAL_PRECISION' || issue === 'CANNOT_BE_ZERO_OR_NEGATIVE' ? 422 : 400;
          return { reason: `invalid:${issue}`, reply: ppError(st, st === 422 ? 'UNPROCESSABLE_ENTITY' : 'INVALID_REQUEST', issue) };
        }
        if (b.payment_source && !req.headers['paypal-request-id']) {
          return { reason: 'request-id', reply: ppError(400, 'INVALID_REQUEST', 'PAYPAL_REQUEST_ID_REQUIRED') };
        }
      }
      if (p.op === 'refund' && p.body.amount !== undefined) {
        const issue = amountIssue(p.body.amount);
        if (issue) return { reason: `invalid:${issue}`, reply: ppError(422, 'UNPROCESSABLE_ENTITY', issue) };
      }
      return null;
    },

    receive(req, p, beh) {
      const rid = req.headers['paypal-request-id'];
      if (rid && requestIds.has(rid)) {
        p.replayed = requestIds.get(rid);
        return;
      }
      const kind = beh.kind;
      if (kind === 'fail' && p.op !== 'capture') return;
      if (kind === 'not_found' || kind === 'expired_token') return;
      if (p.op === 'token') {
        p.token = `A21AA${ppId(60)}`;
        tokens.set(p.token, Date.now() + 32400 * 1000);
      } else if (p.op === 'pay') {
        p.order = orders.get(p.key) || newOrder(p.key, p.body);
        if (rid) requestIds.set(rid, { op: 'pay', key: p.key });
      } else if (p.op === 'capture') {
        const o = orders.get(p.key);
        if (!o || o.id !== p.oid || o.status !== 'APPROVED') return;
        capture(o, kind === 'fail' ? 'DECLINED' : kind === 'processing' ? 'PENDING' : 'COMPLETED');
        p.captured = true;
        if (rid) requestIds.set(rid, { op: 'capture', key: p.key });
      } else if (p.op === 'refund') {
        const o = orders.get(p.okey);
        if (!o || !o.capture || o.capture.id !== p.cid) return;
        const r = { id: ppId(), status: kind === 'processing' ? 'PENDING' : 'COMPLETED', time: isoNow(),
          amount: p.body.amount || o.amount, invoice_id: p.body.invoice_id, custom_id: p.body.custom_id, note: p.body.note_to_payer };
        o.refunds.push(r);
        refunds.set(r.id, { key: o.key, rkey: p.key, refund: r });
        p.refund = r;
        if (rid) requestIds.set(rid, { op: 'refund', key: p.key, okey: o.key, refund: r });
      }
    },

    answer(req, p, beh) {
      const kind = beh.kind;
      const forced = kind === 'status' ? beh.status : null;
      const full = String(req.headers.prefer || '').includes('return=representation');
      if (kind === 'expired_token') return json(401, { error: 'invalid_token', error_description: 'Access Token not found in cache' });
      if (p.op === 'token') {
        if (kind === 'fail') return json(401, { error: 'invalid_client', error_description: 'Client Authentication failed' });
        if (kind === 'unknown') return json(400, { error: 'something_new', error_description: 'new' });
        if (kind === 'not_found') return json(404, { error: 'not_found' });
        return json(200, { scope: 'https://uri.paypal.com/services/payments/payment', access_token: p.token,
          token_type: 'Bearer', app_id: 'APP-80W284485P519543T', expires_in: 32400, nonce: `${isoNow()}${ppId(10)}` });
      }
      if (kind === 'not_found') return notFound();
      if (kind === 'badsign') {
        const o2 = other();
        if (p.op === 'refund' || p.op === 'refund_query') {
          const r2 = { id: ppId(), status: 'COMPLETED', time: isoNow(), amount: o2.amount, invoice_id: `OTHER-${ppId(6)}`, custom_id: o2.key };
          return json(p.op === 'refund' ? 201 : 200, refundJson(o2, r2));
        }
        return json(p.op === 'query' ? 200 : 201, orderJson(o2, p.op === 'pay' ? 'PAYER_ACTION_REQUIRED' : 'COMPLETED'));
      }
      if (p.op === 'pay') {
        if (kind === 'fail') return ppError(422, 'UNPROCESSABLE_ENTITY', 'CURRENCY_NOT_SUPPORTED', 'Currency code is not supported');
        const o = p.order || orders.get(p.replayed.key);
        const st = forced || { processing: 'SAVED', unknown: 'SOMETHING_NEW', closed: 'VOIDED' }[kind] || o.status;
        const body = orderJson(o, st);
        return json(p.replayed ? 200 : 201, full ? body : { id: body.id, status: body.status, links: body.links });
      }
      if (p.op === 'capture' || p.op === 'query') {
        const o = orders.get(p.key);
        if (!o || o.id !== p.oid) return notFound();
        if (p.op === 'capture' && !p.captured && !p.replayed) {
          if (o.status === 'COMPLETED') return ppError(422, 'UNPROCESSABLE_ENTITY', 'ORDER_ALREADY_CAPTURED', 'Order already captured.');
          return ppError(422, 'UNPROCESSABLE_ENTITY', 'ORDER_NOT_APPROVED', 'Payer has not yet approved the Order for payment.');
        }
        if (p.op === 'capture') {
          const body = orderJson(o, 'COMPLETED', forced || (kind === 'unknown' ? 'SOMETHING_NEW' : undefined));
          return json(p.replayed ? 200 : 201, body);
        }
        if (kind === 'fail') {
          if (!o.capture) o.capture = { id: ppId(), status: 'DECLINED', time: isoNow() };
          return json(200, orderJson(o, 'COMPLETED', 'DECLINED'));
        }
        const st = forced || { processing: 'APPROVED', unknown: 'SOMETHING_NEW', closed: 'VOIDED' }[kind] || o.status;
        return json(200, orderJson(o, st));
      }
      if (p.op === 'refund') {
        if (kind === 'fail') return ppError(422, 'UNPROCESSABLE_ENTITY', 'REFUND_AMOUNT_EXCEEDED', 'The refund amount must be less than or equal to the capture amount that has not yet been refunded.');
        const r = p.refund || (p.replayed && p.replayed.refund);
        const o = orders.get(p.okey || (p.replayed && p.replayed.okey));
        if (!r || !o) return notFound();
        const st = forced || { unknown: 'SOMETHING_NEW', closed: 'CANCELLED' }[kind] || r.status;
        return json(p.replayed ? 200 : 201, refundJson(o, r, st));
      }
      // refund_query
      const rr = refunds.get(p.rid);
      if (!rr) return notFound();
      const o = orders.get(rr.key);
      const st = forced || { fail: 'FAILED', processing: 'PENDING', unknown: 'SOMETHING_NEW', closed: 'CANCELLED' }[kind] || rr.refund.status;
      if (kind === 'success' && rr.refund.status === 'PENDING') rr.refund.status = 'COMPLETED';
      return json(200, refundJson(o, rr.refund, kind === 'success' ? rr.refund.status : st));
    },

    headers: () => ({ 'content-type': 'application/json' }),

    newOrder(key, body) {
      const cur = body.currency || 'USD';
      return newOrder(key, { intent: 'CAPTURE', payment_source: { paypal: {} },
        purchase_units: [{ custom_id: key, reference_id: key, amount: { currency_code: cur, value: body.total_amount || '10.00' } }] });
    },

    pay(o, body) {
      if (o.status === 'VOIDED' || o.status === 'COMPLETED') return { status: 409, error: `order ${o.id} is ${o.status} at the sim` };
      o.status = 'APPROVED';
      if (body && body.capture) capture(o, 'COMPLETED');
      return null;
    },

    notification(o, kind, body) {
      const genuine = kind !== 'forged';
      let type = 'PAYMENT.CAPTURE.COMPLETED';
      let capStatus = 'COMPLETED';
      if (kind === 'contrary') {
        const paid = o.capture && o.capture.status === 'COMPLETED';
        type = paid ? 'PAYMENT.CAPTURE.DENIED' : 'PAYMENT.CAPTURE.COMPLETED';
        capStatus = paid ? 'DECLINED' : 'COMPLETED';
      }
      if (kind === 'valid' && body.set_state !== false && !(o.capture && o.capture.status === 'COMPLETED')) {
        if (o.status !== 'APPROVED') o.status = 'APPROVED';
        capture(o, 'COMPLETED');
      }
      const cap = o.capture || { id: ppId(), status: capStatus, time: isoNow() };
      const resource = {
        id: cap.id, status: capStatus, amount: o.amount, final_capture: true, custom_id: o.key,
        supplementary_data: { related_ids: { order_id: o.id } },
        create_time: cap.time, update_time: cap.time,
        links: [{ href: `${API}/v2/payments/captures/${cap.id}`, rel: 'self', method: 'GET' }],
        ...(body.overrides || {}),
      };
      for (const key of Object.keys(resource)) if (resource[key] === null) delete resource[key];
      const event = {
        id: `WH-${ppId(17)}-${ppId(17)}`, event_version: '1.0', create_time: isoNow(),
        resource_type: 'capture', resource_version: '2.0', event_type: type,
        summary: `Payment ${capStatus.toLowerCase()} for ${o.amount.value} ${o.amount.currency_code}`,
        resource,
        links: [{ href: `${API}/v1/notifications/webhooks-events/WH-x`, rel: 'self', method: 'GET' }],
      };
      const w = signWebhook(event, !genuine);
      log(`paypal webhook ${kind} ${type} ${w.tid}`);
      return { headers: w.headers, body: w.body, params: { event_type: type, transmission_id: w.tid, custom_id: o.key }, notify_id: event.id };
    },

    view(o) {
      return o;
    },

    reset() {
      byId.clear();
      captures.clear();
      refunds.clear();
      requestIds.clear();
    },

    controls: {
      'POST /expire-tokens': () => {
        const n = tokens.size;
        tokens.clear();
        return { revoked: n };
      },
    },
  };
}

module.exports = {
  name: 'paypal',
  sdks: [],
  ops: {
    token: 'paypal.oauth2.token',
    pay: 'paypal.orders.create',
    capture: 'paypal.orders.capture',
    query: 'paypal.orders.get',
    refund: 'paypal.captures.refund',
    refund_query: 'paypal.refunds.get',
  },
  behaviours: {
    expired_token: () => ({}),
    status: (arg) => {
      if (!/^[A-Z_]{1,40}$/.test(arg || '')) throw new Error('status:<PAYPAL_STATUS> expected');
      return { status: arg };
    },
  },
  routes: ['/v1/', '/v2/'],
  setup,
};
