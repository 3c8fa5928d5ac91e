'use strict';
// tests/packs/kit.test.js — the conformance kit itself (lib.js): fixtures through
// paygwctl channel test, one exchange classified, a timeout never worse than
// PROCESSING, and a simulator notification verified by the pack.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const kit = require('./lib');
test('the kit drives a pack through paygwctl channel against the simulator (alipay)', async () => {
  const k = await kit.start({
    channel: 'alipay',
    keys({ simRoot, keystore }) {
      const ali = kit.writeKeyPair(simRoot, 'alipay_private.pem', 'alipay_public.tmp.pem');
      const app = kit.writeKeyPair(keystore, 'alipay_app_private.pem', 'app_public.tmp.pem');
      fs.writeFileSync(path.join(simRoot, 'app_public.pem'), app.publicKey.export({ type: 'spki', format: 'pem' }));
      fs.writeFileSync(path.join(keystore, 'alipay_public.pem'), ali.publicKey.export({ type: 'spki', format: 'pem' }));
    },
    endpoint: (b) => `${b}/gateway.do`,
    params: { app_id: '2021000000000001', app_private_key: 'alipay_app_private', channel_public_key: 'alipay_public' },
  });
  try {
    const t = await k.test();
    assert.strictEqual(t.code, 0, t.stderr);
    assert.match(t.stdout, /fixtures passed/);
    const no = kit.tradeNo();
    const order = { out_trade_no: no, amount: 100, currency: 'CNY', subject: 's', method: 'alipay.qr', expire_seconds: 0, notify_url: k.notifyUrl };
    const r = await k.exchange('pay', order);
    assert.strictEqual(r.class, 'SUCCESS');
    await k.script({ out_trade_no: no, query: 'timeout' });
    const q = await k.exchange('query', order, { timeoutMs: 800 });
    assert.strictEqual(q.class, 'PROCESSING');
    const n = await k.simNotify({ out_trade_no: no, kind: 'valid' });
    assert.strictEqual(n.status, 200);
    const v = await k.verifyLastNotify();
    assert.strictEqual(v.verified, true);
  } finally { await k.stop(); }
});
