// The engine worker's protocol (PROTOCOL.md) end to end under Node: the
// real oxvm.wasm, the real Machine and bridge, the Node I/O side. What the
// browser tests cannot reach cheaply: several programs one after another,
// exit statuses, process-creation events, files in and out, "dir" and
// extra ext2 mounts, an overlay persisting across two boots, and reset.
//
//   node web/tests/engine-node.mjs --wasm oxvm.wasm --image ROOT.img --oxvm BIN
//
// BIN: the native oxvm, whose `image index` describes the web directory
// mounted at /web.
// ROOT.img: an ext2 image of a Debian tree (the test root filesystem).
// Exits non-zero on any failure.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { newBridgeBuffer, serveBridge } from '../src/engine/bridge.js';
import { nodeIo } from '../node/io-node.js';

const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(name);
  if (i < 0 || i + 1 >= args.length) {
    console.error(`usage: engine-node.mjs --wasm FILE --image FILE --oxvm BIN (missing ${name})`);
    process.exit(2);
  }
  return path.resolve(args[i + 1]);
};
const wasm = arg('--wasm');
const image = pathToFileURL(arg('--image')).href;
const oxvm = arg('--oxvm');
const store = fs.mkdtempSync(path.join(os.tmpdir(), 'oxvm-engine-node-'));

// A second, small ext2 image to mount at /mnt: made by mke2fs from a
// directory, so another tool than ours wrote it.
const extraDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxvm-extra-'));
fs.writeFileSync(path.join(extraDir, 'note.txt'), 'on the second disk\n');
const extraImg = path.join(store, '..', `${path.basename(store)}-extra.img`);
{
  const { execFileSync } = await import('node:child_process');
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext2', '-d', extraDir, extraImg, '8M']);
}

// A web directory: files fetched when read (here through file:// URLs,
// which the Node host answers with ranges as a static server does).
const webDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxvm-webdir-'));
fs.mkdirSync(path.join(webDir, 'sub'));
fs.writeFileSync(path.join(webDir, 'sub', 'hello.txt'), 'hello from the web\n');
const big = Buffer.alloc(600 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
fs.writeFileSync(path.join(webDir, 'big.bin'), big);
fs.symlinkSync('sub/hello.txt', path.join(webDir, 'link'));
{
  const { execFileSync } = await import('node:child_process');
  execFileSync(oxvm, ['image', 'index', webDir], { stdio: 'ignore' });
}
const bigSha = (await import('node:crypto')).createHash('sha256').update(big).digest('hex');

class Vm {
  constructor() {
    const sab = newBridgeBuffer();
    const { port1, port2 } = new MessageChannel();
    serveBridge(port1, sab, nodeIo(store));
    this.worker = new Worker(new URL('../node/engine-thread.js', import.meta.url), { workerData: { port: port2, sab }, transferList: [port2] });
    this.waiters = new Map();
    this.events = [];
    this.out = '';
    this.nextId = 1;
    this.worker.on('message', (m) => {
      if (m.type === 'output') this.out += new TextDecoder().decode(m.data);
      else this.events.push(m);
      const w = this.waiters.get(m.id);
      if (w && ['booted', 'done', 'error', 'exit'].includes(m.type)) {
        this.waiters.delete(m.id);
        w(m);
      }
    });
    this.worker.on('error', (e) => {
      console.error(`FAIL  the engine thread failed: ${e.stack || e}`);
      process.exit(1);
    });
  }

  request(msg) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiters.set(id, resolve);
      this.worker.postMessage({ ...msg, id });
    });
  }

  boot(extra = {}) {
    return this.request({
      type: 'boot',
      config: {
        wasm,
        disk: { kind: 'http', url: image, overlay: 'e2e-root', cache: false },
        mounts: [
          { type: 'dir', path: '/srv', files: [
            { path: 'given.txt', data: new TextEncoder().encode('from the page\n'), mode: 0o640, uid: 0, gid: 0 },
            { path: 'deep/er/nested.txt', data: new TextEncoder().encode('nested\n') },
          ] },
          { type: 'ext2', path: '/mnt', disk: { kind: 'http', url: pathToFileURL(extraImg).href, overlay: null } },
          { type: 'web', path: '/media', url: pathToFileURL(webDir).href },
        ],
        terminal: null,
        ...extra,
      },
    });
  }

  run(path, args, more = {}) {
    this.out = '';
    return this.request({ type: 'run', path, args, env: ['PATH=/usr/bin:/bin', 'LC_ALL=C'], cwd: '/', uid: 0, gid: 0, ...more });
  }

  stop() {
    return this.worker.terminate();
  }
}

let failed = 0;
function check(name, ok, detail) {
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${ok ? '' : `: ${detail}`}`);
  if (!ok) failed++;
}

const vm = new Vm();
const booted = await vm.boot();
check('boot', booted.type === 'booted' && /^h-/.test(booted.info?.image), JSON.stringify(booted));

let r = await vm.run('/bin/sh', ['-c', 'echo one; exit 3']);
check('a program runs and its exit status comes back', r.type === 'exit' && r.status === 3 && vm.out === 'one\n', JSON.stringify([r, vm.out]));

r = await vm.run('/bin/sh', ['-c', 'kill -TERM $$']);
check('a program killed by a signal reports 128+signal', r.type === 'exit' && r.status === 143, JSON.stringify(r));

r = await vm.run('no-such-program', []);
check('a missing program is 127', r.type === 'error' && r.status === 127 && /not found/.test(r.message), JSON.stringify(r));

const before = vm.events.filter((e) => e.type === 'processCreated').length;
r = await vm.run('/bin/sh', ['-c', '/bin/true; /bin/true; echo done']);
const created = vm.events.filter((e) => e.type === 'processCreated').slice(before);
check('every process the guest creates is reported', r.status === 0 && created.length >= 3, JSON.stringify(created));

r = await vm.run('/bin/sh', ['-c', 'cat /srv/given.txt; stat -c "%a %u" /srv/given.txt; grep " /srv " /proc/mounts | cut -d" " -f3']);
check('a "dir" mount holds the page\'s files', vm.out === 'from the page\n640 0\ntmpfs\n', JSON.stringify(vm.out));

r = await vm.run('/bin/sh', ['-c', 'cat /mnt/note.txt; echo more > /mnt/new.txt; cat /mnt/new.txt; grep " /mnt " /proc/mounts | cut -d" " -f1,3']);
check('an extra ext2 mount reads and writes', vm.out === 'on the second disk\nmore\n/dev/vdb ext2\n', JSON.stringify(vm.out));

r = await vm.run('/bin/sh', ['-c', 'cat /media/link; sha256sum /media/big.bin | cut -d" " -f1; touch /media/x 2>&1 | grep -o "Read-only file system"; grep " /media " /proc/mounts | cut -d" " -f3']);
check('a web directory: files read when fetched, symlinks, read-only', vm.out === `hello from the web\n${bigSha}\nRead-only file system\nwebfs\n`, JSON.stringify(vm.out));

let md = await vm.request({ type: 'mkdir', path: '/root/a/b/c', uid: 1000, gid: 100 });
const mdAgain = await vm.request({ type: 'mkdir', path: '/root/a/b' });
const mdFile = await vm.request({ type: 'mkdir', path: '/etc/hostname' });
r = await vm.run('/bin/sh', ['-c', 'stat -c "%n %a %u %g" /root/a /root/a/b/c']);
check('mkdir makes a directory and its parents; an existing one is fine; a file is EEXIST',
  md.type === 'done' && mdAgain.type === 'done' && mdFile.type === 'error' && /exists/i.test(mdFile.message)
    && vm.out === '/root/a 755 1000 100\n/root/a/b/c 755 1000 100\n', JSON.stringify([md, mdAgain, mdFile, vm.out]));

r = await vm.run('/bin/sh', ['-c', 'cat /srv/deep/er/nested.txt']);
check('a "dir" mount\'s file in subdirectories', vm.out === 'nested\n', JSON.stringify(vm.out));

let w = await vm.request({ type: 'writeFile', path: '/root/in.bin', data: new Uint8Array([1, 2, 3, 250]), uid: 1000, gid: 1000, mode: 0o600 });
r = await vm.run('/bin/sh', ['-c', 'od -An -tu1 /root/in.bin; stat -c "%a %u %g" /root/in.bin']);
check('writeFile puts a file with its owner and mode', w.type === 'done' && vm.out.replace(/\s+/g, ' ').trim() === '1 2 3 250 600 1000 1000', JSON.stringify([w, vm.out]));

r = await vm.run('/bin/sh', ['-c', 'printf "out of the vm" > /root/out.txt; sync']);
const got = await vm.request({ type: 'readFile', path: '/root/out.txt' });
check('readFile takes a file out', got.type === 'done' && new TextDecoder().decode(got.data) === 'out of the vm', JSON.stringify(got));
const missing = await vm.request({ type: 'readFile', path: '/root/nothing' });
check('readFile of a missing file is an error', missing.type === 'error' && /No such file/i.test(missing.message), JSON.stringify(missing));
const dir = await vm.request({ type: 'readFile', path: '/root' });
check('readFile of a directory is an error', dir.type === 'error' && /directory/i.test(dir.message), JSON.stringify(dir));

// Two programs at once: the second finishes while the first still runs.
const slow = vm.run('/bin/sh', ['-c', 'sleep 1; echo slow']);
const fast = await vm.run('/bin/sh', ['-c', 'echo fast']);
const slowDone = await slow;
check('programs run side by side', fast.status === 0 && slowDone.status === 0, JSON.stringify([fast, slowDone]));

r = await vm.run('/bin/sh', ['-c', 'echo kept > /root/kept.txt; sync']);
await vm.stop();

// A second boot on the same store: the overlay kept the writes.
const vm2 = new Vm();
await vm2.boot();
r = await vm2.run('/bin/cat', ['/root/kept.txt']);
check('the overlay persists across boots', r.status === 0 && vm2.out === 'kept\n', JSON.stringify([r, vm2.out]));
const reset = await vm2.request({ type: 'resetDisk' });
check('resetDisk answers', reset.type === 'done', JSON.stringify(reset));
await vm2.stop();
check('resetDisk drops the overlay store', !fs.readdirSync(store).some((n) => n.startsWith('e2e-root.')), JSON.stringify(fs.readdirSync(store)));

const vm3 = new Vm();
await vm3.boot();
r = await vm3.run('/bin/sh', ['-c', 'cat /root/kept.txt 2>&1; true']);
check('after the reset the write is gone', /No such file/.test(vm3.out), JSON.stringify(vm3.out));
const bad = await vm3.request({ type: 'boot', config: { wasm, disk: { kind: 'http', url: pathToFileURL(extraDir).href + '/note.txt', overlay: null } } });
check('a file that is not an ext2 image is a clear boot error', bad.type === 'error' && /ext2/.test(bad.message), JSON.stringify(bad));
await vm3.stop();

fs.rmSync(store, { recursive: true, force: true });
fs.rmSync(extraDir, { recursive: true, force: true });
fs.rmSync(webDir, { recursive: true, force: true });
fs.rmSync(extraImg, { force: true });
console.log(`engine-node: ${failed ? `${failed} failed` : 'all passed'}`);
process.exit(failed ? 1 : 0);
