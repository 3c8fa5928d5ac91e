'use strict';
// Assertion helpers shared by the e2e files.

const assert = require('node:assert/strict');
const { verifyPaygwSignature } = require('./sign');

function show(res) {
  return `HTTP ${res.status} ${res.text ? res.text.slice(0, 400) : ''}`;
}

// A gateway answer to a known app must carry a valid Paygw-Signature.
function assertSigned(res) {
  assert.ok(res.sig, 'no signature check result (unknown app?)');
  assert.ok(res.sig.ok, `response signature: ${res.sig.reason}; ${show(res)}`);
}

function assertStatus(res, status) {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${show(res)}`);
}

function assertError(res, status, codes) {
  const list = Array.isArray(codes) ? codes : [codes];
  assert.equal(res.status, status, `expected HTTP ${status} ${list.join('|')}, got ${show(res)}`);
  assert.ok(res.json && res.json.error && typeof res.json.error.code === 'string', `error body must be {"error":{"code","message"}}: ${show(res)}`);
  assert.ok(list.includes(res.json.error.code), `error code ${res.json.error.code} not in ${list.join('|')}`);
  assert.equal(typeof res.json.error.message, 'string');
}

// A caller notification recorded by the sim's caller endpoint must verify with the secret.
function assertNotificationSigned(secret, n) {
  const r = verifyPaygwSignature(secret, n.headers, Buffer.from(n.body, 'utf8'));
  assert.ok(r.ok, `caller notification signature: ${r.reason}; body ${n.body}`);
}

// Statuses seen for an order must never include FAILED (conservative rule).
function assertNeverFailed(seen, what) {
  assert.ok(!seen.includes('FAILED'), `${what}: saw FAILED in ${JSON.stringify(seen)}`);
}

module.exports = { assertSigned, assertStatus, assertError, assertNotificationSigned, assertNeverFailed, show };
