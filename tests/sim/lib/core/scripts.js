'use strict';
// Behaviour scripts of one channel: per order key and op (a list with its own call index),
// and per-op defaults for keys without their own script (call index counted per key).

const SUCCESS = Object.freeze({ kind: 'success' });

class Scripts {
  constructor() {
    this.clear();
  }

  clear() {
    this.byKey = new Map();   // key -> { op: {list, calls} }
    this.defaults = {};       // op -> {list, calls: Map(key -> n)}
  }

  // parsedByOp: { op: [parsed behaviour, ...] }; replaces those ops, their index restarts at 0.
  set(key, parsedByOp) {
    let s = this.byKey.get(key);
    if (!s) {
      s = {};
      this.byKey.set(key, s);
    }
    for (const [op, list] of Object.entries(parsedByOp)) s[op] = { list, calls: 0 };
  }

  setDefault(parsedByOp) {
    for (const [op, list] of Object.entries(parsedByOp)) this.defaults[op] = { list, calls: new Map() };
  }

  // The behaviour of the next call of `op` for `key`; past a list's end its last element repeats.
  pick(key, op) {
    const s = this.byKey.get(key);
    if (s && s[op]) {
      const i = s[op].calls++;
      return s[op].list[Math.min(i, s[op].list.length - 1)];
    }
    const d = this.defaults[op];
    if (d) {
      const i = d.calls.get(key) || 0;
      d.calls.set(key, i + 1);
      return d.list[Math.min(i, d.list.length - 1)];
    }
    return SUCCESS;
  }
}

module.exports = { Scripts };
