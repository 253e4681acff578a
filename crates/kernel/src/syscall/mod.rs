//! The syscall layer: decode the registers, look the number up in
//! [`table`], run the handler, put the result in RAX.
//!
//! One file per syscall family; the handlers read like the man page and
//! leave the real work to the subsystems (`mm`, `loader`, ...).

pub mod access;
pub mod arch;
pub mod attr;
pub mod capability;
pub mod copy;
pub mod cwd;
pub mod epoll;
pub mod eventfd;
pub mod exec;
pub mod exit;
pub mod fcntl;
pub mod getdents;
pub mod id;
pub mod inotify;
pub mod ioctl;
pub mod lock;
pub mod memfd;
pub mod mlock;
pub mod mm;
pub mod msg;
pub mod namei;
pub mod open;
pub mod pipe;
pub mod poll;
pub mod read_write;
pub mod rusage;
pub mod sched;
pub mod signal;
pub mod signalfd;
pub mod sigwait;
pub mod socket;
pub mod sockopt;
pub mod splice;
pub mod stat;
pub mod statfs;
pub mod strace;
pub mod system;
pub mod table;
pub mod thread;
pub mod time;
pub mod timer;
pub mod timerfd;
pub mod xattr;

use std::collections::HashSet;

use oxvm_cpu::state::reg;
use oxvm_cpu::{CpuState, Memory};

use crate::errno::Errno;
use crate::host::Host;
use std::rc::Rc;

use crate::mm::UserSpace;
use crate::task::Process;
use crate::vfs::{Dentry, FileType, OpenFile, PATH_MAX};

/// A syscall's number and raw arguments, as the x86-64 ABI passes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallArgs {
    pub nr: u64,
    pub args: [u64; 6],
}

impl SyscallArgs {
    /// Number in RAX; arguments in RDI, RSI, RDX, R10, R8, R9.
    pub fn from_cpu(cpu: &CpuState) -> Self {
        let g = &cpu.gpr;
        SyscallArgs { nr: g[reg::RAX], args: [g[reg::RDI], g[reg::RSI], g[reg::RDX], g[reg::R10], g[reg::R8], g[reg::R9]] }
    }

    pub fn arg(&self, i: usize) -> u64 {
        self.args[i]
    }
}

/// What a handler asks the dispatcher to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallReturn {
    /// Put this value in RAX and continue.
    Return(u64),
    /// The task is gone (exit); nothing to return to.
    NoReturn,
    /// The task must wait; the syscall restarts from scratch when the task
    /// next runs.
    Block,
    /// Put `value` in RAX, then sleep until the monotonic time `until`
    /// (ns) before continuing.
    Sleep { until: u64, value: u64 },
}

pub type SyscallResult = Result<SyscallReturn, Errno>;

/// Everything a handler may touch.
pub struct Ctx<'a> {
    pub cpu: &'a mut CpuState,
    /// The calling thread's id.
    pub tid: crate::task::Pid,
    /// The calling thread's set_tid_address pointer.
    pub clear_child_tid: &'a mut u64,
    /// The calling thread's set_robust_list (head, length).
    pub robust_list: &'a mut (u64, u64),
    /// The wait queues (with their generations) of the files this call
    /// looked up, for the scheduler when the call blocks; None once a file
    /// without a queue was looked up (the call is then retried on every
    /// pass). Start with `Some(Vec::new())`.
    pub waits: std::cell::RefCell<Option<Vec<(crate::vfs::WaitQueue, u64)>>>,
    /// Bytes a restarted call already transferred (a blocking pipe write
    /// larger than the room in the pipe).
    pub progress: &'a mut u64,
    /// A call that blocks with a time limit sets it here (monotonic ns):
    /// the scheduler retries it then even if nothing moved. When the call
    /// is such a retry, it holds the deadline its first try set (None on a
    /// fresh call).
    pub deadline: Option<u64>,
    /// The kernel's armed timers (timerfd), which the scheduler expires.
    pub timers: &'a crate::event::timerfd::Timers,
    pub process: &'a mut Process,
    /// The calling thread's signal mask, alternate stack and pending set.
    pub sig: &'a mut crate::task::SigState,
    /// The calling thread's CPU time up to this call.
    pub thread_times: crate::task::CpuTimes,
    pub mem: &'a mut Memory,
    pub host: &'a mut dyn Host,
}

/// The *at calls' "relative to the working directory".
pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_EACCESS: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
pub const AT_EMPTY_PATH: u32 = 0x1000;
pub const AT_STATX_SYNC_TYPE: u32 = 0x6000;

/// A successful syscall's value.
pub fn ret(v: u64) -> SyscallResult {
    Ok(SyscallReturn::Return(v))
}

impl Ctx<'_> {
    /// Typed access to the calling process's memory.
    pub fn user(&mut self) -> UserSpace<'_> {
        self.process.mm.user(self.mem)
    }

    /// A path argument: NUL-terminated, shorter than PATH_MAX.
    pub fn path(&mut self, addr: u64) -> Result<Vec<u8>, Errno> {
        self.user().read_cstring(addr, PATH_MAX - 1)
    }

    /// The open file behind descriptor `fd`.
    pub fn file(&self, fd: i32) -> Result<Rc<OpenFile>, Errno> {
        let f = self.process.files.borrow().get(fd)?;
        let mut queues = Vec::new();
        let complete = f.ops.wait_queues(&mut queues);
        self.wait_on(queues, complete);
        Ok(f)
    }

    /// Record queues a blocking call waits on (with their generations now);
    /// `complete` false: something it waits on has no queue, so it is
    /// retried on every pass.
    pub fn wait_on(&self, queues: Vec<crate::vfs::WaitQueue>, complete: bool) {
        let mut waits = self.waits.borrow_mut();
        if !complete {
            *waits = None;
        }
        if let Some(w) = waits.as_mut() {
            w.extend(queues.into_iter().map(|q| {
                let g = q.generation();
                (q, g)
            }));
        }
    }

    /// Where a relative `path` given to an *at call starts: the working
    /// directory for AT_FDCWD, else the directory `dirfd` refers to.
    /// Absolute paths ignore `dirfd` entirely, even a bad one.
    pub fn base(&self, dirfd: i32, path: &[u8]) -> Result<Dentry, Errno> {
        if dirfd == AT_FDCWD || path.first() == Some(&b'/') {
            return Ok(self.process.fs.cwd.clone());
        }
        let f = self.file(dirfd)?;
        let d = f.dentry.clone().ok_or(Errno::ENOTDIR)?;
        if d.inode().kind() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(d)
    }

    /// Resolve `path` for an *at call.
    pub fn lookup_at(&self, dirfd: i32, path: &[u8], follow: bool) -> Result<Dentry, Errno> {
        let base = self.base(dirfd, path)?;
        self.process.fs.resolve(&base, path, follow)
    }
}

pub type Handler = fn(&mut Ctx, &SyscallArgs) -> SyscallResult;

/// Length of the SYSCALL instruction (0F 05), to restart a blocked call.
const SYSCALL_LEN: u64 = 2;

/// Per-kernel syscall bookkeeping: tracing and the once-per-number
/// warnings for unsupported calls.
#[derive(Default)]
pub struct Dispatcher {
    pub strace: bool,
    warned: HashSet<u64>,
}

impl Dispatcher {
    /// Handle the SYSCALL the task just executed (RIP is past it).
    pub fn dispatch(&mut self, ctx: &mut Ctx) -> SyscallReturn {
        let args = SyscallArgs::from_cpu(ctx.cpu);
        let entry = table::lookup(args.nr);
        // A call that does not return (exit, a successful execve) is shown
        // with its arguments as they were before it ran: execve replaces
        // the memory they point into.
        let before = (self.strace && entry.is_some_and(|e| matches!(e.name, "execve" | "execveat")))
            .then(|| strace::format(&mut ctx.user(), entry, &args, None));
        let outcome = match entry.and_then(|e| e.handler) {
            Some(handler) => handler(ctx, &args).unwrap_or_else(|e| SyscallReturn::Return(e.as_return())),
            None => {
                if self.warned.insert(args.nr) {
                    let name = entry.map_or("unknown", |e| e.name);
                    ctx.host.diag(&format!("oxvm: unsupported syscall {name} ({}), returning ENOSYS", args.nr));
                }
                SyscallReturn::Return(Errno::ENOSYS.as_return())
            }
        };
        match outcome {
            SyscallReturn::Return(v) | SyscallReturn::Sleep { value: v, .. } => ctx.cpu.gpr[reg::RAX] = v,
            // RAX still holds the number: re-executing SYSCALL restarts it.
            SyscallReturn::Block => ctx.cpu.rip = ctx.cpu.rip.wrapping_sub(SYSCALL_LEN),
            SyscallReturn::NoReturn => {}
        }
        if self.strace && outcome != SyscallReturn::Block {
            let ret = match outcome {
                SyscallReturn::Return(v) | SyscallReturn::Sleep { value: v, .. } => Some(v),
                _ => None,
            };
            let line = match (outcome, before) {
                (SyscallReturn::NoReturn, Some(b)) => b,
                _ => strace::format(&mut ctx.user(), entry, &args, ret),
            };
            ctx.host.diag(&line);
        }
        outcome
    }
}
