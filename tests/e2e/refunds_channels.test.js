'use strict';
// Refunds through the core API on a channel whose refund needs what an earlier answer said:
// PayPal refunds a capture, not the order, so the capture id its capture / query answer
// carried (fields.keep) must be with the order (order.channel_data) when the refund is built.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Stack, trace } = require('./lib/stack');
const { PROFILES } = require('./lib/channels');
const { waitFor, tradeNo } = require('./lib/util');
const { assertStatus } = require('./lib/assertx');

let stack;

before(async () => {
  stack = await Stack.start({
    name: 'refundsch', channels: ['paypal'], firstQueryDelayMs: 200, queryBackoffMs: '200,300',
    timeoutMs: 2000, connectTimeoutMs: 500,
  });
}, { timeout: 90000 });

after(async () => {
  if (stack) await stack.stop();
});

const sim = (method, p, body) => stack.sim(method, p, { channel: 'paypal', ...body });
const refundOf = async (no) => (await stack.api('GET', `/v1/refunds/${encodeURIComponent(no)}`)).json;

test('paypal: the capture id the host kept from the capture is what the refund is built with', { timeout: 60000 }, async () => {
  const P = PROFILES.paypal;
  const no = tradeNo('PPR');
  const r = await stack.pay(no, { channel: 'paypal', method: P.method, currency: P.currency, amount: P.amount });
  assertStatus(r, 202);
  await waitFor(`${no} created at PayPal`, () => stack.adminOrder(no),
    (o) => trace.attempts(o).some((a) => a.op === 'pay' && a.class), { timeoutMs: 10000, intervalMs: 100 });
  await sim('POST', '/_sim/pay', { out_trade_no: no });          // the buyer approves
  await waitFor(`${no} SUCCESS (capture)`, () => stack.paymentStatus(no), (s) => s === 'SUCCESS', { timeoutMs: 15000, intervalMs: 100 });
  const o = await stack.adminOrder(no);
  assert.equal(trace.attempts(o).filter((a) => a.op === 'capture').length, 1, 'captured once');

  const rno = tradeNo('RF');
  const rr = await stack.api('POST', '/v1/refunds', { body: { out_refund_no: rno, out_trade_no: no, amount: 400, reason: 'size', notify_url: stack.callerUrl } });
  assertStatus(rr, 202);
  const done = await waitFor(`${rno} settled`, () => refundOf(rno), (x) => x && ['SUCCESS', 'FAILED'].includes(x.status), { timeoutMs: 15000, intervalMs: 200 });
  assert.equal(done.status, 'SUCCESS', JSON.stringify(done));
  // the refund went to /v2/payments/captures/{capture id}/refund of this capture
  const reqs = (await stack.sim('GET', `/_sim/requests?channel=paypal&out_trade_no=${encodeURIComponent(rno)}`)).requests
    || (await stack.sim('GET', `/_sim/requests?channel=paypal`)).requests;
  const refundReq = reqs.find((q) => /\/v2\/payments\/captures\/[^/]+\/refund$/.test(q.path || q.url || ''));
  assert.ok(refundReq, `a capture refund request: ${JSON.stringify(reqs.map((q) => q.path || q.url))}`);
});
