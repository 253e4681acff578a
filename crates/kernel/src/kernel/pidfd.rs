//! pidfd_open(2) and pidfd_send_signal(2): descriptors naming a process
//! (`task/pidfd.rs`), which need the process table. pidfd_send_signal
//! also takes a descriptor of a /proc/PID directory, as Linux does
//! (pids are never reused here, so that names the same process).

use std::rc::Rc;

use super::Kernel;
use crate::errno::Errno;
use crate::fs::procfs::ProcNode;
use crate::signal::pending::SigInfo;
use crate::syscall::signal::{Posted, SI_TKILL, SI_USER};
use crate::syscall::SyscallArgs;
use crate::task::pidfd::PidFd;
use crate::task::Pid;
use crate::vfs::file::{O_NONBLOCK, O_RDWR};
use crate::vfs::OpenFile;

impl Kernel {
    pub(super) fn sys_pidfd_open(&mut self, ti: usize, a: &SyscallArgs) -> Result<u64, Errno> {
        let (pid, flags) = (a.arg(0) as i32, a.arg(1) as u32);
        // PIDFD_NONBLOCK is O_NONBLOCK; PIDFD_THREAD came after Linux 6.1.
        if flags & !O_NONBLOCK != 0 || pid <= 0 {
            return Err(Errno::EINVAL);
        }
        let pid = pid as Pid;
        let Some(p) = self.processes.get_mut(&pid) else {
            // A thread that does not lead its process: EINVAL.
            return Err(if self.tasks.iter().any(|t| t.tid == pid) { Errno::EINVAL } else { Errno::ESRCH });
        };
        let exited = p.exit.is_some();
        let state = p.pidfds.open(pid, exited);
        let file = OpenFile::new(Rc::new(PidFd(state)), None, O_RDWR | flags);
        let me = self.tasks[ti].pid;
        let caller = self.processes.get(&me).ok_or(Errno::ESRCH)?;
        // Always close-on-exec, as Linux makes it.
        let fd = caller.files.borrow_mut().insert(file, true)?;
        Ok(fd as u64)
    }

    /// waitid(P_PIDFD, fd): the process the pidfd names (EBADF for any
    /// other descriptor, /proc/PID directories included), and whether
    /// the pidfd is non-blocking. A reaped process is no child any more:
    /// ECHILD.
    pub(super) fn pidfd_target(&self, ti: usize, fd: i32) -> Result<(i64, bool), Errno> {
        let me = self.tasks[ti].pid;
        let caller = self.processes.get(&me).ok_or(Errno::ESRCH)?;
        let file = caller.files.borrow().get(fd)?;
        let pidfd = file.ops.as_any().and_then(|a| a.downcast_ref::<PidFd>()).ok_or(Errno::EBADF)?;
        if pidfd.0.reaped() {
            return Err(Errno::ECHILD);
        }
        Ok((i64::from(pidfd.0.pid), file.flags() & O_NONBLOCK != 0))
    }

    /// The process `fd` names for pidfd_send_signal: a pidfd (ESRCH once
    /// its process was reaped) or an open /proc/PID directory; EBADF for
    /// anything else.
    fn pidfd_or_proc_dir(&self, ti: usize, fd: i32) -> Result<Pid, Errno> {
        let me = self.tasks[ti].pid;
        let caller = self.processes.get(&me).ok_or(Errno::ESRCH)?;
        let file = caller.files.borrow().get(fd)?;
        if let Some(pidfd) = file.ops.as_any().and_then(|a| a.downcast_ref::<PidFd>()) {
            return if pidfd.0.reaped() { Err(Errno::ESRCH) } else { Ok(pidfd.0.pid) };
        }
        let inode = file.dentry.as_ref().ok_or(Errno::EBADF)?.inode().clone();
        inode.as_any().downcast_ref::<ProcNode>().and_then(ProcNode::process_dir).ok_or(Errno::EBADF)
    }

    /// pidfd_send_signal(pidfd, sig, info, flags): kill(2) through a
    /// descriptor, checked in Linux's order: flags (EINVAL), the
    /// descriptor (EBADF), the caller's siginfo (EFAULT; EINVAL unless
    /// its si_signo is `sig`; EPERM when it claims a kernel or tkill
    /// origin for another process), the process (ESRCH once reaped), the
    /// signal number (EINVAL) and permission (EPERM). Signal 0 only
    /// checks; a zombie takes signals to no effect.
    pub(super) fn sys_pidfd_send_signal(&mut self, ti: usize, a: &SyscallArgs) -> Result<u64, Errno> {
        let (fd, sig, infop, flags) = (a.arg(0) as i32, a.arg(1) as i32, a.arg(2), a.arg(3) as u32);
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let target = self.pidfd_or_proc_dir(ti, fd)?;
        let (me, tid) = (self.tasks[ti].pid, self.tasks[ti].tid);
        let uid = self.processes.get(&me).map_or(0, |p| p.creds.uid);
        let info = if infop != 0 {
            let mut b = [0u8; 128];
            self.user(me)?.read_bytes(infop, &mut b)?;
            let info = SigInfo(b);
            if info.signo() as i32 != sig {
                return Err(Errno::EINVAL);
            }
            // Only a thread signalling its own process (by its pid: the
            // group leader) may forge these.
            if tid != target && (info.code() >= 0 || info.code() == SI_TKILL) {
                return Err(Errno::EPERM);
            }
            info
        } else {
            SigInfo::new(sig as u32, SI_USER, u64::from(me) | u64::from(uid) << 32)
        };
        let p = self.processes.get(&target).ok_or(Errno::ESRCH)?;
        if !(0..=64).contains(&sig) {
            return Err(Errno::EINVAL);
        }
        let zombie = p.exit.is_some();
        if !self.may_signal(me, target, sig as u64) {
            return Err(Errno::EPERM);
        }
        if sig == 0 || zombie {
            return Ok(0);
        }
        match self.send_info(target, info) {
            Posted::Full => Err(Errno::EAGAIN),
            _ => Ok(0),
        }
    }
}

impl Kernel {
    /// Remove process `pid` from the table (reaped, or never a zombie):
    /// its pidfds name nothing from now on.
    pub(super) fn forget_process(&mut self, pid: Pid) {
        if let Some(p) = self.processes.remove(&pid) {
            p.pidfds.reaped();
        }
    }
}
