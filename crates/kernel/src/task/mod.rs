//! Tasks and processes. A task is one thread of execution: its registers
//! plus a reference to the process whose memory and identity it shares.
//! A process has one task per thread (CLONE_THREAD adds one).

pub mod cpuclock;
pub mod cred;
pub mod futex;
pub mod job;
pub mod pidfd;
pub mod timers;
pub mod wait;

use std::cell::RefCell;
use std::rc::Rc;

use oxvm_cpu::CpuState;

use crate::loader::Creds;
use crate::mm::MmRef;
use crate::signal::pending::PendingSet;
use crate::signal::Signal;
use crate::vfs::{FdTable, FsContext};

pub type Pid = u32;

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// exit(2) / exit_group(2) with this status (0..=255).
    Code(u8),
    /// Killed by a signal.
    Signaled(Signal),
}

impl ExitStatus {
    /// The status a shell reports: the exit code, or 128 + the signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c as i32,
            ExitStatus::Signaled(s) => 128 + s.0 as i32,
        }
    }
}

/// A resource limit (struct rlimit64); u64::MAX is RLIM_INFINITY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

pub const RLIM_NLIMITS: usize = 16;
pub const RLIMIT_STACK: usize = 3;
pub const RLIMIT_NOFILE: usize = 7;

/// Linux's defaults for init (and what a login shell usually inherits).
pub fn default_rlimits() -> [Rlimit; RLIM_NLIMITS] {
    let inf = Rlimit { cur: u64::MAX, max: u64::MAX };
    let mut r = [inf; RLIM_NLIMITS];
    r[RLIMIT_STACK] = Rlimit { cur: crate::mm::STACK_SIZE, max: u64::MAX };
    r[4] = Rlimit { cur: 0, max: u64::MAX }; // RLIMIT_CORE
    r[6] = Rlimit { cur: 63_704, max: 63_704 }; // RLIMIT_NPROC
    r[RLIMIT_NOFILE] = Rlimit { cur: 1024, max: 1_048_576 };
    r[8] = Rlimit { cur: 8 << 20, max: 8 << 20 }; // RLIMIT_MEMLOCK
    r[11] = Rlimit { cur: 63_704, max: 63_704 }; // RLIMIT_SIGPENDING
    r[12] = Rlimit { cur: 819_200, max: 819_200 }; // RLIMIT_MSGQUEUE
    r[13] = Rlimit { cur: 0, max: 0 }; // RLIMIT_NICE
    r[14] = Rlimit { cur: 0, max: 0 }; // RLIMIT_RTPRIO
    r
}

/// What prctl(2) sets and reads back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrctlState {
    /// The task name (comm), NUL-padded: the executable's base name.
    pub name: [u8; 16],
    pub pdeathsig: u32,
    pub dumpable: bool,
    pub child_subreaper: bool,
    pub no_new_privs: bool,
}

impl Default for PrctlState {
    fn default() -> Self {
        PrctlState { name: [0; 16], pdeathsig: 0, dumpable: true, child_subreaper: false, no_new_privs: false }
    }
}

/// CPU time used, in host nanoseconds: `user` running guest code, `sys`
/// in oxvm's syscall handlers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub sys: u64,
}

impl CpuTimes {
    pub fn add(&mut self, o: CpuTimes) {
        self.user += o.user;
        self.sys += o.sys;
    }

    pub fn total(self) -> u64 {
        self.user + self.sys
    }
}

/// A process: an address space, files and an identity, shared by its
/// tasks.
pub struct Process {
    pub pid: Pid,
    pub ppid: Pid,
    /// The address space, shared with the process that vforked this one
    /// (or that this one vforked) until exec or exit.
    pub mm: MmRef,
    pub creds: Creds,
    /// Root, working directory, umask (shared with CLONE_FS).
    pub fs: FsContext,
    /// Descriptor table (shared with CLONE_FILES).
    pub files: Rc<RefCell<FdTable>>,
    pub rlimits: [Rlimit; RLIM_NLIMITS],
    /// Signal dispositions as rt_sigaction stored them (handler, flags,
    /// restorer, mask), indexed by signal number - 1. Recorded only: no
    /// signal is delivered to a handler yet.
    pub sigactions: [[u64; 4]; 64],
    /// Signals sent to the process and not yet delivered, with their
    /// siginfo (real-time ones queue).
    pub pending: PendingSet,
    /// Supplementary groups, fs ids and capabilities (`cred.rs`).
    pub cred: cred::CredExtra,
    /// timer_create timers and the CPU-time interval timers.
    pub timers: timers::ProcessTimers,
    pub prctl: PrctlState,
    /// The nice value (-20..19) set by setpriority.
    pub nice: i32,
    /// Set once the process has exited; its tasks no longer run and it is
    /// a zombie until its parent waits for it.
    pub exit: Option<ExitStatus>,
    /// Moves when a child exits (or zombies are reparented here): what
    /// wait4, waitid and rt_sigsuspend block on.
    pub child_events: crate::vfs::WaitQueue,
    /// alarm(2)'s deadline (monotonic ns).
    pub alarm: Option<u64>,
    /// ITIMER_REAL's interval (ns): the alarm re-arms by it when it fires.
    pub itimer_interval: u64,
    /// The task that vforked this process, released when it execs or exits.
    pub vfork_parent: Option<Pid>,
    /// CPU time of all its threads, live and gone.
    pub times: CpuTimes,
    /// CPU time of the children (and their descendants) it has reaped.
    pub child_times: CpuTimes,
    /// Process group, session, stopped state (`job.rs`).
    pub job: job::Job,
    /// What the last exec loaded (procfs shows it).
    pub exec_info: Rc<crate::fs::procfs::ExecInfo>,
    /// Its pidfds, marked readable when it exits (`pidfd.rs`).
    pub pidfds: pidfd::PidFdWatchers,
}

impl Process {
    /// The task name becomes the executable's base name, cut to 15 bytes
    /// (exec does this).
    pub fn set_comm(&mut self, path: &[u8]) {
        let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        let n = base.len().min(15);
        self.prctl.name = [0; 16];
        self.prctl.name[..n].copy_from_slice(&base[..n]);
    }

    pub fn new(pid: Pid, ppid: Pid, mm: MmRef, creds: Creds, fs: FsContext, files: FdTable) -> Process {
        Process {
            pid,
            ppid,
            mm,
            creds,
            fs,
            files: Rc::new(RefCell::new(files)),
            rlimits: default_rlimits(),
            sigactions: [[0; 4]; 64],
            pending: PendingSet::default(),
            vfork_parent: None,
            times: CpuTimes::default(),
            child_times: CpuTimes::default(),
            exec_info: Default::default(),
            pidfds: Default::default(),
            alarm: None,
            itimer_interval: 0,
            child_events: Default::default(),
            cred: cred::CredExtra::new(&creds),
            timers: Default::default(),
            prctl: PrctlState::default(),
            nice: 0,
            exit: None,
            job: job::Job::leader(pid),
        }
    }
}

/// A thread's signal state.
#[derive(Clone, Debug)]
pub struct SigState {
    /// The blocked-signal mask.
    pub mask: u64,
    /// sigaltstack's (ss_sp, ss_flags, ss_size); SS_DISABLE (2) when none.
    pub altstack: (u64, u32, u64),
    /// The mask rt_sigsuspend replaced, put back after the handler runs.
    pub saved_mask: Option<u64>,
    /// Signals sent to this thread (tgkill, SIGPIPE, ...), as
    /// `Process::pending`.
    pub pending: PendingSet,
}

impl Default for SigState {
    fn default() -> Self {
        SigState { mask: 0, altstack: (0, 2, 0), saved_mask: None, pending: PendingSet::default() }
    }
}

/// What a task is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    Runnable,
    /// Its syscall could not complete (an empty pipe, a child still
    /// running): RIP points back at the SYSCALL, and the scheduler retries
    /// it once one of `Task::waits` moved (or on every pass without
    /// queues); a retry that blocks again is no progress.
    Blocked,
    /// Sleeping until this monotonic time (ns); its syscall has returned.
    Sleep(u64),
    /// Queued on a futex (see [`futex::FutexQueues`]); RAX already holds 0.
    /// At the deadline (monotonic ns) it leaves the queue with ETIMEDOUT.
    Futex {
        deadline: Option<u64>,
    },
    /// Vforked: waits until the child process execs or exits.
    Vfork(Pid),
    Dead,
}

pub struct Task {
    pub tid: Pid,
    /// The process this task belongs to (an index into the kernel's
    /// process table, not an owning reference).
    pub pid: Pid,
    pub cpu: CpuState,
    pub state: TaskState,
    /// set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken when
    /// the task exits.
    pub clear_child_tid: u64,
    /// What the syscall being restarted has done so far (`Ctx::progress`).
    pub progress: u64,
    /// While `Blocked`: the wait queues and the generations they had when
    /// the call looked at them; None: retry on every pass.
    pub waits: Option<Vec<(crate::vfs::WaitQueue, u64)>>,
    /// While `Sleep`: where an interrupted nanosleep writes the time left
    /// (0: nowhere).
    pub sleep_rem: u64,
    /// While `Blocked`: when the wait ends even if nothing moved (a
    /// timeout, a timer's expiry); the retried call finds it in
    /// `Ctx::deadline` (monotonic ns).
    pub deadline: Option<u64>,
    pub sig: SigState,
    /// This thread's CPU time.
    pub times: CpuTimes,
    /// set_robust_list's head and length: walked when the thread exits.
    pub robust_list: (u64, u64),
}
