//! pidfd_open(2): a descriptor naming a process (`task/pidfd.rs`), which
//! needs the process table.

use std::rc::Rc;

use super::Kernel;
use crate::errno::Errno;
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
    /// other descriptor), and whether the pidfd is non-blocking.
    pub(super) fn pidfd_target(&self, ti: usize, fd: i32) -> Result<(i64, bool), Errno> {
        let me = self.tasks[ti].pid;
        let caller = self.processes.get(&me).ok_or(Errno::ESRCH)?;
        let file = caller.files.borrow().get(fd)?;
        let pidfd = file.ops.as_any().and_then(|a| a.downcast_ref::<PidFd>()).ok_or(Errno::EBADF)?;
        Ok((i64::from(pidfd.0.pid), file.flags() & O_NONBLOCK != 0))
    }
}
