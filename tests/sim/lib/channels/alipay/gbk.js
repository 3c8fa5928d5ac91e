'use strict';
// GBK encoding for the sim's statement files. Node has a GBK *decoder* (ICU, WHATWG
// TextDecoder 'gbk') but no encoder: the table is built once by decoding every two-byte
// GBK code (lead 0x81-0xFE, trail 0x40-0xFE except 0x7F) and inverting it. Independent of
// paygw's iconv-based gw.charset.

let table = null;

function buildTable() {
  const dec = new TextDecoder('gbk', { fatal: true });
  const t = new Map();
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x40; trail <= 0xfe; trail++) {
      if (trail === 0x7f) continue;
      let ch;
      try { ch = dec.decode(Buffer.from([lead, trail])); } catch { continue; }
      if (ch.length === 1 && !t.has(ch)) t.set(ch, [lead, trail]);
    }
  }
  return t;
}

// UTF-8 string -> GBK Buffer; throws on a character GBK cannot represent.
function toGbk(text) {
  if (!table) table = buildTable();
  const out = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (cp < 0x80) { out.push(cp); continue; }
    const b = table.get(ch);
    if (!b) throw new Error(`gbk: cannot encode U+${cp.toString(16)}`);
    out.push(b[0], b[1]);
  }
  return Buffer.from(out);
}

module.exports = { toGbk };
