'use strict';

const net = require('node:net');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll fn() until pred(value) holds; throws with the last value after timeoutMs.
// An error with .fatal set, thrown by fn, ends the wait at once.
async function waitFor(what, fn, pred = Boolean, { timeoutMs = 10000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      lastErr = null;
      if (pred(last)) return last;
    } catch (e) {
      if (e && e.fatal) throw e; // a violation, not a "not yet"
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      const detail = lastErr ? `last error: ${lastErr.message}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${detail}`);
    }
    await sleep(intervalMs);
  }
}

// A loopback port nothing listens on right now, never one this process handed out
// before: the ports of one stack (nginx, admin, sim) and a test's "nobody listens here"
// port must differ, and the kernel may give a just-closed port to the next listen(0).
const handedOut = new Set();
async function freePort() {
  for (let tries = 0; tries < 50; tries++) {
    const port = await new Promise((resolve, reject) => {
      const s = net.createServer();
      s.unref();
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const a = s.address().port;
        s.close(() => resolve(a));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: the kernel kept offering ports already handed out');
}

function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const i = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1));
  return v[i];
}

// Run async tasks with at most `limit` in flight.
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

let seq = 0;
// Unique out_trade_no: letters and digits only (Alipay allows up to 64 chars).
function tradeNo(prefix = 'T') {
  seq += 1;
  return `${prefix}${Date.now().toString(36)}${process.pid.toString(36)}${seq.toString(36)}`.toUpperCase();
}

module.exports = { sleep, waitFor, freePort, percentile, pool, tradeNo };
