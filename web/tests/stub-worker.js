// A stand-in for the engine worker, for the page tests: it speaks the
// protocol of src/engine/PROTOCOL.md with a toy shell and an in-memory file
// table, and records every message it gets (readFile "/stub/log" returns them
// as JSON) so that tests can check what the page sent.
//
// The toy shell (any program whose path ends in "sh", run on the console):
// prints "stub shell ready" and a prompt, echoes what is typed, and on Enter
// answers "ran: LINE"; "exit N" ends it with status N; "cat FILE" prints a
// file. /bin/sh -c 'test -d "$1"' sh DIR, /bin/tar -cf OUT -C DIR NAME and
// /bin/rm -f FILE act on the file table; /bin/false-fast exits 1 at once;
// anything else is "not found" (status 127).

const enc = new TextEncoder();
const dec = new TextDecoder();
const log = [];
const files = new Map();   // path -> {data, uid, gid, mode}
const dirs = new Set(['/', '/home', '/home/user', '/tmp', '/etc']);
let booted = false;
let consoleProc = null;    // {id, pid, line}
let nextPid = 100;
let instructions = 0;

files.set('/etc/hostname', { data: enc.encode('stub\n'), uid: 0, gid: 0, mode: 0o644 });

function out(text) {
  self.postMessage({ type: 'output', data: enc.encode(text) });
}

function record(msg) {
  const copy = { ...msg };
  if (copy.data instanceof Uint8Array) copy.data = Array.from(copy.data);
  if (copy.type === 'boot') {
    copy.config = JSON.parse(JSON.stringify(copy.config, (k, v) => (v instanceof Uint8Array ? dec.decode(v) : v)));
  }
  log.push(copy);
}

function statusTick() {
  instructions += 1234567;
  self.postMessage({
    type: 'status',
    running: consoleProc !== null,
    instructions,
    mips: 42,
    disk: { requests: 7, roundTrips: 3, bytesFetched: 3 * 131072, chunksFetched: 3, hits: 10, misses: 3, cacheLoads: 1, bytesCached: 2 * 131072, inflight: 0 },
  });
}

function shellLine(line) {
  const p = consoleProc;
  const m = /^exit(?:\s+(\d+))?$/.exec(line.trim());
  if (m) {
    consoleProc = null;
    self.postMessage({ type: 'exit', id: p.id, pid: p.pid, status: Number(m[1] ?? 0) });
    return;
  }
  const cat = /^cat\s+(\S+)$/.exec(line.trim());
  if (cat) {
    const f = files.get(cat[1]);
    out(f ? dec.decode(f.data).replace(/\n/g, '\r\n') : `cat: ${cat[1]}: No such file or directory\r\n`);
  } else if (line) {
    out(`ran: ${line}\r\n`);
  }
  out('$ ');
}

function run(msg) {
  const { id, path, args } = msg;
  const pid = nextPid++;
  const done = (status) => {
    self.postMessage({ type: 'spawned', id, pid });
    self.postMessage({ type: 'processCreated', pid, name: path.split('/').pop() });
    setTimeout(() => self.postMessage({ type: 'exit', id, pid, status }), 10);
  };
  if (path.endsWith('sh') && msg.console) {
    self.postMessage({ type: 'spawned', id, pid });
    consoleProc = { id, pid, line: '' };
    out(`stub shell ready (${msg.cwd}, uid ${msg.uid})\r\n$ `);
    return;
  }
  if (path === '/bin/sh' && args[0] === '-c' && /test -d/.test(args[1])) return done(dirs.has(args[3]) ? 0 : 1);
  if (path === '/bin/tar' && args[0] === '-cf' && args[2] === '-C') {
    files.set(args[1], { data: enc.encode(`TAR:${args[3]}:${args[4]}`), uid: 0, gid: 0, mode: 0o644 });
    return done(0);
  }
  if (path === '/bin/rm') {
    files.delete(args[args.length - 1]);
    return done(0);
  }
  if (path === '/bin/false-fast') return done(1);
  self.postMessage({ type: 'error', id, status: 127, message: `${path}: No such file or directory` });
}

self.onmessage = (e) => {
  const msg = e.data;
  record(msg);
  const { id } = msg;
  switch (msg.type) {
    case 'boot':
      if (booted) { self.postMessage({ type: 'error', id, message: 'booted twice' }); return; }
      booted = true;
      setInterval(statusTick, 250);
      self.postMessage({ type: 'booted', id, info: { engine: 'stub' } });
      self.postMessage({ type: 'diskLatency', ms: 12 });
      return;
    case 'run':
      run(msg);
      return;
    case 'input': {
      const p = consoleProc;
      if (!p) return;
      for (const ch of dec.decode(msg.data)) {
        if (ch === '\r') {
          out('\r\n');
          const line = p.line;
          p.line = '';
          shellLine(line);
          if (consoleProc !== p) return;
        } else if (ch === '\x7f') {
          if (p.line) { p.line = p.line.slice(0, -1); out('\b \b'); }
        } else if (ch >= ' ') {
          p.line += ch;
          out(ch);
        }
      }
      return;
    }
    case 'resize':
      return;
    case 'writeFile':
      files.set(msg.path, { data: msg.data, uid: msg.uid, gid: msg.gid, mode: msg.mode });
      self.postMessage({ type: 'done', id });
      return;
    case 'readFile':
      if (msg.path === '/stub/log') {
        self.postMessage({ type: 'done', id, data: enc.encode(JSON.stringify({ log, files: [...files].map(([p, f]) => ({ path: p, uid: f.uid, gid: f.gid, mode: f.mode, text: dec.decode(f.data) })) })) });
      } else if (dirs.has(msg.path)) {
        self.postMessage({ type: 'error', id, message: `${msg.path}: Is a directory (EISDIR)` });
      } else if (files.has(msg.path)) {
        self.postMessage({ type: 'done', id, data: files.get(msg.path).data });
      } else {
        self.postMessage({ type: 'error', id, message: `${msg.path}: No such file or directory (ENOENT)` });
      }
      return;
    case 'sync':
    case 'resetDisk':
      self.postMessage({ type: 'done', id });
      return;
    default:
      if (id !== undefined) self.postMessage({ type: 'error', id, message: `unknown request ${msg.type}` });
  }
};
