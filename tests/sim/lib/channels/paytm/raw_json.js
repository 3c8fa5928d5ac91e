'use strict';
// The exact text of a top-level member of a JSON object, as received (Paytm's checksum covers
// the body member's own bytes; re-serialising parsed JSON may change escapes or numbers).

function skipWs(s, i) {
  while (i < s.length && ' \t\r\n'.includes(s[i])) i++;
  return i;
}

// end index (exclusive) of the JSON value starting at i
function valueEnd(s, i) {
  if (s[i] === '"') {
    for (let j = i + 1; j < s.length; j++) {
      if (s[j] === '\\') j++;
      else if (s[j] === '"') return j + 1;
    }
    throw new Error('unterminated string');
  }
  if (s[i] === '{' || s[i] === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const c = s[j];
      if (c === '"') j = valueEnd(s, j) - 1;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') { depth--; if (depth === 0) return j + 1; }
    }
    throw new Error('unterminated object');
  }
  const m = /^[^,}\]\s]+/.exec(s.slice(i));
  if (!m) throw new Error('bad value');
  return i + m[0].length;
}

function rawMember(text, name) {
  JSON.parse(text); // well-formed first
  let i = skipWs(text, 0);
  if (text[i] !== '{') return null;
  i = skipWs(text, i + 1);
  while (i < text.length && text[i] !== '}') {
    const kEnd = valueEnd(text, i);
    const key = JSON.parse(text.slice(i, kEnd));
    i = skipWs(text, kEnd);
    i = skipWs(text, i + 1); // ':'
    const vEnd = valueEnd(text, i);
    if (key === name) return text.slice(i, vEnd);
    i = skipWs(text, vEnd);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  return null;
}

module.exports = { rawMember };
