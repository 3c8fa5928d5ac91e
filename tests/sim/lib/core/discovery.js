'use strict';
// Finds the channel plugins: every lib/channels/<name>.js (helpers of a plugin live in
// lib/channels/<name>/ and are not plugins). Checks the declared shape so a broken plugin
// stops start-up with a message naming its file.

const fs = require('node:fs');
const path = require('node:path');

const CHANNELS_DIR = path.join(__dirname, '..', 'channels');
const REQUIRED_FUNCTIONS = ['setup'];

function checkPlugin(p, file) {
  const bad = (m) => new Error(`${file}: ${m}`);
  if (!p || typeof p !== 'object') throw bad('must export the plugin object');
  if (p.name !== path.basename(file, '.js')) throw bad(`name must be ${JSON.stringify(path.basename(file, '.js'))}`);
  if (!Array.isArray(p.sdks)) throw bad('sdks must be an array of npm package names ([] if none)');
  if (!p.ops || typeof p.ops !== 'object' || !Object.keys(p.ops).length) throw bad('ops must map op name -> label');
  for (const f of REQUIRED_FUNCTIONS) if (typeof p[f] !== 'function') throw bad(`${f} must be a function`);
  return p;
}

// names: optional list of channel names to load (default: all found).
function discoverPlugins(names) {
  const files = fs.readdirSync(CHANNELS_DIR).filter((f) => f.endsWith('.js')).sort();
  const found = new Map(files.map((f) => [path.basename(f, '.js'), path.join(CHANNELS_DIR, f)]));
  const wanted = names || [...found.keys()];
  return wanted.map((n) => {
    if (!found.has(n)) throw new Error(`no channel plugin ${n} (have ${[...found.keys()].join(', ')})`);
    return checkPlugin(require(found.get(n)), found.get(n));
  });
}

module.exports = { discoverPlugins, checkPlugin };
