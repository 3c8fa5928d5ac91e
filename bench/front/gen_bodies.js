#!/usr/bin/env node
// gen_bodies.js — signed SPEC §3.1 scheme-B request bodies for bench/front.
//
//   node gen_bodies.js bodies --app A1 --secret S --n N --out PREFIX [--threads 2]
//                             [--tag X] [--ts-offset SEC] [--part K]
//       writes N bodies, one per line, split round-robin over PREFIX.t0 ..
//       PREFIX.t<threads-1> (one file per wrk thread, so no two threads ever
//       send the same body). Every body has its own nonce_str and out_trade_no.
//   node gen_bodies.js checks --app A1 --secret S
//       prints four labelled bodies for the functional check:
//       fresh, tampered (amount changed after signing), old (timestamp 1000 s
//       in the past, correctly signed); the replay is "fresh" sent twice.
//
// Body (~360 B, 12 parameters + sign, deliberately not in sorted order):
//   app_id timestamp nonce_str sign_type out_trade_no amount currency method
//   subject notify_url expire_seconds channel bank_code sign
// sign = uppercase hex HMAC-SHA256(secret, sorted "k=v&..." + "&key=" + secret)
// over the decoded values, empty values and sign excluded (SPEC §3.1 scheme B).
'use strict';
const crypto = require('crypto');
const fs = require('fs');

function parseArgs(argv) {
    const o = { mode: argv[0] };
    for (let i = 1; i < argv.length; i += 2) {
        const k = argv[i].replace(/^--/, '');
        o[k] = argv[i + 1];
    }
    return o;
}

// form encoding (application/x-www-form-urlencoded, as a browser would)
function enc(v) {
    return encodeURIComponent(v).replace(/%20/g, '+');
}

function sign(params, secret) {
    const names = Object.keys(params).filter((k) => k !== 'sign' && params[k] !== '').sort();
    let s = '';
    for (const k of names) s += (s ? '&' : '') + k + '=' + params[k];
    s += '&key=' + secret;
    return crypto.createHmac('sha256', secret).update(s).digest('hex').toUpperCase();
}

function encode(params) {
    let out = '';
    for (const k of Object.keys(params)) out += (out ? '&' : '') + k + '=' + enc(params[k]);
    return out;
}

function makeParams(app, ts, nonce, otn, i) {
    return {
        app_id: app,
        timestamp: String(ts),
        nonce_str: nonce,
        sign_type: 'HMAC-SHA256',
        out_trade_no: otn,
        amount: String(100 + (i % 99900)),
        currency: 'CNY',
        method: 'alipay.qr',
        subject: 'Order ' + i,
        notify_url: 'http://127.0.0.1:9000/notify',
        expire_seconds: '900',
        channel: 'alipay',
        bank_code: 'ICBC',
    };
}

function body(params, secret) {
    params.sign = sign(params, secret);
    return encode(params);
}

function main() {
    const o = parseArgs(process.argv.slice(2));
    const app = o.app || 'A1';
    const secret = o.secret;
    if (!secret) throw new Error('--secret is required');
    const now = Math.floor(Date.now() / 1000);
    // 16 random hex chars per file: nonces and trade numbers never repeat across files
    const salt = crypto.randomBytes(8).toString('hex');

    if (o.mode === 'checks') {
        const fresh = makeParams(app, now, 'c' + salt + '000000000000001', 'TC' + salt + '1', 1);
        const tamp = makeParams(app, now, 'c' + salt + '000000000000002', 'TC' + salt + '2', 2);
        const tb = body(tamp, secret).replace(/amount=\d+/, 'amount=99999999');
        const old = makeParams(app, now - 1000, 'c' + salt + '000000000000003', 'TC' + salt + '3', 3);
        process.stdout.write('fresh ' + body(fresh, secret) + '\n');
        process.stdout.write('tampered ' + tb + '\n');
        process.stdout.write('old ' + body(old, secret) + '\n');
        return;
    }

    if (o.mode !== 'bodies') throw new Error('mode: bodies | checks');
    const n = parseInt(o.n, 10);
    const threads = parseInt(o.threads || '2', 10);
    const tag = (o.tag || 'r').replace(/[^A-Za-z0-9]/g, '');
    const ts = now + parseInt(o['ts-offset'] || '0', 10);
    if (!(n > 0) || !o.out) throw new Error('--n and --out are required');

    const fds = [];
    const bufs = [];
    // --part K: this process writes only PREFIX.tK (run.sh starts one
    // process per wrk thread to halve the wall time)
    const only = o.part === undefined ? -1 : parseInt(o.part, 10);
    for (let t = 0; t < threads; t++) {
        fds.push(only < 0 || only === t ? fs.openSync(o.out + '.t' + t, 'w') : null);
        bufs.push([]);
    }
    const flush = (t) => {
        if (bufs[t].length) {
            fs.writeSync(fds[t], bufs[t].join('\n') + '\n');
            bufs[t] = [];
        }
    };
    // fast path: the parameter names are fixed, so the sorted string to sign
    // is a template; the first body is cross-checked against the general code
    const nurl = 'http://127.0.0.1:9000/notify';
    for (let i = only < 0 ? 0 : only; i < n; i += only < 0 ? 1 : threads) {
        const seq = i.toString(16).padStart(16, '0');
        const nonce = salt + seq;                        // 32 hex chars, unique
        const otn = 'T' + tag + salt.slice(0, 8) + seq;  // unique per body
        const amount = String(100 + (i % 99900));
        const s = 'amount=' + amount + '&app_id=' + app + '&bank_code=ICBC&channel=alipay'
            + '&currency=CNY&expire_seconds=900&method=alipay.qr&nonce_str=' + nonce
            + '&notify_url=' + nurl + '&out_trade_no=' + otn + '&sign_type=HMAC-SHA256'
            + '&subject=Order ' + i + '&timestamp=' + ts + '&key=' + secret;
        const sg = crypto.createHmac('sha256', secret).update(s).digest('hex').toUpperCase();
        const b = 'app_id=' + app + '&timestamp=' + ts + '&nonce_str=' + nonce
            + '&sign_type=HMAC-SHA256&out_trade_no=' + otn + '&amount=' + amount
            + '&currency=CNY&method=alipay.qr&subject=Order+' + i
            + '&notify_url=' + enc(nurl) + '&expire_seconds=900&channel=alipay&bank_code=ICBC'
            + '&sign=' + sg;
        if (i < threads && b !== body(makeParams(app, ts, nonce, otn, i), secret)) {
            throw new Error('fast path and general signer disagree');
        }
        const t = i % threads;
        bufs[t].push(b);
        if (bufs[t].length >= 4096) flush(t);
    }
    for (let t = 0; t < threads; t++) {
        if (fds[t] === null) continue;
        flush(t);
        fs.closeSync(fds[t]);
    }
}

module.exports = { sign, encode, body, makeParams };
if (require.main === module) main();
