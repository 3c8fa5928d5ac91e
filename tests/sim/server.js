#!/usr/bin/env node
'use strict';
// Channel simulator for paygw tests. Loopback only.
//   node tests/sim/server.js --port 9100 --keys <dir> [--app-id <alipay app id>]
//        [--channels alipay,stripe] [--set <channel>.<option>=<value>]... [--verbose]
// <dir> is the keys root: Alipay reads alipay_private.pem and app_public.pem there, every
// other channel reads (and creates what is missing in) <dir>/<channel>/. Prints
// "sim listening 127.0.0.1:<port>" when ready.

const { Sim } = require('./lib/sim');

function usage(msg) {
  if (msg) process.stderr.write(`sim: ${msg}\n`);
  process.stderr.write('usage: node server.js --port <port|0> --keys <dir> [--app-id <id>] ' +
    '[--channels <a,b>] [--set <channel>.<option>=<value>] [--verbose]\n');
  process.exit(2);
}

function setOption(options, spec) {
  const m = /^([a-z0-9_]+)\.([A-Za-z0-9_]+)=(.*)$/.exec(spec);
  if (!m) usage(`--set wants <channel>.<option>=<value>, got ${spec}`);
  options[m[1]] = { ...options[m[1]], [m[2]]: m[3] };
}

function parseArgs(argv) {
  const o = { port: 9100, keys: null, channels: undefined, options: {}, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port') o.port = Number(next());
    else if (a === '--keys') o.keys = next();
    else if (a === '--app-id') setOption(o.options, `alipay.app_id=${next()}`);
    else if (a === '--channels') o.channels = next().split(',').filter(Boolean);
    else if (a === '--set') setOption(o.options, next());
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) usage('bad --port');
  if (!o.keys) usage('--keys is required');
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const log = o.verbose ? (m) => process.stderr.write(`sim: ${m}\n`) : null;
  let sim;
  try {
    sim = new Sim({ keysDir: o.keys, channels: o.channels, options: o.options, log });
  } catch (e) {
    process.stderr.write(`sim: ${e.message}\n`);
    process.exit(1);
  }
  try {
    await sim.listen(o.port, '127.0.0.1');
  } catch (e) {
    process.stderr.write(`sim: cannot listen on 127.0.0.1:${o.port}: ${e.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`sim listening 127.0.0.1:${sim.port}\n`);
  const stop = async () => {
    await sim.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
