'use strict';
// The log of every channel request received (all channels, one sequence number).

class RequestLog {
  constructor() {
    this.clear();
  }

  clear() {
    this.entries = [];
    this.seq = 0;
  }

  add(entry) {
    entry.seq = ++this.seq;
    this.entries.push(entry);
    return entry;
  }

  // filter: {channel, key?, method?}
  list({ channel, key, method }) {
    return this.entries.filter((e) => e.channel === channel &&
      (!key || e.out_trade_no === key) && (!method || e.method === method));
  }
}

module.exports = { RequestLog };
