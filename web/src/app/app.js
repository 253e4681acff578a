// oxvm's web app: a full-window terminal running the configured command
// (bash by default) in the VM, restarted when it exits; a status bar; disk
// reset; files in (drag and drop) and out (Download); extra keys on touch
// devices. It uses only the public API in ../api/linux.js.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import '@xterm/xterm/css/xterm.css';
import './style.css';
import { Linux, ChunkDevice, HttpBytesDevice, OverlayDevice, deleteStore } from '../api/linux.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const coarse = matchMedia('(pointer: coarse)');

const DEFAULTS = {
  image: { kind: 'chunks', url: 'images/default/manifest.json' },
  overlay: 'oxvm-default',
  cmd: '/bin/bash',
  args: ['--login'],
  env: ['HOME=/home/user', 'TERM=xterm-256color', 'USER=user', 'LANG=C.UTF-8',
    'PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin'],
  cwd: '/home/user',
  uid: 1000,
  gid: 1000,
};

/** @type {Linux|null} */
let linux = null;
/** @type {OverlayDevice|null} */
let overlay = null;
let config = DEFAULTS;
let send = () => {};   // the console's input function, once the VM runs

function setState(s) {
  document.body.dataset.state = s;
}

// ---------------------------------------------------------------------------
// Small UI helpers

function toast(text, { error = false, ms = 5000 } = {}) {
  const el = document.createElement('div');
  el.className = error ? 'toast error' : 'toast';
  el.textContent = text;
  $('toasts').appendChild(el);
  setTimeout(() => el.remove(), ms);
  return el;
}

function showError(message, { offerReset = true } = {}) {
  setState('error');
  const box = $('error');
  box.replaceChildren();
  const p = document.createElement('div');
  p.textContent = message;
  box.appendChild(p);
  const buttons = document.createElement('div');
  buttons.style.marginTop = '12px';
  buttons.style.display = 'flex';
  buttons.style.gap = '8px';
  const reload = document.createElement('button');
  reload.type = 'button';
  reload.textContent = 'Reload';
  reload.onclick = () => location.reload();
  buttons.appendChild(reload);
  if (offerReset) {
    const reset = document.createElement('button');
    reset.type = 'button';
    reset.textContent = 'Reset disk';
    reset.onclick = resetDisk;
    buttons.appendChild(reset);
  }
  box.appendChild(buttons);
  box.hidden = false;
}

function formatBytes(n) {
  if (!Number.isFinite(n)) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

function basename(path) {
  const parts = path.split('/').filter(Boolean);
  return parts.length ? parts[parts.length - 1] : 'root';
}

// ---------------------------------------------------------------------------
// The terminal

const term = new Terminal({
  screenReaderMode: true,       // the screen's text is in the accessibility tree
  cursorBlink: true,
  scrollback: 10000,
  fontFamily: 'ui-monospace, "DejaVu Sans Mono", "Cascadia Mono", Menlo, Consolas, monospace',
  fontSize: coarse.matches ? 13 : 14,
  macOptionIsMeta: true,
  theme: { background: '#111111' },
});
const fit = new FitAddon();
term.loadAddon(fit);
term.loadAddon(new WebLinksAddon());
term.open($('terminal'));
// The WebGL renderer where a GPU draws it. A software WebGL (SwiftShader,
// llvmpipe: browsers without a usable GPU, headless ones) is slower than
// the DOM renderer, and in headless Chromium at a device pixel ratio of 2
// it drew nothing at all. `?renderer=webgl|dom` overrides the choice.
function gpuWebgl() {
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return !/swiftshader|llvmpipe|softpipe|software|basic render/i.test(name);
  } catch {
    return false;
  }
}
const renderer = params.get('renderer') ?? (gpuWebgl() ? 'webgl' : 'dom');
if (renderer === 'webgl') {
  try {
    const webgl = new WebglAddon();
    webgl.onContextLoss(() => webgl.dispose());
    term.loadAddon(webgl);
  } catch {
    // WebGL refused after all: xterm.js keeps its DOM renderer.
  }
}
document.body.dataset.renderer = renderer;
function refit() {
  try { fit.fit(); } catch { /* not laid out */ }
}
refit();
new ResizeObserver(refit).observe($('terminal'));
term.onResize(({ rows, cols }) => linux?.resize(rows, cols));
window.oxvm = { linux: null, term, config: null };

// Sticky Ctrl from the extra-keys row: the next key becomes a control key.
let ctrlArmed = false;
function setCtrl(on) {
  ctrlArmed = on;
  document.querySelector('#extra-keys [data-key="ctrl"]')?.setAttribute('aria-pressed', String(on));
}
function applyCtrl(data) {
  if (!ctrlArmed) return data;
  setCtrl(false);
  if (data.length !== 1) return data;
  const c = data.toLowerCase();
  if (c >= 'a' && c <= 'z') return String.fromCharCode(c.charCodeAt(0) - 96);
  const map = { ' ': '\x00', '@': '\x00', '[': '\x1b', '\\': '\x1c', ']': '\x1d', '^': '\x1e', '_': '\x1f', '?': '\x7f' };
  return map[c] ?? data;
}

term.onData((d) => send(applyCtrl(d)));
term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)));

// Copy and paste: the selection, Ctrl+Shift+C / Ctrl+Shift+V, and a menu.
async function copySelection() {
  const text = term.getSelection();
  if (!text) return;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    toast('The browser did not allow copying to the clipboard', { error: true });
  }
}
async function pasteClipboard() {
  try {
    const text = await navigator.clipboard.readText();
    if (text) term.paste(text);
  } catch {
    toast('The browser did not allow reading the clipboard: use its Paste (Ctrl+V or its menu)', { error: true });
  }
  term.focus();
}
term.attachCustomKeyEventHandler((e) => {
  if (e.type === 'keydown' && e.ctrlKey && e.shiftKey && !e.altKey && !e.metaKey) {
    if (e.code === 'KeyC') { e.preventDefault(); copySelection(); return false; }
    if (e.code === 'KeyV') { e.preventDefault(); pasteClipboard(); return false; }
  }
  return true;
});

const menu = $('menu');
function hideMenu() { menu.hidden = true; }
$('terminal').addEventListener('contextmenu', (e) => {
  if (e.shiftKey) return;  // Shift+right click: the browser's own menu
  e.preventDefault();
  menu.querySelector('[data-action="copy"]').disabled = !term.hasSelection();
  menu.hidden = false;
  const { innerWidth: w, innerHeight: h } = window;
  menu.style.left = `${Math.min(e.clientX, w - menu.offsetWidth - 4)}px`;
  menu.style.top = `${Math.min(e.clientY, h - menu.offsetHeight - 4)}px`;
});
menu.addEventListener('click', (e) => {
  const action = e.target.closest('button')?.dataset.action;
  hideMenu();
  if (action === 'copy') copySelection();
  else if (action === 'paste') pasteClipboard();
  else if (action === 'select-all') term.selectAll();
  term.focus();
});
document.addEventListener('pointerdown', (e) => { if (!menu.contains(e.target)) hideMenu(); });
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') hideMenu(); });
window.addEventListener('blur', hideMenu);

// Extra keys on touch devices.
function arrow(letter) {
  if (ctrlArmed) { setCtrl(false); return `\x1b[1;5${letter}`; }
  return term.modes.applicationCursorKeysMode ? `\x1bO${letter}` : `\x1b[${letter}`;
}
const extraKeys = $('extra-keys');
function showExtraKeys() {
  extraKeys.hidden = !coarse.matches;
  refit();
}
coarse.addEventListener?.('change', showExtraKeys);
showExtraKeys();
// Keep the focus (and the on-screen keyboard) on the terminal.
extraKeys.addEventListener('mousedown', (e) => e.preventDefault());
extraKeys.addEventListener('click', (e) => {
  const b = e.target.closest('button');
  if (!b) return;
  const key = b.dataset.key;
  if (key === 'ctrl') setCtrl(!ctrlArmed);
  else if (key === 'esc') { setCtrl(false); send('\x1b'); }
  else if (key === 'tab') { setCtrl(false); send('\t'); }
  else if (key === 'up') send(arrow('A'));
  else if (key === 'down') send(arrow('B'));
  else if (key === 'right') send(arrow('C'));
  else if (key === 'left') send(arrow('D'));
  else if (b.dataset.text) send(applyCtrl(b.dataset.text));
  term.focus();
});

// ---------------------------------------------------------------------------
// Cross-origin isolation (SharedArrayBuffer) through the service worker

const SW_KEY = 'oxvm-sw-reload';

/** Resolves true when the page is isolated; otherwise reloads it or shows why not. */
async function ensureIsolation() {
  if (globalThis.crossOriginIsolated) {
    sessionStorage.removeItem(SW_KEY);
    return true;
  }
  const why = 'oxvm needs SharedArrayBuffer, which browsers give only to cross-origin isolated pages.\n'
    + 'Serve the page with the headers\n  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: require-corp\n'
    + 'or over HTTPS (or from localhost) so that its service worker (sw.js) can add them.';
  if (!('serviceWorker' in navigator) || !window.isSecureContext) {
    showError(`${why}\n\nThis page is not a secure context, so the service worker cannot help.`, { offerReset: false });
    return false;
  }
  const last = Number(sessionStorage.getItem(SW_KEY) || 0);
  if (Date.now() - last < 15000) {
    // We reloaded for the service worker moments ago and are still not isolated.
    showError(`${why}\n\nThe service worker is installed but the page is still not isolated.`, { offerReset: false });
    return false;
  }
  try {
    await navigator.serviceWorker.register('sw.js');
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => {
        navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true });
        setTimeout(resolve, 3000);
      });
    }
  } catch (e) {
    showError(`${why}\n\nThe service worker could not be installed: ${e.message}`, { offerReset: false });
    return false;
  }
  sessionStorage.setItem(SW_KEY, String(Date.now()));
  location.reload();
  return false;
}

// ---------------------------------------------------------------------------
// Configuration

async function loadConfig() {
  const url = new URL(params.get('config') || 'config.json', location.href);
  let res;
  try {
    res = await fetch(url, { cache: 'no-cache' });
  } catch (e) {
    throw new Error(`Could not load the configuration ${url}: ${e.message}`);
  }
  if (!res.ok) throw new Error(`Could not load the configuration ${url}: HTTP ${res.status}`);
  let c;
  try {
    c = await res.json();
  } catch (e) {
    throw new Error(`The configuration ${url} is not valid JSON: ${e.message}`);
  }
  const cfg = { ...DEFAULTS, ...c, image: { ...DEFAULTS.image, ...c.image } };
  const bad = (what) => { throw new Error(`The configuration ${url}: ${what}`); };
  if (!['chunks', 'http'].includes(cfg.image.kind)) bad('image.kind must be "chunks" or "http"');
  if (typeof cfg.image.url !== 'string' || !cfg.image.url) bad('image.url is missing');
  if (cfg.overlay !== null && typeof cfg.overlay !== 'string') bad('overlay must be a store name or null');
  if (typeof cfg.cmd !== 'string' || !cfg.cmd.startsWith('/')) bad('cmd must be an absolute path');
  if (!Array.isArray(cfg.args) || cfg.args.some((a) => typeof a !== 'string')) bad('args must be an array of strings');
  if (!Array.isArray(cfg.env) || cfg.env.some((a) => typeof a !== 'string' || !a.includes('='))) bad('env must be an array of "KEY=value"');
  if (typeof cfg.cwd !== 'string' || !cfg.cwd.startsWith('/')) bad('cwd must be an absolute path');
  if (!Number.isInteger(cfg.uid) || !Number.isInteger(cfg.gid)) bad('uid and gid must be integers');
  // The image's URL is relative to the configuration file.
  cfg.image = { ...cfg.image, url: new URL(cfg.image.url, url).href };
  return cfg;
}

// ---------------------------------------------------------------------------
// Status bar

function connectStatus() {
  linux.registerCallback('cpuActivity', (s) => {
    $('cpu').classList.toggle('active', s === 'wait');
    $('cpu').title = s === 'wait' ? 'CPU: running' : 'CPU: idle';
  });
  linux.registerCallback('diskActivity', (s) => {
    $('disk').classList.toggle('active', s === 'wait');
    $('disk').title = s === 'wait' ? 'Disk: fetching' : 'Disk: idle';
  });
  linux.registerCallback('status', (s) => {
    const d = s.disk ?? {};
    $('net-bytes').textContent = `↓ ${formatBytes(d.bytesFetched ?? 0)} · ${d.chunksFetched ?? 0} chunks`;
    $('cached').textContent = `cached ${formatBytes(d.bytesCached ?? s.stored ?? 0)}`;
    if (s.storage) $('cached').title = `Kept in this browser (${s.storage})`;
    $('mips').textContent = s.running && s.mips ? `${Math.round(s.mips)} MIPS` : '';
  });
  linux.registerCallback('fatal', (reason) => {
    if (reason === 'the disk was reset' || reason === 'terminated') return;
    showError(`The VM stopped: ${reason}\n\nIf the guest system broke itself, "Reset disk" starts again from the original disk.`);
  });
}

// ---------------------------------------------------------------------------
// Disk reset and recovery

async function resetDisk() {
  if (!confirm('Reset the disk?\n\nEvery file you created or changed in the VM is deleted, and the page reloads with the original disk.')) return;
  toast('Resetting the disk…');
  try {
    if (overlay) await overlay.reset();
    else if (config.overlay) await deleteStore(config.overlay);
  } catch (e) {
    toast(e.message, { error: true, ms: 10000 });
    return;
  }
  location.reload();
}
$('reset-disk').addEventListener('click', resetDisk);
$('banner-reset').addEventListener('click', resetDisk);

let retry = null;
$('banner-retry').addEventListener('click', () => {
  $('banner').hidden = true;
  refit();
  retry?.();
});
function offerRecovery(text) {
  $('banner-text').textContent = text;
  $('banner').hidden = false;
  refit();
  return new Promise((resolve) => { retry = resolve; });
}

async function shellLoop() {
  let quick = 0;
  for (;;) {
    const started = performance.now();
    let result;
    try {
      result = await linux.run(config.cmd, config.args, {
        env: config.env, cwd: config.cwd, uid: config.uid, gid: config.gid,
        onSpawned: () => setState('running'),
      });
    } catch (e) {
      if (linux._dead) return;   // the fatal callback explains
      result = { status: 127, error: e.message };
    }
    const fast = performance.now() - started < 1000;
    quick = fast ? quick + 1 : 0;
    const { status } = result;
    if (result.error) {
      const text = result.error.replace(/^oxvm: /, '');
      term.write(`\r\n\x1b[31m[${text.startsWith(config.cmd) ? text : `${config.cmd}: ${text}`}]\x1b[0m`);
    }
    if (result.error || (fast && (status === 126 || status === 127)) || quick >= 2) {
      term.write(`\r\n[process exited with status ${status}]\r\n`);
      setState('error');
      await offerRecovery(`${config.cmd} does not start (status ${status}). If the system in the VM is broken, "Reset disk" goes back to the original disk.`);
      setState('booting');
      quick = 0;
      continue;
    }
    term.write(`\r\n[process exited with status ${status}; restarting]\r\n`);
  }
}

// ---------------------------------------------------------------------------
// Files in: drag and drop

function dropDir() {
  let dir = $('drop-dir').value.trim() || config.cwd;
  if (!dir.startsWith('/')) dir = `${config.cwd}/${dir}`;
  return dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
}
const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
let dragDepth = 0;
window.addEventListener('dragenter', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth++;
  $('drop-target').textContent = dropDir();
  $('drop-overlay').hidden = false;
});
window.addEventListener('dragover', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
});
window.addEventListener('dragleave', () => {
  if (--dragDepth <= 0) { dragDepth = 0; $('drop-overlay').hidden = true; }
});
window.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  $('drop-overlay').hidden = true;
  const items = [...(e.dataTransfer?.items ?? [])];
  // Entries must be taken now: the DataTransfer is emptied after the event.
  const dropped = [];
  items.forEach((item) => {
    if (item.kind !== 'file') return;
    const entry = item.webkitGetAsEntry?.();
    const file = item.getAsFile();
    if (entry?.isDirectory) dropped.push({ entry });
    else if (file) dropped.push({ file });
  });
  if (!items.length) dropped.push(...[...(e.dataTransfer?.files ?? [])].map((file) => ({ file })));
  copyIn(dropped);
});

// A dropped folder's entries, depth first: [relative path, File | null
// for a directory].
async function walkEntry(entry, prefix, out) {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    out.push([path, await new Promise((resolve, reject) => entry.file(resolve, reject))]);
    return;
  }
  out.push([path, null]);
  const reader = entry.createReader();
  // readEntries gives the entries in batches until it gives none.
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    for (const child of batch) await walkEntry(child, path, out);
  }
}

async function copyIn(dropped) {
  if (!dropped.length) return;
  if (!linux || linux._dead) { toast('The VM is not running', { error: true }); return; }
  const dir = dropDir();
  const base = dir === '/' ? '' : dir;
  const owner = { uid: config.uid, gid: config.gid };
  for (const d of dropped) {
    const name = d.file ? d.file.name : d.entry.name;
    try {
      if (d.file) {
        await linux.writeFile(`${base}/${name}`, new Uint8Array(await d.file.arrayBuffer()), { ...owner, mode: 0o644 });
        toast(`Copied ${name} (${formatBytes(d.file.size)}) to ${base}/${name}`);
        continue;
      }
      const entries = [];
      await walkEntry(d.entry, '', entries);
      let bytes = 0;
      for (const [rel, file] of entries) {
        if (!file) await linux.mkdir(`${base}/${rel}`, { ...owner, mode: 0o755 });
        else {
          await linux.writeFile(`${base}/${rel}`, new Uint8Array(await file.arrayBuffer()), { ...owner, mode: 0o644 });
          bytes += file.size;
        }
      }
      const files = entries.filter(([, f]) => f).length;
      toast(`Copied the folder ${name} (${files} files, ${formatBytes(bytes)}) to ${base}/${name}`);
    } catch (e) {
      toast(`Could not copy ${name} to ${base}/${name}: ${e.message}`, { error: true, ms: 10000 });
    }
  }
}

// ---------------------------------------------------------------------------
// Files out: Download

function saveBytes(data, name) {
  const url = URL.createObjectURL(new Blob([data], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

const TAR_TMP = '/tmp/.oxvm-download.tar';
let lastDownload = null;

async function download() {
  if (!linux || linux._dead) { toast('The VM is not running', { error: true }); return; }
  let path = prompt('Download which file or directory from the VM?', lastDownload ?? `${config.cwd}/`);
  if (!path) return;
  path = path.trim();
  if (!path.startsWith('/')) path = `${config.cwd}/${path}`;
  if (path.length > 1) path = path.replace(/\/+$/, '');
  lastDownload = path;
  const quiet = { console: false, cwd: '/', uid: 0, gid: 0, env: ['PATH=/usr/bin:/bin:/usr/sbin:/sbin', 'LANG=C.UTF-8'] };
  try {
    const data = await linux.readFile(path);
    saveBytes(data, basename(path));
    toast(`Downloaded ${path} (${formatBytes(data.length)})`);
    return;
  } catch (e) {
    const isDir = await linux.run('/bin/sh', ['-c', 'test -d "$1"', 'sh', path], quiet).then((r) => r.status === 0, () => false);
    if (!isDir) {
      toast(`Could not download ${path}: ${e.message}`, { error: true, ms: 10000 });
      return;
    }
  }
  // A directory: pack it with the guest's tar.
  const slash = path.lastIndexOf('/');
  const parent = path === '/' ? '/' : path.slice(0, slash) || '/';
  const name = path === '/' ? '.' : path.slice(slash + 1);
  toast(`Packing ${path}…`);
  try {
    const r = await linux.run('/bin/tar', ['-cf', TAR_TMP, '-C', parent, name], quiet);
    // tar exits 1 when a file changed while it read it: the archive is still usable.
    if (r.status > 1) throw new Error(`tar exited with status ${r.status}${r.error ? `: ${r.error}` : ''}`);
    const data = await linux.readFile(TAR_TMP);
    saveBytes(data, `${basename(path)}.tar`);
    toast(`Downloaded ${path} as ${basename(path)}.tar (${formatBytes(data.length)})`);
  } catch (e) {
    toast(`Could not download ${path}: ${e.message}`, { error: true, ms: 10000 });
  } finally {
    linux.run('/bin/rm', ['-f', TAR_TMP], quiet).catch(() => {});
  }
}
$('download').addEventListener('click', download);

// ---------------------------------------------------------------------------
// Start

async function main() {
  setState('booting');
  if (!(await ensureIsolation())) return;
  try {
    config = await loadConfig();
  } catch (e) {
    showError(e.message, { offerReset: false });
    return;
  }
  window.oxvm.config = config;
  $('drop-dir').value = config.cwd;

  if (params.get('reset') === '1') {
    // Start again from the original disk, once: drop the parameter.
    params.delete('reset');
    const q = params.toString();
    history.replaceState(null, '', `${location.pathname}${q ? `?${q}` : ''}${location.hash}`);
    if (config.overlay) {
      try {
        await deleteStore(config.overlay);
        toast('The disk was reset');
      } catch (e) {
        showError(e.message, { offerReset: false });
        return;
      }
    }
  }

  term.write('\x1b[2mStarting oxvm…\x1b[0m\r\n');
  try {
    const base = config.image.kind === 'http'
      ? await HttpBytesDevice.create(config.image.url)
      : await ChunkDevice.create(config.image.url);
    overlay = config.overlay ? await OverlayDevice.create(base, config.overlay) : null;
    linux = await Linux.create({
      mounts: [
        { type: 'ext2', path: '/', dev: overlay ?? base },
        { type: 'devs', path: '/dev' },
        { type: 'devpts', path: '/dev/pts' },
        { type: 'proc', path: '/proc' },
        { type: 'sys', path: '/sys' },
      ],
      terminal: { rows: term.rows, cols: term.cols },
      // ?storage=indexeddb: keep the disk in IndexedDB even where OPFS
      // exists (the browser tests check that fallback this way).
      storage: params.get('storage') || undefined,
    });
  } catch (e) {
    showError(`oxvm could not start: ${e.message.replace(/^oxvm: /, '')}`);
    return;
  }
  window.oxvm.linux = linux;
  connectStatus();
  send = linux.setCustomConsole((data) => term.write(data), term.cols, term.rows);
  term.focus();
  await shellLoop();
}

main().catch((e) => showError(`oxvm: ${e.message}`));
