// The engine worker's message loop (PROTOCOL.md), shared by the browser's
// Web Worker and the Node host's worker thread: boot, start programs, run
// guest code in slices between messages, report exits and activity.

import { Engine, RUNNABLE, IDLE_UNTIL } from './engine.js';

// Instructions per call into the engine, and how long the loop runs before
// letting messages (keys, resizes) in.
const BUDGET = 1_000_000;
const SLICE_MS = 25;
const STATUS_MS = 250;
// After the guest wrote something, sync the disk once it has been idle
// this long (the kernel also writes back every 5 s while it runs).
const IDLE_SYNC_MS = 1000;

export class Machine {
  // post(msg): to the page. io: a BridgeClient-like {call(req, data)}.
  constructor({ post, io, loadWasm }) {
    this.post = post;
    this.io = io;
    this.loadWasm = loadWasm;
    this.engine = null;
    this.runs = new Map(); // pid -> request id
    this.timer = null;
    this.wake = null;
    this.lastStatus = 0;
    this.ranSince = false;
    this.dirty = false;
    this.instructionsAt = [0, performance.now()];
    this.inflight = 0;
    this.overlayPrefix = null;
    const ch = new MessageChannel();
    ch.port1.onmessage = () => this.#pump();
    this.kick = () => ch.port2.postMessage(0);
    if (typeof ch.port1.unref === 'function') ch.port1.unref();
  }

  async handle(m) {
    try {
      switch (m.type) {
        case 'boot':
          return await this.#boot(m);
        case 'run':
          return this.#run(m);
        case 'input':
          this.engine?.input(m.data);
          return this.#schedule(0);
        case 'closeInput':
          this.engine?.closeInput();
          return this.#schedule(0);
        case 'resize':
          this.engine?.resize(m.rows, m.cols);
          return this.#schedule(0);
        case 'writeFile':
          this.#need().writeFile(m.path, m.data, m);
          this.dirty = true;
          this.#need().sync();
          this.post({ type: 'done', id: m.id });
          return this.#schedule(0);
        case 'mkdir':
          this.#need().mkdir(m.path, m);
          this.dirty = true;
          this.post({ type: 'done', id: m.id });
          return this.#schedule(0);
        case 'readFile': {
          const data = this.#need().readFile(m.path);
          return this.post({ type: 'done', id: m.id, data }, [data.buffer]);
        }
        case 'sync':
          this.#need().sync();
          return this.post({ type: 'done', id: m.id });
        case 'resetDisk':
          return this.#reset(m);
        default:
          throw new Error(`unknown message type ${m.type}`);
      }
    } catch (e) {
      this.post({ type: 'error', id: m.id, message: e.message, status: e.status });
    }
  }

  #need() {
    if (!this.engine) throw new Error('the machine is not booted');
    return this.engine;
  }

  #io(req, data) {
    if (req.op !== 'fetch') return this.io.call(req, data);
    // Fetches are the disk's latency: count them for the status bar.
    const t0 = performance.now();
    this.inflight += req.reqs.length;
    try {
      return this.io.call(req, data);
    } finally {
      this.inflight -= req.reqs.length;
      this.post({ type: 'diskLatency', ms: performance.now() - t0, requests: req.reqs.length });
    }
  }

  async #boot(m) {
    const config = m.config;
    this.overlayPrefix = config.disk?.overlay ?? null;
    const wasm = await this.loadWasm(config.wasm);
    this.engine = await Engine.create(wasm, {
      output: (fd, bytes) => this.post({ type: 'output', fd, data: bytes }, [bytes.buffer]),
      log: (line) => this.post({ type: 'log', line }),
      io: (req, data) => this.#io(req, data),
    });
    const info = this.engine.boot({
      disk: config.disk,
      // Files of "dir" mounts are written after the boot; the engine
      // refuses types it does not know.
      mounts: (config.mounts || []).map(({ type, path, size, disk, url }) => ({
        type,
        path,
        size,
        disk: disk && this.#absolute(disk, config),
        url: url && this.#absolute({ url }, config).url,
      })),
      terminal: config.terminal || null,
      memory: config.memory || 1024,
    });
    for (const mount of config.mounts || []) {
      for (const f of mount.files || []) {
        const path = `${mount.path.replace(/\/$/, '')}/${f.path.replace(/^\//, '')}`;
        // A file in a subdirectory of the mount: make the directories.
        const parent = path.slice(0, path.lastIndexOf('/'));
        if (parent.length > mount.path.replace(/\/$/, '').length) this.engine.mkdir(parent, { uid: f.uid ?? 0, gid: f.gid ?? 0 });
        this.engine.writeFile(path, f.data, { uid: f.uid ?? 0, gid: f.gid ?? 0, mode: f.mode ?? 0o644 });
      }
    }
    this.post({ type: 'booted', id: m.id, info });
    this.#status(true);
  }

  // A disk's URL made absolute (relative URLs are the page's).
  #absolute(disk, config) {
    return { ...disk, url: new URL(disk.url, config.base || globalThis.location?.href).href };
  }

  #run(m) {
    const engine = this.#need();
    let pid;
    try {
      pid = engine.spawn({
        path: m.path,
        args: m.args || [],
        env: m.env || [],
        cwd: m.cwd || '/',
        uid: m.uid ?? 0,
        gid: m.gid ?? 0,
        console: m.console !== false,
      });
    } catch (e) {
      return this.post({ type: 'error', id: m.id, message: e.message, status: e.status ?? 126 });
    }
    this.runs.set(pid, m.id);
    this.post({ type: 'spawned', id: m.id, pid });
    this.#schedule(0);
  }

  async #reset(m) {
    if (this.engine) {
      try {
        this.engine.shutdown();
      } catch {
        // The overlay goes anyway.
      }
      this.engine = null;
    }
    clearTimeout(this.timer);
    if (this.overlayPrefix) this.io.call({ op: 'store.dropPrefix', prefix: `${this.overlayPrefix}.` });
    this.post({ type: 'done', id: m.id });
  }

  #schedule(ms) {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.engine) return;
    if (ms <= 0) this.kick();
    else this.timer = setTimeout(() => this.#pump(), ms);
  }

  #pump() {
    if (!this.engine) return;
    const start = performance.now();
    let state;
    try {
      do {
        state = this.engine.run(BUDGET);
        this.#reap();
      } while (state === RUNNABLE && performance.now() - start < SLICE_MS);
    } catch (e) {
      // A trap in the engine is a bug in oxvm: say so and stop.
      this.post({ type: 'fatal', message: `the engine stopped: ${e.message}` });
      this.engine = null;
      return;
    }
    this.ranSince = true;
    this.dirty = true;
    this.#status(false);
    if (state === RUNNABLE) return this.#schedule(0);
    if (state === IDLE_UNTIL) {
      const wait = Math.max(0, this.engine.idleUntil() - performance.now());
      return this.#schedule(Math.min(wait, this.dirty ? IDLE_SYNC_MS : wait) || 0.5);
    }
    // Waiting for input: sync once, then sleep until a message comes.
    if (this.dirty) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = null;
        if (!this.engine) return;
        try {
          this.engine.sync();
        } catch (e) {
          this.post({ type: 'log', line: e.message });
        }
        this.dirty = false;
        this.#status(true);
      }, IDLE_SYNC_MS);
    }
  }

  #reap() {
    for (const [pid, name] of this.engine.created()) this.post({ type: 'processCreated', pid, name });
    for (const [pid, status] of this.engine.exits()) {
      const id = this.runs.get(pid);
      if (id === undefined) continue;
      this.runs.delete(pid);
      try {
        this.engine.sync();
      } catch (e) {
        this.post({ type: 'log', line: e.message });
      }
      this.#status(true);
      this.post({ type: 'exit', id, pid, status });
    }
  }

  #status(force) {
    const now = performance.now();
    if (!force && now - this.lastStatus < STATUS_MS) return;
    const s = this.engine?.stats();
    if (!s) return;
    const [i0, t0] = this.instructionsAt;
    const mips = now > t0 ? (s.instructions - i0) / (now - t0) / 1000 : 0;
    this.instructionsAt = [s.instructions, now];
    this.lastStatus = now;
    if (force || now - (this.usageAt ?? 0) > 2000) {
      // What the persistent stores hold (the chunk cache and the overlay).
      try {
        this.usage = JSON.parse(new TextDecoder().decode(this.io.call({ op: 'usage' })));
      } catch {
        this.usage = null;
      }
      this.usageAt = now;
    }
    this.post({
      type: 'status',
      stored: this.usage?.bytes ?? null,
      storage: this.usage?.backend ?? null,
      running: this.ranSince && mips > 0,
      instructions: s.instructions,
      mips,
      disk: { ...s.disk, inflight: this.inflight },
      image: s.image,
      overlay: s.overlay,
    });
    this.ranSince = false;
  }
}
