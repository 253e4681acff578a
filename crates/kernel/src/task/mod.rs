//! Tasks and processes. A task is one thread of execution: its registers
//! plus a reference to the process whose memory and identity it shares.
//! Today every process has exactly one task.

use oxvm_cpu::CpuState;

use crate::loader::Creds;
use crate::mm::Mm;
use crate::signal::Signal;

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

/// A process: an address space and an identity, shared by its tasks.
pub struct Process {
    pub pid: Pid,
    pub mm: Mm,
    pub creds: Creds,
    /// Set once the process has exited; its tasks no longer run.
    pub exit: Option<ExitStatus>,
}

/// What a task is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    Runnable,
    /// Waiting for console input; its syscall restarts when it runs again.
    WaitConsole,
    Dead,
}

pub struct Task {
    pub tid: Pid,
    /// The process this task belongs to (an index into the kernel's
    /// process table, not an owning reference).
    pub pid: Pid,
    pub cpu: CpuState,
    pub state: TaskState,
}
