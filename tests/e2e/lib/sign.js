'use strict';
// Caller-side signing (SPEC §3.1 scheme A) and response / notification signature checks,
// written with node:crypto only — independent of the C code under test.

const crypto = require('node:crypto');

function nonce() {
  return crypto.randomBytes(12).toString('hex');
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

// string_to_sign = METHOD \n PATH_AND_QUERY \n TIMESTAMP \n NONCE \n BODY \n
function stringToSign(method, pathAndQuery, timestamp, nonceStr, body) {
  return Buffer.concat([
    Buffer.from(`${method}\n${pathAndQuery}\n${timestamp}\n${nonceStr}\n`, 'utf8'),
    Buffer.isBuffer(body) ? body : Buffer.from(body || '', 'utf8'),
    Buffer.from('\n', 'utf8'),
  ]);
}

function hmacB64(secret, data) {
  return crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(data).digest('base64');
}

// Authorization: PAYGW-HMAC-SHA256 app_id="A1",timestamp="…",nonce="…",signature="…"
function authorization({ appId, secret, method, pathAndQuery, body, timestamp, nonce: n }) {
  const ts = String(timestamp ?? nowSeconds());
  const nn = n ?? nonce();
  const sig = hmacB64(secret, stringToSign(method, pathAndQuery, ts, nn, body));
  return {
    header: `PAYGW-HMAC-SHA256 app_id="${appId}",timestamp="${ts}",nonce="${nn}",signature="${sig}"`,
    timestamp: ts,
    nonce: nn,
    signature: sig,
  };
}

// Paygw-Signature = base64(HMAC-SHA256(app_secret, TIMESTAMP \n NONCE \n BODY \n)).
// headers: a node-style lower-cased header object. Returns {ok, reason}.
function verifyPaygwSignature(secret, headers, rawBody) {
  const ts = headers['paygw-timestamp'];
  const nn = headers['paygw-nonce'];
  const sig = headers['paygw-signature'];
  if (!ts || !nn || !sig) {
    return { ok: false, reason: `missing Paygw-Timestamp/Nonce/Signature (got ${JSON.stringify({ ts, nn, sig })})` };
  }
  const data = Buffer.concat([
    Buffer.from(`${ts}\n${nn}\n`, 'utf8'),
    Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody, 'utf8'),
    Buffer.from('\n', 'utf8'),
  ]);
  const expected = Buffer.from(hmacB64(secret, data), 'utf8');
  const got = Buffer.from(String(sig), 'utf8');
  const ok = expected.length === got.length && crypto.timingSafeEqual(expected, got);
  if (!ok) return { ok: false, reason: `Paygw-Signature mismatch (ts=${ts} nonce=${nn})` };
  if (!/^\d+$/.test(String(ts)) || Math.abs(Number(ts) - nowSeconds()) > 300) {
    return { ok: false, reason: `Paygw-Timestamp ${ts} is not a current unix time` };
  }
  return { ok: true, reason: '' };
}

module.exports = { authorization, verifyPaygwSignature, stringToSign, nonce, nowSeconds };
