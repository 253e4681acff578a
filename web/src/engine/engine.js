// The engine: oxvm.wasm and its imports, the same in the browser worker and
// under Node. `io(req, data)` must answer synchronously (a BridgeClient's
// call); `output(fd, bytes)` and `log(line)` receive what the guest and
// oxvm print.

const decoder = new TextDecoder();
const encoder = new TextEncoder();

// run() results.
export const RUNNABLE = 0;
export const IDLE_UNTIL = 1;
export const IDLE = 2;

export class Engine {
  static async create(wasm, hooks) {
    const engine = new Engine(hooks);
    const module = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm);
    const instance = await WebAssembly.instantiate(module, { oxvm: engine.#imports() });
    engine.#x = instance.exports;
    return engine;
  }

  #x = null;
  #hooks;
  #ioResult = new Uint8Array(0);

  constructor(hooks) {
    this.#hooks = hooks;
  }

  #mem() {
    return new Uint8Array(this.#x.memory.buffer);
  }

  #imports() {
    const timeOrigin = performance.timeOrigin;
    return {
      host_now: (clock) => (clock === 0 ? timeOrigin + performance.now() : performance.now()),
      host_random: (ptr, len) => {
        // getRandomValues fills at most 64 KiB per call.
        for (let off = 0; off < len; off += 65536) {
          crypto.getRandomValues(new Uint8Array(this.#x.memory.buffer, ptr + off, Math.min(65536, len - off)));
        }
      },
      host_console_write: (fd, ptr, len) => this.#hooks.output(fd, this.#mem().slice(ptr, ptr + len)),
      host_diag: (ptr, len) => this.#hooks.log(decoder.decode(this.#mem().subarray(ptr, ptr + len))),
      host_io: (reqPtr, reqLen, dataPtr, dataLen) => {
        const mem = this.#mem();
        const req = JSON.parse(decoder.decode(mem.subarray(reqPtr, reqPtr + reqLen)));
        const data = dataLen ? mem.slice(dataPtr, dataPtr + dataLen) : null;
        try {
          this.#ioResult = this.#hooks.io(req, data);
          return this.#ioResult.length;
        } catch (e) {
          this.#ioResult = encoder.encode(e && e.message ? e.message : String(e));
          return -this.#ioResult.length - 1;
        }
      },
      host_io_result: (ptr) => this.#mem().set(this.#ioResult, ptr),
    };
  }

  // Calls `f(ptr, len)` with `bytes` copied into the engine's memory.
  #withBytes(bytes, f) {
    const ptr = this.#x.oxvm_alloc(bytes.length);
    this.#mem().set(bytes, ptr);
    try {
      return f(ptr, bytes.length);
    } finally {
      this.#x.oxvm_free(ptr, bytes.length);
    }
  }

  #result() {
    const ptr = this.#x.oxvm_result_ptr();
    const len = this.#x.oxvm_result_len();
    return this.#mem().slice(ptr, ptr + len);
  }

  #resultText() {
    return decoder.decode(this.#result());
  }

  boot(config) {
    const r = this.#withBytes(encoder.encode(JSON.stringify(config)), (p, n) => this.#x.oxvm_boot(p, n));
    if (r !== 0) throw new Error(this.#resultText());
    return JSON.parse(this.#resultText());
  }

  // The pid; throws an Error with `.status` (127 not found, 126 cannot
  // execute) when the program cannot start.
  spawn(req) {
    const r = this.#withBytes(encoder.encode(JSON.stringify(req)), (p, n) => this.#x.oxvm_spawn(p, n));
    if (r < 0) {
      const e = new Error(this.#resultText());
      e.status = -r;
      throw e;
    }
    return r;
  }

  run(budget) {
    return this.#x.oxvm_run(budget);
  }

  // The monotonic time (performance.now() ms) the last IDLE_UNTIL waits for.
  idleUntil() {
    return this.#x.oxvm_idle_until();
  }

  // [[pid, status]] of the programs that ended since the last call.
  exits() {
    return this.#x.oxvm_exits() ? JSON.parse(this.#resultText()) : [];
  }

  // [[pid, name]] of the processes created since the last call.
  created() {
    return this.#x.oxvm_created() ? JSON.parse(this.#resultText()) : [];
  }

  input(bytes) {
    this.#withBytes(bytes, (p, n) => this.#x.oxvm_input(p, n));
  }

  closeInput() {
    this.#x.oxvm_close_input();
  }

  resize(rows, cols) {
    this.#x.oxvm_resize(rows, cols);
  }

  writeFile(path, data, { uid = 0, gid = 0, mode = 0o644 } = {}) {
    const req = encoder.encode(JSON.stringify({ path, uid, gid, mode }));
    const reqPtr = this.#x.oxvm_alloc(req.length);
    this.#mem().set(req, reqPtr);
    try {
      const r = this.#withBytes(data, (p, n) => this.#x.oxvm_write_file(reqPtr, req.length, p, n));
      if (r !== 0) throw new Error(this.#resultText());
    } finally {
      this.#x.oxvm_free(reqPtr, req.length);
    }
  }

  mkdir(path, { uid = 0, gid = 0, mode = 0o755 } = {}) {
    const r = this.#withBytes(encoder.encode(JSON.stringify({ path, uid, gid, mode })), (p, n) => this.#x.oxvm_mkdir(p, n));
    if (r !== 0) throw new Error(this.#resultText());
  }

  readFile(path) {
    const r = this.#withBytes(encoder.encode(path), (p, n) => this.#x.oxvm_read_file(p, n));
    if (r < 0) throw new Error(this.#resultText());
    return this.#result();
  }

  sync() {
    if (this.#x.oxvm_sync() !== 0) throw new Error(this.#resultText());
  }

  stats() {
    return this.#x.oxvm_stats() ? JSON.parse(this.#resultText()) : null;
  }

  shutdown() {
    if (this.#x.oxvm_shutdown() !== 0) throw new Error(this.#resultText());
  }
}
