'use strict';
// Stand-in for the paygw caller's notify endpoint (`POST /caller/...`): records every
// notification and answers 200 `ok`, or a scripted failure status for the first n.

class Caller {
  constructor() {
    this.clear();
  }

  clear() {
    this.failFirst = 0;
    this.failStatus = 500;
    this.seen = 0;
    this.notifications = [];
  }

  // `POST /_sim/caller {"fail_first":n[,"status":500][,"clear":true]}`; returns an error text or null.
  configure(body) {
    const n = Number(body.fail_first ?? 0);
    if (!Number.isInteger(n) || n < 0) return 'fail_first must be an integer >= 0';
    const st = Number(body.status ?? 500);
    if (!Number.isInteger(st) || st < 300 || st > 599) return 'status must be 300..599';
    this.failFirst = n;
    this.failStatus = st;
    this.seen = 0;
    if (body.clear) this.notifications = [];
    return null;
  }

  receive(req, url, raw, res) {
    this.seen++;
    const status = this.seen <= this.failFirst ? this.failStatus : 200;
    this.notifications.push({
      seq: this.notifications.length + 1,
      t: Date.now(),
      received_at: new Date().toISOString(),
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      body: raw.toString('utf8'),
      answered: status,
    });
    const body = status === 200 ? 'ok' : 'caller failing on purpose';
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  // Notifications whose JSON body names out_trade_no (all without a filter).
  list(outTradeNo) {
    if (!outTradeNo) return this.notifications;
    return this.notifications.filter((n) => {
      try {
        return JSON.parse(n.body).out_trade_no === outTradeNo;
      } catch (_) {
        return false;
      }
    });
  }
}

module.exports = { Caller };
