//! clock_gettime(2) and clock_getres(2) on the CPU-time clocks of a
//! given thread or process (the negative ids of `task/cpuclock.rs`):
//! another thread's or process's accounting is only in the kernel's
//! tables, so the run loop routes these calls here. The fixed ids
//! (CLOCK_PROCESS_CPUTIME_ID and the rest) stay in `syscall/time.rs`.

use super::Kernel;
use crate::errno::Errno;
use crate::syscall::time::TimePair;
use crate::syscall::SyscallArgs;
use crate::task::cpuclock::{decode, CpuClock};
use crate::task::{CpuTimes, TaskState};

const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Whether the call `nr` with first argument `arg0` is one of these.
pub(super) fn routed(nr: u64, arg0: u64) -> bool {
    matches!(nr, 228 | 229) && (arg0 as i32) < 0
}

impl Kernel {
    /// The times clock `c` reads for task `ti`'s calls, as Linux finds its
    /// task: a thread's clock only for a thread of the caller's process,
    /// a process's clock for any process (a zombie too: it is not reaped
    /// yet) named by its pid, or by the caller's own tid. EINVAL when it
    /// names no such thread or process.
    fn cpu_clock_times(&self, ti: usize, c: CpuClock) -> Result<CpuTimes, Errno> {
        let me = &self.tasks[ti];
        if c.thread {
            let who = if c.who == 0 { me.tid } else { c.who };
            let t = self.tasks.iter().find(|t| t.tid == who && t.pid == me.pid && t.state != TaskState::Dead).ok_or(Errno::EINVAL)?;
            return Ok(t.times);
        }
        let who = if c.who == 0 || c.who == me.tid { me.pid } else { c.who };
        Ok(self.processes.get(&who).ok_or(Errno::EINVAL)?.times)
    }

    /// clock_gettime (228) or clock_getres (229) with a CPU clock id.
    pub(super) fn sys_cpu_clock(&mut self, ti: usize, nr: u64, a: &SyscallArgs) -> Result<u64, Errno> {
        let Some(clock) = decode(a.arg(0) as i32) else { return Err(Errno::EINVAL) };
        let clock = clock?;
        let times = self.cpu_clock_times(ti, clock)?;
        let ns = if nr == 228 { clock.which.read(times) } else { clock.which.resolution() };
        let out = a.arg(1);
        if nr == 229 && out == 0 {
            return Ok(0);
        }
        let ts = TimePair { sec: (ns / NSEC_PER_SEC) as i64, frac: (ns % NSEC_PER_SEC) as i64 };
        let pid = self.tasks[ti].pid;
        self.user(pid)?.write_val(out, &ts)?;
        Ok(0)
    }
}
