'use strict';
// Keys of the unionpay_acp sim, in <keys>/unionpay_acp/ (generated when missing):
//   platform_private.pem  "UnionPay" signing key (answers, notifies; signMethod 01)
//   platform_cert.pem     its certificate (sent as signPubKeyCert; paygw's verify_cert)
//   merchant_private.pem  the merchant's signing key (paygw's sign_key)
//   merchant_cert.pem     its certificate (paygw's sign_cert; certId = its serial)
//   secure_key.txt        the secureKey of signMethods 11 / 12 (paygw's secure_key.secret)
// Certificates come from the openssl CLI (node:crypto cannot issue X.509); without
// openssl the "certificate" files hold the public key and certIds are fixed numbers.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { privatePem, publicPem } = require('../../keys');
const { certIdOf } = require('./sign');

function writeKey(file) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  fs.writeFileSync(file, privatePem(privateKey), { mode: 0o600 });
}

function writeCert(keyFile, certFile, serial, subject) {
  try {
    execFileSync('openssl', ['req', '-new', '-x509', '-key', keyFile, '-set_serial', serial, '-subj', subject,
      '-utf8', '-days', '3650', '-out', certFile], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10000 });
  } catch (_) {
    fs.writeFileSync(certFile, publicPem(crypto.createPrivateKey(fs.readFileSync(keyFile))));
  }
}

function loadKeys(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n) => path.join(dir, n);
  if (!fs.existsSync(f('platform_private.pem'))) writeKey(f('platform_private.pem'));
  if (!fs.existsSync(f('platform_cert.pem'))) {
    writeCert(f('platform_private.pem'), f('platform_cert.pem'), '73837294829',
      '/C=CN/O=China UnionPay SIM/OU=00040000:SIGN/CN=sim@00040000:SIGN@中国银联股份有限公司@00000001');
  }
  if (!fs.existsSync(f('merchant_private.pem'))) writeKey(f('merchant_private.pem'));
  if (!fs.existsSync(f('merchant_cert.pem'))) {
    writeCert(f('merchant_private.pem'), f('merchant_cert.pem'), '69629715588', '/C=CN/O=paygw sim merchant/CN=777290058110048');
  }
  if (!fs.existsSync(f('secure_key.txt'))) fs.writeFileSync(f('secure_key.txt'), crypto.randomBytes(16).toString('hex'), { mode: 0o600 });
  const platformCert = fs.readFileSync(f('platform_cert.pem'), 'utf8');
  const merchantCert = fs.readFileSync(f('merchant_cert.pem'), 'utf8');
  const isCert = (pem) => pem.includes('BEGIN CERTIFICATE');
  return {
    platformKey: crypto.createPrivateKey(fs.readFileSync(f('platform_private.pem'))),
    platformCert,
    platformCertId: isCert(platformCert) ? certIdOf(platformCert) : '73837294829',
    merchantPublic: crypto.createPublicKey(merchantCert),
    merchantCertId: isCert(merchantCert) ? certIdOf(merchantCert) : '69629715588',
    secureKey: fs.readFileSync(f('secure_key.txt'), 'utf8').trim(),
    forgedKey: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  };
}

module.exports = { loadKeys };
