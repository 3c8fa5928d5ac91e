'use strict';
// Behaviour strings: what a scripted channel call does. Owns the generic vocabulary,
// `delay:<ms>[:<B>]`, `5xx:<code>` and the channel-specific extras a plugin declares
// (`behaviours: { name: (arg) => fields }`, written `name` or `name:<arg>`).

const GENERIC = new Set([
  'success', 'fail', 'processing', 'not_found', 'unknown', 'closed', '5xx', 'garbage', 'badsign',
  'timeout', 'drop',
]);

// Parse one behaviour string into {kind, ms?, inner?, status?, ...extra fields}; throws on nonsense.
function parseBehaviour(b, extras = {}) {
  if (typeof b !== 'string') throw new Error(`behaviour must be a string, got ${JSON.stringify(b)}`);
  if (GENERIC.has(b)) return { kind: b };
  let m = /^delay:(\d{1,7})(?::(.+))?$/.exec(b);
  if (m) {
    const inner = m[2] ? parseBehaviour(m[2], extras) : { kind: 'success' };
    if (inner.kind === 'delay') throw new Error(`nested delay in ${b}`);
    return { kind: 'delay', ms: Number(m[1]), inner };
  }
  m = /^5xx:(5\d\d)$/.exec(b);
  if (m) return { kind: '5xx', status: Number(m[1]) };
  m = /^([a-z_]+)(?::(.*))?$/.exec(b);
  if (m && Object.prototype.hasOwnProperty.call(extras, m[1])) return { ...extras[m[1]](m[2]), kind: m[1] };
  throw new Error(`unknown behaviour ${JSON.stringify(b)}`);
}

// A script value: one behaviour or a non-empty list (first call, second call, ...).
function parseScriptValue(v, extras) {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw new Error('empty behaviour list');
  return list.map((b) => parseBehaviour(b, extras));
}

// How a chosen behaviour is written in the request log.
function describeBehaviour(beh) {
  return beh.kind === 'delay' ? `delay:${beh.ms}:${beh.inner.kind}` : beh.kind;
}

module.exports = { parseScriptValue, describeBehaviour };
