'use strict';
// Certificate mode (公钥证书模式) files of the Alipay sim, in <keys>/alipay_cert/ (generated
// when missing, by the openssl CLI as unionpay_acp/keys.js does: node:crypto cannot issue
// X.509). TEST-ONLY; what the Alipay console hands a merchant, playing:
//   root_cert.pem       alipayRootCert.crt: an RSA root (the one that issues the two below)
//                       followed by an EC root, which Alipay's root SN skips (the real
//                       bundle's SM2 root)
//   alipay_cert.pem     alipayCertPublicKey_RSA2.crt: the sim's alipay_private.pem key
//   app_cert.pem        appCertPublicKey_<appid>.crt: the merchant's app_public.pem key
//   rotated_private.pem, rotated_cert.pem  the certificate Alipay "rotated to" (another key,
//                       another serial): answers of the `rotated_cert` behaviour
// The SNs themselves come from alipay-sdk (AlipaySdk in certificate mode), never from here.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { privatePem } = require('../../keys');

const openssl = (args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10000 });
const FILES = ['root_cert.pem', 'alipay_cert.pem', 'app_cert.pem', 'rotated_cert.pem', 'rotated_private.pem'];

function writeKey(file, type = 'rsa') {
  const { privateKey } = type === 'ec' ? crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  fs.writeFileSync(file, privatePem(privateKey), { mode: 0o600 });
}

// Issue a certificate for the public key of pubFile (a private or public key PEM), signed
// by ca/caKey. The CSR is made with a throwaway key and -force_pubkey puts the real one in:
// the sim never holds the merchant's private key.
function issue(dir, pubFile, subject, serial, out) {
  const f = (n) => path.join(dir, n);
  const pub = f(`${out}.pub`);
  openssl(['pkey', '-in', pubFile, ...(/PRIVATE KEY/.test(fs.readFileSync(pubFile, 'utf8')) ? ['-pubout'] : ['-pubin']), '-out', pub]);
  openssl(['req', '-new', '-key', f('csr_throwaway.pem'), '-subj', subject, '-utf8', '-out', f(`${out}.csr`)]);
  openssl(['x509', '-req', '-in', f(`${out}.csr`), '-CA', f('root1_cert.pem'), '-CAkey', f('root1_private.pem'),
    '-force_pubkey', pub, '-set_serial', serial, '-days', '3650', '-sha256', '-out', f(out)]);
}

// Generates what is missing; returns the file paths. Throws without the openssl CLI.
function loadCerts(keysRoot) {
  const dir = path.join(keysRoot, 'alipay_cert');
  const f = (n) => path.join(dir, n);
  const paths = Object.fromEntries(FILES.map((n) => [n.replace(/\.pem$/, ''), f(n)]));
  if (FILES.every((n) => fs.existsSync(f(n)))) return paths;
  fs.mkdirSync(dir, { recursive: true });
  for (const [k, t] of [['root1_private.pem', 'rsa'], ['root2_private.pem', 'ec'], ['csr_throwaway.pem', 'rsa'], ['rotated_private.pem', 'rsa']]) {
    if (!fs.existsSync(f(k))) writeKey(f(k), t);
  }
  openssl(['req', '-new', '-x509', '-key', f('root1_private.pem'), '-set_serial', '1', '-utf8', '-days', '3650', '-sha256',
    '-subj', '/C=CN/O=Ant Financial SIM/OU=Certification Authority/CN=Ant Financial SIM Root CA/emailAddress=ca@sim.test',
    '-out', f('root1_cert.pem')]);
  openssl(['req', '-new', '-x509', '-key', f('root2_private.pem'), '-set_serial', '2', '-utf8', '-days', '3650', '-sha256',
    '-subj', '/C=CN/O=Ant Financial SIM/CN=Ant Financial SIM EC Root CA', '-out', f('root2_cert.pem')]);
  fs.writeFileSync(f('root_cert.pem'), fs.readFileSync(f('root1_cert.pem'), 'utf8') + fs.readFileSync(f('root2_cert.pem'), 'utf8'));
  issue(dir, path.join(keysRoot, 'alipay_private.pem'), '/C=CN/O=Alipay SIM/OU=Alipay/CN=Alipay SIM Public Key RSA2',
    '0x1A2B3C4D5E6F7081', 'alipay_cert.pem');
  issue(dir, path.join(keysRoot, 'app_public.pem'), '/C=CN/O=Merchant SIM/OU=Alipay/CN=2021000000000001',
    '0x00C0FFEE0123456789', 'app_cert.pem');
  issue(dir, f('rotated_private.pem'), '/C=CN/O=Alipay SIM/OU=Alipay/CN=Alipay SIM Public Key RSA2',
    '0x1A2B3C4D5E6F7082', 'rotated_cert.pem');
  return paths;
}

module.exports = { loadCerts };
