// The I/O worker: answers the engine worker's synchronous calls (bridge.js)
// with the browser's asynchronous APIs.

import { serveBridge } from './bridge.js';
import { browserIo } from './io-browser.js';

self.onmessage = async (e) => {
  const { port, sab, storage } = e.data;
  const io = await browserIo({ storage });
  serveBridge(port, sab, io.handler);
  self.postMessage({ type: 'ready', storage: io.kind });
};
