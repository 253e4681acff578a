// The engine worker: oxvm.wasm runs here, off the page's thread, so the
// page never freezes. It speaks PROTOCOL.md with the page and reaches the
// network and the persistent stores through the I/O worker it starts.

import { BridgeClient, newBridgeBuffer } from './bridge.js';
import { Machine } from './machine.js';

const isolated = typeof SharedArrayBuffer !== 'undefined' && self.crossOriginIsolated !== false;

async function loadWasm(url) {
  const res = await fetch(new URL(url, self.location.href));
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  if (res.headers.get('content-type')?.startsWith('application/wasm')) return WebAssembly.compileStreaming(res);
  return WebAssembly.compile(await res.arrayBuffer());
}

let machine = null;
// Messages that came before the I/O worker was ready.
let queued = [];

function handle(m) {
  if (m.type === 'boot' && m.config?.disk?.url) {
    // URLs are the page's: make them absolute before another worker
    // (whose base differs) fetches them.
    m.config.disk.url = new URL(m.config.disk.url, m.config.base || self.location.href).href;
  }
  machine.handle(m);
}

if (isolated) {
  const sab = newBridgeBuffer();
  const channel = new MessageChannel();
  const ioWorker = new Worker(new URL('./io-worker.js', import.meta.url), { type: 'module', name: 'oxvm-io' });
  // Chromium starts a nested worker through its parent's thread: the
  // engine must not block in Atomics.wait before the I/O worker runs, so
  // nothing is handled until it says it is ready.
  ioWorker.onmessage = (e) => {
    if (e.data?.type !== 'ready') return;
    machine = new Machine({ post: (m, t) => self.postMessage(m, t), io: new BridgeClient(channel.port1, sab), loadWasm });
    for (const m of queued) handle(m);
    queued = null;
  };
  ioWorker.onerror = (e) => self.postMessage({ type: 'fatal', message: `the I/O worker failed: ${e.message}` });
  const storage = new URL(self.location.href).searchParams.get('storage');
  ioWorker.postMessage({ port: channel.port2, sab, storage }, [channel.port2]);
}

self.onmessage = (e) => {
  const m = e.data;
  if (!isolated) {
    self.postMessage({
      type: 'error',
      id: m.id,
      message:
        "oxvm needs a cross-origin isolated page (SharedArrayBuffer): serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, or let the app's service worker add them",
    });
  } else if (queued) {
    queued.push(m);
  } else {
    handle(m);
  }
};
