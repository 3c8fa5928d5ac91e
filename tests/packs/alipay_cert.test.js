'use strict';
// The alipay pack in public-key certificate mode (公钥证书模式: app_cert, alipay_root_cert,
// alipay_public_cert configured) against the simulator's certificate-mode profile
// (tests/sim/lib/channels/alipay.js cert_mode=1: openssl-issued certificates, SNs computed
// by alipay-sdk in certificate mode). Pay (qr), query, refund, payout + payout query, a wap
// credential alipay-sdk in certificate mode reproduces, notifies verified with the Alipay
// certificate's key; a wrong app certificate is refused by the sim and stays PROCESSING; an
// answer under a rotated Alipay certificate stays PROCESSING with "Alipay certificate changed".
// Run: PAYGWCTL=$PWD/build/paygwctl node --test tests/packs/alipay_cert.test.js

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const kit = require('./lib');
const { AlipaySdk } = require('../sim/node_modules/alipay-sdk');
const { loadCerts } = require('../sim/lib/channels/alipay/certs');

const APP_ID = '2021000000000001';
let k;
let appPrivatePem;
let certs;

test.before(async () => {
  k = await kit.start({
    channel: 'alipay',
    simArgs: ['--set', 'alipay.cert_mode=1'],
    keys({ simRoot, keystore }) {
      appPrivatePem = fs.readFileSync(path.join(simRoot, 'app_private.tmp.pem'), 'utf8');
      fs.writeFileSync(path.join(keystore, 'app_private.pem'), appPrivatePem, { mode: 0o600 });
      // what the merchant downloads from the Alipay console (the sim issued them)
      certs = loadCerts(simRoot);
      fs.copyFileSync(certs.app_cert, path.join(keystore, 'app_cert.pem'));
      fs.copyFileSync(certs.root_cert, path.join(keystore, 'alipay_root_cert.pem'));
      fs.copyFileSync(certs.alipay_cert, path.join(keystore, 'alipay_public_cert.pem'));
      fs.copyFileSync(certs.rotated_cert, path.join(keystore, 'wrong_app_cert.pem'));
    },
    params: { app_id: APP_ID, app_private_key: 'app_private', app_cert: 'app_cert',
      alipay_root_cert: 'alipay_root_cert', alipay_public_cert: 'alipay_public_cert' },
    endpoint: (simBase) => `${simBase}/alipay/gateway.do`,
  });
});
test.after(async () => { if (k) await k.stop(); });

const read = (f) => fs.readFileSync(f, 'utf8');
// the merchant's alipay-sdk in certificate mode over the same files
const certSdk = () => new AlipaySdk({ appId: APP_ID, privateKey: appPrivatePem, keyType: 'PKCS8',
  appCertContent: read(certs.app_cert), alipayPublicCertContent: read(certs.alipay_cert),
  alipayRootCertContent: read(certs.root_cert) });

const order = (extra = {}) => ({ out_trade_no: kit.tradeNo('C'), amount: 1000, currency: 'CNY', subject: 'cert mode',
  method: 'alipay.qr', expire_seconds: 900, notify_url: k.notifyUrl, ...extra });
const payoutOf = () => ({ payout: { out_payout_no: kit.tradeNo('P'), amount: 1000, currency: 'CNY',
  payee: { account_no: 'payee@example.com', account_name: '张三' }, remark: 'cert mode' } });

test('requests carry the SNs alipay-sdk computes, inside the signed string', async () => {
  const sdk = certSdk();
  const r = await k.render('query', order());
  const p = Object.fromEntries(new URLSearchParams(r.body));
  assert.equal(p.app_cert_sn, sdk.config.appCertSn);
  assert.equal(p.alipay_root_cert_sn, sdk.config.alipayRootCertSn);
});

test('pay (qr), query, refund in certificate mode', async () => {
  const o = order();
  const pay = await k.exchange('pay', o);
  assert.equal(pay.class, 'SUCCESS', JSON.stringify(pay));
  assert.match(pay.fields.credential.qr_code, /^https:\/\/qr\.alipay\.com\//);
  assert.equal((await k.exchange('query', o)).code, 'WAIT_BUYER_PAY');
  assert.equal((await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no })).status, 200);
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.fields.amount, 1000);
  const rf = { ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 400, reason: 'cert' } };
  const r = await k.exchange('refund', rf);
  assert.equal(r.class, 'SUCCESS', JSON.stringify(r));
  assert.equal((await k.exchange('refund_query', rf)).class, 'SUCCESS');
});

test('payout and payout query (fund APIs: certificate mode only)', async () => {
  const o = payoutOf();
  const s = await k.exchange('payout', o);
  assert.equal(s.class, 'SUCCESS', JSON.stringify(s));
  const q = await k.exchange('payout_query', o);
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.fields.amount, 1000);
  assert.equal((await k.exchange('payout_query', payoutOf())).class, 'NOT_FOUND');
});

test('alipay.wap credential: alipay-sdk in certificate mode verifies and reproduces it', async () => {
  const o = order({ method: 'alipay.wap', extra: { return_url: 'https://shop.example.com/back' } });
  const r = await k.exchange('pay', o);
  assert.equal(r.sent, 'LOCAL', JSON.stringify(r));
  const params = Object.fromEntries(new URL(r.fields.credential.url).searchParams);
  const sdk = certSdk();
  assert.equal(params.app_cert_sn, sdk.config.appCertSn);
  assert.equal(params.alipay_root_cert_sn, sdk.config.alipayRootCertSn);
  const { sign, ...rest } = params;
  const extra = {};
  for (const kk of ['format', 'notify_url', 'return_url']) if (rest[kk]) extra[kk] = rest[kk];
  const theirs = Object.fromEntries(new URLSearchParams(sdk.sdkExecute('alipay.trade.wap.pay',
    { timestamp: rest.timestamp, bizContent: JSON.parse(rest.biz_content), ...extra }, { bizContentAutoSnakeCase: false })));
  assert.equal(theirs.app_cert_sn, params.app_cert_sn);
  assert.equal(theirs.alipay_root_cert_sn, params.alipay_root_cert_sn);
  assert.equal(theirs.sign, sign, 'sdkExecute in certificate mode produced another signature');
});

test('notifies: verified with the Alipay certificate key; forged refused', async () => {
  const o = order();
  await k.exchange('pay', o);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  const v = await k.verifyLastNotify();
  assert.equal(v.verified, true, JSON.stringify(v));
  assert.equal(v.class, 'SUCCESS');
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const f = await k.verifyLastNotify();
  assert.equal(f.verified, false);
  assert.equal(f.class, 'PROCESSING');
});

test('a wrong app certificate: the sim refuses (isv.app-cert-not-exist) and the pay stays PROCESSING', async () => {
  k.setParams({ app_cert: 'wrong_app_cert' });
  try {
    const r = await k.exchange('pay', order());
    assert.equal(r.class, 'PROCESSING', JSON.stringify(r));
    assert.equal(r.code, '40002:isv.app-cert-not-exist');
    assert.notEqual(r.sent, 'NOT_SENT');
  } finally { k.setParams({}); }
});

test('Alipay rotated its certificate: the answer is not trusted, PROCESSING with the clear error', async () => {
  const o = order();
  await k.exchange('pay', o);
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  await k.script({ out_trade_no: o.out_trade_no, query: 'rotated_cert' });
  const q = await k.exchange('query', o);
  assert.equal(q.class, 'PROCESSING', JSON.stringify(q));
  assert.match(q.error, /Alipay certificate changed/);
  assert.match(q.error, new RegExp(certSdk().config.alipayCertSn));
  // and a payout answered under the rotated certificate is never FAILED or SUCCESS
  const p = payoutOf();
  await k.script({ out_trade_no: p.payout.out_payout_no, payout: 'rotated_cert' });
  const x = await k.exchange('payout', p);
  assert.equal(x.class, 'PROCESSING', JSON.stringify(x));
  assert.match(x.error, /Alipay certificate changed/);
});

test('half a certificate configuration is refused before anything is sent', async () => {
  const { alipay_public_cert: _, ...half } = k.opts.params;
  k.writeConf(half);
  try {
    // the builder raises: paygwctl reports the build error, nothing reaches the sim
    await assert.rejects(k.exchange('pay', order()), /build\.pay: .*certificate mode needs app_cert, alipay_root_cert and alipay_public_cert/);
  } finally { k.setParams({}); }
});
