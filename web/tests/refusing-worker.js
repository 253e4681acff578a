// A stand-in engine worker that refuses every request, as a worker that
// cannot run the engine does: app-smoke.mjs checks that the API turns this
// into a clear error instead of waiting forever.
self.onmessage = (e) => {
  const msg = e.data ?? {};
  if (msg.id !== undefined) {
    self.postMessage({ type: 'error', id: msg.id, message: 'the engine is not built into this copy of the web app (src/engine/worker.js is missing)' });
  }
};
