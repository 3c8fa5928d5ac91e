'use strict';
// routes.conf (issue 5 items 1-2; docs/routing.md "routes.conf"), end to end with two
// channels offering wechat.native/CNY: wechatpay_v2 and wechatpay_v3.
//  - a bad routes.conf stops paygwd at start naming the file and line (and an unknown
//    channel, and a method the pack does not offer);
//  - lowest_cost sends orders to the cheaper route, and says why on the order;
//  - reloaded live: a cut-off window that covers now moves orders to the other channel;
//    priority; an app pinned to a channel; an amount threshold on an app's allow list;
//    currencies; a route-less channel for a routed method is not eligible;
//    success_rate moves orders away from a channel that declines;
//  - a broken file is refused with file:line and the routes in force keep serving;
//  - every reload is audited (who, why, file hash); ops disable/enable keeps the
//    configured weight.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Stack, trace, BUILD } = require('./lib/stack');
const { waitFor, tradeNo } = require('./lib/util');

const V2 = 'wechatpay_v2';
const V3 = 'wechatpay_v3';
const body = (over = {}) => ({ method: 'wechat.native', currency: 'CNY', amount: 1000, channel: undefined, ...over });

function hhmm(ms) {
  const d = new Date(ms);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

describe('routes.conf: start-up refuses a bad file, naming file and line', () => {
  let stack;
  before(async () => {
    stack = await Stack.start({ name: 'routes-conf-bad', channels: [V2, V3], nginx: false });
  }, { timeout: 90000 });
  after(async () => { if (stack) await stack.stop(); });

  for (const [text, want] of [
    ['# ok\nroute wechatpay_v2 wechat.native fee=0.6%\nroute wechatpay_v3 wechat.native fee=abc\n', /routes\.conf:3: route: fee/],
    ['route nosuch wechat.native\n', /routes\.conf:1: route: unknown channel nosuch \(not declared in .*paygwd\.conf\)/],
    ['\nroute wechatpay_v2 alipay.qr\n', /routes\.conf:2: route: wechatpay_v2's pack does not offer method alipay\.qr/],
    ['app A1 allow=wechatpay_v2,ghost\n', /routes\.conf:1: app: unknown channel ghost/],
    ['strategy wechat.native cheapest\n', /routes\.conf:1: strategy: unknown strategy "cheapest"/],
  ]) {
    it(`refuses: ${want}`, () => {
      const file = path.join(stack.dir, 'routes.conf');
      fs.writeFileSync(file, text);
      const conf = path.join(stack.dir, 'bad-paygwd.conf');
      fs.writeFileSync(conf, `${fs.readFileSync(stack.confFile, 'utf8')}routes ${file}\n`);
      // a real start (the pack-dependent checks need the packs loaded); it stops
      // before opening the store or any listener
      const r = spawnSync(path.join(BUILD, 'paygwd'), ['-c', conf], { cwd: stack.dir, encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 1, `${r.error || ''} ${r.stderr}`);
      assert.match(r.stderr, want);
      // -t (check only) names the same line where it needs no pack
      if (!/does not offer/.test(String(want))) {
        const t = spawnSync(path.join(BUILD, 'paygwd'), ['-t', '-c', conf], { cwd: stack.dir, encoding: 'utf8', timeout: 20000 });
        assert.match(t.stderr, want);
      }
    });
  }
});

describe('routes.conf: strategies, windows, app rules, live reload', () => {
  let stack;
  let routesFile;
  const write = (text) => fs.writeFileSync(routesFile, text);
  const reload = (reason = 'e2e', who = 'e2e-ops') => stack.admin('POST', '/admin/routes/reload', { body: { reason, who } });

  before(async () => {
    stack = await Stack.start({
      name: 'routes-conf', channels: [V2, V3],
      firstQueryDelayMs: 60000, queryBackoffMs: '60000', timeoutMs: 5000,
      extraConf: (s) => {
        routesFile = path.join(s.dir, 'routes.conf');
        fs.writeFileSync(routesFile, [
          '# wechat.native goes to the cheaper route',
          'strategy wechat.native lowest_cost',
          `route ${V2} wechat.native currencies=CNY fee=0+0.60%`,
          `route ${V3} wechat.native currencies=CNY fee=0+0.38%`,
          '',
        ].join('\n'));
        return [`routes ${routesFile}`];
      },
    });
  }, { timeout: 90000 });
  after(async () => { if (stack) await stack.stop(); });

  async function routed(over = {}, opts = {}) {
    const no = tradeNo('RC');
    const r = await stack.pay(no, body(over), opts);
    assert.equal(r.status, 202, r.text);
    const o = await waitFor(`${no}: pay attempt`, () => stack.adminOrder(no, opts.app || 'A1'),
      (x) => trace.attempts(x).some((a) => a.op === 'pay' && a.state !== 'SENDING'), { timeoutMs: 10000, intervalMs: 50 });
    const pays = trace.attempts(o).filter((a) => a.op === 'pay');
    assert.equal(pays.length, 1, JSON.stringify(pays));
    return { channel: pays[0].channel, reason: o.routes[0].reason, no };
  }

  it('lowest_cost: every order goes to the cheaper route, and the order says why', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await routed();
      assert.equal(r.channel, V3);
      assert.match(r.reason, /^wechatpay_v3: fee 3\.80 \(strategy lowest_cost\); wechatpay_v2: fee 6\.00/);
    }
    const g = await stack.admin('GET', '/admin/routes');
    assert.equal(g.json.routes_file.path, routesFile);
    assert.equal(g.json.routes_file.strategies[0].strategy, 'lowest_cost');
  });

  it('a cut-off window that covers now moves new orders to the other route (live reload)', async () => {
    const now = Date.now();
    write([
      'strategy wechat.native lowest_cost',
      `route ${V2} wechat.native fee=0.60%`,
      `route ${V3} wechat.native fee=0.38% closed=${hhmm(now - 60000)}-${hhmm(now + 10 * 60000)}`,
    ].join('\n'));
    const r = await reload('v3 nightly cut-off');
    assert.equal(r.status, 200, r.text);
    const o = await routed();
    assert.equal(o.channel, V2);
    assert.match(o.reason, /wechatpay_v3: closed \d\d:\d\d-\d\d:\d\d \(line 3\)/);
  });

  it('a broken file is refused with file and line; the routes in force keep serving', async () => {
    const before = (await stack.admin('GET', '/admin/routes')).json.routes_file.sha256;
    write(`strategy wechat.native lowest_cost\nroute ${V2} wechat.native fee=0.60%\nroute ${V3} wechat.native weight=lots\n`);
    const r = await reload('typo');
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /routes\.conf:3: route: weight: 0\.\.1000000/);
    assert.equal((await stack.admin('GET', '/admin/routes')).json.routes_file.sha256, before);
    assert.equal((await routed()).channel, V2, 'the cut-off of the file in force still applies');
    // no reason: refused before reading
    assert.equal((await stack.admin('POST', '/admin/routes/reload', { body: { who: 'x' } })).status, 400);
  });

  it('priority, then currencies: a route that does not list the currency is not eligible', async () => {
    write([
      'strategy * priority',
      `route ${V2} wechat.native priority=2`,
      `route ${V3} wechat.native priority=1 currencies=CNY`,
    ].join('\n'));
    assert.equal((await reload('priorities')).status, 200);
    const o = await routed();
    assert.equal(o.channel, V3);
    assert.match(o.reason, /^wechatpay_v3: priority 1 \(strategy priority\); wechatpay_v2: priority 2/);
    write(`strategy * priority\nroute ${V2} wechat.native priority=2\nroute ${V3} wechat.native priority=1 currencies=USD\n`);
    assert.equal((await reload('v3 USD only')).status, 200);
    const p = await routed();
    assert.equal(p.channel, V2);
    assert.match(p.reason, /wechatpay_v3: currency CNY not routed \(line 3\)/);
  });

  it('a routed method is served only by channels with a route for it', async () => {
    write(`route ${V2} wechat.native\n`);
    assert.equal((await reload('v2 only')).status, 200);
    for (let i = 0; i < 3; i++) {
      const o = await routed();
      assert.equal(o.channel, V2);
      assert.match(o.reason, /wechatpay_v3: no route for wechat\.native in routes\.conf/);
    }
  });

  it('app rules: a pin, a deny, and an amount threshold on an allow list', async () => {
    write([
      'strategy wechat.native priority',
      `route ${V2} wechat.native priority=1`,
      `route ${V3} wechat.native priority=2`,
      `app A2 pin=${V3}`,
      `app A1 min=500000 allow=${V3}`,
    ].join('\n'));
    assert.equal((await reload('app rules')).status, 200);
    // A2 is pinned to v3 although v2 has the better priority
    assert.equal((await routed({}, { app: 'A2' })).channel, V3);
    // A1 below the threshold: priority (v2); at the threshold: only v3
    assert.equal((await routed({ amount: 499999 })).channel, V2);
    const big = await routed({ amount: 500000 });
    assert.equal(big.channel, V3);
    assert.match(big.reason, /wechatpay_v2: not on app A1's allow list \(line 5\)/);
    // the caller asking for v2 above the threshold: refused, nothing stored
    const no = tradeNo('RC');
    const r = await stack.pay(no, body({ amount: 600000, channel: V2 }));
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error.code, 'NO_CHANNEL_AVAILABLE');
  });

  it('success_rate: definite failures at one channel move new orders to the other', async () => {
    write(`strategy wechat.native success_rate explore=0\nroute ${V2} wechat.native\nroute ${V3} wechat.native\n`);
    assert.equal((await reload('adaptive')).status, 200);
    // v3 declines every pay for a while (orders naming v3: FAILED is its answer)
    await stack.sim('POST', '/_sim/script', { channel: V3, default: true, pay: 'fail' });
    try {
      for (let i = 0; i < 12; i++) {
        const r = await routed({ channel: V3 });
        assert.equal(r.channel, V3);
      }
    } finally {
      await stack.sim('POST', '/_sim/script', { channel: V3, default: true });   // back to normal
    }
    for (let i = 0; i < 3; i++) {
      const o = await routed();
      assert.equal(o.channel, V2);
      assert.match(o.reason, /^wechatpay_v2: success score 0\.\d+ \(strategy success_rate\); wechatpay_v3: success score 0\.\d+/);
      const [s2, s3] = [...o.reason.matchAll(/score (0\.\d+)/g)].map((m) => Number(m[1]));
      assert.ok(s2 > s3, o.reason);
    }
  });

  it('ops disable then enable keeps the weight routes.conf gives', async () => {
    write(`route ${V2} wechat.native weight=30\nroute ${V3} wechat.native weight=70\n`);
    assert.equal((await reload('weights')).status, 200);
    const post = (b) => stack.admin('POST', '/admin/routes', { body: { who: 'e2e-ops', reason: 'flap', ...b } });
    assert.equal((await post({ channel: V2, method: 'wechat.native', action: 'disable' })).status, 200);
    const en = await post({ channel: V2, method: 'wechat.native', action: 'enable' });
    assert.equal(en.status, 200, en.text);
    assert.equal(en.json.rule.weight, 30);
    assert.equal(en.json.rule.weight_inherited, true);
    const o = await routed();
    assert.match(o.reason, /weight (30|70) of 100/);
  });

  it('every reload is audited with who, why and the file hash', async () => {
    const a = (await stack.admin('GET', '/admin/routes/audit')).json.audit.filter((x) => x.action === 'reload');
    assert.ok(a.length >= 7, JSON.stringify(a));
    assert.equal(a[0].reason, 'weights');
    assert.equal(a[0].who, 'e2e-ops');
    assert.match(JSON.parse(a[0].new).sha256, /^[0-9a-f]{64}$/);
    assert.equal(JSON.parse(a[0].old).sha256, JSON.parse(a[1].new).sha256);
    assert.ok(!a.some((x) => x.reason === 'typo'), 'a refused file is not a change');
  });
});
