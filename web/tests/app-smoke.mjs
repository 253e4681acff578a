// Browser smoke test of the web app and the embeddable API, against a stub
// engine (tests/stub-worker.js): builds the app into a temporary directory,
// serves it (once with the cross-origin isolation headers, once without, as a
// plain static host), and drives headless Chromium with playwright-core.
//
//   node web/tests/app-smoke.mjs [--keep] [--only NAME]
//
// (--only runs the checks whose name contains NAME; those on the main page
// need the first one, "boots", to run too.)
//
// Chromium: $CHROMIUM, else /usr/bin/chromium (Debian: apt-get install chromium).
// Exits non-zero when a check fails; prints "N passed, N failed".

import { chromium } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { copyFile, mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const web = dirname(here);
const { values: opts } = parseArgs({ options: { keep: { type: 'boolean' }, only: { type: 'string' } } });

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.error(`app-smoke: no Chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM)`);
  process.exit(1);
}

// --- build ---
const out = await mkdtemp(join(tmpdir(), 'oxvm-webapp-'));
const build = spawnSync(process.execPath, [join(web, 'build.mjs'), '--out', out, '--worker', join(here, 'stub-worker.js')], { stdio: 'inherit' });
if (build.status !== 0) {
  console.error('app-smoke: the build failed');
  process.exit(1);
}
await copyFile(join(web, 'tests', 'refusing-worker.js'), join(out, 'placeholder-worker.js'));
await writeFile(join(out, 'fail-config.json'), JSON.stringify({ cmd: '/nonexistent/shell' }));
await writeFile(join(out, 'quick-config.json'), JSON.stringify({ cmd: '/bin/false-fast', args: [] }));

// --- servers ---
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm' };
function serve(isolated) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    let file = join(out, path);
    if (!file.startsWith(out)) { res.writeHead(403).end(); return; }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      const headers = { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' };
      if (isolated) {
        headers['Cross-Origin-Opener-Policy'] = 'same-origin';
        headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      }
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const isolatedServer = await serve(true);
const plainServer = await serve(false);
const isolatedUrl = `http://127.0.0.1:${isolatedServer.address().port}/`;
// Another origin (localhost, not 127.0.0.1), so its service worker and storage are separate.
const plainUrl = `http://localhost:${plainServer.address().port}/`;

const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});

// --- helpers ---
let passed = 0;
let failed = 0;
async function check(name, fn) {
  if (opts.only && !name.includes(opts.only)) return;
  const started = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}
function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

/** Opens a page and collects its errors; `errors()` lists them. */
async function open(url, contextOptions = {}) {
  const context = await browser.newContext({ acceptDownloads: true, ...contextOptions });
  const page = await context.newPage();
  const errs = [];
  page.on('pageerror', (e) => errs.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // The test's blank page (config.json) has no icon; the app's has one.
    if (m.type() === 'error' && !m.location()?.url?.endsWith('/favicon.ico')) errs.push(`console: ${m.text()} (${m.location()?.url})`);
  });
  if (url) await page.goto(url);
  return { context, page, errors: () => errs };
}
const screenText = (page) => page.evaluate(() => document.querySelector('#terminal .xterm-accessibility')?.textContent ?? '');
async function waitScreen(page, text, timeout = 10000) {
  try {
    await page.waitForFunction((t) => (document.querySelector('#terminal .xterm-accessibility')?.textContent ?? '').includes(t), text, { timeout });
  } catch {
    throw new Error(`the screen never showed ${JSON.stringify(text)}; it shows: ${JSON.stringify(await screenText(page))}`);
  }
}
async function waitState(page, state, timeout = 10000) {
  try {
    await page.waitForFunction((s) => document.body?.dataset.state === s, state, { timeout });
  } catch {
    const now = await page.evaluate(() => `${document.body?.dataset.state}: ${document.getElementById('error')?.textContent ?? ''}`);
    throw new Error(`the page never reached state ${state} (it is ${now})`);
  }
}
async function stubLog(page) {
  return page.evaluate(async () => JSON.parse(new TextDecoder().decode(await window.oxvm.linux.readFile('/stub/log'))));
}
async function typeInTerminal(page, text) {
  await page.click('#terminal');
  await page.keyboard.type(text);
}
// The store "oxvm-default" is every OPFS entry (and IndexedDB database)
// named "oxvm-default" or "oxvm-default.<part>"; "oxvm-defaultX" is another store.
const storeExists = (page, name) => page.evaluate(async (n) => {
  const root = await navigator.storage.getDirectory();
  const names = [];
  for await (const k of root.keys()) names.push(k);
  const idb = (await indexedDB.databases()).map((d) => d.name);
  const mine = (x) => x === n || x.startsWith(`${n}.`);
  if (!names.includes(`${n}X`) || !idb.includes(`${n}X`)) throw new Error('a neighbouring store was deleted too');
  return names.some(mine) || idb.some(mine);
}, name);
const storeMake = (page, name) => page.evaluate(async (n) => {
  const root = await navigator.storage.getDirectory();
  for (const d of [n, `${n}.overlay`, `${n}.cache`, `${n}X`]) {
    const dir = await root.getDirectoryHandle(d, { create: true });
    await dir.getFileHandle('data.bin', { create: true });
  }
  for (const d of [`${n}.overlay`, `${n}X`]) {
    await new Promise((ok, fail) => {
      const req = indexedDB.open(d);
      req.onupgradeneeded = () => req.result.createObjectStore('blocks');
      req.onsuccess = () => { req.result.close(); ok(); };
      req.onerror = () => fail(req.error);
    });
  }
}, name);

// --- checks ---
try {
  const main = await open(isolatedUrl);
  const { page } = main;

  await check('boots the command on a terminal with screen-reader text', async () => {
    await waitState(page, 'running');
    assert(await page.evaluate(() => crossOriginIsolated), 'crossOriginIsolated');
    await waitScreen(page, 'stub shell ready (/home/user, uid 1000)');
    await typeInTerminal(page, 'echo hi\n');
    await waitScreen(page, 'ran: echo hi');
    assert(await page.evaluate(() => !!window.oxvm?.term && !!window.oxvm?.linux), 'window.oxvm exposes linux and term');
    const boot = (await stubLog(page)).log.find((m) => m.type === 'boot');
    assert(boot.config.disk.kind === 'chunks' && boot.config.disk.url === `${isolatedUrl}images/default/manifest.json`, `boot disk ${JSON.stringify(boot.config.disk)}`);
    assert(boot.config.disk.overlay === 'oxvm-default' && boot.config.disk.cache === true, 'overlay store name, with the chunk cache');
    assert(boot.config.terminal.cols > 20 && boot.config.terminal.rows > 5, `terminal size at boot ${JSON.stringify(boot.config.terminal)}`);
    const run = (await stubLog(page)).log.find((m) => m.type === 'run');
    assert(run.path === '/bin/bash' && run.args[0] === '--login' && run.uid === 1000 && run.gid === 1000 && run.console === true, `run ${JSON.stringify(run)}`);
    assert(run.env.includes('TERM=xterm-256color'), 'env has TERM');
  });

  await check('status bar shows CPU, disk and download figures', async () => {
    await page.waitForFunction(() => document.getElementById('status').textContent.includes('3 chunks'), null, { timeout: 5000 });
    const text = await page.textContent('#status');
    assert(text.includes('384 KB') && text.includes('cached 256 KB'), `status text: ${text}`);
    assert(await page.evaluate(() => document.getElementById('cpu').classList.contains('active')), 'CPU indicator lit while the shell runs');
  });

  await check('extra keys are hidden on a desktop', async () => {
    assert(await page.isHidden('#extra-keys'), '#extra-keys hidden');
  });

  await check('a window resize reaches the guest', async () => {
    const before = await page.evaluate(() => window.oxvm.term.cols);
    await page.setViewportSize({ width: 700, height: 500 });
    await page.waitForFunction((b) => window.oxvm.term.cols !== b, before, { timeout: 5000 });
    const { cols, rows } = await page.evaluate(() => ({ cols: window.oxvm.term.cols, rows: window.oxvm.term.rows }));
    await page.waitForTimeout(100);
    const resizes = (await stubLog(page)).log.filter((m) => m.type === 'resize');
    const last = resizes[resizes.length - 1];
    assert(last && last.cols === cols && last.rows === rows, `last resize ${JSON.stringify(last)} vs terminal ${cols}x${rows}`);
  });

  await check('Ctrl+Shift+V pastes the clipboard into the guest', async () => {
    await main.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: isolatedUrl });
    await page.evaluate(() => navigator.clipboard.writeText('pasted words'));
    await page.click('#terminal');
    await page.keyboard.press('Control+Shift+V');
    await waitScreen(page, '$ pasted words');
    await page.keyboard.press('Enter');
    await waitScreen(page, 'ran: pasted words');
  });

  await check('Ctrl+Shift+C copies the selection', async () => {
    await page.evaluate(() => navigator.clipboard.writeText('nothing yet'));
    await page.click('#terminal');
    await page.evaluate(() => window.oxvm.term.selectAll());
    await page.keyboard.press('Control+Shift+C');
    await page.waitForFunction(async () => (await navigator.clipboard.readText()).includes('stub shell ready'), null, { timeout: 5000 });
    await page.evaluate(() => window.oxvm.term.clearSelection());
  });

  await check('the context menu pastes too', async () => {
    await page.evaluate(() => navigator.clipboard.writeText('menu words'));
    await page.click('#terminal', { button: 'right' });
    assert(await page.isVisible('#menu'), 'menu shown');
    await page.click('#menu [data-action="paste"]');
    assert(await page.isHidden('#menu'), 'menu hidden after use');
    await waitScreen(page, '$ menu words');
    await page.keyboard.press('Enter');
    await waitScreen(page, 'ran: menu words');
  });

  await check('dropping a file writes it into the drop directory, owned by the user', async () => {
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['hello from the test\n'], 'hello.txt', { type: 'text/plain' }));
      const target = document.getElementById('terminal');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }
    });
    await page.waitForFunction(() => document.getElementById('toasts').textContent.includes('/home/user/hello.txt'), null, { timeout: 5000 });
    const f = (await stubLog(page)).files.find((x) => x.path === '/home/user/hello.txt');
    assert(f && f.text === 'hello from the test\n' && f.uid === 1000 && f.gid === 1000 && f.mode === 0o644, `file ${JSON.stringify(f)}`);
    assert(await page.isHidden('#drop-overlay'), 'drop overlay hidden again');
  });

  await check('the drop directory field chooses where files go', async () => {
    await page.fill('#drop-dir', '/tmp');
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['x'], 'in-tmp.txt'));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => document.getElementById('toasts').textContent.includes('/tmp/in-tmp.txt'), null, { timeout: 5000 });
    await page.fill('#drop-dir', '/home/user');
  });

  await check('Download saves a file from the guest', async () => {
    page.once('dialog', (d) => d.accept('/home/user/hello.txt'));
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 5000 }), page.click('#download')]);
    assert(dl.suggestedFilename() === 'hello.txt', `name ${dl.suggestedFilename()}`);
    const text = await readFile(await dl.path(), 'utf8');
    assert(text === 'hello from the test\n', `content ${JSON.stringify(text)}`);
  });

  await check('Download packs a directory with tar', async () => {
    page.once('dialog', (d) => d.accept('/home/user/'));
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 5000 }), page.click('#download')]);
    assert(dl.suggestedFilename() === 'user.tar', `name ${dl.suggestedFilename()}`);
    const text = await readFile(await dl.path(), 'utf8');
    assert(text === 'TAR:/home:user', `content ${JSON.stringify(text)}`);
    await page.waitForTimeout(100);
    const { log, files } = await stubLog(page);
    const tar = log.find((m) => m.type === 'run' && m.path === '/bin/tar');
    assert(tar.console === false && tar.args.join(' ') === '-cf /tmp/.oxvm-download.tar -C /home user', `tar run ${JSON.stringify(tar)}`);
    assert(!files.some((f) => f.path === '/tmp/.oxvm-download.tar'), 'temporary tar removed');
  });

  await check('the command is restarted when it exits', async () => {
    await typeInTerminal(page, 'exit 3\n');
    await waitScreen(page, '[process exited with status 3; restarting]');
    await page.waitForFunction(() => (document.querySelector('#terminal .xterm-accessibility').textContent.match(/stub shell ready/g) ?? []).length >= 2, null, { timeout: 5000 });
    assert(await page.isHidden('#banner'), 'no recovery banner after a normal exit');
  });

  await check('Reset disk asks, tells the engine, deletes the store and reloads', async () => {
    await storeMake(page, 'oxvm-default');
    await page.evaluate(() => {
      const w = window.oxvm.linux._worker;
      const post = w.postMessage.bind(w);
      w.postMessage = (m, t) => { if (m.type === 'resetDisk') sessionStorage.setItem('test-saw-reset', '1'); return post(m, t); };
    });
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); d.accept(); });
    await Promise.all([page.waitForNavigation({ timeout: 10000 }), page.click('#reset-disk')]);
    assert(asked.includes('Reset the disk'), `confirm text ${asked}`);
    await waitState(page, 'running');
    assert(await page.evaluate(() => sessionStorage.getItem('test-saw-reset')) === '1', 'resetDisk sent to the engine');
    assert(!(await storeExists(page, 'oxvm-default')), 'the store is gone (OPFS and IndexedDB)');
  });

  await check('Reset disk does nothing when the dialog is dismissed', async () => {
    await storeMake(page, 'oxvm-default');
    page.once('dialog', (d) => d.dismiss());
    await page.click('#reset-disk');
    await page.waitForTimeout(300);
    assert(await storeExists(page, 'oxvm-default'), 'the store is still there');
    assert(await page.evaluate(() => document.body.dataset.state) === 'running', 'still running');
  });

  await check('?reset=1 resets the disk before booting', async () => {
    await storeMake(page, 'oxvm-default');
    await page.goto(`${isolatedUrl}?reset=1`);
    await waitState(page, 'running');
    assert(!(await storeExists(page, 'oxvm-default')), 'the store is gone (OPFS and IndexedDB)');
    assert(!page.url().includes('reset=1'), `the parameter is dropped: ${page.url()}`);
  });

  await check('no errors on the page', async () => {
    assert(main.errors().length === 0, main.errors().join('\n'));
  });
  await main.context.close();

  await check('a command that cannot start offers Reset disk', async () => {
    const { page: p, context } = await open(`${isolatedUrl}?config=fail-config.json`);
    await p.waitForSelector('#banner:not([hidden])', { timeout: 10000 });
    assert((await p.textContent('#banner-text')).includes('/nonexistent/shell'), 'banner names the command');
    await waitScreen(p, 'No such file or directory');
    await context.close();
  });

  await check('a command that exits at once twice offers Reset disk', async () => {
    const { page: p, context } = await open(`${isolatedUrl}?config=quick-config.json`);
    await p.waitForSelector('#banner:not([hidden])', { timeout: 10000 });
    const runs = (await p.evaluate(async () => JSON.parse(new TextDecoder().decode(await window.oxvm.linux.readFile('/stub/log'))))).log.filter((m) => m.type === 'run');
    assert(runs.length === 2, `ran ${runs.length} times before asking`);
    // "Try again" runs it again.
    await p.click('#banner-retry');
    await p.waitForSelector('#banner:not([hidden])', { timeout: 10000 });
    await context.close();
  });

  await check('a missing configuration is a clear error', async () => {
    const { page: p, context } = await open(`${isolatedUrl}?config=nope.json`);
    await waitState(p, 'error');
    assert((await p.textContent('#error')).includes('nope.json'), 'error names the file');
    await context.close();
  });

  await check('touch devices get the extra keys, with sticky Ctrl and arrows', async () => {
    const { page: p, context, errors } = await open(isolatedUrl, { hasTouch: true, isMobile: true, viewport: { width: 390, height: 700 } });
    await waitState(p, 'running');
    assert(await p.isVisible('#extra-keys'), '#extra-keys visible');
    await p.click('#extra-keys [data-key="esc"]');
    await p.click('#extra-keys [data-key="ctrl"]');
    assert(await p.getAttribute('#extra-keys [data-key="ctrl"]', 'aria-pressed') === 'true', 'Ctrl shows as pressed');
    await p.keyboard.type('c');
    await p.click('#extra-keys [data-key="up"]');
    await p.click('#extra-keys [data-key="tab"]');
    await p.waitForTimeout(100);
    const inputs = (await stubLog(p)).log.filter((m) => m.type === 'input').map((m) => String.fromCharCode(...m.data));
    assert(JSON.stringify(inputs) === JSON.stringify(['\x1b', '\x03', '\x1b[A', '\t']), `inputs ${JSON.stringify(inputs)}`);
    assert(errors().length === 0, errors().join('\n'));
    await context.close();
  });

  await check('the API: mounts are checked, DataDevice files and setConsole work', async () => {
    const { page: p, context, errors } = await open(`${isolatedUrl}config.json`);
    await p.setContent('<div id="t" style="width:600px;height:300px"></div>');
    const r = await p.evaluate(async (base) => {
      const m = await import(`${base}oxvm.js`);
      const root = await m.ChunkDevice.create(`${base}images/x/manifest.json`);
      const res = {};
      const fails = async (f) => { try { await f(); return 'no error'; } catch (e) { return e.message; } };
      res.proc = await fails(() => m.Linux.create({ mounts: [{ type: 'ext2', path: '/', dev: root }, { type: 'proc', path: '/myproc' }] }));
      res.first = await fails(() => m.Linux.create({ mounts: [{ type: 'proc', path: '/proc' }] }));
      res.web = (await m.WebDevice.create('x/')).url;
      res.webBad = await fails(() => m.WebDevice.create(42));
      res.overlayOnOverlay = await fails(async () => m.OverlayDevice.create(await m.OverlayDevice.create(root, 'a'), 'b'));
      res.memory = await fails(() => m.Linux.create({ mounts: [{ type: 'ext2', path: '/', dev: root }], memory: '1G' }));
      res.placeholder = await fails(() => m.Linux.create({ mounts: [{ type: 'ext2', path: '/', dev: root }], workerUrl: `${base}placeholder-worker.js` }));
      res.noWorker = await fails(() => m.Linux.create({ mounts: [{ type: 'ext2', path: '/', dev: root }], workerUrl: `${base}missing-worker.js` }));
      const data = await m.DataDevice.create();
      await data.writeFile('greeting.txt', 'hi there');
      const linux = await m.Linux.create({
        mounts: [
          { type: 'ext2', path: '/', dev: await m.OverlayDevice.create(root, 'api-test') },
          { type: 'dir', path: '/data', dev: data },
          { type: 'devs', path: '/dev' }, { type: 'proc', path: '/proc' },
        ],
        workerUrl: `${base}worker.js`,
        memory: 512,
      });
      const cpu = [];
      linux.registerCallback('cpuActivity', (s) => cpu.push(s));
      const procs = [];
      linux.registerCallback('processCreated', (x) => procs.push(x));
      const latency = [];
      linux.registerCallback('diskLatency', (ms) => latency.push(ms));
      const term = linux.setConsole(document.getElementById('t'));
      const shell = linux.run('/bin/sh', [], { cwd: '/data', uid: 5, gid: 6 });
      for (let i = 0; i < 100 && !res.screen?.includes('stub shell'); i++) {
        await new Promise((ok) => setTimeout(ok, 50));
        res.screen = document.querySelector('#t .xterm-accessibility')?.textContent ?? '';
      }
      res.buffer = term.buffer.active.getLine(0)?.translateToString(true);
      linux.input('exit 7\r');
      res.status = (await shell).status;
      res.notFound = await linux.run('/no/such', []);
      res.tarStatus = (await linux.run('/bin/tar', ['-cf', '/tmp/x.tar', '-C', '/', 'etc'], { console: false })).status;
      await data.writeFile('late.txt', 'later');
      const log = JSON.parse(new TextDecoder().decode(await linux.readFile('/stub/log')));
      res.boot = log.log.find((x) => x.type === 'boot').config;
      res.late = log.files.find((f) => f.path === '/data/late.txt')?.text;
      res.cpu = cpu;
      res.procs = procs;
      res.latency = latency;
      await linux.sync();
      linux.terminate();
      res.afterTerminate = await fails(() => linux.readFile('/etc/hostname'));
      return res;
    }, isolatedUrl);
    assert(r.proc.includes('/proc') && r.proc.includes('/myproc'), `proc error: ${r.proc}`);
    assert(r.first.includes('first mount'), `first mount error: ${r.first}`);
    assert(r.web === new URL('x/', isolatedUrl).href, `WebDevice url: ${r.web}`);
    assert(r.webBad.includes('WebDevice'), `WebDevice with a bad url: ${r.webBad}`);
    assert(r.overlayOnOverlay !== 'no error', 'overlay over overlay refused');
    assert(r.placeholder.includes('engine is not built'), `placeholder engine: ${r.placeholder}`);
    assert(r.noWorker.includes('engine worker failed'), `missing worker: ${r.noWorker}`);
    assert(r.screen.includes('stub shell ready (/data, uid 5)'), `setConsole screen: ${JSON.stringify(r.screen)} buffer ${JSON.stringify(r.buffer)}`);
    assert(r.status === 7, `status ${r.status}`);
    assert(r.notFound.status === 127 && /No such file/.test(r.notFound.error), `not found ${JSON.stringify(r.notFound)}`);
    assert(r.tarStatus === 0, 'console:false run');
    assert(r.boot.disk.overlay === 'api-test' && r.boot.disk.kind === 'chunks', `boot disk ${JSON.stringify(r.boot.disk)}`);
    assert(r.boot.wasm === 'oxvm.wasm' && r.boot.memory === 512, `wasm URL and memory: ${r.boot.wasm} ${r.boot.memory}`);
    assert(r.memory.includes('MiB'), `memory check: ${r.memory}`);
    assert(JSON.stringify(r.boot.mounts) === JSON.stringify([{ type: 'dir', path: '/data', files: [{ path: 'greeting.txt', data: 'hi there', mode: 0o644 }] }]), `boot mounts ${JSON.stringify(r.boot.mounts)}`);
    assert(r.late === 'later', 'DataDevice.writeFile after boot reaches the VM');
    assert(r.cpu[0] === 'wait', `cpuActivity ${JSON.stringify(r.cpu)}`);
    assert(r.procs.some((x) => x.name === 'tar'), `processCreated ${JSON.stringify(r.procs)}`);
    assert(r.latency[0] === 12, `diskLatency ${JSON.stringify(r.latency)}`);
    assert(r.afterTerminate.includes('stopped'), `after terminate: ${r.afterTerminate}`);
    assert(await p.evaluate(() => !!document.querySelector('style[data-xterm-css]')), 'xterm.css injected');
    assert(errors().length === 0, errors().join('\n'));
    await context.close();
  });

  await check('deleteStore says when the store is in use, and deletes it once free', async () => {
    const { page: p, context, errors } = await open(`${isolatedUrl}config.json`);
    const r = await p.evaluate(async (base) => {
      const m = await import(`${base}oxvm.js`);
      // Another "tab": a worker holding a file of the store open.
      const src = `onmessage = async () => {
        const root = await navigator.storage.getDirectory();
        const dir = await root.getDirectoryHandle('busy-store.overlay', { create: true });
        const file = await dir.getFileHandle('overlay.bin', { create: true });
        self.handle = await file.createSyncAccessHandle();
        postMessage('holding');
      };`;
      const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
      await new Promise((ok) => { w.onmessage = ok; w.postMessage('go'); });
      const res = {};
      try { await m.deleteStore('busy-store'); res.busy = 'no error'; } catch (e) { res.busy = e.message; }
      w.terminate();
      try { await m.deleteStore('busy-store'); res.free = 'ok'; } catch (e) { res.free = e.message; }
      const root = await navigator.storage.getDirectory();
      res.gone = await root.getDirectoryHandle('busy-store.overlay').then(() => false, () => true);
      return res;
    }, isolatedUrl);
    assert(r.busy.includes('in use'), `busy: ${r.busy}`);
    assert(r.free === 'ok' && r.gone, `after the worker ended: ${JSON.stringify(r)}`);
    assert(errors().length === 0, errors().join('\n'));
    await context.close();
  });

  await check('the API refuses to start on a page that is not isolated', async () => {
    const { page: p, context } = await open(`${plainUrl}config.json`);
    const msg = await p.evaluate(async (base) => {
      const m = await import(`${base}oxvm.js`);
      try {
        await m.Linux.create({ mounts: [{ type: 'ext2', path: '/', dev: await m.ChunkDevice.create('x.json') }] });
        return 'no error';
      } catch (e) { return e.message; }
    }, plainUrl);
    assert(msg.includes('cross-origin isolated') && msg.includes('require-corp'), `message: ${msg}`);
    await context.close();
  });

  // The project's own server, when it is built: it must send what the page needs.
  const oxvmBin = process.env.OXVM_BIN || join(web, '..', 'target', 'release', 'oxvm');
  if (existsSync(oxvmBin) && !opts.only) {
    await check('`oxvm serve` serves the app isolated', async () => {
      const port = 20000 + (process.pid % 20000);
      const server = spawn(oxvmBin, ['serve', '--dir', out, '--port', String(port)], { stdio: 'ignore' });
      try {
        const url = `http://127.0.0.1:${port}/`;
        for (let i = 0; i < 50; i++) {
          try { await fetch(url); break; } catch { await new Promise((ok) => setTimeout(ok, 100)); }
        }
        const { page: p, context, errors } = await open(url);
        await waitState(p, 'running');
        assert(await p.evaluate(() => crossOriginIsolated && !navigator.serviceWorker.controller), 'isolated by the headers alone');
        await waitScreen(p, 'stub shell ready');
        assert(errors().length === 0, errors().join('\n'));
        await context.close();
      } finally {
        server.kill();
      }
    });
  } else {
    console.log(`skip \`oxvm serve\` check (no ${oxvmBin})`);
  }

  await check('on a host without the headers, the service worker isolates the page', async () => {
    const { page: p, context, errors } = await open(plainUrl);
    await waitState(p, 'running', 20000);
    assert(await p.evaluate(() => crossOriginIsolated), 'crossOriginIsolated after the reload');
    assert(await p.evaluate(() => !!navigator.serviceWorker.controller), 'the service worker controls the page');
    await waitScreen(p, 'stub shell ready');
    assert(errors().length === 0, errors().join('\n'));
    await context.close();
  });
} finally {
  await browser.close();
  isolatedServer.close();
  plainServer.close();
  if (!opts.keep) await rm(out, { recursive: true, force: true });
  else console.log(`kept the build in ${out}`);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
