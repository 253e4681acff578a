//! The kernel object and its event-driven run loop.

mod cpuclock;
mod job;
mod pidfd;
mod process;
mod procfs;
mod ptimer;
pub(crate) mod robust;
mod service;
mod signal;
mod sigperm;
mod sigqueue;
mod webmount;

pub use webmount::WebMountError;

use std::collections::BTreeMap;
use std::rc::Rc;

use oxvm_cpu::{Bus, CpuState, Exit, Fault, Memory};

use crate::dev::console::Console;
use crate::host::{Clock, Host};
use crate::loader::{self, Creds, ExecError, ExecParams};
use crate::mm::{FaultError, Mm, DEFAULT_FRAME_LIMIT};
use crate::signal::FaultSignal;
use crate::syscall::{Ctx, Dispatcher, SyscallReturn};
use crate::task::futex::FutexQueues;
use crate::task::{default_rlimits, ExitStatus, Pid, Process, Rlimit, Task, TaskState, RLIMIT_NOFILE, RLIM_NLIMITS};
use crate::vfs::file::{O_RDONLY, O_WRONLY};
use crate::vfs::{Dentry, EmptyDir, FdTable, FsContext, InodeRef, OpenFile, Vfs};

/// What the host should do after [`Kernel::run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// The budget ran out with work left: call `run` again soon.
    Runnable,
    /// Every task waits for an event (console input, or the given host
    /// time in nanoseconds); call `run` again when one happens.
    Idle { until: Option<u64> },
    /// The first process exited.
    Exited(ExitStatus),
}

/// A program to start from the kernel's filesystem.
pub struct SpawnPath<'a> {
    /// Resolved in the guest filesystem from `cwd`.
    pub path: &'a [u8],
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    /// The guest working directory (absolute).
    pub cwd: &'a [u8],
    pub creds: Creds,
}

/// What to start as the first process, from an image in memory.
pub struct Spawn<'a> {
    pub image: &'a [u8],
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    /// The path as given by the user (AT_EXECFN).
    pub execfn: Vec<u8>,
    pub creds: Creds,
}

pub struct Kernel {
    mem: Memory,
    host: Box<dyn Host>,
    processes: BTreeMap<Pid, Process>,
    tasks: Vec<Task>,
    syscalls: Dispatcher,
    next_pid: Pid,
    /// The first process; its exit ends the run.
    init: Option<Pid>,
    /// The fault that killed a process, for the runner to report.
    last_fatal: Option<FaultSignal>,
    /// Guest memory limit, in frames.
    frame_limit: usize,
    /// The mount table and the root every new process starts in.
    vfs: Rc<Vfs>,
    root: Dentry,
    /// Resource limits new processes start with.
    rlimits: [Rlimit; RLIM_NLIMITS],
    /// Signals new processes start ignoring.
    ignored: u64,
    /// The task that ran last (round-robin position).
    cur: usize,
    /// Instructions retired by tasks already gone.
    retired_icount: u64,
    futexes: FutexQueues,
    /// Armed timerfds: expired at the top of the loop, their next
    /// deadline part of `next_deadline`.
    timers: crate::event::timerfd::Timers,
    /// The terminals: the console's (when the host's is one) and the ptys.
    ttys: Rc<crate::tty::TtyRegistry>,
    /// A stop or continue (seen while checking readiness) woke a parent.
    job_woke: bool,
    /// The running task called sched_yield: its turn ends there.
    yielded: bool,
    /// The running task woke another from a futex.
    woke: bool,
    /// What procfs shows of the processes (kept current by `procfs.rs`).
    procfs: procfs::Registry,
    /// When the periodic writeback next runs (monotonic ns).
    next_writeback: u64,
    /// The nice value new processes start with.
    nice: i32,
    /// A long-lived machine (the browser VM): no process's exit ends the
    /// run; top-level exits are collected for the host (`service.rs`).
    service: bool,
    /// Mounted web directories (`webmount.rs`).
    web_mounts: Vec<Rc<crate::fs::webfs::WebMount>>,
    /// Top-level processes that exited, for [`Kernel::take_exits`].
    exits: Vec<(Pid, ExitStatus)>,
    /// Processes created since the host last asked (service mode only;
    /// the oldest are dropped past a bound), for [`Kernel::take_created`].
    created: std::collections::VecDeque<(Pid, String)>,
    /// Whether the process being started gets the console as its stdio
    /// (else /dev/null) and controlling terminal.
    spawn_console: bool,
}

/// The most instructions a task runs before the next one gets its turn.
pub const SLICE: u64 = 50_000;

/// How often the image is made durable without being asked (5 s, as
/// Linux's dirty_writeback_centisecs).
const WRITEBACK_NS: u64 = 5_000_000_000;

impl Kernel {
    pub fn new(host: Box<dyn Host>) -> Self {
        Kernel {
            mem: Memory::new(),
            host: Box::new(crate::host::GuestHost::new(host)),
            processes: BTreeMap::new(),
            tasks: Vec::new(),
            syscalls: Dispatcher::default(),
            next_pid: 1,
            init: None,
            last_fatal: None,
            frame_limit: DEFAULT_FRAME_LIMIT,
            vfs: Rc::new(Vfs::default()),
            root: Dentry::root(Rc::new(EmptyDir)),
            rlimits: default_rlimits(),
            ignored: 0,
            cur: 0,
            retired_icount: 0,
            futexes: FutexQueues::default(),
            timers: Default::default(),
            ttys: Rc::new(crate::tty::TtyRegistry::default()),
            job_woke: false,
            yielded: false,
            woke: false,
            procfs: Default::default(),
            next_writeback: 0,
            nice: 0,
            service: false,
            web_mounts: Vec::new(),
            exits: Vec::new(),
            created: Default::default(),
            spawn_console: true,
        }
    }

    /// Every [`WRITEBACK_NS`] of host time, make the image durable (between
    /// syscalls, where the file system is consistent), as Linux's periodic
    /// writeback bounds what a crash loses.
    fn periodic_writeback(&mut self) {
        if self.vfs.disks.is_empty() {
            return;
        }
        let now = self.host.now(Clock::Monotonic);
        if now < self.next_writeback {
            return;
        }
        self.next_writeback = now + WRITEBACK_NS;
        if let Err(e) = self.sync_disks() {
            self.host.diag(&format!("oxvm: writing the disk image back failed: {}", e.name()));
        }
    }

    /// The resource limits processes spawned from now on start with (the
    /// runner passes its own, as a child inherits them).
    pub fn set_rlimits(&mut self, limits: [Rlimit; RLIM_NLIMITS]) {
        self.rlimits = limits;
    }

    /// The signals processes spawned from now on start ignoring (bit n-1:
    /// signal n), as a program exec'd by a parent that ignores them does:
    /// the runner passes the ones it was started with (a shell ignores
    /// SIGINT and SIGQUIT for background jobs). SIGKILL and SIGSTOP cannot
    /// be ignored.
    pub fn set_ignored_signals(&mut self, set: u64) {
        self.ignored = set & !((1 << 8) | (1 << 18));
    }

    /// The nice value processes spawned from now on start with (the
    /// runner passes its own, as a child inherits it).
    pub fn set_nice(&mut self, nice: i32) {
        self.nice = nice.clamp(-20, 19);
    }

    /// Root the guest in an ext2 file system (`oxvm run --image`) instead
    /// of a host directory.
    pub fn set_image_root(&mut self, fs: oxvm_ext2::Ext2<crate::fs::ext2fs::Device>) {
        let m = crate::fs::ext2fs::Ext2Mount::new(fs, crate::fs::ext2fs::image_dev(), self.procfs.clone());
        if let Some(vfs) = Rc::get_mut(&mut self.vfs) {
            vfs.disks.push(m.clone());
        }
        self.set_root(m.root());
    }

    /// The guest is over: release what only it held and make the images
    /// durable.
    pub fn shutdown_disks(&mut self) -> Result<(), crate::Errno> {
        for d in &self.vfs.disks {
            d.shutdown()?;
        }
        Ok(())
    }

    /// What the images' block stacks fetched (for `--stats`).
    pub fn disk_stats(&self) -> Vec<oxvm_block::FetchStats> {
        self.vfs.disks.iter().filter_map(|d| d.fetch_stats()).collect()
    }

    /// Make every write to the image durable (sync(2) for the whole VM).
    /// The runner calls it when the guest ends; `run` calls it every few
    /// seconds so a closed tab loses little.
    pub fn sync_disks(&mut self) -> Result<(), crate::Errno> {
        for d in &self.vfs.disks {
            d.sync()?;
        }
        Ok(())
    }

    /// Make `root` the root directory of processes spawned from now on,
    /// with what a Debian container has mounted over it
    /// ([`crate::fs::mount_standard`]: devtmpfs and /dev/shm, procfs,
    /// sysfs), whatever the host tree holds there.
    pub fn set_root(&mut self, root: InodeRef) {
        self.proc_note_time();
        // Before any process exists nobody else holds the table.
        if let Some(vfs) = Rc::get_mut(&mut self.vfs) {
            let mounts = crate::fs::mount_standard(vfs, &root, &self.procfs, Some(self.ttys.clone()));
            self.procfs.set_mounts(mounts);
        }
        self.root = Dentry::root(root);
    }

    /// A filesystem context at the root, with working directory `cwd`
    /// (the root if it cannot be resolved).
    fn fs_context(&self, cwd: &[u8], creds: Creds) -> FsContext {
        let mut fs = FsContext::new(self.vfs.clone(), self.root.clone());
        fs.walker = (creds.euid, creds.egid);
        if let Ok(d) = fs.resolve(&fs.root.clone(), cwd, true) {
            fs.cwd = d;
        }
        fs
    }

    /// Descriptors 0, 1 and 2 on the host's console: the console terminal
    /// for the streams the host says are one, else pipe-like.
    fn console_files(&mut self) -> FdTable {
        let mut t = FdTable::default();
        let tty = self.ttys.console_or_create(&mut *self.host);
        for stream in 0..3 {
            let flags = if stream == 0 { O_RDONLY } else { O_WRONLY };
            let ops: Rc<dyn crate::vfs::FileOps> = match &tty {
                Some((tty, streams)) if streams & (1 << stream) != 0 => crate::tty::TtyFile::open_console(tty, stream),
                _ => Rc::new(Console { stream }),
            };
            let f = OpenFile::new(ops, None, flags);
            t.install(stream, f, false).expect("descriptors 0-2 fit any table");
        }
        t
    }

    /// Whether `path` names an existing file in the guest filesystem, as
    /// seen from `cwd` (for a PATH search).
    pub fn is_file(&self, cwd: &[u8], path: &[u8]) -> bool {
        let fs = self.fs_context(cwd, Creds::default());
        fs.resolve(&fs.cwd, path, true).is_ok_and(|d| d.inode().kind() == crate::vfs::FileType::Regular)
    }

    /// Whether `path` names a directory in the guest filesystem (for a
    /// working directory given by the user).
    pub fn is_dir(&self, path: &[u8]) -> bool {
        let fs = self.fs_context(b"/", Creds::default());
        fs.resolve(&fs.root, path, true).is_ok_and(|d| d.inode().kind() == crate::vfs::FileType::Directory)
    }

    /// Start the program at `s.path` in the guest filesystem (`#!` scripts
    /// and dynamically linked ELF files included) as a new process.
    pub fn spawn_path(&mut self, s: &SpawnPath) -> Result<Pid, ExecError> {
        let fs = self.fs_context(s.cwd, s.creds);
        let prepared = loader::binfmt::prepare(&fs, s.path, &s.argv, &s.creds)?;
        let creds = loader::binfmt::setid_creds(&prepared.exe, s.creds, false);
        let mut fs = fs;
        fs.walker = (creds.euid, creds.egid);
        self.start(&prepared.image, prepared.interp.as_deref(), &prepared.argv, &s.envp, s.path, creds, fs, Some(&prepared))
    }

    /// Print every syscall with its arguments and result, like strace.
    pub fn set_strace(&mut self, on: bool) {
        self.syscalls.strace = on;
    }

    pub fn host_mut(&mut self) -> &mut dyn Host {
        &mut *self.host
    }

    /// Limit guest memory (all processes together) to `bytes`; a page
    /// fault beyond it kills the faulting process with SIGKILL, as the OOM
    /// killer would. Applies to processes spawned afterwards.
    pub fn set_memory_limit(&mut self, bytes: u64) {
        self.frame_limit = usize::try_from(bytes / oxvm_cpu::mem::PAGE_SIZE as u64).unwrap_or(usize::MAX);
        self.procfs.frame_limit.set(self.frame_limit);
    }

    /// Guest instructions retired so far, by all tasks.
    pub fn instructions(&self) -> u64 {
        self.retired_icount + self.tasks.iter().map(|t| t.cpu.icount).sum::<u64>()
    }

    /// Guest memory in use, in 4 KiB frames.
    pub fn frames_in_use(&self) -> usize {
        self.mem.phys.frames_in_use()
    }

    /// The fault that killed the last process to die by one.
    pub fn fatal_fault(&self) -> Option<FaultSignal> {
        self.last_fatal
    }

    /// Create a process running `s.image`; the first one is init, whose
    /// exit ends [`Kernel::run`].
    pub fn spawn(&mut self, s: &Spawn) -> Result<Pid, ExecError> {
        let fs = self.fs_context(b"/", s.creds);
        self.start(s.image, None, &s.argv, &s.envp, &s.execfn, s.creds, fs, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        image: &[u8],
        interp: Option<&[u8]>,
        argv: &[Vec<u8>],
        envp: &[Vec<u8>],
        execfn: &[u8],
        creds: Creds,
        fs: FsContext,
        prepared: Option<&loader::binfmt::Prepared>,
    ) -> Result<Pid, ExecError> {
        let mut random = [0u8; 16];
        self.host.random(&mut random);
        let mut mm = Mm::new();
        mm.set_frame_limit(self.frame_limit);
        let params = ExecParams { image, interp, argv, envp, execfn, creds, random };
        let loaded = match loader::exec(&mut mm, &mut self.mem, &params) {
            Ok(l) => l,
            Err(e) => {
                mm.clear(&mut self.mem);
                return Err(e);
            }
        };
        let pid = self.next_pid;
        self.next_pid += 1;
        let mut gpr = [0; 16];
        gpr[oxvm_cpu::state::reg::RSP] = loaded.sp;
        let cpu = CpuState { rip: loaded.entry, gpr, ..Default::default() };
        let mut files = if self.spawn_console { self.console_files() } else { self.null_files() };
        files.set_max(usize::try_from(self.rlimits[RLIMIT_NOFILE].cur).unwrap_or(usize::MAX));
        let mut process = Process::new(pid, 0, crate::mm::MmRef::new(mm), creds, fs, files);
        process.rlimits = self.rlimits;
        process.nice = self.nice;
        for sig in 0..64 {
            if self.ignored & (1 << sig) != 0 {
                process.sigactions[sig][0] = crate::syscall::signal::SIG_IGN;
            }
        }
        process.set_comm(execfn);
        process.exec_info = Rc::new(match prepared {
            Some(p) => crate::fs::procfs::ExecInfo::new(p, &loaded, envp.to_vec()),
            None => crate::fs::procfs::ExecInfo { argv: argv.to_vec(), envp: envp.to_vec(), stack: loaded.sp, ..Default::default() },
        });
        self.processes.insert(pid, process);
        self.note_created(pid);
        self.tasks.push(Task {
            tid: pid,
            pid,
            cpu,
            state: TaskState::Runnable,
            clear_child_tid: 0,
            progress: 0,
            waits: None,
            sleep_rem: 0,
            deadline: None,
            sig: Default::default(),
            times: Default::default(),
            robust_list: (0, 0),
        });
        if self.init.is_none() || (self.service && self.spawn_console) {
            // The first process leads a session whose controlling terminal
            // is the console, as a login shell's is (in a long-lived
            // machine: each program started on the console).
            self.ttys.attach_console(pid);
        }
        self.init.get_or_insert(pid);
        self.tty_groups_changed();
        self.proc_sync(pid, false);
        Ok(pid)
    }

    fn init_exit(&self) -> Option<ExitStatus> {
        if self.service {
            return None;
        }
        self.init.and_then(|p| self.processes.get(&p)).and_then(|p| p.exit)
    }

    /// Run guest code for at most `budget` instructions, round-robin over
    /// the tasks in slices of at most [`SLICE`] instructions.
    pub fn run(&mut self, budget: u64) -> RunState {
        let mut left = budget;
        // Tasks visited in a row without progress: once every task has been
        // visited so, all of them wait for something outside the guest.
        let mut stalled = 0usize;
        loop {
            if let Some(status) = self.init_exit() {
                // The guest ends here: processes still alive keep no
                // dirty shared file pages in memory only.
                crate::mm::shmem::writeback_all(self.processes.values().map(|p| &p.mm), &mut *self.host, &self.mem);
                if let Err(e) = self.shutdown_disks() {
                    self.host.diag(&format!("oxvm: writing the disk image back failed: {}", e.name()));
                }
                return RunState::Exited(status);
            }
            if self.tasks.iter().any(|t| t.state == TaskState::Dead) {
                self.retired_icount += self.tasks.iter().filter(|t| t.state == TaskState::Dead).map(|t| t.cpu.icount).sum::<u64>();
                self.tasks.retain(|t| t.state != TaskState::Dead);
                self.proc_sync_all();
            }
            let n = self.tasks.len();
            if n == 0 {
                return RunState::Idle { until: None };
            }
            self.expire_alarms();
            self.timers.expire(&mut *self.host);
            self.ttys.expire(self.host.now(Clock::Monotonic));
            self.flush_tty_signals();
            self.expire_process_timers();
            if stalled >= n {
                self.periodic_writeback();
                return RunState::Idle { until: self.next_deadline() };
            }
            if left == 0 {
                self.periodic_writeback();
                return RunState::Runnable;
            }
            self.cur = (self.cur + 1) % n;
            let ti = self.cur;
            if !self.ready(ti) {
                stalled = if std::mem::take(&mut self.job_woke) { 0 } else { stalled + 1 };
                continue;
            }
            let retry = self.tasks[ti].state == TaskState::Blocked;
            // A task keeps the CPU across the syscalls that do not block,
            // until its slice is used up, as on Linux: switching at every
            // syscall runs threads in lockstep, one syscall each, so a
            // thread always sees another at the same point of its loop
            // (CPython's test_stress_modifying_handlers raised its signal
            // only ever while the other thread had set SIG_IGN). A call
            // that wakes another task ends the turn, as Linux's wake-up
            // preemption lets a task that slept run first: without it a
            // thread dropping and retaking a lock in a loop (CPython's GIL
            // around raise_signal) starves the waiter it just woke.
            let mut slice = left.min(SLICE);
            let mut progressed;
            loop {
                let before = left;
                self.yielded = false;
                self.woke = false;
                progressed = self.run_task(ti, slice, &mut left);
                slice = slice.saturating_sub(before - left);
                let keeps = slice > 0 && left > 0 && !self.yielded && self.tasks[ti].state == TaskState::Runnable && !self.woke_other(ti);
                if !keeps || self.init_exit().is_some() || !self.ready(ti) {
                    break;
                }
            }
            if progressed || !retry {
                stalled = 0;
            } else {
                stalled += 1;
            }
        }
    }

    /// Whether the last syscall of task `ti` woke another task: a futex
    /// wake, or something a blocked call waits on moved.
    fn woke_other(&mut self, ti: usize) -> bool {
        std::mem::take(&mut self.woke)
            || self.tasks.iter().enumerate().any(|(i, t)| {
                i != ti && t.state == TaskState::Blocked && t.waits.as_ref().is_some_and(|w| w.iter().any(|(q, g)| q.generation() != *g))
            })
    }

    /// Whether task `ti` can run now; wakes it if its wait is over.
    fn ready(&mut self, ti: usize) -> bool {
        let now = self.host.now(Clock::Monotonic);
        if self.stopped(ti) {
            return false;
        }
        if let Some(sig) = self.deliverable(ti) {
            // A default stop leaves a waiting call waiting (it restarts
            // once the process continues), any other signal ends the wait.
            if self.tasks[ti].state != TaskState::Runnable && self.take_stop(ti, sig) {
                return false;
            }
            self.interrupt(ti, sig);
        }
        let task = &mut self.tasks[ti];
        match task.state {
            TaskState::Runnable => true,
            // Retried once something it waits on changed, or on every pass
            // when it waits on something without a queue.
            // A call with a time limit is also retried at its deadline.
            TaskState::Blocked => {
                task.deadline.is_some_and(|d| now >= d) || task.waits.as_ref().is_none_or(|w| w.iter().any(|(q, g)| q.generation() != *g))
            }
            TaskState::Sleep(until) if now >= until => {
                task.state = TaskState::Runnable;
                true
            }
            TaskState::Futex { deadline: Some(d) } if now >= d => {
                let tid = task.tid;
                task.cpu.gpr[oxvm_cpu::state::reg::RAX] = crate::errno::Errno::ETIMEDOUT.as_return();
                task.state = TaskState::Runnable;
                self.futexes.remove(tid);
                true
            }
            TaskState::Vfork(child) => {
                let done = self.processes.get(&child).is_none_or(|p| p.exit.is_some() || p.vfork_parent.is_none());
                if done {
                    task.state = TaskState::Runnable;
                }
                done
            }
            _ => false,
        }
    }

    /// The earliest time a sleeping task wakes.
    fn next_deadline(&self) -> Option<u64> {
        let alarms = self.processes.values().filter(|p| p.exit.is_none()).filter_map(|p| p.alarm);
        self.tasks
            .iter()
            .filter_map(|t| match t.state {
                TaskState::Sleep(until) => Some(until),
                TaskState::Futex { deadline } => deadline,
                TaskState::Blocked => t.deadline,
                _ => None,
            })
            .chain(alarms)
            .chain(self.timers.next_deadline())
            .chain(self.ttys.next_deadline())
            .chain(self.process_timers_deadline())
            .min()
    }

    /// Raise SIGALRM for every alarm whose deadline passed.
    fn expire_alarms(&mut self) {
        let now = self.host.now(Clock::Monotonic);
        let due: Vec<Pid> =
            self.processes.values().filter(|p| p.exit.is_none() && p.alarm.is_some_and(|d| d <= now)).map(|p| p.pid).collect();
        for pid in due {
            if let Some(p) = self.processes.get_mut(&pid) {
                let i = p.itimer_interval;
                p.alarm = (i > 0).then(|| now.saturating_add(i));
            }
            self.send(pid, 14, 0x80, 0);
        }
    }

    /// Send `sig` to process `pid` from the kernel or another process: it
    /// is queued, or its default action ends the process.
    pub(crate) fn send(&mut self, pid: Pid, sig: u64, code: i32, word: u64) {
        self.send_info(pid, crate::signal::pending::SigInfo::new(sig as u32, code, word));
    }

    /// [`Kernel::send`] with a whole siginfo (sigqueue's value).
    pub(crate) fn send_info(&mut self, pid: Pid, info: crate::signal::pending::SigInfo) -> crate::syscall::signal::Posted {
        use crate::syscall::signal::{post, Posted};
        // Blocked for the process when every thread blocks it.
        let mask = self.tasks.iter().filter(|t| t.pid == pid && t.state != TaskState::Dead).fold(u64::MAX, |m, t| m & t.sig.mask);
        if self.processes.get(&pid).is_none_or(|p| p.exit.is_some()) {
            return Posted::Done;
        }
        self.job_signal(pid, u64::from(info.signo()));
        let Some(p) = self.processes.get_mut(&pid) else { return Posted::Done };
        let posted = post(&p.sigactions, mask, &p.pending, info);
        if posted == Posted::Kill {
            self.fatal_signal(pid, info);
        }
        posted
    }

    /// Run task `ti` for up to `slice` instructions. Returns false when it
    /// only retried a syscall that blocked again.
    fn run_task(&mut self, ti: usize, slice: u64, left: &mut u64) -> bool {
        if self.tasks[ti].state == TaskState::Runnable && !self.deliver(ti) {
            return true;
        }
        self.set_tty_caller(ti);
        let task = &mut self.tasks[ti];
        let Some(process) = self.processes.get_mut(&task.pid) else {
            task.state = TaskState::Dead;
            return true;
        };
        let t0 = self.host.now(Clock::Monotonic);
        let (exit, n) = {
            let mut mm = process.mm.borrow_mut();
            let mut bus = Bus::new(&mut mm.space, &mut self.mem);
            oxvm_cpu::run(&mut task.cpu, &mut bus, slice)
        };
        let t1 = self.host.now(Clock::Monotonic);
        task.times.user += t1.saturating_sub(t0);
        process.times.user += t1.saturating_sub(t0);
        *left = left.saturating_sub(n);
        let was_blocked = task.state == TaskState::Blocked;
        task.state = TaskState::Runnable;
        match exit {
            Exit::Budget => true,
            Exit::Syscall => {
                let nr = task.cpu.gpr[oxvm_cpu::state::reg::RAX];
                let pid = task.pid;
                self.proc_before_syscall(ti, nr);
                self.yielded = nr == 24;
                if crate::syscall::exit::IN_KERNEL.contains(&nr) || cpuclock::routed(nr, self.tasks[ti].cpu.gpr[oxvm_cpu::state::reg::RDI])
                {
                    // Their waits have no time limit of their own.
                    self.tasks[ti].deadline = None;
                    self.process_syscall(ti, nr);
                    self.proc_after_syscall(pid, nr);
                    return !(was_blocked && self.tasks[ti].state == TaskState::Blocked);
                }
                let task = &mut self.tasks[ti];
                let Some(process) = self.processes.get_mut(&pid) else { return true };
                let mut ctx = Ctx {
                    cpu: &mut task.cpu,
                    tid: task.tid,
                    clear_child_tid: &mut task.clear_child_tid,
                    robust_list: &mut task.robust_list,
                    progress: &mut task.progress,
                    deadline: if was_blocked { task.deadline } else { None },
                    timers: &self.timers,
                    waits: std::cell::RefCell::new(Some(Vec::new())),
                    process,
                    sig: &mut task.sig,
                    thread_times: task.times,
                    mem: &mut self.mem,
                    host: &mut *self.host,
                };
                let out = self.syscalls.dispatch(&mut ctx);
                let waits = ctx.waits.into_inner();
                task.deadline = if out == SyscallReturn::Block { ctx.deadline } else { None };
                let sys = self.host.now(Clock::Monotonic).saturating_sub(t1);
                task.times.sys += sys;
                process.times.sys += sys;
                match out {
                    SyscallReturn::Return(_) | SyscallReturn::NoReturn => {}
                    SyscallReturn::Block => {
                        task.state = TaskState::Blocked;
                        task.waits = waits.filter(|w| !w.is_empty());
                    }
                    SyscallReturn::Sleep { until, .. } => {
                        task.state = TaskState::Sleep(until);
                        let g = &task.cpu.gpr;
                        task.sleep_rem = match nr {
                            35 => g[oxvm_cpu::state::reg::RSI],
                            230 if g[oxvm_cpu::state::reg::RSI] & 1 == 0 => g[oxvm_cpu::state::reg::R10],
                            _ => 0,
                        };
                    }
                }
                if self.ttys.has_signals() {
                    self.flush_tty_signals();
                }
                if let Some(status) = self.processes.get(&pid).and_then(|p| p.exit) {
                    self.exit_process(pid, status);
                } else if out == SyscallReturn::NoReturn && matches!(nr, 59 | 322) {
                    self.after_exec(ti);
                }
                self.proc_after_syscall(pid, nr);
                !(was_blocked && out == SyscallReturn::Block)
            }
            Exit::Fault(f) => {
                let rip = task.cpu.rip;
                let fatal = match f {
                    // A present page faults on purpose too: the first write to a
                    // clean page of a shared file mapping marks it dirty.
                    Fault::Page { addr, access, .. } => match process.mm.borrow_mut().handle_fault(&mut self.mem, addr, access) {
                        Ok(()) => return true,
                        Err(FaultError::OutOfMemory) => FaultSignal::out_of_memory(addr, rip),
                        Err(FaultError::BadAccess) => FaultSignal::from_fault(f, rip),
                        Err(FaultError::BeyondEof) => FaultSignal::bus(addr, rip),
                    },
                    _ => FaultSignal::from_fault(f, rip),
                };
                self.fault_signal(ti, f, fatal);
                true
            }
        }
    }
}
