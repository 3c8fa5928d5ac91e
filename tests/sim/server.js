#!/usr/bin/env node
'use strict';
// Alipay channel simulator for paygw tests. Loopback only.
//   node tests/sim/server.js --port 9100 --keys <dir> [--app-id 2021000000000001] [--verbose]
// <dir> holds alipay_private.pem (the sim signs with it) and app_public.pem (the sim
// verifies the merchant's requests with it). Prints "sim listening 127.0.0.1:<port>".

const path = require('node:path');
const { readKeyFile } = require('./lib/keys');
const { Sim } = require('./lib/sim');

function usage(msg) {
  if (msg) process.stderr.write(`sim: ${msg}\n`);
  process.stderr.write('usage: node server.js --port <port|0> --keys <dir> [--app-id <id>] [--verbose]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { port: 9100, keys: null, appId: null, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port') o.port = Number(next());
    else if (a === '--keys') o.keys = next();
    else if (a === '--app-id') o.appId = next();
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
  let alipayPrivateKey;
  let appPublicKey;
  try {
    alipayPrivateKey = readKeyFile(path.join(o.keys, 'alipay_private.pem'), 'private');
    appPublicKey = readKeyFile(path.join(o.keys, 'app_public.pem'), 'public');
  } catch (e) {
    process.stderr.write(`sim: ${e.message}\n`);
    process.exit(1);
  }
  const log = o.verbose ? (m) => process.stderr.write(`sim: ${m}\n`) : null;
  const sim = new Sim({ alipayPrivateKey, appPublicKey, appId: o.appId, log });
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
