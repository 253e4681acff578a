//! `oxvm run`: load a program from the root directory and run it until it
//! exits, with the guest's console on ours.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use clap::Args;
use oxvm_kernel::{Creds, ExitStatus, Kernel, RunState, Spawn};

use crate::host::NativeHost;
use crate::root::{self, ResolveError};

#[derive(Args)]
pub struct RunArgs {
    /// Directory holding the guest's root filesystem; PROGRAM is looked up
    /// inside it and cannot escape it.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,

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

/// Instructions per call into the kernel between checks of host events.
const SLICE: u64 = 10_000_000;
/// Searched for a PROGRAM without a slash when the host has no PATH.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Exit codes a shell uses when it cannot run a command.
const EXIT_NOT_FOUND: i32 = 127;
const EXIT_CANNOT_EXEC: i32 = 126;

fn fail(program: &[u8], msg: impl std::fmt::Display, code: i32) -> i32 {
    eprintln!("oxvm: {}: {msg}", String::from_utf8_lossy(program));
    code
}

/// Find the executable: by path, or by name along PATH, inside the root.
fn locate(root: &std::path::Path, cwd: &[u8], program: &[u8]) -> Result<PathBuf, ResolveError> {
    if program.contains(&b'/') {
        return root::resolve(root, cwd, program);
    }
    let path = std::env::var_os("PATH").map(|p| p.into_vec()).unwrap_or_else(|| DEFAULT_PATH.as_bytes().to_vec());
    for dir in path.split(|&b| b == b':').filter(|d| !d.is_empty()) {
        let mut candidate = dir.to_vec();
        candidate.push(b'/');
        candidate.extend_from_slice(program);
        if let Ok(p) = root::resolve(root, cwd, &candidate) {
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(ResolveError::NotFound)
}

/// The real uid/gid of this process, from /proc (std has no getuid).
fn host_creds() -> Creds {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let ids = |key: &str| -> [u32; 2] {
        let mut out = [0; 2];
        if let Some(line) = status.lines().find(|l| l.starts_with(key)) {
            for (o, v) in out.iter_mut().zip(line[key.len()..].split_whitespace()) {
                *o = v.parse().unwrap_or(0);
            }
        }
        out
    };
    let ([uid, euid], [gid, egid]) = (ids("Uid:"), ids("Gid:"));
    Creds { uid, euid, gid, egid }
}

pub fn run(args: RunArgs) -> i32 {
    let program = args.command[0].as_bytes().to_vec();
    if !args.root.is_dir() {
        eprintln!("oxvm: --root {}: not a directory", args.root.display());
        return 2;
    }
    let cwd = root::guest_cwd(&args.root);
    let path = match locate(&args.root, &cwd, &program) {
        Ok(p) => p,
        Err(ResolveError::NotFound) => return fail(&program, "No such file or directory", EXIT_NOT_FOUND),
        Err(e) => return fail(&program, e, EXIT_CANNOT_EXEC),
    };
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {}
        Ok(_) => return fail(&program, "Permission denied", EXIT_CANNOT_EXEC),
        Err(e) => return fail(&program, e, EXIT_CANNOT_EXEC),
    }
    let image = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => return fail(&program, e, EXIT_CANNOT_EXEC),
    };

    let mut kernel = Kernel::new(Box::new(NativeHost::new()));
    kernel.set_strace(args.strace);
    kernel.set_memory_limit(args.memory.saturating_mul(1 << 20));
    let spawn = Spawn {
        image: &image,
        argv: args.command.iter().map(|a| a.as_bytes().to_vec()).collect(),
        envp: std::env::vars_os()
            .map(|(k, v)| {
                let mut e = k.into_vec();
                e.push(b'=');
                e.extend(v.into_vec());
                e
            })
            .collect(),
        execfn: program.clone(),
        creds: host_creds(),
    };
    if let Err(e) = kernel.spawn(&spawn) {
        return fail(&program, e, EXIT_CANNOT_EXEC);
    }
    let start = std::time::Instant::now();
    loop {
        let state = kernel.run(SLICE);
        if args.stats && matches!(state, RunState::Exited(_)) {
            let (n, t) = (kernel.instructions(), start.elapsed().as_secs_f64());
            eprintln!("oxvm: {n} instructions in {t:.3} s ({:.1} MIPS)", n as f64 / t / 1e6);
        }
        match state {
            RunState::Runnable => {}
            RunState::Idle { until: Some(t) } => {
                let now = kernel.host_mut().now(oxvm_kernel::Clock::Monotonic);
                std::thread::sleep(std::time::Duration::from_nanos(t.saturating_sub(now)));
            }
            RunState::Idle { until: None } => {
                // Console reads block natively, so nothing can wake a task
                // that waits with no deadline.
                eprintln!("oxvm: every task is blocked; stopping");
                return EXIT_CANNOT_EXEC;
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
