//! The kernel object and its event-driven run loop.

use std::collections::BTreeMap;

use oxvm_cpu::{Bus, CpuState, Exit, Fault, Memory};

use crate::host::Host;
use crate::loader::{self, Creds, ExecError, ExecParams};
use crate::mm::{FaultError, Mm, DEFAULT_FRAME_LIMIT};
use crate::signal::FaultSignal;
use crate::syscall::{Ctx, Dispatcher, SyscallReturn};
use crate::task::{ExitStatus, Pid, Process, Task, TaskState};

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

/// What to start as the first process.
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
}

impl Kernel {
    pub fn new(host: Box<dyn Host>) -> Self {
        Kernel {
            mem: Memory::new(),
            host,
            processes: BTreeMap::new(),
            tasks: Vec::new(),
            syscalls: Dispatcher::default(),
            next_pid: 1,
            init: None,
            last_fatal: None,
            frame_limit: DEFAULT_FRAME_LIMIT,
        }
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
    }

    /// Guest instructions retired so far, by all tasks.
    pub fn instructions(&self) -> u64 {
        self.tasks.iter().map(|t| t.cpu.icount).sum()
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
        let mut random = [0u8; 16];
        self.host.random(&mut random);
        let mut mm = Mm::new();
        mm.set_frame_limit(self.frame_limit);
        let params = ExecParams { image: s.image, argv: &s.argv, envp: &s.envp, execfn: &s.execfn, creds: s.creds, random };
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
        self.processes.insert(pid, Process { pid, mm, creds: s.creds, exit: None });
        self.tasks.push(Task { tid: pid, pid, cpu, state: TaskState::Runnable });
        self.init.get_or_insert(pid);
        Ok(pid)
    }

    fn init_exit(&self) -> Option<ExitStatus> {
        self.init.and_then(|p| self.processes.get(&p)).and_then(|p| p.exit)
    }

    /// Run guest code for at most `budget` instructions.
    pub fn run(&mut self, budget: u64) -> RunState {
        let mut left = budget;
        loop {
            if let Some(status) = self.init_exit() {
                return RunState::Exited(status);
            }
            // One task per process and a single process so far: the
            // scheduler is "the first live task". A budget slice per task
            // comes with fork.
            let Some(ti) = self.tasks.iter().position(|t| t.state != TaskState::Dead) else {
                return RunState::Idle { until: None };
            };
            if left == 0 {
                return RunState::Runnable;
            }
            let task = &mut self.tasks[ti];
            let Some(process) = self.processes.get_mut(&task.pid) else {
                task.state = TaskState::Dead;
                continue;
            };
            let (exit, n) = {
                let mut bus = Bus::new(&mut process.mm.space, &mut self.mem);
                oxvm_cpu::run(&mut task.cpu, &mut bus, left)
            };
            left = left.saturating_sub(n);
            match exit {
                Exit::Budget => {}
                Exit::Syscall => {
                    let mut ctx = Ctx { cpu: &mut task.cpu, process, mem: &mut self.mem, host: &mut *self.host };
                    match self.syscalls.dispatch(&mut ctx) {
                        SyscallReturn::Return(_) => task.state = TaskState::Runnable,
                        SyscallReturn::Block => {
                            task.state = TaskState::WaitConsole;
                            return RunState::Idle { until: None };
                        }
                        SyscallReturn::NoReturn => {}
                    }
                    if process.exit.is_some() {
                        process.mm.clear(&mut self.mem);
                        task.state = TaskState::Dead;
                    }
                }
                Exit::Fault(f) => {
                    let rip = task.cpu.rip;
                    let fatal = match f {
                        Fault::Page { addr, access, present: false } => match process.mm.handle_fault(&mut self.mem, addr, access) {
                            Ok(()) => continue,
                            Err(FaultError::OutOfMemory) => FaultSignal::out_of_memory(addr, rip),
                            Err(FaultError::BadAccess) => FaultSignal::from_fault(f, rip),
                        },
                        _ => FaultSignal::from_fault(f, rip),
                    };
                    // No signal handlers yet: a synchronous signal kills.
                    self.last_fatal = Some(fatal);
                    process.exit = Some(ExitStatus::Signaled(fatal.signal));
                    process.mm.clear(&mut self.mem);
                    task.state = TaskState::Dead;
                }
            }
        }
    }
}
