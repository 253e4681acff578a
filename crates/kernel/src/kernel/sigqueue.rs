//! rt_sigqueueinfo(2) and rt_tgsigqueueinfo(2) (sigqueue,
//! pthread_sigqueue): a signal with a caller-made siginfo (si_value).
//! They reach other processes, so the run loop handles them.

use super::Kernel;
use crate::errno::Errno;
use crate::signal::pending::SigInfo;
use crate::syscall::signal::{post, Posted};
use crate::syscall::SyscallArgs;
use crate::task::{ExitStatus, Pid, TaskState};

const SI_TKILL: i32 = -6;

impl Kernel {
    /// The siginfo at `addr`, checked as Linux does: only a process
    /// signalling itself may claim a kernel (si_code >= 0) or tkill origin.
    fn user_siginfo(&mut self, ti: usize, addr: u64, sig: u64, target: i32) -> Result<SigInfo, Errno> {
        let pid = self.tasks[ti].pid;
        let mut b = [0u8; 128];
        self.user(pid)?.read_bytes(addr, &mut b)?;
        let mut info = SigInfo(b);
        let me = self.tasks[ti].tid as i32;
        if (info.code() >= 0 || info.code() == SI_TKILL) && me != target {
            return Err(Errno::EPERM);
        }
        info.0[0..4].copy_from_slice(&(sig as u32).to_le_bytes());
        Ok(info)
    }

    /// rt_sigqueueinfo(tgid, sig, info): to a process.
    pub(super) fn sys_rt_sigqueueinfo(&mut self, ti: usize, a: &SyscallArgs) -> Result<u64, Errno> {
        let (pid, sig) = (a.arg(0) as i32, a.arg(1));
        let info = self.user_siginfo(ti, a.arg(2), sig, pid)?;
        if sig > 64 {
            return Err(Errno::EINVAL);
        }
        let p = if pid > 0 { self.processes.get(&(pid as Pid)) } else { None }.ok_or(Errno::ESRCH)?;
        if sig == 0 || p.exit.is_some() {
            return Ok(0);
        }
        match self.send_info(pid as Pid, info) {
            Posted::Full => Err(Errno::EAGAIN),
            _ => Ok(0),
        }
    }

    /// rt_tgsigqueueinfo(tgid, tid, sig, info): to one thread.
    pub(super) fn sys_rt_tgsigqueueinfo(&mut self, ti: usize, a: &SyscallArgs) -> Result<u64, Errno> {
        let (tgid, tid, sig) = (a.arg(0) as i32, a.arg(1) as i32, a.arg(2));
        if tgid <= 0 || tid <= 0 {
            return Err(Errno::EINVAL);
        }
        let info = self.user_siginfo(ti, a.arg(3), sig, tid)?;
        if sig > 64 {
            return Err(Errno::EINVAL);
        }
        let target = self
            .tasks
            .iter()
            .position(|t| t.tid == tid as Pid && t.pid == tgid as Pid && t.state != TaskState::Dead)
            .ok_or(Errno::ESRCH)?;
        if sig == 0 {
            return Ok(0);
        }
        let pid = self.tasks[target].pid;
        let Some(p) = self.processes.get(&pid) else { return Err(Errno::ESRCH) };
        let t = &self.tasks[target].sig;
        match post(&p.sigactions, t.mask, &t.pending, info) {
            Posted::Kill => {
                self.exit_process(pid, ExitStatus::Signaled(crate::signal::Signal(sig as u8)));
                Ok(0)
            }
            Posted::Full => Err(Errno::EAGAIN),
            Posted::Done => Ok(0),
        }
    }
}
