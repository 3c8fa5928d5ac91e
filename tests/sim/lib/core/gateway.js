'use strict';
// The channel request pipeline, the same for every plugin: read the request, let the
// plugin parse it (op, order key), count and log it, verify it with the plugin (SDK),
// let the plugin reject it, pick the scripted behaviour, apply the plugin's state effect
// on receipt, then answer: generic transport behaviours here (delay, timeout, drop, 5xx,
// garbage), business behaviours by the plugin.

const crypto = require('node:crypto');
const { readBody } = require('./http');
const { describeBehaviour } = require('./behaviour');

function genericGarbage() {
  return Buffer.concat([Buffer.from([0x00, 0xff, 0xfe]), Buffer.from('<html>garbage ', 'latin1'), crypto.randomBytes(16)]);
}

function html5xx(status) {
  return `<html><head><title>${status} Bad Gateway</title></head><body><center><h1>${status} Bad Gateway</h1></center></body></html>`;
}

// sim: the Sim (request log, held sockets, log); channel: a Channel; path: the route path
// relative to the channel's mount ('/gateway.do' for both /alipay/gateway.do and /gateway.do).
async function serveChannelRequest(sim, channel, req, res, path) {
  const { impl, plugin } = channel;
  const t = Date.now();
  const raw = await readBody(req);
  const inbound = { method: req.method, path, url: new URL(req.url, 'http://127.0.0.1'), headers: req.headers, raw, t };
  const parsed = impl.parse(inbound);
  const op = parsed.op || null;
  const key = parsed.key || '';
  const problems = parsed.problems || [];
  channel.counts.hit(key, op ? plugin.ops[op] : 'other');
  const verified = impl.verify(inbound, parsed);
  const entry = sim.requests.add({
    seq: 0,
    t,
    received_at: new Date(t).toISOString(),
    channel: channel.name,
    method: parsed.label ?? (op ? plugin.ops[op] : ''),
    out_trade_no: key,
    http_method: req.method,
    url: req.url,
    content_type: String(req.headers['content-type'] || ''),
    headers: req.headers,
    body: raw.toString('utf8'),
    ...(parsed.fields || {}),
    sign_ok: verified.ok,
    sign_string: verified.signString ?? '',
    problems,
    behaviour: null,
    response: null,
  });
  sim.log(`${channel.name} ${entry.method} ${key} sign_ok=${verified.ok}`);

  const send = ({ status = 200, headers = {}, body }) => {
    entry.response = { status, body: Buffer.isBuffer(body) ? body.toString('latin1') : body, t: Date.now() };
    res.writeHead(status, {
      ...(impl.headers ? impl.headers() : { 'content-type': 'text/plain' }),
      'content-length': Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  };

  const rejection = impl.check(inbound, parsed, verified);
  if (rejection) {
    entry.behaviour = `rejected:${rejection.reason}`;
    if (rejection.badSign) channel.counts.hit(key, 'bad_sign');
    return send(rejection.reply);
  }
  if (!op) throw new Error(`channel ${channel.name}: check() let a request without a known op through`);

  const beh = channel.scripts.pick(key, op);
  entry.behaviour = describeBehaviour(beh);
  const effective = beh.kind === 'delay' ? beh.inner : beh;
  // The request reached the channel: its state effect happens whatever becomes of the answer.
  if (impl.receive) impl.receive(inbound, parsed, effective);

  if (beh.kind === 'delay') await new Promise((r) => setTimeout(r, beh.ms));
  if (res.destroyed || req.socket.destroyed) {
    entry.response = { status: 0, body: '', note: 'client went away during delay', t: Date.now() };
    return undefined;
  }
  switch (effective.kind) {
    case 'timeout':
      entry.response = { status: 0, body: '', note: 'timeout: never answered', t: Date.now() };
      sim.hold(res);
      return undefined;
    case 'drop':
      entry.response = { status: 0, body: '', note: 'drop: socket destroyed', t: Date.now() };
      req.socket.destroy();
      return undefined;
    case '5xx': {
      const status = effective.status || 502;
      return send({ status, body: html5xx(status) });
    }
    case 'garbage':
      return send({ body: impl.garbage ? impl.garbage(inbound, parsed) : genericGarbage() });
    default:
      return send(impl.answer(inbound, parsed, effective));
  }
}

module.exports = { serveChannelRequest };
