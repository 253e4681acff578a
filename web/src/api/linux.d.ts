// Types of oxvm's embeddable JavaScript API (oxvm.js).

/**
 * The xterm.js terminal that `setConsole` makes (the part most pages use; it
 * is an xterm.js 5 `Terminal`, see its documentation for the rest).
 */
export interface Terminal {
  readonly rows: number;
  readonly cols: number;
  write(data: string | Uint8Array, callback?: () => void): void;
  focus(): void;
  paste(text: string): void;
  getSelection(): string;
  dispose(): void;
  options: Record<string, unknown>;
}
/** xterm.js terminal options (fontSize, fontFamily, theme, scrollback, ...). */
export type ITerminalOptions = Record<string, unknown>;

/** Bytes as the API accepts them: strings are UTF-8 encoded; a number is one character code. */
export type BytesLike = Uint8Array | ArrayBuffer | ArrayBufferView | string | number | number[];

/** Base class of every device. Devices are made with their static async `create`. */
export declare abstract class Device {
  protected constructor();
}

/** A block device holding an ext2 image. */
export declare abstract class BlockDevice extends Device {}

/** One disk image file on a web server, read with HTTP Range requests (the server must answer them with 206). */
export declare class HttpBytesDevice extends BlockDevice {
  static create(url: string | URL): Promise<HttpBytesDevice>;
  readonly url: string;
}

/** An image published by `oxvm image publish`: compressed chunks plus manifest.json; works on any static host. */
export declare class ChunkDevice extends BlockDevice {
  static create(manifestUrl: string | URL): Promise<ChunkDevice>;
  readonly url: string;
}

/**
 * A persistent copy-on-write layer over a read-only image: writes are kept in
 * the browser (in OPFS, or in IndexedDB where OPFS is missing, under the name
 * `storeName` and names starting with `storeName.`) and survive reloads.
 */
export declare class OverlayDevice extends BlockDevice {
  static create(base: HttpBytesDevice | ChunkDevice, storeName: string): Promise<OverlayDevice>;
  readonly base: HttpBytesDevice | ChunkDevice;
  readonly name: string;
  /**
   * Deletes every write kept in the store. A VM running on this overlay is
   * stopped first; reload the page (or create a new Linux) afterwards.
   * Rejects when the store is in use elsewhere (another tab).
   */
  reset(): Promise<void>;
}

/** In-memory files, mounted with `{type: "dir", path, dev}`. */
export declare class DataDevice extends Device {
  static create(): Promise<DataDevice>;
  /**
   * Adds or replaces a file (path relative to the mount point). Before the VM
   * boots the file becomes part of the mount; afterwards it is also written
   * into each running VM that mounts this device.
   */
  writeFile(path: string, data: BytesLike, opts?: { mode?: number }): Promise<void>;
}

/** A read-only directory served over HTTP (holding `index.json`, see `oxvm image index`), mounted with `{type: "dir", path, dev}`; files are fetched when read. */
export declare class WebDevice extends Device {
  static create(url: string | URL): Promise<WebDevice>;
  readonly url: string;
}

export type Mount =
  | { type: 'ext2'; path: string; dev: BlockDevice }
  | { type: 'dir'; path: string; dev: DataDevice | WebDevice }
  | { type: 'devs'; path: '/dev'; dev?: undefined }
  | { type: 'proc'; path: '/proc'; dev?: undefined }
  | { type: 'devpts'; path: '/dev/pts'; dev?: undefined }
  | { type: 'sys'; path: '/sys'; dev?: undefined };

export interface CreateOptions {
  /** The first mount must be `{type: "ext2", path: "/", dev}`. devs, proc, devpts and sys are always mounted at their standard paths; listing them elsewhere is an error. */
  mounts: Mount[];
  /** The console's size at boot (default 24 rows × 80 columns). */
  terminal?: { rows: number; cols: number };
  /** Where worker.js is (default: beside oxvm.js). */
  workerUrl?: string | URL;
  /** Where oxvm.wasm is (default: beside worker.js). */
  wasmUrl?: string | URL;
  /** Guest RAM in MiB (default: the engine's, 1024). */
  memory?: number;
  /** Where persistent overlays and the chunk cache live: OPFS (the default, with IndexedDB where OPFS is missing) or IndexedDB always. */
  storage?: 'opfs' | 'indexeddb';
}

export interface RunOptions {
  /** Environment, as "KEY=value" strings (default: empty). */
  env?: string[];
  /** Working directory (default "/"). */
  cwd?: string;
  uid?: number;
  gid?: number;
  /** The program's stdin, stdout and stderr are the console (default true); false: no terminal, output discarded. */
  console?: boolean;
  /** Called with the pid once the program started. */
  onSpawned?: (pid: number) => void;
}

export interface RunResult {
  /** The exit status: the exit code, 128+signal when killed, 127 (not found) or 126 (cannot execute) when it could not start. */
  status: number;
  pid?: number;
  /** Set when the program could not start. */
  error?: string;
}

export interface DiskStatus {
  requests: number;
  roundTrips: number;
  bytesFetched: number;
  chunksFetched: number;
  hits: number;
  misses: number;
  cacheLoads: number;
  bytesCached: number;
  inflight: number;
}

export interface Status {
  type: 'status';
  /** Guest code ran since the last status. */
  running: boolean;
  instructions: number;
  mips: number;
  disk: DiskStatus;
  /** Bytes the persistent stores hold (chunk cache and overlay), when the engine knows. */
  stored?: number | null;
  /** Where they are kept: "opfs" or "indexeddb", when the engine says. */
  storage?: string | null;
}

/** "wait": busy (the CPU runs guest code, or disk fetches are in flight); "ready": idle. */
export type ActivityState = 'ready' | 'wait';

export interface CallbackMap {
  cpuActivity: (state: ActivityState) => void;
  diskActivity: (state: ActivityState) => void;
  /** Milliseconds one batch of disk fetches took. */
  diskLatency: (ms: number) => void;
  processCreated: (proc: { pid: number; name: string }) => void;
  /** About 4 times a second while anything changes. */
  status: (status: Status) => void;
  /** A diagnostic line from oxvm itself (without a listener they go to console.warn). */
  log: (line: string) => void;
  /** The VM stopped (engine error, terminate() or a disk reset). */
  fatal: (reason: string) => void;
}

export declare class Linux {
  private constructor();
  /** Boots a VM. Rejects when the page is not cross-origin isolated, the mounts are wrong or the engine cannot boot. */
  static create(options: CreateOptions): Promise<Linux>;
  /** What the engine said when it booted. */
  readonly info: Record<string, unknown>;
  /** The last status message. */
  readonly lastStatus: Status | null;
  /** Runs a program; resolves when it exits. */
  run(path: string, args?: string[], opts?: RunOptions): Promise<RunResult>;
  /** Makes an xterm.js terminal in `element` (sized to it, following its size) and connects it as the console. */
  setConsole(element: HTMLElement, options?: ITerminalOptions): Terminal;
  /** Connects a console of your own: guest output goes to `write`; returns the function that sends input. */
  setCustomConsole(write: (data: Uint8Array) => void, cols?: number, rows?: number): (input: BytesLike) => void;
  /** Sends input to the console. */
  input(data: BytesLike): void;
  /** Sets the console's size; the guest gets SIGWINCH. */
  resize(rows: number, cols: number): void;
  registerCallback<K extends keyof CallbackMap>(name: K, cb: CallbackMap[K]): void;
  unregisterCallback<K extends keyof CallbackMap>(name: K, cb: CallbackMap[K]): void;
  /** Creates or replaces a file in the VM. Defaults: uid 0, gid 0, mode 0o644. */
  writeFile(path: string, data: BytesLike, opts?: { uid?: number; gid?: number; mode?: number }): Promise<void>;
  /** Makes a directory with any missing parents (as mkdir -p); the new ones are owned by uid/gid with mode (default 0o755). */
  mkdir(path: string, opts?: { uid?: number; gid?: number; mode?: number }): Promise<void>;
  /** Reads a whole file from the VM. */
  readFile(path: string): Promise<Uint8Array>;
  /** Resolves when every write so far is durable in the overlay store. */
  sync(): Promise<void>;
  /** Stops the VM at once; pending calls reject. */
  terminate(): void;
}

/** Deletes a persistent store by name: the OPFS entries and IndexedDB databases named `name` or `name.<part>`. Fails while a VM uses it. */
export declare function deleteStore(name: string): Promise<void>;

declare const _default: {
  Linux: typeof Linux;
  HttpBytesDevice: typeof HttpBytesDevice;
  ChunkDevice: typeof ChunkDevice;
  OverlayDevice: typeof OverlayDevice;
  DataDevice: typeof DataDevice;
  WebDevice: typeof WebDevice;
  deleteStore: typeof deleteStore;
};
export default _default;
