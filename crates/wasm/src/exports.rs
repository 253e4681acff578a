//! The functions the JavaScript host calls. Numbers in, numbers out; byte
//! buffers are passed as (pointer, length) into memory the host obtained
//! with [`oxvm_alloc`]; results that are not numbers are left in a result
//! buffer the host reads at [`oxvm_result_ptr`] / [`oxvm_result_len`].
//! Errors are a negative return with the message in the result buffer.

use std::cell::RefCell;
use std::rc::Rc;

use oxvm_kernel::{Creds, Errno, ExecError, ExitStatus, Kernel, RunState, SpawnPath};
use serde::Deserialize;
use serde_json::json;

use crate::disk::{open_disk, DiskConfig};
use crate::host::{StreamInput, WasmHost};

/// The running machine.
struct Machine {
    kernel: Kernel,
    input: Rc<RefCell<StreamInput>>,
    terminal: bool,
    /// The monotonic deadline (ns) of the last `Idle` run, if any.
    idle_until: Option<u64>,
    overlay_store: Option<String>,
    image_id: String,
}

thread_local! {
    static MACHINE: RefCell<Option<Machine>> = const { RefCell::new(None) };
    static RESULT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn set_result(bytes: Vec<u8>) {
    RESULT.with(|r| *r.borrow_mut() = bytes);
}

fn fail(msg: impl std::fmt::Display) -> i32 {
    set_result(msg.to_string().into_bytes());
    -1
}

fn with_machine<T>(f: impl FnOnce(&mut Machine) -> T) -> Option<T> {
    MACHINE.with(|m| m.borrow_mut().as_mut().map(f))
}

/// # Safety
/// `(ptr, len)` must be a buffer the host filled, from [`oxvm_alloc`].
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller passes a live allocation of `len` bytes.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// Memory for the host to pass bytes in; freed with [`oxvm_free`].
#[no_mangle]
pub extern "C" fn oxvm_alloc(len: usize) -> *mut u8 {
    let mut v = std::mem::ManuallyDrop::new(Vec::<u8>::with_capacity(len.max(1)));
    v.as_mut_ptr()
}

/// # Safety
/// `ptr` must come from [`oxvm_alloc`] with the same `len`.
#[no_mangle]
pub unsafe extern "C" fn oxvm_free(ptr: *mut u8, len: usize) {
    // SAFETY: rebuilds the Vec oxvm_alloc leaked, with its capacity.
    drop(unsafe { Vec::from_raw_parts(ptr, 0, len.max(1)) });
}

#[no_mangle]
pub extern "C" fn oxvm_result_ptr() -> *const u8 {
    RESULT.with(|r| r.borrow().as_ptr())
}

#[no_mangle]
pub extern "C" fn oxvm_result_len() -> usize {
    RESULT.with(|r| r.borrow().len())
}

#[derive(Deserialize)]
struct BootConfig {
    disk: DiskConfig,
    #[serde(default)]
    mounts: Vec<MountConfig>,
    /// rows, columns; None: the console is a byte stream.
    #[serde(default)]
    terminal: Option<TerminalConfig>,
    /// Guest memory limit in MiB.
    #[serde(default = "default_memory")]
    memory: u64,
}

fn default_memory() -> u64 {
    1024
}

#[derive(Deserialize)]
struct TerminalConfig {
    rows: u16,
    cols: u16,
}

#[derive(Deserialize)]
struct MountConfig {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    /// For "dir": the most bytes its files may hold (default 256 MiB).
    #[serde(default)]
    size: Option<u64>,
    /// For "ext2": the image, as the root's `disk`.
    #[serde(default)]
    disk: Option<DiskConfig>,
    /// For "web": the directory's URL (holding `index.json`).
    #[serde(default)]
    url: Option<String>,
}

/// Boot from a JSON config (see `web/src/engine/PROTOCOL.md`): open the
/// disk, mount it as the root, add the extra mounts. 0, or -1 with the
/// reason. The result buffer then holds `{"image": id, "overlay": store}`.
///
/// # Safety
/// `(ptr, len)` must be a host buffer from [`oxvm_alloc`].
#[no_mangle]
pub unsafe extern "C" fn oxvm_boot(ptr: *const u8, len: usize) -> i32 {
    // SAFETY: as the caller promises.
    let cfg: BootConfig = match serde_json::from_slice(unsafe { bytes(ptr, len) }) {
        Ok(c) => c,
        Err(e) => return fail(format_args!("bad boot config: {e}")),
    };
    let disk = match open_disk(&cfg.disk) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let fs = match oxvm_ext2::Ext2::open(disk.device) {
        Ok(fs) => fs,
        Err(e) => return fail(format_args!("{}: not a usable ext2 image: {e}", cfg.disk.url)),
    };
    let input = Rc::new(RefCell::new(StreamInput::default()));
    let terminal = cfg.terminal.as_ref().map(|t| (t.rows, t.cols));
    let mut kernel = Kernel::new(Box::new(WasmHost { terminal, input: input.clone() }));
    kernel.set_service_mode();
    kernel.set_memory_limit(cfg.memory.saturating_mul(1 << 20));
    kernel.set_image_root(fs);
    for m in &cfg.mounts {
        let r = match (m.kind.as_str(), &m.disk) {
            ("dir", _) => kernel.mount_tmpfs(m.path.as_bytes(), m.size.unwrap_or(256 << 20)),
            ("ext2", Some(d)) => {
                let opened = match open_disk(d) {
                    Ok(o) => o,
                    Err(e) => return fail(format_args!("the ext2 mount at {}: {e}", m.path)),
                };
                match oxvm_ext2::Ext2::open(opened.device) {
                    Ok(fs) => kernel.mount_image(m.path.as_bytes(), fs),
                    Err(e) => return fail(format_args!("the ext2 mount at {}: {}: not a usable ext2 image: {e}", m.path, d.url)),
                }
            }
            ("ext2", None) => return fail(format_args!("the ext2 mount at {} names no disk", m.path)),
            ("web", _) => {
                let Some(url) = &m.url else { return fail(format_args!("the web mount at {} names no url", m.path)) };
                match crate::disk::mount_web(&mut kernel, &m.path, url) {
                    Ok(()) => Ok(()),
                    Err(e) => return fail(format_args!("the web directory at {}: {e}", m.path)),
                }
            }
            (other, _) => {
                return fail(format_args!(
                    "mount type {other:?} at {}: the engine mounts \"ext2\" images, \"dir\" (in-memory files) and \"web\" directories",
                    m.path
                ))
            }
        };
        if let Err(e) = r {
            return fail(format_args!("mounting {} at {}: {}", m.kind, m.path, e.text()));
        }
    }
    set_result(json!({"image": disk.id, "overlay": disk.overlay_store}).to_string().into_bytes());
    MACHINE.with(|m| {
        *m.borrow_mut() = Some(Machine {
            kernel,
            input,
            terminal: terminal.is_some(),
            idle_until: None,
            overlay_store: disk.overlay_store,
            image_id: disk.id,
        })
    });
    0
}

#[derive(Deserialize)]
struct SpawnRequest {
    path: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default = "root_dir")]
    cwd: String,
    #[serde(default)]
    uid: u32,
    #[serde(default)]
    gid: u32,
    #[serde(default = "yes")]
    console: bool,
}

fn root_dir() -> String {
    "/".into()
}

fn yes() -> bool {
    true
}

/// Searched for a program without a slash when the env has no PATH.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Start a program: the pid, or the exit status a shell would give when it
/// cannot (127 not found, 126 cannot execute), negated, with the reason.
///
/// # Safety
/// `(ptr, len)` must be a host buffer from [`oxvm_alloc`].
#[no_mangle]
pub unsafe extern "C" fn oxvm_spawn(ptr: *const u8, len: usize) -> f64 {
    // SAFETY: as the caller promises.
    let req: SpawnRequest = match serde_json::from_slice(unsafe { bytes(ptr, len) }) {
        Ok(r) => r,
        Err(e) => {
            fail(format_args!("bad run request: {e}"));
            return -126.0;
        }
    };
    with_machine(|m| {
        let creds = Creds { uid: req.uid, euid: req.uid, gid: req.gid, egid: req.gid };
        if !m.kernel.is_dir(req.cwd.as_bytes()) {
            fail(format_args!("{}: the working directory does not exist", req.cwd));
            return -126.0;
        }
        let path = if req.path.contains('/') {
            Some(req.path.clone())
        } else {
            let search = req.env.iter().find_map(|e| e.strip_prefix("PATH=")).unwrap_or(DEFAULT_PATH);
            search
                .split(':')
                .filter(|d| !d.is_empty())
                .map(|d| format!("{d}/{}", req.path))
                .find(|c| m.kernel.is_file(req.cwd.as_bytes(), c.as_bytes()))
        };
        let Some(path) = path else {
            fail(format_args!("{}: command not found", req.path));
            return -127.0;
        };
        let mut argv = vec![req.path.clone().into_bytes()];
        argv.extend(req.args.iter().map(|a| a.clone().into_bytes()));
        let spawn = SpawnPath {
            path: path.as_bytes(),
            argv,
            envp: req.env.iter().map(|e| e.clone().into_bytes()).collect(),
            cwd: req.cwd.as_bytes(),
            creds,
        };
        match m.kernel.spawn_program(&spawn, req.console) {
            Ok(pid) => f64::from(pid),
            Err(e) => {
                let code = if e.errno() == Errno::ENOENT && !matches!(e, ExecError::BadInterpreter(_)) { 127.0 } else { 126.0 };
                fail(format_args!("{}: {e}", req.path));
                -code
            }
        }
    })
    .unwrap_or_else(|| {
        fail("the machine is not booted");
        -126.0
    })
}

/// Run guest code for at most `budget` instructions: 0 there is more to
/// do; 1 every task waits, until [`oxvm_idle_until`] at the latest; 2
/// every task waits for input (or none is left); -1 not booted.
#[no_mangle]
pub extern "C" fn oxvm_run(budget: f64) -> i32 {
    with_machine(|m| match m.kernel.run(budget.max(0.0) as u64) {
        RunState::Runnable => 0,
        RunState::Idle { until: Some(t) } => {
            m.idle_until = Some(t);
            1
        }
        RunState::Idle { until: None } => 2,
        // Not in service mode: the kernel never ends the machine itself.
        RunState::Exited(_) => 2,
    })
    .unwrap_or(-1)
}

/// The monotonic time (ms, the host's clock 1) the last idle run waits for.
#[no_mangle]
pub extern "C" fn oxvm_idle_until() -> f64 {
    with_machine(|m| m.idle_until.map_or(-1.0, |t| t as f64 / 1e6)).unwrap_or(-1.0)
}

/// The programs that ended since the last call, as JSON `[[pid, status]]`
/// in the result buffer (status as a shell reports it: the exit code, or
/// 128 + the signal); returns how many.
#[no_mangle]
pub extern "C" fn oxvm_exits() -> usize {
    let exits = with_machine(|m| m.kernel.take_exits()).unwrap_or_default();
    let list: Vec<(u32, i32)> = exits.iter().map(|&(pid, st)| (pid, shell_status(st))).collect();
    set_result(serde_json::to_vec(&list).unwrap_or_default());
    list.len()
}

/// The processes created since the last call, as JSON `[[pid, name]]` in
/// the result buffer; returns how many.
#[no_mangle]
pub extern "C" fn oxvm_created() -> usize {
    let created = with_machine(|m| m.kernel.take_created()).unwrap_or_default();
    set_result(serde_json::to_vec(&created).unwrap_or_default());
    created.len()
}

fn shell_status(s: ExitStatus) -> i32 {
    s.shell_code()
}

/// Key bytes from the terminal (or, without one, bytes for stdin).
///
/// # Safety
/// `(ptr, len)` must be a host buffer from [`oxvm_alloc`].
#[no_mangle]
pub unsafe extern "C" fn oxvm_input(ptr: *const u8, len: usize) {
    // SAFETY: as the caller promises.
    let data = unsafe { bytes(ptr, len) };
    with_machine(|m| {
        if m.terminal {
            m.kernel.console_input(data);
        } else {
            m.input.borrow_mut().bytes.extend(data);
        }
    });
}

/// End of file on a non-terminal console's stdin.
#[no_mangle]
pub extern "C" fn oxvm_close_input() {
    with_machine(|m| m.input.borrow_mut().closed = true);
}

/// The terminal's new size (TIOCGWINSZ; SIGWINCH to its foreground group).
#[no_mangle]
pub extern "C" fn oxvm_resize(rows: u32, cols: u32) {
    let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX).max(1);
    with_machine(|m| m.kernel.console_resize(clamp(rows), clamp(cols)));
}

#[derive(Deserialize)]
struct WriteFileRequest {
    path: String,
    #[serde(default)]
    uid: u32,
    #[serde(default)]
    gid: u32,
    #[serde(default = "file_mode")]
    mode: u32,
}

fn file_mode() -> u32 {
    0o644
}

/// Put a file into the guest (`{path, uid, gid, mode}` and its bytes).
///
/// # Safety
/// Both buffers must be host buffers from [`oxvm_alloc`].
#[no_mangle]
pub unsafe extern "C" fn oxvm_write_file(req: *const u8, req_len: usize, data: *const u8, data_len: usize) -> i32 {
    // SAFETY: as the caller promises.
    let (req, data) = unsafe { (bytes(req, req_len), bytes(data, data_len)) };
    let req: WriteFileRequest = match serde_json::from_slice(req) {
        Ok(r) => r,
        Err(e) => return fail(format_args!("bad writeFile request: {e}")),
    };
    match with_machine(|m| m.kernel.write_file(req.path.as_bytes(), data, req.uid, req.gid, req.mode)) {
        Some(Ok(())) => 0,
        Some(Err(e)) => fail(format_args!("{}: {}", req.path, e.text())),
        None => fail("the machine is not booted"),
    }
}

#[derive(Deserialize)]
struct MkdirRequest {
    path: String,
    #[serde(default)]
    uid: u32,
    #[serde(default)]
    gid: u32,
    #[serde(default = "dir_mode")]
    mode: u32,
}

fn dir_mode() -> u32 {
    0o755
}

/// Make a directory and its missing parents (`{path, uid, gid, mode}`).
///
/// # Safety
/// `(ptr, len)` must be a host buffer from [`oxvm_alloc`].
#[no_mangle]
pub unsafe extern "C" fn oxvm_mkdir(ptr: *const u8, len: usize) -> i32 {
    // SAFETY: as the caller promises.
    let req: MkdirRequest = match serde_json::from_slice(unsafe { bytes(ptr, len) }) {
        Ok(r) => r,
        Err(e) => return fail(format_args!("bad mkdir request: {e}")),
    };
    match with_machine(|m| m.kernel.make_dirs(req.path.as_bytes(), req.uid, req.gid, req.mode)) {
        Some(Ok(())) => 0,
        Some(Err(e)) => fail(format_args!("{}: {}", req.path, e.text())),
        None => fail("the machine is not booted"),
    }
}

/// Read a guest file whole into the result buffer; its length, or -1.
///
/// # Safety
/// `(ptr, len)` must be a host buffer from [`oxvm_alloc`].
#[no_mangle]
pub unsafe extern "C" fn oxvm_read_file(ptr: *const u8, len: usize) -> f64 {
    // SAFETY: as the caller promises.
    let path = unsafe { bytes(ptr, len) }.to_vec();
    match with_machine(|m| m.kernel.read_file(&path)) {
        Some(Ok(data)) => {
            let n = data.len();
            set_result(data);
            n as f64
        }
        Some(Err(e)) => f64::from(fail(format_args!("{}: {}", String::from_utf8_lossy(&path), e.text()))),
        None => f64::from(fail("the machine is not booted")),
    }
}

/// Make every write so far durable in the overlay's store.
#[no_mangle]
pub extern "C" fn oxvm_sync() -> i32 {
    match with_machine(|m| m.kernel.sync_disks()) {
        Some(Ok(())) => 0,
        Some(Err(e)) => fail(format_args!("writing the disk back failed: {}", e.text())),
        None => fail("the machine is not booted"),
    }
}

/// Counters for the status bar, as JSON in the result buffer.
#[no_mangle]
pub extern "C" fn oxvm_stats() -> usize {
    let v = with_machine(|m| {
        let disks: Vec<_> = m
            .kernel
            .disk_stats()
            .iter()
            .map(|s| {
                json!({
                    "roundTrips": s.round_trips, "requests": s.requests, "bytesFetched": s.bytes_fetched,
                    "chunksFetched": s.chunks_fetched, "hits": s.hits, "misses": s.misses, "cacheLoads": s.cache_loads,
                })
            })
            .collect();
        json!({
            "instructions": m.kernel.instructions(),
            "memoryFrames": m.kernel.frames_in_use(),
            "tasks": m.kernel.has_tasks(),
            "image": m.image_id,
            "overlay": m.overlay_store,
            "disk": disks.first().cloned().unwrap_or(json!({})),
        })
    });
    let out = v.map(|v| v.to_string().into_bytes()).unwrap_or_default();
    let n = out.len();
    set_result(out);
    n
}

/// Write the disk back and drop the machine (before "reset disk" removes
/// its overlay, or when the page closes).
#[no_mangle]
pub extern "C" fn oxvm_shutdown() -> i32 {
    let Some(mut m) = MACHINE.with(|m| m.borrow_mut().take()) else { return 0 };
    let r = m.kernel.shutdown_disks();
    drop(m);
    match r {
        Ok(()) => 0,
        Err(e) => fail(format_args!("writing the disk back failed: {}", e.text())),
    }
}
