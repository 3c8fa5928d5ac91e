'use strict';
// WeChat Pay API v3 channel plugin (mount /wechatpay_v3, API under /wechatpay_v3/v3/):
//   POST /v3/pay/transactions/{native,jsapi,h5,app}          pay (key out_trade_no)
//   GET  /v3/pay/transactions/out-trade-no/{no}?mchid=        query
//   GET  /v3/pay/transactions/id/{transaction_id}?mchid=      query
//   POST /v3/pay/transactions/out-trade-no/{no}/close         close (204)
//   POST /v3/refund/domestic/refunds                          refund (key out_refund_no)
//   GET  /v3/refund/domestic/refunds/{out_refund_no}          refund_query
//   POST /v3/transfer/batches                                 payout (key out_batch_no)
//   GET  /v3/transfer/batches/out-batch-no/{b}/details/out-detail-no/{d}   payout_query
//
// Checked and signed with the channel's SDK, wechatpay-axios-plugin@0.9.6:
//   Formatter.request(method, path+query, ts, nonce, body) + Rsa.verify(…, merchant public
//     key)  our Authorization: WECHATPAY2-SHA256-RSA2048 mchid,serial_no,timestamp,
//     nonce_str,signature (mchid, merchant serial and a 5-minute timestamp window checked)
//   Formatter.response(ts, nonce, body) + Rsa.sign(…, platform key)  answers and notifies
//     (Wechatpay-Timestamp/-Nonce/-Signature/-Serial); re-verified with Rsa.verify before
//     sending (throws otherwise)
//   Aes.AesGcm.encrypt(plain, APIv3 key, nonce, associated_data)   notify `resource`
//   Rsa.decrypt (OAEP)  the payout's encrypted user_name, with the platform private key
// The platform side runs in WeChat Pay public-key mode: Wechatpay-Serial = PUB_KEY_ID_….
//
// Gateway checks: unknown route -> 404 NOT_FOUND; missing/bad Authorization -> 401
// SIGN_ERROR (signed, counted bad_sign); other mchid -> 400 MCH_NOT_EXISTS; malformed body
// -> 400 PARAM_ERROR.
// Behaviours: success = the real state; fail = pay 400 ORDER_CLOSED, query PAYERROR, close
// 400 ORDERPAID, refund 403 NOT_ENOUGH, refund query CLOSED, payout 403 NOT_ENOUGH, payout
// query FAIL; processing = pay 429 FREQUENCY_LIMITED, close 500 SYSTEM_ERROR, query USERPAYING, refund /
// refund query PROCESSING, payout ACCEPTED, payout query PROCESSING; closed = query CLOSED;
// not_found = 404 ORDER_NOT_EXIST / RESOURCE_NOT_EXISTS / NOT_FOUND; unknown = a code or
// state WeChat never documented; badsign = the success answer signed with another key.
// Notifications: TRANSACTION.SUCCESS (valid / forged = other platform key / contrary =
// trade_state CLOSED); {"event":"refund"} REFUND.SUCCESS (contrary REFUND.CLOSED).
//
// Keys (<keys>/wechatpay_v3/, generated when missing): platform_private.pem,
// platform_public.pem, platform_serial.txt (the sim signs); merchant_private.pem,
// merchant_public.pem (the sim verifies with the public half; paygw's keystore needs the
// private one), merchant_serial.txt, apiv3_key.txt (32 chars; paygw: <name>.secret).
// Options: mchid (default 1230000109).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Rsa, Aes, Formatter } = require('wechatpay-axios-plugin');
const { ControlError } = require('../core/control_error');
const { postNotify } = require('../core/notify_sender');

const OPS = {
  pay: 'v3.pay.transactions', query: 'v3.pay.transactions.query', close: 'v3.pay.transactions.close',
  refund: 'v3.refund.domestic.refunds', refund_query: 'v3.refund.domestic.refunds.query',
  payout: 'v3.transfer.batches', payout_query: 'v3.transfer.batches.detail',
};
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const token = (n) => Array.from(crypto.randomBytes(n), (x) => ALNUM[x % ALNUM.length]).join('');
const digits = (n) => Array.from(crypto.randomBytes(n), (x) => String(x % 10)).join('');
const AUTH_RE = /^WECHATPAY2-SHA256-RSA2048 (.+)$/;

function rfc3339(ms = Date.now()) {
  return `${new Date(ms + 8 * 3600e3).toISOString().slice(0, 19)}+08:00`;
}

function loadKeys(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const file = (n) => path.join(dir, n);
  for (const who of ['platform', 'merchant']) {
    if (!fs.existsSync(file(`${who}_private.pem`))) {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      fs.writeFileSync(file(`${who}_private.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      fs.writeFileSync(file(`${who}_public.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
    }
  }
  const text = (n, make) => {
    if (!fs.existsSync(file(n))) fs.writeFileSync(file(n), `${make()}\n`, { mode: 0o600 });
    return fs.readFileSync(file(n), 'utf8').trim();
  };
  return {
    platformPrivate: Rsa.from(fs.readFileSync(file('platform_private.pem')), Rsa.KEY_TYPE_PRIVATE),
    platformPublic: Rsa.from(fs.readFileSync(file('platform_public.pem')), Rsa.KEY_TYPE_PUBLIC),
    merchantPublic: Rsa.from(fs.readFileSync(file('merchant_public.pem')), Rsa.KEY_TYPE_PUBLIC),
    platformSerial: text('platform_serial.txt', () => `PUB_KEY_ID_0112${digits(30)}`),
    merchantSerial: text('merchant_serial.txt', () => crypto.randomBytes(20).toString('hex').toUpperCase()),
    apiv3Key: text('apiv3_key.txt', () => token(32)),
  };
}

// {mchid, serial_no, timestamp, nonce_str, signature} from the Authorization header
function readAuthorization(h) {
  const m = AUTH_RE.exec(String(h || ''));
  if (!m) return null;
  const out = {};
  for (const part of m[1].split(',')) {
    const kv = /^\s*([a-z_]+)="([^"]*)"\s*$/.exec(part);
    if (!kv) return null;
    out[kv[1]] = kv[2];
  }
  return out;
}

function route(req) {
  const seg = req.path.split('/').filter(Boolean);   // ['v3', …]
  const m = req.method;
  const j = seg.join('/');
  let r;
  if (m === 'POST' && (r = /^v3\/pay\/transactions\/(native|jsapi|h5|app)$/.exec(j))) return { op: 'pay', kind: r[1] };
  if (m === 'GET' && (r = /^v3\/pay\/transactions\/out-trade-no\/([^/]+)$/.exec(j))) return { op: 'query', no: decodeURIComponent(r[1]) };
  if (m === 'GET' && (r = /^v3\/pay\/transactions\/id\/([^/]+)$/.exec(j))) return { op: 'query', txn: decodeURIComponent(r[1]) };
  if (m === 'POST' && (r = /^v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/.exec(j))) return { op: 'close', no: decodeURIComponent(r[1]) };
  if (m === 'POST' && j === 'v3/refund/domestic/refunds') return { op: 'refund' };
  if (m === 'GET' && (r = /^v3\/refund\/domestic\/refunds\/([^/]+)$/.exec(j))) return { op: 'refund_query', no: decodeURIComponent(r[1]) };
  if (m === 'POST' && j === 'v3/transfer/batches') return { op: 'payout' };
  if (m === 'GET' && (r = /^v3\/transfer\/batches\/out-batch-no\/([^/]+)\/details\/out-detail-no\/([^/]+)$/.exec(j))) {
    return { op: 'payout_query', no: decodeURIComponent(r[1]), detail: decodeURIComponent(r[2]) };
  }
  return { op: null };
}

function setup({ keysDir, options, orders, log }) {
  const K = loadKeys(keysDir);
  const forgedKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const mchid = options.mchid || '1230000109';
  const byTxn = new Map();        // transaction_id -> out_trade_no
  const byRefund = new Map();     // out_refund_no -> out_trade_no
  const payouts = new Map();      // out_batch_no -> batch

  // a platform-signed reply (body '' for 204), self-checked with the SDK
  function reply(status, obj, forged = false) {
    const body = obj === null ? '' : JSON.stringify(obj);
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = token(32);
    const signature = Rsa.sign(Formatter.response(ts, nonce, body), forged ? forgedKey : K.platformPrivate);
    if (!forged && !Rsa.verify(Formatter.response(ts, nonce, body), signature, K.platformPublic)) {
      throw new Error('v3 answer self-check failed');
    }
    return { status, body, headers: { 'content-type': 'application/json', 'request-id': `08${digits(16)}`,
      'wechatpay-timestamp': ts, 'wechatpay-nonce': nonce, 'wechatpay-signature': signature, 'wechatpay-serial': K.platformSerial } };
  }
  const error = (status, code, forged) => reply(status, { code, message: `sim ${code}` }, forged);

  const txnJson = (o, state = o.state) => ({
    appid: o.appid, mchid, out_trade_no: o.out_trade_no, trade_type: o.trade_type, trade_state: state,
    trade_state_desc: state, bank_type: 'OTHERS', attach: '',
    ...(['SUCCESS', 'REFUND'].includes(state) ? { transaction_id: o.transaction_id, success_time: o.success_time,
      payer: { openid: o.openid || 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } } : {}),
    amount: { total: o.total, payer_total: o.total, currency: 'CNY', payer_currency: 'CNY' },
  });
  const refundJson = (o, r, status = r.status) => ({
    refund_id: r.refund_id, out_refund_no: r.out_refund_no, transaction_id: o.transaction_id || '', out_trade_no: o.out_trade_no,
    channel: 'ORIGINAL', user_received_account: '支付用户零钱', create_time: r.create_time, status,
    ...(status === 'SUCCESS' ? { success_time: rfc3339() } : {}),
    amount: { total: o.total, refund: r.refund, payer_total: o.total, payer_refund: r.refund, currency: 'CNY' },
  });

  function markPaid(o) {
    o.state = 'SUCCESS';
    o.transaction_id = o.transaction_id || `42000${digits(23)}`;
    o.success_time = rfc3339();
    byTxn.set(o.transaction_id, o.out_trade_no);
  }

  const answers = {
    pay(p, beh, o, forged) {
      switch (beh.kind) {
        case 'fail': return error(400, 'ORDER_CLOSED');
        case 'processing': return error(429, 'FREQUENCY_LIMITED');
        case 'not_found': return error(404, 'RESOURCE_NOT_EXISTS');
        case 'closed': return error(400, 'ORDER_CLOSED');
        case 'unknown': return error(400, 'SIM_UNDOCUMENTED_CODE');
        default: break;
      }
      const k = p.route.kind;
      if (k === 'native') return reply(200, { code_url: `weixin://wxpay/bizpayurl?pr=${o.prepay_id.slice(-9)}` }, forged);
      if (k === 'h5') return reply(200, { h5_url: `https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=${o.prepay_id}&package=${digits(10)}` }, forged);
      return reply(200, { prepay_id: o.prepay_id }, forged);
    },
    query(p, beh, o, forged) {
      if (beh.kind === 'not_found' || !o) return error(404, 'ORDER_NOT_EXIST', forged);
      const state = { fail: 'PAYERROR', processing: 'USERPAYING', closed: 'CLOSED', unknown: 'SIM_NEW_STATE' }[beh.kind]
        || beh.trade_state || o.state;
      return reply(200, txnJson(o, state), forged);
    },
    close(p, beh, o, forged) {
      if (beh.kind === 'not_found' || !o) return error(404, 'ORDER_NOT_EXIST', forged);
      if (beh.kind === 'processing') return error(500, 'SYSTEM_ERROR', forged);
      if (beh.kind === 'unknown') return error(400, 'SIM_UNDOCUMENTED_CODE', forged);
      if (beh.kind === 'fail' || o.state === 'SUCCESS') return error(400, 'ORDERPAID', forged);
      if (!forged) o.state = 'CLOSED';
      return reply(204, null, forged);
    },
    refund(p, beh, o, forged) {
      if (beh.kind === 'not_found' || !o) return error(404, 'RESOURCE_NOT_EXISTS', forged);
      if (beh.kind === 'fail') return error(403, 'NOT_ENOUGH', forged);
      if (beh.kind === 'unknown') return error(400, 'SIM_UNDOCUMENTED_CODE', forged);
      const r = o.refunds.get(p.key);
      return reply(200, refundJson(o, r, beh.kind === 'processing' ? 'PROCESSING' : r.status), forged);
    },
    refund_query(p, beh, o, forged) {
      const r = o && o.refunds.get(p.key);
      if (beh.kind === 'not_found' || !r) return error(404, 'RESOURCE_NOT_EXISTS', forged);
      const status = { fail: 'CLOSED', closed: 'CLOSED', processing: 'PROCESSING', unknown: 'SIM_NEW_STATUS' }[beh.kind];
      if (!status && !forged) r.status = 'SUCCESS';
      return reply(200, refundJson(o, r, status || 'SUCCESS'), forged);
    },
    payout(p, beh, o, forged) {
      if (beh.kind === 'fail') return error(403, 'NOT_ENOUGH', forged);
      if (beh.kind === 'unknown') return error(400, 'SIM_UNDOCUMENTED_CODE', forged);
      if (beh.kind === 'not_found') return error(404, 'NOT_FOUND', forged);
      const b = payouts.get(p.key);
      return reply(200, { out_batch_no: b.out_batch_no, batch_id: b.batch_id, create_time: b.create_time,
        batch_status: beh.kind === 'processing' ? 'PROCESSING' : 'ACCEPTED' }, forged);
    },
    payout_query(p, beh, o, forged) {
      const b = payouts.get(p.key);
      if (beh.kind === 'not_found' || !b || b.detail.out_detail_no !== p.route.detail) return error(404, 'NOT_FOUND', forged);
      const status = { fail: 'FAIL', processing: 'PROCESSING', closed: 'FAIL', unknown: 'SIM_NEW_STATUS' }[beh.kind];
      if (!status && !forged) b.detail_status = 'SUCCESS';
      const d = b.detail;
      return reply(200, { mchid, out_batch_no: b.out_batch_no, batch_id: b.batch_id, appid: b.appid, out_detail_no: d.out_detail_no,
        detail_id: b.detail_id, detail_status: status || 'SUCCESS', transfer_amount: d.transfer_amount, transfer_remark: d.transfer_remark,
        ...(status === 'FAIL' ? { fail_reason: 'ACCOUNT_FROZEN' } : {}), openid: d.openid, initiate_time: b.create_time, update_time: rfc3339() }, forged);
    },
  };

  function notifyBody(eventType, originalType, aad, plain, summary) {
    const nonce = token(12);
    return { id: crypto.randomUUID(), create_time: rfc3339(), resource_type: 'encrypt-resource', event_type: eventType, summary,
      resource: { original_type: originalType, algorithm: 'AEAD_AES_256_GCM',
        ciphertext: Aes.AesGcm.encrypt(JSON.stringify(plain), K.apiv3Key, nonce, aad), associated_data: aad, nonce } };
  }

  function signedNotify(event, plain, kind) {
    const body = JSON.stringify(event);
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = token(32);
    const signature = Rsa.sign(Formatter.response(ts, nonce, body), kind === 'forged' ? forgedKey : K.platformPrivate);
    return { headers: { 'content-type': 'application/json', 'wechatpay-timestamp': ts, 'wechatpay-nonce': nonce,
      'wechatpay-signature': signature, 'wechatpay-serial': K.platformSerial, 'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048' },
    body, params: { ...event, decrypted: plain }, notify_id: event.id };
  }

  function overrides(obj, o) {
    const out = { ...obj };
    for (const [k, v] of Object.entries(o || {})) { if (v === null) delete out[k]; else out[k] = v; }
    return out;
  }

  return {
    parse(req) {
      const r = route(req);
      const problems = [];
      let body = {};
      if (req.raw.length) {
        try { body = JSON.parse(req.raw.toString('utf8')); } catch (e) { problems.push(`body is not JSON: ${e.message}`); body = null; }
      }
      let key = '';
      if (r.op === 'pay') key = (body && body.out_trade_no) || '';
      if (r.op === 'query') key = r.no || byTxn.get(r.txn) || '';
      if (r.op === 'close') key = r.no;
      if (r.op === 'refund') key = (body && body.out_refund_no) || '';
      if (r.op === 'refund_query' || r.op === 'payout_query') key = r.no;
      if (r.op === 'payout') key = (body && body.out_batch_no) || '';
      const label = r.op === 'pay' ? `${OPS.pay}.${r.kind}` : (r.op ? OPS[r.op] : `${req.method} ${req.path}`);
      return { op: r.op, key, label, route: r, body, problems, fields: { body } };
    },
    verify(req) {
      const a = readAuthorization(req.headers.authorization);
      if (!a || !a.signature || !a.timestamp || !a.nonce_str) return { ok: false, reason: 'no WECHATPAY2-SHA256-RSA2048 Authorization' };
      const uri = `${req.url.pathname}${req.url.search}`;
      const signString = Formatter.request(req.method, uri, a.timestamp, a.nonce_str, req.raw.toString('utf8'));
      const good = Rsa.verify(signString, a.signature, K.merchantPublic);
      return { ok: good, signString, auth: a, reason: good ? undefined : 'signature does not verify with the merchant key' };
    },
    check(req, p, v) {
      if (!p.op) return { reason: 'no-route', reply: error(404, 'NOT_FOUND') };
      if (!v.ok) return { reason: 'bad-signature', badSign: true, reply: error(401, 'SIGN_ERROR') };
      const a = v.auth;
      if (a.serial_no !== K.merchantSerial) return { reason: 'serial', badSign: true, reply: error(401, 'SIGN_ERROR') };
      if (Math.abs(Date.now() / 1000 - Number(a.timestamp)) > 300) return { reason: 'timestamp', badSign: true, reply: error(401, 'SIGN_ERROR') };
      if (a.mchid !== mchid) return { reason: 'mchid', reply: error(400, 'MCH_NOT_EXISTS') };
      if (!/application\/json/.test(String(req.headers.accept || ''))) p.problems.push('no Accept: application/json');
      const b = p.body;
      if (b === null) return { reason: 'json', reply: error(400, 'PARAM_ERROR') };
      if (p.op === 'query' && req.url.searchParams.get('mchid') !== mchid) return { reason: 'query mchid', reply: error(400, 'PARAM_ERROR') };
      if (p.op === 'pay') {
        const bad = !b.appid || b.mchid !== mchid || !b.description || !b.out_trade_no || !b.notify_url
          || !b.amount || !Number.isInteger(b.amount.total) || b.amount.total < 1
          || (p.route.kind === 'jsapi' && !(b.payer && b.payer.openid))
          || (p.route.kind === 'h5' && !(b.scene_info && b.scene_info.payer_client_ip && b.scene_info.h5_info));
        if (bad) return { reason: 'pay params', reply: error(400, 'PARAM_ERROR') };
      }
      if (p.op === 'close' && b.mchid !== mchid) return { reason: 'close mchid', reply: error(400, 'PARAM_ERROR') };
      if (p.op === 'refund' && (!b.out_refund_no || !(b.out_trade_no || b.transaction_id) || !b.amount
        || !Number.isInteger(b.amount.refund) || !Number.isInteger(b.amount.total) || b.amount.currency !== 'CNY')) {
        return { reason: 'refund params', reply: error(400, 'PARAM_ERROR') };
      }
      if (p.op === 'payout') {
        const d = Array.isArray(b.transfer_detail_list) ? b.transfer_detail_list : [];
        const sum = d.reduce((s, x) => s + x.transfer_amount, 0);
        if (!b.appid || !b.out_batch_no || b.total_num !== d.length || b.total_amount !== sum || !d.every((x) => x.openid && x.out_detail_no)) {
          return { reason: 'payout params', reply: error(400, 'PARAM_ERROR') };
        }
        for (const x of d.filter((y) => y.user_name)) {
          if (req.headers['wechatpay-serial'] !== K.platformSerial) return { reason: 'wechatpay-serial', reply: error(400, 'PARAM_ERROR') };
          try { x.user_name_plain = Rsa.decrypt(x.user_name, K.platformPrivate); } catch { return { reason: 'user_name', reply: error(400, 'PARAM_ERROR') }; }
        }
      }
      return null;
    },
    receive(req, p, beh) {
      const b = p.body || {};
      if (p.op === 'pay' && beh.kind !== 'fail' && beh.kind !== 'not_found' && !orders.has(p.key)) {
        orders.set(p.key, { out_trade_no: p.key, appid: b.appid, trade_type: p.route.kind.toUpperCase(), total: b.amount.total,
          description: b.description, notify_url: b.notify_url || '', openid: b.payer && b.payer.openid, state: 'NOTPAY',
          prepay_id: `wx${digits(14)}${token(18)}`, refunds: new Map() });
      }
      if (p.op === 'refund' && beh.kind !== 'fail' && beh.kind !== 'not_found') {
        const okey = b.out_trade_no || byTxn.get(b.transaction_id) || '';
        const o = orders.get(okey);
        if (o && !o.refunds.has(p.key)) {
          o.refunds.set(p.key, { out_refund_no: p.key, refund_id: `5030${digits(25)}`, refund: b.amount.refund,
            status: 'PROCESSING', create_time: rfc3339() });
          byRefund.set(p.key, okey);
        }
      }
      if (p.op === 'payout' && beh.kind !== 'fail' && beh.kind !== 'not_found' && !payouts.has(p.key)) {
        payouts.set(p.key, { out_batch_no: p.key, appid: b.appid, batch_id: `1030${digits(36)}`, detail_id: `1040${digits(36)}`,
          create_time: rfc3339(), detail: b.transfer_detail_list[0], detail_status: 'PROCESSING' });
      }
    },
    answer(req, p, beh) {
      const forged = beh.kind === 'badsign';
      const eff = forged ? { kind: 'success' } : beh;
      const okey = p.op === 'refund' ? ((p.body && p.body.out_trade_no) || byTxn.get(p.body && p.body.transaction_id))
        : p.op === 'refund_query' ? byRefund.get(p.key) : p.key;
      log(`wechatpay_v3 ${p.op} ${p.key} ${beh.kind}`);
      return answers[p.op](p, eff, orders.get(okey || ''), forged);
    },
    headers: () => ({ 'content-type': 'application/json' }),
    newOrder: (key, body) => ({ out_trade_no: key, appid: 'wxd678efh567hg6787', trade_type: 'NATIVE',
      total: Number(body.total || body.amount || 100), notify_url: body.notify_url || '', state: 'NOTPAY',
      prepay_id: `wx${token(20)}`, refunds: new Map() }),
    pay(o) {
      if (o.state === 'CLOSED') return { status: 409, error: `order ${o.out_trade_no} is CLOSED at the sim` };
      markPaid(o);
      return null;
    },
    notification(o, kind, body) {
      if (body.event === 'refund') {
        const r = o.refunds.get(body.out_refund_no) || [...o.refunds.values()][0];
        if (!r) throw new ControlError(400, `order ${o.out_trade_no} has no refund at the sim`);
        const status = kind === 'contrary' ? 'CLOSED' : (body.refund_status || 'SUCCESS');
        if (kind === 'valid' && body.set_state !== false) r.status = status;
        const plain = overrides({ mchid, out_trade_no: o.out_trade_no, transaction_id: o.transaction_id || '', out_refund_no: r.out_refund_no,
          refund_id: r.refund_id, refund_status: status, success_time: rfc3339(), user_received_account: '支付用户零钱',
          amount: { total: o.total, refund: r.refund, payer_total: o.total, payer_refund: r.refund } }, body.overrides);
        return signedNotify(notifyBody(`REFUND.${plain.refund_status}`, 'refund', 'refund', plain, '退款状态'), plain, kind);
      }
      const state = kind === 'contrary' ? (o.state === 'CLOSED' ? 'SUCCESS' : 'CLOSED') : 'SUCCESS';
      if (kind === 'valid' && body.set_state !== false) markPaid(o);
      const t = { ...o };
      if (state === 'SUCCESS' && !t.transaction_id) { t.transaction_id = `42000${digits(23)}`; t.success_time = rfc3339(); }
      const plain = overrides(txnJson(t, state), body.overrides);
      return signedNotify(notifyBody('TRANSACTION.SUCCESS', 'transaction', 'transaction', plain, '支付成功'), plain, kind);
    },
    view: (o) => ({ ...o, refunds: [...o.refunds.values()] }),
    reset() { byTxn.clear(); byRefund.clear(); payouts.clear(); },
    controls: {
      'GET /keys': () => ({ mchid, merchant_serial: K.merchantSerial, platform_serial: K.platformSerial }),
      // The transfer-batch callback (商家转账批次回调通知, event MCHTRANSFER.BATCH.FINISHED /
      // .CLOSED, resource original_type "mch_payment"): WeChat POSTs it to the URL configured
      // for the merchant, so the caller names notify_url. It says the batch is done, not how
      // each transfer ended. Body {out_batch_no, notify_url, kind: valid|forged, batch_status}.
      'POST /payout_notify': async ({ body }) => {
        const b = payouts.get(String(body.out_batch_no || ''));
        if (!b) throw new ControlError(404, `sim knows no wechatpay_v3 transfer batch ${body.out_batch_no}`);
        if (!body.notify_url) throw new ControlError(400, 'notify_url is required');
        const kind = body.kind || 'valid';
        if (!['valid', 'forged'].includes(kind)) throw new ControlError(400, 'kind must be valid|forged');
        const status = body.batch_status || 'FINISHED';
        const done = b.detail_status === 'SUCCESS';
        const plain = { mchid, out_batch_no: b.out_batch_no, batch_id: b.batch_id, batch_status: status,
          total_num: 1, total_amount: b.detail.transfer_amount, success_amount: done ? b.detail.transfer_amount : 0,
          success_num: done ? 1 : 0, fail_amount: 0, fail_num: 0, update_time: rfc3339() };
        const n = signedNotify(notifyBody(`MCHTRANSFER.BATCH.${status}`, 'mch_payment', 'mch_payment', plain, '商家转账批次完成'), plain, kind);
        const r = await postNotify(body.notify_url, n.headers, n.body, 10000);
        return { ...r, kind, params: n.params };
      },
    },
  };
}

module.exports = {
  name: 'wechatpay_v3',
  sdks: ['wechatpay-axios-plugin'],
  ops: OPS,
  behaviours: {
    trade_state: (arg) => {
      if (!['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR'].includes(arg)) throw new Error(`unknown trade_state ${arg}`);
      return { trade_state: arg };
    },
  },
  routes: ['/v3/'],
  setup,
};
