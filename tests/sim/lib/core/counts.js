'use strict';
// Request counters of one channel: one per op label plus `other` (unrecognised op) and
// `bad_sign`, per order key and in total.

class Counts {
  constructor(labels) {
    this.labels = labels;
    this.clear();
  }

  clear() {
    this.byKey = new Map();
    this.total = this.empty();
  }

  empty() {
    const c = {};
    for (const l of this.labels) c[l] = 0;
    c.other = 0;
    c.bad_sign = 0;
    return c;
  }

  of(key) {
    let c = this.byKey.get(key);
    if (!c) {
      c = this.empty();
      this.byKey.set(key, c);
    }
    return c;
  }

  // Count one request under `label` (an op label or 'other', or 'bad_sign'); key may be ''.
  hit(key, label) {
    this.total[label]++;
    if (key) this.of(key)[label]++;
  }
}

module.exports = { Counts };
