// The browser's I/O side (runs in the I/O worker): fetches with fetch(),
// all of a batch in flight together, and the persistent stores of the
// chunk cache and the copy-on-write overlay in the Origin Private File
// System (a directory per store, files through synchronous access handles,
// which only a dedicated worker may hold), or in IndexedDB where OPFS is
// missing (older Safari, some private modes).

import { fetchBatch, httpFetch, json } from './bridge.js';

const EMPTY = new Uint8Array(0);

function checkName(kind, name) {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`bad ${kind} name ${JSON.stringify(name)}`);
}

// OPFS: store = directory, file = file with one sync access handle shared
// by every open of it (a file may have only one at a time).
export class OpfsBackend {
  static async open() {
    if (!navigator.storage?.getDirectory) return null;
    const root = await navigator.storage.getDirectory();
    if (typeof FileSystemFileHandle === 'undefined' || !('createSyncAccessHandle' in FileSystemFileHandle.prototype)) return null;
    return new OpfsBackend(root);
  }

  constructor(root) {
    this.root = root;
    this.files = new Map(); // "store/name" -> {ah, refs}
  }

  async dir(store, create) {
    checkName('store', store);
    try {
      return await this.root.getDirectoryHandle(store, { create });
    } catch (e) {
      if (e.name === 'NotFoundError' && !create) return null;
      throw e;
    }
  }

  async open(store, name, create) {
    checkName('store file', name);
    const key = `${store}/${name}`;
    const have = this.files.get(key);
    if (have) {
      have.refs++;
      return have.ah;
    }
    const dir = await this.dir(store, create);
    if (!dir) return null;
    let fh;
    try {
      fh = await dir.getFileHandle(name, { create });
    } catch (e) {
      if (e.name === 'NotFoundError' && !create) return null;
      throw e;
    }
    const ah = await fh.createSyncAccessHandle();
    this.files.set(key, { ah, refs: 1, key });
    return ah;
  }

  close(store, name) {
    const key = `${store}/${name}`;
    const f = this.files.get(key);
    if (f && --f.refs === 0) {
      f.ah.close();
      this.files.delete(key);
    }
  }

  async list(store) {
    const dir = await this.dir(store, false);
    const names = [];
    if (dir) for await (const name of dir.keys()) names.push(name);
    return names;
  }

  #closeAll(prefix) {
    for (const [key, f] of this.files) {
      if (key.startsWith(prefix)) {
        f.ah.close();
        this.files.delete(key);
      }
    }
  }

  async remove(store, name) {
    checkName('store file', name);
    this.#closeAll(`${store}/${name}`);
    const dir = await this.dir(store, false);
    if (!dir) return;
    try {
      await dir.removeEntry(name);
    } catch (e) {
      if (e.name !== 'NotFoundError') throw e;
    }
  }

  async dropPrefix(prefix) {
    const names = [];
    for await (const name of this.root.keys()) if (name.startsWith(prefix)) names.push(name);
    for (const name of names) {
      this.#closeAll(`${name}/`);
      await this.root.removeEntry(name, { recursive: true });
    }
  }

  read(ah, off, len) {
    const buf = new Uint8Array(len);
    const n = ah.read(buf, { at: off });
    return buf.subarray(0, n);
  }

  write(ah, off, data) {
    let put = 0;
    while (put < data.length) put += ah.write(data.subarray(put), { at: off + put });
  }

  len(ah) {
    return ah.getSize();
  }

  setLen(ah, len) {
    ah.truncate(len);
  }

  sync(ah) {
    ah.flush();
  }
}

// IndexedDB: a database per store; a file is its length plus 64 KiB pages.
// Writes stay in memory until sync, which writes the dirty pages and the
// length in one transaction: a sync is atomic. Pages read are kept in
// memory up to a bound per file; past it the least recently used clean
// ones go (dirty pages stay until the next sync).
const PAGE = 65536;
const KEEP_PAGES = 1024; // 64 MiB per open file

function idb(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

class IdbFile {
  constructor(db, name, len) {
    this.db = db;
    this.name = name;
    this.size = len;
    this.pages = new Map();
    this.dirty = new Set();
    this.refs = 1;
  }

  async page(i) {
    let p = this.pages.get(i);
    if (p) {
      // Most recently used last (a Map keeps insertion order).
      this.pages.delete(i);
      this.pages.set(i, p);
      return p;
    }
    p = new Uint8Array(PAGE);
    // Pages past a truncation not yet synced are zeros, whatever the
    // database still holds of them.
    if (this.truncatedFrom === undefined || i < this.truncatedFrom) {
      const tx = this.db.transaction('pages', 'readonly');
      const stored = await idb(tx.objectStore('pages').get([this.name, i]));
      if (stored) p.set(new Uint8Array(stored));
    }
    this.pages.set(i, p);
    this.#evict();
    return p;
  }

  #evict() {
    if (this.pages.size <= KEEP_PAGES) return;
    for (const k of this.pages.keys()) {
      if (this.pages.size <= KEEP_PAGES) break;
      if (!this.dirty.has(k)) this.pages.delete(k);
    }
  }
}

export class IdbBackend {
  constructor() {
    this.dbs = new Map();
    this.files = new Map();
  }

  async db(store) {
    checkName('store', store);
    let db = this.dbs.get(store);
    if (!db) {
      const req = indexedDB.open(`oxvm:${store}`, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore('pages');
        req.result.createObjectStore('files');
      };
      db = await idb(req);
      // Someone deletes the store (reset disk from the page, or another
      // backend): let go at once, or the deletion waits for this
      // connection forever.
      db.onversionchange = () => {
        db.close();
        if (this.dbs.get(store) === db) this.dbs.delete(store);
      };
      this.dbs.set(store, db);
    }
    return db;
  }

  async open(store, name, create) {
    checkName('store file', name);
    const key = `${store}/${name}`;
    const have = this.files.get(key);
    if (have) {
      have.refs++;
      return have;
    }
    const db = await this.db(store);
    let meta = await idb(db.transaction('files', 'readonly').objectStore('files').get(name));
    if (meta === undefined) {
      if (!create) return null;
      meta = { len: 0 };
      await idb(db.transaction('files', 'readwrite').objectStore('files').put(meta, name));
    }
    const f = new IdbFile(db, name, meta.len);
    this.files.set(key, f);
    return f;
  }

  close(store, name) {
    const key = `${store}/${name}`;
    const f = this.files.get(key);
    if (f && --f.refs === 0) this.files.delete(key);
  }

  async list(store) {
    const db = await this.db(store);
    return (await idb(db.transaction('files', 'readonly').objectStore('files').getAllKeys())).map(String);
  }

  async remove(store, name) {
    this.files.delete(`${store}/${name}`);
    const db = await this.db(store);
    const tx = db.transaction(['files', 'pages'], 'readwrite');
    tx.objectStore('files').delete(name);
    tx.objectStore('pages').delete(IDBKeyRange.bound([name, 0], [name, Infinity]));
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
  }

  async dropPrefix(prefix) {
    const all = indexedDB.databases ? await indexedDB.databases() : [];
    for (const { name } of all) {
      if (!name || !name.startsWith(`oxvm:${prefix}`)) continue;
      const store = name.slice(5);
      this.dbs.get(store)?.close();
      this.dbs.delete(store);
      for (const key of [...this.files.keys()]) if (key.startsWith(`${store}/`)) this.files.delete(key);
      await idb(indexedDB.deleteDatabase(name));
    }
  }

  async read(f, off, len) {
    const end = Math.min(off + len, f.size);
    if (end <= off) return EMPTY;
    const out = new Uint8Array(end - off);
    for (let at = off; at < end; ) {
      const i = Math.floor(at / PAGE);
      const o = at - i * PAGE;
      const n = Math.min(PAGE - o, end - at);
      out.set((await f.page(i)).subarray(o, o + n), at - off);
      at += n;
    }
    return out;
  }

  async write(f, off, data) {
    for (let put = 0; put < data.length; ) {
      const at = off + put;
      const i = Math.floor(at / PAGE);
      const o = at - i * PAGE;
      const n = Math.min(PAGE - o, data.length - put);
      (await f.page(i)).set(data.subarray(put, put + n), o);
      f.dirty.add(i);
      put += n;
    }
    f.size = Math.max(f.size, off + data.length);
  }

  len(f) {
    return f.size;
  }

  async setLen(f, len) {
    if (len < f.size) {
      // Zero the tail of the last page kept, so growing again reads zeros.
      const i = Math.floor(len / PAGE);
      if (len % PAGE) {
        (await f.page(i)).fill(0, len % PAGE);
        f.dirty.add(i);
      }
      for (const p of [...f.pages.keys()]) {
        if (p * PAGE >= len) {
          f.pages.delete(p);
          f.dirty.delete(p);
        }
      }
      f.truncatedFrom = Math.min(f.truncatedFrom ?? Infinity, Math.ceil(len / PAGE));
    }
    f.size = len;
  }

  async sync(f) {
    const tx = f.db.transaction(['files', 'pages'], 'readwrite');
    const pages = tx.objectStore('pages');
    if (f.truncatedFrom !== undefined) {
      pages.delete(IDBKeyRange.bound([f.name, f.truncatedFrom], [f.name, Infinity]));
      f.truncatedFrom = undefined;
    }
    for (const i of f.dirty) pages.put(f.pages.get(i).slice(), [f.name, i]);
    tx.objectStore('files').put({ len: f.size }, f.name);
    f.dirty.clear();
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error('the IndexedDB transaction was aborted'));
    });
  }
}

// storage: "indexeddb" forces the fallback (for tests, and for pages that
// want it); otherwise OPFS where the browser has it.
export async function browserIo({ storage } = {}) {
  let backend = null;
  try {
    if (storage !== 'indexeddb') backend = await OpfsBackend.open();
  } catch {
    backend = null;
  }
  const kind = backend ? 'opfs' : 'indexeddb';
  backend ??= new IdbBackend();
  const handles = new Map();
  let next = 1;
  const h = (id) => {
    const f = handles.get(id);
    if (!f) throw new Error(`no open store file ${id}`);
    return f;
  };
  const handler = async (req, data) => {
    switch (req.op) {
      case 'fetch':
        return fetchBatch(req.reqs, httpFetch);
      case 'store.open': {
        const file = await backend.open(req.store, req.name, req.create);
        if (!file) return json({ handle: null });
        const id = next++;
        handles.set(id, { file, store: req.store, name: req.name });
        return json({ handle: id });
      }
      case 'store.list':
        return json(await backend.list(req.store));
      case 'store.remove':
        for (const [id, f] of handles) if (f.store === req.store && f.name === req.name) handles.delete(id);
        await backend.remove(req.store, req.name);
        return EMPTY;
      case 'store.dropPrefix':
        for (const [id, f] of handles) if (f.store.startsWith(req.prefix)) handles.delete(id);
        await backend.dropPrefix(req.prefix);
        return EMPTY;
      case 'store.read':
        return backend.read(h(req.h).file, req.off, req.len);
      case 'store.write':
        await backend.write(h(req.h).file, req.off, data || EMPTY);
        return EMPTY;
      case 'store.len':
        return json(backend.len(h(req.h).file));
      case 'store.setLen':
        await backend.setLen(h(req.h).file, req.len);
        return EMPTY;
      case 'store.sync':
        await backend.sync(h(req.h).file);
        return EMPTY;
      case 'store.close': {
        const f = handles.get(req.h);
        if (f) {
          handles.delete(req.h);
          backend.close(f.store, f.name);
        }
        return EMPTY;
      }
      case 'usage': {
        const est = navigator.storage?.estimate ? await navigator.storage.estimate() : {};
        return json({ bytes: est.usage ?? 0, backend: kind });
      }
      default:
        throw new Error(`unknown I/O operation ${req.op}`);
    }
  };
  return { handler, kind };
}
