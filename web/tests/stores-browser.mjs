#!/usr/bin/env node
// The browser's persistent stores (io-browser.js: OPFS and the IndexedDB
// fallback) against a model, in headless Chromium: random writes, reads,
// truncations and syncs on a few files, then a fresh backend (as after a
// reload) must read back exactly what the model holds at the last sync.
// Both backends hold the overlay's crash consistency on their sync.
//
//   node web/tests/stores-browser.mjs [--chromium PATH] [--seed N]
//
// Exits non-zero on any difference.

import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const executablePath = opt('--chromium', process.env.CHROMIUM || '/usr/bin/chromium');
const seed = Number(opt('--seed', '7'));
const steps = Number(opt('--steps', '400'));

const engineDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'engine');
const server = createServer((req, res) => {
  const name = new URL(req.url, 'http://x').pathname.slice(1);
  if (name === '') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>stores</title>');
    return;
  }
  if (!/^[a-z-]+\.js$/.test(name)) {
    res.writeHead(404);
    res.end();
    return;
  }
  try {
    const body = readFileSync(join(engineDir, name));
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;

// A profile on disk, as a real browser has (the stores are persistent).
const profile = mkdtempSync(join(tmpdir(), 'oxvm-stores-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
let failed = 0;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`pageerror: ${e.message}`));
  await page.goto(base);
  page.on('crash', () => console.log('the page crashed'));
  for (const kind of (process.env.KINDS || 'opfs,indexeddb').split(',')) {
    const r = await page.evaluate(async ({ base, kind, seed, steps }) => {
      // The stores live in dedicated workers in the app (OPFS's sync
      // handles exist only there): run the check in one.
      const src = `
        import { OpfsBackend, IdbBackend } from '${base}io-browser.js';
        self.onmessage = async ({ data }) => {
          // run() answers 'ok' or what went wrong; a throw is an error too.
          try {
            self.postMessage(await run(data));
          } catch (e) {
            self.postMessage('error: ' + (e && e.stack || e));
          }
        };
        async function run({ kind, seed, steps: STEPS }) {
          {
            const make = async () => (kind === 'opfs' ? await OpfsBackend.open() : new IdbBackend());
            let rng = seed >>> 0;
            const rand = (n) => { rng = (rng * 1103515245 + 12345) >>> 0; return rng % n; };
            const store = 'stores-test-' + kind;
            let be = await make();
            await be.dropPrefix(store);
            const names = ['a', 'b', 'c'];
            const model = new Map(names.map((n) => [n, new Uint8Array(0)]));
            let synced = new Map();
            const open = new Map();
            for (const n of names) open.set(n, await be.open(store, n, true));
            const PAGE = 65536;
            // A fixed case first: data synced, the file cut short, then
            // written again further on; the gap must read as zeros, not
            // as what the cut removed.
            {
              const f = await be.open(store, 'cut', true);
              await be.write(f, 0, new Uint8Array(2 * PAGE).fill(7));
              await be.sync(f);
              await be.setLen(f, 10);
              await be.write(f, PAGE + 100, new Uint8Array([1]));
              const got = await be.read(f, 0, PAGE + 101);
              const bad = got.findIndex((b, i) => b !== (i < 10 ? 7 : i === PAGE + 100 ? 1 : 0));
              if (got.length !== PAGE + 101 || bad >= 0) return 'a cut file written again reads old bytes at ' + bad;
              await be.sync(f);
              be.close(store, 'cut');
              await be.remove(store, 'cut');
            }
            for (let step = 0; step < STEPS; step++) {
              const n = names[rand(names.length)];
              const f = open.get(n);
              const m = model.get(n);
              const op = rand(10);
              if (op < 5) {
                // Offsets near page edges and past the end (holes).
                const off = rand(6) * PAGE + rand(3) * (PAGE - 3) + rand(7);
                const len = 1 + rand(3 * PAGE / 2);
                const data = new Uint8Array(len).map(() => rand(256));
                await be.write(f, off, data);
                const grown = new Uint8Array(Math.max(m.length, off + len));
                grown.set(m);
                grown.set(data, off);
                model.set(n, grown);
              } else if (op < 7) {
                const len = rand(m.length + 1);
                await be.setLen(f, len);
                const t = new Uint8Array(len);
                t.set(m.subarray(0, len));
                model.set(n, t);
              } else if (op < 9) {
                const off = rand(m.length + 10);
                const len = rand(2 * PAGE);
                const got = await be.read(f, off, len);
                const want = m.subarray(Math.min(off, m.length), Math.min(off + len, m.length));
                if (got.length !== want.length || got.some((b, i) => b !== want[i])) {
                  return 'step ' + step + ': read of ' + n + ' at ' + off + '+' + len + ' differs (' + got.length + ' vs ' + want.length + ' bytes)';
                }
                if ((await be.len(f)) !== m.length) return 'step ' + step + ': length of ' + n + ' differs';
              } else {
                for (const [k, h] of open) await be.sync(h);
                synced = new Map([...model].map(([k, v]) => [k, v.slice()]));
              }
            }
            for (const [k, h] of open) await be.sync(h);
            synced = new Map([...model].map(([k, v]) => [k, v.slice()]));
            for (const n of names) be.close(store, n);
            // A fresh backend, as after a reload.
            be = await make();
            for (const n of names) {
              const f = await be.open(store, n, false);
              if (!f) return 'after reopening, ' + n + ' is missing';
              const want = synced.get(n);
              if ((await be.len(f)) !== want.length) return 'after reopening, ' + n + ' has ' + (await be.len(f)) + ' bytes, not ' + want.length;
              const got = await be.read(f, 0, want.length);
              const at = got.findIndex((b, i) => b !== want[i]);
              if (got.length !== want.length || at >= 0) return 'after reopening, ' + n + ' differs at byte ' + at;
              be.close(store, n);
            }
            const listed = (await be.list(store)).sort().join(',');
            if (listed !== 'a,b,c') return 'the store lists ' + listed;
            await be.remove(store, 'b');
            if (await be.open(store, 'b', false)) return 'a removed file can still be opened';
            await be.dropPrefix(store);
            if ((await be.list(store)).length) return 'dropPrefix left files';
            return 'ok';
          }
        }`;
      const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
      const w = new Worker(url, { type: 'module' });
      const out = await new Promise((resolve) => {
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => resolve('worker error: ' + e.message);
        setTimeout(() => resolve('no answer within 60 s'), 60000);
        w.postMessage({ kind, seed, steps });
      });
      w.terminate();
      return out;
    }, { base, kind, seed, steps });
    const ok = r === 'ok';
    if (!ok) failed++;
    console.log(`${ok ? 'PASS' : 'FAIL'}  ${kind} store: 400 random operations against a model, then a fresh backend reads what was synced${ok ? '' : `: ${r}`}`);
  }
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`stores: ${failed ? `${failed} failed` : 'all passed'}`);
process.exit(failed ? 1 : 0);
