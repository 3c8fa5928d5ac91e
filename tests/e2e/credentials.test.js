'use strict';
// Local credentials (issue 4, Alipay wap/page/app): the pack builds a signed order string or
// page URL that the buyer's client opens; paygwd sends nothing. The voucher is READY with that
// credential once the order is stored, the attempt is recorded as LOCAL (it still counts as
// possibly used, so the order is never rerouted), and the order stays PROCESSING: a query that
// finds no trade yet (the buyer has not opened it) is not a failure.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Stack, trace } = require('./lib/stack');
const { waitFor, tradeNo, sleep } = require('./lib/util');
const { assertStatus, assertSigned } = require('./lib/assertx');

let stack;

before(async () => {
  stack = await Stack.start({ name: 'credentials', firstQueryDelayMs: 200, queryBackoffMs: '200,300' });
}, { timeout: 60000 });

after(async () => {
  if (stack) await stack.stop();
});

const CASES = [
  ['alipay.wap', 'page_url', (c) => {
    const u = new URL(c.url);
    assert.equal(u.searchParams.get('method'), 'alipay.trade.wap.pay');
    return u.searchParams;
  }],
  ['alipay.page', 'page_url', (c) => {
    const u = new URL(c.url);
    assert.equal(u.searchParams.get('method'), 'alipay.trade.page.pay');
    return u.searchParams;
  }],
  ['alipay.app', 'app_order_string', (c) => {
    const p = new URLSearchParams(c.order_string);
    assert.equal(p.get('method'), 'alipay.trade.app.pay');
    return p;
  }],
];

for (const [method, type, check] of CASES) {
  test(`${method}: the voucher carries a locally built ${type}, nothing is sent, the order stays PROCESSING`, async () => {
    const no = tradeNo('LC');
    await stack.sim('POST', '/_sim/script', { out_trade_no: no, query: 'not_found' });
    const r = await stack.pay(no, { method });
    assertStatus(r, 202);
    assertSigned(r);
    const v = await stack.voucher(r.json.voucher_id, 5000);
    assertStatus(v, 200);
    assert.equal(v.json.status, 'READY', v.text);
    assert.equal(v.json.credential.type, type);
    const params = check(v.json.credential);
    const biz = JSON.parse(params.get('biz_content'));
    assert.equal(biz.out_trade_no, no);
    assert.equal(biz.total_amount, '10.00');
    assert.ok(params.get('sign'), 'signed');

    const o = await waitFor(`${no}: queried`, () => stack.adminOrder(no),
      (x) => trace.attempts(x).some((a) => a.op === 'query'), { timeoutMs: 10000, intervalMs: 100 });
    const pays = trace.attempts(o).filter((a) => a.op === 'pay');
    assert.equal(pays.length, 1);
    assert.equal(pays[0].state, 'LOCAL', JSON.stringify(pays[0]));
    // the channel never saw a pay request for it; only our queries
    const counts = await stack.sim('GET', `/_sim/counts?channel=alipay&out_trade_no=${no}`);
    assert.ok(!counts['alipay.trade.wap.pay'] && !counts['alipay.trade.page.pay'] && !counts['alipay.trade.app.pay']
      && !counts['alipay.trade.precreate'], JSON.stringify(counts));
    await sleep(500);
    assert.equal(await stack.paymentStatus(no), 'PROCESSING');
    const to = trace.transitions(await stack.adminOrder(no)).map(trace.to);
    assert.ok(!to.includes('FAILED'), to.join(','));
  });
}
