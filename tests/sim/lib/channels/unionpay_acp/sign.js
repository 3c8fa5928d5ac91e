'use strict';
// UnionPay ACP 5.1.0 signing, written independently from the published algorithm (there
// is no official UnionPay npm SDK): ACP 平台接入接口规范 第2部分 + the official Java SDK's
// behaviour (SDKUtil.coverMap2String / signBySecureKey / AcpService.validate), checked
// against vectors V13c and V14 of channel-vectors.md by ../../../unionpay_acp.test.js.
//
//   S = every field except `signature`, sorted by name (ordinal), "k=v&k=v", raw bytes
//   signMethod 01: signature = base64(SHA256withRSA(lowercase hex(SHA-256(S)))); certId =
//                  decimal serial of the signer's certificate (inside S)
//   signMethod 11: signature = hex(SHA-256(S + "&" + hex(SHA-256(secureKey))))
//   signMethod 12: the same with SM3 (sm-crypto's sm3)
// Requests are signed over their non-empty fields; answers are verified over every field
// received (the SDK does not drop empty ones there).

const crypto = require('node:crypto');
const { sm3 } = require('sm-crypto');

const signString = (fields, { skipEmpty = false } = {}) => Object.keys(fields)
  .filter((k) => k !== 'signature' && !(skipEmpty && (fields[k] === '' || fields[k] == null)))
  .sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))))
  .map((k) => `${k}=${fields[k]}`)
  .join('&');

const sha256hex = (s) => crypto.createHash('sha256').update(Buffer.from(s, 'utf8')).digest('hex');
const sm3hex = (s) => sm3(s);   // sm-crypto hashes the UTF-8 bytes of a string

function rsaSign(privateKey, s) {
  return crypto.sign('sha256', Buffer.from(sha256hex(s), 'ascii'), privateKey).toString('base64');
}

function rsaVerify(publicKey, s, sig) {
  try {
    return crypto.verify('sha256', Buffer.from(sha256hex(s), 'ascii'), publicKey, Buffer.from(sig, 'base64'));
  } catch (_) {
    return false;
  }
}

function secureKeySign(method, s, secureKey) {
  if (method === '11') return sha256hex(`${s}&${sha256hex(secureKey)}`);
  if (method === '12') return sm3hex(`${s}&${sm3hex(secureKey)}`);
  throw new Error(`signMethod ${method} is not a secure-key method`);
}

// Decimal serial of an X.509 certificate (PEM), as certId carries it.
function certIdOf(certPem) {
  return BigInt(`0x${new crypto.X509Certificate(certPem).serialNumber}`).toString(10);
}

// Sign `fields` in place as UnionPay / a merchant does. signer: {method:'01', key, certId}
// or {method:'11'|'12', secureKey}. Returns {fields, signString}.
function sign(fields, signer, { skipEmpty = true } = {}) {
  const f = { ...fields, signMethod: signer.method };
  delete f.signature;
  if (signer.method === '01') f.certId = signer.certId;
  else delete f.certId;
  const s = signString(f, { skipEmpty });
  f.signature = signer.method === '01' ? rsaSign(signer.key, s) : secureKeySign(signer.method, s, signer.secureKey);
  return { fields: f, signString: s };
}

// Verify a received message. keys: {publicKey (01, merchant's), secureKey (11/12)}.
function verify(fields, keys) {
  const s = signString(fields);
  const sig = fields.signature || '';
  if (!sig) return { ok: false, signString: s, reason: 'no signature' };
  const m = fields.signMethod;
  if (m === '01') {
    if (!keys.publicKey) return { ok: false, signString: s, reason: 'no RSA key for signMethod 01' };
    return { ok: rsaVerify(keys.publicKey, s, sig), signString: s, reason: 'RSA signature does not verify' };
  }
  if (m === '11' || m === '12') {
    if (!keys.secureKey) return { ok: false, signString: s, reason: `no secure key for signMethod ${m}` };
    const want = secureKeySign(m, s, keys.secureKey);
    const ok = want.length === sig.length && crypto.timingSafeEqual(Buffer.from(want), Buffer.from(sig));
    return { ok, signString: s, reason: 'secure-key signature does not verify' };
  }
  return { ok: false, signString: s, reason: `unknown signMethod ${m}` };
}

// `k=v&k=v` answer text, not url-encoded (what the gateway answers to backTrans/queryTrans)
const answerText = (fields) => Object.keys(fields).sort().map((k) => `${k}=${fields[k]}`).join('&');

// Split an answer the way SDKUtil.parseQString does: '&' inside {…} / […] does not split.
function parseAnswer(text) {
  const out = {};
  let depth = 0;
  let start = 0;
  const put = (end) => {
    const pair = text.slice(start, end);
    if (pair) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`bad pair ${pair.slice(0, 20)}`);
      out[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    start = end + 1;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && depth > 0) depth--;
    else if (c === '&' && depth === 0) put(i);
  }
  put(text.length);
  return out;
}

module.exports = { signString, sha256hex, sm3hex, sign, verify, certIdOf, answerText, parseAnswer, rsaSign, secureKeySign };
