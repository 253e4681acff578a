// A synchronous call from the engine's thread to an asynchronous one.
//
// The engine (wasm) reads its disk synchronously: the block stack asks for
// chunks and waits for them. fetch(), OPFS's directory calls and IndexedDB
// are asynchronous, so they run on another thread (the I/O worker in the
// browser, the main thread under Node): the engine posts the request on a
// MessagePort and sleeps in Atomics.wait on a SharedArrayBuffer until the
// other side has written the answer there and called Atomics.notify. This
// needs SharedArrayBuffer, hence a cross-origin isolated page in the
// browser (COOP/COEP headers, or the app's service worker).
//
// Layout of the shared buffer: Int32 words [state, total length, piece
// length, unused], then the data area. state: 0 waiting, 1 done, 2 failed
// (the data is the error message). An answer larger than the data area
// comes in pieces: the engine asks for the rest with {more: offset}.

const HEADER = 16;
export const BRIDGE_BYTES = HEADER + (16 << 20);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function newBridgeBuffer() {
  return new SharedArrayBuffer(BRIDGE_BYTES);
}

// The engine's side.
export class BridgeClient {
  constructor(port, sab) {
    this.port = port;
    this.ctl = new Int32Array(sab, 0, 4);
    this.data = new Uint8Array(sab, HEADER);
  }

  #roundTrip(msg, transfer) {
    Atomics.store(this.ctl, 0, 0);
    this.port.postMessage(msg, transfer);
    while (Atomics.wait(this.ctl, 0, 0) === 'ok' && Atomics.load(this.ctl, 0) === 0) {
      // A spurious wake-up: wait again.
    }
    return Atomics.load(this.ctl, 0);
  }

  // Returns the answer's bytes; throws the other side's error.
  call(req, data) {
    const payload = data && data.length ? data.slice() : null;
    const state = this.#roundTrip({ req, data: payload }, payload ? [payload.buffer] : []);
    const total = this.ctl[1];
    const out = new Uint8Array(total);
    let got = this.ctl[2];
    out.set(this.data.subarray(0, got));
    while (got < total) {
      this.#roundTrip({ more: got }, []);
      const n = this.ctl[2];
      if (n <= 0) throw new Error('the I/O side stopped answering mid-result');
      out.set(this.data.subarray(0, n), got);
      got += n;
    }
    if (state === 2) throw new Error(decoder.decode(out));
    return out;
  }
}

// The asynchronous side: answers each request with `handler(req, data)`,
// which returns (or resolves to) a Uint8Array, or throws.
export function serveBridge(port, sab, handler) {
  const ctl = new Int32Array(sab, 0, 4);
  const area = new Uint8Array(sab, HEADER);
  let pending = new Uint8Array(0);
  const answer = (state, from) => {
    const n = Math.min(pending.length - from, area.length);
    area.set(pending.subarray(from, from + n));
    ctl[1] = pending.length;
    ctl[2] = n;
    Atomics.store(ctl, 0, state);
    Atomics.notify(ctl, 0);
  };
  const onMessage = async (msg) => {
    if (msg.more !== undefined) {
      answer(Atomics.load(ctl, 3) || 1, msg.more);
      return;
    }
    let state = 1;
    try {
      pending = await handler(msg.req, msg.data);
    } catch (e) {
      state = 2;
      pending = encoder.encode(e && e.message ? e.message : String(e));
    }
    ctl[3] = state;
    answer(state, 0);
  };
  if (typeof port.on === 'function') port.on('message', onMessage);
  else port.onmessage = (e) => onMessage(e.data);
}

// fetch() for the "fetch" operation: the batch in flight together. The
// answer is [u32 LE length of the JSON metas][metas][bodies in order].
export async function fetchBatch(reqs, fetchOne) {
  const results = await Promise.all(
    reqs.map(async (r) => {
      try {
        const res = await fetchOne(r);
        if (res.body.length > r.max) return { meta: { error: `the answer is longer than ${r.max} bytes` } };
        return { meta: { status: res.status, contentRange: res.contentRange, validator: res.validator, len: res.body.length }, body: res.body };
      } catch (e) {
        return { meta: { error: e && e.message ? e.message : String(e) } };
      }
    }),
  );
  const metas = encoder.encode(JSON.stringify(results.map((r) => r.meta)));
  const total = 4 + metas.length + results.reduce((n, r) => n + (r.body ? r.body.length : 0), 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, metas.length, true);
  out.set(metas, 4);
  let at = 4 + metas.length;
  for (const r of results) {
    if (r.body) {
      out.set(r.body, at);
      at += r.body.length;
    }
  }
  return out;
}

// One request with the platform's fetch().
export async function httpFetch(r) {
  const headers = {};
  if (r.start !== undefined) headers.Range = `bytes=${r.start}-${r.end - 1}`;
  // Chunks: no-store, since the chunk cache is ours and the browser's HTTP
  // cache would keep a second copy of each. A manifest (JSON) is asked for
  // on every start: let the HTTP cache revalidate it (ETag, 304) so a warm
  // start does not download it again.
  const manifest = r.start === undefined && /\.json([?#]|$)/.test(r.url);
  const res = await fetch(r.url, { headers, cache: manifest ? 'no-cache' : 'no-store' });
  const body = new Uint8Array(await res.arrayBuffer());
  return {
    status: res.status,
    contentRange: res.headers.get('content-range'),
    validator: res.headers.get('etag') || res.headers.get('last-modified'),
    body,
  };
}

export function json(value) {
  return encoder.encode(JSON.stringify(value));
}
