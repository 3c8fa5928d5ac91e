'use strict';
// Caller-side signing (SPEC §3.1 scheme A, HMAC and RSA2; scheme B forms) and response /
// notification signature checks, written with node:crypto only — independent of the C
// code under test.

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

// Authorization: PAYGW-SHA256-RSA2048 app_id=…,timestamp=…,nonce=…,signature=base64(RSA
// PKCS#1 v1.5 SHA-256 by the app's private key over the scheme A string_to_sign)
function authorizationRsa({ appId, privateKey, method, pathAndQuery, body, timestamp, nonce: n }) {
  const ts = String(timestamp ?? nowSeconds());
  const nn = n ?? nonce();
  const sig = crypto.sign('sha256', stringToSign(method, pathAndQuery, ts, nn, body), privateKey).toString('base64');
  return {
    header: `PAYGW-SHA256-RSA2048 app_id="${appId}",timestamp="${ts}",nonce="${nn}",signature="${sig}"`,
    timestamp: ts,
    nonce: nn,
    signature: sig,
  };
}

// Scheme B: string_to_sign = every non-empty parameter but sign, sorted by name (byte
// order), k=v joined with '&' (decoded values).
function formStringToSign(params) {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && params[k] !== undefined && params[k] !== null && String(params[k]) !== '')
    .sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

// Signs fields (plain values; objects become JSON) as a scheme B form. key: {secret} for
// HMAC-SHA256 apps, {privateKey} for RSA2 apps. Returns {params, body, sign}; body is
// URL-encoded with URLSearchParams (spaces as '+').
function schemeBForm(appId, fields, key, { timestamp, nonce: n } = {}) {
  const params = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    params[k] = v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  params.app_id = appId;
  params.timestamp = String(timestamp ?? nowSeconds());
  params.nonce_str = n ?? nonce();
  params.sign_type = key.privateKey ? 'RSA2' : 'HMAC-SHA256';
  const sts = formStringToSign(params);
  params.sign = key.privateKey
    ? crypto.sign('sha256', Buffer.from(sts, 'utf8'), key.privateKey).toString('base64')
    : crypto.createHmac('sha256', Buffer.from(key.secret, 'utf8')).update(`${sts}&key=${key.secret}`, 'utf8').digest('hex').toUpperCase();
  return { params, body: new URLSearchParams(params).toString(), sign: params.sign };
}

// Paygw-Signature of an RSA2 app's answer or notification: base64(RSA PKCS#1 v1.5 SHA-256
// by the gateway's key over TIMESTAMP \n NONCE \n BODY \n), checked with its public key.
function verifyPaygwSignatureRsa(publicKey, headers, rawBody) {
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
  let ok = false;
  try {
    ok = crypto.verify('sha256', data, publicKey, Buffer.from(String(sig), 'base64'));
  } catch (e) {
    return { ok: false, reason: `Paygw-Signature does not verify: ${e.message}` };
  }
  if (!ok) return { ok: false, reason: `Paygw-Signature (RSA) mismatch (ts=${ts} nonce=${nn})` };
  if (!/^\d+$/.test(String(ts)) || Math.abs(Number(ts) - nowSeconds()) > 300) {
    return { ok: false, reason: `Paygw-Timestamp ${ts} is not a current unix time` };
  }
  return { ok: true, reason: '' };
}

module.exports = {
  authorization, authorizationRsa, schemeBForm, formStringToSign, verifyPaygwSignature,
  verifyPaygwSignatureRsa, stringToSign, nonce, nowSeconds,
};
