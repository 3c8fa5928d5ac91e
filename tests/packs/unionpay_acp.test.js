'use strict';
// Conformance of the unionpay_acp pack (templates/unionpay_acp.lua, scripts/unionpay_acp.lua)
// against the simulator's UnionPay ACP 5.1.0 plugin (tests/sim/lib/channels/unionpay_acp.js),
// through `paygwctl channel exchange|notify|test`. Every op (pay front/back, query, refund,
// refund_query, cancel) meets success, definite failure, unknown code, not-found (queries),
// 5xx, garbage, bad answer signature, delay beyond the timeout and a dropped connection;
// pay in progress then success by query; notifies valid / forged / duplicate / contrary;
// signMethods 11 and 12; the sim refuses requests signed with the wrong key or secureKey.
// Front consume is a local credential: its signature is checked independently (the sim's
// published-algorithm sign.js / sm-crypto), then "the browser" posts it to the sim.
// signMethod 01 answers/notifies are verified with their signPubKeyCert once it chains to
// the sim's root + middle (root_cert / middle_cert); one chaining to another root is forged.
// Run: node --test tests/packs/unionpay_acp.test.js   (PAYGWCTL=/path overrides build/paygwctl)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const kit = require('./lib');
const { sm3 } = require('../sim/node_modules/sm-crypto');
const { loadKeys } = require('../sim/lib/channels/unionpay_acp/keys');
const acp = require('../sim/lib/channels/unionpay_acp/sign');

const MER = '777290058110048';
const SHORT = 800;
let k;
let merchantCert;
let secureKey;

test.before(async () => {
  k = await kit.start({
    channel: 'unionpay_acp',
    keys({ simDir, keystore }) {
      loadKeys(simDir); // the sim's own generator writes the pair + certificates
      const cp = (from, to) => fs.copyFileSync(path.join(simDir, from), path.join(keystore, to));
      cp('merchant_private.pem', 'up_sign.pem');
      cp('merchant_cert.pem', 'up_sign_cert.pem');
      cp('platform_cert.pem', 'up_verify.pem');
      cp('root_cert.pem', 'up_root.pem');
      cp('middle_cert.pem', 'up_middle.pem');
      cp('other_cert.pem', 'up_other_verify.pem');       // an impostor as verify_cert
      cp('other_root_cert.pem', 'up_other_root.pem');
      merchantCert = fs.readFileSync(path.join(simDir, 'merchant_cert.pem'), 'utf8');
      secureKey = fs.readFileSync(path.join(simDir, 'secure_key.txt'), 'utf8').trim();
      fs.writeFileSync(path.join(keystore, 'up_secure.secret'), fs.readFileSync(path.join(simDir, 'secure_key.txt'), 'utf8').trim());
      fs.writeFileSync(path.join(keystore, 'up_wrong_secure.secret'), 'not-the-secure-key');
      const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      fs.writeFileSync(path.join(keystore, 'up_wrong.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    },
    params: { mer_id: MER, sign_key: 'up_sign', sign_cert: 'up_sign_cert', verify_cert: 'up_verify', root_cert: 'up_root', middle_cert: 'up_middle', secure_key: 'up_secure' },
  });
});
test.after(async () => { if (k) await k.stop(); });

function order(extra = {}) {
  return {
    out_trade_no: kit.tradeNo('U'), amount: 1000, currency: 'CNY', subject: 'conformance',
    method: 'unionpay.back', notify_url: k.notifyUrl, created_at_ms: Date.now(),
    extra: { token_pay_data: '{token=6235240000020757328&trId=62000000001}' },
    ...extra,
  };
}

const keyOf = (op, o) => (op === 'refund' || op === 'refund_query' ? o.refund.out_refund_no : o.out_trade_no);

async function run(op, o, behaviour, opts = {}) {
  if (behaviour) {
    const s = await k.script({ out_trade_no: keyOf(op, o), [op]: behaviour });
    assert.equal(s.status, 200, s.text);
  }
  return k.exchange(op, o, opts);
}

async function paidOrder() {
  const o = order();
  const r = await run('pay', o);
  assert.equal(r.code, '00', JSON.stringify(r));
  const p = await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  assert.equal(p.status, 200, p.text);
  return { ...o, channel_trade_no: r.fields.channel_trade_no };
}

const refundOf = (o) => ({ ...o, refund: { out_refund_no: kit.tradeNo('R'), amount: 400, created_at_ms: Date.now() } });

async function lastRequest(key) {
  const r = await k.simGet('/_sim/requests', { out_trade_no: key });
  const list = r.json.requests;
  return list[list.length - 1];
}

test('fixtures pass under paygwctl channel test', async () => {
  const r = await k.test();
  assert.equal(r.code, 0, r.stderr);
});

// "The browser": auto-submits the credential's form to its url (the sim's frontTransReq.do)
async function browserPost(c) {
  const r = await fetch(c.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(c.fields).toString() });
  return { status: r.status, text: await r.text() };
}

// independent check of a front form's signature: the sim's published-algorithm sign.js for
// 01 (SHA256withRSA over hex SHA-256, merchant certificate) and a hand-written 11 / 12
// (node:crypto SHA-256, sm-crypto SM3) -- never paygw's code
function independentlyVerified(f) {
  const s = Object.keys(f).filter((x) => x !== 'signature').sort().map((x) => `${x}=${f[x]}`).join('&');
  if (f.signMethod === '11') {
    const h = (t) => crypto.createHash('sha256').update(t).digest('hex');
    return f.signature === h(`${s}&${h(secureKey)}`);
  }
  if (f.signMethod === '12') return f.signature === sm3(`${s}&${sm3(secureKey)}`);
  return f.certId === acp.certIdOf(merchantCert) && acp.verify(f, { publicKey: crypto.createPublicKey(merchantCert) }).ok;
}

for (const [method, ch] of [['unionpay.web', '07'], ['unionpay.wap', '08']]) {
  test(`front consume ${method}: a local form_post credential, nothing sent; the browser's post reaches the sim, a query finds it`, async () => {
    const o = order({ method, extra: { return_url: 'https://shop.example/return' } });
    const r = await run('pay', o);
    assert.equal(r.sent, 'LOCAL', JSON.stringify(r));
    assert.equal(r.class, 'SUCCESS');
    assert.equal((await k.simGet('/_sim/requests', { out_trade_no: o.out_trade_no })).json.requests.length, 0, 'nothing was sent');
    const c = r.fields.credential;
    assert.equal(c.type, 'form_post');
    assert.equal(c.url, `${k.simBase}/unionpay_acp/gateway/api/frontTransReq.do`);
    assert.equal(c.fields.channelType, ch);
    assert.equal(c.fields.frontUrl, 'https://shop.example/return');
    assert.equal(c.fields.txnAmt, '1000');
    assert.equal(independentlyVerified(c.fields), true, 'the credential verifies independently');
    assert.equal(independentlyVerified({ ...c.fields, txnAmt: '1' }), false);
    const b = await browserPost(c);
    assert.equal(b.status, 200, b.text);
    assert.match(b.text, /<form/);
    const req = await lastRequest(o.out_trade_no);
    assert.equal(req.sign_ok, true, req.sign_string);
    assert.deepEqual(req.params, c.fields, 'the sim verified exactly the credential');
    const q1 = await run('query', o);
    assert.equal(q1.class, 'NOT_FOUND', JSON.stringify(q1)); // unpaid front order: 34, never FAILED
    await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
    const q2 = await run('query', o);
    assert.equal(q2.class, 'SUCCESS', JSON.stringify(q2));
    assert.equal(q2.fields.amount, 1000);
  });
}

// UnionPay's query demo (Form_6_5_Query): a front transaction's failure may be an intermediate
// state; only a query past payTimeout is final. A declining notify of a front consume is a hint.
test('front consume: a decline before payTimeout stays PROCESSING (00:61:open), a declining notify is a hint', async () => {
  const o = order({ method: 'unionpay.web', expire_seconds: 900 });
  const c = (await run('pay', o)).fields.credential;
  assert.equal((await browserPost(c)).status, 200);
  const q = await run('query', o, 'fail');
  assert.equal(q.class, 'PROCESSING', JSON.stringify(q));
  assert.equal(q.code, '00:61:open');
  // an order whose payTimeout (+ 60 s) has passed: the same decline is final
  const old = order({ method: 'unionpay.web', expire_seconds: 1, created_at_ms: Date.now() - 120 * 1000 });
  assert.equal((await browserPost((await run('pay', old)).fields.credential)).status, 200);
  const late = await run('query', old, 'fail');
  assert.equal(late.class, 'FAILED', JSON.stringify(late));
  assert.equal(late.code, '00:61');
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  assert.equal((await k.verifyLastNotify()).class, 'SUCCESS');
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const v = await k.verifyLastNotify();
  assert.equal(v.verified, true, JSON.stringify(v));
  assert.equal(v.class, 'PROCESSING', JSON.stringify(v));
  assert.equal(v.code, '61:open');
});

for (const m of ['11', '12']) {
  test(`front consume credential with signMethod ${m}: independently verified, accepted by the sim`, async () => {
    k.setParams({ sign_method: m });
    try {
      const o = order({ method: 'unionpay.web' });
      const r = await run('pay', o);
      assert.equal(r.sent, 'LOCAL');
      assert.equal(r.fields.credential.fields.signMethod, m);
      assert.equal(independentlyVerified(r.fields.credential.fields), true);
      assert.equal((await browserPost(r.fields.credential)).status, 200);
      assert.equal((await lastRequest(o.out_trade_no)).sign_ok, true);
    } finally {
      k.setParams({});
    }
  });
}

test('the sim refuses a front form signed with the wrong key', async () => {
  k.setParams({ sign_key: 'up_wrong' });
  try {
    const o = order({ method: 'unionpay.web' });
    const r = await run('pay', o);
    assert.equal(independentlyVerified(r.fields.credential.fields), false);
    const b = await browserPost(r.fields.credential);
    assert.match(b.text, /respCode=11/);
    assert.equal((await lastRequest(o.out_trade_no)).sign_ok, false);
  } finally {
    k.setParams({});
  }
});

test('certificate chain: answers verify with their signPubKeyCert even when verify_cert is wrong', async () => {
  k.setParams({ verify_cert: 'up_other_verify' });
  try {
    const o = await paidOrder();
    const q = await run('query', o);
    assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  } finally {
    k.setParams({});
  }
});

test('certificate chain: another configured root -> answers and notifies not verified', async () => {
  const o = await paidOrder();
  k.setParams({ root_cert: 'up_other_root' });
  try {
    const q = await run('query', o);
    assert.equal(q.class, 'PROCESSING', JSON.stringify(q));
    assert.match(q.error, /signPubKeyCert not trusted/);
    await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
    const v = await k.verifyLastNotify();
    assert.equal(v.verified, false, JSON.stringify(v));
    assert.equal(v.class, 'PROCESSING');
  } finally {
    k.setParams({});
  }
});

test('notify whose signPubKeyCert chains to another root -> forged (not verified)', async () => {
  const o = await paidOrder();
  const n = await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid', signer: 'other_root' });
  assert.equal(n.status, 200, n.text);
  const v = await k.verifyLastNotify();
  assert.equal(v.verified, false, JSON.stringify(v));
  assert.equal(v.class, 'PROCESSING');
  assert.match(v.error || '', /signPubKeyCert not trusted/);
  assert.equal(v.ack.status, 400);
});

const TRANSPORT = (extra) => [
  ['5xx', 'PROCESSING'], ['garbage', 'PROCESSING'], ['unknown', 'PROCESSING'], ['badsign', 'PROCESSING'], ...extra,
];

for (const [beh, cls, code] of [['success', 'PROCESSING', '00'], ['fail', 'FAILED', '64'], ['processing', 'PROCESSING', '03'], ...TRANSPORT([])]) {
  test(`back consume: ${beh} -> ${cls}`, async () => {
    const r = await run('pay', order(), beh);
    assert.equal(r.class, cls, JSON.stringify(r));
    if (code) assert.equal(r.code, code);
    if (beh === 'badsign') assert.match(r.error, /response signature invalid/);
  });
}

for (const op of ['pay', 'query', 'refund', 'refund_query', 'cancel']) {
  const mk = async () => {
    if (op === 'pay' || op === 'query') return order();
    const o = refundOf(await paidOrder());
    if (op === 'refund_query') await run('refund', o); // UnionPay knows the refund
    return o;
  };
  test(`${op}: delay beyond the timeout -> PROCESSING (never NOT_SENT)`, async () => {
    const r = await run(op, await mk(), 'delay:3000', { timeoutMs: SHORT });
    assert.equal(r.class, 'PROCESSING', JSON.stringify(r));
    assert.notEqual(r.sent, 'NOT_SENT');
  });
  test(`${op}: dropped connection -> PROCESSING`, async () => {
    const r = await run(op, await mk(), 'drop');
    assert.equal(r.class, 'PROCESSING', JSON.stringify(r));
    assert.notEqual(r.sent, 'NOT_SENT');
  });
  test(`${op}: 5xx and garbage -> PROCESSING`, async () => {
    for (const beh of ['5xx', 'garbage']) {
      const r = await run(op, await mk(), beh);
      assert.equal(r.class, 'PROCESSING', `${beh}: ${JSON.stringify(r)}`);
    }
  });
}

test('pay in progress, then success by query', async () => {
  const o = order();
  const r1 = await run('pay', o);
  assert.equal(r1.class, 'PROCESSING');
  const q1 = await run('query', o);
  assert.equal(q1.class, 'PROCESSING', JSON.stringify(q1));
  assert.equal(q1.code, '00:05');
  await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
  const q2 = await run('query', o);
  assert.equal(q2.class, 'SUCCESS', JSON.stringify(q2));
  assert.equal(q2.code, '00:00');
  assert.equal(q2.fields.amount, 1000);
  assert.equal(q2.fields.channel_trade_no, r1.fields.channel_trade_no);
});

for (const [beh, cls, code] of [['fail', 'FAILED', '00:61'], ['processing', 'PROCESSING', '00:05'], ['not_found', 'NOT_FOUND', '34'], ['unknown', 'PROCESSING', '00:Q7'], ['badsign', 'PROCESSING']]) {
  test(`query: ${beh} -> ${cls}`, async () => {
    const o = order();
    await run('pay', o);
    const r = await run('query', o, beh);
    assert.equal(r.class, cls, JSON.stringify(r));
    if (code) assert.equal(r.code, code);
  });
}

test('query of an order UnionPay never saw -> NOT_FOUND (34), never FAILED', async () => {
  const r = await run('query', order());
  assert.equal(r.class, 'NOT_FOUND', JSON.stringify(r));
  assert.equal(r.code, '34');
});

test('refund: 00 is accepted only; refund_query settles it', async () => {
  const o = refundOf(await paidOrder());
  const r = await run('refund', o);
  assert.equal(r.class, 'PROCESSING', JSON.stringify(r));
  assert.equal(r.code, '00');
  const q = await run('refund_query', { ...o, refund: { ...o.refund, channel_refund_no: r.fields.channel_refund_no } });
  assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
  assert.equal(q.fields.amount, 400);
  const q2 = await run('refund_query', o); // by orderId + txnTime
  assert.equal(q2.class, 'SUCCESS', JSON.stringify(q2));
});

for (const [beh, cls, code] of [['fail', 'FAILED', '35'], ['unknown', 'PROCESSING', '8Q'], ['badsign', 'PROCESSING']]) {
  test(`refund: ${beh} -> ${cls}`, async () => {
    const r = await run('refund', refundOf(await paidOrder()), beh);
    assert.equal(r.class, cls, JSON.stringify(r));
    if (code) assert.equal(r.code, code);
  });
}

for (const [beh, cls, code] of [['fail', 'FAILED', '00:01'], ['processing', 'PROCESSING', '00:05'], ['not_found', 'NOT_FOUND', '34'], ['unknown', 'PROCESSING', '00:Q7'], ['badsign', 'PROCESSING']]) {
  test(`refund_query: ${beh} -> ${cls}`, async () => {
    const o = refundOf(await paidOrder());
    await run('refund', o);
    const r = await run('refund_query', o, beh);
    assert.equal(r.class, cls, JSON.stringify(r));
    if (code) assert.equal(r.code, code);
  });
}

test('refund_query of a refund UnionPay never saw -> NOT_FOUND', async () => {
  const r = await run('refund_query', refundOf(await paidOrder()));
  assert.equal(r.class, 'NOT_FOUND', JSON.stringify(r));
});

for (const [beh, cls, code] of [['success', 'PROCESSING', '00'], ['fail', 'FAILED', '45'], ['unknown', 'PROCESSING', '8Q'], ['badsign', 'PROCESSING']]) {
  test(`cancel (void): ${beh} -> ${cls}`, async () => {
    const r = await run('cancel', await paidOrder(), beh);
    assert.equal(r.class, cls, JSON.stringify(r));
    if (code) assert.equal(r.code, code);
  });
}

for (const m of ['11', '12']) {
  test(`signMethod ${m}: the sim verifies our secure-key signature, we verify its answer`, async () => {
    k.setParams({ sign_method: m });
    try {
      const o = order();
      const r = await run('pay', o);
      assert.equal(r.code, '00', JSON.stringify(r));
      const req = await lastRequest(o.out_trade_no);
      assert.equal(req.params.signMethod, m);
      assert.equal(req.sign_ok, true);
      await k.sim('/_sim/pay', { out_trade_no: o.out_trade_no });
      const q = await run('query', o);
      assert.equal(q.class, 'SUCCESS', JSON.stringify(q));
      k.setParams({ sign_method: m, secure_key: 'up_wrong_secure' });
      const bad = await run('query', o);
      assert.equal(bad.class, 'PROCESSING', JSON.stringify(bad));
      assert.equal((await lastRequest(o.out_trade_no)).sign_ok, false);
    } finally {
      k.setParams({});
    }
  });
}

test('the sim refuses a request signed with the wrong key (unsigned 11 -> PROCESSING)', async () => {
  k.setParams({ sign_key: 'up_wrong' });
  try {
    const o = order();
    const r = await run('pay', o);
    assert.equal(r.class, 'PROCESSING', JSON.stringify(r));
    assert.match(r.error, /response signature invalid/);
    const req = await lastRequest(o.out_trade_no);
    assert.equal(req.sign_ok, false);
    assert.equal(req.behaviour, 'rejected:bad-signature');
    const c = await k.simGet('/_sim/counts', { out_trade_no: o.out_trade_no });
    assert.equal(c.json.bad_sign, 1);
  } finally {
    k.setParams({});
  }
});

test('notifies: valid, forged, duplicate, contrary', async () => {
  const o = await paidOrder();
  const n1 = await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid' });
  assert.equal(n1.status, 200, n1.text);
  const v1 = await k.verifyLastNotify();
  assert.equal(v1.verified, true, JSON.stringify(v1));
  assert.equal(v1.class, 'SUCCESS');
  assert.equal(v1.out_trade_no, o.out_trade_no);
  assert.equal(v1.fields.amount, 1000);
  assert.equal(v1.ack.status, 200);

  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'duplicate' });
  const v2 = await k.verifyLastNotify();
  assert.deepEqual({ ...v2 }, { ...v1 });

  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'forged' });
  const v3 = await k.verifyLastNotify();
  assert.equal(v3.verified, false);
  assert.equal(v3.class, 'PROCESSING');
  assert.equal(v3.ack.status, 400);

  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'contrary' });
  const v4 = await k.verifyLastNotify();
  assert.equal(v4.verified, true, JSON.stringify(v4));
  // a back consume's (bizType 000301) decline is final, as its query would be; a front
  // consume's is only a hint (see 'front consume: a declining notify is a hint')
  assert.equal(v4.class, 'FAILED');
  assert.equal(v4.code, '61');
});

test('refund notify names the consume and the refund', async () => {
  const o = refundOf(await paidOrder());
  await run('refund', o);
  await k.simNotify({ out_trade_no: o.out_trade_no, kind: 'valid', refund: o.refund.out_refund_no });
  const v = await k.verifyLastNotify();
  assert.equal(v.verified, true, JSON.stringify(v));
  assert.equal(v.out_trade_no, o.out_trade_no);
  assert.equal(v.fields.kind, 'refund');
  assert.equal(v.fields.out_refund_no, o.refund.out_refund_no);
  assert.equal(v.class, 'SUCCESS');
});

test('no sim-internal errors', async () => {
  const r = await k.simGet('/_sim/errors');
  assert.deepEqual(r.json.errors, [], r.text);
});
