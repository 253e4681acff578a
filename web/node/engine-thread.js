// The Node host's engine thread: the same Machine as the browser's worker,
// with the Node I/O side answering on the main thread.

import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { BridgeClient } from '../src/engine/bridge.js';
import { Machine } from '../src/engine/machine.js';

const io = new BridgeClient(workerData.port, workerData.sab);
const machine = new Machine({
  post: (msg, transfer) => parentPort.postMessage(msg, transfer),
  io,
  loadWasm: async (file) => fs.readFileSync(file),
});
parentPort.on('message', (m) => machine.handle(m));
