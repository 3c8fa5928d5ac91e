'use strict';
// Alipay's clock and ids: Beijing time (UTC+8) "yyyy-MM-dd HH:mm:ss", trade numbers, digits.

const crypto = require('node:crypto');

function pad(n, w = 2) { return String(n).padStart(w, '0'); }

function beijingTime(ms = Date.now()) {
  const d = new Date(ms + 8 * 3600 * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function digits(n) {
  let s = '';
  while (s.length < n) s += crypto.randomInt(0, 1e9).toString().padStart(9, '0');
  return s.slice(0, n);
}

function newTradeNo(ms = Date.now()) {
  const d = new Date(ms + 8 * 3600 * 1000);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}22001${digits(15)}`;
}

module.exports = { beijingTime, digits, newTradeNo };
