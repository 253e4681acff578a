// The Node host's I/O side: fetches (http(s) with fetch(), file:// from the
// disk with ranges, as a static server would answer) and the persistent
// stores as directories under `root`.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchBatch, httpFetch, json } from '../src/engine/bridge.js';

function fileFetch(r) {
  const file = fileURLToPath(r.url);
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if (e.code === 'ENOENT') return { status: 404, contentRange: null, validator: null, body: new Uint8Array(0) };
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    const validator = `"${st.size}-${st.mtimeMs}"`;
    let start = 0;
    let end = st.size;
    let status = 200;
    let contentRange = null;
    if (r.start !== undefined) {
      if (r.start >= st.size) return { status: 416, contentRange: `bytes */${st.size}`, validator, body: new Uint8Array(0) };
      start = r.start;
      end = Math.min(r.end, st.size);
      status = 206;
      contentRange = `bytes ${start}-${end - 1}/${st.size}`;
    }
    const body = new Uint8Array(end - start);
    let got = 0;
    while (got < body.length) {
      const n = fs.readSync(fd, body, got, body.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return { status, contentRange, validator, body: body.subarray(0, got) };
  } finally {
    fs.closeSync(fd);
  }
}

export function nodeIo(root) {
  const handles = new Map();
  let next = 1;
  const storeDir = (name) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`bad store name ${JSON.stringify(name)}`);
    return path.join(root, name);
  };
  const fileIn = (store, name) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`bad store file name ${JSON.stringify(name)}`);
    return path.join(storeDir(store), name);
  };
  const h = (id) => {
    const fd = handles.get(id);
    if (fd === undefined) throw new Error(`no open store file ${id}`);
    return fd;
  };
  return async (req, data) => {
    switch (req.op) {
      case 'fetch':
        return fetchBatch(req.reqs, (r) => (r.url.startsWith('file:') ? fileFetch(r) : httpFetch(r)));
      case 'store.open': {
        const file = fileIn(req.store, req.name);
        if (req.create) fs.mkdirSync(path.dirname(file), { recursive: true });
        let fd;
        try {
          fd = fs.openSync(file, req.create ? fs.constants.O_RDWR | fs.constants.O_CREAT : 'r+');
        } catch (e) {
          if (e.code === 'ENOENT' && !req.create) return json({ handle: null });
          throw e;
        }
        const id = next++;
        handles.set(id, fd);
        return json({ handle: id });
      }
      case 'store.list': {
        try {
          return json(fs.readdirSync(storeDir(req.store)));
        } catch (e) {
          if (e.code === 'ENOENT') return json([]);
          throw e;
        }
      }
      case 'store.remove':
        fs.rmSync(fileIn(req.store, req.name), { force: true });
        return new Uint8Array(0);
      case 'store.dropPrefix':
        for (const name of fs.existsSync(root) ? fs.readdirSync(root) : []) {
          if (name.startsWith(req.prefix)) fs.rmSync(path.join(root, name), { recursive: true, force: true });
        }
        return new Uint8Array(0);
      case 'store.read': {
        const buf = new Uint8Array(req.len);
        let got = 0;
        while (got < buf.length) {
          const n = fs.readSync(h(req.h), buf, got, buf.length - got, req.off + got);
          if (n === 0) break;
          got += n;
        }
        return buf.subarray(0, got);
      }
      case 'store.write': {
        const bytes = data || new Uint8Array(0);
        let put = 0;
        while (put < bytes.length) put += fs.writeSync(h(req.h), bytes, put, bytes.length - put, req.off + put);
        return new Uint8Array(0);
      }
      case 'store.len':
        return json(fs.fstatSync(h(req.h)).size);
      case 'store.setLen':
        fs.ftruncateSync(h(req.h), req.len);
        return new Uint8Array(0);
      case 'store.sync':
        fs.fsyncSync(h(req.h));
        return new Uint8Array(0);
      case 'store.close':
        fs.closeSync(h(req.h));
        handles.delete(req.h);
        return new Uint8Array(0);
      case 'usage': {
        const size = (p) => {
          const st = fs.statSync(p, { throwIfNoEntry: false });
          if (!st) return 0;
          return st.isDirectory() ? fs.readdirSync(p).reduce((n, e) => n + size(path.join(p, e)), 0) : st.size;
        };
        return json({ bytes: size(root), backend: 'files' });
      }
      default:
        throw new Error(`unknown I/O operation ${req.op}`);
    }
  };
}
