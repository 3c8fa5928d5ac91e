'use strict';
// Sends one channel notification: HTTP POST of the plugin's exact bytes and headers to a
// notify_url; resolves {status (0 if no answer), body, headers?, error?} — never rejects.

const http = require('node:http');

function postNotify(target, headers, payload, timeoutMs) {
  return new Promise((resolve) => {
    let u;
    try {
      u = new URL(target);
    } catch (e) {
      resolve({ status: 0, body: '', error: `bad notify_url ${target}: ${e.message}` });
      return;
    }
    if (u.protocol !== 'http:') {
      resolve({ status: 0, body: '', error: `sim sends notifies over http only, got ${target}` });
      return;
    }
    const req = http.request({
      host: u.hostname,
      port: u.port || 80,
      path: u.pathname + u.search,
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(payload), connection: 'close' },
      timeout: timeoutMs,
    }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode, body: Buffer.concat(chunks).toString('utf8'), headers: r.headers }));
      r.on('error', (e) => resolve({ status: r.statusCode || 0, body: '', error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
    req.end(payload);
  });
}

module.exports = { postNotify };
