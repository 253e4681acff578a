#!/usr/bin/env node
// Runs one program in oxvm's wasm engine under Node, like `oxvm run
// --image`: the guest's stdio are ours (a byte stream, no terminal), its
// exit status is ours. Used by the tests to run the differential corpus on
// the wasm build.
//
//   node web/node/run.js --wasm oxvm.wasm --image SOURCE [--store DIR]
//        [--overlay NAME] [--cache] [--cwd DIR] [--uid N] [--gid N]
//        [--env K=V]... -- PROGRAM [ARGS...]
//
// SOURCE: an http(s) URL or a local path; a manifest (.json) is a chunk
// store, anything else one image file read by ranges. The environment is
// ours plus --env, as the native runner's. Writes live in memory unless
// --overlay names a store (kept under --store, default ./oxvm-store).

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { newBridgeBuffer, serveBridge } from '../src/engine/bridge.js';
import { nodeIo } from './io-node.js';

function usage(msg) {
  process.stderr.write(`oxvm-node: ${msg}\nusage: run.js --wasm FILE --image SOURCE [--store DIR] [--overlay NAME] [--cache] [--cwd DIR] [--uid N] [--gid N] [--env K=V]... -- PROGRAM [ARGS...]\n`);
  process.exit(2);
}

const opts = { env: [], store: 'oxvm-store', overlay: null, cache: false, cwd: '/', stats: false };
const argv = process.argv.slice(2);
let command = null;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
  if (a === '--') {
    command = argv.slice(i + 1);
    break;
  } else if (a === '--wasm') opts.wasm = value();
  else if (a === '--image') opts.image = value();
  else if (a === '--store') opts.store = value();
  else if (a === '--overlay') opts.overlay = value();
  else if (a === '--cache') opts.cache = true;
  else if (a === '--stats') opts.stats = true;
  else if (a === '--cwd') opts.cwd = value();
  else if (a === '--uid') opts.uid = Number(value());
  else if (a === '--gid') opts.gid = Number(value());
  else if (a === '--env') {
    const e = value();
    if (!/^[^=]+=/.test(e)) usage(`--env ${e}: expected NAME=VALUE`);
    opts.env.push(e);
  } else usage(`unknown argument ${a}`);
}
if (!opts.wasm || !opts.image || !command || command.length === 0) usage('--wasm, --image and a PROGRAM are required');
for (const k of ['uid', 'gid']) if (opts[k] !== undefined && !(Number.isInteger(opts[k]) && opts[k] >= 0)) usage(`--${k} must be a number`);

const url = /^https?:/.test(opts.image) ? opts.image : pathToFileURL(path.resolve(opts.image)).href;
const kind = /\.json([?#].*)?$/.test(url) ? 'chunks' : 'http';
const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
for (const e of opts.env) {
  const key = e.slice(0, e.indexOf('='));
  const at = env.findIndex((x) => x.startsWith(`${key}=`));
  if (at >= 0) env.splice(at, 1);
  env.push(e);
}

const sab = newBridgeBuffer();
const { port1, port2 } = new MessageChannel();
serveBridge(port1, sab, nodeIo(path.resolve(opts.store)));
const worker = new Worker(new URL('./engine-thread.js', import.meta.url), { workerData: { port: port2, sab }, transferList: [port2] });
const started = performance.now();
const send = (m) => worker.postMessage(m);
worker.on('error', (e) => {
  process.stderr.write(`oxvm-node: the engine failed: ${e.stack || e}\n`);
  process.exit(125);
});
worker.on('message', (m) => {
  switch (m.type) {
    case 'output':
      (m.fd === 2 ? process.stderr : process.stdout).write(m.data);
      break;
    case 'log':
      process.stderr.write(`${m.line}\n`);
      break;
    case 'booted':
      send({
        type: 'run', id: 2, path: command[0], args: command.slice(1), env, cwd: opts.cwd,
        uid: opts.uid ?? process.getuid(), gid: opts.gid ?? process.getgid(),
      });
      break;
    case 'spawned':
      process.stdin.on('data', (d) => send({ type: 'input', data: new Uint8Array(d) }));
      process.stdin.on('end', () => send({ type: 'closeInput' }));
      break;
    case 'status':
      lastStatus = m;
      break;
    case 'exit':
      finish(m.status);
      break;
    case 'error':
      process.stderr.write(`oxvm-node: ${m.message}\n`);
      finish(m.id === 1 ? 2 : m.status ?? 126);
      break;
    case 'fatal':
      process.stderr.write(`oxvm-node: ${m.message}\n`);
      finish(125);
      break;
    default:
      break;
  }
});
let lastStatus = null;
function finish(status) {
  if (opts.stats && lastStatus) {
    const secs = (performance.now() - started) / 1000;
    process.stderr.write(`oxvm-node: ${lastStatus.instructions} instructions in ${secs.toFixed(3)} s (${(lastStatus.instructions / secs / 1e6).toFixed(1)} MIPS)\n`);
  }
  // Output messages were posted before the exit: they are written by now.
  process.stdout.write('', () => process.exit(status));
}
send({
  type: 'boot', id: 1,
  config: { wasm: path.resolve(opts.wasm), disk: { kind, url, overlay: opts.overlay, cache: opts.cache }, terminal: null },
});
