'use strict';
// Self-test of the generic core through the CHANNELS.md example plugin (fixtures/
// example_plugin.js) next to Alipay: channel routing and the `channel` parameter, key
// generation, per-channel counts / requests / scripts, refund-keyed ops, plugin
// behaviours and control routes, generic transport behaviours, notifications.
// Run: node --test tests/sim/core.test.js

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { AlipaySdk } = require('alipay-sdk');
const { startSim, startReceiver, writePem } = require('./lib/testkit');
const { privatePem, publicPem } = require('./lib/keys');
const example = require('./fixtures/example_plugin');
const alipay = require('./lib/channels/alipay');

const alipayKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const appKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
let kit;
let rx;
let secret;

const hmac = (text, s = secret) => crypto.createHmac('sha256', s).update(text).digest('hex');

async function call(method, p, obj, s) {
  const body = obj ? JSON.stringify(obj) : '';
  const r = await fetch(`${kit.base}/example${p}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-example-signature': hmac(obj ? body : p, s) },
    body: obj ? body : undefined,
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch (_) { /* 5xx and garbage are no JSON */ }
  return { status: r.status, text, sig: r.headers.get('x-example-signature'), json };
}

test.before(async () => {
  kit = await startSim({
    channel: 'example',
    plugins: [alipay, example],
    prepareKeys: (dir) => {
      writePem(path.join(dir, 'alipay_private.pem'), alipayKey, 'private');
      writePem(path.join(dir, 'app_public.pem'), appKey, 'public');
    },
  });
  secret = fs.readFileSync(path.join(kit.keysDir, 'example', 'secret.txt'), 'utf8').trim();
  rx = await startReceiver({ status: 200, body: 'ok' });
});

test.after(async () => {
  await kit.close();
  await rx.close();
});

test.beforeEach(() => kit.reset());

test('/_sim/channels lists the loaded plugins with their SDK versions and routes', async () => {
  const { json } = await kit.ctl('GET', '/_sim/channels');
  assert.deepEqual(json.channels.map((c) => c.name), ['alipay', 'example']);
  assert.equal(json.channels[0].sdks['alipay-sdk'], '4.14.0');
  assert.deepEqual(json.channels[0].routes, ['/alipay/gateway.do', '/gateway.do']);
  assert.deepEqual(json.channels[1].routes, ['/example/v1/']);
  assert.deepEqual(json.channels[1].behaviours, ['status']);
});

test('unknown channel -> 400 naming the loaded ones; default channel is alipay', async () => {
  for (const r of [
    await kit.ctl('GET', '/_sim/counts?channel=nope'),
    await kit.ctl('POST', '/_sim/script', { channel: 'nope', out_trade_no: 'X', pay: 'fail' }),
  ]) {
    assert.equal(r.status, 400);
    assert.match(r.json.error, /unknown channel "nope"; loaded: alipay, example/);
  }
  assert.ok('alipay.trade.query' in (await kit.ctl('GET', '/_sim/counts')).json);
  assert.equal((await kit.ctl('POST', '/_sim/script', { out_trade_no: 'X', pay: 'fail' })).status, 400, 'pay is no alipay op');
  assert.equal((await kit.ctl('POST', '/_sim/script', [1])).status, 400);
});

test('Alipay answers at /alipay/gateway.do as at /gateway.do, counted under channel alipay', async () => {
  const sdk = new AlipaySdk({
    appId: '2021000000000001', privateKey: privatePem(appKey), keyType: 'PKCS8',
    alipayPublicKey: publicPem(alipayKey), gateway: `${kit.base}/alipay/gateway.do`,
  });
  const r = await sdk.exec('alipay.trade.precreate', { bizContent: { outTradeNo: 'A1', totalAmount: '1.00', subject: 's' } }, { validateSign: true });
  assert.equal(r.code, '10000');
  const c = (await kit.ctl('GET', '/_sim/counts?channel=alipay&out_trade_no=A1')).json;
  assert.equal(c['alipay.trade.precreate'], 1);
  assert.equal((await kit.counts()).other, 0, 'the example channel saw nothing');
});

test('plugin pipeline: key generated, verify, state on receipt, refund keyed by its own number, counts per channel', async () => {
  assert.match(secret, /^[0-9a-f]{64}$/);
  let r = await call('POST', '/v1/payments', { order_id: 'E1', amount: '5.00', notify_url: rx.url() });
  assert.equal(r.status, 200);
  assert.equal(r.sig, hmac(r.text));
  assert.equal(r.json.status, 'PENDING');
  assert.equal((await kit.pay('E1')).json.order.status, 'PAID');
  assert.equal((await call('GET', '/v1/payments/E1')).json.status, 'PAID');
  await kit.script({ out_trade_no: 'R1', refund: ['5xx:503', 'success'] });
  assert.equal((await call('POST', '/v1/refunds', { refund_id: 'R1', order_id: 'E1' })).status, 503);
  assert.equal((await call('POST', '/v1/refunds', { refund_id: 'R1', order_id: 'E1' })).json.status, 'REFUNDED');
  assert.equal((await call('GET', '/v1/payments/E1', null, 'wrong')).status, 401);
  assert.equal((await call('GET', '/v1/nothing')).status, 404);
  assert.deepEqual(await kit.counts('E1'), { 'example.pay': 1, 'example.query': 2, 'example.refund': 0, other: 0, bad_sign: 1 });
  assert.equal((await kit.counts('R1'))['example.refund'], 2);
  assert.equal((await kit.counts()).other, 1);
  const reqs = await kit.requests('R1');
  assert.deepEqual(reqs.map((x) => [x.channel, x.method, x.behaviour, x.response.status]),
    [['example', 'example.refund', '5xx', 503], ['example', 'example.refund', 'success', 200]]);
  assert.equal((await kit.requests(undefined, 'example.pay')).length, 1);
  assert.equal((await kit.ctl('GET', '/_sim/requests')).json.requests.length, 0, 'alipay has none');
});

test('behaviours: plugin extra status:<S>, delay with an extra, default scripts, transport kinds', async () => {
  await call('POST', '/v1/payments', { order_id: 'E2', amount: '1.00' });
  assert.equal((await kit.script({ out_trade_no: 'E2', query: ['status:CLOSED', 'delay:100:status:PAID', 'badsign'] })).status, 200);
  assert.equal((await call('GET', '/v1/payments/E2')).json.status, 'CLOSED');
  const t0 = Date.now();
  assert.equal((await call('GET', '/v1/payments/E2')).json.status, 'PAID');
  assert.ok(Date.now() - t0 >= 90);
  const bs = await call('GET', '/v1/payments/E2');
  assert.notEqual(bs.sig, hmac(bs.text), 'badsign is signed with a key the channel never had');
  for (const b of ['status:NOPE', 'status', 'trade_status:TRADE_SUCCESS']) {
    assert.equal((await kit.script({ out_trade_no: 'E2', query: b })).status, 400, b);
  }
  assert.equal((await kit.script({ default: true, pay: 'garbage' })).status, 200);
  const g = await call('POST', '/v1/payments', { order_id: 'E3', amount: '1.00' });
  assert.throws(() => JSON.parse(g.text));
  assert.ok(kit.sim.channels.get('example').orders.has('E3'), 'garbage still leaves the order');
  await kit.script({ out_trade_no: 'E4', pay: 'drop' });
  await assert.rejects(call('POST', '/v1/payments', { order_id: 'E4', amount: '1.00' }));
  assert.equal((await kit.requests('E4'))[0].response.note, 'drop: socket destroyed');
});

test('notifications: valid / duplicate / forged / contrary through the generic sender; plugin control route', async () => {
  await call('POST', '/v1/payments', { order_id: 'N1', amount: '2.00', notify_url: rx.url('/n') });
  rx.received.length = 0;
  let r = await kit.notify('N1', 'valid');
  assert.equal(r.json.status, 200);
  assert.equal(r.json.body, 'ok');
  const n1 = rx.received[0];
  assert.equal(n1.headers['x-example-signature'], hmac(n1.raw.toString()));
  assert.equal(JSON.parse(n1.raw).status, 'PAID');
  assert.equal((await kit.order('N1')).json.last_notify.kind, 'valid');
  await kit.notify('N1', 'duplicate');
  assert.ok(rx.received[1].raw.equals(n1.raw));
  await kit.notify('N1', 'forged');
  assert.notEqual(rx.received[2].headers['x-example-signature'], hmac(rx.received[2].raw.toString()));
  rx.answer = { status: 500, body: 'no' };
  r = await kit.notify('N1', 'contrary', { overrides: { amount: '0.01' } });
  assert.equal(r.json.status, 500);
  assert.deepEqual([r.json.params.status, r.json.params.amount], ['CLOSED', '0.01']);
  assert.equal((await kit.order('N1')).json.status, 'PAID', 'contrary changes nothing');
  rx.answer = { status: 200, body: 'ok' };
  assert.equal((await kit.notify('nobody', 'valid')).status, 404);
  r = await kit.ctl('POST', '/_sim/example/expire', { out_trade_no: 'N1' });
  assert.equal(r.json.order.status, 'CLOSED');
  assert.equal((await kit.pay('N1')).status, 409);
  assert.equal((await kit.ctl('POST', '/_sim/example/nothing', {})).status, 404);
});

test('no sim-internal errors happened', () => {
  assert.deepEqual(kit.errors(), []);
});
