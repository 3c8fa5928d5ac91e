#!/usr/bin/env node
// summary.js — the table and verdict of `make bench-front`.
//
//   node summary.js <results file> "<variants>"
// results: one line per measured run:
//   label variant rps p50_us p99_us cpu_us requests other_load_pct
// (other load: CPU the box spent on anything but that variant's workers
// and wrk during the run, in % of all CPUs; a busy box makes a noisy run)
// Each figure is the median over the rounds, [min–max] beside it.
// Targets (issue): ours >= 2x peer req/s; ours >= 40 % of return-200 req/s;
// ours server CPU <= 25 us/req; ours p50 <= 1.5x return-200 p50.
// Exit status: 0 all targets met, 3 a target missed or a variant missing.
'use strict';
const fs = require('fs');

const [file, variantsArg] = process.argv.slice(2);
const variants = (variantsArg || 'a b c').split(/\s+/).filter(Boolean);
const names = { a: 'return-200', b: 'ours', c: 'peer' };
const what = {
    a: "nginx return 200 '{json}'",
    b: 'ngx_http_paygw_module, local voucher',
    c: 'OpenResty-style peer (Lua)',
};

const runs = {};
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    const [, v, rps, p50, p99, cpu, req, other] = f;
    (runs[v] = runs[v] || []).push({ rps: +rps, p50: +p50 / 1000, p99: +p99 / 1000, cpu: +cpu, req: +req,
        other: other === undefined ? 0 : +other });
}

function median(xs) {
    const s = [...xs].sort((x, y) => x - y);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function stat(v, k) {
    const xs = (runs[v] || []).map((r) => r[k]);
    if (!xs.length) return null;
    return { med: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

const S = {};
for (const v of variants) {
    S[v] = { rps: stat(v, 'rps'), p50: stat(v, 'p50'), p99: stat(v, 'p99'), cpu: stat(v, 'cpu'),
        other: stat(v, 'other') };
}

const fmtRange = (s, d, unit) => (s
    ? `${s.med.toFixed(d)}${unit} [${s.min.toFixed(d)}–${s.max.toFixed(d)}]`
    : 'n/a');
const pad = (x, n) => String(x).padEnd(n);

const rows = [['variant', 'req/s median [min–max]', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'runs',
    'other load (max)']];
for (const v of variants) {
    const s = S[v];
    rows.push([
        `(${v}) ${names[v]}`,
        fmtRange(s.rps, 0, ''),
        fmtRange(s.p50, 3, ''),
        fmtRange(s.p99, 3, ''),
        fmtRange(s.cpu, 1, ''),
        s.rps ? String(s.rps.n) : '0',
        s.other ? `${s.other.max.toFixed(0)} %` : 'n/a',
    ]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
console.log('| ' + rows[0].map((c, i) => pad(c, widths[i])).join(' | ') + ' |');
console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
for (const r of rows.slice(1)) console.log('| ' + r.map((c, i) => pad(c, widths[i])).join(' | ') + ' |');
console.log('');
for (const v of variants) console.log(`  (${v}) ${names[v]}: ${what[v]}`);
console.log('');

const med = (v, k) => (S[v] && S[v][k] ? S[v][k].med : null);
const ratio = (x, y) => (x !== null && y !== null && y > 0 ? x / y : null);
const f2 = (x) => (x === null ? 'n/a' : x.toFixed(2));

const oursPeer = ratio(med('b', 'rps'), med('c', 'rps'));
const oursBase = ratio(med('b', 'rps'), med('a', 'rps'));
const oursCpu = med('b', 'cpu');
const p50Ratio = ratio(med('b', 'p50'), med('a', 'p50'));

console.log(`ours/peer = ${f2(oursPeer)}`);
console.log(`ours/return-200 = ${f2(oursBase)} (req/s)`);
console.log(`ours server CPU = ${oursCpu === null ? 'n/a' : oursCpu.toFixed(1)} µs/req`);
console.log(`ours p50 / return-200 p50 = ${f2(p50Ratio)}`);

const checks = [
    ['ours/peer >= 2.00', oursPeer !== null && oursPeer >= 2],
    ['ours/return-200 >= 0.40', oursBase !== null && oursBase >= 0.4],
    ['ours CPU <= 25 µs/req', oursCpu !== null && oursCpu <= 25],
    ['ours p50 <= 1.5x return-200 p50', p50Ratio !== null && p50Ratio <= 1.5],
];
const failed = checks.filter((c) => !c[1]).map((c) => c[0]);
console.log(failed.length
    ? `FAIL: ${failed.join('; ')} not met (${checks.length - failed.length}/${checks.length} targets met)`
    : `PASS: all ${checks.length} targets met (ours >= 2x peer req/s, >= 40 % of return-200 req/s, <= 25 µs/req, p50 <= 1.5x return-200)`);
process.exit(failed.length ? 3 : 0);
