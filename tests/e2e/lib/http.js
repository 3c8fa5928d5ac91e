'use strict';
// Minimal HTTP client over node:http: exact paths (no normalisation), raw body bytes kept
// for signature checks, keep-alive, hard per-request timeout.

const http = require('node:http');

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

function request({ host = '127.0.0.1', port, socketPath, method = 'GET', path, headers = {}, body, timeoutMs = 15000, keepAlive = true }) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined || body === null ? null : (Buffer.isBuffer(body) ? body : Buffer.from(String(body), 'utf8'));
    const h = { ...headers };
    if (payload) h['content-length'] = String(payload.length);
    const t0 = Date.now();
    const req = http.request({
      host: socketPath ? undefined : host,
      port: socketPath ? undefined : port,
      socketPath,
      method,
      path,
      headers: h,
      agent: keepAlive && !socketPath ? agent : false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = raw.toString('utf8');
        let json = null;
        try {
          json = text.length ? JSON.parse(text) : null;
        } catch (_) { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, raw, text, json, ms: Date.now() - t0 });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload || undefined);
  });
}

module.exports = { request, agent };
