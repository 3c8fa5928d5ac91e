'use strict';
// Key loading for the simulator. Channels hand out keys as PEM (PKCS#1 or PKCS#8 /
// SPKI) or as bare base64 DER; accept all of them and normalise to PEM objects.

const crypto = require('node:crypto');
const fs = require('node:fs');

function loadPrivateKey(text) {
  const s = String(text).trim();
  if (s.startsWith('-----BEGIN')) return crypto.createPrivateKey(s);
  const der = Buffer.from(s.replace(/\s+/g, ''), 'base64');
  for (const type of ['pkcs8', 'pkcs1']) {
    try {
      return crypto.createPrivateKey({ key: der, format: 'der', type });
    } catch (_) { /* try the next encoding */ }
  }
  throw new Error('not an RSA private key (PEM, PKCS#8 or PKCS#1 base64)');
}

function loadPublicKey(text) {
  const s = String(text).trim();
  if (s.startsWith('-----BEGIN')) return crypto.createPublicKey(s);
  const der = Buffer.from(s.replace(/\s+/g, ''), 'base64');
  for (const type of ['spki', 'pkcs1']) {
    try {
      return crypto.createPublicKey({ key: der, format: 'der', type });
    } catch (_) { /* try the next encoding */ }
  }
  throw new Error('not an RSA public key (PEM, SPKI or PKCS#1 base64)');
}

function privatePem(keyObject) {
  return keyObject.export({ type: 'pkcs8', format: 'pem' });
}

function publicPem(keyObject) {
  const pub = keyObject.type === 'private' ? crypto.createPublicKey(keyObject) : keyObject;
  return pub.export({ type: 'spki', format: 'pem' });
}

function readKeyFile(path, kind) {
  let text;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read ${kind} key: ${e.message}`);
  }
  try {
    return kind === 'private' ? loadPrivateKey(text) : loadPublicKey(text);
  } catch (e) {
    throw new Error(`${path}: ${e.message}`);
  }
}

module.exports = { loadPrivateKey, loadPublicKey, privatePem, publicPem, readKeyFile };
