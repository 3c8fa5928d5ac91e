'use strict';
// The control API (`/_sim/...`, JSON): scripts, pay, notify, counts, requests, orders,
// reset, caller endpoint control, channels, health, errors, and the extra routes a plugin
// declares (`/_sim/<channel>/<route>`). Channel-scoped routes take `"channel"` in the body
// or `channel=` in the query, default "alipay".

const { readBody, sendJson } = require('./http');
const { ControlError } = require('./control_error');
const { postNotify } = require('./notify_sender');

const DEFAULT_CHANNEL = 'alipay';
const NOTIFY_KINDS = ['valid', 'forged', 'duplicate', 'contrary'];
const NOT_OPS = new Set(['out_trade_no', 'default', 'channel']);

function channelOf(sim, body, url) {
  const name = body.channel ?? url.searchParams.get('channel') ?? DEFAULT_CHANNEL;
  const ch = sim.channels.get(name);
  if (!ch) {
    throw new ControlError(400, `unknown channel ${JSON.stringify(name)}; loaded: ${[...sim.channels.keys()].join(', ')}`);
  }
  return ch;
}

function requireKey(body) {
  if (typeof body.out_trade_no !== 'string' || !body.out_trade_no) throw new ControlError(400, 'out_trade_no required');
  return body.out_trade_no;
}

function script(ch, body) {
  const byOp = {};
  for (const [k, v] of Object.entries(body)) if (!NOT_OPS.has(k)) byOp[k] = v;
  let parsed;
  try {
    parsed = ch.parseScript(byOp);
  } catch (e) {
    throw new ControlError(400, e.message);
  }
  const ops = Object.keys(parsed);
  if (body.default === true) {
    ch.scripts.setDefault(parsed);
    return { ok: true, default: true, ops };
  }
  if (typeof body.out_trade_no !== 'string' || !body.out_trade_no) {
    throw new ControlError(400, 'out_trade_no (string) or "default":true required');
  }
  ch.scripts.set(body.out_trade_no, parsed);
  return { ok: true, out_trade_no: body.out_trade_no, ops };
}

function pay(ch, body) {
  const key = requireKey(body);
  if (!ch.orders.has(key)) {
    if (!body.create) {
      throw new ControlError(404, `sim knows no ${ch.name} order ${key} (no request created it); pass "create":true to make one`);
    }
    ch.orders.set(key, ch.impl.newOrder(key, body));
  }
  const refused = ch.impl.pay(ch.orders.get(key), body);
  if (refused) throw new ControlError(refused.status, refused.error, { order: ch.orderView(key) });
  return { ok: true, order: ch.orderView(key) };
}

async function notify(ch, body) {
  const key = requireKey(body);
  const kind = body.kind || 'valid';
  if (!NOTIFY_KINDS.includes(kind)) {
    throw new ControlError(400, `kind must be valid|forged|duplicate|contrary, got ${JSON.stringify(kind)}`);
  }
  if (body.overrides !== undefined && (typeof body.overrides !== 'object' || body.overrides === null || Array.isArray(body.overrides))) {
    throw new ControlError(400, 'overrides must be an object of field -> value (null removes a field)');
  }
  const order = ch.orders.get(key);
  if (!order) throw new ControlError(404, `sim knows no ${ch.name} order ${key} (no request created it)`);
  const target = body.notify_url || order.notify_url;
  if (!target) throw new ControlError(409, `order ${key} has no notify_url (its request carried none); pass notify_url`);
  let n;
  if (kind === 'duplicate') {
    n = ch.lastNotify.get(key);
    if (!n) throw new ControlError(409, `no notify was sent for ${key} yet; nothing to duplicate`);
  } else {
    n = { kind, ...ch.impl.notification(order, kind, body) };
    ch.lastNotify.set(key, n);
  }
  const result = await postNotify(target, n.headers, n.body, Number(body.timeout_ms) || 10000);
  return { ...result, kind, notify_url: target, params: n.params };
}

function orders(ch, url) {
  const key = url.searchParams.get('out_trade_no');
  if (!key) return { orders: [...ch.orders.keys()].map((k) => ch.orderView(k)) };
  if (!ch.orders.has(key)) throw new ControlError(404, `sim knows no ${ch.name} order ${key}`);
  return ch.orderView(key);
}

// Plugin-declared control routes: impl.controls = {'POST /thing': ({body, url, orders}) => json}.
function pluginRoute(sim, method, path, body, url) {
  const m = /^\/_sim\/([a-z0-9_]+)(\/.*)$/.exec(path);
  const ch = m && sim.channels.get(m[1]);
  const fn = ch && ch.impl.controls && ch.impl.controls[`${method} ${m[2]}`];
  return fn ? () => fn({ body, url, orders: ch.orders }) : null;
}

async function route(sim, req, url, body) {
  const path = url.pathname;
  const q = (k) => url.searchParams.get(k);
  switch (`${req.method} ${path}`) {
    case 'GET /_sim/health': return { ok: true, port: sim.port };
    case 'GET /_sim/errors': return { errors: sim.simErrors };
    case 'GET /_sim/channels': return { channels: [...sim.channels.values()].map((c) => c.describe()) };
    case 'POST /_sim/reset':
      sim.reset();
      return { ok: true };
    case 'POST /_sim/script': return script(channelOf(sim, body, url), body);
    case 'POST /_sim/pay': return pay(channelOf(sim, body, url), body);
    case 'POST /_sim/notify': return notify(channelOf(sim, body, url), body);
    case 'GET /_sim/counts': {
      const ch = channelOf(sim, body, url);
      return { ...(q('out_trade_no') ? ch.counts.of(q('out_trade_no')) : ch.counts.total) };
    }
    case 'GET /_sim/requests': {
      const ch = channelOf(sim, body, url);
      return { requests: sim.requests.list({ channel: ch.name, key: q('out_trade_no'), method: q('method') }) };
    }
    case 'GET /_sim/orders': return orders(channelOf(sim, body, url), url);
    case 'POST /_sim/caller': {
      const err = sim.caller.configure(body);
      if (err) throw new ControlError(400, err);
      return { ok: true };
    }
    case 'GET /_sim/caller/notifications': return { notifications: sim.caller.list(q('out_trade_no')) };
    default: {
      const fn = pluginRoute(sim, req.method, path, body, url);
      if (!fn) throw new ControlError(404, `no control route ${req.method} ${path}`);
      return fn();
    }
  }
}

async function serveControl(sim, req, res, url) {
  const raw = await readBody(req);
  let body = {};
  if (req.method === 'POST' && raw.length) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      return sendJson(res, 400, { error: `body is not JSON: ${e.message}` });
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return sendJson(res, 400, { error: 'body must be a JSON object' });
  }
  try {
    return sendJson(res, 200, await route(sim, req, url, body));
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    return sendJson(res, e.status, { error: e.message, ...e.extra });
  }
}

module.exports = { serveControl };
