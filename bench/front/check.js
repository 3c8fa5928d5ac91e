#!/usr/bin/env node
// check.js — smoke + functional check of one bench/front variant before it
// is measured.
//
//   node check.js <url> <app_id> <secret> verify   (ours, peer)
//   node check.js <url> <app_id> <secret> trivial  (return 200)
//
// verify: a fresh body gets 202 {"voucher_id":"V…","out_trade_no":<same>,
// "status":"ACCEPTED"} with a valid Paygw-Signature; the same body again
// gets 401 NONCE_REPLAYED; a body altered after signing gets 401
// SIGNATURE_INVALID; a correctly signed body 1000 s old gets 401
// TIMESTAMP_EXPIRED. Every answer must be signed (SPEC §3.1).
// trivial: a fresh body gets 200 with a JSON answer.
// Exit status 0 when all holds; otherwise prints what failed and exits 1.
'use strict';
const http = require('http');
const crypto = require('crypto');
const { body, makeParams } = require('./gen_bodies.js');

const [url, app, secret, mode] = process.argv.slice(2);
if (!url || !app || !secret || !mode) {
    console.error('usage: check.js <url> <app_id> <secret> verify|trivial');
    process.exit(2);
}

function post(payload) {
    return new Promise((resolve, reject) => {
        const req = http.request(url, {
            method: 'POST',
            agent: false,
            headers: {
                'Content-Type': 'application/x-www-form-urlencoded',
                'Content-Length': Buffer.byteLength(payload),
            },
            timeout: 5000,
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                body: Buffer.concat(chunks).toString() }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(payload);
    });
}

const failures = [];
function expect(cond, what) {
    if (!cond) failures.push(what);
    return cond;
}

function signed(label, res) {
    const ts = res.headers['paygw-timestamp'];
    const nonce = res.headers['paygw-nonce'];
    const sig = res.headers['paygw-signature'];
    if (!expect(ts && nonce && sig, label + ': Paygw-Timestamp/Nonce/Signature headers missing')) return;
    const want = crypto.createHmac('sha256', secret)
        .update(ts + '\n' + nonce + '\n' + res.body + '\n').digest('base64');
    expect(sig === want, label + ': Paygw-Signature does not verify (got ' + sig + ', want ' + want + ')');
}

function code(res) {
    try { return JSON.parse(res.body).error.code; } catch (e) { return undefined; }
}

async function main() {
    const now = Math.floor(Date.now() / 1000);
    const salt = crypto.randomBytes(8).toString('hex');
    const p1 = makeParams(app, now, 'chk' + salt + '0000000000001', 'TCHK' + salt + '1', 1);
    const fresh = body(p1, secret);

    if (mode === 'trivial') {
        const r = await post(fresh);
        expect(r.status === 200, 'fresh: status ' + r.status + ' (want 200)');
        try { JSON.parse(r.body); } catch (e) { failures.push('fresh: answer is not JSON: ' + r.body); }
    } else {
        const r1 = await post(fresh);
        if (expect(r1.status === 202, 'fresh: status ' + r1.status + ' (want 202): ' + r1.body)) {
            let j = {};
            try { j = JSON.parse(r1.body); } catch (e) { failures.push('fresh: not JSON: ' + r1.body); }
            expect(typeof j.voucher_id === 'string' && /^V[0-9A-Za-z]+$/.test(j.voucher_id),
                'fresh: voucher_id ' + j.voucher_id);
            expect(j.out_trade_no === p1.out_trade_no, 'fresh: out_trade_no ' + j.out_trade_no);
            expect(j.status === 'ACCEPTED', 'fresh: status field ' + j.status);
            signed('fresh', r1);
        }

        const r2 = await post(fresh);
        expect(r2.status === 401 && code(r2) === 'NONCE_REPLAYED',
            'replay: ' + r2.status + ' ' + r2.body + ' (want 401 NONCE_REPLAYED)');
        signed('replay', r2);

        const p3 = makeParams(app, now, 'chk' + salt + '0000000000003', 'TCHK' + salt + '3', 3);
        const tampered = body(p3, secret).replace(/amount=\d+/, 'amount=99999999');
        const r3 = await post(tampered);
        expect(r3.status === 401 && code(r3) === 'SIGNATURE_INVALID',
            'tampered: ' + r3.status + ' ' + r3.body + ' (want 401 SIGNATURE_INVALID)');
        signed('tampered', r3);

        const p4 = makeParams(app, now - 1000, 'chk' + salt + '0000000000004', 'TCHK' + salt + '4', 4);
        const r4 = await post(body(p4, secret));
        expect(r4.status === 401 && code(r4) === 'TIMESTAMP_EXPIRED',
            'old timestamp: ' + r4.status + ' ' + r4.body + ' (want 401 TIMESTAMP_EXPIRED)');
        signed('old timestamp', r4);

        // the fresh voucher answer once more, to show the id is time-ordered
        const p5 = makeParams(app, now, 'chk' + salt + '0000000000005', 'TCHK' + salt + '5', 5);
        const r5 = await post(body(p5, secret));
        if (expect(r5.status === 202, 'second fresh: status ' + r5.status + ': ' + r5.body)) {
            const v1 = JSON.parse(r1.body).voucher_id || '';
            const v2 = JSON.parse(r5.body).voucher_id || '';
            expect(v1 !== v2, 'two requests got the same voucher_id ' + v1);
            console.log('  voucher ids: ' + v1 + ' then ' + v2);
        }
    }

    if (failures.length) {
        for (const f of failures) console.error('  FAIL ' + f);
        process.exit(1);
    }
    console.log('  ok (' + mode + ')');
}

main().catch((e) => { console.error('  FAIL ' + e.message); process.exit(1); });
