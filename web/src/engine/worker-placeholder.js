// Stand-in for the engine worker, used by build.mjs only while
// src/engine/worker.js does not exist: it answers every request with an error
// so that the page shows a clear message instead of waiting forever.
self.onmessage = (e) => {
  const msg = e.data ?? {};
  if (msg.id !== undefined) {
    self.postMessage({ type: 'error', id: msg.id, message: 'the engine is not built into this copy of the web app (src/engine/worker.js is missing)' });
  }
};
