'use strict';
// The simulator: one loopback HTTP server carrying every loaded channel plugin (mounted at
// /<name>/..., plus a plugin's compat routes), the caller notify endpoint (/caller/...) and
// the control API (/_sim/...). Owns routing, held sockets, reset and start/stop.
// See ../README.md (use) and ../CHANNELS.md (writing a channel plugin).

const http = require('node:http');
const { sendJson, readBody } = require('./core/http');
const { Channel } = require('./core/channel');
const { Caller } = require('./core/caller');
const { RequestLog } = require('./core/request_log');
const { discoverPlugins, checkPlugin } = require('./core/discovery');
const { serveChannelRequest } = require('./core/gateway');
const { serveControl } = require('./core/control');

class Sim {
  // keysDir: the keys root (a plugin reads <keysDir>/<name>/); channels: names to load
  // (default all of lib/channels/); plugins: plugin modules instead of discovery (tests);
  // options: {<channel>: {...}} handed to that plugin's setup(); log: (text) => void.
  constructor({ keysDir, channels, plugins, options = {}, log = null }) {
    this.log = log || (() => {});
    this.simErrors = []; // kept across resets: a sim bug must stay visible
    this.requests = new RequestLog();
    this.caller = new Caller();
    this.hanging = new Set();
    this.sockets = new Set();
    this.channels = new Map();
    this.routes = new Map(); // exact root path -> {channel, path} (compat routes)
    const mods = plugins ? plugins.map((p) => checkPlugin(p, `${p.name}.js`)) : discoverPlugins(channels);
    for (const p of mods) {
      let ch;
      try {
        ch = new Channel(p, { keysRoot: keysDir, options: options[p.name], log: this.log });
      } catch (e) {
        throw new Error(`channel ${p.name}: ${e.message}`);
      }
      this.channels.set(p.name, ch);
      for (const r of p.compatRoutes || []) this.routes.set(r, { channel: ch, path: r });
    }
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        this.simErrors.push(String(e && e.stack || e));
        this.log(`sim error: ${e && e.stack || e}`);
        if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: `sim internal error: ${e.message}` });
      });
    });
    this.server.keepAliveTimeout = 30000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  reset() {
    for (const res of this.hanging) if (res.socket) res.socket.destroy();
    this.hanging.clear();
    this.requests.clear();
    this.caller.clear();
    for (const ch of this.channels.values()) ch.reset();
  }

  // A `timeout` answer: keep the response open until the client leaves or reset/close.
  hold(res) {
    this.hanging.add(res);
    res.on('close', () => this.hanging.delete(res));
  }

  listen(port = 0, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.port = this.server.address().port;
        resolve(this.port);
      });
    });
  }

  close() {
    for (const res of this.hanging) if (res.socket) res.socket.destroy();
    this.hanging.clear();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  // The channel route of a path: a compat route, or /<name>/<rest> under one of its prefixes.
  channelRoute(path) {
    if (this.routes.has(path)) return this.routes.get(path);
    const m = /^\/([a-z0-9_]+)(\/.*)$/.exec(path);
    const ch = m && this.channels.get(m[1]);
    if (!ch) return null;
    const prefixes = ch.plugin.routes || ['/'];
    return prefixes.some((p) => m[2].startsWith(p)) ? { channel: ch, path: m[2] } : null;
  }

  async handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const path = url.pathname;
    if (path.startsWith('/_sim/')) return serveControl(this, req, res, url);
    if (path.startsWith('/caller/')) return this.caller.receive(req, url, await readBody(req), res);
    const r = this.channelRoute(path);
    if (r) return serveChannelRequest(this, r.channel, req, res, r.path);
    await readBody(req);
    return sendJson(res, 404, { error: `no such path ${path}` });
  }
}

module.exports = { Sim };
