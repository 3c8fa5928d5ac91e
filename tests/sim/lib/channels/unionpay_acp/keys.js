'use strict';
// Keys of the unionpay_acp sim, in <keys>/unionpay_acp/ (generated when missing):
//   root_cert.pem, middle_cert.pem  a TEST "UnionPay" root CA and the middle CA it issued
//                         (paygw's root_cert / middle_cert: the chain signPubKeyCert must meet)
//   platform_private.pem  "UnionPay" signing key (answers, notifies; signMethod 01)
//   platform_cert.pem     its certificate, issued by the middle CA, CN
//                         sim@00040000:SIGN@中国银联股份有限公司@00000001 (sent as
//                         signPubKeyCert; also paygw's fallback verify_cert)
//   other_*.pem           an impostor chain: another root -> middle -> a UnionPay-named
//                         certificate and its key (notifies signed with it must be refused)
//   merchant_private.pem  the merchant's signing key (paygw's sign_key)
//   merchant_cert.pem     its certificate (paygw's sign_cert; certId = its serial)
//   secure_key.txt        the secureKey of signMethods 11 / 12 (paygw's secure_key.secret)
// Certificates come from the openssl CLI (node:crypto cannot issue X.509), like
// tests/e2e/lib/stack.js does; without openssl the "certificate" files hold the public key,
// certIds are fixed numbers and there is no chain.

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

const UP_SUBJECT = '/C=CN/O=China UnionPay SIM/OU=00040000:SIGN/CN=sim@00040000:SIGN@中国银联股份有限公司@00000001';
const EXT = `[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[leaf]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`;

const openssl = (args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10000 });

function writeCert(keyFile, certFile, serial, subject) {
  try {
    openssl(['req', '-new', '-x509', '-key', keyFile, '-set_serial', serial, '-subj', subject, '-utf8', '-days', '3650', '-out', certFile]);
  } catch (_) {
    fs.writeFileSync(certFile, publicPem(crypto.createPrivateKey(fs.readFileSync(keyFile))));
  }
}

// root CA (self-signed) -> middle CA -> signing certificate of leafKey; false without openssl
function writeChain(f, prefix, leafKey, leafCert, serial) {
  const ext = f(`${prefix}ext.cnf`);
  fs.writeFileSync(ext, EXT);
  for (const k of ['root', 'middle']) if (!fs.existsSync(f(`${prefix}${k}_private.pem`))) writeKey(f(`${prefix}${k}_private.pem`));
  try {
    openssl(['req', '-new', '-x509', '-key', f(`${prefix}root_private.pem`), '-set_serial', '1', '-utf8', '-days', '3650',
      '-subj', `/C=CN/O=China UnionPay SIM/CN=${prefix}SIM Root CA`, '-config', ext, '-extensions', 'ca', '-out', f(`${prefix}root_cert.pem`)]);
    const issue = (key, csr, subject, ca, caKey, extName, ser, out) => {
      openssl(['req', '-new', '-key', key, '-subj', subject, '-utf8', '-out', csr]);
      openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-set_serial', ser, '-days', '3650', '-sha256',
        '-extfile', ext, '-extensions', extName, '-out', out]);
    };
    issue(f(`${prefix}middle_private.pem`), f(`${prefix}middle.csr`), `/C=CN/O=China UnionPay SIM/CN=${prefix}SIM Middle CA`,
      f(`${prefix}root_cert.pem`), f(`${prefix}root_private.pem`), 'ca', '2', f(`${prefix}middle_cert.pem`));
    issue(leafKey, f(`${prefix}leaf.csr`), UP_SUBJECT, f(`${prefix}middle_cert.pem`), f(`${prefix}middle_private.pem`), 'leaf', serial, leafCert);
    return true;
  } catch (_) {
    fs.writeFileSync(leafCert, publicPem(crypto.createPrivateKey(fs.readFileSync(leafKey))));
    return false;
  }
}

function loadKeys(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n) => path.join(dir, n);
  if (!fs.existsSync(f('platform_private.pem'))) writeKey(f('platform_private.pem'));
  if (!fs.existsSync(f('platform_cert.pem')) || !fs.existsSync(f('root_cert.pem'))) {
    writeChain(f, '', f('platform_private.pem'), f('platform_cert.pem'), '73837294829');
  }
  if (!fs.existsSync(f('other_private.pem'))) writeKey(f('other_private.pem'));
  if (!fs.existsSync(f('other_cert.pem'))) writeChain(f, 'other_', f('other_private.pem'), f('other_cert.pem'), '73837294829');
  if (!fs.existsSync(f('merchant_private.pem'))) writeKey(f('merchant_private.pem'));
  if (!fs.existsSync(f('merchant_cert.pem'))) {
    writeCert(f('merchant_private.pem'), f('merchant_cert.pem'), '69629715588', '/C=CN/O=paygw sim merchant/CN=777290058110048');
  }
  if (!fs.existsSync(f('secure_key.txt'))) fs.writeFileSync(f('secure_key.txt'), crypto.randomBytes(16).toString('hex'), { mode: 0o600 });
  const platformCert = fs.readFileSync(f('platform_cert.pem'), 'utf8');
  const otherCert = fs.readFileSync(f('other_cert.pem'), 'utf8');
  const merchantCert = fs.readFileSync(f('merchant_cert.pem'), 'utf8');
  const isCert = (pem) => pem.includes('BEGIN CERTIFICATE');
  return {
    platformKey: crypto.createPrivateKey(fs.readFileSync(f('platform_private.pem'))),
    platformCert,
    platformCertId: isCert(platformCert) ? certIdOf(platformCert) : '73837294829',
    chained: fs.existsSync(f('root_cert.pem')) && fs.existsSync(f('middle_cert.pem')) && isCert(platformCert),
    otherKey: crypto.createPrivateKey(fs.readFileSync(f('other_private.pem'))),
    otherCert,
    otherCertId: isCert(otherCert) ? certIdOf(otherCert) : '73837294829',
    merchantPublic: crypto.createPublicKey(merchantCert),
    merchantCertId: isCert(merchantCert) ? certIdOf(merchantCert) : '69629715588',
    secureKey: fs.readFileSync(f('secure_key.txt'), 'utf8').trim(),
    forgedKey: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  };
}

module.exports = { loadKeys };
