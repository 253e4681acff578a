// oxvm's embeddable JavaScript API.
//
// A page creates a Linux with a list of mounts (an ext2 root on a block device,
// in-memory directories, and the standard kernel filesystems), runs programs
// in it, and connects a console. The engine itself runs in a dedicated Web
// Worker (worker.js beside this module); this module only speaks the message
// protocol described in src/engine/PROTOCOL.md.
//
// The shape follows the API of the best-known browser Linux VM so that pages
// written for it port easily: `Linux.create({mounts})`, `run(path, args,
// opts)`, `setConsole`, `setCustomConsole`, `registerCallback` and device
// classes with async `create` factories.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
// xterm.js's stylesheet as text (a virtual module provided by build.mjs), so
// that `setConsole` works on a page that did not load it.
import xtermCss from 'oxvm:xterm-css';

const encoder = new TextEncoder();

/** Turns what a caller may give as data into a Uint8Array. */
function toBytes(data, what = 'data') {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') return encoder.encode(data);
  if (typeof data === 'number') return encoder.encode(String.fromCharCode(data));
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)) {
    return new Uint8Array(data);
  }
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return Uint8Array.from(data);
  throw new TypeError(`oxvm: ${what} must be a string, a Uint8Array, an ArrayBuffer or an array of bytes`);
}

function absoluteUrl(url, what) {
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw new TypeError(`oxvm: ${what} needs a URL`);
  }
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  return base ? new URL(url, base).href : String(url);
}

function checkPath(path, what) {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError(`oxvm: ${what} must be an absolute path (starting with "/"), got ${JSON.stringify(path)}`);
  }
}

// ---------------------------------------------------------------------------
// Devices

/** Base class of every device; devices are made with their async `create`. */
export class Device {
  constructor(token) {
    if (token !== CREATE) throw new TypeError('oxvm: devices are made with their static create() method');
  }
}
const CREATE = Symbol('create');

/** A block device: an ext2 image, read on demand. */
export class BlockDevice extends Device {
  /** @returns the `disk` part of the boot config (PROTOCOL.md) */
  _diskConfig() {
    throw new Error('oxvm: not a block device');
  }
}

/** A read-only image at a URL; `kind` names how the engine reads it. */
class UrlImageDevice extends BlockDevice {
  static async create(url) {
    const dev = new this(CREATE);
    dev.url = absoluteUrl(url, `${this.label}.create`);
    return dev;
  }
  _diskConfig() {
    return { kind: this.constructor.kind, url: this.url, overlay: null, cache: false };
  }
}

/** One disk image file on a web server, read with HTTP Range requests. */
export class HttpBytesDevice extends UrlImageDevice {
  static kind = 'http';
  // Named here: the bundler's minifier renames classes.
  static label = 'HttpBytesDevice';
}

/** An image published by `oxvm image publish` as compressed chunks plus a manifest.json. */
export class ChunkDevice extends UrlImageDevice {
  static kind = 'chunks';
  static label = 'ChunkDevice';
}

/** Whether a storage entry belongs to the store `name`: `name` itself or `name.<anything>`. */
const inStore = (entry, name) => entry === name || entry.startsWith(`${name}.`);

/**
 * Deletes a persistent store: every OPFS entry at the root and every
 * IndexedDB database named `name` or `name.<part>` (the engine keeps a
 * store's parts, such as the overlay and the chunk cache, under such names;
 * it uses OPFS where it can and IndexedDB otherwise).
 * Throws when the store is in use (another tab running the same VM).
 */
export async function deleteStore(name) {
  if (typeof name !== 'string' || !name) throw new TypeError('oxvm: a store name is needed');
  const problems = [];
  const inUse = `the store "${name}" is in use (is oxvm open in another tab?)`;
  let root = null;
  try {
    root = await globalThis.navigator?.storage?.getDirectory?.();
  } catch {
    // No OPFS here (some private modes): the engine used IndexedDB.
  }
  if (root) {
    const entries = [];
    try {
      for await (const entry of root.keys()) if (inStore(entry, name)) entries.push(entry);
    } catch (e) {
      problems.push(`OPFS: ${e?.message ?? e}`);
    }
    for (const entry of entries) {
      // A worker that was just terminated may hold its file handles for a moment.
      for (let attempt = 0; ; attempt++) {
        try {
          await root.removeEntry(entry, { recursive: true });
          break;
        } catch (e) {
          if (e?.name === 'NotFoundError') break;
          if (e?.name === 'NoModificationAllowedError' && attempt < 10) {
            await new Promise((ok) => setTimeout(ok, 100));
            continue;
          }
          problems.push(e?.name === 'NoModificationAllowedError' ? inUse : `OPFS: ${e?.message ?? e}`);
          break;
        }
      }
    }
  }
  if (globalThis.indexedDB) {
    let names = [name];
    try {
      if (indexedDB.databases) names = (await indexedDB.databases()).map((d) => d.name).filter((n) => n && inStore(n, name));
    } catch {
      // Keep the plain name.
    }
    for (const db of names) {
      await new Promise((resolve) => {
        let timer = null;
        const req = indexedDB.deleteDatabase(db);
        req.onsuccess = () => { clearTimeout(timer); resolve(); };
        req.onerror = () => { clearTimeout(timer); problems.push(`IndexedDB: ${req.error?.message ?? 'error'}`); resolve(); };
        req.onblocked = () => {
          // Another connection (another tab) holds the database open; the
          // deletion goes through when it closes. Do not wait forever.
          timer = setTimeout(() => { problems.push(inUse); resolve(); }, 5000);
        };
      });
    }
  }
  if (problems.length) throw new Error(`oxvm: could not delete the store "${name}": ${[...new Set(problems)].join('; ')}`);
}

/**
 * A persistent copy-on-write layer over a read-only block device: every write
 * lands in a store in the browser (OPFS, or IndexedDB where OPFS is missing)
 * named `storeName`, and survives reloads.
 */
export class OverlayDevice extends BlockDevice {
  static async create(base, storeName) {
    if (!(base instanceof HttpBytesDevice || base instanceof ChunkDevice)) {
      throw new TypeError('oxvm: OverlayDevice.create needs an HttpBytesDevice or a ChunkDevice as its base (overlays do not stack yet)');
    }
    if (typeof storeName !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(storeName)) {
      throw new TypeError('oxvm: OverlayDevice.create needs a store name of letters, digits, ".", "_" and "-" (starting with a letter or digit)');
    }
    const dev = new OverlayDevice(CREATE);
    dev.base = base;
    dev.name = storeName;
    /** @type {Linux|null} the running VM using this overlay */
    dev._linux = null;
    return dev;
  }
  _diskConfig() {
    // The store also keeps the chunks fetched so far (the next start needs fewer).
    return { ...this.base._diskConfig(), overlay: this.name, cache: true };
  }
  /**
   * Deletes every write kept in the store. When a VM runs on this overlay, it
   * is stopped first (the page must reload or create a new Linux after this).
   */
  async reset() {
    const linux = this._linux;
    if (linux && !linux._dead) {
      await linux._resetDisk();
    }
    await deleteStore(this.name);
  }
}

/** In-memory files, mounted as a directory (type "dir"). */
export class DataDevice extends Device {
  static async create() {
    const dev = new DataDevice(CREATE);
    /** @type {Map<string, {data: Uint8Array, mode: number}>} */
    dev._files = new Map();
    /** @type {{linux: Linux, path: string}[]} where it is mounted in running VMs */
    dev._mounts = [];
    return dev;
  }
  /**
   * Adds or replaces a file. `path` is relative to the device's root (a
   * leading "/" is allowed). Before the VM boots, the file is part of the
   * mount; afterwards it is written into the running VM as well.
   */
  async writeFile(path, data, { mode = 0o644 } = {}) {
    if (typeof path !== 'string' || !path.replace(/^\/+/, '')) throw new TypeError('oxvm: DataDevice.writeFile needs a file name');
    const rel = path.replace(/^\/+/, '');
    const bytes = toBytes(data).slice();
    this._files.set(rel, { data: bytes, mode });
    for (const { linux, path: mountPath } of this._mounts) {
      if (!linux._dead) await linux.writeFile(`${mountPath.replace(/\/+$/, '')}/${rel}`, bytes, { mode, uid: 0, gid: 0 });
    }
  }
  _filesConfig() {
    return [...this._files].map(([path, f]) => ({ path, data: f.data, mode: f.mode }));
  }
}

/**
 * A read-only directory served over HTTP, mounted with `{type: "dir"}`: the
 * directory holds `index.json` (written by `oxvm image index DIR`), and each
 * file is fetched (in 128 KiB ranges) only when the guest reads it.
 */
export class WebDevice extends Device {
  static async create(url) {
    if (typeof url !== 'string' && !(url instanceof URL)) throw new TypeError('oxvm: WebDevice.create needs the URL of a directory holding index.json');
    const dev = new WebDevice(CREATE);
    dev.url = absoluteUrl(String(url), 'WebDevice url');
    return dev;
  }
}

// ---------------------------------------------------------------------------
// Linux

const STANDARD_MOUNTS = { devs: '/dev', proc: '/proc', devpts: '/dev/pts', sys: '/sys' };
const CALLBACKS = ['cpuActivity', 'diskActivity', 'diskLatency', 'processCreated', 'status', 'log', 'fatal'];

/** Validates the mounts and turns them into the boot config (PROTOCOL.md). */
function buildConfig(mounts) {
  if (!Array.isArray(mounts) || mounts.length === 0) {
    throw new TypeError('oxvm: Linux.create needs `mounts`, an array whose first entry is {type: "ext2", path: "/", dev}');
  }
  const root = mounts[0];
  if (root?.type !== 'ext2' || root?.path !== '/') {
    throw new TypeError('oxvm: the first mount must be the root filesystem: {type: "ext2", path: "/", dev}');
  }
  const seen = new Set();
  const extra = [];
  let disk = null;
  const overlays = [];
  const dataMounts = [];
  for (const [i, m] of mounts.entries()) {
    if (!m || typeof m !== 'object') throw new TypeError(`oxvm: mount ${i} is not an object`);
    checkPath(m.path, `the path of mount ${i} (${m.type})`);
    const path = m.path.length > 1 ? m.path.replace(/\/+$/, '') : m.path;
    if (seen.has(path)) throw new TypeError(`oxvm: two mounts at ${path}`);
    seen.add(path);
    switch (m.type) {
      case 'ext2': {
        if (!(m.dev instanceof BlockDevice)) {
          throw new TypeError(`oxvm: the ext2 mount at ${path} needs a block device (HttpBytesDevice, ChunkDevice or OverlayDevice) as dev`);
        }
        if (m.dev instanceof OverlayDevice) overlays.push(m.dev);
        const d = m.dev._diskConfig();
        if (i === 0) disk = d;
        else extra.push({ type: 'ext2', path, disk: d });
        break;
      }
      case 'dir':
        if (m.dev instanceof WebDevice) {
          extra.push({ type: 'web', path, url: m.dev.url });
          break;
        }
        if (!(m.dev instanceof DataDevice)) throw new TypeError(`oxvm: the "dir" mount at ${path} needs a DataDevice or a WebDevice as dev`);
        extra.push({ type: 'dir', path, files: m.dev._filesConfig() });
        dataMounts.push({ dev: m.dev, path });
        break;
      case 'devs':
      case 'proc':
      case 'devpts':
      case 'sys':
        // oxvm's kernel always provides these at their standard places.
        if (path !== STANDARD_MOUNTS[m.type]) {
          throw new TypeError(`oxvm: a "${m.type}" mount can only be at ${STANDARD_MOUNTS[m.type]} (oxvm's kernel always mounts it there), not at ${path}`);
        }
        break;
      default:
        throw new TypeError(`oxvm: unknown mount type ${JSON.stringify(m.type)} at ${path} (known: ext2, dir, devs, proc, devpts, sys)`);
    }
  }
  return { disk, mounts: extra, overlays, dataMounts };
}

/** The console's size until a console says otherwise. */
const DEFAULT_TERMINAL = { rows: 24, cols: 80 };

export class Linux {
  constructor(token) {
    if (token !== CREATE) throw new TypeError('oxvm: use `await Linux.create({mounts})`');
    this._nextId = 1;
    /** @type {Map<number, {resolve: Function, reject: Function, kind: string, onSpawned?: Function}>} */
    this._pending = new Map();
    this._callbacks = new Map(CALLBACKS.map((n) => [n, new Set()]));
    this._write = null;          // the console's write function
    this._early = [];            // console output before a console was set
    this._earlyBytes = 0;
    this._terminal = null;       // xterm.js Terminal made by setConsole
    this._consoleCleanup = null;
    this._size = { ...DEFAULT_TERMINAL };
    this._cpu = null;            // last cpuActivity state sent
    this._disk = null;           // last diskActivity state sent
    this._dead = false;
    this._deadReason = null;
    this.lastStatus = null;
  }

  /**
   * Boots a VM. Options: `mounts` (required), `terminal` ({rows, cols}: the
   * console's first size), `workerUrl` and `wasmUrl` (where worker.js and
   * oxvm.wasm are, default: beside this module), `memory` (guest RAM in MiB;
   * the engine's default otherwise), `storage` ("opfs" or "indexeddb": where
   * persistent overlays and the chunk cache live; default OPFS, falling back
   * to IndexedDB where OPFS is missing).
   */
  static async create({ mounts, terminal, workerUrl, wasmUrl, memory, storage } = {}) {
    if (!globalThis.crossOriginIsolated) {
      throw new Error('oxvm: this page is not cross-origin isolated, so SharedArrayBuffer is missing. '
        + 'Serve it with the headers "Cross-Origin-Opener-Policy: same-origin" and '
        + '"Cross-Origin-Embedder-Policy: require-corp" (or register oxvm\'s sw.js, which adds them).');
    }
    const { disk, mounts: extra, overlays, dataMounts } = buildConfig(mounts);
    const linux = new Linux(CREATE);
    if (terminal) linux._size = { rows: terminal.rows | 0 || 24, cols: terminal.cols | 0 || 80 };
    const config = {
      wasm: wasmUrl ? absoluteUrl(wasmUrl, 'wasmUrl') : 'oxvm.wasm',
      disk,
      mounts: extra,
      terminal: { ...linux._size },
    };
    if (memory !== undefined) {
      if (!Number.isInteger(memory) || memory < 16) throw new TypeError('oxvm: memory is the guest RAM in MiB, an integer of 16 or more');
      config.memory = memory;
    }
    const url = workerUrl ? absoluteUrl(workerUrl, 'workerUrl') : new URL('./worker.js', import.meta.url);
    if (storage !== undefined) {
      // Which persistent store the engine's I/O worker uses; the default
      // is OPFS, with IndexedDB where OPFS is missing.
      if (storage !== 'opfs' && storage !== 'indexeddb') throw new TypeError('oxvm: storage is "opfs" or "indexeddb"');
      url.searchParams.set('storage', storage);
    }
    linux._worker = new Worker(url, { type: 'module', name: 'oxvm' });
    linux._worker.onmessage = (e) => linux._onMessage(e.data);
    linux._worker.onerror = (e) => {
      e.preventDefault?.();
      linux._die(`the engine worker failed: ${e.message || 'could not load worker.js'}`);
    };
    linux._worker.onmessageerror = () => linux._die('a message from the engine could not be read');
    try {
      linux.info = await linux._request({ type: 'boot', config }, 'boot');
    } catch (e) {
      linux._worker.terminate();
      linux._dead = true;
      throw e;
    }
    for (const o of overlays) o._linux = linux;
    for (const { dev, path } of dataMounts) dev._mounts.push({ linux, path });
    linux._overlays = overlays;
    linux._dataMounts = dataMounts;
    return linux;
  }

  // --- protocol plumbing ---

  _request(msg, kind, extra = {}) {
    if (this._dead) return Promise.reject(new Error(`oxvm: the VM has stopped${this._deadReason ? `: ${this._deadReason}` : ''}`));
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, kind, ...extra });
      this._worker.postMessage({ ...msg, id });
    });
  }

  _emit(name, ...args) {
    for (const cb of this._callbacks.get(name) ?? []) {
      try { cb(...args); } catch (e) { queueMicrotask(() => { throw e; }); }
    }
  }

  _output(data) {
    if (this._write) {
      this._write(data);
    } else if (this._earlyBytes < (1 << 20)) {
      // Keep what the guest printed before a console was connected.
      this._early.push(data);
      this._earlyBytes += data.length;
    }
  }

  _onMessage(msg) {
    if (!msg || typeof msg !== 'object') return;
    const p = msg.id !== undefined ? this._pending.get(msg.id) : undefined;
    switch (msg.type) {
      case 'output':
        this._output(toBytes(msg.data));
        return;
      case 'status': {
        this.lastStatus = msg;
        this._emit('status', msg);
        const cpu = msg.running ? 'wait' : 'ready';
        if (cpu !== this._cpu) { this._cpu = cpu; this._emit('cpuActivity', cpu); }
        const disk = msg.disk?.inflight > 0 ? 'wait' : 'ready';
        if (disk !== this._disk) { this._disk = disk; this._emit('diskActivity', disk); }
        return;
      }
      case 'diskLatency':
        this._emit('diskLatency', msg.ms);
        return;
      case 'processCreated':
        this._emit('processCreated', { pid: msg.pid, name: msg.name });
        return;
      case 'log':
        this._emit('log', msg.line);
        if (this._callbacks.get('log').size === 0) console.warn(`oxvm: ${msg.line}`);
        return;
      case 'fatal':
        this._die(msg.message || 'the engine stopped');
        return;
      case 'booted':
        if (p) { this._pending.delete(msg.id); p.resolve(msg.info ?? {}); }
        return;
      case 'spawned':
        if (p) { p.pid = msg.pid; p.onSpawned?.(msg.pid); }
        return;
      case 'exit':
        if (p) { this._pending.delete(msg.id); p.resolve({ status: msg.status, pid: msg.pid ?? p.pid }); }
        return;
      case 'done':
        if (p) { this._pending.delete(msg.id); p.resolve(msg.data); }
        return;
      case 'error':
        if (p) {
          this._pending.delete(msg.id);
          if (p.kind === 'run' && typeof msg.status === 'number') {
            // Like a shell: a program that cannot start gives 127 or 126.
            p.resolve({ status: msg.status, error: msg.message });
          } else {
            const err = new Error(`oxvm: ${msg.message}`);
            if (typeof msg.status === 'number') err.status = msg.status;
            p.reject(err);
          }
        }
        return;
      default:
        return;
    }
  }

  _die(reason) {
    if (this._dead) return;
    this._dead = true;
    this._deadReason = reason;
    const err = new Error(`oxvm: ${reason}`);
    for (const p of this._pending.values()) p.reject(err);
    this._pending.clear();
    this._emit('fatal', reason);
    if (this._terminal) this._terminal.write(`\r\n\x1b[31m[oxvm stopped: ${reason}]\x1b[0m\r\n`);
    this._worker?.terminate();
  }

  // --- public API ---

  /**
   * Runs a program and resolves with its exit status when it ends.
   * `opts`: env (array of "K=V"), cwd, uid, gid, and console (default true:
   * the program's stdin/stdout/stderr are the console).
   */
  run(path, args = [], { env = [], cwd = '/', uid = 0, gid = 0, console: onConsole = true, onSpawned } = {}) {
    checkPath(path, 'run: the program');
    if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) throw new TypeError('oxvm: run: args must be an array of strings');
    if (!Array.isArray(env) || env.some((a) => typeof a !== 'string' || !a.includes('='))) throw new TypeError('oxvm: run: env must be an array of "KEY=value" strings');
    return this._request({ type: 'run', path, args, env, cwd, uid, gid, console: !!onConsole }, 'run', { onSpawned });
  }

  /** Connects a console: bytes the guest writes go to `write(Uint8Array)`; returns the input function. */
  setCustomConsole(write, cols = 80, rows = 24) {
    if (typeof write !== 'function') throw new TypeError('oxvm: setCustomConsole needs a write function');
    this._consoleCleanup?.();
    this._consoleCleanup = null;
    this._terminal = null;
    this._write = write;
    const early = this._early;
    this._early = [];
    this._earlyBytes = 0;
    for (const d of early) write(d);
    this.resize(rows, cols);
    return (data) => this.input(data);
  }

  /**
   * Makes an xterm.js terminal inside `element`, sized to it, and connects it
   * as the console. Returns the Terminal. `options` go to xterm.js.
   */
  setConsole(element, options = {}) {
    if (!(element instanceof HTMLElement)) throw new TypeError('oxvm: setConsole needs an element');
    injectXtermCss();
    const term = new Terminal({ cursorBlink: true, scrollback: 5000, screenReaderMode: true, ...options });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(element);
    try { fit.fit(); } catch { /* not laid out yet */ }
    const input = this.setCustomConsole((d) => term.write(d), term.cols, term.rows);
    this._terminal = term;
    const subs = [
      term.onData((d) => input(d)),
      term.onBinary((d) => input(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff))),
      term.onResize(({ rows, cols }) => this.resize(rows, cols)),
    ];
    const ro = new ResizeObserver(() => { try { fit.fit(); } catch { /* hidden */ } });
    ro.observe(element);
    this._consoleCleanup = () => { ro.disconnect(); subs.forEach((s) => s.dispose()); };
    return term;
  }

  /** Sends key bytes (a string, bytes, or one character code) to the console. */
  input(data) {
    if (this._dead) return;
    this._worker.postMessage({ type: 'input', data: toBytes(data, 'input') });
  }

  /** Tells the guest the console's size (it gets SIGWINCH). */
  resize(rows, cols) {
    rows |= 0; cols |= 0;
    if (rows <= 0 || cols <= 0) return;
    this._size = { rows, cols };
    if (!this._dead) this._worker?.postMessage({ type: 'resize', rows, cols });
  }

  /** Registers a callback: cpuActivity, diskActivity, diskLatency, processCreated, status, log, fatal. */
  registerCallback(name, cb) {
    const set = this._callbacks.get(name);
    if (!set) throw new TypeError(`oxvm: unknown callback ${JSON.stringify(name)} (known: ${CALLBACKS.join(', ')})`);
    if (typeof cb !== 'function') throw new TypeError('oxvm: registerCallback needs a function');
    set.add(cb);
    // Tell a late subscriber the current state.
    if (name === 'cpuActivity' && this._cpu) cb(this._cpu);
    if (name === 'diskActivity' && this._disk) cb(this._disk);
  }

  unregisterCallback(name, cb) {
    this._callbacks.get(name)?.delete(cb);
  }

  /** Writes a file into the VM (creating or replacing it), owned by uid/gid with `mode`. */
  async writeFile(path, data, { uid = 0, gid = 0, mode = 0o644 } = {}) {
    checkPath(path, 'writeFile: the path');
    await this._request({ type: 'writeFile', path, data: toBytes(data), uid, gid, mode }, 'writeFile');
  }

  /** Makes a directory in the VM, with any missing parents (as mkdir -p), owned by uid/gid with `mode`. */
  async mkdir(path, { uid = 0, gid = 0, mode = 0o755 } = {}) {
    checkPath(path, 'mkdir: the path');
    await this._request({ type: 'mkdir', path, uid, gid, mode }, 'mkdir');
  }

  /** Reads a whole file from the VM. */
  async readFile(path) {
    checkPath(path, 'readFile: the path');
    const data = await this._request({ type: 'readFile', path }, 'readFile');
    return toBytes(data ?? new Uint8Array(0));
  }

  /** Resolves when every write so far is durable in the overlay store. */
  async sync() {
    await this._request({ type: 'sync' }, 'sync');
  }

  /** Stops the VM at once; pending calls reject. */
  terminate() {
    this._consoleCleanup?.();
    this._consoleCleanup = null;
    this._die('terminated');
  }

  /** Stops the engine and deletes its overlay store (used by OverlayDevice.reset). */
  async _resetDisk() {
    try {
      await Promise.race([
        this._request({ type: 'resetDisk' }, 'resetDisk'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000)),
      ]);
    } catch {
      // The engine did not answer (it may be stuck): stopping it is enough,
      // the caller deletes the store itself.
    }
    this._worker?.terminate();
    this._die('the disk was reset');
  }
}

let cssInjected = false;
function injectXtermCss() {
  if (cssInjected || typeof document === 'undefined') return;
  cssInjected = true;
  // A page that loads xterm.css itself marks the link with data-xterm-css.
  if (document.querySelector('[data-xterm-css]')) return;
  const style = document.createElement('style');
  style.dataset.xtermCss = 'oxvm';
  style.textContent = xtermCss;
  document.head.appendChild(style);
}

export default { Linux, HttpBytesDevice, ChunkDevice, OverlayDevice, DataDevice, WebDevice, deleteStore };
