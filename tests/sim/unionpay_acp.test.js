'use strict';
// Self-test of the unionpay_acp plugin. There is no official UnionPay npm SDK, so the client
// side is a hand-built ACP 5.1.0 request (signed with node:crypto here, independently of the
// plugin's sign.js) and the published vectors V13c / V14 (channel-vectors.md) pin the
// algorithm both sides use; SM3 is sm-crypto's (vector V12).
// Run: node --test tests/sim/unionpay_acp.test.js

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { sm3 } = require('sm-crypto');
const { startSim, startReceiver } = require('./lib/testkit');
const acp = require('./lib/channels/unionpay_acp/sign');

const V13_KEY = fs.readFileSync(path.join(__dirname, '..', 'vectors', 'keys', 'v13_test_private.pem'));
const V_FIELDS = {
  accessType: '0', backUrl: 'http://127.0.0.1:8080/notify', bizType: '000201', channelType: '07', currencyCode: '156',
  encoding: 'UTF-8', merId: '777290058110048', orderId: 'T20240101001', txnAmt: '1000', txnSubType: '01',
  txnTime: '20240101120000', txnType: '01', version: '5.1.0',
};
const V13C_SIG = 'qpAW+hfhSviFPyTaNm65vZ3RIRDLLyasPGKUJfqa5R2T7nw6kvhhR8/i/wNR3cTXfq5DwFqfnTVF2EOkpz4kQ6xHrmAWKNimHNde4NPdZRVF4S+n+KOp63mo25UO73d9aCOeEQ037KNgUo+b5CpNfFAxhcFIMfTdhFmoOoJuFp9EEb9a5eYfWHNwRe9M2HODIwVzW3QlMXhy0gQubLZojlnGKLezGSICk52X+IgwHdAayTTw502iJgUZL6Q4l26GtN73XdjNCmyewCoYCBNAhfK50uAK44akErKEgN5HEf0PvdzzZQ2/EPjdUN5zk0vUp8zFIvEyY73igSQTQDS4PQ==';

test('vectors V12 (SM3), V13c (signMethod 01) and V14 (11 / 12)', () => {
  assert.equal(sm3('abc'), '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
  const key = crypto.createPrivateKey(V13_KEY);
  const a = acp.sign(V_FIELDS, { method: '01', key, certId: '69629715588' });
  assert.equal(acp.sha256hex(a.signString), '90aa34cc701df0c93a33cbc74f2037763183596d54216ad253b3bb8a83c28551');
  assert.equal(a.fields.signature, V13C_SIG);
  assert.equal(acp.verify(a.fields, { publicKey: crypto.createPublicKey(key) }).ok, true);
  assert.equal(acp.sign(V_FIELDS, { method: '11', secureKey: '88888888' }).fields.signature, '261d2e79b84fc88931fbc9835d2d1af41e310c3a382c151ec3659e851f36d0d4');
  assert.equal(acp.sign(V_FIELDS, { method: '12', secureKey: '88888888' }).fields.signature, '43ad899f1c5b1f16b905da83e1a1d10567ae761c12c01666208286730d1f9058');
});

let kit;
let rx;
let keys;
test.before(async () => {
  kit = await startSim({ channel: 'unionpay_acp' });
  rx = await startReceiver({ status: 200, body: 'ok' });
  const d = path.join(kit.keysDir, 'unionpay_acp');
  keys = {
    mer: crypto.createPrivateKey(fs.readFileSync(path.join(d, 'merchant_private.pem'))),
    merCertId: BigInt(`0x${new crypto.X509Certificate(fs.readFileSync(path.join(d, 'merchant_cert.pem'))).serialNumber}`).toString(),
    upCert: fs.readFileSync(path.join(d, 'platform_cert.pem'), 'utf8'),
    root: new crypto.X509Certificate(fs.readFileSync(path.join(d, 'root_cert.pem'))),
    middle: new crypto.X509Certificate(fs.readFileSync(path.join(d, 'middle_cert.pem'))),
    secure: fs.readFileSync(path.join(d, 'secure_key.txt'), 'utf8').trim(),
  };
});
test.after(async () => { await kit.close(); await rx.close(); });
test.beforeEach(() => kit.reset());

// independent hand-built request: sorted k=v, SHA-256 hex, SHA256withRSA, base64
function handSigned(fields, key = keys.mer) {
  const f = { ...fields, signMethod: '01', certId: keys.merCertId };
  const s = Object.keys(f).sort().map((k) => `${k}=${f[k]}`).join('&');
  const hex = crypto.createHash('sha256').update(s).digest('hex');
  f.signature = crypto.sign('sha256', Buffer.from(hex), key).toString('base64');
  return new URLSearchParams(f).toString();
}

async function post(p, body) {
  const r = await fetch(`${kit.base}/unionpay_acp/gateway/api/${p}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' }, body });
  return { status: r.status, text: await r.text() };
}

// signPubKeyCert chains root -> middle -> leaf (node:crypto's X509Certificate, not the sim's
// code) and names UnionPay as the official SDK's CertUtil.verifyCertificate wants
function chained(pem) {
  const c = new crypto.X509Certificate(pem);
  return c.checkIssued(keys.middle) && c.verify(keys.middle.publicKey) && keys.middle.checkIssued(keys.root)
    && keys.middle.verify(keys.root.publicKey) && keys.root.verify(keys.root.publicKey) && keys.middle.ca && !c.ca;
}

function checkAnswer(text) {
  const a = acp.parseAnswer(text);
  const pub = new crypto.X509Certificate(a.signPubKeyCert).publicKey;
  assert.equal(chained(a.signPubKeyCert), true, 'signPubKeyCert chains to the sim root');
  assert.equal(new crypto.X509Certificate(a.signPubKeyCert).subject.split('CN=')[1].split('@')[2], '中国银联股份有限公司');
  assert.equal(new crypto.X509Certificate(keys.upCert).fingerprint256, new crypto.X509Certificate(a.signPubKeyCert).fingerprint256);
  assert.equal(acp.verify(a, { publicKey: pub }).ok, true, 'answer signature');
  return a;
}

const consume = (o) => ({ ...V_FIELDS, bizType: '000301', orderId: o, txnTime: '20240101120000', backUrl: rx.url('/n'), tokenPayData: '{token=1&trId=2}' });

test('back consume, query before and after payment, notify', async () => {
  const r = await post('backTransReq.do', handSigned(consume('S20240101001')));
  assert.equal(checkAnswer(r.text).respCode, '00');
  const q = { version: '5.1.0', encoding: 'UTF-8', txnType: '00', txnSubType: '00', bizType: '000000', accessType: '0', merId: '777290058110048', orderId: 'S20240101001', txnTime: '20240101120000' };
  let a = checkAnswer((await post('queryTrans.do', handSigned(q))).text);
  assert.equal(a.respCode, '00');
  assert.equal(a.origRespCode, '05');
  await kit.pay('S20240101001');
  a = checkAnswer((await post('queryTrans.do', handSigned(q))).text);
  assert.equal(a.origRespCode, '00');
  const n = await kit.notify('S20240101001', 'valid');
  assert.equal(n.json.status, 200);
  const got = Object.fromEntries(new URLSearchParams(rx.received[rx.received.length - 1].raw.toString()));
  assert.equal(got.respCode, '00');
  assert.equal(acp.verify(got, { publicKey: new crypto.X509Certificate(keys.upCert).publicKey }).ok, true);
  await kit.notify('S20240101001', 'forged');
  const forged = Object.fromEntries(new URLSearchParams(rx.received[rx.received.length - 1].raw.toString()));
  assert.equal(acp.verify(forged, { publicKey: new crypto.X509Certificate(keys.upCert).publicKey }).ok, false);
});

test('notify signed by a UnionPay-named certificate of another root: consistent, but unchained', async () => {
  await post('backTransReq.do', handSigned(consume('S20240101004')));
  const n = await kit.notify('S20240101004', 'valid', { signer: 'other_root' });
  assert.equal(n.json.status, 200);
  const got = Object.fromEntries(new URLSearchParams(rx.received[rx.received.length - 1].raw.toString()));
  assert.equal(acp.verify(got, { publicKey: new crypto.X509Certificate(got.signPubKeyCert).publicKey }).ok, true);
  assert.equal(chained(got.signPubKeyCert), false);
});

test('front consume: the browser-posted form gets the cashier page; 34 until paid, then 00', async () => {
  const r = await post('frontTransReq.do', handSigned({ ...V_FIELDS, orderId: 'F20240101001', backUrl: rx.url('/n') }));
  assert.match(r.text, /<html>.*<form/);
  const q = { version: '5.1.0', encoding: 'UTF-8', txnType: '00', txnSubType: '00', bizType: '000000', accessType: '0', merId: '777290058110048', orderId: 'F20240101001', txnTime: '20240101120000' };
  assert.equal(checkAnswer((await post('queryTrans.do', handSigned(q))).text).respCode, '34');
  await kit.pay('F20240101001');
  assert.equal(checkAnswer((await post('queryTrans.do', handSigned(q))).text).origRespCode, '00');
});

test('a request signed with another key is refused with an unsigned 11 and counted', async () => {
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const r = await post('backTransReq.do', handSigned(consume('S20240101002'), other));
  const a = acp.parseAnswer(r.text);
  assert.equal(a.respCode, '11');
  assert.equal(a.signature, undefined);
  assert.equal((await kit.counts('S20240101002')).bad_sign, 1);
});

test('signMethod 11 request and answer with the secure key', async () => {
  const f = acp.sign(consume('S20240101003'), { method: '11', secureKey: keys.secure }).fields;
  const r = await post('backTransReq.do', new URLSearchParams(f).toString());
  const a = acp.parseAnswer(r.text);
  assert.equal(a.signMethod, '11');
  assert.equal(acp.verify(a, { secureKey: keys.secure }).ok, true);
  assert.equal(a.respCode, '00');
});

test('no sim-internal errors', () => assert.deepEqual(kit.errors(), []));
