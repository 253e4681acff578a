//! `oxvm run`: run a program from the root directory until it exits, with
//! the guest's console on ours.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use clap::Args;
use oxvm_kernel::fs::hostfs;
use oxvm_kernel::{Creds, Errno, ExecError, ExitStatus, Kernel, Rlimit, RunState, SpawnPath, RLIM_NLIMITS};

use crate::host::NativeHost;

#[derive(Args)]
pub struct RunArgs {
    /// Directory holding the guest's root filesystem. The guest cannot
    /// reach anything outside it: `..` stops at it and symlinks resolve
    /// inside it.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,

    /// Run from an ext2 disk image instead of a directory: an image file,
    /// the http(s) URL of one (read with range requests), or a chunk
    /// store's manifest (a path or URL, see `oxvm image publish`). Only the
    /// blocks used are read.
    #[arg(long, value_name = "SOURCE", conflicts_with = "root")]
    image: Option<String>,

    /// Keep the image's writes in DIR (default: a directory per image under
    /// $XDG_CACHE_HOME/oxvm or ~/.cache/oxvm). The image itself is never
    /// modified.
    #[arg(long, value_name = "DIR", requires = "image", conflicts_with = "ephemeral")]
    overlay: Option<PathBuf>,

    /// Keep the image's writes in memory only: they vanish at exit.
    #[arg(long, requires = "image")]
    ephemeral: bool,

    /// Write the byte ranges of the image the run read to FILE at exit
    /// (input for `oxvm image publish --prefetch-from`).
    #[arg(long, value_name = "FILE", requires = "image")]
    record_reads: Option<PathBuf>,

    /// Mount a read-only web directory (repeatable): the tree described by
    /// URL/index.json (see `oxvm image index`) on the guest directory
    /// GUEST_PATH; files are fetched with HTTP range requests when read.
    #[arg(long = "web-dir", value_name = "GUEST_PATH=URL", value_parser = crate::webdir::web_dir_arg)]
    web_dir: Vec<(String, String)>,

    /// Set a guest environment variable (repeatable); the guest inherits
    /// oxvm's environment otherwise.
    #[arg(long = "env", value_name = "K=V", value_parser = env_assignment)]
    env: Vec<OsString>,

    /// The guest's working directory (a path inside the root). Default:
    /// the current directory if it lies inside the root, else /.
    #[arg(long, value_name = "DIR")]
    cwd: Option<OsString>,

    /// The guest's user id (default: ours).
    #[arg(long, value_name = "N")]
    uid: Option<u32>,

    /// The guest's group id (default: ours).
    #[arg(long, value_name = "N")]
    gid: Option<u32>,

    /// Print each syscall, its arguments and result to stderr.
    #[arg(long)]
    strace: bool,

    /// Print instructions executed, time and speed to stderr at exit.
    #[arg(long)]
    stats: bool,

    /// Guest memory limit in MiB; a guest needing more is killed (SIGKILL).
    #[arg(long, value_name = "MiB", default_value_t = 2048)]
    memory: u64,

    /// The program (a path inside the root, or a name searched in PATH)
    /// and its arguments.
    #[arg(value_name = "PROGRAM", required = true, trailing_var_arg = true)]
    command: Vec<OsString>,
}

/// Pass the terminal's pending key bytes to the guest; false at end of file.
fn feed(kernel: &mut Kernel, buf: &mut [u8]) -> bool {
    match crate::terminal::read_stdin(buf) {
        Some(n) => {
            kernel.console_input(&buf[..n]);
            true
        }
        None => false,
    }
}

/// Instructions per call into the kernel between checks of host events.
const SLICE: u64 = 10_000_000;
/// Searched for a PROGRAM without a slash when the guest has no PATH.
const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Exit codes a shell uses when it cannot run a command.
const EXIT_NOT_FOUND: i32 = 127;
const EXIT_CANNOT_EXEC: i32 = 126;

fn fail(program: &[u8], msg: impl std::fmt::Display, code: i32) -> i32 {
    eprintln!("oxvm: {}: {msg}", String::from_utf8_lossy(program));
    code
}

/// The real and effective ids of this process.
fn host_creds() -> Creds {
    // SAFETY: these calls have no arguments and cannot fail.
    let (uid, euid, gid, egid) = unsafe { (libc::getuid(), libc::geteuid(), libc::getgid(), libc::getegid()) };
    Creds { uid, euid, gid, egid }
}

/// Our resource limits, which the guest inherits as a child would.
/// The signals we were started ignoring: the guest inherits them, as an
/// exec'd program does. Read before the runner installs its own handlers.
/// SIGPIPE is left out: Rust's runtime ignores it in every program before
/// main, so whether our parent did cannot be told.
fn host_ignored_signals() -> u64 {
    let mut set = 0u64;
    for sig in (1..=64).filter(|&s| s != libc::SIGPIPE) {
        // SAFETY: a zeroed sigaction is a valid out-parameter, and a null
        // new action only queries.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: see above; invalid numbers just fail.
        if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } == 0 && old.sa_sigaction == libc::SIG_IGN {
            set |= 1 << (sig - 1);
        }
    }
    set
}

fn host_rlimits() -> [Rlimit; RLIM_NLIMITS] {
    let mut out = [Rlimit { cur: u64::MAX, max: u64::MAX }; RLIM_NLIMITS];
    for (i, o) in out.iter_mut().enumerate() {
        let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes one struct rlimit, which `r` is.
        if unsafe { libc::getrlimit(i as _, &mut r) } == 0 {
            *o = Rlimit { cur: r.rlim_cur, max: r.rlim_max };
        }
    }
    out
}

/// Lift our soft descriptor limit to the hard one: the host filesystem
/// holds a descriptor per open guest file and per directory in use, so
/// the guest's limit (inherited above) must not be ours.
fn raise_nofile() {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit read and write one struct rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// The guest's working directory: the host's, if it lies inside the root,
/// else "/".
fn default_cwd(root: &Path) -> Vec<u8> {
    let (Ok(root), Ok(cwd)) = (root.canonicalize(), std::env::current_dir().and_then(|d| d.canonicalize())) else {
        return b"/".to_vec();
    };
    match cwd.strip_prefix(&root) {
        Ok(rel) => {
            let mut g = b"/".to_vec();
            g.extend_from_slice(rel.as_os_str().as_bytes());
            g
        }
        Err(_) => b"/".to_vec(),
    }
}

/// An --env value must be NAME=VALUE with a non-empty name.
fn env_assignment(s: &str) -> Result<OsString, String> {
    match s.split_once('=') {
        Some((k, _)) if !k.is_empty() => Ok(OsString::from(s)),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

/// The guest environment: ours, then the --env overrides.
fn guest_env(overrides: &[OsString]) -> Vec<Vec<u8>> {
    let mut env: Vec<Vec<u8>> = std::env::vars_os()
        .map(|(k, v)| {
            let mut e = k.into_vec();
            e.push(b'=');
            e.extend(v.into_vec());
            e
        })
        .collect();
    for o in overrides {
        let o = o.as_bytes();
        let key = &o[..o.iter().position(|&b| b == b'=').unwrap_or(o.len())];
        env.retain(|e| !(e.starts_with(key) && e.get(key.len()) == Some(&b'=')));
        env.push(o.to_vec());
    }
    env
}

/// Find the program: a path as given, or a name along the guest's PATH.
fn locate(kernel: &Kernel, cwd: &[u8], env: &[Vec<u8>], program: &[u8]) -> Option<Vec<u8>> {
    if program.contains(&b'/') {
        return Some(program.to_vec());
    }
    let path = env.iter().find_map(|e| e.strip_prefix(b"PATH=")).unwrap_or(DEFAULT_PATH);
    path.split(|&b| b == b':').filter(|d| !d.is_empty()).find_map(|dir| {
        let mut candidate = dir.to_vec();
        candidate.push(b'/');
        candidate.extend_from_slice(program);
        kernel.is_file(cwd, &candidate).then_some(candidate)
    })
}

/// The guest's root: a host directory, or an ext2 image on its block stack.
enum Root {
    Dir(oxvm_kernel::vfs::InodeRef),
    Image(Box<oxvm_ext2::Ext2<Box<dyn oxvm_block::BlockDevice>>>, Option<oxvm_block::record::Reads>),
}

fn open_root(args: &RunArgs) -> Result<Root, String> {
    let Some(source) = &args.image else {
        return hostfs::open_root(&args.root).map(Root::Dir).map_err(|e| format!("--root {}: {}", args.root.display(), e.text()));
    };
    let overlay = match (&args.overlay, args.ephemeral) {
        (_, true) => oxvm_block::OverlayMode::Ephemeral,
        (Some(dir), false) => oxvm_block::OverlayMode::Dir(dir.clone()),
        (None, false) => oxvm_block::OverlayMode::Default,
    };
    let opts = oxvm_block::ImageOptions { overlay, ..Default::default() };
    let opened = oxvm_block::open_image(source, &opts).map_err(|e| format!("--image {source}: {e}"))?;
    let (device, reads): (Box<dyn oxvm_block::BlockDevice>, _) = match &args.record_reads {
        Some(_) => {
            let (d, r) = oxvm_block::record::RecordingDevice::new(opened.device);
            (Box::new(d), Some(r))
        }
        None => (opened.device, None),
    };
    let fs = oxvm_ext2::Ext2::open(device).map_err(|e| format!("--image {source}: not a usable ext2 image: {e}"))?;
    Ok(Root::Image(Box::new(fs), reads))
}

pub fn run(args: RunArgs) -> i32 {
    let program = args.command[0].as_bytes().to_vec();
    let root = match open_root(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("oxvm: {e}");
            return 2;
        }
    };
    let cwd = match (&args.cwd, &root) {
        (Some(c), _) => c.as_bytes().to_vec(),
        (None, Root::Dir(_)) => default_cwd(&args.root),
        (None, Root::Image(..)) => b"/".to_vec(),
    };
    let env = guest_env(&args.env);
    let mut creds = host_creds();
    if let Some(u) = args.uid {
        (creds.uid, creds.euid) = (u, u);
    }
    if let Some(g) = args.gid {
        (creds.gid, creds.egid) = (g, g);
    }

    let terminal = crate::terminal::describe();
    let wants_input = std::rc::Rc::new(std::cell::Cell::new(false));
    let mut kernel = Kernel::new(Box::new(NativeHost::new(terminal, wants_input.clone())));
    let reads = match root {
        Root::Dir(r) => {
            kernel.set_root(r);
            None
        }
        Root::Image(fs, reads) => {
            kernel.set_image_root(*fs);
            reads
        }
    };
    if let Err(e) = crate::webdir::mount_all(&mut kernel, &args.web_dir) {
        eprintln!("oxvm: {e}");
        return 2;
    }
    let code = run_guest(&args, &mut kernel, &cwd, env, creds, &program, wants_input);
    if let (Some(path), Some(reads)) = (&args.record_reads, reads) {
        if let Err(e) = std::fs::write(path, oxvm_block::record::format_reads(&reads.borrow())) {
            eprintln!("oxvm: --record-reads {}: {e}", path.display());
        }
    }
    code
}

/// Spawn the program and run the guest until it ends; the exit code.
fn run_guest(
    args: &RunArgs,
    kernel: &mut Kernel,
    cwd: &[u8],
    env: Vec<Vec<u8>>,
    creds: Creds,
    program: &[u8],
    wants_input: std::rc::Rc<std::cell::Cell<bool>>,
) -> i32 {
    let terminal = crate::terminal::describe();
    kernel.set_rlimits(host_rlimits());
    kernel.set_ignored_signals(host_ignored_signals());
    // SAFETY: getpriority only reads the calling process's nice value.
    kernel.set_nice(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) });
    raise_nofile();
    kernel.set_strace(args.strace);
    kernel.set_memory_limit(args.memory.saturating_mul(1 << 20));
    if args.cwd.is_some() && !kernel.is_dir(cwd) {
        eprintln!("oxvm: --cwd {}: not a directory inside the root", String::from_utf8_lossy(cwd));
        return 2;
    }
    let Some(path) = locate(kernel, cwd, &env, program) else {
        return fail(program, "command not found", EXIT_NOT_FOUND);
    };
    let spawn = SpawnPath { path: &path, argv: args.command.iter().map(|a| a.as_bytes().to_vec()).collect(), envp: env, cwd, creds };
    if let Err(e) = kernel.spawn_path(&spawn) {
        let code = if e.errno() == Errno::ENOENT && !matches!(e, ExecError::BadInterpreter(_)) { EXIT_NOT_FOUND } else { EXIT_CANNOT_EXEC };
        return fail(program, e, code);
    }
    let start = std::time::Instant::now();
    // With a terminal console the guest's line discipline takes over: our
    // terminal goes raw and we pass it key bytes.
    let raw = terminal.and_then(|t| crate::terminal::terminal_fd(t.streams)).and_then(crate::terminal::RawMode::enter);
    // Key bytes come from stdin when it is the terminal.
    let keys = terminal.is_some_and(|t| t.streams & 1 != 0);
    let mut stdin_open = true;
    let mut buf = [0u8; 4096];
    loop {
        if let Some(r) = &raw {
            if r.resized() {
                if let Some([rows, cols, ..]) = crate::terminal::winsize(r.fd) {
                    kernel.console_resize(rows, cols);
                }
            }
        }
        let state = kernel.run(SLICE);
        if args.stats && matches!(state, RunState::Exited(_)) {
            let (n, t) = (kernel.instructions(), start.elapsed().as_secs_f64());
            eprintln!("oxvm: {n} instructions in {t:.3} s ({:.1} MIPS)", n as f64 / t / 1e6);
            for m in kernel.web_mounts() {
                let s = m.stats();
                eprintln!(
                    "oxvm: web directory: {} round trips, {} requests, {} bytes fetched, {} cache hits",
                    s.batches, s.requests, s.bytes, s.hits
                );
            }
            for s in kernel.disk_stats() {
                eprintln!(
                    "oxvm: disk: {} round trips, {} requests, {} bytes fetched ({} chunks), {} hits, {} misses, {} chunks from the cache",
                    s.round_trips, s.requests, s.bytes_fetched, s.chunks_fetched, s.hits, s.misses, s.cache_loads
                );
            }
        }
        match state {
            RunState::Runnable => {
                if keys && stdin_open && crate::terminal::wait_stdin(0) != 0 {
                    stdin_open = feed(kernel, &mut buf);
                }
            }
            RunState::Idle { until } => {
                // Stdin can wake the guest when it is the terminal (keys) or
                // when a guest read found nothing there yet.
                let watch = stdin_open && (keys || wants_input.take());
                let timeout = match until {
                    Some(t) => {
                        let now = kernel.host_mut().now(oxvm_kernel::Clock::Monotonic);
                        i32::try_from(t.saturating_sub(now).div_ceil(1_000_000)).unwrap_or(i32::MAX)
                    }
                    None if watch => -1,
                    None => {
                        eprintln!("oxvm: every task is blocked; stopping");
                        if let Err(e) = kernel.shutdown_disks() {
                            eprintln!("oxvm: writing the disk image back failed: {}", e.text());
                        }
                        return EXIT_CANNOT_EXEC;
                    }
                };
                if !watch {
                    std::thread::sleep(std::time::Duration::from_millis(timeout.max(0) as u64));
                } else if crate::terminal::wait_stdin(timeout) != 0 && keys {
                    stdin_open = feed(kernel, &mut buf);
                }
                // Otherwise input (or its end) is there for the waiting
                // guest read: it takes it when run again.
            }
            RunState::Exited(status) => {
                match (status, kernel.fatal_fault()) {
                    (ExitStatus::Signaled(sig), Some(f)) if f.out_of_memory => {
                        eprintln!("oxvm: guest killed by {sig}: out of memory (limit {} MiB) at {:#x}", args.memory, f.rip)
                    }
                    (ExitStatus::Signaled(sig), Some(f)) => {
                        eprintln!("oxvm: guest killed by {sig} at {:#x} (address {:#x})", f.rip, f.addr)
                    }
                    _ => {}
                }
                return status.shell_code();
            }
        }
    }
}
