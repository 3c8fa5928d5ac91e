'use strict';
// One loaded channel: its plugin module, the instance its setup() returned, and the state
// the core keeps for it (orders, scripts, counts, last notification per order).

const fs = require('node:fs');
const path = require('node:path');
const { Scripts } = require('./scripts');
const { Counts } = require('./counts');
const { parseScriptValue } = require('./behaviour');

const REQUIRED_HOOKS = ['parse', 'verify', 'check', 'answer', 'newOrder', 'pay', 'notification'];
const NODE_MODULES = path.join(__dirname, '..', '..', 'node_modules');

function sdkVersion(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(NODE_MODULES, pkg, 'package.json'), 'utf8')).version;
  } catch (_) {
    return null;
  }
}

class Channel {
  // plugin: the module of lib/channels/<name>.js; env: {keysRoot, options, log}.
  constructor(plugin, { keysRoot, options, log }) {
    this.plugin = plugin;
    this.name = plugin.name;
    this.orders = new Map();
    this.lastNotify = new Map();
    this.scripts = new Scripts();
    this.counts = new Counts(Object.values(plugin.ops));
    this.impl = plugin.setup({
      keysRoot,
      keysDir: path.join(keysRoot, plugin.name),
      options: options || {},
      orders: this.orders,
      log: log ? (m) => log(`${plugin.name}: ${m}`) : () => {},
    });
    for (const h of REQUIRED_HOOKS) {
      if (typeof this.impl[h] !== 'function') throw new Error(`channel ${this.name}: setup() returned no ${h}()`);
    }
  }

  reset() {
    this.orders.clear();
    this.lastNotify.clear();
    this.scripts.clear();
    this.counts.clear();
    if (this.impl.reset) this.impl.reset();
  }

  // {op: behaviour or list} -> {op: [parsed]}; throws with a message fit for a 400.
  parseScript(byOp) {
    const unknown = Object.keys(byOp).filter((op) => !Object.prototype.hasOwnProperty.call(this.plugin.ops, op));
    if (unknown.length) {
      throw new Error(`unknown operation(s) ${unknown.join(', ')}; use ${Object.keys(this.plugin.ops).join(', ')}`);
    }
    const parsed = {};
    for (const [op, v] of Object.entries(byOp)) parsed[op] = parseScriptValue(v, this.plugin.behaviours || {});
    return parsed;
  }

  orderView(key) {
    const o = this.orders.get(key);
    const ln = this.lastNotify.get(key);
    const view = this.impl.view ? this.impl.view(o) : o;
    return { ...view, last_notify: ln ? { notify_id: ln.notify_id, kind: ln.kind } : null };
  }

  describe() {
    const sdks = {};
    for (const pkg of this.plugin.sdks) sdks[pkg] = sdkVersion(pkg);
    return {
      name: this.name,
      sdks,
      ops: this.plugin.ops,
      behaviours: Object.keys(this.plugin.behaviours || {}),
      routes: [
        ...(this.plugin.routes || ['/']).map((r) => `/${this.name}${r}`),
        ...(this.plugin.compatRoutes || []),
      ],
    };
  }
}

module.exports = { Channel };
